"""The Lloyd core: one pass, the update with empty-cluster relocation, a run."""

import numpy as np
import pytest
from conftest import integer_ties, means_of

from kmeans import KMeans
from kmeans._core.blocks import RowBlocks
from kmeans._core.kernel import by_columns
from kmeans._core.lloyd import kmeans_single_lloyd, lloyd_pass
from kmeans._core.update import update_centers


def _blocks(X, k):
    return RowBlocks(X.shape[0], k, X.shape[1], X.itemsize, None)


def test_lloyd_pass_by_hand():
    X = np.array([[0.0], [1.0], [4.0], [5.0]])
    centers = np.array([[0.0], [5.0]])
    labels = np.full(4, -1, np.int32)
    sums, weights, inertia, n_changed = lloyd_pass(
        X, 0, None, centers, labels, _blocks(X, 2)
    )
    assert labels.tolist() == [0, 0, 1, 1]
    assert sums.ravel().tolist() == [1.0, 9.0]
    assert weights.tolist() == [2.0, 2.0]
    assert (inertia, n_changed) == (2.0, 4)
    # a second pass from the same centres changes nothing
    assert lloyd_pass(X, 0, None, centers, labels, _blocks(X, 2))[3] == 0


def test_lloyd_pass_ties_go_to_the_lowest_index():
    X = np.array([[0.0], [2.0]])
    labels = np.full(2, -1, np.int32)
    lloyd_pass(X, 0, None, np.array([[1.0], [1.0], [3.0]]), labels, _blocks(X, 3))
    assert labels.tolist() == [0, 0]


def test_relocation_moves_a_whole_weighted_row_and_skips_zero_weights():
    X = np.array([[0.0], [1.0], [9.0], [20.0]])
    weight = np.array([1.0, 1.0, 3.0, 0.0])
    centers = np.array([[0.5], [-100.0]])  # cluster 1 starts empty
    labels = np.full(4, -1, np.int32)
    blocks = _blocks(X, 2)
    sums, weights, _, _ = lloyd_pass(X, 0, weight, centers, labels, blocks)
    new = update_centers(X, 0, weight, centers, labels, sums, weights, blocks)
    # 20 is farthest but weighs nothing: 9 (weight 3) fills the empty cluster
    assert new.ravel().tolist() == [0.5, 9.0]
    assert labels.tolist() == [0, 0, 0, 0]  # labels change at the next assignment


def test_cluster_that_cannot_be_filled_keeps_its_center():
    X = np.zeros((4, 2))
    centers = np.array([[0.0, 0.0], [3.0, 3.0]])
    labels = np.full(4, -1, np.int32)
    blocks = _blocks(X, 2)
    sums, weights, _, _ = lloyd_pass(X, 0, None, centers, labels, blocks)
    new = update_centers(X, 0, None, centers, labels, sums, weights, blocks)
    np.testing.assert_array_equal(new, centers)


def test_run_reports_why_it_stopped():
    X = np.array([[0.0], [1.0], [10.0], [11.0]])
    init = np.array([[0.0], [10.0]])
    run = kmeans_single_lloyd(X, 0, None, init, max_iter=50, tol=0, pool=None)
    assert run.n_iter == 2 and "converged" in run.stop_reason
    run = kmeans_single_lloyd(X, 0, None, init, max_iter=1, tol=0, pool=None)
    assert run.n_iter == 1 and "max_iter=1" in run.stop_reason
    np.testing.assert_array_equal(run.centers, [[0.5], [10.5]])


@pytest.mark.parametrize("n_clusters", [1, 2, 7])
def test_single_cluster_and_n_equal_k(n_clusters):
    X = np.arange(14.0).reshape(7, 2)
    km = KMeans(n_clusters, random_state=0).fit(X)
    if n_clusters == 1:
        np.testing.assert_allclose(km.cluster_centers_, [X.mean(0)])
        assert km.inertia_ == pytest.approx(((X - X.mean(0)) ** 2).sum())
    if n_clusters == 7:
        assert km.inertia_ == 0.0
        assert sorted(km.labels_.tolist()) == list(range(7))


def test_cluster_emptied_by_relocation_keeps_its_center():
    # Cluster 1 gives all three of its rows to empty clusters; its weight is then
    # a rounding residue, not zero. It must keep its centre, not residue / residue.
    X = np.r_[np.linspace(-1, 1, 20), [10.6, 12.0, 10.6]][:, None]
    weight = np.r_[np.ones(20), [0.98, 0.59, 0.33]]
    init = np.array([[0.0], [4.0], [1000.0], [1001.0], [1002.0]])
    with pytest.warns(UserWarning, match="distinct clusters"):
        km = KMeans(5, init=init, max_iter=1).fit(X, sample_weight=weight)
    centers = km.cluster_centers_.ravel()
    assert centers[1] == 4.0
    assert centers.min() >= -1 and centers.max() <= 12


