"""MiniBatchKMeans: hand-checked steps, agreement with scikit-learn, streaming,
weights, memory maps, early stopping, reassignment, threads and properties."""

import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import integer_ties, make_blobs, means_of
from hypothesis import given, settings
from hypothesis import strategies as st

import kmeans
from kmeans import InvalidParameterError, KMeans, MiniBatchKMeans
from kmeans._core.blocks import thread_pool
from kmeans._core.kernel import Float32Screen
from kmeans._core.minibatch import DENSE_BATCH, RowSampler, State

SETTINGS = settings(
    max_examples=int(os.environ.get("KMEANS_HYPOTHESIS_EXAMPLES", 40)), deadline=None
)


def _sorted(centers):
    return centers[np.lexsort(centers.T[::-1])]


# -- exact, by hand -------------------------------------------------------------


def test_one_partial_fit_step_by_hand():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0], [10.0, 2.0]])
    init = np.array([[0.0, 0.0], [10.0, 0.0]])
    km = MiniBatchKMeans(2, init=init).partial_fit(X, sample_weight=[1, 3, 1, 1])
    # centre 0: (0 * 0 + 1 * [0, 0] + 3 * [2, 0]) / (0 + 4); centre 1: the mean of two
    np.testing.assert_array_equal(km.cluster_centers_, [[1.5, 0.0], [10.0, 1.0]])
    np.testing.assert_array_equal(km._counts, [4.0, 2.0])
    np.testing.assert_array_equal(km.labels_, [0, 0, 1, 1])
    assert km.inertia_ == 1 * 1.5**2 + 3 * 0.5**2 + 1 + 1
    assert km.n_steps_ == 1 and not hasattr(km, "n_iter_")
    # a second batch moves centre 0 by 1 / (4 + 1) of the way to the new row
    km.partial_fit([[4.0, 0.0]])
    np.testing.assert_array_equal(km.cluster_centers_, [[2.0, 0.0], [10.0, 1.0]])
    assert km.n_steps_ == 2 and km.inertia_ == 4.0


def test_partial_fit_weights_equal_repeated_rows_exactly():
    rng = np.random.default_rng(3)
    init = np.array([[0.0, 0.0], [12.0, 0.0], [0.0, 12.0]])  # integer mean: exact shift
    weighted = MiniBatchKMeans(3, init=init, reassignment_ratio=0)
    repeated = MiniBatchKMeans(3, init=init, reassignment_ratio=0)
    for _ in range(5):
        X = rng.integers(-3, 13, size=(40, 2)).astype(np.float64)
        w = rng.integers(0, 4, size=40)
        weighted.partial_fit(X, sample_weight=w)
        repeated.partial_fit(np.repeat(X, w, axis=0))
        np.testing.assert_array_equal(weighted.cluster_centers_, repeated.cluster_centers_)
        np.testing.assert_array_equal(weighted._counts, repeated._counts)
        assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-12)


def test_scalar_weight_scales_counts_not_centres():
    X, _ = make_blobs(300, 2, 3)
    init = X[:3].copy()
    a = MiniBatchKMeans(3, init=init).partial_fit(X)
    b = MiniBatchKMeans(3, init=init).partial_fit(X, sample_weight=4.0)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-13)
    np.testing.assert_allclose(4 * a._counts, b._counts)
    assert b.inertia_ == pytest.approx(4 * a.inertia_)


