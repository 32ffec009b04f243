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


@pytest.fixture(params=DTYPES, ids=["float64", "float32"])
def dtype(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
