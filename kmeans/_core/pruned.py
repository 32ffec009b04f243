"""Bound-pruned Lloyd iterations: Hamerly's and Elkan's algorithms, vectorised.

Each row keeps an upper bound on the distance to its own centre and lower bounds
on the distances to the others (Hamerly: one bound for all others; Elkan: one per
centre). When the centres move the bounds are loosened by the distances moved; a
row whose bounds still prove its label is skipped. The bounds are tested once over
each partition of rows (few, large NumPy calls: in threads, many small ones spend
their time handing the GIL over). A block that the bounds spare little is
recomputed whole; the rows they leave in the other blocks of a partition are
gathered and reassigned together by the kernel of
:func:`kmeans._core.lloyd.lloyd_pass`, in the same layout (the column layout for
narrow data, :func:`~kmeans._core.kernel.by_columns`, where the upper bound is
first tightened to the exact distance), and their moves are then made block by
block, as Lloyd makes them.

Where the bounds spare few rows (data without clusters, centres still moving
far), keeping them costs more than Lloyd's pass: Lloyd's passes run instead,
until a probe on a sample of rows says that fresh bounds would pay
(:meth:`_BoundedAssigner.predicted_share`).

The results are Lloyd's: a row is skipped only when its bounds prove its label
with a margin larger than the rounding error of the expanded distance, so every
decision that Lloyd's argmin could take either way is recomputed as Lloyd computes
it; moved rows update the per-partition sums in the same order as in Lloyd. From
the same initial centres both reach the same labels, centres and n_iter_.
Prior validation is assumed; centres are in the shifted frame.
"""

from __future__ import annotations

import threading

import numpy as np

from .blocks import RowBlocks, scratch, shifted_block, take_rows
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
from .lloyd import LloydRun, iterate, lloyd_pass
from .update import move_rows, new_partition_sums, total, update_centers

# A block whose bounds leave more than this share of its rows to recompute is
# recomputed whole, as Lloyd does it: gathering and tightening would cost more.
_WHOLE_BLOCK_SHARE = 0.25
# Hamerly's test first runs against the largest loosening of any label; where
# more than this share of a partition's rows fail it, the exact test runs on
# every row rather than on a gather of those.
_EXACT_TEST_SHARE = 0.5
# Two passes in a row after which the bounds left more than this share of the
# rows to recompute kept them at a loss (on data without clusters every pass
# does: W2, W3; one such pass after a good one only refreshed the bounds, as
# blocks left over _WHOLE_BLOCK_SHARE are recomputed whole). Lloyd's passes
# follow, at least 1, 2, 4... of them each time. Blobs from random rows need
# about four passes before the bounds prune (then 4-13% of the rows), from
# k-means++ one (then under 5%).
_UNPRUNED_SHARE = 0.9
# Bounds are kept, or made afresh after those Lloyd passes, only if a sample of
# this many rows says that they would spare at least _RESTART_SHARE of the rows
# in the pass after (:meth:`_BoundedAssigner.predicted_share`). A fresh pass
# costs more than a Lloyd pass, and blocks left over _WHOLE_BLOCK_SHARE to
# recompute are recomputed whole: bounds sparing under 75% of the rows spare
# little. The forecast is cautious: 0.67-0.72 on blobs (B2, B3, from random
# rows) came before passes that spared 85-88%; on noise 0.77-0.83 before
# passes sparing 0-82% (W2's shape, 100,000 rows).
_PROBE_ROWS = 1024
_RESTART_SHARE = 0.7