# -- agreement with scikit-learn --------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
def test_partial_fit_agrees_with_scikit_learn(dtype, weighted):
    sk = pytest.importorskip("sklearn.cluster")
    X, _ = make_blobs(6000, 4, 5, seed=2, dtype=dtype)
    X += 100  # away from the origin: our shifted frame changes nothing but rounding
    rng = np.random.default_rng(0)
    w = rng.uniform(0.5, 2, size=len(X)).astype(dtype) if weighted else None
    init = X[rng.choice(len(X), 5, replace=False)].copy()
    ours = MiniBatchKMeans(5, init=init, reassignment_ratio=0)
    theirs = sk.MiniBatchKMeans(5, init=init, n_init=1, reassignment_ratio=0)
    for lo in range(0, len(X), 500):
        chunk = slice(lo, lo + 500)
        kw = {} if w is None else {"sample_weight": w[chunk]}
        ours.partial_fit(X[chunk], **kw)
        theirs.partial_fit(X[chunk], **kw)
        if dtype == np.float64:
            np.testing.assert_array_equal(ours.labels_, theirs.labels_)
        else:  # rows at a float32 rounding tie may go either way
            assert np.mean(ours.labels_ != theirs.labels_) <= 0.01
    # scikit-learn sums float32 data in float32, we in float64
    tol = 1e-12 if dtype == np.float64 else 2e-5
    scale = np.abs(theirs.cluster_centers_).max()
    np.testing.assert_allclose(
        ours.cluster_centers_, theirs.cluster_centers_, atol=tol * scale
    )
    assert ours.cluster_centers_.dtype == dtype
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-5)
    assert ours.n_steps_ == theirs.n_steps_ == 12


def test_fit_quality_close_to_scikit_learn_and_full_kmeans():
    sk = pytest.importorskip("sklearn.cluster")
    X, _ = make_blobs(30000, 8, 10, seed=4)
    ours = MiniBatchKMeans(10, random_state=0, n_init=3).fit(X)
    theirs = sk.MiniBatchKMeans(10, random_state=0, n_init=3).fit(X)
    full = KMeans(10, random_state=0, n_init=3).fit(X)
    assert ours.inertia_ <= 1.05 * full.inertia_
    assert ours.inertia_ <= 1.05 * theirs.inertia_


# -- fit --------------------------------------------------------------------------


def test_fit_finds_the_blobs(dtype):
    X, _ = make_blobs(5000, 3, 4, seed=1, spread=0.3, dtype=dtype)
    km = MiniBatchKMeans(4, batch_size=256, random_state=0).fit(X)
    assert km.cluster_centers_.dtype == dtype and km.labels_.dtype == np.int32
    full = KMeans(4, random_state=0).fit(X)
    np.testing.assert_allclose(
        _sorted(km.cluster_centers_), _sorted(full.cluster_centers_), atol=0.05
    )
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    assert km.score(X) == pytest.approx(-km.inertia_, rel=1e-6)
    assert km.transform(X).dtype == dtype
    assert km.get_feature_names_out().tolist() == [f"minibatchkmeans{i}" for i in range(4)]


def test_same_seed_same_result_and_fit_predict():
    X, _ = make_blobs(3000, 2, 5)
    a = MiniBatchKMeans(5, random_state=7, batch_size=100).fit(X)
    b = MiniBatchKMeans(5, random_state=7, batch_size=100)
    np.testing.assert_array_equal(b.fit_predict(X), a.labels_)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.n_steps_ == b.n_steps_
    distances = MiniBatchKMeans(5, random_state=7, batch_size=100).fit_transform(X)
    np.testing.assert_allclose(distances, a.transform(X))


@pytest.mark.parametrize(
    ("n_clusters", "integers"),
    [(40, False), (128, False), (128, True)],
    ids=["blocks on the pool", "float32 screen", "screen turned off by ties"],
)
def test_results_do_not_depend_on_the_thread_count(n_clusters, integers, monkeypatch):
    # k * d large enough that a batch spreads over several blocks and threads, or
    # that the float32 products are screened on BLAS's threads
    X, _ = make_blobs(4000, 64, n_clusters, seed=5)
    if integers:
        X = np.round(X / 4)
    weight = np.random.default_rng(3).uniform(0.5, 2.0, len(X))
    results = []
    for n_threads in ("1", "2", "3"):
        monkeypatch.setenv("KMEANS_NUM_THREADS", n_threads)
        km = MiniBatchKMeans(
            n_clusters, batch_size=2048, max_iter=3, random_state=0,
            max_no_improvement=None,
        ).fit(X)  # fmt: skip
        stream = MiniBatchKMeans(n_clusters, random_state=0)
        for rows in np.array_split(np.arange(len(X)), 3):
            stream.partial_fit(X[rows], sample_weight=weight[rows])
        results.append(
            (km.cluster_centers_, km.labels_, km.inertia_, stream.cluster_centers_)
        )
    for centers, labels, inertia, streamed in results[1:]:
        np.testing.assert_array_equal(centers, results[0][0])
        np.testing.assert_array_equal(labels, results[0][1])
        assert inertia == results[0][2]
        np.testing.assert_array_equal(streamed, results[0][3])


