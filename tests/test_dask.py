"""KMeans on dask arrays and k-means||: agreement with the in-memory path, on the
synchronous scheduler and on a two-process LocalCluster. Skipped without dask."""

import faulthandler
import subprocess
import sys
import warnings

import numpy as np
import pytest
from conftest import TINY_AND_HUGE, assert_scale_free, directions, make_blobs

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

from dask.callbacks import Callback  # noqa: E402

from kmeans import KMeans, kmeans_parallel  # noqa: E402
from kmeans._backends import dask as kd  # noqa: E402

CHUNKINGS = {
    "uneven": ((700, 1300, 0, 2500, 1500), 6),
    "single-block": (6000, 6),
    "column-split": (1500, 4),
}


@pytest.fixture
def sync():
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.fixture(scope="module")
def client():
    """Two worker processes, started once for the module; a hang dumps the
    stacks and ends the run instead of blocking it."""
    distributed = pytest.importorskip("distributed")
    faulthandler.dump_traceback_later(300, exit=True)
    try:
        with (
            distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                memory_limit="1GiB",
            ) as cluster,
            distributed.Client(cluster, timeout=60) as client,
        ):
            yield client
    finally:
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def blobs():
    X, _ = make_blobs(6000, 6, 5, seed=3)
    return X


def _both(X, chunks, **params):
    """The same KMeans fitted in memory and on a dask copy of X."""
    numpy_fit = KMeans(**params).fit(X)
    dask_fit = KMeans(**params).fit(da.from_array(X, chunks=chunks))
    return numpy_fit, dask_fit


def _assert_same(numpy_fit, dask_fit, rtol=1e-10):
    np.testing.assert_allclose(
        dask_fit.cluster_centers_, numpy_fit.cluster_centers_, rtol=rtol, atol=rtol
    )
    assert dask_fit.cluster_centers_.dtype == numpy_fit.cluster_centers_.dtype
    assert dask_fit.n_iter_ == numpy_fit.n_iter_
    np.testing.assert_array_equal(dask_fit.labels_.compute(), numpy_fit.labels_)
    assert dask_fit.inertia_ == pytest.approx(numpy_fit.inertia_, rel=rtol)


@pytest.mark.parametrize("chunks", CHUNKINGS.values(), ids=CHUNKINGS.keys())
@pytest.mark.parametrize("tol", [0.0, 1e-4])
def test_same_init_same_result_as_numpy(sync, blobs, chunks, tol):
    init = blobs[:5] + 0.5
    numpy_fit, dask_fit = _both(blobs, chunks, n_clusters=5, init=init, tol=tol)
    _assert_same(numpy_fit, dask_fit)
    X = da.from_array(blobs, chunks=chunks)
    np.testing.assert_array_equal(dask_fit.predict(X).compute(), numpy_fit.labels_)


def test_float32_agrees_and_stays_float32(sync, blobs):
    X = blobs.astype(np.float32)
    numpy_fit, dask_fit = _both(X, 1000, n_clusters=5, init=X[:5], tol=0)
    _assert_same(numpy_fit, dask_fit, rtol=1e-5)
    assert dask_fit.transform(da.from_array(X[:10])).dtype == np.float32


def test_random_init_draws_the_rows_numpy_draws(sync, blobs):
    # "random" picks the same rows from the same random_state
    _assert_same(*_both(blobs, 1000, n_clusters=5, init="random", n_init=3, random_state=7))


@pytest.mark.parametrize("dask_weights", [True, False], ids=["dask", "numpy"])
def test_sample_weight(sync, blobs, dask_weights):
    weights = np.random.default_rng(0).uniform(0, 8, len(blobs))
    weights[::7] = 0
    init = blobs[1:6]
    expected = KMeans(5, init=init).fit(blobs, sample_weight=weights)
    given = da.from_array(weights, chunks=2500) if dask_weights else weights
    got = KMeans(5, init=init).fit(da.from_array(blobs, chunks=900), sample_weight=given)
    _assert_same(expected, got)
    assert got.score(da.from_array(blobs, chunks=900), sample_weight=given) == (
        pytest.approx(expected.score(blobs, sample_weight=weights), rel=1e-10)
    )


