"""The comparison harness (``kmeans bench``) on tiny workloads: the worker's spec,
option checking, the interleaved rounds and what is reported. No timing asserts."""

import json
import subprocess
import sys

import numpy as np
import pytest

from kmeans._bench import Bench, main
from kmeans._bench.driver import summary
from kmeans._bench.report import chart, markdown_table, minibatch_table
from kmeans._bench.worker import measure, run_spec
from kmeans._bench.workloads import Workload

TINY = [2000, 8, 4, "float64", True]


def test_workload_data_is_reproducible():
    a = Workload(1000, 3, 4, "float32", True).data()
    b = Workload(1000, 3, 4, "float32", True).data()
    np.testing.assert_array_equal(a[0], b[0])
    assert a[0].dtype == np.float32 and a[1].shape == (4, 3)
    assert Workload(10**6, 2, 8).shrunk(10**5).n_samples == 160  # 20 rows a cluster


def test_worker_spec_round_trip():
    spec = {"method": "kmeans", "mode": "converge", "workload": TINY, "iterations": 50}
    # as one argument and on stdin, in a fresh process: the same JSON figures
    command = [sys.executable, "-m", "kmeans._bench.worker"]
    argument = subprocess.run([*command, json.dumps(spec)], capture_output=True, text=True)
    piped = run_spec(spec)
    got = json.loads(argument.stdout)
    assert got.keys() == piped.keys() >= {"seconds_to_convergence", "init_seconds"}
    assert got["inertia"] == piped["inertia"] == measure(spec)["inertia"]
    assert got["iterations"] == piped["iterations"] < 50
    # a failure is one line, not a traceback
    broken = run_spec({**spec, "workload": [10, 2, 20, "float64", False]})
    assert broken.keys() == {"method", "error"} and "\n" not in broken["error"]


def test_summary_takes_medians_and_per_round_ratios():
    def run(seconds):
        return {
            "method": "m",
            "seconds": seconds,
            "peak_extra_bytes": seconds,
            "inertia": 1.0,
        }

    ours = [run(1.0), run(4.0), run(2.0)]
    theirs = [run(2.0), run(2.0), run(8.0)]
    row = summary(ours, theirs)
    assert row["seconds"] == 2.0 and row["rounds"] == [1.0, 4.0, 2.0]
    assert row["ratio_to_sklearn"] == 0.5 and row["ratio_spread"] == [0.25, 2.0]
    assert row["peak_extra_bytes"] == 4.0
    failed = {"method": "m", "error": "boom"}
    assert summary([failed]) == failed
    assert summary([run(1.0), failed], theirs)["rounds"] == [1.0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--sizes", "abc", "--memmap"], "'abc' is not an integer"),
        (["--sizes", "64,-1", "--memmap"], "-1 is not in"),
        (["--sizes", "999999999", "--memmap"], "is not in"),
        (["--threads", "0"], "0 is not in [1, 4096]"),
        (["--threads", "nan"], "'nan' is not an integer"),
        (["--repeat", "0"], "0 is not in [1, 100]"),
        (["--repeat", "-3"], "-3 is not in"),
        (["--repeat", str(10**30)], "is not in [1, 100]"),
        (["--iterations", "1e3"], "'1e3' is not an integer"),
        (["--batch-size", "0", "--minibatch"], "0 is not in"),
        (["--methods", "nonsense"], "unknown method(s) ['nonsense']"),
        (["--minibatch", "--memmap"], "choose one"),
        (["-o", "no/such/folder/bench"], "is not a writable folder"),
    ],
)
def test_bad_options_fail_at_once_in_one_line(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit:
        main(args)
    err = capsys.readouterr().err
    assert exit.value.code == 2
    assert err.startswith("kmeans bench: error: ") and err.count("\n") == 1, err
    assert message in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_comparison_end_to_end(tmp_path):
    pytest.importorskip("sklearn")  # the reference of every ratio
    lines = []
    results = Bench(
        ["kmeans", "scipy-kmeans2", "sklearn-lloyd"],
        repeat=2,
        iterations=2,
        scaling=False,
        shrink=1000,
        workloads=["W2", "B1"],
        log=lines.append,
    ).run()
    json.dumps(results)  # serialisable
    assert {"cpu", "cpus", "blas"} <= results["machine"].keys()
    assert len(lines) == 6 and not any("error" in line for line in lines), lines
    per_iteration = results["per_iteration"]["W2"]["methods"]
    converge = results["to_convergence"]["B1"]["methods"]
    for row in [*per_iteration.values(), *converge.values()]:
        assert len(row["rounds"]) == 2, row  # both rounds ran
        low, high = row["ratio_spread"]
        assert low <= row["ratio_to_sklearn"] <= high
    assert per_iteration["sklearn-lloyd"]["ratio_spread"] == [1.0, 1.0]
    # same initial centres, same iterations: SciPy's Lloyd reaches the same inertia
    for rows in (per_iteration, converge):
        inertia = rows["kmeans"]["inertia"]
        assert rows["scipy-kmeans2"]["inertia"] == pytest.approx(inertia, rel=1e-6)
    # without a stopping rule, SciPy runs as many iterations as scikit-learn's Lloyd
    assert (
        converge["scipy-kmeans2"]["iterations"] == converge["sklearn-lloyd"]["iterations"]
    )
    table = markdown_table(results)
    assert "Machine: " in table and "| W2 2000x32 k=100 float64 |" in table
    assert "1.00x, 1.00-1.00" in table
    pytest.importorskip("matplotlib")
    assert chart(results, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").stat().st_size > 10_000


def test_minibatch_comparison_end_to_end():
    pytest.importorskip("sklearn")  # the reference of every ratio
    bench = Bench(repeat=1, passes=1, shrink=200, workloads=["B1"], log=print)
    results = bench.run_minibatch()
    rows = results["minibatch"]["B1"]
    ours = rows["methods"]["kmeans-minibatch"]
    assert ours["samples_seen"] == ours["steps"] * min(1024, rows["shape"][0])
    assert "ratio_to_sklearn" in ours and "inertia_ratio_to_sklearn" in ours
    assert 0.9 < ours["inertia_ratio_to_full_kmeans"] < 1.5  # the full KMeans beside
    assert "| B1 " in minibatch_table(results)


def test_memmap_comparison(tmp_path):
    results = Bench(["kmeans-minibatch"], log=print).run_memmap([1], directory=tmp_path)
    (row,) = results["memmap"]
    assert "error" not in row, row
    assert row["file_bytes"] == 2**20 and row["labels_bytes"] == 4 * row["n_samples"]
    # a 1 MiB file: the fit's own memory is a few MiB, not a copy of a large array
    assert row["peak_anon_extra_bytes"] < 32 * 2**20
    assert list(tmp_path.iterdir()) == []  # the file deleted
