"""benchmarks/quality.py on a small generated stand-in for a SIPU set."""

import gzip
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "quality.py"


@pytest.fixture(scope="module")
def quality():
    spec = importlib.util.spec_from_file_location("quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def data(tmp_path):
    """A folder laid out like the SIPU data: sipu/s1.data.gz, centroids/s1-gt.txt."""
    rng = np.random.default_rng(0)
    truth = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0], [20.0, 20.0]])
    X = np.concatenate([rng.normal(c, 1.0, (50, 2)) for c in truth])
    (tmp_path / "sipu").mkdir()
    (tmp_path / "centroids").mkdir()
    with gzip.open(tmp_path / "sipu" / "s1.data.gz", "wt") as f:
        np.savetxt(f, X)
    np.savetxt(tmp_path / "centroids" / "s1-gt.txt", truth)
    return tmp_path


def test_runs_and_reports(quality, data, tmp_path, capsys):
    out = tmp_path / "result.json"
    argv = ["--data", str(data), "--seeds", "2", "--sets", "s1", "--output", str(out)]
    assert quality.main([*argv, "--methods", "kmeans", "kmeans-swap", "--select-k"]) == 0
    results = json.loads(out.read_text())
    rows = {r["method"]: r for r in results["quality"]}
    assert set(rows) == {"kmeans", "kmeans-swap"}
    assert rows["kmeans-swap"]["ci"] == [0, 0] and rows["kmeans-swap"]["success"] == 1.0
    assert results["select_k"][0]["best_k"]["silhouette"] == 4
    printed = capsys.readouterr().out
    table, timing, chosen = printed.strip().split("\n\n")
    assert "| s1 | 4 | 2 | " in table and timing.count("| s1 |") == 1
    assert "| s1 | 4 | 4 | 4 | 4 | 4 | yes |" in chosen
    # the tables can be printed again from the JSON file
    assert quality.main(["--table", str(out)]) == 0
    assert capsys.readouterr().out == printed


def test_needs_data(quality, tmp_path):
    with pytest.raises(SystemExit):
        quality.main(["--data", str(tmp_path)])
