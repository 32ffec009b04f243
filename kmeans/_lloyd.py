"""Lloyd's algorithm: one assignment + update pass over the data, and a whole run.

All arrays here are in the shifted frame: the centres passed in and returned are
``centre - shift``, where ``shift`` is the data mean the caller chose. Prior
validation of every argument is assumed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._common import (
    RowBlocks,
    augmented_coefficients,
    mean_variance,
    scratch,
    shifted_block,
)


@dataclass
class LloydRun:
    """What one run of Lloyd's algorithm returns (centres in the shifted frame)."""

    centers: np.ndarray
    n_iter: int
    stop_reason: str


def _scatter_add(sums_flat, rows, labels, width):
    # The flat 1-D form of np.add.at: 3-5x faster than add.at(sums, labels, rows)
    # (shared/reference/measurements.md). Values are cast first: add.at's own
    # float32 -> float64 casting path is 40x slower (measured, NumPy 2.4).
    index = labels[:, None] * width + np.arange(width)
    values = rows.astype(sums_flat.dtype, copy=False)
    np.add.at(sums_flat, index.ravel(), values.ravel())


def _augment(X, lo, hi, shift, out):
    """``[x - shift, 1]`` for rows ``lo:hi`` of X, into ``out``."""
    shifted_block(X, lo, hi, shift, out[:, :-1])
    out[:, -1] = 1


def new_partition_sums(blocks: RowBlocks, n_clusters: int, n_features: int) -> list:
    """Empty per-partition cluster sums for :func:`lloyd_pass`.

    Row ``j`` holds the weighted sum of the shifted rows labelled ``j`` and, in its
    last column, their total weight; in float64 whatever the data's dtype.
    """
    return [np.zeros((n_clusters, n_features + 1)) for _ in blocks.partitions]


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
):
    """Assign every row to its nearest centre and sum the rows per cluster.

    ``labels`` is updated in place (-1 means "not assigned yet"). With
    ``partition_sums`` (from :func:`new_partition_sums`, kept between passes and
    consistent with ``labels``) only the rows whose label changed are added to their
    new cluster and taken from their old one: after the first iterations few rows
    move, so the update costs almost nothing. Without it the sums are computed from
    scratch. Partitions are fixed, so either way the result does not depend on the
    number of threads.

    Each block is normally centred into a scratch buffer with a column of ones, so
    that one product gives ``||c||^2 - 2 (x - shift).c``. With ``fold_shift`` the
    rows of X are multiplied as they are and the shift is folded into a constant
    per centre: no copy of the block, only of the rows that moved; worth it when
    rows are longer than the number of centres, and accurate only where the shift
    is small beside the spread of the data (see :func:`kmeans_single_lloyd`).

    Returns the weighted sums of the shifted rows per cluster, the total weight per
    cluster (float64), the inertia with respect to ``centers`` (None unless
    ``with_inertia``) and the number of rows whose label changed.
    """
    n_features = X.shape[1]
    n_clusters = centers.shape[0]
    width = n_features + 1
    coef = augmented_coefficients(centers, X.dtype)  # multiplies [x - shift, 1]
    if fold_shift:
        neg2_t = np.ascontiguousarray(coef[:n_features])
        constant = coef[n_features] - shift @ neg2_t  # ||c||^2 + 2 shift.c
        # X's own rows only when they are laid out as a C-ordered copy would be:
        # BLAS rounds other layouts differently, and results must not depend on it
        rows_in_place = X.flags.c_contiguous
    stateless = partition_sums is None
    if stateless:
        partition_sums = [None] * len(blocks.partitions)

    def run(part: int):
        start, stop = blocks.partitions[part]
        sums = partition_sums[part]
        if sums is None:
            sums = np.zeros((n_clusters, width))
        flat = sums.ravel()
        augmented = scratch(blocks, width, X.dtype)
        dots = scratch(blocks, n_clusters, X.dtype)
        raw = (
            None
            if not fold_shift or rows_in_place
            else scratch(blocks, n_features, X.dtype)
        )
        inertia = 0.0
        n_changed = 0
        for lo, hi in blocks.blocks(start, stop):
            xa = augmented[: hi - lo]

            if fold_shift:
                if raw is None:
                    rows = X[lo:hi]
                else:
                    rows = raw[: hi - lo]
                    np.copyto(rows, X[lo:hi])
                block_dots = np.matmul(rows, neg2_t, out=dots[: hi - lo])
                block_dots += constant
                centred = False
            else:
                _augment(X, lo, hi, shift, xa)
                block_dots = np.matmul(xa, coef, out=dots[: hi - lo])
                centred = True
            new = block_dots.argmin(axis=1)
            w = None if sample_weight is None else sample_weight[lo:hi]
            if with_inertia:
                if not centred:
                    _augment(X, lo, hi, shift, xa)
                    centred = True
                xs = xa[:, :n_features]
                min_sq = block_dots[np.arange(hi - lo), new]
                min_sq += np.einsum("ij,ij->i", xs, xs)
                np.maximum(min_sq, 0, out=min_sq)
                inertia += float(min_sq.sum() if w is None else min_sq @ w)
            old = labels[lo:hi]
            moved = np.flatnonzero(old != new)
            n_changed += moved.size
            if moved.size == 0 and not stateless:
                continue
            if stateless or moved.size == hi - lo:
                if not centred:
                    _augment(X, lo, hi, shift, xa)
                moved_rows = xa
                if w is not None:
                    moved_rows *= w[:, None]  # the ones column becomes the weights
                new_moved, old_moved = new, old.astype(np.intp)
            else:
                if centred:
                    moved_rows = xa[moved]
                else:
                    moved_rows = np.empty((moved.size, width), X.dtype)
                    np.subtract(X[lo + moved], shift, out=moved_rows[:, :n_features])
                    moved_rows[:, n_features] = 1
                if w is not None:
                    moved_rows *= w[moved, None]
                new_moved, old_moved = new[moved], old[moved].astype(np.intp)
            _scatter_add(flat, moved_rows, new_moved, width)
            if not stateless:
                was_assigned = old_moved >= 0
                if was_assigned.any():
                    _scatter_add(
                        flat, -moved_rows[was_assigned], old_moved[was_assigned], width
                    )
            labels[lo:hi] = new
        return sums, inertia, n_changed

    parts = blocks.map_indexed(run)
    for part, (sums, _, _) in enumerate(parts):
        partition_sums[part] = sums
    total = parts[0][0].copy()
    for sums, _, _ in parts[1:]:
        total += sums
    inertia = sum(p[1] for p in parts) if with_inertia else None
    n_changed = sum(p[2] for p in parts)
    return total[:, :n_features], total[:, n_features], inertia, n_changed


