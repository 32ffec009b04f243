"""Hamerly's and Elkan's algorithms give Lloyd's results from the same init."""

import numpy as np
import pytest
from conftest import make_blobs

from kmeans import KMeans
from kmeans._core import blocks, kernel

PRUNED = ["hamerly", "elkan"]


def _problems():
    yield "blobs", make_blobs(6000, 2, 8, seed=1)[0], 8
    yield "overlapping", make_blobs(6000, 16, 40, seed=2, spread=4.0)[0], 40
    yield "wide", make_blobs(2000, 64, 60, seed=3, spread=6.0)[0], 60
    yield "far", 1e5 + make_blobs(4000, 3, 6, seed=4)[0], 6
    yield "uniform", np.random.default_rng(5).uniform(size=(5000, 3)), 12


PROBLEMS = list(_problems())


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("name", "X", "k"), PROBLEMS, ids=[p[0] for p in PROBLEMS])
@pytest.mark.parametrize("algorithm", PRUNED)
def test_float64_identical_to_lloyd(algorithm, name, X, k, weighted):
    rng = np.random.default_rng(0)
    weight = rng.uniform(0.2, 2.0, len(X)) if weighted else None
    init = X[rng.choice(len(X), k, replace=False)]
    lloyd = KMeans(k, init=init, tol=0).fit(X, sample_weight=weight)
    pruned = KMeans(k, init=init, tol=0, algorithm=algorithm).fit(X, sample_weight=weight)
    np.testing.assert_array_equal(pruned.labels_, lloyd.labels_)
    np.testing.assert_array_equal(pruned.cluster_centers_, lloyd.cluster_centers_)
    assert pruned.n_iter_ == lloyd.n_iter_
    assert pruned.inertia_ == lloyd.inertia_


@pytest.mark.parametrize("algorithm", PRUNED)
def test_float32_same_clustering_as_lloyd(algorithm):
    # float32 products round differently with the number of rows multiplied, so a
    # point equidistant from two centres to within rounding may go either way
    # (and n_iter_ move by one); the clustering itself is Lloyd's
    X, _ = make_blobs(8000, 8, 20, seed=6, spread=2.0, dtype=np.float32)
    init = X[:20]
    lloyd = KMeans(20, init=init, tol=0).fit(X)
    pruned = KMeans(20, init=init, tol=0, algorithm=algorithm).fit(X)
    assert np.mean(pruned.labels_ != lloyd.labels_) <= 1e-3
    np.testing.assert_allclose(pruned.cluster_centers_, lloyd.cluster_centers_, atol=1e-4)
    assert abs(pruned.n_iter_ - lloyd.n_iter_) <= 2
    assert pruned.inertia_ == pytest.approx(lloyd.inertia_, rel=1e-5)


@pytest.mark.parametrize("algorithm", PRUNED)
def test_tol_max_iter_and_empty_clusters_like_lloyd(algorithm):
    X, _ = make_blobs(3000, 2, 5, seed=7, spread=3.0)
    init = np.vstack([X[:4], [[500.0, 500.0]]])  # the last centre starts empty
    for params in ({"tol": 1e-3}, {"tol": 0, "max_iter": 3}, {"tol": 0}):
        lloyd = KMeans(5, init=init, **params).fit(X)
        pruned = KMeans(5, init=init, algorithm=algorithm, **params).fit(X)
        np.testing.assert_array_equal(pruned.labels_, lloyd.labels_)
        np.testing.assert_array_equal(pruned.cluster_centers_, lloyd.cluster_centers_)
        assert pruned.n_iter_ == lloyd.n_iter_


@pytest.mark.parametrize("algorithm", PRUNED)
def test_single_cluster_and_duplicates(algorithm):
    X = np.array([[0.0, 0.0]] * 4 + [[1.0, 1.0]] * 4)
    with pytest.warns(RuntimeWarning, match="single cluster"):
        one = KMeans(1, algorithm=algorithm, random_state=0).fit(X)
    np.testing.assert_array_equal(one.cluster_centers_, [[0.5, 0.5]])
    with pytest.warns(UserWarning, match="distinct clusters"):
        three = KMeans(3, algorithm=algorithm, random_state=0).fit(X)
    assert np.isfinite(three.cluster_centers_).all() and three.inertia_ == 0.0


@pytest.mark.parametrize("algorithm", PRUNED)
def test_single_cluster_warns_and_runs_lloyd(algorithm):
    # as scikit-learn: bounds between centres mean nothing with one centre
    X, _ = make_blobs(300, 3, 2, seed=4)
    message = f"algorithm='{algorithm}' doesn't make sense for a single cluster"
    with pytest.warns(RuntimeWarning, match=message):
        one = KMeans(1, algorithm=algorithm, random_state=0).fit(X)
    lloyd = KMeans(1, algorithm="lloyd", random_state=0).fit(X)
    np.testing.assert_array_equal(one.cluster_centers_, lloyd.cluster_centers_)
    assert one.n_iter_ == lloyd.n_iter_


