"""The silhouette (Rousseeuw 1987), computed exactly in bounded blocks; used by
:func:`kmeans.select_k` and :func:`kmeans.plot.choose_k`."""

from __future__ import annotations

import numpy as np

# exact differences, not ||x||^2 - 2x.y: the silhouette compares near distances
from scipy.spatial.distance import cdist

from ._validation import check_array, check_random_state

__all__ = ["silhouette_score"]

# Rows of the (rows x sample) distance block: 2000 x 2000 float64 is 32 MB.
_BLOCK_CELLS = 4_000_000


def silhouette_score(X, labels, *, sample_size: int | None = None, random_state=None):
    """Mean silhouette coefficient, on all samples or on a random sample of them.

    For a sample, ``a`` is its mean distance to the other members of its cluster
    and ``b`` its mean distance to the members of the nearest other cluster; its
    coefficient is ``(b - a) / max(a, b)``, and 0 in a cluster of one.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data.
    labels : array-like of shape (n_samples,)
        Cluster label of each sample (integers).
    sample_size : int or None, default=None
        Compute it on this many samples drawn without replacement (the
        coefficient is then computed within the sample, as scikit-learn does);
        None uses all. The cost is ``O(m**2 * n_features)`` for ``m`` samples.
    random_state : int, numpy.random.Generator or None, default=None
        Draws the sample.

    Returns
    -------
    score : float
        Between -1 and 1; NaN when the samples fall in fewer than 2 clusters.

    Examples
    --------
    >>> from kmeans._selection import silhouette_score
    >>> X = [[0.0], [1.0], [10.0], [11.0]]
    >>> round(silhouette_score(X, [0, 0, 1, 1]), 4)
    0.8997
    """
    X = check_array(X, owner="silhouette_score")
    labels = np.asarray(labels)
    if labels.shape != (X.shape[0],):
        raise ValueError(
            f"labels has shape {labels.shape}, expected ({X.shape[0]},) like X's rows."
        )
    if sample_size is not None and sample_size < X.shape[0]:
        rng = check_random_state(random_state)
        index = np.sort(rng.choice(X.shape[0], sample_size, replace=False))
        X, labels = X[index], labels[index]
    return _silhouette(np.asarray(X, dtype=np.float64), labels)


def _silhouette(X: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of the rows of X; X is validated, float64."""
    clusters, codes = np.unique(labels, return_inverse=True)
    if clusters.size < 2:
        return float("nan")
    n = X.shape[0]
    onehot = np.zeros((n, clusters.size))
    onehot[np.arange(n), codes] = 1.0
    counts = onehot.sum(axis=0)
    rows = max(1, _BLOCK_CELLS // n)
    scores = np.empty(n)
    for lo in range(0, n, rows):
        hi = min(lo + rows, n)
        # summed distance of each row to every cluster, one product per block
        sums = cdist(X[lo:hi], X) @ onehot
        own = codes[lo:hi]
        idx = np.arange(hi - lo)
        own_count = counts[own]
        a = sums[idx, own] / np.maximum(own_count - 1, 1)
        means = sums / counts
        means[idx, own] = np.inf
        b = means.min(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = (b - a) / np.maximum(a, b)
        # a cluster of one has silhouette 0; so do identical points (0 / 0)
        s[(own_count == 1) | ~np.isfinite(s)] = 0.0
        scores[lo:hi] = s
    return float(scores.mean())
