"""Kernels for scipy.sparse CSR data: the counterparts of :mod:`kmeans._common`,
:mod:`kmeans._lloyd` and :mod:`kmeans._initialization` for sparse rows.

The conventions are the dense kernels': rows are read in the fixed blocks and
partitions of :class:`~kmeans._common.RowBlocks`, partial results are combined in
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

from ._common import RowBlocks
from ._initialization import _weighted_choice, draw_candidates
from ._lloyd import (
    LloydRun,
    iterate,
    new_partition_sums,
    relocate_and_average,
    relocation_inputs,
)


def row_blocks(X, width: int, pool) -> RowBlocks:
    """Blocks sized by the stored values per row, not by the number of features."""
    n_samples = X.shape[0]
    per_row = max(1, X.nnz // max(n_samples, 1))
    return RowBlocks(n_samples, width, per_row, X.dtype.itemsize, pool)


def _block_row_sq(block) -> np.ndarray:
    """``||x||^2`` of every row of a CSR block, summed in float64."""
    rows = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
    return np.bincount(rows, weights=block.data * block.data, minlength=block.shape[0])


def _dense_rows(X, indices) -> np.ndarray:
    return X[np.asarray(indices)].toarray()


def _expanded_sq(block, row_sq, neg2_t, centers_sq) -> np.ndarray:
    """``||x||^2 - 2 x.c + ||c||^2`` of a block's rows to every centre, >= 0."""
    sq = block @ neg2_t
    sq += centers_sq
    sq += row_sq[:, None]
    return np.maximum(sq, 0, out=sq)


def _centre_terms(centers: np.ndarray):
    """-2 times the transposed centres and their squared norms (float64 sums)."""
    neg2_t = np.ascontiguousarray(-2 * centers.T)
    return neg2_t, np.einsum("ij,ij->i", centers, centers, dtype=np.float64)


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


# -- assignment -------------------------------------------------------------------


def labels_inertia(
    X, centers: np.ndarray, sample_weight, pool, labels_out=None
) -> tuple[np.ndarray, float]:
    """Labels of the nearest centres and the weighted inertia (summed in float64).

    The one code path for sparse final labels, ``predict`` and ``score``.
    """
    n_samples = X.shape[0]
    neg2_t, centers_sq = _centre_terms(centers)
    labels = np.empty(n_samples, np.int32) if labels_out is None else labels_out
    blocks = row_blocks(X, centers.shape[0], pool)

    def run(start: int, stop: int) -> float:
        inertia = 0.0
        for lo, hi in blocks.blocks(start, stop):
            block = X[lo:hi]
            sq = _expanded_sq(block, _block_row_sq(block), neg2_t, centers_sq)
            block_labels = sq.argmin(axis=1)
            labels[lo:hi] = block_labels
            min_sq = sq[np.arange(hi - lo), block_labels]
            w = None if sample_weight is None else sample_weight[lo:hi]
            inertia += float(min_sq.sum() if w is None else min_sq @ w)
        return inertia

    return labels, float(sum(blocks.map(run)))


def distances(X, centers: np.ndarray, pool) -> np.ndarray:
    """Euclidean distances of every row to every centre, computed in float64 and
    returned in the centres' dtype."""
    n_samples, n_clusters = X.shape[0], centers.shape[0]
    neg2_t, centers_sq = _centre_terms(centers.astype(np.float64))
    out = np.empty((n_samples, n_clusters), centers.dtype)
    blocks = row_blocks(X, n_clusters, pool)

    def run(start: int, stop: int) -> None:
        for lo, hi in blocks.blocks(start, stop):
            block = X[lo:hi]
            sq = _expanded_sq(block, _block_row_sq(block), neg2_t, centers_sq)
            np.sqrt(sq, out=out[lo:hi])

    blocks.map(run)
    return out


# -- initialisation ---------------------------------------------------------------


def _potentials(X, row_sq, sample_weight, candidates, closest, blocks) -> np.ndarray:
    """For each candidate centre, the weighted sum over rows of
    ``min(closest, ||x - candidate||^2)``."""
    neg2_t, candidates_sq = _centre_terms(candidates)

    def run(start: int, stop: int) -> np.ndarray:
        potential = np.zeros(candidates.shape[0])
        for lo, hi in blocks.blocks(start, stop):
            sq = _expanded_sq(X[lo:hi], row_sq[lo:hi], neg2_t, candidates_sq)
            np.minimum(sq, closest[lo:hi, None], out=sq)
            w = None if sample_weight is None else sample_weight[lo:hi]
            potential += sq.sum(axis=0) if w is None else w @ sq
        return potential

    return np.sum(blocks.map(run), axis=0)