def test_screen_is_checked_again_while_it_is_off():
    state = State(np.zeros((2, 2)), np.zeros(2), 0)
    asked = []
    for _ in range(10):
        asked.append(state._screening_now())
        state.n_steps += 1
    # None: screen on one BLAS thread and decide, at steps 1, 2, 4 and 8
    assert asked == [None, None, False, None, False, False, False, None, False, False]
    state.screening = True
    assert state._screening_now() is True


def test_screen_comes_back_when_ties_fade_and_partial_fit_keeps_it():
    # binary rows: ties abound while the centres sit on rows, not once they move
    X = (np.random.default_rng(0).random((6000, 64)) < 0.3).astype(float)
    km = MiniBatchKMeans(
        128, batch_size=1024, max_iter=2, random_state=0, max_no_improvement=None
    ).fit(X)
    assert km._screening is True
    km.partial_fit(X[:500])
    assert km._screening is True
    stream = MiniBatchKMeans(128, random_state=0).partial_fit(X[:1024])
    assert stream._screening is False  # the first batch, on the initial centres
    assert stream.partial_fit(X[1024:2048])._screening is not None


def test_concurrent_fits_keep_their_results_and_blas_limits():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["user_api"] == "blas"]  # fmt: skip

    before = blas_threads()
    X, _ = make_blobs(6000, 64, 130, seed=4)
    fits = [
        lambda: MiniBatchKMeans(130, random_state=0, max_iter=2).fit(X).cluster_centers_,
        lambda: KMeans(130, random_state=0, n_init=1, max_iter=5).fit(X).cluster_centers_,
    ]
    alone = [fit() for fit in fits]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda fit: fit(), fits * 3))
    for i, centers in enumerate(together):
        np.testing.assert_array_equal(centers, alone[i % 2])
    assert blas_threads() == before


@pytest.mark.parametrize("integers", [False, True], ids=["floats", "small integers"])
def test_float32_screen_changes_no_label(integers, monkeypatch):
    X, _ = make_blobs(3000, 64, 130, seed=2)
    if integers:  # ties everywhere: the screen is turned off after one step
        X = np.round(X / 4)
    kwargs = {"batch_size": 1024, "max_iter": 2, "random_state": 0}
    kwargs["max_no_improvement"] = None
    screened = MiniBatchKMeans(130, **kwargs).fit(X)
    # as at the first step: centres on rows, at integer distances from the others
    shift = X.mean(axis=0)
    state = State(X[:130] - shift, np.zeros(130), 0)
    with thread_pool() as pool:
        state.step(X[130:1154], None, shift, None, DENSE_BATCH, None, 0.0, pool)
    assert state.screening is not integers
    monkeypatch.setattr(Float32Screen, "MIN_CLUSTERS", 10**9)
    plain = MiniBatchKMeans(130, **kwargs).fit(X)
    np.testing.assert_array_equal(screened.labels_, plain.labels_)
    # the same labels at every step; only the sums' blocks differ
    np.testing.assert_allclose(
        screened.cluster_centers_, plain.cluster_centers_, rtol=1e-12
    )
    assert screened.inertia_ == pytest.approx(plain.inertia_, rel=1e-12)


def test_n_steps_and_n_iter_without_early_stopping():
    X, _ = make_blobs(1000, 2, 3)
    km = MiniBatchKMeans(
        3, batch_size=300, max_iter=4, max_no_improvement=None, random_state=0
    ).fit(X)
    assert km.n_steps_ == 4 * 1000 // 300 == 13
    assert km.n_iter_ == math.ceil(13 * 300 / 1000) == 4
    small = MiniBatchKMeans(3, batch_size=5000, max_iter=2, random_state=0).fit(X)
    assert small.n_steps_ <= 2 and small._batch_size == 1000  # capped at n_samples


