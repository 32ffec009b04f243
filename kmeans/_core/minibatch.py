"""The minibatch step: assign a minibatch, move its centres, reassign the starved.

Each step draws a minibatch of rows, assigns them to the nearest centres and moves
each centre towards the mean of its rows with a per-centre learning rate of one
over the weight it has seen so far (Sculley 2010, as scikit-learn does). Only
the rows of the minibatch are read in a step, so that X may be a memory map
larger than memory: they are gathered (their indices sorted, so that a memory
map is read in file order) into one buffer of ``batch_size`` rows.

The arithmetic runs in a frame shifted by the mean of the initial centres (which
depends on the initial centres alone), for the precision of the expanded
distance far from the origin. The gathered rows carry a column of ones, so that
one matrix product per fixed block of the minibatch gives the distances but for
``||x||^2`` (threads for large batches, with results independent of their
number); the sums per centre are accumulated in float64. Prior validation is
assumed.
"""

from __future__ import annotations

import contextlib
import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import cosine
from .blocks import RowBlocks, blas_threads, is_sparse, rows_of, take_rows
from .kernel import (
    Float32Screen,
    augmented_coefficients,
    centre_terms,
    nearest,
    partial_sq,
    row_norms_sq,
)
from .sampling import CumulativeSampler, weighted_choice
from .update import add_rows, add_sparse_rows


@functools.lru_cache(maxsize=8)
def _batch_blocks(n_rows: int, n_clusters: int, n_features: int, itemsize: int):
    """The blocks of a batch, run in the calling thread (made once per shape: a
    step of 1024 rows takes ~0.6 ms, and building them 40 us); ``itemsize`` is
    that of the products."""
    return RowBlocks(n_rows, n_clusters, n_features, itemsize, None, even=True)


class _Batch(NamedTuple):
    """What a step learns of its minibatch."""

    inertia: float  # weighted, with respect to the centres before the step
    sums: np.ndarray  # (n_clusters, n_features + 1) float64: weighted sums, weights
    labels: np.ndarray
    min_sq: np.ndarray  # squared distance of each row to its centre
    rows: object  # the gathered batch (dense: [x - shift, 1])
    n_ambiguous: int  # rows the float32 screen could not decide (0 without it)