@pytest.fixture
def passes(monkeypatch):
    """Counts the passes over X: every one goes through the backend's _pass."""
    count = [0]
    original = kd._pass

    def counting(*args, **kwargs):
        count[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(kd, "_pass", counting)
    return count


def test_empty_cluster_is_refilled_as_in_memory(sync, blobs, passes):
    init = np.vstack([blobs[:4], [[1e3] * 6]])  # the last centre attracts nothing
    numpy_fit, dask_fit = _both(blobs, 1000, n_clusters=5, init=init, tol=0)
    _assert_same(numpy_fit, dask_fit)
    # stats + iterations + one farthest-rows pass + final labels
    assert passes[0] == dask_fit.n_iter_ + 3
    assert len(np.unique(dask_fit.labels_.compute())) == 5


class _CountChunkTasks(Callback):
    """Counts executed tasks per kernel of the Dask backend, by key name."""

    def __init__(self):
        super().__init__()
        self.counts = {}

    def _pretask(self, key, dsk, state):
        name = key[0] if isinstance(key, tuple) else key
        name = str(name).split("-", 1)[0]
        self.counts[name] = self.counts.get(name, 0) + 1


def test_passes_over_the_data(sync, blobs):
    X = da.from_array(blobs, chunks=1000)  # 6 chunks
    with _CountChunkTasks() as counter:
        km = KMeans(5, random_state=0).fit(X)
    c = counter.counts
    assert c["_stats_chunk"] == 6
    # k-means||: the first centre's distances, then 5 rounds: rounds + 2 with stats
    assert c["_parallel_chunk"] == 6 * 6
    assert c["_lloyd_chunk"] == 6 * km.n_iter_  # one pass per iteration
    assert c["_labels_inertia_chunk"] == 6
    assert "_far_chunk" not in c


def test_predict_transform_are_lazy_and_agree(sync, blobs):
    km = KMeans(5, random_state=0).fit(blobs)
    X = da.from_array(blobs, chunks=(1000, 3))
    with _CountChunkTasks() as counter:
        labels = km.predict(X)
        dist = km.transform(X)
    assert counter.counts == {}  # nothing ran
    assert isinstance(labels, da.Array) and isinstance(dist, da.Array)
    assert labels.dtype == np.int32 and dist.shape == (6000, 5)
    np.testing.assert_array_equal(labels.compute(), km.predict(blobs))
    np.testing.assert_allclose(dist.compute(), km.transform(blobs), rtol=1e-12)
    assert km.score(X) == pytest.approx(km.score(blobs), rel=1e-12)


def test_labels_are_a_dask_array_consistent_with_predict(sync, blobs):
    X = da.from_array(blobs, chunks=1000)
    km = KMeans(5, random_state=1).fit(X)
    assert isinstance(km.labels_, da.Array)
    np.testing.assert_array_equal(km.labels_.compute(), km.predict(X).compute())
    assert isinstance(km.fit_predict(X), da.Array)
    assert isinstance(km.fit_transform(X), da.Array)
    assert km.inertia_ == pytest.approx(-km.score(X), rel=1e-12)


def test_kmeans_parallel_quality_at_k_100(sync):
    X, _ = make_blobs(20000, 4, 100, seed=5, spread=0.3)
    Xd = da.from_array(X, chunks=2500)
    parallel, plusplus = [], []
    for seed in range(3):
        centers = kmeans_parallel(Xd, 100, random_state=seed)
        assert len(np.unique(centers, axis=0)) == 100
        parallel.append(KMeans(100, init=centers).fit(X).inertia_)
        plusplus.append(KMeans(100, random_state=seed).fit(X).inertia_)
    assert np.mean(parallel) <= np.mean(plusplus) * 1.001


def test_kmeans_parallel_is_reproducible_and_float32(sync, blobs):
    X = da.from_array(blobs.astype(np.float32), chunks=1000)
    a = kmeans_parallel(X, 5, random_state=0, n_rounds=2, oversampling_factor=3)
    b = kmeans_parallel(X, 5, random_state=0, n_rounds=2, oversampling_factor=3)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b)