def test_early_stopping_on_the_smoothed_inertia_and_on_tol():
    X, _ = make_blobs(20000, 2, 3, spread=0.2)
    common = {"batch_size": 100, "max_iter": 5, "random_state": 0}
    full = MiniBatchKMeans(3, max_no_improvement=None, **common).fit(X)
    assert full.n_steps_ == 1000
    early = MiniBatchKMeans(3, max_no_improvement=3, **common).fit(X)
    assert 4 <= early.n_steps_ < 1000  # 1 ignored step, at least 3 without progress
    # a huge tol stops at the second step (the first is never judged)
    loose = MiniBatchKMeans(3, tol=1e6, max_no_improvement=None, **common).fit(X)
    assert loose.n_steps_ == 2


def test_reassignment_moves_a_centre_that_sees_no_rows():
    X, _ = make_blobs(2000, 2, 3, seed=1)
    init = np.array([X[0], X[1], [1e3, 1e3]])  # the last centre is far from every row
    kept = MiniBatchKMeans(3, init=init, reassignment_ratio=0, batch_size=100, max_iter=2)
    kept.fit(X)
    np.testing.assert_array_equal(kept.cluster_centers_[2], [1e3, 1e3])
    assert 2 not in kept.labels_
    moved = MiniBatchKMeans(3, init=init, batch_size=100, max_iter=2, random_state=0)
    moved.fit(X)
    assert np.abs(moved.cluster_centers_).max() < 50
    assert len(np.unique(moved.labels_)) == 3


def test_a_centre_whose_cluster_missed_the_first_batches_stays():
    # two tight clusters, each with its centre; the first 10 * k - 1 rows all come
    # from the first: the second centre has seen nothing, but it is not moved
    a = np.repeat([[0.0, 0.0]], 19, axis=0)
    b = np.repeat([[10.0, 0.0]], 5, axis=0)
    km = MiniBatchKMeans(2, init=np.array([[0.0, 0.0], [10.0, 0.0]]), random_state=0)
    km.partial_fit(a)
    np.testing.assert_array_equal(km.cluster_centers_, [[0, 0], [10, 0]])
    km.partial_fit(b)
    np.testing.assert_array_equal(km.cluster_centers_, [[0, 0], [10, 0]])


def test_reassigned_centres_go_where_a_centre_is_missing():
    # three clusters, four centres: two share the first cluster, one is dead; once
    # the clock strikes, the dead centre goes to the third cluster (the only rows
    # far from every other centre), whatever the seed
    X = np.concatenate([np.zeros((20, 2)), np.full((20, 2), 10.0), [[0, 10.0]] * 2])
    init = np.array([[0.0, 0.0], [0.0, 0.1], [10.0, 10.0], [1e3, 1e3]])
    for seed in range(5):
        km = MiniBatchKMeans(4, init=init, random_state=seed, reassignment_ratio=0.5)
        km.partial_fit(X)
        centres = {tuple(c) for c in km.cluster_centers_.round(6)}
        assert (0.0, 10.0) in centres and (1e3, 1e3) not in centres


def test_reassignment_keeps_a_small_real_cluster():
    # a blob of 300 rows beside three of 20000: its centre's count stays near the
    # reassignment threshold (1% of the largest); when it moves, the rows it
    # leaves must count as far from the centres that stay, so that it comes back.
    # (Measured: 9 or 10 seeds of 10 keep the blob; scikit-learn's uniform draws
    # and odds that counted the moving centre as present, 6.)
    big = np.array([[0, 0], [20, 0], [0, 20]], float)
    small = np.array([60.0, 60.0])
    kept = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        blobs = [c + rng.normal(size=(20000, 2)) for c in big]
        X = np.vstack([*blobs, small + rng.normal(size=(300, 2))])
        km = MiniBatchKMeans(4, random_state=seed, max_iter=3, max_no_improvement=None)
        km.fit(X)
        kept += np.sqrt(((km.cluster_centers_ - small) ** 2).sum(1)).min() < 5
    assert kept >= 8