def _assign_sum_dense(
    X, indices, shift, weights, centers, pool, screening=None, unit=False
):
    """Gather a dense batch; its weighted inertia, per-centre sums and squared
    distances.

    The batch is rows ``indices`` of X (all rows for None) as ``[x - shift, 1]``,
    in the dtype of ``centers`` (shifted like it); each block gathers its own
    rows, so that the threads share the reading. Returns the inertia with respect
    to ``centers``, a float64 array (n_clusters, n_features + 1) of the weighted
    row sums per centre, with the summed weights in the last column, the labels,
    each row's squared distance to its centre and the gathered batch. Blocks and
    partitions are fixed by the shapes alone, and the partial sums are added in
    partition order: the result does not depend on the thread count.

    ``screening`` chooses the labelling where a :class:`Float32Screen` would pay:
    True screens with the float32 product on BLAS's threads, False multiplies in
    float64, and None (to decide) screens on one BLAS thread, so that the number
    of ambiguous rows, on which the caller decides, does not depend on the
    thread count either.

    ``unit`` (spherical k-means, ``shift`` zero): the gathered rows are divided
    by their norms, so that the Euclidean step on them is the cosine one.
    """
    n_rows = X.shape[0] if indices is None else indices.shape[0]
    n_clusters, n_features = centers.shape
    width = n_features + 1
    dtype = centers.dtype
    # rows [x - shift, 1]: one product gives ||c||^2 - 2 x.c
    coef = augmented_coefficients(centers, dtype)
    screen = None if screening is False else Float32Screen.for_coefficients(coef)
    if screen is None:
        blocks = _batch_blocks(n_rows, n_clusters, n_features, dtype.itemsize)
        if pool is not None and len(blocks.partitions) > 1:
            # the same partitions, run by the pool: the same sums, bit for bit
            blocks = copy.copy(blocks)
            blocks.pool = pool
        products = contextlib.nullcontext()
    else:
        # In the calling thread, the float32 product on BLAS's threads: the rest
        # of a step (gathering, argmin, sums) holds the GIL too often to gain
        # from the pool (W3, batch 1024: 0.59 ms a step, 0.83 ms with the pool).
        blocks = _batch_blocks(n_rows, n_clusters, n_features, 4)
        products = blas_threads(pool if screening else None)
    batch = np.empty((n_rows, width), dtype)
    min_sq = np.empty(n_rows, dtype)
    labels = np.empty(n_rows, np.intp)

    def run(start: int, stop: int):
        dots = np.empty((blocks.block_rows, n_clusters), np.float32 if screen else dtype)
        sums = np.zeros((n_clusters, width))
        inertia = 0.0
        n_ambiguous = 0
        for lo, hi in blocks.blocks(start, stop):
            rows = batch[lo:hi]
            source = X[lo:hi] if indices is None else take_rows(X, indices[lo:hi])
            np.subtract(source, shift, out=rows[:, :-1])
            if unit:
                cosine.unit_rows(rows[:, :-1])
            rows[:, -1] = 1
            if screen is None:
                block_dots = partial_sq(rows, coef, out=dots[: hi - lo])
                row_sq = row_norms_sq(rows[:, :-1])
                block_labels, min_sq[lo:hi], _ = nearest(block_dots, row_sq)
            else:
                block_labels, ambiguous = screen.labels(rows, dots[: hi - lo])
                n_ambiguous += ambiguous
                # from the differences: the float32 distances are not accurate
                offsets = rows[:, :-1] - take_rows(centers, block_labels)
                np.einsum("ij,ij->i", offsets, offsets, out=min_sq[lo:hi])
            labels[lo:hi] = block_labels
            row_min = min_sq[lo:hi].astype(np.float64, copy=False)
            if weights is None:
                inertia += float(row_min.sum())
            else:
                # einsum, not a BLAS dot: BLAS may have several threads here
                inertia += float(np.einsum("i,i->", row_min, weights[lo:hi]))
                rows = rows * weights[lo:hi, None]  # the column of ones becomes w
            add_rows(sums, rows, block_labels)
        return sums, inertia, n_ambiguous

    with products:
        parts = blocks.map(run)
    sums = parts[0][0]
    for part_sums, _, _ in parts[1:]:
        sums += part_sums
    inertia = sum(p[1] for p in parts)
    return _Batch(inertia, sums, labels, min_sq, batch, sum(p[2] for p in parts))


def _assign_sum_sparse(
    X, indices, shift, weights, centers, pool, screening=None, unit=False
):
    """:func:`_assign_sum_dense` for a CSR X (not shifted), in one block, without
    screening."""
    batch = X if indices is None else X[indices]
    batch = batch.astype(centers.dtype, copy=False)
    if unit:
        batch = cosine.unit_rows(batch)
    n_rows, n_features = batch.shape
    neg2_t, centers_sq = centre_terms(centers, np.float64)
    partial = partial_sq(batch, neg2_t, centers_sq)
    labels, min_sq, _ = nearest(partial, row_norms_sq(batch))
    inertia = float(min_sq.sum() if weights is None else min_sq @ weights)
    sums = np.zeros((centers.shape[0], n_features + 1))
    add_sparse_rows(sums, batch, np.arange(n_rows), labels, weights)
    return _Batch(inertia, sums, labels, min_sq, batch, 0)


def _rows_dense(batch, rows) -> np.ndarray:
    return batch[rows, :-1]


