"""Shared data and helpers for the benchmarks: seeded, cached, built in ``setup``."""

import functools
import os

import numpy as np

from kmeans._common import thread_pool

# (n_samples, n_features, n_clusters) of the comparison harness's workloads; the full
# sizes need KMEANS_BENCH_SLOW=1, otherwise a tenth of the rows
WORKLOADS = {
    "W1": (1_000_000, 2, 8),
    "W2": (500_000, 32, 100),
    "W3": (100_000, 64, 256),
    "W4": (20_000, 784, 10),
}


def is_slow() -> bool:
    """Large sizes run only with KMEANS_BENCH_SLOW=1."""
    return os.environ.get("KMEANS_BENCH_SLOW", "") not in ("", "0")


def shape(workload):
    n, d, k = WORKLOADS[workload]
    return (n, d, k) if is_slow() else (max(n // 10, 20 * k), d, k)


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


class PerWorkload:
    """Benchmarks parametrised over the workloads and the two float dtypes."""

    params = (list(WORKLOADS), ["float64", "float32"])
    param_names = ["workload", "dtype"]
    timeout = 300


class PooledBenchmark(PerWorkload):
    """Holds the library's thread pool open across the calls of a benchmark, as
    ``KMeans.fit`` does across its iterations."""

    def start_pool(self):
        self._pool_context = thread_pool()
        self.pool = self._pool_context.__enter__()

    def teardown(self, *params):
        self._pool_context.__exit__(None, None, None)