def test_far_rows_draws_by_squared_distance():
    from kmeans._core.minibatch import _far_rows

    # two rows on a centre, three at squared distance 25: only those are drawn,
    # each as often
    min_sq = np.array([0, 0, 25, 25, 25.0])
    drawn = np.concatenate(
        [_far_rows(min_sq, None, 2, np.random.default_rng(seed)) for seed in range(300)]
    )
    counts = np.bincount(drawn, minlength=5)
    assert counts[:2].sum() == 0
    np.testing.assert_allclose(counts[2:] / 600, 1 / 3, atol=0.06)
    # zero-weight rows are never drawn; with fewer rows off the centres, uniform
    weights = np.array([1, 1, 0, 0, 1.0])
    assert _far_rows(min_sq, weights, 1, np.random.default_rng(0)).tolist() == [4]
    assert _far_rows(min_sq[:2], None, 2, np.random.default_rng(0)).tolist() == [0, 1]
    # too few rows off the centres: all of them, then rows of positive weight
    min_sq = np.array([0, 0, 5, 7, 0, 0.0])
    weights = np.array([1, 1, 0, 1, 1, 0.0])
    for seed in range(20):
        rows = _far_rows(min_sq, weights, 2, np.random.default_rng(seed)).tolist()
        assert 3 in rows and len(set(rows) & {0, 1, 4}) == 1


def test_compute_labels_false():
    X, _ = make_blobs(2000, 2, 3)
    km = MiniBatchKMeans(3, compute_labels=False, random_state=0).fit(X)
    assert not hasattr(km, "labels_")
    exact = -km.score(X)
    assert 0.5 * exact < km.inertia_ < 2 * exact  # the smoothed batch estimate
    km.set_params(compute_labels=True).fit(X)
    assert km.inertia_ == pytest.approx(-km.score(X))


def test_weighted_fit_draws_batches_in_proportion_to_weight():
    X, _ = make_blobs(3000, 2, 3, seed=2, spread=0.5)
    far = np.full((50, 2), 500.0)  # weight 0: never drawn, never a centre
    weights = np.r_[np.ones(len(X)), np.zeros(len(far))]
    km = MiniBatchKMeans(3, random_state=0).fit(np.r_[X, far], sample_weight=weights)
    assert np.abs(km.cluster_centers_).max() < 20
    # integer weights act as repeated rows, in expectation
    w = np.random.default_rng(0).integers(1, 4, size=len(X))
    weighted = MiniBatchKMeans(3, random_state=0).fit(X, sample_weight=w)
    repeated = MiniBatchKMeans(3, random_state=1).fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(
        _sorted(weighted.cluster_centers_), _sorted(repeated.cluster_centers_), atol=0.1
    )
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=0.01)
    assert weighted.inertia_ == pytest.approx(-weighted.score(X, sample_weight=w))


def test_row_sampler_follows_the_weights():
    rng = np.random.default_rng(0)
    weights = np.array([0.0, 1.0, 3.0, 0.0, 4.0, 0.0])
    drawn = RowSampler(6, weights)(rng, 80_000)
    assert (np.diff(drawn) >= 0).all()  # sorted, for memory-map locality
    np.testing.assert_allclose(
        np.bincount(drawn, minlength=6) / 80_000, weights / 8, atol=0.01
    )
    assert set(np.unique(drawn)) == {1, 2, 4}


# -- streaming and memory maps ----------------------------------------------------


def test_streaming_partial_fit_over_chunks(dtype):
    X, _ = make_blobs(8000, 3, 4, seed=3, spread=0.3, dtype=dtype)
    km = MiniBatchKMeans(4, random_state=0)
    for chunk in np.array_split(X, 40):
        km.partial_fit(chunk)
    assert km.n_steps_ == 40 and km.cluster_centers_.dtype == dtype
    full = KMeans(4, random_state=0).fit(X)
    assert -km.score(X) <= 1.01 * full.inertia_
    assert km.labels_.shape == (200,)  # of the last batch


