"""The centre update: per-cluster sums by scatter-add, and new centres from them.

Sums are kept per partition of rows (:class:`~kmeans._core.blocks.RowBlocks`),
in float64 whatever the data's dtype, and added in partition order, so that
they do not depend on the number of threads. Row ``j`` of a sums array holds the
weighted sum of the rows labelled ``j`` and, in its last column, their total
weight. Empty clusters are moved onto the rows farthest from their centre, as
scikit-learn does. Prior validation is assumed; dense rows are in the shifted
frame, CSR rows are not shifted.
"""

from __future__ import annotations

import numpy as np

from .blocks import RowBlocks, is_sparse, rows_of, scratch, shifted_block, take_rows
from .cosine import own_dots
from .kernel import all_sq, centre_terms, partial_sq, row_norms_sq

# Up to this many columns, fresh sums are one bincount per column (4x faster
# than the flat np.add.at at 2 columns: shared/reference/measurements.md).
_FEW_COLUMNS = 8


def add_rows(sums: np.ndarray, rows: np.ndarray, labels, *, fresh: bool = False):
    """Add each of ``rows`` to the row of ``sums`` (float64, C-ordered) named by
    its label, in place. ``fresh``: ``sums`` holds zeros, and may be filled by
    bincount, which adds in the same order (the same bits) and faster.
    """
    n_clusters, width = sums.shape
    if fresh and width <= _FEW_COLUMNS:
        for j in range(width):
            sums[:, j] = np.bincount(labels, rows[:, j], n_clusters)
        return
    # The flat 1-D form of np.add.at: 3-5x faster than add.at(sums, labels, rows)
    # (shared/reference/measurements.md). Values are cast first: add.at's own
    # float32 -> float64 casting path is 40x slower (measured, NumPy 2.4).
    index = _flat_index(labels, width)
    values = rows.astype(np.float64, copy=False)
    if fresh:
        sums.ravel()[:] = np.bincount(index.ravel(), values.ravel(), sums.size)
    else:
        np.add.at(sums.ravel(), index.ravel(), values.ravel())


# Up to this many clusters, :func:`move_rows` is one product with a signed one-hot
# matrix rather than two np.add.at: measured 0.14-0.97x their time from 33 to 785
# columns, 8 to 64 clusters and 200 to 2000 rows, and 1-2x slower from 100
# clusters on (one thread, float64; README, Performance).
_ONE_HOT_MAX_CLUSTERS = 64


# Up to this many columns (3 features and the weights), :func:`move_rows` is two
# bincounts per column: 0.2-0.75x the time of the one-hot product from 200 to
# 20,000 rows and 8 to 64 clusters, whose cost grows with the clusters (one
# thread, float64, rows C- or F-ordered). From 9 columns on it lost at 200-2,000
# rows.
_BINCOUNT_MAX_WIDTH = 4


# :func:`move_rows` is one sparse product from this many values moved (rows times
# columns) where it would use np.add.at, and from this many entries of the dense
# one-hot matrix (rows times clusters) where it would use that: measured
# 0.09-0.63x their time beyond these sizes, from 9 to 785 columns and 8 to 256
# clusters, and up to 3x slower below them, where building the sparse matrix
# dominates (one thread, float64, 50 to 20,000 rows).
_SPARSE_MIN_VALUES = 16384
_SPARSE_MIN_ONE_HOT = 65536


