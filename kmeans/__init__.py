"""NumPy-vectorised k-means clustering with a scikit-learn-style estimator.

Public API
----------
KMeans
    The estimator: ``fit``, ``predict``, ``transform``, ``score``, ...
k_means
    K-means as a function returning centres, labels and inertia.
kmeans_plusplus
    Greedy k-means++ initial centres.
load
    Read a model written by ``KMeans.save`` (safe: no pickle).
IterationInfo
    What ``KMeans(callback=...)`` receives after each iteration.
plot
    Pictures (matplotlib, optional): ``plot.clusters``, ``plot.convergence``,
    ``plot.choose_k``.
NotFittedError, InvalidParameterError, ModelFileError, ConvergenceWarning
    What the estimator and ``load`` raise and warn.
"""

from . import plot
from ._estimator import KMeans, k_means
from ._exceptions import (
    ConvergenceWarning,
    InvalidParameterError,
    ModelFileError,
    NotFittedError,
)
from ._initialization import kmeans_plusplus
from ._persistence import load
from ._progress import IterationInfo

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "InvalidParameterError",
    "IterationInfo",
    "KMeans",
    "ModelFileError",
    "NotFittedError",
    "__version__",
    "k_means",
    "kmeans_plusplus",
    "load",
    "plot",
]


def __dir__():
    return __all__
