"""One Lloyd iteration (assignment + update) on the issue's workloads W1-W5.

Data and the block plan are built in ``setup``; a benchmark call is one pass over
the data with a thread pool, as inside ``KMeans.fit``.
"""

import numpy as np

from kmeans._common import RowBlocks, column_mean, thread_pool
from kmeans._lloyd import lloyd_pass, update_centers

from .common import blobs, is_slow

# (n_samples, n_features, n_clusters); the full sizes need KMEANS_BENCH_SLOW=1
WORKLOADS = {
    "W1": (1_000_000, 2, 8),
    "W2": (500_000, 32, 100),
    "W3": (100_000, 64, 256),
    "W4": (20_000, 784, 10),
}


def _shape(workload):
    n, d, k = WORKLOADS[workload]
    return (n, d, k) if is_slow() else (max(n // 10, 20 * k), d, k)


class LloydIteration:
    params = (list(WORKLOADS), ["float64", "float32"])
    param_names = ["workload", "dtype"]
    timeout = 120

    def setup(self, workload, dtype):
        n, d, k = _shape(workload)
        self.X, init = blobs(n, d, k, dtype)
        self._pool_context = thread_pool()
        self.pool = self._pool_context.__enter__()
        self.shift = column_mean(self.X, self.pool)
        self.centers = init - self.shift
        self.labels = np.full(n, -1, np.int32)
        self.blocks = RowBlocks(n, k, d, self.X.itemsize, self.pool)

    def teardown(self, workload, dtype):
        self._pool_context.__exit__(None, None, None)

    def _iteration(self):
        sums, weights, inertia, _ = lloyd_pass(
            self.X, self.shift, None, self.centers, self.labels, self.blocks
        )
        update_centers(
            self.X, self.shift, None, self.centers, self.labels, sums, weights, self.blocks
        )
        return inertia

    def time_lloyd_iteration(self, workload, dtype):
        self._iteration()

    def peakmem_lloyd_iteration(self, workload, dtype):
        self._iteration()

    def track_inertia_after_one_iteration(self, workload, dtype):
        return self._iteration()

    track_inertia_after_one_iteration.unit = "squared distance"
