"""Whole-array passes over scipy.sparse CSR data: the twins of
:mod:`kmeans._core.dense` and the data statistics.

The kernel is the dense one (:mod:`kmeans._core.kernel`, which takes CSR rows),
and so are the Lloyd pass, the update and k-means++, which read CSR blocks where
they read dense ones. The conventions are the dense kernels': rows are read in
the fixed blocks and partitions of :class:`~kmeans._core.blocks.RowBlocks`,
partial results are combined in
partition order (so results do not depend on the number of threads), and nothing
here validates its input. What differs:

- The data are **not centred** (as in scikit-learn): subtracting the column means
  would make every entry non-zero. ``shift`` arguments are accepted for the dense
  kernels' signatures and must be zero; the expanded distance
  ``||x||^2 - 2 x.c + ||c||^2`` then loses precision when the data lie far from the
  origin relative to their spread, which sparse data (mostly zeros) rarely do.
- A block of rows is a CSR slice ``X[lo:hi]`` (a copy of that block's stored
  values only); the cross term is the sparse-dense product ``X[lo:hi] @ C.T`` and
  row norms come from the stored values. No row of X is ever made dense, except
  the few chosen as initial centres or as new homes of empty clusters.
"""

from __future__ import annotations

import numpy as np

from .blocks import RowBlocks
from .kernel import all_sq, centre_terms, nearest, partial_sq, row_norms_sq


def row_blocks(X, width: int, pool, **options) -> RowBlocks:
    """Blocks sized by the stored values per row, not by the number of features
    (``options``: of :class:`RowBlocks`)."""
    n_samples = X.shape[0]
    per_row = max(1, X.nnz // max(n_samples, 1))
    return RowBlocks(n_samples, width, per_row, X.dtype.itemsize, pool, **options)


# -- statistics -----------------------------------------------------------------


def column_mean(X, pool) -> np.ndarray:
    """Zeros: sparse data are not centred. For the dense kernels' signature."""
    return np.zeros(X.shape[1], X.dtype)


def mean_variance(X, shift, pool) -> float:
    """Mean over features of the (population) variance of each feature.

    Each column's implicit zeros count as ``(0 - mean)^2``. ``shift`` is ignored.
    """
    n_samples, n_features = X.shape
    blocks = row_blocks(X, 1, pool)

    def column_sums(values_of) -> np.ndarray:
        """Per column: the sum of ``values_of(values, columns)`` over stored values."""

        def run(start: int, stop: int) -> np.ndarray:
            span = slice(X.indptr[start], X.indptr[stop])
            columns = X.indices[span]
            values = values_of(X.data[span], columns)
            return np.bincount(columns, weights=values, minlength=n_features)

        return np.sum(blocks.map(run), axis=0)

    mean = column_sums(lambda values, cols: values) / n_samples
    stored = column_sums(lambda values, cols: np.ones(len(values)))
    square = column_sums(lambda values, cols: (values - mean[cols]) ** 2)
    variance = (square + (n_samples - stored) * mean**2) / n_samples
    return float(variance.mean())


# -- assignment ---------------------------------------------------------------


def labels_inertia(
    X, centers: np.ndarray, sample_weight, pool, labels_out=None
) -> tuple[np.ndarray, float]:
    """Labels of the nearest centres and the weighted inertia (summed in float64).

    The one code path for sparse final labels, ``predict`` and ``score``.
    """
    n_samples = X.shape[0]
    neg2_t, centers_sq = centre_terms(centers, np.float64)
    labels = np.empty(n_samples, np.int32) if labels_out is None else labels_out
    blocks = row_blocks(X, centers.shape[0], pool)

    def run(start: int, stop: int) -> float:
        inertia = 0.0
        for lo, hi in blocks.blocks(start, stop):
            block = X[lo:hi]
            partial = partial_sq(block, neg2_t, centers_sq)
            block_labels, min_sq, _ = nearest(partial, row_norms_sq(block))
            labels[lo:hi] = block_labels
            w = None if sample_weight is None else sample_weight[lo:hi]
            inertia += float(min_sq.sum() if w is None else min_sq @ w)
        return inertia

    return labels, float(sum(blocks.map(run)))


def distances(X, centers: np.ndarray, pool) -> np.ndarray:
    """Euclidean distances of every row to every centre, computed in float64 and
    returned in the centres' dtype."""
    n_samples, n_clusters = X.shape[0], centers.shape[0]
    neg2_t, centers_sq = centre_terms(centers.astype(np.float64))
    out = np.empty((n_samples, n_clusters), centers.dtype)
    blocks = row_blocks(X, n_clusters, pool)

    def run(start: int, stop: int) -> None:
        for lo, hi in blocks.blocks(start, stop):
            block = X[lo:hi]
            sq = all_sq(partial_sq(block, neg2_t, centers_sq), row_norms_sq(block)[:, None])
            np.sqrt(sq, out=out[lo:hi])

    blocks.map(run)
    return out
