"""The command line, run as a user would: in a subprocess, in a scratch directory."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kmeans

ROOT = Path(__file__).resolve().parents[1]
# models written by `kmeans fit` from a CSV with a header keep its column names;
# the tests check their predictions on plain arrays
pytestmark = pytest.mark.filterwarnings(
    "ignore:X does not have valid feature names:UserWarning"
)
try:
    import matplotlib  # noqa: F401

    HAVE_MATPLOTLIB = True
except ImportError:
    HAVE_MATPLOTLIB = False
try:
    import tqdm  # noqa: F401

    HAVE_TQDM = True
except ImportError:
    HAVE_TQDM = False


def run(*args, cwd, without_extras=False):
    """``python -m kmeans ARGS`` in ``cwd``, importing this checkout's kmeans;
    ``without_extras`` runs it as if matplotlib and tqdm were not installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if without_extras:
        code = (
            "import sys; sys.modules['matplotlib'] = sys.modules['tqdm'] = None; "
            "from kmeans._cli import main; raise SystemExit(main(sys.argv[1:]))"
        )
        command = [sys.executable, "-c", code, *args]
    else:
        command = [sys.executable, "-m", "kmeans", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, cwd=cwd, env=env
    )


def assert_error(result, message, status=1):
    """One line on stderr with ``message``, no traceback, a non-zero status."""
    assert result.returncode == status, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]


def write_csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path.name


@pytest.fixture
def blobs_csv(tmp_path):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(c, 0.5, (40, 2)) for c in ((0, 0), (5, 0), (0, 5))])
    np.savetxt(tmp_path / "points.csv", X, delimiter=",", header="x,y", comments="")
    return X


# -- demo ------------------------------------------------------------------------


@pytest.mark.parametrize("args", [(), ("demo",)])
def test_demo_clusters_iris(args, tmp_path):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Fisher's iris data: 150 flowers x 4 measurements" in out
    # the best 3-means partition of iris: sizes 62, 50, 38 and inertia 78.85
    assert "inertia: 78.8514" in out
    sizes = sorted(
        int(line.split()[1]) for line in out.splitlines() if line.strip()[:1].isdigit()
        and len(line.split()) == 6
    )  # fmt: skip
    assert sizes == [38, 50, 62]
    assert "50 setosa" in out
    if HAVE_MATPLOTLIB:
        assert "picture: iris-clusters.png" in out
        assert (tmp_path / "iris-clusters.png").stat().st_size > 10_000


def test_demo_other_k_and_bad_k(tmp_path):
    assert "inertia:" in run("demo", "-k", "2", cwd=tmp_path).stdout
    assert_error(
        run("demo", "-k", "0", cwd=tmp_path),
        "kmeans demo: error: argument -k/--n-clusters: must be an integer from 1 to 150",
        2,
    )


@pytest.mark.skipif(not HAVE_MATPLOTLIB, reason="draws with matplotlib")
def test_demo_picture_is_not_overwritten_without_force(tmp_path):
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "iris-clusters.png").write_bytes(b"mine")
    result = run("demo", "-o", "pics", cwd=tmp_path)
    assert result.returncode == 0
    assert "kept the existing pics/iris-clusters.png (--force replaces it)" in result.stdout
    assert (tmp_path / "pics" / "iris-clusters.png").read_bytes() == b"mine"
    assert run("demo", "-o", "pics", "--force", cwd=tmp_path).returncode == 0
    assert (tmp_path / "pics" / "iris-clusters.png").read_bytes()[:4] == b"\x89PNG"


def test_demo_without_matplotlib_says_so(tmp_path):
    result = run("demo", cwd=tmp_path, without_extras=True)
    assert result.returncode == 0, result.stderr
    assert "inertia: 78.8514" in result.stdout
    assert (
        'picture: none, as matplotlib is not installed (pip install "kmeans-numpy[plot]"'
        in (result.stdout)
    )
    assert list(tmp_path.iterdir()) == []


# -- fit -------------------------------------------------------------------------