def _closest_after(X, row_sq, center, closest, blocks) -> np.ndarray:
    """``min(closest, ||x - center||^2)`` for every row (one dense centre)."""
    neg2_t, center_sq = _centre_terms(center)
    out = np.empty_like(closest)

    def run(start: int, stop: int) -> None:
        for lo, hi in blocks.blocks(start, stop):
            sq = _expanded_sq(X[lo:hi], row_sq[lo:hi], neg2_t, center_sq)[:, 0]
            np.minimum(sq, closest[lo:hi], out=out[lo:hi])

    blocks.map(run)
    return out


def kmeans_plusplus_indices(
    X, shift, sample_weight, n_clusters, rng, pool, n_local_trials=None
) -> np.ndarray:
    """Row indices chosen by greedy k-means++, drawn as the dense kernel draws them
    (same random numbers, same rule); distances in float64. ``shift`` is ignored."""
    n_samples = X.shape[0]
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    if sample_weight is not None:
        sample_weight = sample_weight / sample_weight.max()
    blocks = row_blocks(X, n_local_trials, pool)
    row_sq = np.concatenate(
        [_block_row_sq(X[lo:hi]) for lo, hi in blocks.blocks(0, n_samples)]
    )
    indices = np.empty(n_clusters, dtype=np.intp)
    indices[0] = _weighted_choice(rng, sample_weight, n_samples)
    closest = np.full(n_samples, np.inf)
    closest = _closest_after(X, row_sq, _dense_rows(X, indices[:1]), closest, blocks)
    for c in range(1, n_clusters):
        candidates = draw_candidates(rng, closest, sample_weight, n_local_trials)
        potentials = _potentials(
            X, row_sq, sample_weight, _dense_rows(X, candidates), closest, blocks
        )
        indices[c] = candidates[int(np.argmin(potentials))]
        winner = _dense_rows(X, indices[c : c + 1])
        closest = _closest_after(X, row_sq, winner, closest, blocks)
    return indices


def random_indices(X, shift, sample_weight, n_clusters, rng, pool) -> np.ndarray:
    """``n_clusters`` distinct rows, drawn with probability proportional to weight."""
    return _weighted_choice(rng, sample_weight, X.shape[0], n_clusters, replace=False)


INIT_METHODS = {"k-means++": kmeans_plusplus_indices, "random": random_indices}


def initial_rows(X, indices) -> np.ndarray:
    """The rows at ``indices`` as dense initial centres."""
    return _dense_rows(X, indices)


# -- Lloyd ------------------------------------------------------------------------


def _scatter_rows(flat, block, rows, labels, weights, width, sign) -> None:
    """Add ``sign * w * x`` of the block's ``rows`` to the flat cluster sums, and
    ``sign * w`` to their weight column."""
    part = block[rows]
    counts = np.diff(part.indptr)
    values = part.data.astype(np.float64)
    if weights is not None:
        values *= np.repeat(weights, counts)
    index = np.repeat(labels.astype(np.intp) * width, counts) + part.indices
    np.add.at(flat, index, sign * values)
    ones = np.ones(len(rows)) if weights is None else weights.astype(np.float64)
    np.add.at(flat, labels.astype(np.intp) * width + (width - 1), sign * ones)


