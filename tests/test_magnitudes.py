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