@dataclass(frozen=True)
class _BatchKernels:
    """How a minibatch is read, for one kind of input (dense or CSR)."""

    assign_sum: Callable  # gathers the batch too
    rows: Callable  # rows of a gathered batch, dense and shifted


DENSE_BATCH = _BatchKernels(_assign_sum_dense, _rows_dense)
SPARSE_BATCH = _BatchKernels(_assign_sum_sparse, rows_of)


class State:
    """What a minibatch step changes: the centres (shifted frame, in the data's
    dtype), the weight each centre has seen (float64), the number of rows seen
    since the last reassignment and of steps made; and whether steps screen their
    products in float32 (None until the first step has told, see
    :func:`_assign_sum_dense`)."""

    # Beyond this share of ambiguous rows (ties: small integers, duplicated rows)
    # the screen is set aside: its row-by-row fallback costs 2.2 us a row against
    # 0.6 us in a float64 product (W3's shape, one thread), so the screen's gain
    # (0.29 ms a batch of 1024) is gone at about 1/8; 1/64 keeps a margin.
    MAX_AMBIGUOUS = 1 / 64

    def __init__(
        self,
        centers: np.ndarray,
        counts: np.ndarray,
        n_since_reassign: int,
        n_steps: int = 0,
        screening: bool | None = None,
        unit: bool = False,
    ):
        self.centers = centers
        self.counts = counts
        self.n_since_reassign = n_since_reassign
        self.n_steps = n_steps
        self.screening = screening
        self.unit = unit  # spherical: steps on the batch's unit rows

    def _screening_now(self):
        """True, False or None (screen on one BLAS thread and count the ambiguous
        rows): at step 1, then at steps 2, 4, 8, ... while the screen is off, as
        ties are likeliest at the start, when the centres sit on rows."""
        if self.screening:
            return True
        step = self.n_steps + 1
        return None if step & (step - 1) == 0 else False

    def step(self, X, indices, shift, weights, kernels, rng, reassignment_ratio, pool):
        """One minibatch step on rows ``indices`` of X (all rows for None), read
        as ``x - shift``; returns the batch's inertia before the update.

        Every centre with rows in the batch moves to
        ``(c * count + sum(w * x)) / (count + sum(w))`` and its count grows by
        ``sum(w)`` (spherical: then normalised, the rows read as unit vectors).
        Then, every ``10 * n_clusters`` rows seen, the centres whose
        count is below ``reassignment_ratio`` times the largest move onto rows of
        the batch far from the other centres (:func:`_far_rows`).

        scikit-learn also reassigns whenever a centre has seen nothing yet, which
        at the first step with many clusters moves well-placed centres whose
        cluster merely had no row in the batch (on blobs with k = 256, batch
        1024: five centres, and a final inertia 1.15-1.6x the full KMeans's,
        1.0009x without). After ``10 * n_clusters`` rows a centre with a
        cluster has seen some of it, so only the clock decides here.
        """
        centers, counts = self.centers, self.counts
        n_rows = X.shape[0] if indices is None else indices.shape[0]
        self.n_since_reassign += n_rows
        reassign = self.n_since_reassign >= 10 * len(counts)
        screening = self._screening_now()
        inertia, sums, labels, min_sq, batch, n_ambiguous = kernels.assign_sum(
            X, indices, shift, weights, centers, pool, screening, self.unit
        )
        self.n_steps += 1
        if screening is None:
            self.screening = n_ambiguous <= self.MAX_AMBIGUOUS * n_rows
        batch_weight = sums[:, -1]
        hit = np.flatnonzero(batch_weight > 0)
        seen = counts[hit]
        total = seen + batch_weight[hit]
        moved = centers[hit] * seen[:, None]  # float64: counts are
        moved += sums[hit, :-1]
        moved /= total[:, None]
        if self.unit:
            moved = cosine.normalise(moved, centers[hit])
        centers[hit] = moved
        counts[hit] = total
        if reassign:
            self.n_since_reassign = 0
            if reassignment_ratio > 0:
                self._reassign(
                    batch, weights, labels, min_sq, kernels, rng, reassignment_ratio
                )
        if self.unit:
            return inertia / 2  # the squared chord is 2 (1 - cos)
        return inertia

    def _reassign(self, batch, weights, labels, min_sq, kernels, rng, ratio) -> None:
        counts = self.counts
        n_rows = min_sq.shape[0]
        with np.errstate(over="ignore"):  # a ratio of 1e308: inf, every centre is low
            low = counts < ratio * counts.max()
        limit = int(0.5 * n_rows)
        if np.count_nonzero(low) > limit:
            # keep the lowest counts only, at most half the batch
            low[np.argsort(counts, kind="stable")[limit:]] = False
        chosen = np.flatnonzero(low)
        if chosen.size == 0:
            return
        # Odds: the squared distance to the nearest kept centre. Rows labelled with
        # a centre that moves (few: its count is low) are measured again against
        # the kept ones, or a small real cluster would look covered by the very
        # centre taken from it.
        odds = min_sq.astype(np.float64)
        orphans = np.flatnonzero(low[labels])
        if orphans.size and not low.all():
            kept = self.centers[~low]
            neg2_t, centers_sq = centre_terms(kept)
            # CSR rows stay sparse: a batch of a large vocabulary made dense
            # would be far larger than the batch
            xs = batch[orphans] if is_sparse(batch) else kernels.rows(batch, orphans)
            xs = xs.astype(kept.dtype, copy=False)
            odds[orphans] = nearest(partial_sq(xs, neg2_t, centers_sq), row_norms_sq(xs))[1]
        rows = _far_rows(odds, weights, chosen.size, rng)
        self.centers[chosen] = kernels.rows(batch, rows)
        if not low.all():
            # not back to zero, or they would be reassigned again at once
            counts[chosen] = counts[~low].min()


