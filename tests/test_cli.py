"""The command line, run as a user would: in a subprocess."""

import subprocess
import sys

import pytest


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "kmeans", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("args", [(), ("demo",)])
def test_demo_clusters_iris(args):
    result = run(*args)
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


def test_demo_other_k_and_bad_k():
    assert "inertia:" in run("demo", "-k", "2").stdout
    result = run("demo", "-k", "0")
    assert result.returncode == 2
    assert "-k must be between 1 and 150" in result.stderr
    assert "Traceback" not in result.stderr
