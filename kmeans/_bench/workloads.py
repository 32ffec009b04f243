"""The data every library is given: the workloads, and ``.npy`` files for ``--memmap``."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Workload:
    """``n_samples`` rows of ``n_features`` in ``dtype``, for ``n_clusters`` centres;
    Gaussian blobs if ``clustered``, otherwise standard normal noise."""

    n_samples: int
    n_features: int
    n_clusters: int
    dtype: str = "float64"
    clustered: bool = False

    def shrunk(self, factor: int) -> Workload:
        """The same workload with ``n_samples // factor`` rows (at least 20 a cluster)."""
        return replace(self, n_samples=max(self.n_samples // factor, 20 * self.n_clusters))

    def data(self, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The data and ``n_clusters`` distinct random rows of it as initial centres."""
        rng = np.random.default_rng(seed)
        shape = (self.n_samples, self.n_features)
        if self.clustered:
            X = np.empty(shape, self.dtype)
            fill_blobs(X, self.n_clusters, rng)
        else:
            X = rng.standard_normal(shape, dtype=np.dtype(self.dtype))
        init = X[rng.choice(self.n_samples, self.n_clusters, replace=False)].copy()
        return X, init


WORKLOADS = {
    "W1": Workload(1_000_000, 2, 8),
    "W2": Workload(500_000, 32, 100),
    "W3": Workload(100_000, 64, 256),
    "W4": Workload(20_000, 784, 10),
    "W5": Workload(500_000, 32, 100, "float32"),
    "B1": Workload(1_000_000, 2, 8, clustered=True),
    "B2": Workload(500_000, 32, 100, clustered=True),
    "B3": Workload(100_000, 64, 256, clustered=True),
}
PER_ITERATION = ["W1", "W2", "W3", "W4", "W5"]
TO_CONVERGENCE = ["B1", "B2", "B3"]
MINIBATCH_WORKLOADS = ["W1", "W2", "W3", "B1", "B2", "B3"]
SCALING_SIZES = [10**4, 10**5, 10**6, 10**7]
SCALING = Workload(0, 32, 64, "float32")  # n_samples: each of SCALING_SIZES
MEMMAP_SIZES_MIB = [64, 256, 1024]
MEMMAP = Workload(0, 32, 64, "float32")  # n_samples: from the file's size


def fill_blobs(out: np.ndarray, n_clusters: int, rng: np.random.Generator) -> None:
    """Fill ``out`` with unit Gaussian blobs around ``n_clusters`` uniform centres,
    in slices, so that no float64 temporary of all the rows exists."""
    centers = rng.uniform(-10, 10, size=(n_clusters, out.shape[1]))
    step = 1 << 16
    for lo in range(0, out.shape[0], step):
        hi = min(lo + step, out.shape[0])
        rows = centers[rng.integers(n_clusters, size=hi - lo)]
        out[lo:hi] = rows + rng.standard_normal((hi - lo, out.shape[1]))


def write_npy(path: str, n_samples: int, n_features: int, dtype: str = "float32") -> None:
    """Write blobs to the ``.npy`` file ``path`` without holding them in memory."""
    out = np.lib.format.open_memmap(
        path, mode="w+", dtype=dtype, shape=(n_samples, n_features)
    )
    fill_blobs(out, 64, np.random.default_rng(0))
    out.flush()
    del out
