"""One runner per library: this package, scikit-learn, faiss and SciPy.

A method is ``LIBRARY[-VARIANT]`` (``kmeans-elkan``, ``sklearn-lloyd``, ...).
:func:`runner` imports the library and returns ``fit(X, init, max_iter, tol,
batch_size) -> (centres, iterations or None)``; every method starts from ``init``
and none subsamples the data. ``floor`` is not a k-means: ``max_iter`` chunked
products X @ Cᵀ with their argmin, in plain NumPy on a thread per core, the floor of
one Lloyd iteration.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Callable

import numpy as np

Fit = Callable[..., tuple[np.ndarray, "int | None"]]

FULL_METHODS = (
    "kmeans kmeans-auto kmeans-hamerly kmeans-elkan sklearn-lloyd sklearn-elkan faiss "
    "scipy-kmeans2 floor"
).split()
MINIBATCH_METHODS = ["kmeans-minibatch", "sklearn-minibatch"]
METHODS = FULL_METHODS + MINIBATCH_METHODS
MODULES = {"kmeans": "kmeans", "sklearn": "sklearn", "faiss": "faiss", "scipy": "scipy"}


def module(method: str) -> str:
    """The Python module that ``method`` needs."""
    return MODULES.get(method.split("-")[0], "numpy")


def available(method: str) -> bool:
    """Whether the library ``method`` needs is installed."""
    return importlib.util.find_spec(module(method)) is not None


# early stopping and final labels off: both libraries see as many samples
MINIBATCH = {"max_no_improvement": None, "compute_labels": False, "random_state": 0}


def _estimators(variant: str, library: str) -> Fit:
    if library == "kmeans":
        from kmeans import KMeans, MiniBatchKMeans
    else:
        from sklearn.cluster import KMeans, MiniBatchKMeans

    def fit(X, init, max_iter, tol, batch_size=1024):
        options = {"init": init, "n_init": 1, "max_iter": max_iter, "tol": tol}
        if variant == "minibatch":
            km = MiniBatchKMeans(
                init.shape[0], batch_size=batch_size, **MINIBATCH, **options
            )
            return km.fit(X).cluster_centers_, km.n_steps_
        km = KMeans(init.shape[0], algorithm=variant or "lloyd", **options).fit(X)
        return km.cluster_centers_, km.n_iter_

    return fit


def _faiss(variant: str) -> Fit:
    import faiss

    def fit(X, init, max_iter, tol, batch_size=1024):
        # all the points (no subsampling), exactly max_iter iterations; float32 only
        n, k = X.shape[0], init.shape[0]
        km = faiss.Kmeans(X.shape[1], k, niter=max_iter, seed=0, max_points_per_centroid=n)
        km.train(np.ascontiguousarray(X, np.float32), init_centroids=init.astype("f4"))
        return km.centroids, None

    return fit


def _scipy(variant: str) -> Fit:
    from scipy.cluster.vq import kmeans2

    def fit(X, init, max_iter, tol, batch_size=1024):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its empty-cluster warning
            centers, _ = kmeans2(X, init, iter=max_iter, minit="matrix", missing="warn")
        return centers, None

    return fit


def _floor(variant: str) -> Fit:
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    # a thread per core, each over its rows in cache-sized blocks on one BLAS thread,
    # as the k-means libraries do: BLAS's own threads on small blocks cost more than
    # the products on a busy machine
    n_threads = int(os.environ.get("KMEANS_NUM_THREADS") or os.cpu_count() or 1)

    def fit(X, init, max_iter, tol, batch_size=1024):
        centers_t = np.ascontiguousarray(init.T, X.dtype)
        step = _block_rows(*init.shape)

        def rows(start, stop):
            out = np.empty((step, init.shape[0]), X.dtype)  # reused, as inside a fit
            for lo in range(start, stop, step):
                block = out[: min(step, stop - lo)]
                np.matmul(X[lo : lo + len(block)], centers_t, out=block).argmin(axis=1)

        bounds = np.linspace(0, len(X), n_threads + 1).astype(int)
        with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(n_threads) as pool:
            for _ in range(max_iter):
                list(pool.map(rows, bounds[:-1], bounds[1:]))
        return init, max_iter

    return fit


def runner(method: str) -> Fit:
    """Import the library of ``method`` and return its fit function."""
    library, _, variant = method.partition("-")
    if library in ("kmeans", "sklearn"):
        return _estimators(variant, library)
    return {"faiss": _faiss, "scipy": _scipy}.get(library, _floor)(variant)


def seeding(method: str) -> Callable[[np.ndarray, int], object] | None:
    """The library's k-means++ seeding, or None (faiss has none; SciPy's ``'++'``
    is not comparable in cost)."""
    if method.startswith("kmeans"):
        from kmeans import kmeans_plusplus
    elif method.startswith("sklearn"):
        from sklearn.cluster import kmeans_plusplus
    else:
        return None
    return lambda X, k: kmeans_plusplus(X, k, random_state=0)


def _block_rows(n_clusters: int, n_features: int) -> int:
    """Rows a block: 1 MiB of products (the cache's, not the whole X's)."""
    return max(64, 2**20 // (8 * max(n_clusters, n_features)))


def inertia(X: np.ndarray, centers: np.ndarray) -> float:
    """The inertia of ``centers`` on ``X`` in float64 (X cast block by block), the
    same way for every method: each row's nearest centre from a product, then the
    exact squared distance to it. Written apart from :mod:`kmeans._core.kernel`
    on purpose: the referee of every method does not share one method's code."""
    centers = np.asarray(centers, np.float64)
    half_norms = 0.5 * np.einsum("ij,ij->i", centers, centers)
    total, step = 0.0, _block_rows(*centers.shape)
    for lo in range(0, X.shape[0], step):
        rows = np.asarray(X[lo : lo + step], np.float64)
        nearest = np.argmin(half_norms - rows @ centers.T, axis=1)
        total += float(((rows - centers[nearest]) ** 2).sum())
    return total
