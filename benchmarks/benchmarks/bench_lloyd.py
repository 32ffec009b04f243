"""One Lloyd iteration (assignment + update) on the workloads W1-W4.

Data and the block plan are built in ``setup``; a benchmark call is one pass over
the data with a thread pool, as inside ``KMeans.fit``, computing the sums from
scratch (the first iteration's cost; later ones only move the rows that changed).
"""

import numpy as np

from kmeans._common import RowBlocks, column_mean
from kmeans._lloyd import lloyd_pass, update_centers

from .common import PooledBenchmark, blobs, shape


class LloydIteration(PooledBenchmark):
    def setup(self, workload, dtype):
        self.start_pool()
        n, d, k = shape(workload)
        self.X, init = blobs(n, d, k, dtype)
        self.shift = column_mean(self.X, self.pool)
        self.centers = init - self.shift
        self.labels = np.full(n, -1, np.int32)
        self.blocks = RowBlocks(n, k, d, self.X.itemsize, self.pool)

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
