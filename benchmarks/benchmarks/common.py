"""Shared data for the benchmarks: seeded, cached, built in ``setup``."""

import functools
import os

import numpy as np


def is_slow() -> bool:
    """Large sizes run only with KMEANS_BENCH_SLOW=1."""
    return os.environ.get("KMEANS_BENCH_SLOW", "") not in ("", "0")


@functools.lru_cache(maxsize=8)
def blobs(n_samples: int, n_features: int, n_clusters: int, dtype: str):
    """Gaussian blobs and k initial centres drawn from them (the same every call)."""
    rng = np.random.default_rng(0)
    centers = rng.uniform(-10, 10, size=(n_clusters, n_features))
    X = centers[rng.integers(n_clusters, size=n_samples)]
    X += 2.0 * rng.standard_normal((n_samples, n_features))
    X = X.astype(dtype)
    init = X[rng.choice(n_samples, n_clusters, replace=False)].copy()
    return X, init
