"""NumPy-vectorised k-means clustering with a scikit-learn-style estimator.

Public API
----------
KMeans
    The estimator: ``fit``, ``predict``, ``transform``, ``score``, ...
MiniBatchKMeans
    K-means on random minibatches: large data, data larger than memory
    (memory maps) and streams (``partial_fit``).
k_means
    K-means as a function returning centres, labels and inertia.
kmeans_plusplus
    Greedy k-means++ initial centres.
kmeans_parallel
    k-means|| initial centres for a dask array (``KMeans`` also takes dask arrays).
centroid_index
    Centroid Index: how many clusters two sets of centroids disagree on.
select_k, SelectKResult
    Choosing the number of clusters: elbow, silhouette, gap statistic and
    Calinski-Harabasz.
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

import importlib

from ._exceptions import InvalidParameterError, ModelFileError
from ._initialization import kmeans_plusplus
from ._metrics import centroid_index
from ._progress import IterationInfo
from ._version import __version__

__all__ = [
    "ConvergenceWarning",
    "InvalidParameterError",
    "IterationInfo",
    "KMeans",
    "MiniBatchKMeans",
    "ModelFileError",
    "NotFittedError",
    "SelectKResult",
    "__version__",
    "centroid_index",
    "k_means",
    "kmeans_parallel",
    "kmeans_plusplus",
    "load",
    "plot",
    "select_k",
]


# These derive from scikit-learn's classes when it is installed (kmeans/_compat.py),
# or need it (plot, load): importing scikit-learn takes about 0.7 s, ten times
# ``import kmeans``, so they are imported when first used (PEP 562).
_LAZY = {
    "ConvergenceWarning": "._exceptions",
    "KMeans": "._estimator",
    "MiniBatchKMeans": "._minibatch",
    "NotFittedError": "._exceptions",
    "SelectKResult": "._select_k",
    "k_means": "._estimator",
    "plot": ".plot",
    "kmeans_parallel": "._backends.dask",
    "load": "._load",
    "select_k": "._select_k",
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name], __name__)
    value = module if _LAZY[name] == f".{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
