"""Random swap: the incremental trials equal full Lloyd iterations, swap escapes
local optima Lloyd cannot, results are reproducible, parameters are checked."""

import re

import numpy as np
import pytest
from conftest import make_blobs

from kmeans import InvalidParameterError, KMeans, centroid_index
from kmeans._core import swap as _swap
from kmeans._core.sampling import CumulativeSampler
from kmeans._core.swap import (
    _addition_odds,
    _DensePartition,
    _Partition,
    _removal_odds,
    random_swap,
)


def _removal_cumulative(state):
    return _removal_odds(state).cumulative


def _addition_cumulative(state):
    return _addition_odds(state).cumulative


def _draw(cumulative, rng):
    return CumulativeSampler(np.diff(cumulative, prepend=0))(rng)


def _nearest(X, C):
    d = ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)
    labels = d.argmin(1)
    return labels, d[np.arange(len(X)), labels]


def _naive_random_swap(X, w, C, trials):
    """Fränti's random swap written plainly: full passes over all the data."""
    labels, dist = _nearest(X, C)
    sse = (dist * w).sum()
    for cluster, row in trials:
        new = C.copy()
        new[cluster] = X[row]
        for _ in range(2):
            labels, _ = _nearest(X, new)
            for c in range(len(new)):
                members = labels == c
                if w[members].sum() > 0:
                    new[c] = (X[members] * w[members, None]).sum(0) / w[members].sum()
        labels, dist = _nearest(X, new)
        if (dist * w).sum() < sse:
            C, sse = new, (dist * w).sum()
    return C, sse


PARTITIONS = [_Partition, _DensePartition]


