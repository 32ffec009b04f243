"""The comparison harness, on tiny workloads: every number is there and the
inertia is recomputed the same way for every method."""

import json

import numpy as np
import pytest

from kmeans._bench import Workload, chart, markdown_table, run


def test_workload_data_is_reproducible():
    a = Workload(1000, 3, 4, "float32", True).data()
    b = Workload(1000, 3, 4, "float32", True).data()
    np.testing.assert_array_equal(a[0], b[0])
    assert a[0].dtype == np.float32 and a[1].shape == (4, 3)


def test_harness_smoke(tmp_path):
    results = run(
        ["kmeans", "scipy-kmeans2"],
        repeat=1,
        iterations=2,
        scaling=False,
        shrink=2000,
        log=lambda line: None,
    )
    json.dumps(results)  # serialisable
    for section, key in (
        ("per_iteration", "seconds_per_iteration"),
        ("to_convergence", "seconds_to_convergence"),
    ):
        for rows in results[section].values():
            ours = rows["methods"]["kmeans"]
            assert key in ours, ours  # a failed worker reports its error here
            assert ours[key] >= 0 and ours["inertia"] > 0 and ours["peak_extra_bytes"] >= 0
    for rows in results["per_iteration"].values():
        # same init, same three iterations: SciPy's Lloyd reaches the same inertia
        assert "inertia" in rows["methods"]["scipy-kmeans2"], rows["methods"]
        theirs = rows["methods"]["scipy-kmeans2"]["inertia"]
        assert theirs == pytest.approx(rows["methods"]["kmeans"]["inertia"], rel=1e-6)
    table = markdown_table(results)
    assert "| W1 " in table and "kmeans" in table
    pytest.importorskip("matplotlib")
    assert chart(results, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").stat().st_size > 10_000


def test_minibatch_harness_smoke():
    from kmeans._bench import minibatch_table, run_minibatch

    results = run_minibatch(
        ["kmeans-minibatch"],
        repeat=1,
        passes=1,
        shrink=2000,
        log=lambda line: None,
        workloads=["W1", "B1"],
    )
    json.dumps(results)
    for name, rows in results["minibatch"].items():
        ours = rows["methods"]["kmeans-minibatch"]
        assert ours["seconds"] >= 0 and ours["inertia"] > 0, ours
        assert ours["samples_seen"] == ours["steps"] * min(1024, rows["shape"][0])
        if name.startswith("B"):  # clustered: the full KMeans beside
            assert ours["inertia_ratio_to_full_kmeans"] > 0.5
    assert "| W1 " in minibatch_table(results)


def test_memmap_harness_smoke(tmp_path):
    from kmeans._bench import run_memmap

    results = run_memmap(
        ["kmeans-minibatch"], [1], directory=tmp_path, log=lambda line: None
    )
    (row,) = results["memmap"]
    assert "error" not in row, row
    assert row["file_bytes"] == 2**20 and row["labels_bytes"] == 4 * row["n_samples"]
    assert row["peak_anon_extra_bytes"] >= 0
