"""Shared data for the benchmarks: seeded, cached, built in ``setup``.

Every benchmark calls the package's public API only (``from kmeans import ...``),
so that moving its internals does not break the history.
"""

import functools
import os
import warnings

import numpy as np

from kmeans import ConvergenceWarning

# (n_samples, n_features, n_clusters, dtype): the comparison harness's workloads;
# the full sizes need KMEANS_BENCH_SLOW=1, otherwise a tenth of the rows
WORKLOADS = {
    "W1": (1_000_000, 2, 8, "float64"),
    "W2": (500_000, 32, 100, "float64"),
    "W3": (100_000, 64, 256, "float64"),
    "W4": (20_000, 784, 10, "float64"),
    # one case per kernel strategy, so that a regression in one shows: narrow rows
    # (few features and clusters: the column layout), wide (many clusters), float32
    # (single precision)
    "narrow": (100_000, 2, 8, "float64"),
    "wide": (10_000, 64, 256, "float64"),
    "float32": (500_000, 32, 100, "float32"),
    # wide float64 rows against few centres: the product made centres first
    "centres-first": (10_000, 512, 16, "float64"),
    # narrow rows in blocks enough for two threads: the threads case
    "narrow-1e6": (1_000_000, 2, 8, "float64"),
    # MiniBatchKMeans screens its float64 products in float32 from 64 features and
    # 128 clusters
    "screen": (100_000, 64, 256, "float64"),
}


def is_slow() -> bool:
    """Large sizes run only with KMEANS_BENCH_SLOW=1."""
    return os.environ.get("KMEANS_BENCH_SLOW", "") not in ("", "0")


def data(workload: str, dtype: str | None = None):
    """The rows of ``workload`` (in ``dtype`` if given) and k initial centres."""
    n, d, k, default = WORKLOADS[workload]
    full = ("narrow", "wide", "centres-first", "narrow-1e6")
    n = n if is_slow() or workload in full else max(n // 10, 20 * k)
    return blobs(n, d, k, dtype or default)


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
    """Benchmarks parametrised over the workloads W1-W4 and the two float dtypes."""

    params = (["W1", "W2", "W3", "W4"], ["float64", "float32"])
    param_names = ["workload", "dtype"]
    timeout = 300

    def setup(self, workload, dtype):
        # W3's blobs at a tenth of the rows empty a few of 256 clusters: not news
        warnings.simplefilter("ignore", ConvergenceWarning)
        self.X, self.init = data(workload, dtype)
        self.k = self.init.shape[0]


class PerStrategy(PerWorkload):
    """Benchmarks over one workload per kernel strategy (their own dtype)."""

    params = ["narrow", "wide", "float32", "centres-first"]
    param_names = ["strategy"]

    def setup(self, strategy):
        super().setup(strategy, None)
