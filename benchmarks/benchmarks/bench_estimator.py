"""Whole fits: each algorithm to convergence from the same initial centres, and
k-means++ seeding."""

from kmeans import KMeans, kmeans_plusplus

from .common import PerWorkload, data


class ToConvergence:
    """``KMeans(k, init=C0, n_init=1, algorithm=...)`` to its default stopping rule:
    the pruned algorithms' gain, and the iterations each needs."""

    params = (["W1", "W2", "W3", "W4"], ["lloyd", "elkan", "hamerly", "auto"])
    param_names = ["workload", "algorithm"]
    timeout = 600

    def setup(self, workload, algorithm):
        self.X, self.init = data(workload)

    def _fit(self, algorithm):
        k = self.init.shape[0]
        return KMeans(k, init=self.init, n_init=1, algorithm=algorithm).fit(self.X)

    def time_fit(self, workload, algorithm):
        self._fit(algorithm)

    def peakmem_fit(self, workload, algorithm):
        self._fit(algorithm)

    def track_inertia(self, workload, algorithm):
        return self._fit(algorithm).inertia_

    track_inertia.unit = "squared distance"

    def track_iterations(self, workload, algorithm):
        return self._fit(algorithm).n_iter_

    track_iterations.unit = "iterations"


class KMeansPlusPlus(PerWorkload):
    def time_kmeans_plusplus(self, workload, dtype):
        kmeans_plusplus(self.X, self.k, random_state=0)

    def peakmem_kmeans_plusplus(self, workload, dtype):
        kmeans_plusplus(self.X, self.k, random_state=0)
