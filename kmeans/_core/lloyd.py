"""Lloyd's algorithm: one assignment + update pass over the data, and a whole run.

All arrays here are in the shifted frame: the centres passed in and returned are
``centre - shift``, where ``shift`` is the data mean the caller chose. Prior
validation of every argument is assumed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import cosine, sparse
from .blocks import (
    MAX_PARTITIONS,
    RowBlocks,
    is_sparse,
    mean_variance,
    scratch,
    shifted_block,
    take_rows,
)
from .kernel import (
    augmented_coefficients,
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
from .update import (
    add_sparse_rows,
    move_rows,
    new_partition_sums,
    sum_partitions,
    total,
    update_centers,
)


@dataclass
class LloydRun:
    """What one run of Lloyd's algorithm returns (centres in the shifted frame)."""

    centers: np.ndarray
    n_iter: int
    stop_reason: str


def _augment(X, lo, hi, shift, out):
    """``[x - shift, 1]`` for rows ``lo:hi`` of X, into ``out``."""
    shifted_block(X, lo, hi, shift, out[:, :-1])
    out[:, -1] = 1


def lloyd_pass(
    X,
    shift,
    sample_weight,
    centers,
    labels,
    blocks: RowBlocks,
    *,
    partition_sums: list | None = None,
    with_inertia: bool = True,
    fold_shift: bool = False,
    row_terms=None,
):
    """Assign every row to its nearest centre and sum the rows per cluster.

    ``labels`` is updated in place (-1 means "not assigned yet"). With
    ``partition_sums`` (from :func:`~kmeans._core.update.new_partition_sums`, kept
    between passes and consistent with ``labels``) only the rows whose label
    changed are added to their new cluster and taken from their old one: after
    the first iterations few rows move, so the update costs almost nothing.
    Without it the sums are computed from scratch. Partitions are fixed, so
    either way the result does not depend on the number of threads.

    Each block is normally centred into a scratch buffer with a column of ones, so
    that one product gives ``||c||^2 - 2 (x - shift).c``. With ``fold_shift`` the
    rows of X are multiplied as they are and the shift is folded into a constant
    per centre: no copy of the block, only of the rows that moved; worth it when
    rows are longer than the number of centres, and accurate only where the shift
    is small beside the spread of the data (see :func:`can_fold_shift`).

    ``row_terms`` (one per row) make the pass spherical (the cosine runs' terms,
    see :func:`kmeans_single_lloyd`): they replace ``||x - shift||^2`` in the
    inertia, and the unit centres' ``||c||^2`` is replaced by ``||c||^2 - 1``,
    taken as exactly 0 (:func:`~kmeans._core.cosine.unit_terms`), so that the
    rows are measured by ``-2 x.c`` alone, whatever their norm.

    Returns the weighted sums of the shifted rows per cluster, the total weight per
    cluster (float64), the inertia with respect to ``centers`` (None unless
    ``with_inertia``) and the number of rows whose label changed.
    """
    n_features = X.shape[1]
    n_clusters = centers.shape[0]
    width = n_features + 1
    sparse_rows = is_sparse(X)
    # the column layout (kernel.by_columns); its distances include ||x - shift||^2
    columns = (
        not (sparse_rows or fold_shift)
        and row_terms is None
        and by_columns(n_features, n_clusters)
    )
    if columns:
        coef = column_coefficients(centers, X.dtype)
    elif sparse_rows:
        # CSR rows are not centred (see kmeans/_core/sparse.py): x against -2 C^T
        terms = centre_terms if row_terms is None else cosine.unit_terms
        coef, constant = terms(centers)
    else:
        coef = augmented_coefficients(centers, X.dtype)  # multiplies [x - shift, 1]
        if row_terms is not None:
            coef[n_features] = 0  # ||c||^2 - 1 of unit centres
    if fold_shift:
        neg2_t = np.ascontiguousarray(coef[:n_features])
        # ||c||^2 + 2 shift.c; nothing for spherical runs (zero shift, unit centres)
        constant = None if row_terms is not None else coef[n_features] - shift @ neg2_t
        # X's own rows only when they are laid out as a C-ordered copy would be:
        # BLAS rounds other layouts differently, and results must not depend on it
        rows_in_place = X.flags.c_contiguous
    centres_first = not (sparse_rows or columns) and by_centres(
        n_features, n_clusters, X.dtype
    )
    stateless = partition_sums is None
    # moved rows are taken from X as they are where there is nothing to subtract
    zero_shift = not np.any(shift)
    if stateless:
        partition_sums = [None] * len(blocks.partitions)

    def run(part: int):
        start, stop = blocks.partitions[part]
        sums = partition_sums[part]
        if sums is None:
            sums = np.zeros((n_clusters, width))
        augmented = None if sparse_rows or columns else scratch(blocks, width, X.dtype)
        dots = None if sparse_rows else scratch(blocks, n_clusters, X.dtype)
        if columns:
            column_buffer = np.empty((n_features + 2) * blocks.block_rows, X.dtype)
        raw = (
            None
            if not fold_shift or rows_in_place
            else scratch(blocks, n_features, X.dtype)
        )
        inertia = 0.0
        n_changed = 0
        for lo, hi in blocks.blocks(start, stop):
            row_sq = None
            centred = False
            if columns:
                by_column = column_rows(X, lo, hi, shift, column_buffer)
                dist = dots.ravel()[: n_clusters * (hi - lo)].reshape(n_clusters, -1)
                partial_sq(coef, by_column, out=dist)
                new, min_sq = nearest_columns(dist, values=with_inertia)
            elif sparse_rows:
                block = X[lo:hi]
                block_dots = partial_sq(block, coef, constant)
                if with_inertia:
                    row_sq = row_norms_sq(block) if row_terms is None else row_terms[lo:hi]
            else:
                xa = augmented[: hi - lo]
                centred = not fold_shift
                if fold_shift:
                    if raw is None:
                        rows = X[lo:hi]
                    else:
                        rows = raw[: hi - lo]
                        np.copyto(rows, X[lo:hi])
                    block_dots = partial_sq(
                        rows,
                        neg2_t,
                        constant,
                        out=dots[: hi - lo],
                        centres_first=centres_first,
                    )
                if centred or with_inertia:
                    _augment(X, lo, hi, shift, xa)
                    centred = True
                if not fold_shift:
                    block_dots = partial_sq(
                        xa, coef, out=dots[: hi - lo], centres_first=centres_first
                    )
                if with_inertia:
                    row_sq = (
                        row_norms_sq(xa[:, :n_features])
                        if row_terms is None
                        else row_terms[lo:hi]
                    )
            if not columns:
                new, min_sq, _ = nearest(block_dots, row_sq, values=with_inertia)
            w = None if sample_weight is None else sample_weight[lo:hi]
            if with_inertia:
                inertia += float(min_sq.sum() if w is None else min_sq @ w)
            old = labels[lo:hi]
            moved = np.flatnonzero(old != new)
            n_changed += moved.size
            if moved.size == 0 and not stateless:
                continue
            if sparse_rows:
                _move_sparse(sums, block, moved, new, old, w)
                labels[lo:hi] = new
                continue
            every_row = stateless or moved.size == hi - lo
            if every_row and columns:
                moved_rows = by_column[:n_features].T  # x - shift, F-ordered
            elif every_row:
                if centred:
                    moved_rows = xa[:, :n_features]
                elif zero_shift:
                    moved_rows = X[lo:hi]
                else:
                    moved_rows = shifted_block(X, lo, hi, shift, xa[:, :n_features])
            elif centred:
                moved_rows = take_rows(xa, moved)[:, :n_features]
            elif columns:
                # the block's columns hold x - shift already: a gather along
                # contiguous rows, not of short rows of X
                moved_rows = by_column[:n_features].take(moved, axis=1).T
            else:
                moved_rows = take_rows(X, lo + moved)  # a copy
                if not zero_shift:
                    moved_rows -= shift
            if every_row:
                new_moved, old_moved = new, old.astype(np.intp)
            else:
                new_moved, old_moved = new[moved], old[moved].astype(np.intp)
                w = None if w is None else w[moved]
            move_rows(sums, moved_rows, new_moved, None if stateless else old_moved, w)
            labels[lo:hi] = new
        return sums, inertia, n_changed

    parts = blocks.map_indexed(run)
    for part, (sums, _, _) in enumerate(parts):
        partition_sums[part] = sums
    inertia = sum(p[1] for p in parts) if with_inertia else None
    n_changed = sum(p[2] for p in parts)
    return (*total(partition_sums), inertia, n_changed)


