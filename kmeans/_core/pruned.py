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
    nearest,
    pairwise_sq,
    partial_sq,
    row_norms_sq,
)
from .lloyd import LloydRun, iterate
from .update import move_rows, new_partition_sums, total, update_centers


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


class _BoundedAssigner:
    """Per-row bounds and the assignment step that uses them."""

    def __init__(self, X, shift, sample_weight, n_clusters, blocks, per_center):
        n_samples, n_features = X.shape
        self.X, self.shift, self.sample_weight = X, shift, sample_weight
        self.blocks = blocks
        self.n_features = n_features
        self.labels = np.full(n_samples, -1, dtype=np.int32)
        self.upper = np.full(n_samples, np.inf, dtype=X.dtype)
        shape = (n_samples, n_clusters) if per_center else (n_samples,)
        self.lower = np.zeros(shape, dtype=X.dtype)
        self.per_center = per_center
        self.partition_sums = new_partition_sums(blocks, n_clusters, n_features)
        # ||x - shift||^2 of every row, once: the bounds need exact distances
        self.row_sq = np.empty(n_samples, X.dtype)

        def norms(start, stop):
            buffer = scratch(blocks, n_features, X.dtype)
            for lo, hi in blocks.blocks(start, stop):
                xs = shifted_block(X, lo, hi, shift, buffer)
                self.row_sq[lo:hi] = row_norms_sq(xs)

        blocks.map(norms)
        self.largest_row_sq = float(self.row_sq.max())

    def assign(self, centers) -> int:
        """One assignment step; updates labels, bounds and sums. Returns moves."""
        X, shift, blocks = self.X, self.shift, self.blocks
        n_clusters = centers.shape[0]
        n_features = self.n_features
        width = n_features + 1
        coef = augmented_coefficients(centers, X.dtype)
        largest_sq = self.largest_row_sq + float(coef[n_features].max())
        margin = _rounding_margin(n_features, X.dtype, largest_sq)
        half = _pairwise_half_distances(centers, margin)
        nearest_half = half.min(axis=1) if n_clusters > 1 else np.full(1, np.inf)

        def run(part: int):
            start, stop = blocks.partitions[part]
            sums = self.partition_sums[part]
            augmented = scratch(blocks, width, X.dtype)
            n_moved = 0
            for lo, hi in blocks.blocks(start, stop):
                label = self.labels[lo:hi]
                upper = self.upper[lo:hi]
                lower = self.lower[lo:hi]
                if self.per_center:
                    # centre j is ruled out when u <= l_j or u <= |c_a - c_j| / 2
                    # (half[a, a] is inf, so the own centre never keeps the row)
                    bound = np.maximum(lower, half[label]).min(axis=1)
                else:
                    bound = np.maximum(lower, nearest_half[label])
                need = np.flatnonzero(upper * upper + margin >= bound * bound)
                if need.size == 0:
                    continue
                if 4 * need.size > hi - lo:
                    # the bounds spare too few rows to pay for gathering them and
                    # tightening (no structure yet, or high dimension): the whole
                    # block, as Lloyd does it
                    need = np.arange(hi - lo)
                    xa = augmented[: hi - lo]
                    shifted_block(X, lo, hi, shift, xa[:, :n_features])
                else:
                    xa = augmented[: need.size]
                    np.subtract(X[lo + need], shift, out=xa[:, :n_features])
                    if label[need[0]] >= 0:  # all rows are assigned after the first pass
                        # tighten the upper bound to the exact distance first
                        diff = xa[:, :n_features] - centers[label[need]]
                        exact = np.sqrt(np.einsum("ij,ij->i", diff, diff))
                        upper[need] = exact
                        still = exact * exact + margin >= bound[need] ** 2
                        if not still.all():
                            need = need[still]
                            if need.size == 0:
                                continue
                            xa = xa[still]
                xa[:, n_features] = 1
                row_sq = self.row_sq[lo + need]
                dots = partial_sq(xa, coef)
                if self.per_center:
                    new, nearest_sq, _ = nearest(dots, row_sq)
                    lower[need] = np.sqrt(all_sq(dots, row_sq[:, None]))
                else:
                    new, nearest_sq, second_sq = nearest(dots, row_sq, second=True)
                    lower[need] = np.sqrt(second_sq)
                upper[need] = np.sqrt(nearest_sq)
                old = label[need]
                moved = np.flatnonzero(old != new)
                if moved.size == 0:
                    continue
                n_moved += moved.size
                if self.sample_weight is not None:
                    xa *= self.sample_weight[lo + need][:, None]
                moved_rows = xa if moved.size == need.size else xa[moved]
                old_moved = old[moved].astype(np.intp)
                move_rows(sums, moved_rows, new[moved], old_moved)
                label[need[moved]] = new[moved]
            return n_moved

        return sum(blocks.map_indexed(run))

    def sums(self):
        return total(self.partition_sums)

    def loosen(self, shifts: np.ndarray) -> None:
        """Loosen the bounds after the centres moved by ``shifts`` (distances)."""
        blocks = self.blocks
        if self.per_center:
            lower_shift = shifts.astype(self.X.dtype)
        else:
            order = np.argsort(shifts)[::-1]
            largest = shifts[order[0]]
            second = shifts[order[1]] if shifts.size > 1 else 0.0

        def run(part: int):
            start, stop = blocks.partitions[part]
            for lo, hi in blocks.blocks(start, stop):
                label = self.labels[lo:hi]
                self.upper[lo:hi] += shifts[label]
                lower = self.lower[lo:hi]
                if self.per_center:
                    lower -= lower_shift
                else:
                    lower -= np.where(label == order[0], second, largest)
                np.maximum(lower, 0, out=lower)

        blocks.map_indexed(run)


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
    state = _BoundedAssigner(X, shift, sample_weight, n_clusters, blocks, per_center)
    previous = [None]

    def step(centers):
        if previous[0] is not None:
            # loosen the bounds by how far each centre moved in the last update
            moved = centers - previous[0]
            state.loosen(np.sqrt(np.einsum("ij,ij->i", moved, moved)))
        previous[0] = centers
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
