"""Shared fixtures. Every random draw goes through a local Generator: the global
NumPy RNG is never seeded."""

import numpy as np
import pytest

DTYPES = [np.float64, np.float32]


def make_blobs(n_samples, n_features, n_clusters, *, seed=0, spread=1.0, dtype=np.float64):
    """Gaussian blobs around centres drawn uniformly in [-10, 10]^d."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-10, 10, size=(n_clusters, n_features))
    labels = rng.integers(n_clusters, size=n_samples)
    X = centers[labels] + spread * rng.standard_normal((n_samples, n_features))
    return X.astype(dtype), labels


def directions(n_samples=600, n_features=16, n_clusters=5, *, seed=0, dtype=np.float64):
    """Rows around ``n_clusters`` random directions, of random lengths (0.1-10),
    and their true labels: data for metric="cosine"."""
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((n_clusters, n_features))
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    labels = rng.integers(n_clusters, size=n_samples)
    X = means[labels] + 0.25 * rng.standard_normal((n_samples, n_features)) / np.sqrt(
        n_features
    )
    X *= rng.uniform(0.1, 10, size=(n_samples, 1))
    return X.astype(dtype), labels


def integer_ties(n_samples, n_features, n_clusters, *, seed):
    """Integer rows, integer centres drawn among them, and the exact squared
    distances between them (small integers), with many rows exactly as far from
    two centres."""
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(0, 3, (n_samples, n_features)) + rng.uniform(-7, 7, n_features))
    centers = X[rng.choice(n_samples, n_clusters, replace=False)]
    sq = ((X[:, None, :] - centers[None]) ** 2).sum(axis=2)
    assert ((sq == sq.min(axis=1, keepdims=True)).sum(axis=1) > 1).sum() > 10
    return X, centers, sq


def means_of(X, labels, centers):
    """The mean of each cluster's rows; a cluster without rows keeps its centre."""
    sums = np.zeros_like(centers)
    np.add.at(sums, labels, X)
    counts = np.bincount(labels, minlength=len(centers))[:, None]
    return np.where(counts > 0, sums / np.maximum(counts, 1), centers)


# metric="cosine" reads every row at the precision of its direction (#15): these
# factors, applied to all of X, change nothing; rows of norm below 1e-15 included
TINY_AND_HUGE = [2.0**-60, 1e-16, 1e-18, 1e-200, 1e200]


def assert_scale_free(one, other, scale, host=np.asarray, atol=1e-12):
    """``other``, fitted on X * ``scale``, is ``one``, fitted on X from the same
    random_state: the same labels and iterations, the same centres (bit for bit
    for a power of two, else to ``atol``) and inertia. ``host`` brings an output
    to NumPy."""
    np.testing.assert_array_equal(host(other.labels_), host(one.labels_))
    assert getattr(other, "n_steps_", other.n_iter_) == getattr(
        one, "n_steps_", one.n_iter_
    )
    atol = 0 if np.frexp(scale)[0] == 0.5 else atol
    np.testing.assert_allclose(
        host(other.cluster_centers_), host(one.cluster_centers_), rtol=0, atol=atol
    )
    assert other.inertia_ == pytest.approx(one.inertia_, rel=max(atol, 1e-12))


@pytest.fixture(params=DTYPES, ids=["float64", "float32"])
def dtype(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


class Space:
    """An array namespace for the estimator tests: ``to(a)`` puts a NumPy array
    there, ``host(a)`` brings an output back to NumPy (from any device)."""

    def __init__(self, name, to):
        self.name, self.to = name, to

    def host(self, a):
        if self.name == "numpy":
            return np.asarray(a)
        from kmeans._backends.array_api import to_numpy

        return to_numpy(a)


def _cuda_library(name):
    """torch or CuPy, where it sees a CUDA device; else the test skips."""
    library = pytest.importorskip(name)
    if name == "torch":
        seen = library.cuda.is_available()
    else:
        try:
            seen = library.cuda.runtime.getDeviceCount() > 0
        except Exception:  # CuPy without a driver raises its own errors
            seen = False
    if not seen:
        pytest.skip(f"{name} sees no CUDA device")
    return library


@pytest.fixture(params=["numpy", "array_api_strict", "torch", "torch-cuda", "cupy"])
def space(request):
    """NumPy, and the array-API libraries installed (kmeans/_backends/array_api.py):
    the same estimator tests on each (issue #16); torch-cuda and cupy on a CUDA
    GPU only (they skip themselves elsewhere). JAX, whose eager operations are
    slow, is in tests/test_array_api.py only."""
    if request.param == "numpy":
        return Space("numpy", np.asarray)
    compat = pytest.importorskip("array_api_compat")
    if request.param == "torch-cuda":
        torch = _cuda_library("torch")
        return Space("torch-cuda", lambda a: torch.asarray(np.asarray(a), device="cuda"))
    library = _cuda_library("cupy") if request.param == "cupy" else None
    library = library or pytest.importorskip(request.param)
    xp = compat.array_namespace(library.asarray([0.0]))
    return Space(request.param, lambda a: xp.asarray(np.asarray(a)))
