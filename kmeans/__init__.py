"""NumPy-vectorised k-means clustering with a scikit-learn-style estimator.

Public API
----------
KMeans
    The estimator: ``fit``, ``predict``, ``transform``, ``score``, ...
k_means
    K-means as a function returning centres, labels and inertia.
kmeans_plusplus
    Greedy k-means++ initial centres.
IterationInfo
    What ``KMeans(callback=...)`` receives after each iteration.
NotFittedError, InvalidParameterError, ConvergenceWarning
    What the estimator raises and warns.
"""

from ._estimator import KMeans, k_means
from ._exceptions import ConvergenceWarning, InvalidParameterError, NotFittedError
from ._initialization import kmeans_plusplus
from ._progress import IterationInfo

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "InvalidParameterError",
    "IterationInfo",
    "KMeans",
    "NotFittedError",
    "__version__",
    "k_means",
    "kmeans_plusplus",
]


def __dir__():
    return __all__