@pytest.mark.parametrize("algorithm", PRUNED)
def test_pruned_bit_identical_whatever_the_thread_count(algorithm, monkeypatch):
    X, _ = make_blobs(60_000, 4, 10, seed=8, spread=2.0)
    results = []
    for n_threads in ("1", "2", "3"):
        monkeypatch.setenv("KMEANS_NUM_THREADS", n_threads)
        results.append(KMeans(10, algorithm=algorithm, random_state=1).fit(X))
    for other in results[1:]:
        np.testing.assert_array_equal(other.cluster_centers_, results[0].cluster_centers_)
        np.testing.assert_array_equal(other.labels_, results[0].labels_)


@pytest.mark.parametrize(
    ("n_clusters", "n_features", "expected"),
    [
        (8, 2, "lloyd"),
        (16, 8, "lloyd"),
        (10, 20, "lloyd"),
        (19, 64, "lloyd"),
        (20, 3, "lloyd"),  # the column layout (kernel.by_columns)
        (24, 8, "lloyd"),
        (20, 9, "hamerly"),
        (25, 2, "hamerly"),
        (100, 2, "hamerly"),
    ],
)
def test_auto_picks_by_the_measured_rule(n_clusters, n_features, expected, monkeypatch):
    from kmeans._backends.memory import DENSE

    used = []
    for name, run in list(DENSE.algorithms.items()):
        monkeypatch.setitem(
            DENSE.algorithms,
            name,
            lambda *a, _name=name, _run=run, **k: used.append(_name) or _run(*a, **k),
        )
    X, _ = make_blobs(200, n_features, 3, seed=9)
    auto = KMeans(n_clusters, random_state=0).fit(X)
    assert used == [expected]
    lloyd = KMeans(n_clusters, random_state=0, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(auto.labels_, lloyd.labels_)


def _assert_lloyds(X, k, algorithm, weight=None, init=None, **params):
    rng = np.random.default_rng(0)
    if init is None:
        init = X[rng.choice(len(X), k, replace=False)]
    lloyd = KMeans(k, init=init, tol=0, algorithm="lloyd", **params)
    lloyd.fit(X, sample_weight=weight)
    pruned = KMeans(k, init=init, tol=0, algorithm=algorithm, **params)
    pruned.fit(X, sample_weight=weight)
    np.testing.assert_array_equal(pruned.labels_, lloyd.labels_)
    np.testing.assert_array_equal(pruned.cluster_centers_, lloyd.cluster_centers_)
    assert pruned.n_iter_ == lloyd.n_iter_
    assert pruned.inertia_ == lloyd.inertia_
    return lloyd


@pytest.mark.parametrize("layout", ["columns", "rows"])
@pytest.mark.parametrize("algorithm", PRUNED)
def test_exact_ties_and_duplicates_like_lloyd(algorithm, layout, monkeypatch):
    # rows of a small integer grid, repeated: many rows exactly halfway between
    # two centres, which Lloyd gives to the lower index; the bounds must never
    # settle such a row, whatever the layout of the recomputed distances
    if layout == "rows":
        monkeypatch.setattr(kernel, "COLUMN_MAX_CLUSTERS", 0)
    rng = np.random.default_rng(11)
    X = rng.integers(0, 6, size=(4000, 2)).astype(np.float64)
    init = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0], [4, 4], [1, 3]])
    _assert_lloyds(X, 6, algorithm, init=init)
    weight = rng.integers(1, 4, len(X)).astype(np.float64)
    _assert_lloyds(X, 6, algorithm, weight=weight, init=init)


@pytest.mark.parametrize("algorithm", PRUNED)
def test_near_ties_within_rounding_like_lloyd(algorithm):
    # rows one ulp either side of the bisector of two centres, far from the origin
    # (rounding is largest there): only recomputing them gives Lloyd's labels
    rng = np.random.default_rng(12)
    X, _ = make_blobs(3000, 3, 4, seed=12, spread=2.0)
    X = 1e6 + X
    a, b = X[0], X[1]
    middle = (a + b) / 2
    near = middle + rng.choice([-1, 1], (600, 1)) * np.spacing(middle) * (b - a) / abs(
        b - a
    )
    X = np.vstack([X, near])
    init = np.vstack([a, b, X[2:4]])
    _assert_lloyds(X, 4, algorithm, init=init)