def test_fit_writes_labels_centres_summary_and_model(tmp_path, blobs_csv):
    result = run("fit", "points.csv", "-k", "3", "--seed", "0", "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = tmp_path / "out"
    assert "points.csv: 120 rows x 2 columns -> 3 clusters in" in result.stdout
    assert "cluster sizes: 40, 40, 40" in result.stdout
    summary = json.loads((out / "points-summary.json").read_text())
    assert summary["sizes"] == [40, 40, 40] and summary["columns"] == ["x", "y"]
    assert summary["parameters"]["random_state"] == 0
    assert summary["kmeans_version"] == kmeans.__version__
    assert {"inertia", "n_iter", "fit_seconds", "n_samples", "n_features"} <= set(summary)
    labels = np.loadtxt(out / "points-labels.csv", skiprows=1, dtype=int)
    model = kmeans.load(out / "points-model.npz")
    np.testing.assert_array_equal(labels, model.labels_)
    np.testing.assert_array_equal(model.predict(blobs_csv), labels)
    assert summary["inertia"] == model.inertia_
    centers = np.loadtxt(out / "points-centers.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(centers, model.cluster_centers_)  # exact: %.17g
    assert (out / "points-centers.csv").read_text().startswith("x,y\n")
    # the same seed, the same result
    again = run("fit", "points.csv", "-k", "3", "--seed", "0", "-o", "again", cwd=tmp_path)
    assert again.returncode == 0
    assert (tmp_path / "again" / "points-labels.csv").read_text() == (
        out / "points-labels.csv"
    ).read_text()


@pytest.mark.skipif(not HAVE_MATPLOTLIB, reason="draws with matplotlib")
def test_fit_plot(tmp_path, blobs_csv):
    result = run("fit", "points.csv", "-k", "3", "--plot", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "points-clusters.png" in result.stdout
    assert (tmp_path / "points-clusters.png").read_bytes()[:4] == b"\x89PNG"
    # the plot drew the fit's labels: predict warned of the header's lost names
    assert "warning" not in result.stderr


@pytest.mark.skipif(not HAVE_MATPLOTLIB, reason="draws with matplotlib")
@pytest.mark.parametrize("extra", [(), ("--minibatch",)])
def test_fit_plot_of_one_row_with_cosine(tmp_path, extra):
    np.save(tmp_path / "one.npy", np.array([[1.0, 2.0, 3.0]]))
    result = run(
        "fit", "one.npy", "-k", "1", "--metric", "cosine", "--plot", *extra, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "one-clusters.png").read_bytes()[:4] == b"\x89PNG"


def test_fit_npy_tsv_whitespace_and_init_file(tmp_path):
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(c, 0.3, (30, 3)) for c in (0, 4)]).astype(np.float32)
    np.save(tmp_path / "big.npy", X)
    result = run("fit", "big.npy", "-k", "2", "--seed", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    labels = np.load(tmp_path / "big-labels.npy")  # array input: labels as .npy
    assert np.bincount(labels).tolist() == [30, 30]
    assert kmeans.load(tmp_path / "big-model.npz").cluster_centers_.dtype == np.float32

    np.savetxt(tmp_path / "t.tsv", X, delimiter="\t")
    np.savetxt(tmp_path / "w.txt", X)
    np.savetxt(tmp_path / "init.csv", X[[0, 59]], delimiter=",")
    for name in ("t.tsv", "w.txt"):
        result = run("fit", name, "--init", "init.csv", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "60 rows x 3 columns -> 2 clusters" in result.stdout  # k from init.csv


def test_fit_minibatch_on_a_memory_mapped_npy(tmp_path):
    X = np.concatenate([np.zeros((300, 2)), np.full((300, 2), 10.0)])
    X += np.random.default_rng(0).standard_normal(X.shape) * 0.1
    np.save(tmp_path / "big.npy", X.astype(np.float32))
    result = run(
        "fit", "big.npy", "-k", "2", "--minibatch", "--batch-size", "100", "--seed", "0",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "minibatches" in result.stdout
    summary = json.loads((tmp_path / "big-summary.json").read_text())
    assert summary["parameters"]["minibatch"] and summary["parameters"]["batch_size"] == 100
    assert summary["n_steps"] >= 1 and summary["sizes"] == [300, 300]
    model = kmeans.load(tmp_path / "big-model.npz")
    assert type(model).__name__ == "MiniBatchKMeans"
    assert model.cluster_centers_.dtype == np.float32
    labels = np.load(tmp_path / "big-labels.npy")
    assert labels[0] != labels[-1]
    bad = run("fit", "big.npy", "--minibatch", "--algorithm", "elkan", cwd=tmp_path)
    assert_error(bad, "--algorithm does not apply to --minibatch", status=2)
    bad = run("fit", "big.npy", "--batch-size", "10", cwd=tmp_path)
    assert_error(bad, "--batch-size needs --minibatch", status=2)


def test_fit_columns_selects_by_name_or_number(tmp_path):
    iris = (ROOT / "kmeans" / "data" / "iris.csv").read_text()
    (tmp_path / "iris.csv").write_text(iris)
    names = "sepal_length,sepal_width,petal_length,petal_width"
    result = run(
        "fit", "iris.csv", "-k", "3", "--columns", names, "--seed", "0", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "150 rows x 4 columns" in result.stdout
    result = run("fit", "iris.csv", "-k", "3", "--columns", "3,4", "-o", "b", cwd=tmp_path)
    assert "150 rows x 2 columns" in result.stdout


@pytest.mark.parametrize(
    "content, args, message",
    [
        (None, ("nothere.csv",), "cannot read nothere.csv: No such file or directory"),
        (
            "a,b,kind\n1,2,x\n3,4,y\n",
            ("-k", "2"),
            "data.csv: column 3 ('kind') is not numeric (line 2 has 'x'); "
            "choose the numeric columns with --columns",
        ),
        (
            "a,b\n1,2\n3,\n5,6\n",
            ("-k", "2"),
            "data.csv, line 3, column 2 ('b'): missing value",
        ),
        ("1;2\n3;NA\n", ("-k", "1"), "data.csv, line 2, column 2: missing value"),
        ("a,b\n1,2\n3,4\n", ("-k", "3"), "-k 3 is more than the 2 rows of data.csv"),
        ("a,b\n1,2\n3,4\n", (), "-k 8 (the default) is more than the 2 rows of data.csv"),
        ("a,b\n1,2\n3,4,5\n", ("-k", "1"), "data.csv, line 3: 3 fields, expected 2"),
        ("", (), "data.csv is empty"),
        ("a,b\n", (), "data.csv has a header but no data rows"),
        ("a,b\n1,2\n", ("--columns", "c"), "--columns: no column 'c' in data.csv"),
        (b"\x93NUMPY\xff\xfe\x00garbage", (), "cannot read data.csv: not UTF-8 text"),
    ],
)
def test_fit_errors(tmp_path, content, args, message):
    if isinstance(content, bytes):
        (tmp_path / "data.csv").write_bytes(content)
    elif content is not None:
        write_csv(tmp_path / "data.csv", content)
    data = "data.csv" if content is not None else args[0]
    rest = args if content is not None else args[1:]
    assert_error(run("fit", data, *rest, cwd=tmp_path), message)
    assert not list(tmp_path.glob("data-*"))  # nothing written


def test_fit_array_file_errors(tmp_path):
    X = np.ones((4, 2))
    X[2, 1] = np.nan
    np.save(tmp_path / "nan.npy", X)
    assert_error(
        run("fit", "nan.npy", "-k", "2", cwd=tmp_path),
        "nan.npy: missing value (NaN) at row 2, column 1 (counting from 0)",
    )
    np.save(tmp_path / "flat.npy", np.ones(4))
    assert_error(
        run("fit", "flat.npy", cwd=tmp_path), "flat.npy holds an array of shape (4,)"
    )
    np.savez(tmp_path / "two.npz", a=np.ones((3, 2)), b=np.ones((3, 2)))
    assert_error(run("fit", "two.npz", cwd=tmp_path), "two.npz holds several arrays (a, b)")
    # a damaged archive is the file's problem, not "unexpected BadZipFile"
    np.savez(tmp_path / "cut.npz", X=np.ones((100, 2)))
    data = (tmp_path / "cut.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    assert_error(
        run("fit", "cut.npz", cwd=tmp_path),
        "kmeans fit: error: cannot read cut.npz: not a usable .npz archive",
    )


def test_fit_output_directory_that_cannot_be_written(tmp_path, blobs_csv):
    (tmp_path / "a-file").write_text("not a directory")
    result = run("fit", "points.csv", "-k", "3", "-o", "a-file/out", cwd=tmp_path)
    assert_error(result, "cannot write to the output directory a-file/out:")


def test_fit_does_not_overwrite_without_force(tmp_path, blobs_csv):
    assert run("fit", "points.csv", "-k", "3", cwd=tmp_path).returncode == 0
    (tmp_path / "points-labels.csv").write_text("mine")
    result = run("fit", "points.csv", "-k", "2", cwd=tmp_path)
    assert_error(
        result,
        "points-labels.csv already exists; use --force to overwrite it or -o to write "
        "elsewhere",
    )
    assert (tmp_path / "points-labels.csv").read_text() == "mine"
    assert run("fit", "points.csv", "-k", "2", "--force", cwd=tmp_path).returncode == 0
    assert (tmp_path / "points-labels.csv").read_text().startswith("label\n")


def test_fit_plot_without_matplotlib(tmp_path, blobs_csv):
    result = run("fit", "points.csv", "--plot", cwd=tmp_path, without_extras=True)
    assert_error(result, '--plot needs matplotlib: pip install "kmeans-numpy[plot]"')


def test_fit_and_predict_without_the_extras(tmp_path, blobs_csv):
    result = run("fit", "points.csv", "-k", "3", "-v", cwd=tmp_path, without_extras=True)
    assert result.returncode == 0, result.stderr
    # plain progress, on stderr: stdout has the results only
    assert "Initialization complete (run 1 of 1)." in result.stderr
    assert "Iteration 0, inertia" in result.stderr
    assert "Iteration" not in result.stdout
    result = run("predict", "points-model.npz", "points.csv", cwd=tmp_path)
    assert result.returncode == 0 and len(result.stdout.split()) == 120


@pytest.mark.skipif(not HAVE_TQDM, reason="the bar needs tqdm")
def test_fit_verbose_shows_a_progress_bar(tmp_path, blobs_csv):
    result = run("fit", "points.csv", "-k", "3", "-v", cwd=tmp_path)
    assert result.returncode == 0
    assert "KMeans run 1/1" in result.stderr and "1/1" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("fit", "points.csv", "-k", "0"), "argument -k/--n-clusters: must be a positive"),
        (("fit", "points.csv", "--n-init", "x"), "argument --n-init: must be an integer"),
        (("fit",), "the following arguments are required: DATA"),
        (("fit", "points.csv", "--algorithm", "fast"), "argument --algorithm: invalid"),
        (("fit", "points.csv", "--init", "kmeans++"), "'kmeans++' is neither one of"),
        (("nonsense",), "argument COMMAND: invalid choice: 'nonsense'"),
        (("fit", "points.csv", "extra.csv"), "kmeans fit: error: unrecognized arguments"),
    ],
)
def test_usage_errors(tmp_path, args, message):
    assert_error(run(*args, cwd=tmp_path), message, status=2)


# -- predict -----------------------------------------------------------------------


def test_predict_prints_or_writes_labels(tmp_path, blobs_csv):
    run("fit", "points.csv", "-k", "3", "--seed", "0", cwd=tmp_path)
    model = kmeans.load(tmp_path / "points-model.npz")
    new = blobs_csv[::7] + 0.1
    np.savetxt(tmp_path / "new.csv", new, delimiter=",", header="x,y", comments="")
    result = run("predict", "points-model.npz", "new.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [int(v) for v in result.stdout.split()] == model.predict(new).tolist()

    result = run("predict", "points-model.npz", "new.csv", "-o", "new.npy", cwd=tmp_path)
    assert result.stdout == f"wrote {len(new)} labels to new.npy\n"
    np.testing.assert_array_equal(np.load(tmp_path / "new.npy"), model.predict(new))
    assert_error(
        run("predict", "points-model.npz", "new.csv", "-o", "new.npy", cwd=tmp_path),
        "new.npy already exists; use --force",
    )


def test_predict_errors(tmp_path, blobs_csv):
    run("fit", "points.csv", "-k", "3", cwd=tmp_path)
    write_csv(tmp_path / "wide.csv", "1,2,3\n")  # no names: matched by position
    cases = [
        (
            ("points.csv", "points.csv"),
            "points.csv: not a kmeans model file, or a damaged one",
        ),
        (
            ("missing.npz", "points.csv"),
            "cannot read missing.npz: No such file or directory",
        ),
        (
            ("points-model.npz", "wide.csv"),
            "the model was fitted on 2 columns; wide.csv has 3 "
            "(choose them with --columns)",
        ),
        (
            ("points-model.npz", "points-model.npz"),
            "points-model.npz is a saved kmeans model, not data",
        ),
    ]
    for args, message in cases:
        assert_error(run("predict", *args, cwd=tmp_path), message)


# -- bench ---------------------------------------------------------------------------


def test_bench_runs_the_comparison_harness(tmp_path):
    result = run("bench", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "usage: kmeans bench" in result.stdout and "--quick" in result.stdout
    result = run("bench", "--methods", "nonsense", cwd=tmp_path)
    assert result.returncode == 2 and "unknown method(s) ['nonsense']" in result.stderr


def test_import_kmeans_does_not_load_the_extras(tmp_path):
    code = (
        "import sys, kmeans; "
        "print(sorted(m for m in ('matplotlib', 'tqdm') if m in sys.modules))"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert result.stdout.strip() == "[]", result.stderr


# -- option values, defaults, help ------------------------------------------------

_BAD_VALUES = {
    "fit": {
        "-k": ["0", "-1", "1.5", "x", "1e3"],
        "--n-init": ["0", "-1", "x", "1e20", "100000000000000000000", "1001"],
        "--max-iter": ["0", "-1", "2.5", "x"],
        "--tol": ["-1", "nan", "inf", "-inf", "x"],
        "--seed": ["-1", "1.5", "x"],
        "--algorithm": ["fast", "LLOYD"],
        "--refine": ["none", "SWAP", ""],
        "--refine-iter": ["0", "-1", "2.5", "auto", "x", "100001", "100000000000000000000"],
        "--batch-size": ["0", "-5", "x"],
        "--columns": ["1,1", "x,x", "a,,b", ""],
        "--init": ["kmeans++", "no-such-file.csv"],
    },
    "predict": {"--columns": ["2,2", ","]},
    "demo": {"-k": ["0", "151", "x"], "--seed": ["-1", "x"]},
}


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        (command, option, value)
        for command, options in _BAD_VALUES.items()
        for option, values in options.items()
        for value in values
    ],
)
def test_bad_option_values_are_refused_at_parse_time(tmp_path, command, option, value):
    write_csv(tmp_path / "points.csv", "x,y\n1,2\n3,4\n")
    positional = {"fit": ["points.csv"], "predict": ["m.npz", "points.csv"], "demo": []}
    argv = [command, *positional[command], "-o", "out", option, value]
    result = run(*argv, cwd=tmp_path)
    assert_error(result, f"kmeans {command}: error: argument {option}", status=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["points.csv"]  # nothing written


def test_help_of_every_option_and_defaults_read_from_the_estimators():
    from kmeans import KMeans, MiniBatchKMeans
    from kmeans._cli import _parser

    commands = _parser()._subparsers._group_actions[0].choices
    for name in ("fit", "predict", "demo"):
        for action in commands[name]._actions:
            assert action.help, (name, action.dest)
            if name == "fit" and action.dest not in ("help", "data"):
                # defaults live in the estimator, not in argparse
                assert action.default in (None, False, "."), action.dest
    fit_help = commands["fit"].format_help()
    assert "(default: the library's (auto))" in fit_help  # --algorithm
    assert f"({KMeans().max_iter}; with --minibatch, {MiniBatchKMeans().max_iter})" in (
        " ".join(fit_help.split())
    )


def test_the_estimator_gets_only_the_options_given(tmp_path, blobs_csv):
    from kmeans import KMeans, MiniBatchKMeans

    assert run("fit", "points.csv", "-k", "3", "--seed", "0", cwd=tmp_path).returncode == 0
    model = kmeans.load(tmp_path / "points-model.npz")
    given = {"n_clusters": 3, "random_state": 0}
    assert model.get_params() == {**KMeans().get_params(), **given}
    summary = json.loads((tmp_path / "points-summary.json").read_text())
    assert summary["parameters"]["algorithm"] == KMeans().algorithm == "auto"
    result = run(
        "fit", "points.csv", "-k", "3", "--seed", "0", "--minibatch", "-o", "mb",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    model = kmeans.load(tmp_path / "mb" / "points-model.npz")
    assert model.get_params() == {**MiniBatchKMeans().get_params(), **given}
    result = run(
        "fit", "points.csv", "-k", "3", "--algorithm", "auto", "--tol", "0", "--n-init",
        "2", "-o", "auto", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    model = kmeans.load(tmp_path / "auto" / "points-model.npz")
    assert (model.algorithm, model.tol, model.n_init) == ("auto", 0.0, 2)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_fit_refine_swap_is_the_estimators(tmp_path, blobs_csv, metric):
    from kmeans import KMeans

    args = ["fit", "points.csv", "-k", "3", "--seed", "4", "--metric", metric]
    result = run(*args, "--refine", "swap", "--refine-iter", "5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "after" in result.stdout and "of 5 swap trials" in result.stdout
    summary = json.loads((tmp_path / "points-summary.json").read_text())
    assert summary["parameters"]["refine"] == "swap"
    assert summary["parameters"]["refine_iter"] == 5
    model = kmeans.load(tmp_path / "points-model.npz")
    params = {"n_clusters": 3, "random_state": 4, "metric": metric}
    same = KMeans(refine="swap", refine_iter=5, **params).fit(blobs_csv)
    np.testing.assert_array_equal(model.labels_, same.labels_)
    assert (summary["n_swap_trials"], summary["n_swaps"]) == (5, same.n_swaps_)
    assert model.get_params() == same.get_params()
    # without --refine the summary says nothing of swaps
    assert run(*args, "-o", "plain", cwd=tmp_path).returncode == 0
    plain = json.loads((tmp_path / "plain" / "points-summary.json").read_text())
    assert "n_swap_trials" not in plain and plain["parameters"]["refine"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--refine-iter", "5"), "--refine-iter needs --refine swap"),
        (("--refine", "swap", "--minibatch"), "--refine does not apply to --minibatch"),
        (("--refine-iter", "5", "--minibatch"), "--refine-iter does not apply to"),
    ],
)
def test_fit_refine_misuse(tmp_path, blobs_csv, args, message):
    result = run("fit", "points.csv", "-k", "3", *args, cwd=tmp_path)
    assert_error(result, message, status=2)  # a bad command line, as argparse's
    assert sorted(p.name for p in tmp_path.iterdir()) == ["points.csv"]


def test_many_clusters_are_summarised_not_listed(tmp_path, blobs_csv):
    result = run("fit", "points.csv", "-k", "30", "--seed", "0", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("cluster sizes"))
    assert line.endswith("rows in 30 clusters; each in points-summary.json") or (
        "in 30 clusters; each in points-summary.json" in line
    )
    assert len(line) < 100


def test_minibatch_progress_goes_to_stderr(tmp_path, blobs_csv):
    result = run("fit", "points.csv", "-k", "3", "--minibatch", "-v", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "mean batch inertia" in result.stderr
    assert [line.split(":")[0].split()[0] for line in result.stdout.splitlines()] == [
        "points.csv", "cluster", "inertia", "wrote"
    ]  # fmt: skip


def test_model_files_have_the_mode_of_the_other_outputs(tmp_path, blobs_csv):
    assert run("fit", "points.csv", "-k", "3", cwd=tmp_path).returncode == 0
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.glob("points-*")}
    assert len(set(modes.values())) == 1, modes


# -- columns by name, standard input -------------------------------------------------


def test_predict_matches_columns_by_name(tmp_path, blobs_csv):
    assert run("fit", "points.csv", "-k", "3", "--seed", "0", cwd=tmp_path).returncode == 0
    model = kmeans.load(tmp_path / "points-model.npz")
    assert list(model.feature_names_in_) == ["x", "y"]
    expected = model.predict(blobs_csv[:5]).tolist()
    rows = blobs_csv[:5]
    np.savetxt(tmp_path / "yx.csv", rows[:, ::-1], delimiter=",", header="y,x", comments="")
    extra = np.c_[np.ones(5), rows]
    np.savetxt(tmp_path / "zxy.csv", extra, delimiter=",", header="z,x,y", comments="")
    np.savetxt(tmp_path / "bare.csv", rows, delimiter=",")
    for name in ("yx.csv", "zxy.csv", "bare.csv"):
        result = run("predict", "points-model.npz", name, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert [int(v) for v in result.stdout.split()] == expected, name
    np.savetxt(tmp_path / "ab.csv", rows, delimiter=",", header="a,b", comments="")
    assert_error(
        run("predict", "points-model.npz", "ab.csv", cwd=tmp_path),
        "ab.csv has no column 'x', 'y' (the model was fitted on columns x, y; ",
    )


def test_dash_is_standard_input_and_output(tmp_path, blobs_csv):
    text = (tmp_path / "points.csv").read_text()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for data in ("-", "/dev/stdin"):
        result = subprocess.run(
            [sys.executable, "-m", "kmeans", "fit", data, "-k", "3", "--seed", "0",
             "-o", "out", "--force"],
            input=text, capture_output=True, text=True, cwd=tmp_path, env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "120 rows x 2 columns" in result.stdout
    assert (tmp_path / "out" / "stdin-model.npz").exists()  # "-": named stdin
    for output in ([], ["-o", "-"]):
        result = subprocess.run(
            [sys.executable, "-m", "kmeans", "predict", "out/stdin-model.npz", "-",
             *output],
            input=text, capture_output=True, text=True, cwd=tmp_path, env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert len(result.stdout.split()) == 120
    assert not (tmp_path / "-").exists()


# -- never a traceback -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p.write_bytes(bytes(range(256)) * 10), "not UTF-8 text"),
        (lambda p: p.write_bytes(b"\x00\x01\x02,\x03\n\x04,\x05\n"), "data.csv"),
        (lambda p: p.write_bytes(b""), "data.csv is empty"),
        (lambda p: p.write_text("# only a comment\n\n"), "data.csv is empty"),
        (lambda p: p.mkdir(), "cannot read data.csv"),
        (lambda p: None, "cannot read data.csv: No such file or directory"),
    ],
)
def test_hostile_data_files_get_one_line(tmp_path, setup, message):
    setup(tmp_path / "data.csv")
    for args in (("fit", "data.csv"), ("predict", "m.npz", "data.csv")):
        if args[0] == "predict":
            KMeansModel = kmeans.KMeans(1).fit([[0.0, 0.0]])
            KMeansModel.save(tmp_path / "m.npz")
        result = run(*args, cwd=tmp_path)
        assert_error(result, message if args[0] == "fit" else "data.csv")


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_damaged_array_files_get_one_line(tmp_path, suffix):
    (tmp_path / f"data{suffix}").write_bytes(b"\x93NUMPY\x01\x00garbage" * 3)
    assert_error(run("fit", f"data{suffix}", cwd=tmp_path), f"data{suffix}")
    assert_error(run("predict", f"data{suffix}", f"data{suffix}", cwd=tmp_path), "data")


def test_the_command_line_does_not_import_sklearn_and_its_models_load_with_it(
    tmp_path, blobs_csv
):
    pytest.importorskip("sklearn")
    code = (
        "import sys; from kmeans._cli import main; status = main(sys.argv[1:]); "
        "print('sklearn' in sys.modules); raise SystemExit(status)"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", code, "fit", "points.csv", "-k", "3", "--seed", "0"],
        capture_output=True, text=True, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "False"
    # a model written by the command line is a scikit-learn estimator in Python...
    from sklearn.base import BaseEstimator

    model = kmeans.load(tmp_path / "points-model.npz")
    assert isinstance(model, BaseEstimator)
    # ...and one saved in Python (with scikit-learn) predicts on the command line
    kmeans.KMeans(3, random_state=0).fit(blobs_csv).save(tmp_path / "py.npz")
    result = run("predict", "py.npz", "points.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [int(v) for v in result.stdout.split()] == model.labels_.tolist()


def test_data_the_estimator_refuses_is_a_user_error(tmp_path):
    # a zero row has no direction: one line, exit 1, no output folder left behind
    X = np.random.default_rng(0).normal(size=(30, 3))
    X[4] = 0
    np.savetxt(tmp_path / "z.csv", X, delimiter=",")
    result = run("fit", "z.csv", "-k", "2", "--metric", "cosine", "-o", "out", cwd=tmp_path)
    assert_error(result, "kmeans fit: error: metric='cosine' needs rows of non-zero norm")
    assert "please report" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_counts_are_singular_for_one(tmp_path):
    write_csv(tmp_path / "two.csv", "x\n0\n10\n")
    args = ("fit", "two.csv", "-k", "2", "--seed", "0", "--max-iter", "1")
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "-> 2 clusters in 1 iteration," in result.stdout
    args = ("fit", "two.csv", "-k", "2", "--minibatch", "--batch-size", "2")
    result = run(*args, "--max-iter", "1", "-o", "mb", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "in 1 minibatch (1 pass)" in result.stdout