def farthest_candidates(X, shift, sample_weight, centers, labels, n_rows, blocks):
    """Rows that may be among the ``n_rows`` farthest from their own centre: the
    farthest of every block, ties at the cut included. Returns their indices and
    squared distances, for :func:`pick_farthest`. Rows of zero weight count as
    absent (weights act as repetitions): their distance is given as zero.
    """

    def run(start: int, stop: int):
        buffer = scratch(blocks, X.shape[1], X.dtype)
        candidates, values = [], []
        for lo, hi in blocks.blocks(start, stop):
            diff = shifted_block(X, lo, hi, shift, buffer)
            diff -= centers[labels[lo:hi]]
            dist = np.einsum("ij,ij->i", diff, diff)
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


def update_centers(X, shift, sample_weight, centers, labels, sums, weight_sums, blocks):
    """New centres from the cluster sums; empty clusters take the farthest rows.

    An empty cluster (total weight exactly zero) is moved, in index order, to the
    rows farthest from their assigned centre, as scikit-learn does: the row's
    weight and coordinates leave its own cluster's sums. Those rows keep their
    label until the next assignment. A cluster that is left with no row of
    positive weight, or that no row could fill, keeps its centre.
    """
    empty = np.flatnonzero(weight_sums == 0)
    if not empty.size:
        return relocate_and_average(centers, sums, weight_sums)
    index, dist = farthest_candidates(
        X, shift, sample_weight, centers, labels, empty.size, blocks
    )
    far = index[pick_farthest(index, dist, empty.size)]
    return relocate_and_average(
        centers,
        sums,
        weight_sums,
        empty,
        X[far] - shift,
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


def _can_fold_shift(X, shift, n_clusters: int, variance, pool) -> bool:
    """Whether :func:`lloyd_pass` may multiply X's rows without centring them.

    Worth it when a row is longer than a row of distances (measured 0.74-0.90x the
    time of a pass at d > k). Accurate enough in float64 when the shift is within
    1e3 spreads of the data: products lose log10 of that ratio in digits, 3 of 16.
    float32 is always centred, to keep its 7 digits. ``variance`` is X's mean
    variance about ``shift`` if the caller knows it (None: one pass computes it).
    """
    if X.dtype != np.float64 or n_clusters >= X.shape[1]:
        return False
    if variance is None:
        variance = mean_variance(X, shift, pool)
    return shift_is_foldable(shift, variance * X.shape[1])


def shift_is_foldable(shift, spread_sq: float) -> bool:
    """The accuracy half of :func:`_can_fold_shift`: ``spread_sq`` is the summed
    variance of the features."""
    return float(shift @ shift) <= 1e6 * spread_sq


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
) -> LloydRun:
    """One run of Lloyd's algorithm from ``centers_init`` (shifted frame).

    Stops by the rules of :func:`why_stop`, or after ``max_iter`` iterations.
    ``callback`` is called after each iteration as ``callback(iteration=,
    inertia=, center_shift=, n_reassigned=)``: the inertia with respect to the
    centres before the update, the summed squared movement of the centres and the
    number of rows whose label changed (all of them at iteration 0).
    ``variance``: X's mean variance about ``shift``, when the caller knows it.
    """
    n_samples, n_features = X.shape
    n_clusters = centers_init.shape[0]
    blocks = RowBlocks(n_samples, n_clusters, n_features, X.itemsize, pool)
    labels = np.full(n_samples, -1, dtype=np.int32)
    partition_sums = new_partition_sums(blocks, n_clusters, n_features)
    fold_shift = _can_fold_shift(X, shift, n_clusters, variance, pool)

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
        )
        new_centers = update_centers(
            X, shift, sample_weight, centers, labels, sums, weight_sums, blocks
        )
        return new_centers, n_changed, inertia

    return iterate(step, centers_init, max_iter=max_iter, tol=tol, callback=callback)