def _movements(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """How far each centre moved from ``old`` to ``new``."""
    moved = new - old
    return np.sqrt(np.einsum("ij,ij->i", moved, moved))


def _largest_other(step: np.ndarray) -> np.ndarray:
    """For each centre, the largest of the other centres' movements ``step``
    (Hamerly's loosening of the lower bound; zero with one centre)."""
    if step.size < 2:
        return np.zeros_like(step)
    order = np.argsort(step)
    others = np.full(step.size, step[order[-1]])
    others[order[-1]] = step[order[-2]]
    return others


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

    The bounds are kept relative to the centres' summed movements, so that a
    pass reads them and writes only those of the rows it recomputes: with
    ``drift[j]`` the distance centre j has moved since the start and ``loose[j]``
    the summed largest movement of any other centre (Hamerly's loosening),

    - ``upper + drift[a]`` bounds the distance of a row of label ``a`` to its
      centre, plus ``radius``, the square root of the rounding margin (a row is
      recomputed unless its bounds prove its label by more than the margin);
    - ``lower - loose[a]`` bounds its distance to every other centre (Hamerly's
      bound, kept by both algorithms);
    - Elkan: ``each[j] - drift[j]`` bounds its distance to centre j (n x k),
      read only for the rows that Hamerly's bound leaves.
    """

    def __init__(self, X, shift, sample_weight, centers_init, blocks, per_center):
        n_samples, n_features = X.shape
        n_clusters = centers_init.shape[0]
        self.X, self.shift, self.sample_weight = X, shift, sample_weight
        self.blocks = blocks
        self.n_features = n_features
        self.per_center = per_center
        self.columns = by_columns(n_features, n_clusters)
        # intp: NumPy gathers by intp indices at twice the speed of int32 ones
        self.labels = np.full(n_samples, -1, dtype=np.intp)
        self.upper = np.empty(n_samples, dtype=X.dtype)
        self.lower = np.empty(n_samples, dtype=X.dtype)
        self.each = np.empty((n_samples, n_clusters), X.dtype) if per_center else None
        self.drift = np.zeros(n_clusters)
        self.loose = np.zeros(n_clusters)
        # ||x - shift||^2 of every row, for the row layout (the column layout
        # recomputes it with each gathered row)
        self.row_sq = None if self.columns else np.empty(n_samples, X.dtype)
        self.partition_sums = new_partition_sums(blocks, n_clusters, n_features)
        # centres are means of rows, but for those that stay empty from the start
        self.largest_center_sq = float(row_norms_sq(centers_init).max())
        self.margin = self.radius = self.previous = None
        self.n_computed = 0  # rows whose distances the last pass computed
        self._local = threading.local()

    def _set_margin(self, largest_row_sq: float) -> None:
        """The rounding margin, fixed for the run: no centre is ever farther from
        the origin than the farthest row or initial centre."""
        X = self.X
        largest_sq = largest_row_sq + max(largest_row_sq, self.largest_center_sq)
        self.margin = _rounding_margin(self.n_features, X.dtype, largest_sq)
        if self.columns:
            self.margin += _column_tie_margin(len(self.drift), X.dtype, largest_sq)
        self.radius = np.sqrt(self.margin)

    def _moved(self, centers) -> None:
        """Account for the centres' movement since the last pass."""
        step = _movements(centers, self.previous)
        self.drift += step
        self.loose += _largest_other(step)

    def _scratch(self):
        """This thread's buffers: the distances of a block and its rows (as the
        columns of :func:`column_rows` or rows ``[x - shift, 1]``), kept from
        pass to pass (fresh buffers cost their pages' first touch every pass)."""
        buffers = getattr(self._local, "buffers", None)
        if buffers is None:
            rows, X = self.blocks.block_rows, self.X
            dots = scratch(self.blocks, len(self.drift), X.dtype)
            buffer = np.empty((self.n_features + 2) * rows, X.dtype)
            buffers = self._local.buffers = dots, buffer
        return buffers

    def assign(self, centers) -> int:
        """One assignment step; updates labels, bounds and sums. Returns moves."""
        X, shift, blocks = self.X, self.shift, self.blocks
        n_clusters = centers.shape[0]
        n_features = self.n_features
        width = n_features + 1
        per_center, columns = self.per_center, self.columns
        first = self.previous is None
        if columns:
            coef = column_coefficients(centers, X.dtype)
            centers_t = np.ascontiguousarray(centers.T)
        else:
            coef = augmented_coefficients(centers, X.dtype)
        drift = self.drift.astype(X.dtype)
        if not first:
            self._moved(centers)
            drift = self.drift.astype(X.dtype)
            half = _pairwise_half_distances(centers, self.margin)
            # the tests below, in the stored frame of upper: half the distance to
            # the nearest other centre, and the loosening of lower
            stored_half = (half.min(axis=1) - self.drift).astype(X.dtype)
            lower_shift = (self.loose + self.drift).astype(X.dtype)
            widest_shift = lower_shift.max()
            half = half.astype(X.dtype)
        loose = self.loose.astype(X.dtype)
        self.previous = centers
        radius = self.radius

        def unsettled(start: int, stop: int):
            """The rows of ``start:stop`` whose bounds do not prove their label
            (positions from ``start``) and the bound each must beat: the tests
            run once over the partition, as few NumPy calls as possible."""
            label = self.labels[start:stop]
            upper = self.upper[start:stop]
            lower = self.lower[start:stop]
            # First against the loosening of the label that loosens most: two
            # calls and no gather per label; on clustered data most rows pass.
            near = np.flatnonzero(np.subtract(lower, upper) <= widest_shift)
            if near.size > _EXACT_TEST_SHARE * (stop - start):
                near = None  # few passed: the tests below on every row
            else:
                label, upper, lower = label.take(near), upper.take(near), lower.take(near)
            bound = stored_half.take(label)
            np.maximum(bound, lower - lower_shift.take(label), out=bound)
            need = np.flatnonzero(upper >= bound)
            bound = bound.take(need)
            if near is not None:
                need = near.take(need)
                label = self.labels[start:stop]
                upper, lower = self.upper[start:stop], self.lower[start:stop]
            if per_center and need.size:
                # centre j is ruled out when u <= l_j or u <= |c_a - c_j| / 2
                # (half[a, a] is inf, so the own centre never keeps the row)
                held = take_rows(self.each, start + need) - drift
                own = label[need]
                # Hamerly's bound tightened to the nearest other l_j (the own
                # centre's entry is inf), so that it keeps pruning
                lower[need] = held.min(axis=1) + loose[own]
                np.maximum(held, half[own], out=held)
                elkan = held.min(axis=1) - drift[own]
                bound = np.maximum(bound, elkan, out=elkan)
                keep = upper[need] >= bound
                need, bound = need[keep], bound[keep]
            return need, bound

        def settle(start: int, idx, bound):
            """Recompute rows ``start + idx`` (``idx``: positions in the
            partition, a slice for a whole block, at most a block's rows) and
            their bounds. Returns the positions of the rows whose label changed,
            their rows ``[x - shift, 1]`` (weighted), new and old labels, the
            rows computed and the largest ``||x - shift||^2`` (first pass)."""
            dots, buffer = self._scratch()
            whole = isinstance(idx, slice)
            labels = self.labels[start:]
            upper, lower = self.upper[start:], self.lower[start:]
            n_need = idx.stop - idx.start if whole else idx.size
            rows = (
                X[start + idx.start : start + idx.stop]
                if whole
                else take_rows(X, start + idx)
            )
            largest_row_sq = 0.0
            if columns:
                by_column = column_rows(rows, 0, n_need, shift, buffer)
                shifted = by_column[:n_features]
            else:
                xa = buffer[: n_need * width].reshape(n_need, width)
                shifted = xa[:, :n_features]
                shifted_block(rows, 0, n_need, shift, shifted)
            if columns and not whole:
                # Tighten the upper bound to the exact distance first. With few
                # centres the own centre's movement is what loosens the bounds:
                # this settles about half the rows left (B1); with many (the row
                # layout), the others' is, and it settled 0-30% (B2, B3) at more
                # cost than it saved (measured 15% of the whole fit).
                own = labels[idx]
                diff = shifted - np.take(centers_t, own, axis=1)
                exact = np.sqrt(np.einsum("ij,ij->j", diff, diff))
                exact += radius
                exact -= drift[own]
                upper[idx] = exact
                still = np.flatnonzero(exact >= bound)
                if still.size == 0:
                    return None, 0, 0.0
                if still.size < n_need:
                    idx, n_need = idx[still], still.size
                    by_column = np.take(by_column, still, axis=1)
            if columns:
                dist = dots.ravel()[: n_clusters * n_need].reshape(n_clusters, -1)
                partial_sq(coef, by_column, out=dist)
                if first:
                    largest_row_sq = float(by_column[-1].max())
                if per_center:
                    held = np.sqrt(np.maximum(dist, 0))
                    held += drift[:, None]
                    self.each[start:][idx] = held.T
                new, nearest_sq, second_sq = nearest_columns(dist, second=True)
                if per_center:  # the own centre's entry is inf, as below
                    at = np.arange(idx.start, idx.stop) if whole else idx
                    self.each[start:][at, new] = np.inf
                rows_of_moves = by_column[:n_features].T  # x - shift, F-ordered
            else:
                xa[:, n_features] = 1
                if first:
                    row_sq = row_norms_sq(shifted)
                    self.row_sq[start:][idx] = row_sq
                    largest_row_sq = float(row_sq.max())
                else:
                    row_sq = self.row_sq[start:][idx]
                block_dots = partial_sq(xa, coef, out=dots[:n_need])
                new, nearest_sq, second_sq = nearest(block_dots, row_sq, second=True)
                if per_center:
                    # every distance; the own centre's is left infinite by the
                    # runner-up's search (half[a, a] is inf: never needed)
                    held = np.sqrt(all_sq(block_dots, row_sq[:, None]))
                    held += drift
                    self.each[start:][idx] = held
                rows_of_moves = xa[:, :n_features]
            bound = np.sqrt(nearest_sq)
            if not first:  # (fresh bounds: no drift or loosening yet)
                bound += radius
                bound -= drift.take(new)
            upper[idx] = bound
            bound = np.sqrt(second_sq)
            if not first:
                bound += loose.take(new)
            lower[idx] = bound
            old = labels[idx]
            moved = np.flatnonzero(old != new)
            if moved.size == n_need:  # all of them (the first pass)
                where = idx
            else:
                where = idx.start + moved if whole else idx[moved]
                rows_of_moves = (
                    by_column[:n_features].take(moved, axis=1).T
                    if columns
                    else take_rows(xa, moved)[:, :n_features]
                )
                new, old = new[moved], old[moved]
            w = None
            if moved.size and self.sample_weight is not None:
                w = self.sample_weight[start:][where]
            return (where, rows_of_moves, new, old, w), n_need, largest_row_sq

        def run(part: int):
            start, stop = blocks.partitions[part]
            sums = self.partition_sums[part]
            labels = self.labels[start:stop]
            tally = [0, 0, 0.0]  # rows moved, rows computed, largest ||x - shift||^2

            def recompute(idx, bound=None):
                moves, n_need, largest_row_sq = settle(start, idx, bound)
                tally[1] += n_need
                tally[2] = max(tally[2], largest_row_sq)
                return moves

            def move(moves) -> None:
                if moves is None or not len(moves[2]):
                    return
                where, rows_of_moves, new, old, w = moves
                tally[0] += len(new)
                move_rows(sums, rows_of_moves, new, old, w)
                labels[where] = new

            spans = [(lo - start, hi - start) for lo, hi in blocks.blocks(start, stop)]
            if first:
                for lo, hi in spans:
                    move(recompute(slice(lo, hi)))
                return tally
            need, bound = unsettled(start, stop)
            if len(spans) == 1:
                if need.size > _WHOLE_BLOCK_SHARE * (stop - start):
                    move(recompute(slice(0, stop - start)))
                elif need.size:
                    move(recompute(need, bound))
                return tally
            edges = np.array([lo for lo, _ in spans] + [stop - start])
            counts = np.diff(np.searchsorted(need, edges))
            whole = counts > _WHOLE_BLOCK_SHARE * np.diff(edges)
            # The rows left in the other blocks are recomputed together, a
            # block's rows at a time, and their moves made block by block below,
            # in Lloyd's order (the same bits in the sums).
            batch = ~np.repeat(whole, counts)
            need, bound = need[batch], bound[batch]
            pending = []
            for lo in range(0, need.size, blocks.block_rows):
                chunk = slice(lo, lo + blocks.block_rows)
                moves = recompute(need[chunk], bound[chunk])
                if moves is not None and len(moves[2]):
                    where, rows_of_moves, new, old, w = moves
                    pending.append((where, np.array(rows_of_moves), new, old, w))
            if pending:
                pending = [
                    None if parts[0] is None else np.concatenate(parts)
                    for parts in zip(*pending)
                ]
                at = np.searchsorted(pending[0], edges)
            for i, (lo, hi) in enumerate(spans):
                if whole[i]:
                    move(recompute(slice(lo, hi)))
                elif pending and at[i] < at[i + 1]:
                    move([p if p is None else p[at[i] : at[i + 1]] for p in pending])
            return tally

        parts = blocks.map_indexed(run)
        self.n_computed = sum(p[1] for p in parts)
        if first:
            self._set_margin(max(p[2] for p in parts))
            self.upper += self.radius
        return sum(p[0] for p in parts)

    def sums(self):
        return total(self.partition_sums)

    def predicted_share(self, centers, step) -> float:
        """The share of the rows that bounds made fresh at ``centers`` would
        spare in the pass after, were the centres to move by ``step`` (each
        centre's distance) in between: Hamerly's test on a fixed sample of rows
        whose distances are computed here, a lower estimate. Called after a
        bounded pass has set the rounding margin.
        """
        X, n_features = self.X, self.n_features
        # at most a sixteenth of the rows: on small data a probe would cost a pass
        probe = slice(0, None, max(X.shape[0] // _PROBE_ROWS, 16))
        rows = X[probe]
        xa = np.empty((rows.shape[0], n_features + 1), X.dtype)
        shifted_block(rows, 0, rows.shape[0], self.shift, xa[:, :n_features])
        row_sq = row_norms_sq(xa[:, :n_features])
        xa[:, n_features] = 1
        partial = partial_sq(xa, augmented_coefficients(centers, X.dtype))
        labels, nearest_sq, second_sq = nearest(partial, row_sq, second=True)
        upper = np.sqrt(nearest_sq) + step[labels] + self.radius
        lower = np.sqrt(second_sq) - _largest_other(step)[labels]
        # Hamerly's other test, half the distance to the nearest other centre,
        # is weaker than this one a pass after the runner-up's exact distance
        return float(np.mean(upper < lower))

    def restart(self) -> None:
        """Forget the bounds: the next pass computes them afresh, as the first
        did (the labels and sums stand)."""
        self.previous = None
        self.drift[:] = 0
        self.loose[:] = 0


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
    bounded = True  # bounds kept (else Lloyd's passes)
    fresh_bounds = False  # made by the last pass
    last_wasteful = True  # whether the last bounded pass computed most rows
    plain_left, plain_next = 0, 1  # Lloyd passes still due; how many the next time
    # each centre's movement in the last iteration, and the one before's total
    last_step, step_before = None, None

    def next_step():
        """The centres' movement in the next iteration, as foreseen: the last
        one's, shrunk as the last shrank (Lloyd's converges about linearly)."""
        if not step_before:
            return last_step
        return last_step * min(float(np.linalg.norm(last_step)) / step_before, 1.0)

    def give_way():
        nonlocal bounded, plain_left, plain_next
        bounded = False
        plain_left, plain_next = plain_next, 2 * plain_next

    def step(centers):
        nonlocal bounded, fresh_bounds, last_wasteful, plain_left, plain_next
        nonlocal last_step, step_before
        if bounded and fresh_bounds:
            if state.predicted_share(centers, next_step()) < _RESTART_SHARE:
                give_way()  # bounds just made that would not pay (noise)
        elif not (bounded or plain_left):
            if state.predicted_share(centers, next_step()) >= _RESTART_SHARE:
                state.restart()
                bounded = True
        if bounded:
            fresh = state.previous is None
            n_changed = state.assign(centers)
            sums, weight_sums = state.sums()
            wasteful = state.n_computed > _UNPRUNED_SHARE * n_samples
            if not fresh and wasteful and last_wasteful:
                give_way()
            elif not fresh:
                plain_next = 1
            last_wasteful, fresh_bounds = wasteful, fresh
        else:
            # the labels and sums the bounds would give, without the bounds
            sums, weight_sums, _, n_changed = lloyd_pass(
                X,
                shift,
                sample_weight,
                centers,
                state.labels,
                blocks,
                partition_sums=state.partition_sums,
                with_inertia=False,
            )
            plain_left = max(plain_left - 1, 0)
            fresh_bounds = False
        new_centers = update_centers(
            X, shift, sample_weight, centers, state.labels, sums, weight_sums, blocks
        )
        step_before = None if last_step is None else float(np.linalg.norm(last_step))
        last_step = _movements(new_centers, centers)
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
