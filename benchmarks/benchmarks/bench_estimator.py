"""Whole fits: each algorithm from the same initial centres for a fixed number of
iterations, k-means++ seeding, and the default fit to convergence."""

from kmeans import KMeans, kmeans_plusplus

from .common import WORKLOADS, PerWorkload, blobs, shape


class Algorithms:
    """Ten iterations from the same centres (tol=0): the pruned algorithms' gain."""

    params = (list(WORKLOADS), ["lloyd", "hamerly", "elkan"], ["float64", "float32"])
    param_names = ["workload", "algorithm", "dtype"]
    timeout = 300

    def setup(self, workload, algorithm, dtype):
        n, d, k = shape(workload)
        self.X, self.init = blobs(n, d, k, dtype)

    def _fit(self, algorithm):
        k = self.init.shape[0]
        return KMeans(k, init=self.init, max_iter=10, tol=0, algorithm=algorithm).fit(
            self.X
        )

    def time_fit(self, workload, algorithm, dtype):
        self._fit(algorithm)

    def peakmem_fit(self, workload, algorithm, dtype):
        self._fit(algorithm)

    def track_inertia(self, workload, algorithm, dtype):
        return self._fit(algorithm).inertia_

    track_inertia.unit = "squared distance"


class KMeansPlusPlus(PerWorkload):
    def setup(self, workload, dtype):
        n, d, k = shape(workload)
        self.X, _ = blobs(n, d, k, dtype)
        self.k = k

    def time_kmeans_plusplus(self, workload, dtype):
        kmeans_plusplus(self.X, self.k, random_state=0)

    def peakmem_kmeans_plusplus(self, workload, dtype):
        kmeans_plusplus(self.X, self.k, random_state=0)


class DefaultFit(PerWorkload):
    """``KMeans(k, random_state=0).fit(X)``: seeding, iterations to convergence."""

    timeout = 600

    def setup(self, workload, dtype):
        n, d, k = shape(workload)
        self.X, _ = blobs(n, d, k, dtype)
        self.k = k

    def _fit(self):
        return KMeans(self.k, random_state=0).fit(self.X)

    def time_fit(self, workload, dtype):
        self._fit()

    def peakmem_fit(self, workload, dtype):
        self._fit()

    def track_inertia(self, workload, dtype):
        return self._fit().inertia_

    track_inertia.unit = "squared distance"

    def track_iterations(self, workload, dtype):
        return self._fit().n_iter_

    track_iterations.unit = "iterations"
