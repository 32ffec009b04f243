"""scipy.sparse input: the same results as dense data from the same initial
centres, every format, never made dense, independent of the thread count."""

import tracemalloc

import numpy as np
import pytest
from conftest import make_blobs

from kmeans import KMeans, kmeans_plusplus

sparse = pytest.importorskip("scipy.sparse")

FORMATS = ["csr_matrix", "csr_array", "csc_matrix", "csc_array", "coo_matrix"]


def _sparse_blobs(n_samples=600, n_features=8, n_clusters=4, seed=0, dtype=np.float64):
    """Blobs with about half of the entries set to zero."""
    X, _ = make_blobs(n_samples, n_features, n_clusters, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed)
    X[rng.random(X.shape) < 0.5] = 0
    return X


def _assert_same_fit(dense, sparse_fit, rtol):
    np.testing.assert_array_equal(sparse_fit.labels_, dense.labels_)
    assert sparse_fit.n_iter_ == dense.n_iter_
    np.testing.assert_allclose(
        sparse_fit.cluster_centers_, dense.cluster_centers_, rtol=rtol, atol=rtol
    )
    assert sparse_fit.inertia_ == pytest.approx(dense.inertia_, rel=rtol)


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_result_as_dense_from_the_same_init(fmt, dtype):
    X = _sparse_blobs(dtype=dtype)
    init = X[[0, 10, 20, 30]]
    weights = np.random.default_rng(1).uniform(0.5, 2, len(X))
    params = {"n_clusters": 4, "init": init, "tol": 0, "algorithm": "lloyd"}
    dense = KMeans(**params).fit(X, sample_weight=weights)
    fitted = KMeans(**params).fit(getattr(sparse, fmt)(X), sample_weight=weights)
    assert fitted.cluster_centers_.dtype == dtype
    assert isinstance(fitted.cluster_centers_, np.ndarray)
    _assert_same_fit(dense, fitted, 1e-10 if dtype == np.float64 else 1e-4)


@pytest.mark.parametrize("init", ["k-means++", "random"])
@pytest.mark.parametrize("seed", range(3))
def test_same_seeds_and_result_as_dense(init, seed):
    X = _sparse_blobs(seed=seed)
    params = {
        "n_clusters": 4,
        "init": init,
        "n_init": 2,
        "random_state": seed,
        "algorithm": "lloyd",
    }
    dense = KMeans(**params).fit(X)
    _assert_same_fit(dense, KMeans(**params).fit(sparse.csr_array(X)), 1e-10)


def test_kmeans_plusplus_on_sparse_rows():
    X = _sparse_blobs()
    weights = np.random.default_rng(2).uniform(0, 1, len(X))
    centers, indices = kmeans_plusplus(
        sparse.csr_matrix(X), 5, sample_weight=weights, random_state=3
    )
    dense_centers, dense_indices = kmeans_plusplus(
        X, 5, sample_weight=weights, random_state=3
    )
    np.testing.assert_array_equal(indices, dense_indices)
    np.testing.assert_array_equal(centers, dense_centers)


def test_predict_transform_score_match_dense():
    X = _sparse_blobs()
    km = KMeans(4, random_state=0).fit(X)
    for fmt in FORMATS:
        Xs = getattr(sparse, fmt)(X)
        np.testing.assert_array_equal(km.predict(Xs), km.predict(X))
        np.testing.assert_allclose(km.transform(Xs), km.transform(X), rtol=1e-12)
        assert km.score(Xs) == pytest.approx(km.score(X), rel=1e-12)
    # a model fitted on sparse data predicts dense data and the other way round
    ks = KMeans(4, random_state=0).fit(sparse.csr_matrix(X))
    np.testing.assert_array_equal(ks.predict(X), ks.labels_)
    np.testing.assert_array_equal(ks.fit_predict(sparse.csc_matrix(X)), ks.labels_)
    assert ks.fit_transform(sparse.csr_matrix(X)).shape == (len(X), 4)


def test_empty_cluster_relocation_matches_dense():
    X = _sparse_blobs(n_samples=200)
    init = np.vstack([X[:3], np.full((1, X.shape[1]), 100.0)])  # centre 3 gets no row
    params = {"n_clusters": 4, "init": init, "algorithm": "lloyd"}
    _assert_same_fit(
        KMeans(**params).fit(X), KMeans(**params).fit(sparse.csr_matrix(X)), 1e-10
    )


def test_callback_sees_the_dense_inertia():
    X = _sparse_blobs()
    init = X[:4]
    dense, sparse_records = [], []
    KMeans(4, init=init, algorithm="lloyd", callback=dense.append).fit(X)
    KMeans(4, init=init, callback=sparse_records.append).fit(sparse.csr_matrix(X))
    assert len(dense) == len(sparse_records)
    for a, b in zip(dense, sparse_records):
        assert b.inertia == pytest.approx(a.inertia, rel=1e-10)
        assert b.n_reassigned == a.n_reassigned


@pytest.mark.parametrize("algorithm", ["elkan", "hamerly"])
def test_pruned_algorithms_fall_back_to_lloyd(algorithm):
    X = sparse.csr_matrix(_sparse_blobs())
    lloyd = KMeans(4, random_state=0, algorithm="lloyd").fit(X)
    with pytest.warns(RuntimeWarning, match=f"algorithm='{algorithm}' is not implemented"):
        pruned = KMeans(4, random_state=0, algorithm=algorithm).fit(X)
    np.testing.assert_array_equal(pruned.labels_, lloyd.labels_)
    big = sparse.csr_matrix(_sparse_blobs(n_features=70))  # "auto" would pick hamerly
    KMeans(20, random_state=0).fit(big)  # no warning: auto means the fastest available


def test_bit_identical_whatever_the_thread_count(monkeypatch):
    X = sparse.csr_matrix(_sparse_blobs(n_samples=40_000, n_features=20, seed=4))
    results = []
    for threads in ("1", "3"):
        monkeypatch.setenv("KMEANS_NUM_THREADS", threads)
        km = KMeans(6, random_state=0, n_init=2).fit(X)
        results.append((km.cluster_centers_, km.labels_, km.inertia_, km.transform(X)))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_never_made_dense():
    # dense, this would be 20_000 x 4_000 float64: 640 MB
    X = sparse.random(
        20_000, 4_000, density=0.001, format="csr", random_state=0, dtype=np.float64
    )
    tracemalloc.start()
    try:
        km = KMeans(8, random_state=0, max_iter=5).fit(X)
        km.transform(X)
        km.score(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_int_and_unsorted_sparse_input():
    X = (_sparse_blobs() * 10).round().astype(np.int64)
    shuffled = sparse.csr_matrix(X)
    shuffled.indices = shuffled.indices.copy()
    order = np.concatenate(
        [np.arange(a, b)[::-1] for a, b in zip(shuffled.indptr[:-1], shuffled.indptr[1:])]
    )
    shuffled.data, shuffled.indices = shuffled.data[order], shuffled.indices[order]
    shuffled.has_sorted_indices = False
    init = X[:4].astype(np.float64)
    dense = KMeans(4, init=init).fit(X)
    fitted = KMeans(4, init=init).fit(shuffled)
    assert fitted.cluster_centers_.dtype == np.float64
    _assert_same_fit(dense, fitted, 1e-10)