def _move_sparse(sums, block, moved, new, old, w) -> None:
    """Move the CSR ``block``'s ``moved`` rows from their ``old`` cluster's sums
    (where they had one) to their ``new`` one's."""
    w = None if w is None else w[moved]
    add_sparse_rows(sums, block, moved, new[moved], w)
    was = old[moved] >= 0
    if was.any():
        w_was = None if w is None else w[was]
        add_sparse_rows(sums, block, moved[was], old[moved][was], w_was, -1.0)


def can_fold_shift(
    dtype, n_features: int, n_clusters: int, shift, variance, *, spherical=False
) -> bool:
    """Whether :func:`lloyd_pass` may multiply the rows without centring them.

    Spherical runs always do: they are not centred, and folding their zero shift
    is exact. Otherwise it is worth it when a row is longer than a row of
    distances (measured 0.74-0.90x the time of a pass at d > k), and accurate
    enough in float64 when the shift is within 1e3 spreads of the data: products
    lose log10 of that ratio in digits, 3 of 16. float32 is always centred, to
    keep its 7 digits. ``variance`` is X's mean variance about ``shift``, or a
    function that computes it (called only if the answer depends on it).
    """
    if spherical:
        return True
    if np.dtype(dtype) != np.float64 or n_clusters >= n_features:
        return False
    if callable(variance):
        variance = variance()
    return float(shift @ shift) <= 1e6 * variance * n_features


