"""One Lloyd iteration (assignment and update) from given centres, on the workloads
W1-W4 and on one workload per kernel strategy."""

import os

from kmeans import KMeans

from .common import PerStrategy, PerWorkload


class LloydIteration(PerWorkload):
    def _iteration(self):
        return KMeans(
            n_clusters=self.k,
            init=self.init,
            n_init=1,
            max_iter=1,
            tol=0,
            algorithm="lloyd",
        ).fit(self.X)

    def time_lloyd_iteration(self, *params):
        self._iteration()

    def peakmem_lloyd_iteration(self, *params):
        self._iteration()

    def track_inertia_after_one_iteration(self, *params):
        return self._iteration().inertia_

    track_inertia_after_one_iteration.unit = "squared distance"


class StrategyLloydIteration(PerStrategy, LloydIteration):
    """The same, on narrow (1e5 x 2, k=8), wide (1e4 x 64, k=256) and float32 data."""


class ThreadedLloydIteration(LloydIteration):
    """The same at one and two threads (``KMEANS_NUM_THREADS``), on narrow rows
    (10^6 x 2, k=8) and on W2's shape: each block's NumPy calls must last long
    enough for the threads not to wait on each other (the GIL between calls)."""

    params = (["narrow-1e6", "W2"], [1, 2])
    param_names = ["workload", "threads"]

    def setup(self, workload, threads):
        super().setup(workload, None)
        self._threads = os.environ.get("KMEANS_NUM_THREADS")
        os.environ["KMEANS_NUM_THREADS"] = str(threads)

    def teardown(self, workload, threads):
        if self._threads is None:
            os.environ.pop("KMEANS_NUM_THREADS", None)
        else:
            os.environ["KMEANS_NUM_THREADS"] = self._threads