def lloyd_pass(
    X, sample_weight, centers, labels, blocks, partition_sums, *, with_inertia=False
):
    """Assign every row to its nearest centre; update the per-partition sums with
    the rows whose label changed only (see :func:`kmeans._lloyd.lloyd_pass`).

    Returns the summed rows per cluster, the total weight per cluster, the
    inertia with respect to ``centers`` (None unless ``with_inertia``) and the
    number of rows whose label changed.
    """
    n_features = X.shape[1]
    width = n_features + 1
    neg2_t = np.ascontiguousarray(-2 * centers.T)
    centers_sq = np.einsum("ij,ij->i", centers, centers)

    def run(part: int) -> tuple[int, float]:
        start, stop = blocks.partitions[part]
        flat = partition_sums[part].ravel()
        n_changed = 0
        inertia = 0.0
        for lo, hi in blocks.blocks(start, stop):
            block = X[lo:hi]
            dots = block @ neg2_t
            dots += centers_sq
            new = dots.argmin(axis=1)
            if with_inertia:
                min_sq = dots[np.arange(hi - lo), new] + _block_row_sq(block)
                np.maximum(min_sq, 0, out=min_sq)
                w = None if sample_weight is None else sample_weight[lo:hi]
                inertia += float(min_sq.sum() if w is None else min_sq @ w)
            old = labels[lo:hi]
            moved = np.flatnonzero(old != new)
            if moved.size == 0:
                continue
            n_changed += moved.size
            w = None if sample_weight is None else sample_weight[lo:hi][moved]
            _scatter_rows(flat, block, moved, new[moved], w, width, 1.0)
            was = old[moved] >= 0
            if was.any():
                w_was = None if w is None else w[was]
                _scatter_rows(flat, block, moved[was], old[moved][was], w_was, width, -1.0)
            labels[lo:hi] = new
        return n_changed, inertia

    parts = blocks.map_indexed(run)
    total = partition_sums[0].copy()
    for sums in partition_sums[1:]:
        total += sums
    inertia = sum(p[1] for p in parts) if with_inertia else None
    n_changed = sum(p[0] for p in parts)
    return total[:, :n_features], total[:, n_features], inertia, n_changed


def _farthest_rows(X, sample_weight, centers, labels, n_rows, blocks) -> np.ndarray:
    """The ``n_rows`` rows farthest from their own centre, farthest first, ties to
    the lower index; rows at distance zero or of zero weight left out."""
    neg2_t, centers_sq = _centre_terms(centers)
    dist = np.empty(X.shape[0])

    def run(start: int, stop: int) -> None:
        for lo, hi in blocks.blocks(start, stop):
            block = X[lo:hi]
            own = labels[lo:hi]
            sq = _expanded_sq(block, _block_row_sq(block), neg2_t, centers_sq)
            dist[lo:hi] = sq[np.arange(hi - lo), own]

    blocks.map(run)
    if sample_weight is not None:
        dist[sample_weight == 0] = 0
    order = np.argsort(-dist, kind="stable")[:n_rows]
    return order[dist[order] > 0]


def update_centers(X, sample_weight, centers, labels, sums, weight_sums, blocks):
    """New centres from the cluster sums; empty clusters take the farthest rows,
    by the rule of :func:`kmeans._lloyd.update_centers`."""
    empty = np.flatnonzero(weight_sums == 0)
    if not empty.size:
        return relocate_and_average(centers, sums, weight_sums)
    far = _farthest_rows(X, sample_weight, centers, labels, empty.size, blocks)
    return relocate_and_average(
        centers,
        sums,
        weight_sums,
        empty,
        _dense_rows(X, far),
        *relocation_inputs(labels, sample_weight, far, centers.shape[0]),
    )


def kmeans_single_lloyd(
    X,
    shift,
    sample_weight,
    centers_init,
    *,
    max_iter,
    tol,
    pool,
    callback=None,
    variance=None,
) -> LloydRun:
    """One run of Lloyd's algorithm on CSR rows, with the stopping rules of
    :func:`kmeans._lloyd.kmeans_single_lloyd`; the per-iteration inertia is
    computed only when there is a callback. ``shift`` must be zero; ``variance`` is
    unused (the shift is never folded)."""
    n_samples, n_features = X.shape
    n_clusters = centers_init.shape[0]
    blocks = row_blocks(X, n_clusters, pool)
    labels = np.full(n_samples, -1, dtype=np.int32)
    partition_sums = new_partition_sums(blocks, n_clusters, n_features)

    def step(centers):
        sums, weight_sums, inertia, n_changed = lloyd_pass(
            X,
            sample_weight,
            centers,
            labels,
            blocks,
            partition_sums,
            with_inertia=callback is not None,
        )
        new_centers = update_centers(
            X, sample_weight, centers, labels, sums, weight_sums, blocks
        )
        return new_centers, n_changed, inertia

    return iterate(step, centers_init, max_iter=max_iter, tol=tol, callback=callback)