def move_rows(sums: np.ndarray, rows: np.ndarray, new, old=None, weights=None) -> None:
    """Add each of ``rows`` times its weight to the row of ``sums`` named by
    ``new`` and take it from the one named by ``old`` (not where ``old`` is
    negative: rows not assigned yet; None: none), in place.

    ``sums`` is float64, C-ordered, one column more than ``rows``: the total
    weight. ``weights`` (one per row; None: all 1) multiply in float64, where
    the products of float32 rows and weights are exact.

    Narrow rows go by bincounts, a column at a time. Otherwise the signed one-hot
    matrix (the weight at ``new``, minus it at ``old``, a column per row)
    multiplies the rows: as a sparse matrix for many rows (scipy adds each row to
    its clusters in row order, on one thread), else, with few clusters, as a
    dense one, whose rounding depends on the BLAS threads (callers hold BLAS to
    one thread, as for the float64 distances). The weights ride in the one-hot
    matrix rather than in a weighted copy of the rows, whose extra column would
    slow the product (README, Performance).
    """
    n_clusters, width = sums.shape
    w = np.ones(len(new)) if weights is None else weights.astype(np.float64, copy=False)
    taken = None  # the rows that leave a cluster (old >= 0)
    if old is not None:
        was = old >= 0
        taken = slice(None) if was.all() else np.flatnonzero(was)
        old = old[taken]
    one_hot = n_clusters <= _ONE_HOT_MAX_CLUSTERS
    by_product = width > _BINCOUNT_MAX_WIDTH and (
        one_hot or len(new) * width >= _SPARSE_MIN_VALUES
    )
    if by_product:
        # BLAS rounds an F-ordered operand differently: C order, so that the
        # bits do not depend on which caller (Lloyd or the bounds) moved the rows
        values = np.ascontiguousarray(rows, dtype=np.float64)
        if len(new) * (n_clusters if one_hot else width) >= (
            _SPARSE_MIN_ONE_HOT if one_hot else _SPARSE_MIN_VALUES
        ):
            signs = _signed_one_hot(n_clusters, new, old, taken, w)
        else:
            every = np.arange(len(new))
            signs = np.zeros((n_clusters, len(new)))
            signs[new, every] = w
            if old is not None:
                signs[old, every[taken]] -= w[taken]
        # BLAS may raise the invalid flag on finite operands (kernel.partial_sq)
        with np.errstate(invalid="ignore"):
            sums[:, :-1] += signs @ values
        weight = np.bincount(new, w, n_clusters)
        if old is not None:
            weight -= np.bincount(old, w[taken], n_clusters)
        sums[:, -1] += weight
        return
    # [w x, w]: rows times their weights, and the weights
    values = np.empty((len(new), width))
    if weights is None:
        values[:, :-1] = rows
    else:
        np.multiply(rows, w[:, None], out=values[:, :-1])
    values[:, -1] = w
    if width <= _BINCOUNT_MAX_WIDTH:
        for j in range(width):
            column = np.bincount(new, values[:, j], n_clusters)
            if old is not None:
                column -= np.bincount(old, values[taken, j], n_clusters)
            sums[:, j] += column
        return
    add_rows(sums, values, new)
    if old is not None:
        # subtract.at: the bits of add.at of -values, without their copy
        gone = values[taken].ravel()
        np.subtract.at(sums.ravel(), _flat_index(old, width).ravel(), gone)


def _signed_one_hot(n_clusters: int, new, old, taken, weights):
    """The sparse (n_clusters, len(new)) matrix with ``weights`` at ``new`` in
    each column and minus them at ``old`` in the columns ``taken`` (see
    :func:`move_rows`)."""
    # scipy on first use: `import kmeans` stays without it (a light start)
    from scipy import sparse

    n_rows = len(new)
    counts = np.ones(n_rows, np.intp)
    if old is not None:
        counts[taken] += 1
    indptr = np.zeros(n_rows + 1, np.intp)
    np.cumsum(counts, out=indptr[1:])
    indices = np.empty(indptr[-1], np.intp)
    data = np.empty(indptr[-1])
    indices[indptr[:-1]] = new
    data[indptr[:-1]] = weights
    if old is not None:
        second = indptr[:-1][taken] + 1
        indices[second] = old
        data[second] = -weights[taken]
    return sparse.csc_array((data, indices, indptr), shape=(n_clusters, n_rows))


def _flat_index(labels, width: int) -> np.ndarray:
    """The positions in a flat C-ordered (n_clusters, width) array of the rows
    named by ``labels``, one row of ``width`` positions per label."""
    return labels[:, None] * width + np.arange(width)