def _far_rows(sq_dist, weights, n_rows_wanted: int, rng) -> np.ndarray:
    """Distinct rows of the batch for reassigned centres, drawn with odds
    proportional to their weight times ``sq_dist`` (squared distance to the
    nearest kept centre), in increasing order.

    scikit-learn draws them uniformly, so that a centre moved off a dead spot
    lands most often in a cluster that already has a centre; drawn far from the
    other centres, as k-means++ draws seeds, it goes where one is missing. When
    fewer rows than wanted have positive odds, all of those are taken and the
    rest drawn uniformly among the other rows of positive weight (then any).
    """
    odds = sq_dist.astype(np.float64)
    if weights is not None:
        odds *= weights
    positive = np.flatnonzero(odds > 0)
    if positive.size >= n_rows_wanted:
        rows = weighted_choice(rng, odds, sq_dist.shape[0], n_rows_wanted, replace=False)
    else:
        others = np.ones(sq_dist.shape[0], bool)
        others[positive] = False
        heavy = others if weights is None else others & (weights > 0)
        pool_rows = np.flatnonzero(heavy)
        if pool_rows.size < n_rows_wanted - positive.size:
            pool_rows = np.flatnonzero(others)
        extra = rng.choice(pool_rows, n_rows_wanted - positive.size, replace=False)
        rows = np.concatenate([positive, extra])
    rows.sort()
    return rows


class RowSampler:
    """Row indices drawn with replacement, with probability proportional to the
    weights, sorted. Equal weights draw as no weights do (uniformly): the same
    minibatches, hence the same result."""

    def __init__(self, n_samples: int, weights):
        self.n_samples = n_samples
        uniform = weights is None or bool(np.all(weights == weights[0]))
        self.sampler = None if uniform else CumulativeSampler(weights)

    def __call__(self, rng, size: int) -> np.ndarray:
        if self.sampler is None:
            indices = rng.integers(self.n_samples, size=size)
        else:
            indices = self.sampler(rng, size)
        indices.sort()
        return indices