@pytest.mark.parametrize("block_bytes", [None, 16384], ids=["blocks", "small-blocks"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(
    ("n_features", "n_clusters", "spread"),
    [(1, 3, 3.0), (2, 8, 2.0), (3, 20, 1.5), (8, 24, 3.0), (2, 30, 1.0), (24, 40, 6.0)],
)
@pytest.mark.parametrize("algorithm", PRUNED)
def test_many_blocks_gathered_and_whole_like_lloyd(
    algorithm, n_features, n_clusters, spread, weighted, block_bytes, monkeypatch
):
    # enough rows for several blocks: some blocks are recomputed
    # whole, others row by row after the bounds, in both layouts (d <= 8, k <= 24
    # take the column layout); small blocks put several in each partition, whose
    # rows left by the bounds are recomputed together (more than a block's rows
    # of them at times) and moved block by block
    if block_bytes is not None:
        monkeypatch.setattr(blocks, "_BLOCK_BYTES", block_bytes)
    X, _ = make_blobs(40_000, n_features, n_clusters, seed=13, spread=spread)
    rng = np.random.default_rng(1)
    weight = rng.uniform(0.1, 3.0, len(X)) if weighted else None
    _assert_lloyds(X, n_clusters, algorithm, weight=weight)


@pytest.mark.parametrize("exact_share", [0.0, 1.0], ids=["every-row", "gathered"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("n_features", "n_clusters"), [(2, 8), (16, 40)])
@pytest.mark.parametrize("algorithm", PRUNED)
def test_first_bound_test_either_way_like_lloyd(
    algorithm, n_features, n_clusters, weighted, exact_share, monkeypatch
):
    # Hamerly's test runs first against the label that loosens most; the exact
    # test then runs on the rows that fail it (gathered) or, past a share of the
    # partition, on every row: both must leave Lloyd's result
    from kmeans._core import pruned

    monkeypatch.setattr(pruned, "_EXACT_TEST_SHARE", exact_share)
    X, _ = make_blobs(20_000, n_features, n_clusters, seed=7, spread=2.0)
    weight = np.random.default_rng(2).uniform(0.1, 3.0, len(X)) if weighted else None
    _assert_lloyds(X, n_clusters, algorithm, weight=weight)


@pytest.mark.parametrize("algorithm", PRUNED)
@pytest.mark.parametrize(("n_features", "n_clusters"), [(2, 8), (32, 40)])
def test_float32_narrow_and_wide_same_clustering_as_lloyd(
    algorithm, n_features, n_clusters
):
    X, _ = make_blobs(20_000, n_features, n_clusters, seed=14, spread=2.0, dtype=np.float32)
    init = X[:n_clusters]
    weight = np.random.default_rng(2).uniform(0.5, 2.0, len(X)).astype(np.float32)
    lloyd = KMeans(n_clusters, init=init, tol=0).fit(X, sample_weight=weight)
    pruned = KMeans(n_clusters, init=init, tol=0, algorithm=algorithm)
    pruned.fit(X, sample_weight=weight)
    assert np.mean(pruned.labels_ != lloyd.labels_) <= 1e-3
    np.testing.assert_allclose(pruned.cluster_centers_, lloyd.cluster_centers_, atol=1e-3)
    assert pruned.inertia_ == pytest.approx(lloyd.inertia_, rel=1e-5)


@pytest.mark.parametrize("algorithm", PRUNED)
def test_centre_that_stays_empty_far_out(algorithm):
    # an initial centre far beyond every row stays empty (it is moved onto a far
    # row by the update): the rounding margin must cover its norm from the start
    X, _ = make_blobs(5000, 2, 4, seed=15)
    init = np.vstack([X[:3], [[1e4, -1e4]]])
    _assert_lloyds(X, 4, algorithm, init=init)


@pytest.mark.parametrize("algorithm", PRUNED)
def test_fewer_centres_than_features_like_lloyd(algorithm):
    # there Lloyd multiplies X's rows as they are and folds the shift into a
    # constant per centre (lloyd.can_fold_shift); the bounds recompute rows from
    # [x - shift, 1], whose rounding differs: the margin must cover both
    X = 1e3 + make_blobs(6000, 48, 12, seed=16, spread=4.0)[0]
    _assert_lloyds(X, 12, algorithm)


@pytest.mark.parametrize("probe", [True, False], ids=["probe", "no-probe"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("n_features", "n_clusters"), [(3, 12), (16, 40)])
@pytest.mark.parametrize("algorithm", PRUNED)
def test_bounds_that_prune_nothing_give_way_to_lloyd(
    algorithm, n_features, n_clusters, weighted, probe, monkeypatch
):
    # noise: the bounds leave every row to recompute, so Lloyd's passes run, and
    # the probe keeps them; told that bounds pay, fresh bounds come back after
    # 1, 2, 4... Lloyd passes. Either way the result stays Lloyd's.
    from kmeans._core import pruned

    if not probe:
        monkeypatch.setattr(pruned, "_RESTART_SHARE", 0.0)
    calls = {"lloyd": 0, "restart": 0}
    lloyd_pass, restart = pruned.lloyd_pass, pruned._BoundedAssigner.restart

    def counted_pass(*args, **kwargs):
        calls["lloyd"] += 1
        return lloyd_pass(*args, **kwargs)

    def counted_restart(self):
        calls["restart"] += 1
        restart(self)

    monkeypatch.setattr(pruned, "lloyd_pass", counted_pass)
    monkeypatch.setattr(pruned._BoundedAssigner, "restart", counted_restart)
    rng = np.random.default_rng(21)
    X = rng.standard_normal((30_000, n_features))
    weight = rng.uniform(0.1, 3.0, len(X)) if weighted else None
    _assert_lloyds(X, n_clusters, algorithm, weight=weight, max_iter=25)
    if n_features == 3:
        return  # 3-D noise has cells: the bounds prune some rows from pass 5 or so
    if probe:  # pass 1 bounded, then mostly Lloyd's: the probe says bounds pay late
        assert calls["lloyd"] >= 18 and calls["restart"] <= 2
    else:  # passes 1-2 bounded, 3 Lloyd, 4-5 bounded, 6-7 Lloyd, 8-9, 10-13 Lloyd...
        assert calls["lloyd"] >= 3 and calls["restart"] >= 2


@pytest.mark.parametrize("algorithm", PRUNED)
@pytest.mark.parametrize(("n_features", "n_clusters"), [(5, 5), (5, 2), (8, 6)])
def test_rows_that_all_move_give_lloyds_sums(algorithm, n_features, n_clusters):
    # blocks whose recomputed rows all move reach the update in the column
    # layout's F order, Lloyd's in C order (folded shift: d > k)
    rng = np.random.default_rng(55)
    X = rng.uniform(-10, 10, (8, n_features))[rng.integers(0, 8, 3000)]
    X += 0.5 * rng.standard_normal(X.shape)
    init = X[np.random.default_rng(1).choice(len(X), n_clusters, replace=False)]
    _assert_lloyds(X, n_clusters, algorithm, init=init)


def test_fresh_bounds_come_back_where_the_probe_says_they_pay(monkeypatch):
    # blobs from random rows: the first bounded pass spares nothing (the centres
    # still move far), Lloyd's passes follow, and bounds return as they settle
    from kmeans._core import pruned

    calls = {"lloyd": 0, "restart": 0, "bounded": 0}
    lloyd_pass, restart = pruned.lloyd_pass, pruned._BoundedAssigner.restart
    assign = pruned._BoundedAssigner.assign

    def counted(name, function):
        def count(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return count

    monkeypatch.setattr(pruned, "lloyd_pass", counted("lloyd", lloyd_pass))
    monkeypatch.setattr(pruned._BoundedAssigner, "restart", counted("restart", restart))
    monkeypatch.setattr(pruned._BoundedAssigner, "assign", counted("bounded", assign))
    X = make_blobs(30_000, 16, 40, seed=3)[0]
    init = X[np.random.default_rng(3).choice(len(X), 40, replace=False)]
    fit = KMeans(40, init=init, n_init=1, algorithm="hamerly").fit(X)
    lloyd = KMeans(40, init=init, n_init=1, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(fit.labels_, lloyd.labels_)
    assert fit.n_iter_ == lloyd.n_iter_
    assert calls["lloyd"] >= 1 and calls["restart"] >= 1
    assert calls["bounded"] > fit.n_iter_ / 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predicted_share_of_spared_rows(dtype):
    from kmeans._core import pruned
    from kmeans._core.blocks import RowBlocks

    X, truth = make_blobs(8000, 5, 6, seed=4, dtype=dtype)
    centers = np.stack([X[truth == j].mean(axis=0) for j in range(6)]).astype(dtype)
    blocks = RowBlocks(len(X), 6, 5, X.itemsize, None)
    state = pruned._BoundedAssigner(X, np.zeros(5, dtype), None, centers, blocks, False)
    state.assign(centers)  # the first pass sets the rounding margin
    # still centres spare every row of well-separated blobs; centres that move
    # farther than the blobs' spacing spare none
    assert state.predicted_share(centers, np.zeros(6)) == 1.0
    assert state.predicted_share(centers, np.full(6, 1e3)) == 0.0