def test_fewer_distinct_rows_than_clusters(sync):
    X = da.from_array(np.repeat([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]], 10, axis=0), 7)
    with pytest.warns(RuntimeWarning, match="only 3 distinct"):
        centers = kmeans_parallel(X, 4, random_state=0)
    assert len(np.unique(centers, axis=0)) == 3


def test_bad_input(sync, blobs):
    X = da.from_array(blobs, chunks=1000)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        KMeans(3).fit(X[X[:, 0] > 0])
    with pytest.raises(ValueError, match="Expected 2D array"):
        KMeans(3).fit(X[:, 0])
    with pytest.raises(ValueError, match="Complex data"):
        KMeans(3).fit(X.astype(complex))
    with pytest.raises(ValueError, match="contains NaN"):
        KMeans(3).fit(da.where(X > 5, np.nan, X))
    with pytest.raises(ValueError, match="n_samples=6000 should be >= n_clusters"):
        KMeans(6001).fit(X)
    with pytest.raises(ValueError, match="sample_weight.shape"):
        KMeans(3).fit(X, sample_weight=da.ones(10, chunks=5))
    with pytest.raises(ValueError, match="non-negative"):
        KMeans(3).fit(X, sample_weight=-da.ones(6000, chunks=500))
    with pytest.raises(ValueError, match="is for dask arrays"):
        KMeans(3, init="k-means||").fit(blobs)
    with pytest.raises(TypeError, match="needs a dask array"):
        kmeans_parallel(blobs, 3)
    with pytest.raises(TypeError, match="refine"):
        KMeans(3, refine="swap").fit(X)
    km = KMeans(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="X has 2 features"):
        km.predict(X[:, :2])


def test_pruned_algorithm_falls_back_to_lloyd(sync, blobs):
    X = da.from_array(blobs, chunks=1000)
    with pytest.warns(RuntimeWarning, match="not implemented for dask"):
        km = KMeans(5, algorithm="elkan", init=blobs[:5]).fit(X)
    assert km.n_iter_ == KMeans(5, algorithm="lloyd", init=blobs[:5]).fit(blobs).n_iter_


def test_callback_sees_every_iteration(sync, blobs):
    seen = []
    X = da.from_array(blobs, chunks=1000)
    km = KMeans(5, init=blobs[:5], callback=seen.append).fit(X)
    ref = []
    KMeans(5, init=blobs[:5], callback=ref.append).fit(blobs)
    assert len(seen) == km.n_iter_ == len(ref)
    assert [i.n_reassigned for i in seen] == [i.n_reassigned for i in ref]
    np.testing.assert_allclose([i.inertia for i in seen], [i.inertia for i in ref])


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_same_result_on_every_scheduler(client, blobs, rays, metric):
    X = da.from_array(blobs if metric == "euclidean" else rays, chunks=(1100, 3))
    results = {}
    for scheduler in ["synchronous", "threads", "distributed"]:
        config = {} if scheduler == "distributed" else {"scheduler": scheduler}
        with dask.config.set(config), warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. a hidden single-machine compute
            km = KMeans(5, random_state=3, metric=metric).fit(X)
            results[scheduler] = (km.cluster_centers_, km.labels_.compute(), km.n_iter_)
    reference = results.pop("synchronous")
    for centers, labels, n_iter in results.values():
        np.testing.assert_allclose(centers, reference[0], rtol=1e-13)
        np.testing.assert_array_equal(labels, reference[1])
        assert n_iter == reference[2]


def test_distributed_agrees_with_numpy(client, blobs):
    weights = np.random.default_rng(1).uniform(0.5, 2, len(blobs))
    init = blobs[10:15]
    expected = KMeans(5, init=init).fit(blobs, sample_weight=weights)
    X = da.from_array(blobs, chunks=((700, 1300, 2500, 1500), 6))
    got = KMeans(5, init=init).fit(X, sample_weight=da.from_array(weights, 1000))
    _assert_same(expected, got)
    np.testing.assert_array_equal(got.predict(X).compute(), expected.labels_)


