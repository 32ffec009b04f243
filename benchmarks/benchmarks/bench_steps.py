"""The two halves of a Lloyd iteration on their own: the assignment step (the one
``predict`` runs: nearest centre and exact inertia) and the update step (the
scatter-add of every row into its cluster's sums)."""

import numpy as np

from kmeans._common import RowBlocks, column_mean, labels_inertia, scratch, shifted_block
from kmeans._lloyd import _scatter_add

from .common import PooledBenchmark, blobs, shape


class AssignmentStep(PooledBenchmark):
    def setup(self, workload, dtype):
        self.start_pool()
        n, d, k = shape(workload)
        self.X, self.centers = blobs(n, d, k, dtype)

    def time_assignment(self, workload, dtype):
        labels_inertia(self.X, self.centers, None, self.pool)

    def peakmem_assignment(self, workload, dtype):
        labels_inertia(self.X, self.centers, None, self.pool)

    def track_inertia(self, workload, dtype):
        return labels_inertia(self.X, self.centers, None, self.pool)[1]

    track_inertia.unit = "squared distance"


class UpdateStep(PooledBenchmark):
    def setup(self, workload, dtype):
        self.start_pool()
        n, d, k = shape(workload)
        self.X, centers = blobs(n, d, k, dtype)
        self.labels, _ = labels_inertia(self.X, centers, None, self.pool)
        self.shift = column_mean(self.X, self.pool)
        self.blocks = RowBlocks(n, k, d, self.X.itemsize, self.pool)
        self.k = k

    def _update(self):
        d = self.X.shape[1]
        blocks = self.blocks

        def run(start, stop):
            sums = np.zeros((self.k, d + 1))
            rows = scratch(blocks, d + 1, self.X.dtype)
            for lo, hi in blocks.blocks(start, stop):
                xa = rows[: hi - lo]
                shifted_block(self.X, lo, hi, self.shift, xa[:, :d])
                xa[:, d] = 1
                _scatter_add(sums.ravel(), xa, self.labels[lo:hi], d + 1)
            return sums

        return np.sum(blocks.map(run), axis=0)

    def time_update(self, workload, dtype):
        self._update()

    def peakmem_update(self, workload, dtype):
        self._update()
