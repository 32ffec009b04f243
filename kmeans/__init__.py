"""NumPy-vectorised k-means clustering with a scikit-learn-style estimator.

Public API
----------
KMeans
    The estimator: ``fit``, ``predict``, ``transform``, ``score``, ...
k_means
    K-means as a function returning centres, labels and inertia.
kmeans_plusplus
    Greedy k-means++ initial centres.
centroid_index
    Centroid Index: how many clusters two sets of centroids disagree on.
select_k, SelectKResult
    Choosing the number of clusters: elbow, silhouette, gap statistic and
    Calinski-Harabasz.
NotFittedError, InvalidParameterError, ConvergenceWarning
    What the estimator raises and warns.
"""

from ._estimator import KMeans, k_means
from ._exceptions import ConvergenceWarning, InvalidParameterError, NotFittedError
from ._initialization import kmeans_plusplus
from ._metrics import centroid_index
from ._select_k import SelectKResult, select_k

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "InvalidParameterError",
    "KMeans",
    "NotFittedError",
    "SelectKResult",
    "__version__",
    "centroid_index",
    "k_means",
    "kmeans_plusplus",
    "select_k",
]


def __dir__():
    return __all__
