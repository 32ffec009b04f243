"""Extreme magnitudes: scaling the data by a power of two is exact in binary
floating point, so the clustering must not depend on it (kmeans/_backends/memory.py
reads such data scaled back to ordinary magnitudes)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from kmeans import KMeans, MiniBatchKMeans
from kmeans._backends.memory import magnitude_exponent

# exponents k with X * 2**k finite for blobs within |x| < 16
_RANGES = {np.float64: (-1060, 1015), np.float32: (-140, 120)}


def _blobs(seed=0, n_per=40):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    return np.concatenate([c + rng.normal(size=(n_per, 2)) for c in centers])


def _at_scale(X, k, dtype):
    return np.ldexp(X, k).astype(dtype)


def _fits(estimator, X):
    # no RuntimeWarning (overflow, underflow) may escape a fit at any scale
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return estimator.fit(X)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("algorithm", ["lloyd", "elkan", "hamerly"])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_same_partition_at_every_scale(dtype, algorithm, data):
    low, high = _RANGES[dtype]
    k = data.draw(st.integers(low, high))
    X = _blobs()
    reference = KMeans(3, random_state=0, n_init=1, algorithm=algorithm).fit(X)
    Xk = _at_scale(X, k, dtype)
    assert len(np.unique(Xk, axis=0)) == len(X)  # rows stay distinct
    km = _fits(KMeans(3, random_state=0, n_init=1, algorithm=algorithm), Xk)
    np.testing.assert_array_equal(km.labels_, reference.labels_)
    assert km.n_iter_ == reference.n_iter_
    assert np.isfinite(km.cluster_centers_).all()
    np.testing.assert_array_equal(km.predict(Xk), km.labels_)
    expected = reference.inertia_ * 4.0**k if 2 * k < 1020 else np.inf
    if np.isfinite(expected) and expected > 1e-290:
        assert km.inertia_ == pytest.approx(expected, rel=1e-4)
    distances = km.transform(Xk[:5])
    assert np.isfinite(distances).all()
    assert (distances.min(axis=1) > 0).all()


@pytest.mark.parametrize(
    ("scale", "dtype"),
    [(1e300, np.float64), (1e307, np.float64), (1e-300, np.float64), (1e19, np.float32),
     (1e-25, np.float32)],
)  # fmt: skip
@pytest.mark.parametrize("kind", ["KMeans", "MiniBatchKMeans", "sparse", "swap"])
def test_blobs_far_from_unit_scale_are_found(scale, dtype, kind):
    X = (
        (_blobs() * scale).astype(dtype)
        if scale < 1e300
        else _blobs().astype(dtype) * scale
    )
    truth = np.repeat([0, 1, 2], 40)
    estimator = {
        "KMeans": KMeans(3, random_state=0),
        "MiniBatchKMeans": MiniBatchKMeans(3, random_state=0, batch_size=40),
        "sparse": KMeans(3, random_state=0),
        "swap": KMeans(3, random_state=0, refine="swap", refine_iter=30),
    }[kind]
    data = sp.csr_matrix(X) if kind == "sparse" else X
    weights = np.random.default_rng(1).uniform(0.5, 2, len(X))
    km = (
        _fits(estimator, data)
        if kind != "swap"
        else estimator.fit(X, sample_weight=weights)
    )
    # one label per blob: the same partition as the truth, up to names
    assert len({(t, label) for t, label in zip(truth, km.labels_)}) == 3
    assert np.isfinite(km.cluster_centers_).all()
    np.testing.assert_array_equal(km.predict(data), km.labels_)


def test_transform_of_a_far_point_is_its_distance():
    km = KMeans(1, n_init=1).fit(np.array([[0.0, 0.0], [0.0, 1.0]]))
    np.testing.assert_allclose(km.transform(np.array([[1e200, 0.0]])), [[1e200]])
    assert km.score(np.array([[1e200, 0.0]])) == -np.inf  # 1e400: beyond float64


def test_partial_fit_far_from_unit_scale():
    X = _blobs() * 1e300
    model = MiniBatchKMeans(3, random_state=0)
    for start in range(0, len(X), 30):
        model.partial_fit(X[start : start + 30])
    assert np.isfinite(model.cluster_centers_).all()
    assert np.abs(model.cluster_centers_).max() > 1e300


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_ordinary_data_are_read_as_they_are(dtype):
    # no copy, no scaling: bit for bit the results of before
    for value in (1e-9, 1.0, 1e9):
        assert magnitude_exponent(np.full((3, 2), value, dtype)) == 0
    assert magnitude_exponent(np.zeros((3, 2), dtype)) == 0
    assert (
        magnitude_exponent(np.full((3, 2), 1e300 if dtype == np.float64 else 1e30, dtype))
        > 0
    )


def test_user_arrays_are_not_modified():
    X = _blobs() * 1e300
    copy = X.copy()
    init = X[[0, 40, 80]].copy()
    km = KMeans(3, init=init, n_init=1).fit(X)
    np.testing.assert_array_equal(X, copy)
    np.testing.assert_array_equal(init, copy[[0, 40, 80]])
    assert np.isfinite(km.cluster_centers_).all()


@pytest.mark.parametrize("k", [0, 900, -1000])
def test_dask_arrays_far_from_unit_scale(k):
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    X = _blobs()
    reference = KMeans(3, init=X[[0, 40, 80]], n_init=1).fit(X)
    Xk = np.ldexp(X, k)
    with dask.config.set(scheduler="synchronous"):
        data = da.from_array(Xk, chunks=50)
        km = _fits(KMeans(3, init=Xk[[0, 40, 80]], n_init=1), data)
        np.testing.assert_array_equal(np.asarray(km.labels_), reference.labels_)
        assert km.n_iter_ == reference.n_iter_
        assert np.isfinite(km.cluster_centers_).all()
        np.testing.assert_array_equal(km.predict(data).compute(), reference.labels_)
        assert np.isfinite(km.transform(data).compute()).all()


@pytest.mark.parametrize("k", [900, -1000])
def test_dask_arrays_far_from_unit_scale_with_weights(k):
    # the weights' scaling kept the data's: centres and inertia of X's scale
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    Xk = np.ldexp(_blobs(), k)
    w = np.random.default_rng(0).uniform(1, 3, len(Xk))
    reference = KMeans(3, init=Xk[[0, 40, 80]]).fit(Xk, sample_weight=w)
    with dask.config.set(scheduler="synchronous"):
        km = KMeans(3, init=Xk[[0, 40, 80]]).fit(
            da.from_array(Xk, chunks=50), sample_weight=w
        )
    np.testing.assert_array_equal(km.labels_.compute(), reference.labels_)
    np.testing.assert_allclose(km.cluster_centers_, reference.cluster_centers_, rtol=1e-12)
    assert km.inertia_ == pytest.approx(reference.inertia_, rel=1e-12)


@pytest.mark.parametrize("library", ["array_api_strict", "torch"])
@pytest.mark.parametrize("k", [0, 900, -1000])
def test_array_api_arrays_far_from_unit_scale(library, k):
    pytest.importorskip("array_api_compat")
    xp = pytest.importorskip(library)
    X = _blobs()
    reference = KMeans(3, init=X[[0, 40, 80]], n_init=1).fit(X)
    Xk = np.ldexp(X, k)
    data = xp.asarray(Xk)
    km = _fits(KMeans(3, init=Xk[[0, 40, 80]], n_init=1), data)
    np.testing.assert_array_equal(np.asarray(km.labels_), reference.labels_)
    assert km.n_iter_ == reference.n_iter_
    assert np.isfinite(np.asarray(km.cluster_centers_)).all()
    np.testing.assert_array_equal(np.asarray(km.predict(data)), reference.labels_)
    assert np.isfinite(np.asarray(km.transform(data))).all()


def _lloyd_on(X, centers, n_iter=100):
    """Plain Lloyd in float64 with exact distances (the reference)."""
    X = X.astype(np.float64)
    for _ in range(n_iter):
        labels = ((X[:, None, :] - centers[None]) ** 2).sum(-1).argmin(axis=1)
        centers = np.array([X[labels == j].mean(axis=0) for j in range(len(centers))])
    return labels, centers


@pytest.mark.parametrize(
    ("far", "dtype"),
    [(1e8, np.float64), (1e12, np.float64), (1e20, np.float64), (1e100, np.float64),
     (1e8, np.float32), (1e15, np.float32)],
)  # fmt: skip
@pytest.mark.parametrize("estimator", ["kmeans", "minibatch"])
def test_one_far_row_leaves_the_others_their_digits(far, dtype, estimator):
    # The mean and spread of such data are the far row's: a shift by that mean
    # rounded every other row to the shift's precision (the 30 rows became one
    # point, inertia 0 at 1e20). Its own cluster from the start, the far row
    # leaves the others' Lloyd iterations as they are without it.
    rng = np.random.default_rng(0)
    bulk = rng.normal(size=(30, 2))
    X = np.concatenate([bulk, [[far, -far]]]).astype(dtype)
    init = X[[0, 1, 30]]
    if estimator == "kmeans":
        model = KMeans(3, init=init, n_init=1, tol=0, max_iter=100).fit(X)
    else:
        model = MiniBatchKMeans(
            3, init=init, batch_size=31, max_iter=100, tol=0, random_state=0,
            max_no_improvement=None,
        ).fit(X)  # fmt: skip
    labels, centers_ref = _lloyd_on(X[:30], init[:2].astype(np.float64))
    if estimator == "kmeans":
        np.testing.assert_array_equal(model.labels_[:30], labels)
        np.testing.assert_array_equal(model.labels_[30], 2)
        rtol = 1e-12 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(
            model.cluster_centers_[:2], centers_ref, rtol=rtol, atol=rtol
        )
        bulk_rows = X[:30].astype(np.float64)
        exact = sum(
            ((bulk_rows[labels == j] - centers_ref[j]) ** 2).sum() for j in range(2)
        )
        np.testing.assert_allclose(
            model.inertia_, exact, rtol=1e-4 if rtol > 1e-6 else 1e-10
        )
    # predict and score on the other rows, against exact distances to the centres
    centers = model.cluster_centers_.astype(np.float64)
    rows = X[:30].astype(np.float64)
    sq = ((rows[:, None, :] - centers[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(model.predict(X[:30]), sq.argmin(axis=1))
    rtol = 1e-9 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(-model.score(X[:30]), sq.min(axis=1).sum(), rtol=rtol)
    reference = sum(((rows[labels == j] - centers_ref[j]) ** 2).sum() for j in range(2))
    assert sq.min(axis=1).sum() <= 1.1 * reference


@pytest.mark.parametrize("library", ["dask", "array_api_strict", "torch"])
@pytest.mark.parametrize("far", [1e12, 1e20])
def test_one_far_row_on_dask_and_array_api_as_on_numpy(library, far):
    # their passes take the NumPy path's frames (no shift by a far row's mean)
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(30, 2)), [[far, -far]]])
    init = X[[0, 1, 30]]
    reference = KMeans(3, init=init, n_init=1, tol=0).fit(X)
    if library == "dask":
        dask = pytest.importorskip("dask")
        da = pytest.importorskip("dask.array")
        with dask.config.set(scheduler="synchronous"):
            data = da.from_array(X, chunks=10)
            km = KMeans(3, init=init, n_init=1, tol=0).fit(data)
            labels, predicted = np.asarray(km.labels_), km.predict(data).compute()
    else:
        pytest.importorskip("array_api_compat")
        xp = pytest.importorskip(library)
        data = xp.asarray(X)
        km = KMeans(3, init=xp.asarray(init), n_init=1, tol=0).fit(data)
        labels, predicted = np.asarray(km.labels_), np.asarray(km.predict(data))
    np.testing.assert_array_equal(labels, reference.labels_)
    np.testing.assert_array_equal(predicted, reference.labels_)
    assert km.n_iter_ == reference.n_iter_
    assert float(km.inertia_) == pytest.approx(reference.inertia_, rel=1e-9)


@pytest.mark.parametrize("k", [900, -1000])
def test_kmeans_plusplus_far_from_unit_scale(k):
    # the public seeding reads X as a fit does (kmeans._backends.memory): scaled
    # back by a power of two, so the same draws at every scale, without overflow
    from kmeans import kmeans_plusplus

    X = _blobs()
    reference = kmeans_plusplus(X, 3, random_state=0)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        centers, indices = kmeans_plusplus(np.ldexp(X, k), 3, random_state=0)
    np.testing.assert_array_equal(indices, reference)
    np.testing.assert_array_equal(centers, np.ldexp(X, k)[reference])
