"""Comparing clusterings: the Centroid Index."""

from __future__ import annotations

import numpy as np

from ._core.kernel import nearest, pairwise_sq
from ._validation import check_array

__all__ = ["centroid_index"]

# Rows of A per block of the distance matrix (bounds the scratch memory).
_BLOCK_ROWS = 1024


def _nearest_rows(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Index of the nearest row of B for each row of A (ties: the lowest index)."""
    labels = np.empty(A.shape[0], np.intp)
    for lo in range(0, A.shape[0], _BLOCK_ROWS):
        labels[lo : lo + _BLOCK_ROWS] = nearest(
            pairwise_sq(A[lo : lo + _BLOCK_ROWS], B), values=False
        )[0]
    return labels


def _orphans(A: np.ndarray, B: np.ndarray) -> int:
    """Centroids of B that no centroid of A has as its nearest."""
    return B.shape[0] - np.unique(_nearest_rows(A, B)).size


def centroid_index(A, B) -> int:
    """Centroid Index (CI) between two sets of centroids.

    Each centroid of ``A`` is mapped to its nearest centroid of ``B``; the
    centroids of ``B`` that nothing maps to are orphans. CI is the larger of the
    orphan counts in the two directions (Fränti, Rezaei & Zhao, 2014). With
    ``B`` the ground truth, CI is the number of true clusters that were missed
    (and that many centres are spent elsewhere): 0 means every cluster was found.

    Parameters
    ----------
    A : array-like of shape (n_centroids_a, n_features)
        One set of centroids, e.g. ``KMeans.cluster_centers_``.
    B : array-like of shape (n_centroids_b, n_features)
        The other set, e.g. the ground truth. The two sets may differ in size.

    Returns
    -------
    ci : int
        The Centroid Index, between 0 and ``max(n_centroids_a, n_centroids_b) - 1``.

    Notes
    -----
    Distances are Euclidean, computed in float64; a centroid equidistant from
    several goes to the first of them. Cost O(n_centroids_a * n_centroids_b *
    n_features).

    References
    ----------
    P. Fränti, M. Rezaei and Q. Zhao, "Centroid index: cluster level similarity
    measure", Pattern Recognition 47(9):3034-3045, 2014.

    Examples
    --------
    >>> from kmeans import centroid_index
    >>> truth = [[0, 0], [10, 0], [20, 0]]
    >>> found = [[0, 0], [1, 0], [20, 0]]  # two centres at 0, none at 10
    >>> centroid_index(found, truth)
    1
    >>> centroid_index(truth, truth)
    0
    """
    owner = "centroid_index"
    A = check_array(A, owner=owner, name="A").astype(np.float64, copy=False)
    B = check_array(B, owner=owner, name="B").astype(np.float64, copy=False)
    if A.shape[1] != B.shape[1]:
        raise ValueError(
            f"A and B must have the same number of features; got A with {A.shape[1]} "
            f"and B with {B.shape[1]}."
        )
    return int(max(_orphans(A, B), _orphans(B, A)))