def test_save_and_load_a_model_fitted_on_dask(sync, blobs, tmp_path):
    from kmeans import load

    km = KMeans(5, random_state=0).fit(da.from_array(blobs, chunks=1000))
    km.save(tmp_path / "model.npz")  # labels_, a dask array, fetched
    loaded = load(tmp_path / "model.npz")
    np.testing.assert_array_equal(loaded.labels_, km.labels_.compute())
    np.testing.assert_array_equal(loaded.cluster_centers_, km.cluster_centers_)
    np.testing.assert_array_equal(loaded.predict(blobs), km.labels_.compute())


def test_import_does_not_import_dask():
    code = (
        "import sys, numpy as np, kmeans; "
        "kmeans.KMeans(2, random_state=0).fit(np.arange(20.0).reshape(10, 2)); "
        "assert 'dask' not in sys.modules, 'dask imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_minibatch_rejects_dask_arrays_clearly(blobs):
    from kmeans import MiniBatchKMeans

    X = da.from_array(blobs, chunks=(1000, 6))
    with pytest.raises(TypeError, match="MiniBatchKMeans does not take dask arrays"):
        MiniBatchKMeans(3).fit(X)
    with pytest.raises(TypeError, match="MiniBatchKMeans does not take dask arrays"):
        MiniBatchKMeans(3).partial_fit(X)
    fitted = MiniBatchKMeans(3, random_state=0).partial_fit(blobs)
    with pytest.raises(TypeError, match="MiniBatchKMeans does not take dask arrays"):
        fitted.partial_fit(X)


def test_nan_in_new_data_raises_as_in_memory(sync, blobs):
    km = KMeans(5, random_state=0).fit(blobs)
    bad = blobs.copy()
    bad[4321, 2] = np.nan
    with pytest.raises(ValueError) as in_memory:
        km.predict(bad)
    X = da.from_array(bad, chunks=1000)
    labels, dist = km.predict(X), km.transform(X)  # lazy: raise when computed
    for lazy in (labels, dist):
        with pytest.raises(ValueError) as computed:
            lazy.compute()
        assert str(computed.value) == str(in_memory.value) == "Input X contains NaN."
    with pytest.raises(ValueError, match="^Input X contains NaN.$"):
        km.score(X)
    X[:10].compute()  # chunks without NaN compute
    bad[4321, 2] = np.inf
    with pytest.raises(ValueError, match="contains infinity"):
        km.predict(da.from_array(bad, chunks=1000)).compute()


def test_new_data_feature_names_checked_as_in_memory(sync, blobs):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(blobs, columns=[f"f{i}" for i in range(6)])
    km = KMeans(5, random_state=0).fit(frame)
    X = da.from_array(blobs, chunks=1000)
    for method in (km.predict, km.transform, km.score):
        with pytest.warns(UserWarning, match="X does not have valid feature names"):
            method(X)


@pytest.mark.parametrize(
    "weights",
    [[-1.0, 2.0], [np.nan, 1.0], [np.inf, 1.0], [0.0, 0.0], [1e308, 1e308]],
    ids=["negative", "nan", "inf", "zero", "overflow"],
)
def test_bad_dask_weights_same_message_as_in_memory(sync, blobs, weights):
    w = np.resize(np.asarray(weights), len(blobs))
    if weights[0] == -1.0:
        w[1:] = np.abs(w[1:])  # one negative: the message counts them
    with pytest.raises(ValueError) as in_memory:
        KMeans(3).fit(blobs, sample_weight=w)
    with pytest.raises(ValueError) as on_dask:
        KMeans(3).fit(da.from_array(blobs, 1000), sample_weight=da.from_array(w, 700))
    assert str(on_dask.value) == str(in_memory.value)


def test_too_few_weighted_rows_same_message_as_in_memory(sync, blobs):
    w = np.zeros(len(blobs))
    w[[5, 3000]] = 1
    with pytest.raises(ValueError) as in_memory:
        KMeans(3, random_state=0).fit(blobs, sample_weight=w)
    with pytest.raises(ValueError) as on_dask:
        KMeans(3, random_state=0).fit(da.from_array(blobs, 1000), sample_weight=w)
    assert str(on_dask.value) == str(in_memory.value)


def test_kmeans_parallel_reclusters_by_the_core_not_the_estimator(sync, blobs, monkeypatch):
    def fit(*args, **kwargs):
        raise AssertionError("KMeans.fit called")

    monkeypatch.setattr(KMeans, "fit", fit)
    monkeypatch.setattr(KMeans, "_fit", fit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        centers = kmeans_parallel(da.from_array(blobs, 1000), 5, random_state=0)
    assert centers.shape == (5, 6)


def test_estimator_imports_no_backend():
    code = (
        "import sys, kmeans._estimator; assert 'kmeans._backends.dask' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- metric="cosine" (#15) ----------------------------------------------------------


@pytest.fixture(scope="module")
def rays():
    """Rows around 5 directions in 8-D, of lengths 0.1-10."""
    return directions(3000, 8, 5, seed=21)[0]


def _assert_same_cosine(numpy_fit, dask_fit, X, chunks, atol=1e-12):
    _assert_same(numpy_fit, dask_fit, rtol=atol)
    np.testing.assert_allclose(np.linalg.norm(dask_fit.cluster_centers_, axis=1), 1)
    Xd = da.from_array(X, chunks=chunks)
    np.testing.assert_array_equal(dask_fit.predict(Xd).compute(), numpy_fit.predict(X))
    np.testing.assert_allclose(
        dask_fit.transform(Xd).compute(), numpy_fit.transform(X), rtol=0, atol=atol
    )
    assert dask_fit.score(Xd) == pytest.approx(numpy_fit.score(X), rel=atol)


COSINE_CHUNKINGS = {
    "uneven": ((500, 1000, 0, 1000, 500), 8),
    "single-block": 3000,
    "column-split": (700, 3),
}


@pytest.mark.parametrize("chunks", COSINE_CHUNKINGS.values(), ids=COSINE_CHUNKINGS.keys())
@pytest.mark.parametrize("tol", [0.0, 1e-4])
def test_cosine_same_init_same_result_as_numpy(sync, rays, chunks, tol):
    init = rays[[0, 1, 2, 3, 4]]
    numpy_fit, dask_fit = _both(
        rays, chunks, n_clusters=5, init=init, tol=tol, metric="cosine"
    )
    assert numpy_fit.n_iter_ > 2
    _assert_same_cosine(numpy_fit, dask_fit, rays, chunks)


@pytest.mark.parametrize("dask_weights", [True, False], ids=["dask", "numpy"])
def test_cosine_sample_weight(sync, rays, dask_weights):
    weights = np.random.default_rng(2).uniform(0, 5, len(rays))
    weights[::5] = 0
    init = rays[10:15]
    expected = KMeans(5, init=init, metric="cosine").fit(rays, sample_weight=weights)
    given = da.from_array(weights, chunks=700) if dask_weights else weights
    X = da.from_array(rays, chunks=900)
    got = KMeans(5, init=init, metric="cosine").fit(X, sample_weight=given)
    _assert_same(expected, got, rtol=1e-12)
    assert got.score(X, sample_weight=given) == pytest.approx(
        expected.score(rays, sample_weight=weights), rel=1e-12
    )
    # the inertia is sum w (1 - cos), by its definition
    cos = rays @ got.cluster_centers_.T / np.linalg.norm(rays, axis=1)[:, None]
    assert got.inertia_ == pytest.approx(weights @ (1 - cos.max(axis=1)), rel=1e-12)


def test_cosine_float32_agrees_and_stays_float32(sync, rays):
    X = rays.astype(np.float32)
    numpy_fit, dask_fit = _both(X, 1000, n_clusters=5, init=X[:5], tol=0, metric="cosine")
    _assert_same(numpy_fit, dask_fit, rtol=1e-5)
    assert dask_fit.transform(da.from_array(X[:10])).dtype == np.float32


def test_cosine_random_init_draws_the_rows_numpy_draws(sync, rays):
    params = {"n_clusters": 5, "init": "random", "n_init": 3, "random_state": 7}
    _assert_same(*_both(rays, 700, metric="cosine", **params), rtol=1e-12)


def test_cosine_empty_cluster_is_refilled_as_in_memory(sync, rays, passes):
    X = rays.copy()
    X[:, 0] = np.abs(X[:, 0]) + 1  # every row has x_0 > 0
    init = np.vstack([X[:4], -np.eye(8)[:1]])  # the last centre is no row's choice
    numpy_fit, dask_fit = _both(X, 1000, n_clusters=5, init=init, tol=0, metric="cosine")
    _assert_same_cosine(numpy_fit, dask_fit, X, 1000)
    # stats + iterations + one least-similar-rows pass + final labels; then the
    # predict's lazy graph, transform's and score's pass
    assert passes[0] == dask_fit.n_iter_ + 3 + 1
    assert len(np.unique(dask_fit.labels_.compute())) == 5


def test_cosine_kmeans_parallel_by_the_cosine_dissimilarity(sync):
    metrics = pytest.importorskip("sklearn.metrics")
    X, truth = directions(6000, 16, 8, seed=22)
    Xd = da.from_array(X, chunks=1500)
    km = KMeans(8, metric="cosine", random_state=0).fit(Xd)
    assert metrics.adjusted_rand_score(truth, km.labels_.compute()) > 0.99
    np.testing.assert_allclose(np.linalg.norm(km.cluster_centers_, axis=1), 1)
    # the draws weigh directions only: rows of any length, the same seeds and fit
    lengths = np.random.default_rng(0).uniform(1e-3, 1e3, (len(X), 1))
    other = KMeans(8, metric="cosine", random_state=0).fit(
        da.from_array(X * lengths, chunks=1500)
    )
    np.testing.assert_array_equal(other.labels_.compute(), km.labels_.compute())
    np.testing.assert_allclose(other.cluster_centers_, km.cluster_centers_, atol=1e-12)
    # reproducible, and "k-means||" is the same init
    again = KMeans(8, metric="cosine", init="k-means||", random_state=0).fit(Xd)
    np.testing.assert_array_equal(again.cluster_centers_, km.cluster_centers_)


def test_cosine_passes_over_the_data(sync, rays):
    X = da.from_array(rays, chunks=500)  # 6 chunks
    with _CountChunkTasks() as counter:
        km = KMeans(5, metric="cosine", random_state=0).fit(X)
    c = counter.counts
    assert c["_cosine_stats_chunk"] == 6  # one pass: norms, unit sums, checks
    assert c["_parallel_chunk"] == 6 * 6
    assert c["_lloyd_chunk"] == 6 * km.n_iter_
    assert c["_cosine_labels_inertia_chunk"] == 6
    assert "_stats_chunk" not in c


def test_cosine_zero_rows_same_message_as_in_memory(sync, rays):
    X = rays.copy()
    X[[7, 2100, 2101]] = 0
    with pytest.raises(ValueError) as in_memory:
        KMeans(5, metric="cosine").fit(X)
    with pytest.raises(ValueError) as on_dask:
        KMeans(5, metric="cosine").fit(da.from_array(X, chunks=1000))
    assert str(on_dask.value) == str(in_memory.value)
    assert "3 row(s) of X are all zeros (rows 7, 2100, 2101)" in str(on_dask.value)
    km = KMeans(5, metric="cosine", random_state=0).fit(rays)
    with pytest.raises(ValueError) as in_memory:
        km.score(X)
    with pytest.raises(ValueError) as on_dask:
        km.score(da.from_array(X, chunks=1000))
    assert str(on_dask.value) == str(in_memory.value)
    # lazy results raise when computed, for the chunk computed, by X's row numbers
    only_late = rays.copy()
    only_late[2100] = 0
    for lazy in (km.predict, km.transform):
        with pytest.raises(
            ValueError, match=r"1 row\(s\) of X are all zeros \(rows 2100\)"
        ):
            lazy(da.from_array(only_late, chunks=1000)).compute()


@pytest.mark.parametrize("exponent", [-1000, 1000])
def test_cosine_extreme_magnitudes(sync, rays, exponent):
    init = rays[:5]
    expected = KMeans(5, init=init, metric="cosine").fit(rays)
    X = np.ldexp(rays, exponent)
    got = KMeans(5, init=init, metric="cosine").fit(da.from_array(X, chunks=1000))
    _assert_same(expected, got, rtol=1e-12)
    np.testing.assert_array_equal(
        got.predict(da.from_array(X, 700)).compute(), expected.labels_
    )


@pytest.mark.parametrize("scale", TINY_AND_HUGE)
def test_cosine_rows_of_any_norm_read_as_their_directions(sync, rays, scale):
    # #15: the chunks' passes, k-means|| and final labels read -2 x.c alone
    chunks = COSINE_CHUNKINGS["uneven"]
    one = KMeans(5, metric="cosine", random_state=0).fit(da.from_array(rays, chunks))
    Xs = da.from_array(rays * scale, chunks)
    other = KMeans(5, metric="cosine", random_state=0).fit(Xs)
    assert_scale_free(one, other, scale, lambda a: np.asarray(a))
    np.testing.assert_array_equal(other.predict(Xs).compute(), one.labels_.compute())
    np.testing.assert_allclose(
        other.transform(Xs).compute(),
        one.transform(da.from_array(rays, chunks)).compute(),
        rtol=0,
        atol=1e-12,
    )


@pytest.mark.parametrize("exponent", [-1000, -400, 1000])
def test_cosine_chunks_of_extreme_magnitude_read_as_in_memory(sync, rays, exponent):
    # a chunk of extreme magnitude beside ordinary ones: its scales are those of
    # the in-memory path (a second pass, once the whole's exponent is known)
    from kmeans._backends.cosine import COSINE_DENSE

    X = rays.copy()
    X[1000:2000] = np.ldexp(X[1000:2000], exponent)
    with kd.session():
        rows, shift, variance, _, _ = kd.cosine_statistics(
            da.from_array(X, chunks=1000), None, True, None
        )
        row_scale = np.concatenate(dask.compute(*rows.row_scale))
    data, _, expected_variance, _, _ = COSINE_DENSE.statistics(X, None, True, None)
    np.testing.assert_array_equal(row_scale, data.row_scale)
    assert variance == pytest.approx(expected_variance, rel=1e-12)
    assert not shift.any() and rows.exponent == 0
    # the same rows read (scaled alike)
    np.testing.assert_array_equal(np.concatenate(dask.compute(*rows.x)), data.X)


def test_cosine_callback_and_algorithms(sync, rays):
    seen, ref = [], []
    X = da.from_array(rays, chunks=1000)
    with pytest.warns(
        RuntimeWarning, match="dask arrays with metric='cosine'; using 'lloyd'"
    ):
        km = KMeans(
            5, init=rays[:5], metric="cosine", algorithm="elkan", callback=seen.append
        ).fit(X)
    KMeans(5, init=rays[:5], metric="cosine", callback=ref.append).fit(rays)
    assert len(seen) == km.n_iter_ == len(ref)
    assert [i.n_reassigned for i in seen] == [i.n_reassigned for i in ref]
    np.testing.assert_allclose(
        [i.inertia for i in seen], [i.inertia for i in ref], rtol=1e-12
    )
    with pytest.raises(TypeError, match="refine='swap' does not accept dask arrays"):
        KMeans(5, metric="cosine", refine="swap").fit(X)


def test_cosine_minibatch_as_for_the_euclidean_metric(sync, rays):
    from kmeans import MiniBatchKMeans

    X = da.from_array(rays, chunks=1000)
    with pytest.raises(TypeError, match="MiniBatchKMeans does not take dask arrays"):
        MiniBatchKMeans(5, metric="cosine").fit(X)
    fitted = MiniBatchKMeans(5, metric="cosine", random_state=0).fit(rays)
    labels = fitted.predict(X)  # a fitted model predicts dask arrays, lazily
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), fitted.predict(rays))


def test_cosine_save_load_and_fit_transform(sync, rays, tmp_path):
    from kmeans import load

    X = da.from_array(rays, chunks=1000)
    km = KMeans(5, metric="cosine", random_state=1)
    distances = km.fit_transform(X)
    assert isinstance(distances, da.Array)
    np.testing.assert_allclose(distances.compute(), km.transform(rays), atol=1e-12)
    assert isinstance(km.fit_predict(X), da.Array)
    km.save(tmp_path / "model.npz")
    loaded = load(tmp_path / "model.npz")
    assert loaded.metric == "cosine"
    np.testing.assert_array_equal(loaded.predict(rays), km.labels_.compute())


def test_cosine_distributed_agrees_with_numpy(client, rays):
    weights = np.random.default_rng(3).uniform(0.5, 2, len(rays))
    init = rays[20:25]
    expected = KMeans(5, init=init, metric="cosine").fit(rays, sample_weight=weights)
    X = da.from_array(rays, chunks=((700, 800, 1500), 8))
    got = KMeans(5, init=init, metric="cosine").fit(
        X, sample_weight=da.from_array(weights, 1000)
    )
    _assert_same(expected, got, rtol=1e-12)
    np.testing.assert_array_equal(got.predict(X).compute(), expected.labels_)
    Z = rays.copy()
    Z[1234] = 0
    with pytest.raises(ValueError, match=r"rows 1234\)"):
        KMeans(5, metric="cosine").fit(da.from_array(Z, chunks=1000))


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("scale", [1e-50, 1e300])
@pytest.mark.parametrize("as_dask", [False, True])
def test_weights_of_extreme_scale_as_in_memory(sync, metric, scale, as_dask):
    # 2**166 cast to float32 was inf (k-means++: "Probabilities contain NaN"), and
    # dask weights of 1e-50 were cast to float32 zeros before they were checked
    X, _ = make_blobs(100, 3, 3, seed=2, dtype=np.float32)
    if metric == "cosine":
        X += 20  # no row near zero
    w = np.random.default_rng(0).uniform(0.5, 2, 100) * scale
    init = X[:3]
    expected = KMeans(3, metric=metric, init=init).fit(X, sample_weight=w)
    weights = da.from_array(w, chunks=25) if as_dask else w
    Xd = da.from_array(X, chunks=25)
    got = KMeans(3, metric=metric, init=init).fit(Xd, sample_weight=weights)
    np.testing.assert_array_equal(got.labels_.compute(), expected.labels_)
    np.testing.assert_allclose(got.cluster_centers_, expected.cluster_centers_, rtol=1e-5)
    assert got.inertia_ == pytest.approx(expected.inertia_, rel=1e-5)
    fitted = KMeans(3, metric=metric, random_state=0).fit(Xd, sample_weight=weights)
    assert np.isfinite(fitted.inertia_) and np.isfinite(fitted.cluster_centers_).all()
    score = got.score(Xd, sample_weight=weights)
    assert score == pytest.approx(expected.score(X, sample_weight=w), rel=1e-5)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_score_with_dask_weights_and_an_empty_chunk(sync, metric):
    # the weights' check read the empty chunk's max: NumPy's "zero-size array"
    X = np.random.default_rng(0).normal(size=(40, 3))
    Xd = da.from_array(X, chunks=((20, 0, 20), 3))
    km = KMeans(2, metric=metric, random_state=0).fit(Xd)
    score = km.score(Xd, sample_weight=da.ones(40, chunks=((20, 0, 20),)))
    assert score == pytest.approx(km.score(X), rel=1e-12)


def test_sparse_chunks_are_refused():
    sparse = pytest.importorskip("scipy.sparse")
    X = sparse.csr_matrix(np.random.default_rng(0).random((100, 6)))
    Xs = da.from_array(X, chunks=(25, 6), asarray=False)
    with pytest.raises(TypeError, match="NumPy chunks; X's chunks are scipy"):
        KMeans(3, metric="cosine", random_state=0).fit(Xs)
    with pytest.raises(TypeError, match="dask arrays of NumPy chunks"):
        KMeans(3, random_state=0).fit(Xs)
