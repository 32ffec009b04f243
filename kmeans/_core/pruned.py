"""Bound-pruned Lloyd iterations: Hamerly's and Elkan's algorithms, vectorised.

Each row keeps an upper bound on the distance to its own centre and lower bounds
on the distances to the others (Hamerly: one bound for all others; Elkan: one per
centre). When the centres move the bounds are loosened by the distances moved; a
row whose bounds still prove its label is skipped, and only the others are
gathered, tightened and, if need be, reassigned with the same product as
:func:`kmeans._core.lloyd.lloyd_pass`.

The results are Lloyd's: a row is skipped only when its bounds prove its label
with a margin larger than the rounding error of the expanded distance, so every
decision that Lloyd's argmin could take either way is recomputed as Lloyd computes
it; moved rows update the per-partition sums in the same order as in Lloyd. From
the same initial centres both reach the same labels, centres and n_iter_.
Prior validation is assumed; centres are in the shifted frame.
"""

from __future__ import annotations

import numpy as np

from .blocks import RowBlocks, scratch, shifted_block
from .kernel import (
    all_sq,
    augmented_coefficients,
    by_columns,
    column_coefficients,
    column_rows,
    nearest,
    nearest_columns,
    pairwise_sq,
    partial_sq,
    row_norms_sq,
)
from .lloyd import LloydRun, iterate
from .update import add_rows, new_partition_sums, total, update_centers

# A block whose bounds leave more than this share of its rows to recompute is
# recomputed whole, as Lloyd does it: gathering and tightening would cost more.
_WHOLE_BLOCK_SHARE = 0.25


def _pairwise_half_distances(centers: np.ndarray, margin_sq: float) -> np.ndarray:
    """Half the distance between every two centres, rounded down by the margin."""
    between = pairwise_sq(centers, centers)
    np.maximum(between - margin_sq, 0, out=between)
    half = 0.5 * np.sqrt(between)
    np.fill_diagonal(half, np.inf)
    return half


def _rounding_margin(n_features: int, dtype, largest_sq: float) -> float:
    """Twice a bound on the rounding error of ||c||^2 - 2 x.c for these magnitudes."""
    # (d + 10) eps covers the dot product, the norms and the bound updates of up to
    # thousands of iterations; the factor 4 is safety, it costs little pruning.
    return 4.0 * (n_features + 10) * float(np.finfo(dtype).eps) * largest_sq


def _column_tie_margin(n_clusters: int, dtype, largest_sq: float) -> float:
    """What :func:`~kmeans._core.kernel.nearest_columns` adds to the margin: in
    float64 it counts distances within ``2**bits`` units in the last place of
    each other (up to ``2 * largest_sq``) as tied; twice that, for safety."""
    if np.dtype(dtype).itemsize != 8:
        return 0.0
    bits = max((n_clusters - 1).bit_length(), 1)
    return 4.0 * 2.0**bits * float(np.finfo(dtype).eps) * largest_sq


