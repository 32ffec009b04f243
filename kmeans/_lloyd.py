"""Lloyd's algorithm: one assignment + update pass over the data, and a whole run.

All arrays here are in the shifted frame: the centres passed in and returned are
``centre - shift``, where ``shift`` is the data mean the caller chose. Prior
validation of every argument is assumed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._common import RowBlocks, assign_block, centred_centers, scratch, shifted_block


@dataclass
class LloydRun:
    """What one run of Lloyd's algorithm returns (centres in the shifted frame)."""

    centers: np.ndarray
    n_iter: int
    stop_reason: str


def _accumulate(sums_flat, Xs, labels, weights, feature_offsets):
    # The flat 1-D form of np.add.at: 3-5x faster than add.at(sums, labels, Xs)
    # (shared/reference/measurements.md).
    values = Xs if weights is None else np.multiply(Xs, weights[:, None], out=Xs)
    index = labels[:, None] * Xs.shape[1] + feature_offsets
    np.add.at(sums_flat, index.ravel(), values.ravel())


def lloyd_pass(X, shift, sample_weight, centers, labels, blocks: RowBlocks):
    """Assign every row to its nearest centre and sum the rows per cluster.

    ``labels`` is updated in place. Returns the weighted sums of the shifted rows
    per cluster, the total weight per cluster, the inertia with respect to
    ``centers`` and the number of rows whose label changed.
    """
    n_features = X.shape[1]
    n_clusters = centers.shape[0]
    _, neg2_t, centers_sq = centred_centers(centers, 0)
    feature_offsets = np.arange(n_features)

    def run(start: int, stop: int):
        Xs = scratch(blocks, n_features, X.dtype)
        dots = scratch(blocks, n_clusters, X.dtype)
        sums = np.zeros(n_clusters * n_features, X.dtype)
        weight_sums = np.zeros(n_clusters)
        inertia = 0.0
        n_changed = 0
        for lo, hi in blocks.blocks(start, stop):
            xs = shifted_block(X, lo, hi, shift, Xs)
            block_labels, min_sq = assign_block(xs, neg2_t, centers_sq, dots[: hi - lo])
            w = None if sample_weight is None else sample_weight[lo:hi]
            inertia += float(min_sq.sum() if w is None else min_sq @ w)
            n_changed += int(np.count_nonzero(labels[lo:hi] != block_labels))
            labels[lo:hi] = block_labels
            _accumulate(sums, xs, block_labels, w, feature_offsets)
            weight_sums += np.bincount(block_labels, weights=w, minlength=n_clusters)
        return sums, weight_sums, inertia, n_changed

    parts = blocks.map(run)
    sums = parts[0][0]
    weight_sums = parts[0][1]
    for part in parts[1:]:
        sums += part[0]
        weight_sums += part[1]
    inertia = sum(part[2] for part in parts)
    n_changed = sum(part[3] for part in parts)
    return sums.reshape(n_clusters, n_features), weight_sums, inertia, n_changed


def _farthest_rows(X, shift, sample_weight, centers, labels, n_rows, blocks: RowBlocks):
    """Indices of the ``n_rows`` rows farthest from their own centre, farthest
    first, ties broken by the lower index. Rows at distance zero are left out, and
    so are rows of zero weight, which count as absent (weights act as repetitions).
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
            top = np.argpartition(-dist, keep - 1)[:keep]
            candidates.append(top + lo)
            values.append(dist[top])
        return np.concatenate(candidates), np.concatenate(values)

    parts = blocks.map(run)
    index = np.concatenate([p[0] for p in parts])
    dist = np.concatenate([p[1] for p in parts])
    order = np.lexsort((index, -dist))[:n_rows]
    order = order[dist[order] > 0]
    return index[order]


def update_centers(X, shift, sample_weight, centers, labels, sums, weight_sums, blocks):
    """New centres from the cluster sums; empty clusters take the farthest rows.

    An empty cluster (total weight exactly zero) is moved, in index order, to the
    rows farthest from their assigned centre, as scikit-learn does: the row's
    weight and coordinates leave its own cluster's sums. Those rows keep their
    label until the next assignment. A cluster that stays empty keeps its centre.
    """
    empty = np.flatnonzero(weight_sums == 0)
    if empty.size:
        far = _farthest_rows(X, shift, sample_weight, centers, labels, empty.size, blocks)
        for cluster, row in zip(empty, far):
            w = 1.0 if sample_weight is None else float(sample_weight[row])
            contribution = (X[row] - shift) * X.dtype.type(w)
            old = labels[row]
            sums[old] -= contribution
            weight_sums[old] -= w
            sums[cluster] = contribution
            weight_sums[cluster] = w
    new_centers = centers.copy()
    filled = weight_sums > 0
    new_centers[filled] = sums[filled] / weight_sums[filled, None]
    return new_centers


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
) -> LloydRun:
    """One run of Lloyd's algorithm from ``centers_init`` (shifted frame).

    Stops when no label changes (strict convergence), when the total squared
    centre shift is at most ``tol`` (already scaled by the data variance), after
    ``max_iter`` iterations, or when ``callback`` returns True. ``callback`` is
    called after each iteration as ``callback(iteration=, inertia=, center_shift=,
    n_reassigned=)``: the inertia with respect to the centres before the update,
    the summed squared movement of the centres and the number of rows whose label
    changed (all of them at iteration 0).
    """
    n_samples, n_features = X.shape
    centers = centers_init
    blocks = RowBlocks(n_samples, centers.shape[0], n_features, X.itemsize, pool)
    labels = np.full(n_samples, -1, dtype=np.int32)
    stop_reason = f"reached max_iter={max_iter}"
    for iteration in range(max_iter):
        sums, weight_sums, inertia, n_changed = lloyd_pass(
            X, shift, sample_weight, centers, labels, blocks
        )
        new_centers = update_centers(
            X, shift, sample_weight, centers, labels, sums, weight_sums, blocks
        )
        center_shift = float(((new_centers - centers) ** 2).sum())
        centers = new_centers
        if callback is not None and callback(
            iteration=iteration,
            inertia=inertia,
            center_shift=center_shift,
            n_reassigned=n_changed,
        ):
            stop_reason = "stopped by the callback"
            break
        if n_changed == 0:
            stop_reason = "converged: no label changed"
            break
        if center_shift <= tol:
            stop_reason = (
                f"converged: centre shift {center_shift:.3g} within tolerance {tol:.3g}"
            )
            break
    return LloydRun(centers, iteration + 1, stop_reason)
