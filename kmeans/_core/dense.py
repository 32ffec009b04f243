"""Whole-array passes of the assignment kernel over dense X: final labels,
``predict``, ``score`` and ``transform``.

Data and centres are shifted by the centres' mean (derived from the centres
alone, so that ``predict`` gives the same labels whatever else was fitted) to
keep the expanded distance accurate far from the origin. Prior validation is
assumed.
"""

from __future__ import annotations

import numpy as np

from .blocks import RowBlocks, centres_shift, scratch, shifted_block, take_rows
from .kernel import (
    all_sq,
    by_centres,
    by_columns,
    centre_terms,
    column_coefficients,
    column_rows,
    nearest,
    nearest_columns,
    partial_sq,
    row_norms_sq,
)


def labels_inertia(
    X: np.ndarray,
    centers: np.ndarray,
    sample_weight: np.ndarray | None,
    pool,
    labels_out: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Labels of the nearest centres and the exact weighted inertia.

    This is the one code path for final labels, ``predict`` and ``score``, so that
    they agree bit for bit; the inertia is summed from ``(x - c)**2``, in float64
    (float32 squares of values near 1e19 overflow).
    """
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    # the centres' own spread sets the shift's grid: integer centres and rows
    # keep their exact ties (blocks.exact_shift)
    shift = centres_shift(centers)
    shifted = centers - shift
    columns = by_columns(n_features, n_clusters)
    if columns:
        coef = column_coefficients(shifted, centers.dtype)
        shifted_t = np.ascontiguousarray(shifted.T)
    else:
        neg2_t, centers_sq = centre_terms(shifted)
    centres_first = by_centres(n_features, n_clusters, centers.dtype)
    labels = np.empty(n_samples, np.int32) if labels_out is None else labels_out
    blocks = RowBlocks(n_samples, n_clusters, n_features, centers.itemsize, pool)

    def run(start: int, stop: int) -> float:
        # buffers in the centres' dtype: X of another float dtype is cast block by block
        Xs = scratch(blocks, n_features + 2 * columns, centers.dtype)
        dots = scratch(blocks, n_clusters, centers.dtype)
        inertia = 0.0
        for lo, hi in blocks.blocks(start, stop):
            if columns:
                xs = column_rows(X, lo, hi, shift, Xs.ravel())
                dist = dots.ravel()[: n_clusters * (hi - lo)].reshape(n_clusters, -1)
                partial_sq(coef, xs, out=dist)
                block_labels = nearest_columns(dist, values=False)[0]
                xs = xs[:n_features]
                # take along axis 1: 6x faster than fancy indexing [:, labels]
                xs -= np.take(shifted_t, block_labels, axis=1)
                # summed down the columns: transposed to rows first, as below,
                # the copy alone took half the pass (2 features)
                sq = np.einsum("ij,ij->j", xs, xs, dtype=np.float64)
            else:
                xs = shifted_block(X, lo, hi, shift, Xs)
                partial = partial_sq(
                    xs,
                    neg2_t,
                    centers_sq,
                    out=dots[: hi - lo],
                    centres_first=centres_first,
                )
                block_labels = nearest(partial, values=False)[0]
                xs -= shifted[block_labels]
                sq = np.einsum("ij,ij->i", xs, xs, dtype=np.float64)
            labels[lo:hi] = block_labels
            w = None if sample_weight is None else sample_weight[lo:hi]
            inertia += float(sq.sum() if w is None else sq @ w)
        return inertia

    return labels, float(sum(blocks.map(run)))


def distances(X: np.ndarray, centers: np.ndarray, pool) -> np.ndarray:
    """Euclidean distances of every row to every centre, shape (n_samples, n_clusters).

    Computed in float64 block by block whatever the dtype (near-zero distances lose
    most of their digits to the expanded form in float32), and returned in the
    centres' dtype. The distance to the nearest centre is recomputed from the
    differences, so that it is exact where it matters most: a row on a centre is
    at distance zero.
    """
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    centers64 = centers.astype(np.float64)
    shift = centers64.mean(axis=0)
    shifted = centers64 - shift
    neg2_t, centers_sq = centre_terms(shifted)
    out = np.empty((n_samples, n_clusters), centers.dtype)
    blocks = RowBlocks(n_samples, n_clusters, n_features, 8, pool)

    def run(start: int, stop: int) -> None:
        Xs = scratch(blocks, n_features, np.float64)
        dots = scratch(blocks, n_clusters, np.float64)
        for lo, hi in blocks.blocks(start, stop):
            xs = shifted_block(X, lo, hi, shift, Xs)
            partial = partial_sq(xs, neg2_t, centers_sq, out=dots[: hi - lo])
            block = all_sq(partial, row_norms_sq(xs)[:, None])
            own = nearest(block, values=False)[0]
            xs -= take_rows(shifted, own)
            block[np.arange(hi - lo), own] = row_norms_sq(xs)
            np.sqrt(block, out=out[lo:hi])

    blocks.map(run)
    return out