class _BoundedAssigner:
    """Per-row bounds and the assignment step that uses them.

    ``upper`` bounds the distance to the row's own centre plus ``radius``, the
    square root of the rounding margin (a row is recomputed unless its bounds
    prove its label by more than the margin); ``lower`` bounds the distance to
    any other centre (Hamerly) or to each centre (Elkan). Hamerly's bounds are
    loosened in place in the pass that tests them; Elkan's n x k lower bounds are
    kept relative to ``drift``, each centre's summed movement, so that only the
    rows that the upper bound cannot settle read them.
    """

    def __init__(self, X, shift, sample_weight, centers_init, blocks, per_center):
        n_samples, n_features = X.shape
        n_clusters = centers_init.shape[0]
        self.X, self.shift, self.sample_weight = X, shift, sample_weight
        self.blocks = blocks
        self.n_features = n_features
        self.per_center = per_center
        self.columns = by_columns(n_features, n_clusters)
        self.labels = np.full(n_samples, -1, dtype=np.int32)
        self.upper = np.empty(n_samples, dtype=X.dtype)
        shape = (n_samples, n_clusters) if per_center else (n_samples,)
        self.lower = np.empty(shape, dtype=X.dtype)
        self.drift = np.zeros(n_clusters)
        # ||x - shift||^2 of every row, for the row layout (the column layout
        # recomputes it with each gathered row)
        self.row_sq = None if self.columns else np.empty(n_samples, X.dtype)
        self.partition_sums = new_partition_sums(blocks, n_clusters, n_features)
        # centres are means of rows, but for those that stay empty from the start
        self.largest_center_sq = float(row_norms_sq(centers_init).max())
        self.radius = None
        self.previous = None

    def _set_radius(self, largest_row_sq: float) -> None:
        """The square root of the margin, fixed for the run: no centre is ever
        farther from the origin than the farthest row or initial centre."""
        X = self.X
        largest_sq = largest_row_sq + max(largest_row_sq, self.largest_center_sq)
        margin = _rounding_margin(self.n_features, X.dtype, largest_sq)
        if self.columns:
            margin += _column_tie_margin(len(self.drift), X.dtype, largest_sq)
        self.margin = margin
        self.radius = np.sqrt(margin)

    def assign(self, centers) -> int:
        """One assignment step; updates labels, bounds and sums. Returns moves."""
        X, shift, blocks = self.X, self.shift, self.blocks
        n_clusters = centers.shape[0]
        n_features = self.n_features
        width = n_features + 1
        first = self.previous is None
        if self.columns:
            coef = column_coefficients(centers, X.dtype)
            centers_t = np.ascontiguousarray(centers.T)
        else:
            coef = augmented_coefficients(centers, X.dtype)
        if not first:
            moved = centers - self.previous
            step = np.sqrt(np.einsum("ij,ij->i", moved, moved))
            self.drift += step
            step = step.astype(X.dtype)
            # Hamerly: the largest move of any centre but the row's own
            order = np.argsort(step)[::-1]
            others = np.full(n_clusters, step[order[0]])
            others[order[0]] = step[order[1]] if n_clusters > 1 else 0
            half = _pairwise_half_distances(centers, self.margin).astype(X.dtype)
            nearest_half = half.min(axis=1)
        drift = self.drift.astype(X.dtype)
        self.previous = centers
        radius = self.radius

        def run(part: int):
            start, stop = blocks.partitions[part]
            sums = self.partition_sums[part]
            if self.columns:
                buffer = np.empty((n_features + 2) * blocks.block_rows, X.dtype)
            else:
                augmented = scratch(blocks, width, X.dtype)
            n_moved = 0
            largest_row_sq = 0.0
            for lo, hi in blocks.blocks(start, stop):
                label = self.labels[lo:hi]
                upper = self.upper[lo:hi]
                lower = self.lower[lo:hi]
                whole = first
                if not first:
                    upper += step[label]
                    bound = nearest_half[label]
                    if not self.per_center:
                        lower -= others[label]
                        np.maximum(bound, lower, out=bound)
                    need = np.flatnonzero(upper >= bound)
                    if self.per_center and need.size:
                        # centre j is ruled out when u <= l_j or u <= |c_a - c_j| / 2
                        # (half[a, a] is inf, so the own centre never keeps the row)
                        held = lower[need] - drift
                        np.maximum(held, half[label[need]], out=held)
                        bound = held.min(axis=1)
                        keep = upper[need] >= bound
                        need, bound = need[keep], bound[keep]
                    else:
                        bound = bound[need]
                    if need.size == 0:
                        continue
                    whole = need.size > _WHOLE_BLOCK_SHARE * (hi - lo)
                if whole:
                    need = slice(0, hi - lo)  # every row, as a view
                    n_need = hi - lo
                    rows = X[lo:hi]
                else:
                    n_need = need.size
                    rows = X[lo + need]
                if self.columns:
                    by_column = column_rows(rows, 0, n_need, shift, buffer)
                    shifted = by_column[:n_features]
                else:
                    xa = augmented[:n_need]
                    shifted = xa[:, :n_features]
                    shifted_block(rows, 0, n_need, shift, shifted)
                if not whole:
                    # tighten the upper bound to the exact distance first
                    own = label[need]
                    if self.columns:
                        diff = shifted - centers_t[:, own]
                        exact = np.sqrt(np.einsum("ij,ij->j", diff, diff))
                    else:
                        diff = shifted - centers[own]
                        exact = np.sqrt(np.einsum("ij,ij->i", diff, diff))
                    exact += radius
                    upper[need] = exact
                    still = np.flatnonzero(exact >= bound)
                    if still.size == 0:
                        continue
                    if still.size < n_need:
                        need, n_need = need[still], still.size
                        if self.columns:
                            by_column = by_column[:, still]
                        else:
                            xa = xa[still]
                if self.columns:
                    dist = np.matmul(coef, by_column)
                    if first:
                        largest_row_sq = max(largest_row_sq, float(by_column[-1].max()))
                    if self.per_center:
                        lower[need] = (np.sqrt(np.maximum(dist, 0)) + drift[:, None]).T
                    new, nearest_sq, *second_sq = nearest_columns(
                        dist, second=not self.per_center
                    )
                    rows_of_moves = by_column[:width].T  # [x - shift, 1], F-ordered
                else:
                    xa[:, n_features] = 1
                    if first:
                        row_sq = row_norms_sq(xa[:, :n_features])
                        self.row_sq[lo:hi] = row_sq
                        largest_row_sq = max(largest_row_sq, float(row_sq.max()))
                    else:
                        row_sq = self.row_sq[lo:hi][need]
                    dots = partial_sq(xa, coef)
                    new, nearest_sq, second_sq = nearest(
                        dots, row_sq, second=not self.per_center
                    )
                    if self.per_center:
                        held = np.sqrt(all_sq(dots, row_sq[:, None]))
                        lower[need] = held if first else held + drift
                    rows_of_moves = xa
                upper[need] = np.sqrt(nearest_sq) + (0 if first else radius)
                if not self.per_center:
                    lower[need] = np.sqrt(second_sq[0] if self.columns else second_sq)
                old = label[need]
                moved = np.flatnonzero(old != new)
                if moved.size == 0:
                    continue
                n_moved += moved.size
                moved_rows = moved if whole else need[moved]
                if moved.size < n_need:
                    rows_of_moves = rows_of_moves[moved]
                if self.sample_weight is not None:
                    w = self.sample_weight[lo:hi][moved_rows]
                    rows_of_moves = (rows_of_moves * w[:, None]).astype(X.dtype, copy=False)
                new_moved, old_moved = new[moved], old[moved].astype(np.intp)
                add_rows(sums, rows_of_moves, new_moved)
                was_assigned = old_moved >= 0
                if was_assigned.any():
                    add_rows(sums, -rows_of_moves[was_assigned], old_moved[was_assigned])
                label[moved_rows] = new_moved
            return n_moved, largest_row_sq

        parts = blocks.map_indexed(run)
        if first:
            self._set_radius(max(p[1] for p in parts))
            self.upper += self.radius
        return sum(p[0] for p in parts)

    def sums(self):
        return total(self.partition_sums)


