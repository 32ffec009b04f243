"""The command line: ``kmeans`` or ``python -m kmeans``.

kmeans fit DATA
    Cluster a CSV/TSV, ``.npy`` or ``.npz`` file (``-``: standard input); write the
    labels, the centres, a JSON summary, the model (and with ``--plot`` a PNG).
    ``--minibatch`` uses MiniBatchKMeans, which reads a memory-mapped ``.npy`` one
    minibatch at a time.
kmeans predict MODEL DATA
    Labels of new data with a saved model; columns are matched by name.
kmeans demo
    Cluster Fisher's iris data, shipped inside the package, and draw it (also
    what runs with no arguments).
kmeans bench [--quick ...]
    The comparison with other k-means libraries (:mod:`kmeans._bench`).

Option values are checked as they are parsed; the estimator gets only the options
given, so that its defaults (``KMeans.__init__``) are the command line's too.
Errors are one line on stderr, naming the subcommand, and a non-zero exit status
(2 for a bad command line, with nothing written; 1 for a problem with a file or
the data), never a traceback. The estimators are built without scikit-learn's
base classes (``KMEANS_SKLEARN=0``, see :mod:`kmeans._compat`): importing it would
cost seconds a call, and the models are the same.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import math
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from ._exceptions import install_hint

_PLOT_EXTRA = install_hint("plot")
# More runs than this are a typing error (1e20 would never end), not a wish.
_MAX_N_INIT = 1000
# Likewise for swap trials: an explicit number is not cut short ("auto" is 6 per
# cluster).
_MAX_REFINE_ITER = 100_000
_IRIS_ROWS = 150
# Cluster sizes printed one by one up to this many clusters; beyond, a summary.
_MAX_SIZES_SHOWN = 20


class CommandError(Exception):
    """A problem the user can fix; the message is one line. Exit status 1."""

    status = 1


class UsageError(CommandError):
    """Options that do not go together: a bad command line (exit status 2, as
    argparse's own errors)."""

    status = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # one line instead of argparse's usage block; prog names the subcommand
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# -- option values -------------------------------------------------------------


def _int_in(low: int, high: int | None = None):
    """An argparse type: an integer in [low, high]."""
    what = (
        f"an integer from {low} to {high}"
        if high is not None
        else ("a positive integer" if low == 1 else f"an integer >= {low}")
    )

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    return parse


_positive_int = _int_in(1)
_seed = _int_in(0)


def _tol(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def _n_init(text: str):
    return "auto" if text == "auto" else _int_in(1, _MAX_N_INIT)(text)


def _init(text: str) -> str:
    """An init method of the estimator's, or an existing file of centres."""
    from ._backends.memory import DENSE

    if text in DENSE.init_methods or Path(text).is_file():
        return text
    methods = ", ".join(sorted(DENSE.init_methods))
    raise argparse.ArgumentTypeError(f"{text!r} is neither one of {methods} nor a file")


def _columns(text: str) -> str:
    tokens = [t.strip() for t in text.split(",")]
    if not all(tokens):
        raise argparse.ArgumentTypeError(f"an empty name in {text!r}")
    twice = sorted({t for t in tokens if tokens.count(t) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"{', '.join(twice)} listed twice in {text!r}")
    return ",".join(tokens)


def _default(cls, name: str):
    """The estimator's default for parameter ``name``: stated in one place only."""
    return inspect.signature(cls).parameters[name].default


def _say(line: str = "", out=None) -> None:
    print(line, file=out or sys.stdout)


# -- files ---------------------------------------------------------------------


def _check_new(paths, force: bool) -> None:
    """Refuse to overwrite files unless --force."""
    if force:
        return
    for path in paths:
        if path.exists():
            raise CommandError(
                f"{path} already exists; use --force to overwrite it or -o to "
                "write elsewhere"
            )


def _writable_dir(directory: Path) -> None:
    """Create ``directory`` if needed and check that files can be written in it."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise CommandError(
            f"cannot write to the output directory {directory}: {exc.strerror or exc}"
        ) from exc


def _need_matplotlib(what: str) -> None:
    try:
        import matplotlib
    except ImportError:
        raise CommandError(f"{what} needs matplotlib: {_PLOT_EXTRA}") from None
    matplotlib.use("Agg")  # files only: no window, works without a display


def _save_plot(model, X, path: Path, names=None, title: str | None = None) -> None:
    import matplotlib.pyplot as plt

    from . import plot

    # the fit's own labels: predict would warn of a DataFrame's lost column names
    labels = getattr(model, "labels_", None)
    ax = plot.clusters(model, X, labels=labels, feature_names=names)
    if title:
        ax.set_title(title)
    ax.figure.savefig(path, dpi=120)
    plt.close(ax.figure)


# -- fit -----------------------------------------------------------------------

# Options of `kmeans fit` that are estimator parameters: passed only when given.
_FIT_PARAMS = {
    "n_clusters": "both",
    "init": "both",
    "n_init": "both",
    "max_iter": "both",
    "tol": "both",
    "metric": "both",
    "algorithm": "KMeans",
    "refine": "KMeans",
    "refine_iter": "KMeans",
    "batch_size": "MiniBatchKMeans",
}


def _estimator_class(minibatch: bool):
    if minibatch:
        from ._minibatch import MiniBatchKMeans

        return MiniBatchKMeans
    from ._estimator import KMeans

    return KMeans


def _init_centers(path: str, n_clusters, n_columns: int) -> np.ndarray:
    """Initial centres read from a file: n_clusters (when given) rows of n_columns."""
    from ._io import read_table

    centers, _ = read_table(path)
    if n_clusters is None:
        n_clusters = centers.shape[0]
    if centers.shape != (n_clusters, n_columns):
        raise CommandError(
            f"--init {path}: {centers.shape[0]} centres of {centers.shape[1]} columns; "
            f"expected {n_clusters} of {n_columns}, like the data"
        )
    return np.asarray(centers, dtype=np.float64)


def _outputs(args) -> dict:
    stem = "stdin" if args.data == "-" else Path(args.data).stem
    outdir = Path(args.output)
    # labels of array input stay binary: a million-row CSV is slow to write and read
    binary = Path(args.data).suffix.lower() in (".npy", ".npz")
    targets = {
        "labels": outdir / f"{stem}-labels.{'npy' if binary else 'csv'}",
        "centers": outdir / f"{stem}-centers.csv",
        "summary": outdir / f"{stem}-summary.json",
        "model": outdir / f"{stem}-model.npz",
    }
    if args.plot:
        targets["plot"] = outdir / f"{stem}-clusters.png"
    return targets


def _fit(args) -> int:
    from ._io import read_table

    for option in ("algorithm", "refine", "refine_iter"):
        if args.minibatch and getattr(args, option) is not None:
            flag = "--" + option.replace("_", "-")
            raise UsageError(f"{flag} does not apply to --minibatch")
    if args.refine_iter is not None and args.refine is None:
        raise UsageError("--refine-iter needs --refine swap")
    if args.batch_size is not None and not args.minibatch:
        raise UsageError("--batch-size needs --minibatch")
    cls = _estimator_class(args.minibatch)
    targets = _outputs(args)
    if args.plot:
        _need_matplotlib("--plot")
    _check_new(targets.values(), args.force)

    X, names = read_table(args.data, args.columns)
    n_rows, n_columns = X.shape
    params = {
        name: getattr(args, name)
        for name in _FIT_PARAMS
        if getattr(args, name, None) is not None
    }
    if args.init is not None and not _is_init_method(args.init):
        params["init"] = _init_centers(args.init, args.n_clusters, n_columns)
        params["n_clusters"] = params["init"].shape[0]
    n_clusters = params.get("n_clusters", _default(cls, "n_clusters"))
    if n_clusters > n_rows:
        default = "" if "n_clusters" in params else " (the default)"
        raise CommandError(
            f"-k {n_clusters}{default} is more than the {n_rows} rows of "
            f"{_data_name(args.data)}"
        )
    output = Path(args.output)
    created = not output.exists()
    _writable_dir(output)

    # without --seed, draw one and report it, so that the run can be repeated
    seed = args.seed
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**31)
    # X is read one minibatch at a time: a memory-mapped .npy is never loaded
    model = cls(random_state=seed, verbose=int(args.verbose), **params)
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(sys.stderr), _data_refused():  # progress
            model.fit(X)
    except BaseException:
        if created:  # nothing is left behind by a fit that failed
            with contextlib.suppress(OSError):
                output.rmdir()
        raise
    elapsed = time.perf_counter() - start
    if names is not None and len(set(names)) == len(names):
        # as a fit on a DataFrame would: `kmeans predict` matches columns by name
        model.feature_names_in_ = np.asarray(names, dtype=object)
    _write_fit_outputs(model, X, names, targets)
    summary = _fit_summary(args, model, names, X.shape, seed, elapsed, targets)
    with open(targets["summary"], "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")

    _say(
        f"{_data_name(args.data)}: {n_rows} rows x {n_columns} columns -> {n_clusters} "
        f"cluster{'s' if n_clusters != 1 else ''} "
        f"in {_progress_text(model)}, {_duration(elapsed)} (seed {seed})"
    )
    _say(f"cluster sizes: {_sizes_text(summary['sizes'], targets['summary'])}")
    _say(f"inertia: {model.inertia_:.6g}")
    _say(f"wrote {', '.join(str(p) for p in targets.values())}")
    return 0


def _is_init_method(init: str) -> bool:
    from ._backends.memory import DENSE

    return init in DENSE.init_methods


def _data_name(data: str) -> str:
    return "standard input" if data == "-" else Path(data).name


def _write_fit_outputs(model, X, names, targets) -> None:
    labels_path = targets["labels"]
    if labels_path.suffix == ".npy":
        np.save(labels_path, model.labels_)
    else:
        np.savetxt(labels_path, model.labels_, fmt="%d", header="label", comments="")
    header = ",".join(names or (f"x{j}" for j in range(X.shape[1])))
    # %.17g: the centres read back are the same numbers
    np.savetxt(
        targets["centers"],
        model.cluster_centers_,
        fmt="%.17g",
        delimiter=",",
        header=header,
        comments="",
    )
    model.save(targets["model"])
    if "plot" in targets:
        _save_plot(model, X, targets["plot"], names)


def _fit_summary(args, model, names, shape, seed, elapsed, targets) -> dict:
    from ._version import __version__

    params = model.get_params()
    used = {
        name
        for name, owner in _FIT_PARAMS.items()
        if owner in ("both", type(model).__name__)
    }
    parameters = {name: params[name] for name in sorted(used)}
    parameters.update(init=args.init or params["init"], random_state=seed)
    if args.minibatch:
        parameters["minibatch"] = True
    summary = {
        "kmeans_version": __version__,
        "data": "-" if args.data == "-" else str(Path(args.data)),
        "n_samples": shape[0],
        "n_features": shape[1],
        "columns": names,
        "n_clusters": model.n_clusters,
        "sizes": np.bincount(model.labels_, minlength=model.n_clusters).tolist(),
        "inertia": model.inertia_,
        "n_iter": model.n_iter_,
        "fit_seconds": round(elapsed, 6),
        "parameters": parameters,
        "outputs": {key: str(path) for key, path in targets.items()},
    }
    if args.minibatch:
        summary["n_steps"] = model.n_steps_
    if getattr(model, "n_swap_trials_", None) is not None:
        summary["n_swap_trials"] = model.n_swap_trials_
        summary["n_swaps"] = model.n_swaps_
    return summary


def _sizes_text(sizes: list[int], summary_path) -> str:
    """The cluster sizes: all of them for a few clusters, a summary for many."""
    if len(sizes) <= _MAX_SIZES_SHOWN:
        return ", ".join(map(str, sizes))
    return (
        f"{min(sizes)} to {max(sizes)} rows (median {float(np.median(sizes)):g}) "
        f"in {len(sizes)} clusters; each in {summary_path}"
    )


def _count(number: int, noun: str) -> str:
    """``number noun``, the noun in the plural unless the number is 1."""
    if number == 1:
        return f"1 {noun}"
    return f"{number} {noun}{'es' if noun.endswith(('s', 'ch')) else 's'}"


def _progress_text(model) -> str:
    if hasattr(model, "n_steps_"):
        return f"{_count(model.n_steps_, 'minibatch')} ({_count(model.n_iter_, 'pass')})"
    iterations = _count(model.n_iter_, "iteration")
    if getattr(model, "n_swap_trials_", None) is not None:
        trials = _count(model.n_swap_trials_, "swap trial")
        return f"{iterations} after {model.n_swaps_} of {trials}"
    return iterations


def _duration(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


# -- predict -------------------------------------------------------------------


def _predict(args) -> int:
    from ._io import read_table
    from ._load import load

    output = Path(args.output) if args.output not in (None, "-") else None
    if output is not None:
        _check_new([output], args.force)
    try:
        model = load(args.model)
    except OSError as exc:
        raise CommandError(f"cannot read {args.model}: {exc.strerror or exc}") from exc
    if not hasattr(model, "cluster_centers_"):
        raise CommandError(f"{args.model} holds a model that was never fitted")
    X, names = read_table(args.data, args.columns)
    X = _model_columns(model, X, names, _data_name(args.data))
    with warnings.catch_warnings():
        # the columns were matched by name above; X is their array
        warnings.filterwarnings("ignore", "X does not have valid feature names")
        with _data_refused():
            labels = model.predict(X)
    if output is None:
        sys.stdout.write("\n".join(map(str, labels.tolist())) + "\n")
        return 0
    try:
        if output.suffix == ".npy":
            np.save(output, labels)
        else:
            np.savetxt(output, labels, fmt="%d", header="label", comments="")
    except OSError as exc:
        raise CommandError(f"cannot write {output}: {exc.strerror or exc}") from exc
    _say(f"wrote {labels.size} labels to {output}")
    return 0


@contextlib.contextmanager
def _data_refused():
    """The estimators refuse data they cannot cluster (zero rows for the cosine
    metric, say) with a one-line ValueError: a user's error, said as such."""
    try:
        yield
    except ValueError as exc:
        raise CommandError(str(exc)) from exc


def _model_columns(model, X, names, data: str):
    """The columns of X the model was fitted on, in its order: by name when both
    the model and the data have names, else by position (as many as it had)."""
    fitted = getattr(model, "feature_names_in_", None)
    if fitted is not None and names is not None:
        missing = [name for name in fitted if name not in names]
        if missing:
            raise CommandError(
                f"{data} has no column {', '.join(map(repr, missing[:5]))}"
                f"{', ...' if len(missing) > 5 else ''} (the model was fitted on "
                f"columns {', '.join(fitted)}; choose them with --columns)"
            )
        order = [names.index(name) for name in fitted]
        return X if order == list(range(X.shape[1])) else X[:, order]
    if X.shape[1] != model.n_features_in_:
        raise CommandError(
            f"the model was fitted on {model.n_features_in_} columns; {data} has "
            f"{X.shape[1]} (choose them with --columns)"
        )
    return X


# -- demo ----------------------------------------------------------------------


def _demo(args) -> int:
    from ._datasets import load_iris
    from ._estimator import KMeans

    n_clusters, seed = args.n_clusters, args.seed
    X, species, names = load_iris()
    start = time.perf_counter()
    model = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed).fit(X)
    elapsed = time.perf_counter() - start
    sizes = np.bincount(model.labels_, minlength=n_clusters)

    _say(f"Fisher's iris data: {X.shape[0]} flowers x {X.shape[1]} measurements (cm)")
    _say(
        f"KMeans(n_clusters={n_clusters}, n_init=10, random_state={seed}): "
        f"{_count(model.n_iter_, 'iteration')}, {elapsed * 1e3:.1f} ms"
    )
    _say()
    width = max(len(n) for n in names)
    _say(f"{'cluster':>7}  {'size':>4}  " + "  ".join(f"{n:>{width}}" for n in names))
    for k, (size, center) in enumerate(zip(sizes, model.cluster_centers_)):
        _say(f"{k:>7}  {size:>4}  " + "  ".join(f"{v:>{width}.3f}" for v in center))
    _say()
    _say(f"inertia: {model.inertia_:.4f}")
    _say()
    _say("species per cluster (not used by the fit):")
    for k in range(n_clusters):
        kinds, counts = np.unique(species[model.labels_ == k], return_counts=True)
        _say(f"  {k}: " + ", ".join(f"{c} {s}" for s, c in zip(kinds, counts)))
    _say()
    _demo_picture(model, X, args)
    return 0


def _demo_picture(model, X, args) -> None:
    """Draw the demo's clusters to a PNG if matplotlib is there; else say why not."""
    outdir = Path(args.output or ".")
    path = outdir / "iris-clusters.png"
    try:
        _need_matplotlib("the picture")
    except CommandError:
        _say(f"picture: none, as matplotlib is not installed ({_PLOT_EXTRA})")
        return
    if path.exists() and not args.force:
        _say(f"picture: kept the existing {path} (--force replaces it)")
        return
    try:
        _writable_dir(outdir)
    except CommandError as exc:
        if args.output:  # asked for this directory: an error
            raise
        _say(f"picture: none, {exc}")
        return
    k = model.n_clusters
    title = f"Fisher's iris data in {k} clusters (PCA projection)"
    _save_plot(model, X, path, title=title)
    elsewhere = "" if args.output else "; -o DIR writes it elsewhere"
    _say(f"picture: {path} (the clusters on the first two principal components{elsewhere})")


# -- main ----------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    from ._backends.memory import DENSE
    from ._estimator import METRICS, REFINE, KMeans
    from ._minibatch import MiniBatchKMeans
    from ._version import __version__

    def both(name: str) -> str:
        """The defaults of both estimators for parameter ``name``."""
        one, other = _default(KMeans, name), _default(MiniBatchKMeans, name)
        if one == other:
            return f"default: the library's ({one})"
        return f"default: the library's ({one}; with --minibatch, {other})"

    parser = _Parser(prog="kmeans", description="NumPy-vectorised k-means clustering.")
    parser.add_argument("--version", action="version", version=f"kmeans {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    fit = commands.add_parser(
        "fit",
        help="cluster a data file; write labels, centres, a summary and the model",
        description="Cluster DATA: CSV/TSV text (header detected, # comment lines "
        "skipped), .npy (memory-mapped) or .npz; - reads standard input. Writes "
        "DATA-labels.csv (.npy for array input), DATA-centers.csv, DATA-summary.json "
        "and DATA-model.npz into OUTDIR. Options not given take the library's "
        "defaults (those of KMeans, or of MiniBatchKMeans with --minibatch).",
    )
    fit.add_argument("data", metavar="DATA", help="the data file, or - for standard input")
    fit.add_argument(
        "-k",
        "--n-clusters",
        type=_positive_int,
        metavar="K",
        help=f"number of clusters ({both('n_clusters')}, or the rows of an --init file)",
    )
    methods = ", ".join(sorted(DENSE.init_methods))
    fit.add_argument(
        "--init",
        type=_init,
        metavar="METHOD|FILE",
        help=f"{methods}, or a file of initial centres ({both('init')})",
    )
    fit.add_argument(
        "--n-init",
        type=_n_init,
        metavar="N",
        help=f"runs from different initial centres, the best kept: auto or 1 to "
        f"{_MAX_N_INIT} ({both('n_init')})",
    )
    fit.add_argument(
        "--max-iter",
        type=_positive_int,
        metavar="N",
        help=f"iterations; with --minibatch, passes over the data ({both('max_iter')})",
    )
    fit.add_argument(
        "--tol",
        type=_tol,
        metavar="TOL",
        help=f"convergence tolerance, >= 0 ({both('tol')})",
    )
    fit.add_argument(
        "--seed",
        type=_seed,
        metavar="S",
        help="random seed, >= 0 (default: drawn, and reported so that the run can be "
        "repeated)",
    )
    fit.add_argument(
        "--metric",
        choices=METRICS,
        help="cosine: spherical k-means, for embeddings and TF-IDF rows "
        f"({both('metric')})",
    )
    fit.add_argument(
        "--algorithm",
        choices=sorted({_default(KMeans, "algorithm"), *DENSE.algorithms}),
        help=f"not with --minibatch (default: the library's "
        f"({_default(KMeans, 'algorithm')}))",
    )
    fit.add_argument(
        "--refine",
        choices=sorted(REFINE),
        help="swap: random swap trials after the best run, for a better local "
        "optimum (KMeans only; default: none)",
    )
    fit.add_argument(
        "--refine-iter",
        type=_int_in(1, _MAX_REFINE_ITER),
        metavar="N",
        help=f"swap trials, with --refine: 1 to {_MAX_REFINE_ITER} (default: the "
        f"library's ({_default(KMeans, 'refine_iter')}: a number per cluster))",
    )
    fit.add_argument(
        "--minibatch",
        action="store_true",
        help="MiniBatchKMeans: reads DATA one minibatch at a time (a .npy is "
        "memory-mapped, so it may be larger than memory)",
    )
    fit.add_argument(
        "--batch-size",
        type=_positive_int,
        metavar="N",
        help=f"rows per minibatch, with --minibatch (default: the library's "
        f"({_default(MiniBatchKMeans, 'batch_size')}))",
    )
    fit.add_argument(
        "--columns",
        type=_columns,
        metavar="LIST",
        help="comma-separated column names or numbers (from 1) to use, each once",
    )
    fit.add_argument(
        "-o",
        "--output",
        default=".",
        metavar="OUTDIR",
        help="directory for the outputs (default: here)",
    )
    fit.add_argument("--plot", action="store_true", help="also draw DATA-clusters.png")
    fit.add_argument("--force", action="store_true", help="overwrite existing outputs")
    fit.add_argument(
        "-v", "--verbose", action="store_true", help="show progress (on stderr)"
    )

    predict = commands.add_parser(
        "predict",
        help="labels of new data with a saved model",
        description="Print the label of each row of DATA (one per line), or write them "
        "to FILE (.csv, or .npy). Columns are matched by name when the model and DATA "
        "both have names (a model written by kmeans fit from a CSV with a header), "
        "else by position.",
    )
    predict.add_argument("model", metavar="MODEL", help="a model file (DATA-model.npz)")
    predict.add_argument(
        "data", metavar="DATA", help="the data file, or - for standard input"
    )
    predict.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the labels to FILE (.npy: binary) instead of standard output (-)",
    )
    predict.add_argument(
        "--columns",
        type=_columns,
        metavar="LIST",
        help="comma-separated column names or numbers (from 1) of DATA to use",
    )
    predict.add_argument("--force", action="store_true", help="overwrite FILE")

    demo = commands.add_parser(
        "demo",
        help="cluster the built-in iris data and draw it (default)",
        description="Cluster Fisher's iris data (150 flowers, 4 measurements) and draw "
        "the clusters to iris-clusters.png when matplotlib is installed.",
    )
    demo.add_argument(
        "-k",
        "--n-clusters",
        type=_int_in(1, _IRIS_ROWS),
        default=3,
        metavar="K",
        help=f"number of clusters, 1 to {_IRIS_ROWS} (default: 3, the species)",
    )
    demo.add_argument(
        "--seed", type=_seed, default=0, metavar="S", help="random seed (default: 0)"
    )
    demo.add_argument(
        "-o",
        "--output",
        metavar="OUTDIR",
        help="where to write iris-clusters.png (default: here)",
    )
    demo.add_argument("--force", action="store_true", help="overwrite the picture")

    # parsed by the harness itself (see main); listed here for --help
    commands.add_parser(
        "bench", help="compare with scikit-learn, faiss and SciPy (kmeans bench --help)"
    )
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    first = str(message).strip().splitlines()[0]
    print(f"kmeans: warning: {first}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        from ._bench import main as bench

        return bench(argv[1:])
    # before the estimators are first imported: see kmeans/_compat.py
    os.environ.setdefault("KMEANS_SKLEARN", "0")
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # named by the subcommand they were given to, as other errors are
        prog = f"kmeans {args.command}" if args.command else "kmeans"
        message = f"unrecognized arguments: {' '.join(extra)}"
        parser.exit(2, f"{prog}: error: {message} (see {prog} --help)\n")
    if args.command is None:  # no arguments: the demo's defaults
        args = parser.parse_args(["demo"])
    command = args.command
    jobs = {"fit": _fit, "predict": _predict, "demo": _demo}
    from ._exceptions import ModelFileError
    from ._io import DataError

    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        status = 1
        try:
            return jobs[command](args)
        except (CommandError, DataError, ModelFileError) as exc:
            message, status = str(exc), getattr(exc, "status", 1)
        except MemoryError:
            message = "out of memory"
        except KeyboardInterrupt:
            print(f"kmeans {command}: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # e.g. `kmeans predict ... | head`
            # as Python's documentation advises: no second error when exiting
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        except OSError as exc:  # writing the outputs: a full disk, a lost mount
            message = f"{exc.filename or 'writing'}: {exc.strerror or exc}"
        except Exception as exc:  # a bug, said in one line rather than a traceback
            message = f"unexpected {type(exc).__name__}: {exc} (please report this)"
    print(f"kmeans {command}: error: {message}", file=sys.stderr)
    return status