def why_stop(callback, iteration, inertia, center_shift, n_changed, tol):
    """Why a run stops after this iteration, or None to go on.

    The callback (if any) is called first and may stop the run; then a run stops
    when no label changed (strict convergence) or when the summed squared
    movement of the centres is at most ``tol`` (already scaled by the variance).
    """
    if callback is not None and callback(
        iteration=iteration,
        inertia=inertia,
        center_shift=center_shift,
        n_reassigned=n_changed,
    ):
        return "stopped by the callback"
    if n_changed == 0:
        return "converged: no label changed"
    if center_shift <= tol:
        return f"converged: centre shift {center_shift:.3g} within tolerance {tol:.3g}"
    return None


def iterate(step, centers, *, max_iter: int, tol: float, callback=None) -> LloydRun:
    """Run Lloyd-type iterations until :func:`why_stop` says stop.

    ``step(centers)`` does one assignment and update and returns the new centres,
    the number of rows whose label changed and the inertia with respect to
    ``centers`` (NaN when the step does not know it). Every algorithm shares this
    driver, so that they stop by the same rules on the same numbers.
    """
    reason = f"reached max_iter={max_iter}"
    for iteration in range(max_iter):
        new_centers, n_changed, inertia = step(centers)
        center_shift = float(((new_centers - centers) ** 2).sum())
        centers = new_centers
        stop = why_stop(callback, iteration, inertia, center_shift, n_changed, tol)
        if stop is not None:
            reason = stop
            break
    return LloydRun(centers, iteration + 1, reason)


def kmeans_single_lloyd(
    X,
    shift,
    sample_weight,
    centers_init,
    *,
    max_iter: int,
    tol: float,
    pool,
    callback=None,
    variance: float | None = None,
    row_scale=None,
) -> LloydRun:
    """One run of Lloyd's algorithm from ``centers_init`` (shifted frame).

    Stops by the rules of :func:`why_stop`, or after ``max_iter`` iterations.
    ``callback`` is called after each iteration as ``callback(iteration=,
    inertia=, center_shift=, n_reassigned=)``: the inertia with respect to the
    centres before the update, the summed squared movement of the centres and the
    number of rows whose label changed (all of them at iteration 0).
    ``variance``: X's mean variance about ``shift``, when the caller knows it.
    CSR rows are read as they are (``shift`` is zero; see
    :mod:`kmeans._core.sparse`).

    With ``row_scale`` (``1/||x||`` per row, float64) the run is spherical
    (:mod:`kmeans._core.cosine`; ``shift`` is zero, centres of unit norm): the
    same passes with weights ``w/||x||``, each new centre normalised, empty
    clusters moved to the rows of least cosine similarity, and the inertia
    ``sum w (1 - cos)``.
    """
    n_samples, n_features = X.shape
    n_clusters = centers_init.shape[0]
    if is_sparse(X):
        most = sum_partitions(n_clusters, n_features, MAX_PARTITIONS)
        blocks = sparse.row_blocks(X, n_clusters, pool, max_partitions=most)
        fold_shift = False
    else:
        blocks = RowBlocks(n_samples, n_clusters, n_features, X.itemsize, pool)
        fold_shift = can_fold_shift(
            X.dtype,
            n_features,
            n_clusters,
            shift,
            variance if variance is not None else lambda: mean_variance(X, shift, pool),
            spherical=row_scale is not None,
        )
    labels = np.full(n_samples, -1, dtype=np.int32)
    partition_sums = new_partition_sums(blocks, n_clusters, n_features)
    row_terms = None
    if row_scale is not None:
        sample_weight, row_terms = cosine.run_terms(sample_weight, row_scale, X.dtype)

    def step(centers):
        sums, weight_sums, inertia, n_changed = lloyd_pass(
            X,
            shift,
            sample_weight,
            centers,
            labels,
            blocks,
            partition_sums=partition_sums,
            # only when someone listens: on 2-D data it costs most of an iteration
            with_inertia=callback is not None,
            fold_shift=fold_shift,
            row_terms=row_terms,
        )
        new_centers = update_centers(
            X, shift, sample_weight, centers, labels, sums, weight_sums, blocks, row_scale
        )
        if row_scale is not None:
            new_centers, inertia = cosine.end_step(new_centers, centers, inertia)
        return new_centers, n_changed, inertia

    return iterate(step, centers_init, max_iter=max_iter, tol=tol, callback=callback)