def _kmeans_single_pruned(
    X,
    shift,
    sample_weight,
    centers_init,
    *,
    max_iter,
    tol,
    pool,
    per_center,
    callback=None,
    variance=None,  # unused: the interface of every algorithm (see _lloyd.py)
) -> LloydRun:
    n_samples, n_features = X.shape
    n_clusters = centers_init.shape[0]
    blocks = RowBlocks(n_samples, n_clusters, n_features, X.itemsize, pool)
    state = _BoundedAssigner(X, shift, sample_weight, centers_init, blocks, per_center)

    def step(centers):
        n_changed = state.assign(centers)
        sums, weight_sums = state.sums()
        new_centers = update_centers(
            X, shift, sample_weight, centers, state.labels, sums, weight_sums, blocks
        )
        # the bounds spare most distances, so the inertia is not known: NaN
        return new_centers, n_changed, float("nan")

    return iterate(step, centers_init, max_iter=max_iter, tol=tol, callback=callback)


def kmeans_single_hamerly(X, shift, sample_weight, centers_init, **params) -> LloydRun:
    """One run of Hamerly's algorithm (one lower bound per row); Lloyd's result."""
    return _kmeans_single_pruned(
        X, shift, sample_weight, centers_init, per_center=False, **params
    )


def kmeans_single_elkan(X, shift, sample_weight, centers_init, **params) -> LloydRun:
    """One run of Elkan's algorithm (a lower bound per row and centre); Lloyd's result."""
    return _kmeans_single_pruned(
        X, shift, sample_weight, centers_init, per_center=True, **params
    )