def test_partial_fit_after_fit_continues():
    X, _ = make_blobs(2000, 2, 3)
    km = MiniBatchKMeans(3, random_state=0).fit(X)
    steps, counts = km.n_steps_, km._counts.sum()
    km.partial_fit(X[:100])
    assert km.n_steps_ == steps + 1 and km._counts.sum() == counts + 100
    with pytest.raises(ValueError, match="X has 3 features, but MiniBatchKMeans"):
        km.partial_fit(np.ones((5, 3)))


def test_fit_on_a_memory_map_equals_fit_in_memory(tmp_path, dtype):
    X, _ = make_blobs(5000, 4, 5, dtype=dtype)
    path = tmp_path / "X.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    params = {"batch_size": 200, "random_state": 0}
    on_disk = MiniBatchKMeans(5, **params).fit(mapped)
    in_memory = MiniBatchKMeans(5, **params).fit(X)
    np.testing.assert_array_equal(on_disk.cluster_centers_, in_memory.cluster_centers_)
    np.testing.assert_array_equal(on_disk.labels_, in_memory.labels_)
    assert on_disk.inertia_ == in_memory.inertia_
    assert isinstance(mapped, np.memmap) and not mapped.flags.writeable


def test_user_arrays_are_not_modified():
    X, _ = make_blobs(500, 2, 3)
    w = np.linspace(1, 2, 500)
    init = X[:3].copy()
    copies = X.copy(), w.copy(), init.copy()
    km = MiniBatchKMeans(3, init=init, batch_size=50).fit(X, sample_weight=w)
    km.partial_fit(X, sample_weight=w)
    for original, copy in zip((X, w, init), copies):
        np.testing.assert_array_equal(original, copy)
    assert km.init is init


def test_sparse_input_agrees_with_dense(dtype):
    sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 6)).astype(dtype)
    X[rng.random(X.shape) < 0.6] = 0
    init = X[:4].copy()
    params = {"init": init, "batch_size": 100, "random_state": 0, "max_iter": 3}
    dense = MiniBatchKMeans(4, **params).fit(X)
    csr = MiniBatchKMeans(4, **params).fit(sparse.csr_matrix(X))
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(csr.cluster_centers_, dense.cluster_centers_, rtol=rtol)
    assert csr.inertia_ == pytest.approx(dense.inertia_, rel=rtol)
    streamed = MiniBatchKMeans(4, init=init)
    streamed_dense = MiniBatchKMeans(4, init=init)
    for lo in range(0, 1000, 250):
        streamed.partial_fit(sparse.csr_matrix(X[lo : lo + 250]))
        streamed_dense.partial_fit(X[lo : lo + 250])
    np.testing.assert_allclose(
        streamed.cluster_centers_, streamed_dense.cluster_centers_, rtol=rtol, atol=rtol
    )


def test_save_and_load(tmp_path):
    X, _ = make_blobs(500, 2, 3)
    km = MiniBatchKMeans(3, random_state=0, batch_size=64).fit(X)
    km.save(tmp_path / "m.npz")
    loaded = kmeans.load(tmp_path / "m.npz")
    assert type(loaded) is MiniBatchKMeans and loaded.get_params() == km.get_params()
    np.testing.assert_array_equal(loaded.predict(X), km.labels_)
    assert (loaded.n_steps_, loaded.n_iter_) == (km.n_steps_, km.n_iter_)
    # a loaded model goes on learning where the saved one stopped
    km.partial_fit(X[:50])
    loaded.partial_fit(X[:50])
    np.testing.assert_allclose(loaded.cluster_centers_, km.cluster_centers_, rtol=1e-14)
    unlabelled = MiniBatchKMeans(3, compute_labels=False, random_state=0).fit(X)
    unlabelled.save(tmp_path / "u.npz")
    assert not hasattr(kmeans.load(tmp_path / "u.npz"), "labels_")


def test_repr_and_html():
    km = MiniBatchKMeans(4, batch_size=256)
    assert repr(km) == "MiniBatchKMeans(batch_size=256, n_clusters=4)"
    X, _ = make_blobs(300, 2, 4)
    html = km.fit(X)._repr_html_()
    assert "steps" in html and "iterations" in html and "MiniBatchKMeans" in html


