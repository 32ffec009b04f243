"""What a fitted model does to new data: ``predict`` (the assignment step: nearest
centre) and ``transform`` (distances to every centre)."""

from kmeans import KMeans

from .common import PerStrategy, PerWorkload


class Predict(PerWorkload):
    def setup(self, *params):
        super().setup(*params)
        self.model = KMeans(self.k, init=self.init, n_init=1, max_iter=1).fit(self.X)

    def time_predict(self, *params):
        self.model.predict(self.X)

    def peakmem_predict(self, *params):
        self.model.predict(self.X)

    def time_transform(self, *params):
        self.model.transform(self.X)

    def peakmem_transform(self, *params):
        self.model.transform(self.X)

    def track_inertia(self, *params):
        return -self.model.score(self.X)

    track_inertia.unit = "squared distance"


class StrategyPredict(PerStrategy, Predict):
    """The same, on one workload per kernel strategy."""
