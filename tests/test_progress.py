"""Per-iteration callback and progress reporting."""

import sys

import numpy as np
import pytest
from conftest import make_blobs

from kmeans import InvalidParameterError, IterationInfo, KMeans, k_means


def test_callback_sees_every_iteration_of_every_run():
    X, _ = make_blobs(500, 3, 4)
    seen = []
    km = KMeans(4, init="random", n_init=3, tol=0, random_state=0, callback=seen.append)
    km.fit(X)
    assert all(isinstance(info, IterationInfo) for info in seen)
    runs = [[info for info in seen if info.run == run] for run in range(3)]
    assert sum(map(len, runs)) == len(seen)
    for records in runs:
        assert [info.iteration for info in records] == list(range(len(records)))
        # iteration 0 assigns every sample; with tol=0 a run stops when none moves
        assert records[0].n_reassigned == 500 and records[-1].n_reassigned == 0
        inertia = [info.inertia for info in records]
        assert all(b <= a * (1 + 1e-12) for a, b in zip(inertia, inertia[1:]))
    # the kept run is the one with the lowest final inertia
    kept = min(runs, key=lambda records: records[-1].inertia)
    assert len(kept) == km.n_iter_
    # with no label moved, the last recorded inertia is w.r.t. the final centres
    assert kept[-1].inertia == pytest.approx(km.inertia_, rel=1e-9)


@pytest.mark.parametrize("algorithm", ["elkan", "hamerly"])
def test_pruned_algorithms_report_all_but_the_inertia(algorithm):
    X, _ = make_blobs(500, 3, 4)
    lloyd, pruned = [], []
    KMeans(4, random_state=0, tol=0, callback=lloyd.append).fit(X)
    KMeans(4, random_state=0, tol=0, algorithm=algorithm, callback=pruned.append).fit(X)
    assert [i.n_reassigned for i in pruned] == [i.n_reassigned for i in lloyd]
    np.testing.assert_allclose(
        [i.center_shift for i in pruned], [i.center_shift for i in lloyd], rtol=1e-9
    )
    assert all(np.isnan(i.inertia) for i in pruned)


def test_nobody_listening_costs_nothing(monkeypatch):
    # no callback and no verbose: the loops get no hook, so Lloyd skips the inertia
    from kmeans._backends.memory import DENSE
    from kmeans._core import lloyd

    seen = []

    def spy(*args, **kwargs):
        seen.append(kwargs["callback"])
        return lloyd.kmeans_single_lloyd(*args, **kwargs)

    monkeypatch.setitem(DENSE.algorithms, "lloyd", spy)
    X, _ = make_blobs(100, 2, 2)
    KMeans(2, random_state=0).fit(X)
    KMeans(2, random_state=0, callback=print).fit(X)
    assert seen[0] is None and seen[1] is not None


@pytest.mark.parametrize("stop_at", [0, 2])
def test_callback_returning_true_stops_cleanly(stop_at):
    X, _ = make_blobs(2000, 2, 8, spread=3.0)
    seen = []

    def callback(info):
        seen.append(info)
        return info.iteration == stop_at

    km = KMeans(8, n_init=5, init="random", random_state=0, callback=callback).fit(X)
    # no further iteration and no further run
    assert len(seen) == stop_at + 1 and km.n_iter_ == stop_at + 1
    assert {i.run for i in seen} == {0}
    # consistent: labels, inertia and predict all come from cluster_centers_
    np.testing.assert_array_equal(km.labels_, km.predict(X))
    assert km.inertia_ == pytest.approx(-km.score(X), rel=1e-12)
    full = KMeans(8, n_init=1, init="random", random_state=0).fit(X)
    assert full.n_iter_ > km.n_iter_


def test_k_means_function_passes_callback():
    X, _ = make_blobs(200, 2, 3)
    seen = []
    *_, n_iter = k_means(X, 3, random_state=0, callback=seen.append, return_n_iter=True)
    assert len(seen) == n_iter


def test_bad_callback():
    with pytest.raises(InvalidParameterError, match="'callback' parameter of KMeans must"):
        KMeans(2, callback="print").fit([[0.0], [1.0]])


def test_verbose_without_tqdm_prints_lines(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails
    X, _ = make_blobs(300, 2, 3)
    KMeans(3, n_init=2, init="random", random_state=0, verbose=1).fit(X)
    captured = capsys.readouterr()
    assert "Initialization complete (run 2 of 2)." in captured.out
    assert "Iteration 0, inertia" in captured.out
    assert "Stopped at iteration" in captured.out
    assert captured.err == ""


def test_verbose_with_tqdm_shows_a_bar(capsys):
    pytest.importorskip("tqdm")
    X, _ = make_blobs(300, 2, 3)
    KMeans(3, n_init=2, init="random", random_state=0, verbose=1).fit(X)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "KMeans run 2/2" in captured.err and "2/2" in captured.err


def test_quiet_by_default(capsys):
    X, _ = make_blobs(300, 2, 3)
    KMeans(3, random_state=0).fit(X)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("weight", [None, 1.0, 3.0, 1000.0])
def test_reported_inertia_is_in_the_users_units(capsys, metric, weight):
    # the runs read weights divided by a power of two: the callback, the verbose
    # lines and the swap's reported that scaled objective (0.5x inertia_ with
    # all weights 1, 0.65x with all 3)
    X, _ = make_blobs(300, 4, 8, seed=4)
    X += 30  # no row near zero (cosine)
    w = None if weight is None else np.full(len(X), weight)
    seen = []
    km = KMeans(8, metric=metric, init=X[:8], callback=seen.append, verbose=2)
    km.fit(X, sample_weight=w)
    assert seen[-1].inertia == pytest.approx(km.inertia_, rel=1e-9)
    out = capsys.readouterr().out.splitlines()
    printed = [_number_after(line, ", inertia ") for line in out if ", inertia " in line]
    assert printed[-1] == pytest.approx(km.inertia_, rel=1e-5)
    # the swap's accepted objectives lie between the run's and the final one
    swapped = KMeans(8, metric=metric, init=X[:8], refine="swap", verbose=2)
    swapped.fit(X, sample_weight=w)
    out = capsys.readouterr().out.splitlines()
    accepted = [_number_after(line, " accepted, ") for line in out if "accepted, " in line]
    assert accepted, out
    for value in accepted:
        assert swapped.inertia_ * (1 - 1e-5) <= value <= km.inertia_ * (1 + 1e-5)


def _number_after(line: str, text: str) -> float:
    """The number that follows ``text`` (and a word: "SSE", "objective") in ``line``."""
    rest = line.split(text, 1)[1].rstrip(".").split(",")[0].split()
    return float(rest[-1])