@pytest.mark.parametrize("partition", PARTITIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_trials_equal_full_lloyd_iterations(seed, weighted, partition):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 12))
    X, _ = make_blobs(int(rng.integers(60, 300)), 2, k, seed=seed, spread=1.5)
    w = rng.uniform(0, 2, len(X)) if weighted else np.ones(len(X))
    # initial centres off the data, so that no distance ties exactly
    C0 = X[rng.choice(len(X), k, replace=False)] + rng.normal(0, 1e-3, (k, 2))
    trials = [(int(rng.integers(k)), int(rng.integers(len(X)))) for _ in range(40)]

    state = partition(X, np.zeros(2), w if weighted else None, C0, None)
    for cluster, row in trials:
        state.trial(cluster, row)
    expected, sse = _naive_random_swap(X, w, C0, trials)

    np.testing.assert_allclose(state.centers, expected, rtol=1e-10, atol=1e-10)
    assert state.sse.sum() == pytest.approx(sse, rel=1e-10)
    # the bookkeeping is exact: labels and distances of a full assignment
    labels, dist = _nearest(X, state.centers)
    np.testing.assert_array_equal(state.labels, labels)
    np.testing.assert_allclose(state.dist, dist, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("weighted", [False, True])
def test_whole_array_and_incremental_trials_agree(monkeypatch, weighted):
    X, _ = make_blobs(3000, 3, 20, seed=8, spread=2.0)
    weights = np.random.default_rng(1).uniform(0.5, 2, len(X)) if weighted else None
    shift = X.mean(0)
    runs = []
    for dense_elements in (0, 1 << 30):  # incremental, whole-array
        monkeypatch.setattr(_swap, "_DENSE_ELEMENTS", dense_elements)
        rng = np.random.default_rng(5)
        runs.append(random_swap(X, shift, weights, X[:20] - shift, rng, max_trials=60))
    incremental, whole = runs
    assert incremental.n_accepted == whole.n_accepted > 0
    np.testing.assert_allclose(incremental.centers, whole.centers, rtol=0, atol=1e-10)


@pytest.mark.parametrize("partition", PARTITIONS)
def test_settle_reaches_the_lloyd_fixed_point(partition):
    X, _ = make_blobs(500, 2, 6, seed=3)
    state = partition(X, X.mean(0), None, X[:6] - X.mean(0), None)
    n_iter = state.settle(300)
    assert 1 <= n_iter < 300
    labels, _ = _nearest(X - X.mean(0), state.centers)
    np.testing.assert_array_equal(state.labels, labels)
    means = np.array([(X - X.mean(0))[labels == c].mean(0) for c in range(6)])
    np.testing.assert_allclose(state.centers, means, atol=1e-12)


def _stuck_problem(dtype):
    """Six far-apart pairs of blobs; the initial centres put two centres in the
    first group and one between groups 5 and 6: a fixed point of Lloyd."""
    rng = np.random.default_rng(7)
    truth = np.array([[0, 0], [30, 0], [60, 0], [0, 30], [30, 30], [60, 30]], float)
    X = np.concatenate([rng.normal(c, 1.0, (60, 2)) for c in truth]).astype(dtype)
    init = np.array([[-0.5, 0], [0.5, 0], [30, 0], [60, 0], [0, 30], [45, 30]], dtype=dtype)
    return X, truth, init


def test_swap_escapes_a_local_optimum_lloyd_cannot(dtype):
    X, truth, init = _stuck_problem(dtype)
    lloyd = KMeans(6, init=init).fit(X)
    assert centroid_index(lloyd.cluster_centers_, truth) == 1
    swapped = KMeans(6, init=init, refine="swap", random_state=0).fit(X)
    assert centroid_index(swapped.cluster_centers_, truth) == 0
    assert swapped.inertia_ < 0.1 * lloyd.inertia_
    assert swapped.cluster_centers_.dtype == dtype
    assert swapped.n_swaps_ >= 1 and swapped.n_swap_trials_ == 6 * 6
    # labels_, inertia_ and predict agree with the final centres
    np.testing.assert_array_equal(swapped.predict(X), swapped.labels_)
    assert -swapped.score(X) == pytest.approx(swapped.inertia_, rel=1e-6)


def test_swap_draws_rows_in_proportion_to_weight_times_squared_distance(monkeypatch):
    X, _ = make_blobs(300, 2, 3)
    weights = np.zeros(len(X))
    weights[:100] = 1.0
    weights[100:110] = 50.0
    drawn = []
    for partition in PARTITIONS:
        monkeypatch.setattr(partition, "trial", lambda self, c, row: drawn.append(row))
        monkeypatch.setattr(partition, "settle", lambda self, max_iter: 0)  # keep X[:3]
    shift = X.mean(0)
    random_swap(X, shift, weights, X[:3] - shift, np.random.default_rng(0), max_trials=3000)
    drawn = np.array(drawn)
    assert drawn.max() < 110  # never a row of zero weight
    _, dist = _nearest(X, X[:3])
    odds = weights * dist
    assert np.mean(drawn >= 100) == pytest.approx(odds[100:].sum() / odds.sum(), abs=0.03)


def _partition(X, centers, weights=None):
    shift = np.zeros(X.shape[1])
    return _Partition(X, shift, weights, np.asarray(centers, float), None)


def test_removal_odds_are_inverse_ward_merge_costs():
    X = np.array([[0.0], [0], [1], [1], [10], [10], [10], [10]])
    # masses 2, 2, 4; nearest gaps 1, 1, 81: Ward costs 1, 1, 4 * 2 / 6 * 81 = 108
    cumulative = _removal_cumulative(_partition(X, [[0], [1], [10]]))
    np.testing.assert_allclose(cumulative, np.cumsum([1, 1, 1 / 108]))
    # weights count as masses (2, 4, 4): 2 * 4 / 6 * 1 for the first two, 4 * 4 / 8 * 81
    weights = np.array([1, 1, 2, 2, 1, 1, 1, 1.0])
    cumulative = _removal_cumulative(_partition(X, [[0], [1], [10]], weights))
    np.testing.assert_allclose(cumulative, np.cumsum([3 / 4, 3 / 4, 1 / 162]))


def test_removal_takes_an_empty_or_duplicate_centre_first():
    X = np.array([[0.0], [0], [1], [1], [10], [10], [10], [10]])
    empty = _removal_cumulative(_partition(X, [[0], [1], [10], [100]]))
    np.testing.assert_array_equal(np.diff(empty, prepend=0), [0, 0, 0, 1])
    twin = _removal_cumulative(_partition(X, [[0], [10], [10]]))
    # both copies of 10 cost nothing to merge (one of them is empty, too)
    np.testing.assert_array_equal(np.diff(twin, prepend=0), [0, 1, 1])


def test_draw_never_picks_an_index_of_zero_odds():
    rng = np.random.default_rng(0)
    cumulative = np.cumsum([0.0, 1.0, 0.0, 2.0, 0.0])
    drawn = np.bincount([_draw(cumulative, rng) for _ in range(3000)], minlength=5)
    assert drawn[[0, 2, 4]].sum() == 0
    assert drawn[3] / 3000 == pytest.approx(2 / 3, abs=0.03)
    # a target that rounds up onto the total still lands on a positive increment
    assert _draw(cumulative, _AlwaysOne()) == 3


class _AlwaysOne:
    def random(self, size=None):
        return 1.0


def test_rows_are_drawn_by_weight_when_every_row_lies_on_a_centre():
    X = np.array([[0.0], [0], [5], [5]])
    state = _partition(X, [[0], [5]], np.array([0, 1, 3, 0.0]))
    np.testing.assert_array_equal(_addition_cumulative(state), [0, 1, 4, 4])
    state = _partition(X, [[0], [5]])
    np.testing.assert_array_equal(_addition_cumulative(state), [1, 2, 3, 4])


def test_swap_with_weights_matches_repeated_rows_in_quality():
    X, truth, init = _stuck_problem(np.float64)
    weights = np.full(len(X), 2.0)
    km = KMeans(6, init=init, refine="swap", random_state=0).fit(X, sample_weight=weights)
    assert centroid_index(km.cluster_centers_, truth) == 0


def test_swap_is_deterministic_and_thread_count_independent(monkeypatch):
    X, _ = make_blobs(2000, 2, 12, seed=5, spread=2.0)
    results = []
    for n_threads in (1, 2, 3):
        monkeypatch.setenv("KMEANS_NUM_THREADS", str(n_threads))
        km = KMeans(12, refine="swap", refine_iter=100, random_state=42).fit(X)
        results.append((km.cluster_centers_, km.labels_, km.inertia_, km.n_swaps_))
    for centers, labels, inertia, n_swaps in results[1:]:
        np.testing.assert_array_equal(centers, results[0][0])
        np.testing.assert_array_equal(labels, results[0][1])
        assert (inertia, n_swaps) == results[0][2:]


def test_swap_never_worse_than_the_runs_it_starts_from():
    X, _ = make_blobs(1500, 3, 10, seed=11, spread=2.5)
    plain = KMeans(10, random_state=3).fit(X)
    refined = KMeans(10, random_state=3, refine="swap", refine_iter=50).fit(X)
    assert refined.inertia_ <= plain.inertia_


def test_time_budget_and_no_trials():
    X, _ = make_blobs(300, 2, 4)
    km = KMeans(4, refine="swap", refine_iter=None, refine_time=0.0, random_state=0).fit(X)
    assert km.n_swap_trials_ == 0
    km = KMeans(1, refine="swap", random_state=0).fit(X)
    assert km.n_swap_trials_ == 0
    np.testing.assert_allclose(km.cluster_centers_[0], X.mean(0))
    # refitting without refine drops the swap attributes
    km.set_params(refine=None).fit(X)
    assert not hasattr(km, "n_swaps_") and not hasattr(km, "n_swap_trials_")


def test_random_swap_stops_at_the_trial_budget():
    X, _ = make_blobs(200, 2, 3)
    run = random_swap(
        X, X.mean(0), None, X[:3] - X.mean(0), np.random.default_rng(0), max_trials=7
    )
    assert run.n_trials == 7 and 0 <= run.n_accepted <= 7


@pytest.mark.parametrize(
    "params, message",
    [
        ({"refine": "bogus"}, "'refine' parameter of KMeans must be a str among {'swap'}"),
        (
            {"refine_iter": -1},
            "'refine_iter' parameter of KMeans must be an int in the range",
        ),
        ({"refine_iter": "many"}, "'refine_iter' parameter of KMeans must be a str among"),
        ({"refine_time": -1.0}, "'refine_time' parameter of KMeans must be a float in the"),
        ({"refine_iter": None}, "'refine_iter' parameter of KMeans may be None only when"),
    ],
)
def test_bad_refine_parameters(params, message):
    X, _ = make_blobs(50, 2, 2)
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        KMeans(2, **{"refine": "swap", **params}).fit(X)


def test_swap_rejects_sparse_input_clearly():
    sparse = pytest.importorskip("scipy.sparse")
    X = sparse.random(50, 4, density=0.5, format="csr", random_state=0)
    with pytest.raises(TypeError, match="refine='swap' does not accept sparse input"):
        KMeans(3, refine="swap", random_state=0).fit(X)