def add_sparse_rows(sums, block, rows, labels, weights, sign: float = 1.0) -> None:
    """``sign * w * x`` of the CSR ``block``'s ``rows`` added to their labels' row
    of ``sums``, and ``sign * w`` to its weight column."""
    width = sums.shape[1]
    flat = sums.ravel()
    part = block[rows]
    counts = np.diff(part.indptr)
    values = part.data.astype(np.float64)
    if weights is not None:
        values *= np.repeat(weights, counts)
    index = np.repeat(labels.astype(np.intp) * width, counts) + part.indices
    np.add.at(flat, index, sign * values)
    ones = np.ones(len(rows)) if weights is None else weights.astype(np.float64)
    np.add.at(flat, labels.astype(np.intp) * width + (width - 1), sign * ones)


# Every partition of a Lloyd run keeps sums of (k, d + 1) float64: for CSR rows
# of a large vocabulary these, not X, would fill memory (100,000 x 100,000 at
# 0.05%, k = 100: 2.7 GB in 28 partitions for 49 MB of X). At most this many
# bytes of them: fewer partitions (a choice that does not depend on threads).
_PARTITION_SUMS_BYTES = 256 * 2**20


def sum_partitions(n_clusters: int, n_features: int, most: int) -> int:
    """How many partitions (at most ``most``) may each keep sums of ``n_clusters``
    rows of ``n_features + 1`` float64 within :data:`_PARTITION_SUMS_BYTES`."""
    each = n_clusters * (n_features + 1) * 8
    return int(max(1, min(most, _PARTITION_SUMS_BYTES // each)))


def new_partition_sums(blocks: RowBlocks, n_clusters: int, n_features: int) -> list:
    """Empty per-partition cluster sums, kept between Lloyd passes."""
    return [np.zeros((n_clusters, n_features + 1)) for _ in blocks.partitions]


def total(partition_sums: list) -> tuple[np.ndarray, np.ndarray]:
    """The sums of every partition, added in partition order: the summed rows
    and the total weight of each cluster."""
    result = partition_sums[0].copy()
    for sums in partition_sums[1:]:
        result += sums
    return result[:, :-1], result[:, -1]


def _own_sq_dense(X, shift, centers, labels, lo, hi, buffer):
    diff = shifted_block(X, lo, hi, shift, buffer)
    diff -= take_rows(centers, labels[lo:hi])
    return np.einsum("ij,ij->i", diff, diff)


def _own_sq_sparse(X, neg2_t, centers_sq, labels, lo, hi):
    block = X[lo:hi]
    sq = all_sq(partial_sq(block, neg2_t, centers_sq), row_norms_sq(block)[:, None])
    return sq[np.arange(hi - lo), labels[lo:hi]]


def _own_cosine(X, centers, labels, row_scale, lo, hi):
    """``1 - cos`` of rows ``lo:hi`` to their own (unit) centre."""
    return 1.0 - own_dots(X[lo:hi], centers, labels[lo:hi]) * row_scale[lo:hi]


def farthest_candidates(
    X, shift, sample_weight, centers, labels, n_rows, blocks, row_scale=None
):
    """Rows that may be among the ``n_rows`` farthest from their own centre: the
    farthest of every block, ties at the cut included. Returns their indices and
    squared distances, for :func:`pick_farthest`. Rows of zero weight count as
    absent (weights act as repetitions): their distance is given as zero. Dense
    rows are measured from the differences; CSR rows by the expanded distance.
    With ``row_scale`` (``1/||x||``, cosine runs) the measure is ``1 - cos``.
    """
    sparse = is_sparse(X)
    if sparse:
        neg2_t, centers_sq = centre_terms(centers, np.float64)

    def run(start: int, stop: int):
        buffer = None if sparse else scratch(blocks, X.shape[1], X.dtype)
        candidates, values = [], []
        for lo, hi in blocks.blocks(start, stop):
            if row_scale is not None:
                dist = _own_cosine(X, centers, labels, row_scale, lo, hi)
            elif sparse:
                dist = _own_sq_sparse(X, neg2_t, centers_sq, labels, lo, hi)
            else:
                dist = _own_sq_dense(X, shift, centers, labels, lo, hi, buffer)
            if sample_weight is not None:
                dist[sample_weight[lo:hi] == 0] = 0
            keep = min(n_rows, hi - lo)
            # every row at least as far as the keep-th farthest: ties at the cut
            # are all kept, so that the lowest index wins them below
            cut = np.partition(dist, hi - lo - keep)[hi - lo - keep]
            top = np.flatnonzero(dist >= cut)
            candidates.append(top + lo)
            values.append(dist[top])
        return np.concatenate(candidates), np.concatenate(values)

    parts = blocks.map(run)
    if not parts:
        return np.empty(0, np.intp), np.empty(0, X.dtype)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def pick_farthest(index, dist, n_rows) -> np.ndarray:
    """Positions in ``index`` of the ``n_rows`` farthest candidates, farthest first,
    ties broken by the lower index; candidates at distance zero are left out."""
    order = np.lexsort((index, -dist))[:n_rows]
    return order[dist[order] > 0]


def relocation_inputs(labels, sample_weight, far, n_clusters):
    """What :func:`relocate_and_average` needs to know of the labels: those of the
    ``far`` rows, their weights and the number of rows of positive weight left in
    each cluster."""
    counted = labels if sample_weight is None else labels[sample_weight > 0]
    rows_left = np.bincount(counted, minlength=n_clusters)
    far_weights = None if sample_weight is None else sample_weight[far]
    return labels[far], far_weights, rows_left


def update_centers(
    X, shift, sample_weight, centers, labels, sums, weight_sums, blocks, row_scale=None
):
    """New centres from the cluster sums; empty clusters take the farthest rows.

    An empty cluster (total weight exactly zero) is moved, in index order, to the
    rows farthest from their assigned centre, as scikit-learn does: the row's
    weight and coordinates leave its own cluster's sums. Those rows keep their
    label until the next assignment. A cluster that is left with no row of
    positive weight, or that no row could fill, keeps its centre. With
    ``row_scale`` (cosine runs) the farthest rows are those of least cosine
    similarity (the caller normalises the centres).
    """
    empty = np.flatnonzero(weight_sums == 0)
    if not empty.size:
        return relocate_and_average(centers, sums, weight_sums)
    index, dist = farthest_candidates(
        X, shift, sample_weight, centers, labels, empty.size, blocks, row_scale
    )
    far = index[pick_farthest(index, dist, empty.size)]
    return relocate_and_average(
        centers,
        sums,
        weight_sums,
        empty,
        rows_of(X, far) - shift,
        *relocation_inputs(labels, sample_weight, far, centers.shape[0]),
    )


def relocate_and_average(
    centers,
    sums,
    weight_sums,
    empty=(),
    far_rows=(),
    far_labels=(),
    far_weights=None,
    rows_left=None,
):
    """The end of :func:`update_centers`, whatever the kind of X and wherever it
    lives: the ``empty`` clusters take the ``far_rows`` (dense and shifted; their
    labels, weights and the rows of positive weight left per cluster come from
    :func:`relocation_inputs`), then every filled cluster's centre is its sum over
    its weight. ``sums`` and ``weight_sums`` are modified."""
    # Rows left per cluster are counted rather than read off the weights: taking
    # every row out of a cluster leaves a rounding residue, not a zero, in its
    # weight, and residue / residue would be a centre anywhere.
    for i, (cluster, x) in enumerate(zip(empty, far_rows)):
        w = 1.0 if far_weights is None else float(far_weights[i])
        contribution = x * x.dtype.type(w)
        old = far_labels[i]
        sums[old] -= contribution
        weight_sums[old] -= w
        rows_left[old] -= 1
        if rows_left[old] == 0:
            sums[old] = 0
            weight_sums[old] = 0
        sums[cluster] = contribution
        weight_sums[cluster] = w
    new_centers = centers.copy()
    filled = weight_sums > 0
    new_centers[filled] = sums[filled] / weight_sums[filled, None]
    return new_centers
