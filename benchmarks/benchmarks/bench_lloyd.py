"""One Lloyd iteration (assignment and update) from given centres, on the workloads
W1-W4 and on one workload per kernel strategy."""

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