# -- bad input --------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, message",
    [
        ({"batch_size": 0}, "'batch_size' parameter of MiniBatchKMeans must be an int"),
        ({"init_size": 0}, "'init_size' parameter"),
        ({"max_no_improvement": -1}, "'max_no_improvement' parameter"),
        ({"reassignment_ratio": -0.1}, "'reassignment_ratio' parameter"),
        ({"compute_labels": "yes"}, "'compute_labels' parameter .* must be a bool"),
        ({"n_clusters": 0}, "'n_clusters' parameter of MiniBatchKMeans"),
        ({"init": "kmeans++"}, "'init' parameter"),
        ({"init": "k-means||"}, "'k-means\\|\\|' is KMeans's initialisation for dask"),
    ],
)
def test_bad_parameters(params, message):
    X = np.zeros((20, 2))
    with pytest.raises(InvalidParameterError, match=message):
        MiniBatchKMeans(**params).fit(X)
    with pytest.raises(InvalidParameterError, match=message):
        MiniBatchKMeans(**params).partial_fit(X)


def test_bad_data_and_warnings():
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_clusters=4"):
        MiniBatchKMeans(4).partial_fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        MiniBatchKMeans(2).fit([[0.0, np.nan], [1.0, 1.0]])
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(2,\), expected \(3,\)"):
        MiniBatchKMeans(2).fit(np.eye(3), sample_weight=[1, 2])
    with pytest.raises(kmeans.NotFittedError, match="MiniBatchKMeans instance is not"):
        MiniBatchKMeans().predict([[0.0]])
    with pytest.raises(ValueError, match="number of clusters 3"):
        MiniBatchKMeans(3, init=np.zeros((2, 2))).fit(np.eye(4)[:, :2])
    X, _ = make_blobs(200, 2, 3)
    with pytest.warns(RuntimeWarning, match="init_size=2 should be larger than"):
        km = MiniBatchKMeans(3, init_size=2, random_state=0).fit(X)
    assert km._init_size == 9
    with pytest.warns(RuntimeWarning, match="performing only one init in MiniBatchKMeans"):
        MiniBatchKMeans(3, init=X[:3], n_init=2).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert MiniBatchKMeans(3, init="random", random_state=0).fit(X)._n_init == 3


# -- properties -------------------------------------------------------------------