def test_relocation_ties_go_to_the_lowest_index():
    # rows 0, 1, 4 and 5 are all at distance 2 from the centre at 0 (and the data
    # mean is exactly 0, so the shifted distances tie exactly): the two empty
    # clusters take rows 0 and 1, the lowest indices
    X = np.array([[-2.0], [-2.0], [0.0], [0.0], [2.0], [2.0]] * 3)
    init = np.array([[0.0], [100.0], [200.0]])
    with pytest.warns(UserWarning, match="distinct clusters"):
        km = KMeans(3, init=init, max_iter=1).fit(X)
    assert km.cluster_centers_[1:].ravel().tolist() == [-2.0, -2.0]


def test_run_stops_when_the_callback_returns_true():
    X = np.array([[0.0], [1.0], [10.0], [11.0]])
    calls = []

    def callback(**info):
        calls.append(info)
        return True

    init = np.array([[0.0], [1.0]])
    run = kmeans_single_lloyd(
        X, 0, None, init, max_iter=50, tol=0, pool=None, callback=callback
    )
    assert run.n_iter == 1 and run.stop_reason == "stopped by the callback"
    assert len(calls) == 1 and calls[0]["iteration"] == 0
    assert (calls[0]["inertia"], calls[0]["n_reassigned"]) == (181.0, 4)
    assert calls[0]["center_shift"] == pytest.approx((22 / 3 - 1) ** 2)
    np.testing.assert_allclose(run.centers, [[0.0], [22 / 3]])


@pytest.mark.parametrize("layout", ["fortran", "read-only", "memmap", "strided"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_column_layout_reads_every_memory_layout_alike(tmp_path, layout, dtype):
    # narrow data with few centres take the kernel's column layout
    # (kernel.by_columns), whose block copy must read any layout of X the same
    assert by_columns(3, 6)
    rng = np.random.default_rng(4)
    base = (rng.standard_normal((3000, 3)) + 4 * rng.integers(0, 5, (3000, 1))).astype(
        dtype
    )
    init = base[:6].copy()
    if layout == "fortran":
        X = np.asfortranarray(base)
    elif layout == "read-only":
        X = base.copy()
        X.flags.writeable = False
    elif layout == "memmap":
        np.save(tmp_path / "x.npy", base)
        X = np.load(tmp_path / "x.npy", mmap_mode="r")
    else:
        wide = np.zeros((3000, 6), dtype)
        wide[:, ::2] = base
        X = wide[:, ::2]
    before = np.array(X, copy=True)
    reference = KMeans(6, init=init, algorithm="lloyd").fit(base)
    fitted = KMeans(6, init=init, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(fitted.labels_, reference.labels_)
    np.testing.assert_array_equal(fitted.cluster_centers_, reference.cluster_centers_)
    assert fitted.n_iter_ == reference.n_iter_
    np.testing.assert_array_equal(fitted.predict(X), reference.predict(base))
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly", "elkan"])
@pytest.mark.parametrize(("n_features", "n_clusters"), [(40, 20), (3, 6), (16, 40)])
def test_exact_ties_of_integer_data_go_to_the_lowest_index(
    algorithm, n_features, n_clusters
):
    # integer rows and initial centres: many rows are exactly as far from two
    # centres. Centred on the plain (non-dyadic) mean the expanded distances are
    # rounded and such ties go either way; the shift's grid keeps them exact.
    X, init, sq = integer_ties(4000, n_features, n_clusters, seed=7)
    fitted = KMeans(n_clusters, init=init, max_iter=1, algorithm=algorithm).fit(X)
    expected = means_of(X, sq.argmin(axis=1), init)
    np.testing.assert_allclose(fitted.cluster_centers_, expected, rtol=1e-13, atol=1e-13)


def test_exact_shift_is_the_mean_on_a_coarse_grid():
    from kmeans._core.blocks import exact_shift

    mean = np.array([0.3, -2.71, 1e6 + 0.123, 5.0])
    shift = exact_shift(mean, 4.0)  # spread 2: a grid of 2**-3
    np.testing.assert_array_equal(shift, [0.25, -2.75, 1e6 + 0.125, 5.0])
    assert np.all(np.abs(shift - mean) <= 2 / 32)
    assert exact_shift(mean.astype(np.float32), 4.0).dtype == np.float32
    for variance in (None, 0.0, np.inf, np.nan):
        assert exact_shift(mean, variance) is mean


def test_no_shift_when_the_mean_is_within_the_spread_of_the_origin():
    from kmeans._core.blocks import exact_shift

    mean = np.array([3.0, -4.0])  # ||mean||^2 = 25
    for variance, expected in ((12.5, [0.0, 0.0]), (12.4, [3.0, -4.0])):
        shift = exact_shift(mean.astype(np.float32), variance)
        np.testing.assert_array_equal(shift, expected)
        assert shift.dtype == np.float32


@pytest.mark.parametrize(("n_features", "n_clusters"), [(40, 20), (3, 6)])
def test_predict_breaks_exact_ties_of_integer_data_to_the_lowest_index(
    n_features, n_clusters
):
    X, centers, sq = integer_ties(3000, n_features, n_clusters, seed=8)
    model = KMeans(n_clusters, init=centers, max_iter=1).fit(X)
    model.cluster_centers_ = centers
    np.testing.assert_array_equal(model.predict(X), sq.argmin(axis=1))
    assert model.score(X) == -sq.min(axis=1).sum()