@st.composite
def streams(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    n_clusters = draw(st.integers(1, 4))
    n_features = draw(st.integers(1, 3))
    n_chunks = draw(st.integers(1, 4))
    rng = np.random.default_rng(seed)
    chunks = [
        rng.normal(0, 5, size=(int(rng.integers(n_clusters, 30)), n_features))
        for _ in range(n_chunks)
    ]
    weights = [rng.integers(0, 3, size=len(c)).astype(float) for c in chunks]
    for w in weights:
        w[0] = 1  # never all zero
    weights[0] += 1  # the first chunk initialises: at least n_clusters rows of weight
    return chunks, weights, n_clusters, seed


@SETTINGS
@given(streams())
def test_centres_stay_in_the_hull_of_init_and_data(stream):
    chunks, weights, n_clusters, seed = stream
    km = MiniBatchKMeans(n_clusters, random_state=seed)
    for chunk, w in zip(chunks, weights):
        km.partial_fit(chunk, sample_weight=w)
    data = np.concatenate(chunks)
    # each centre is a weighted mean of rows (or a row itself)
    assert (km.cluster_centers_ >= data.min(axis=0) - 1e-9).all()
    assert (km.cluster_centers_ <= data.max(axis=0) + 1e-9).all()
    assert km.n_steps_ == len(chunks)


@SETTINGS
@given(streams())
def test_labels_are_the_predictions_of_the_final_centres(stream):
    chunks, weights, n_clusters, seed = stream
    X = np.concatenate(chunks)
    w = np.concatenate(weights)
    if len(X) < n_clusters:
        return
    km = MiniBatchKMeans(n_clusters, batch_size=8, max_iter=3, random_state=seed)
    km.fit(X, sample_weight=w)
    np.testing.assert_array_equal(km.labels_, km.predict(X))
    assert km.inertia_ == pytest.approx(-km.score(X, sample_weight=w), rel=1e-12)


def test_verbose_reports_steps_and_why_it_stopped(capsys):
    X, _ = make_blobs(2000, 2, 3)
    MiniBatchKMeans(3, n_init=2, init="random", verbose=1, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert "Init 2/2 with method random" in out and "Inertia for init 1/2" in out
    assert "Minibatch step 2/" in out and "ewa inertia" in out
    assert "Converged (lack of improvement in inertia)" in out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unit_weights_give_the_result_of_no_weights(dtype):
    # as scikit-learn's own test expects: equal weights draw the same minibatches
    X, _ = make_blobs(2000, 4, 5)
    X = X.astype(dtype)
    plain = MiniBatchKMeans(5, random_state=0, batch_size=100).fit(X)
    for weights in (np.ones(len(X)), np.full(len(X), 3.0)):
        weighted = MiniBatchKMeans(5, random_state=0, batch_size=100).fit(
            X, sample_weight=weights
        )
        np.testing.assert_array_equal(weighted.labels_, plain.labels_)
        np.testing.assert_allclose(
            weighted.cluster_centers_,
            plain.cluster_centers_,
            rtol=1e-6 if dtype == np.float32 else 1e-12,
        )


@pytest.mark.parametrize(("n_features", "n_clusters"), [(40, 20), (3, 6)])
def test_exact_ties_of_integer_data_go_to_the_lowest_index(n_features, n_clusters):
    # integer rows and centres: many rows tie exactly between two centres. The
    # steps' frame (the centres' mean) is rounded to a grid that keeps the
    # expanded distances exact, so the ties go to the lowest index, as argmin's.
    X, init, sq = integer_ties(3000, n_features, n_clusters, seed=9)
    # one step over the whole of X from counts of zero: each centre becomes the
    # mean of its rows
    model = kmeans.MiniBatchKMeans(n_clusters, init=init, reassignment_ratio=0)
    model.partial_fit(X)
    expected = means_of(X, sq.argmin(axis=1), init)
    np.testing.assert_allclose(model.cluster_centers_, expected, rtol=1e-13, atol=1e-13)


def _first_rows(X, k, random_state):
    return X[:k].toarray() if hasattr(X, "toarray") else X[:k]


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize(
    ("init", "error", "message"),
    [
        (lambda X, k, random_state: None, ValueError, "Expected 2D array, got 0D"),
        (lambda X, k, random_state: "abc", ValueError, "contains non-numeric data"),
        (lambda X, k, random_state: np.full((k, 2), np.inf), ValueError, "infinity"),
        (_first_rows, None, None),
    ],
)
@pytest.mark.parametrize("how", ["fit", "partial_fit"])
def test_callable_init_on_data_of_extreme_magnitude(layout, init, error, message, how):
    # X is read scaled by a power of two: the callable still sees X as given, and
    # what it returns is checked as KMeans checks it (was np.ldexp's TypeError)
    from scipy import sparse

    X, _ = make_blobs(60, 2, 3)
    X = X * 1e300
    data = sparse.csr_array(X) if layout == "csr" else X
    model = MiniBatchKMeans(3, init=init, n_init=1, random_state=0)
    if error is None:
        getattr(model, how)(data)
        assert np.isfinite(model.cluster_centers_).all()
        assert np.abs(model.cluster_centers_).max() > 1e299
        return
    with pytest.raises(error, match=message) as info:
        getattr(model, how)(data)
    assert "the centers returned by init" in str(info.value)


def test_a_huge_reassignment_ratio_reassigns_without_overflow_warnings():
    X, _ = make_blobs(200, 2, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = MiniBatchKMeans(4, reassignment_ratio=1e308, batch_size=20, random_state=0)
        model.fit(X)
    assert np.isfinite(model.cluster_centers_).all()
