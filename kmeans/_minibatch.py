"""The :class:`MiniBatchKMeans` estimator: k-means on random minibatches.

Each step draws a minibatch of rows, assigns them to the nearest centres and moves
each centre towards the mean of its rows with a per-centre learning rate of one
over the weight it has seen so far (Sculley 2010, as scikit-learn does). Only
the rows of the minibatch are read in a step, so that X may be a memory map
larger than memory: they are gathered (their indices sorted, so that a memory
map is read in file order) into one buffer of ``batch_size`` rows.

The arithmetic runs in a frame shifted by the mean of the initial centres (which
depends on the initial centres alone), for the precision of the expanded
distance far from the origin, as in :mod:`kmeans._common`. The gathered rows
carry a column of ones, so that one matrix product per fixed block of the
minibatch gives the distances but for ``||x||^2`` (threads for large batches,
with results independent of their number); the sums per centre are accumulated
in float64.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import _sparse
from ._common import (
    Float32Screen,
    RowBlocks,
    assign_block,
    augmented_coefficients,
    blas_threads,
    centred_centers,
    thread_pool,
)
from ._estimator import _BaseKMeans, _kernels, _scale_weights
from ._exceptions import InvalidParameterError, warn
from ._lloyd import _scatter_add
from ._validation import (
    check_random_state,
    check_sample_weight,
    is_sparse,
    validate_bool,
    validate_int,
    validate_real,
)

__all__ = ["MiniBatchKMeans"]


# -- one minibatch ----------------------------------------------------------------


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


def _assign_sum_dense(X, indices, shift, weights, centers, pool, screening=None):
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
            source = X[lo:hi] if indices is None else X[indices[lo:hi]]
            np.subtract(source, shift, out=rows[:, :-1])
            rows[:, -1] = 1
            if screen is None:
                block_dots = np.matmul(rows, coef, out=dots[: hi - lo])
                block_labels = block_dots.argmin(axis=1)
                nearest = block_dots[np.arange(hi - lo), block_labels]
                nearest += np.einsum("ij,ij->i", rows[:, :-1], rows[:, :-1])
                np.maximum(nearest, 0, out=min_sq[lo:hi])
            else:
                block_labels, ambiguous = screen.labels(rows, dots[: hi - lo])
                n_ambiguous += ambiguous
                # from the differences: the float32 distances are not accurate
                offsets = rows[:, :-1] - centers[block_labels]
                np.einsum("ij,ij->i", offsets, offsets, out=min_sq[lo:hi])
            labels[lo:hi] = block_labels
            nearest = min_sq[lo:hi].astype(np.float64, copy=False)
            if weights is None:
                inertia += float(nearest.sum())
            else:
                # einsum, not a BLAS dot: BLAS may have several threads here
                inertia += float(np.einsum("i,i->", nearest, weights[lo:hi]))
                rows = rows * weights[lo:hi, None]  # the column of ones becomes w
            _scatter_add(sums.ravel(), rows, block_labels, width)
        return sums, inertia, n_ambiguous

    with products:
        parts = blocks.map(run)
    sums = parts[0][0]
    for part_sums, _, _ in parts[1:]:
        sums += part_sums
    inertia = sum(p[1] for p in parts)
    return _Batch(inertia, sums, labels, min_sq, batch, sum(p[2] for p in parts))


def _assign_sum_sparse(X, indices, shift, weights, centers, pool, screening=None):
    """:func:`_assign_sum_dense` for a CSR X (not shifted), in one block, without
    screening."""
    batch = X if indices is None else X[indices]
    batch = batch.astype(centers.dtype, copy=False)
    n_rows, n_features = batch.shape
    neg2_t, centers_sq = _sparse._centre_terms(centers)
    sq = _sparse._expanded_sq(batch, _sparse._block_row_sq(batch), neg2_t, centers_sq)
    labels = sq.argmin(axis=1)
    min_sq = sq[np.arange(n_rows), labels]
    inertia = float(min_sq.sum() if weights is None else min_sq @ weights)
    sums = np.zeros((centers.shape[0], n_features + 1))
    every = np.arange(n_rows)
    _sparse._scatter_rows(sums.ravel(), batch, every, labels, weights, n_features + 1, 1)
    return _Batch(inertia, sums, labels, min_sq, batch, 0)


def _rows_dense(batch, rows) -> np.ndarray:
    return batch[rows, :-1]


@dataclass(frozen=True)
class _BatchKernels:
    """How a minibatch is read, for one kind of input (dense or CSR)."""

    assign_sum: Callable  # gathers the batch too
    rows: Callable  # rows of a gathered batch, dense and shifted


_DENSE_BATCH = _BatchKernels(_assign_sum_dense, _rows_dense)
_SPARSE_BATCH = _BatchKernels(_assign_sum_sparse, _sparse._dense_rows)


class _State:
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
    ):
        self.centers = centers
        self.counts = counts
        self.n_since_reassign = n_since_reassign
        self.n_steps = n_steps
        self.screening = screening

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
        ``sum(w)``. Then, every ``10 * n_clusters`` rows seen, the centres whose
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
            X, indices, shift, weights, centers, pool, screening
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
        centers[hit] = moved
        counts[hit] = total
        if reassign:
            self.n_since_reassign = 0
            if reassignment_ratio > 0:
                self._reassign(
                    batch, weights, labels, min_sq, kernels, rng, reassignment_ratio
                )
        return inertia

    def _reassign(self, batch, weights, labels, min_sq, kernels, rng, ratio) -> None:
        counts = self.counts
        n_rows = min_sq.shape[0]
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
            _, neg2_t, centers_sq = centred_centers(kept, 0)
            dots = np.empty((orphans.size, kept.shape[0]), kept.dtype)
            xs = kernels.rows(batch, orphans).astype(kept.dtype, copy=False)
            odds[orphans] = assign_block(xs, neg2_t, centers_sq, dots)[1]
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
        rows = rng.choice(
            sq_dist.shape[0], n_rows_wanted, replace=False, p=odds / odds.sum()
        )
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


class _EarlyStop:
    """scikit-learn's stopping rule on the exponentially weighted average (EWA)
    of the mean batch inertia, and on the centres' movement when ``tol > 0``."""

    def __init__(self, n_samples, batch_size, tol, max_no_improvement, verbose, n_steps):
        self.alpha = min(2.0 * batch_size / (n_samples + 1), 1.0)
        self.batch_size = batch_size
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.verbose = verbose
        self.n_steps = n_steps
        self.ewa = None
        self.ewa_min = None
        self.no_improvement = 0
        self.last = None

    def __call__(self, step: int, batch_inertia: float, center_shift: float) -> bool:
        mean = batch_inertia / self.batch_size
        self.last = mean
        where = f"Minibatch step {step + 1}/{self.n_steps}"
        if step == 0:  # the inertia of the initial centres: not a result yet
            if self.verbose:
                print(f"{where}: mean batch inertia: {mean}")
            return False
        self.ewa = mean if self.ewa is None else self.ewa + self.alpha * (mean - self.ewa)
        if self.verbose:
            print(f"{where}: mean batch inertia: {mean}, ewa inertia: {self.ewa}")
        if self.tol > 0 and center_shift <= self.tol:
            if self.verbose:
                print(f"Converged (small centers change) at step {step + 1}/{self.n_steps}")
            return True
        if self.ewa_min is None or self.ewa < self.ewa_min:
            self.no_improvement = 0
            self.ewa_min = self.ewa
        else:
            self.no_improvement += 1
        if self.max_no_improvement is not None and (
            self.no_improvement >= self.max_no_improvement
        ):
            if self.verbose:
                print(
                    "Converged (lack of improvement in inertia) at step "
                    f"{step + 1}/{self.n_steps}"
                )
            return True
        return False


class _RowSampler:
    """Row indices drawn with replacement, with probability proportional to the
    weights (uniform without weights), sorted. The cumulative weights are
    computed once: a draw costs O(size log n), not O(n)."""

    def __init__(self, n_samples: int, weights):
        self.n_samples = n_samples
        self.cumulative = None
        if weights is not None:
            self.cumulative = np.cumsum(weights, dtype=np.float64)
            # a target rounded up to the total goes to the last row of positive weight
            self.last = int(np.searchsorted(self.cumulative, self.cumulative[-1]))

    def __call__(self, rng, size: int) -> np.ndarray:
        if self.cumulative is None:
            indices = rng.integers(self.n_samples, size=size)
        else:
            targets = rng.random(size) * self.cumulative[-1]
            # side="right": never a row of zero weight
            indices = np.searchsorted(self.cumulative, targets, side="right")
            np.minimum(indices, self.last, out=indices)
        indices.sort()
        return indices


# -- the estimator ----------------------------------------------------------------


class MiniBatchKMeans(_BaseKMeans):
    """K-means on random minibatches: fast on large data, and on data larger than
    memory.

    Each step draws ``batch_size`` rows (with replacement, in proportion to their
    weights), assigns them to the nearest centres and moves each centre towards
    the mean of its rows by one over the weight it has seen so far. Only the
    drawn rows are read in a step, so that X may be a :class:`numpy.memmap` (or a
    ``.npy`` file opened with ``np.load(path, mmap_mode="r")``) larger than
    memory. The same parameters, attributes and semantics as scikit-learn's
    ``MiniBatchKMeans``; :meth:`partial_fit` learns from a stream of batches.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters and of centres.
    init : {"k-means++", "random"}, callable or array-like of shape \
            (n_clusters, n_features), default="k-means++"
        How to choose the initial centres, from ``init_size`` rows drawn at
        random: as in :class:`~kmeans.KMeans`.
    max_iter : int, default=100
        Passes over the data, counted in rows seen: ``fit`` makes at most
        ``max_iter * n_samples // batch_size`` steps.
    batch_size : int, default=1024
        Rows per minibatch.
    verbose : int, default=0
        Print the mean batch inertia of each step, and why the fit stopped.
    compute_labels : bool, default=True
        After ``fit``, label every sample and compute the exact inertia (one more
        pass over X, block by block); after :meth:`partial_fit`, those of the
        batch. With False, ``labels_`` is not set and ``inertia_`` is the smoothed
        batch inertia times the total weight.
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None, \
            default=None
        Source of randomness for the initialisation, the minibatches and the
        reassignments. The same value gives the same result, bit for bit,
        whatever the number of threads.
    tol : float, default=0.0
        Stop when the summed squared movement of the centres in one step is at
        most ``tol`` times the mean variance of the features (computed in two
        passes over X when tol > 0). 0 disables this test.
    max_no_improvement : int or None, default=10
        Stop after this many steps without a new minimum of the exponentially
        weighted average of the mean batch inertia (smoothing factor
        ``min(1, 2 * batch_size / (n_samples + 1))``). None disables this test.
    init_size : int or None, default=None
        Rows drawn (with replacement, in proportion to their weights) to choose
        the initial centres from, and as many to compare the ``n_init``
        initialisations on. None means ``3 * batch_size``, at least
        ``3 * n_clusters``, at most n_samples.
    n_init : "auto" or int, default="auto"
        Initialisations tried; the one with the lowest inertia on the comparison
        rows is kept. "auto" is 1 for "k-means++" or an array and 3 for "random"
        or a callable.
    reassignment_ratio : float, default=0.01
        Centres whose count is below this fraction of the largest count are moved
        onto rows of the minibatch (every ``10 * n_clusters`` rows seen), drawn
        as k-means++ draws seeds: with odds proportional to their squared
        distance to the nearest other centre. 0 never moves them (at the risk of
        empty clusters); larger values move more of them. Unlike scikit-learn's,
        a centre that has seen no rows yet is not moved before
        ``10 * n_clusters`` rows are seen, and the rows are not drawn uniformly
        (see Notes).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centres, in X's float dtype (float32 stays float32).
    labels_ : ndarray of shape (n_samples,), dtype int32
        Nearest centre of each sample (of the last batch after
        :meth:`partial_fit`); only with ``compute_labels=True``.
    inertia_ : float
        Weighted sum of squared distances to the nearest centre (see
        ``compute_labels``).
    n_iter_ : int
        Passes over the data made by ``fit``: ``ceil(n_steps_ * batch_size /
        n_samples)``.
    n_steps_ : int
        Minibatches processed (by ``fit``, or by all the :meth:`partial_fit`
        calls).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen in ``fit``, when X had string column names.

    See Also
    --------
    KMeans : Lloyd's algorithm on all the rows at every iteration.

    Notes
    -----
    A step costs O(batch_size * n_clusters * n_features) whatever n_samples; the
    memory beyond X and the labels is bounded by ``batch_size`` and
    ``init_size`` rows (X is read row by row, never copied whole). X must be
    float32 or float64 for a memory map to stay one: other types are converted
    (a copy in memory). Sparse CSR data are read in the same way (batches are CSR
    slices), without shifting.

    Weights: ``fit`` draws the minibatches in proportion to them and gives the
    drawn rows unit weight, so that integer weights act as repeated rows in
    expectation; :meth:`partial_fit` uses them directly, so that from the same
    initial centres a batch with integer weights gives the same centres as the
    batch with its rows repeated. ``inertia_`` and :meth:`score` are weighted.

    Reassignment differs from scikit-learn's in two ways, both to keep good
    centres in place: scikit-learn also reassigns as soon as some centre has
    seen no row yet, which at the first step with many clusters moves centres
    whose cluster merely missed the first batch; and it moves them onto rows
    drawn uniformly, most often into a cluster that already has a centre. On
    blobs with k = 256 (batch 1024, three passes, k-means++ start) its final
    inertia was 1.15-1.6x the full KMeans's; here 1.0009x.

    References
    ----------
    D. Sculley, "Web-scale k-means clustering", WWW 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans import MiniBatchKMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [4, 2], [4, 0], [4, 4],
    ...               [4, 5], [0, 1], [2, 2], [3, 2], [5, 5], [1, -1]])
    >>> km = MiniBatchKMeans(n_clusters=2, batch_size=6, random_state=0,
    ...                      max_iter=10, n_init="auto").fit(X)
    >>> km.cluster_centers_.shape, km.labels_.shape
    ((2, 2), (12,))
    >>> bool((km.predict(X) == km.labels_).all())
    True

    Streaming: one call of :meth:`partial_fit` per chunk; the first one
    initialises the centres.

    >>> init = np.array([[0.0, 0.0], [4.0, 4.0]])
    >>> km = MiniBatchKMeans(n_clusters=2, init=init)
    >>> km = km.partial_fit(X[:6]).partial_fit(X[6:])
    >>> km.n_steps_
    2
    >>> km.cluster_centers_.round(2)
    array([[1.5 , 0.67],
           [3.5 , 3.67]])
    """

    _default_n_init = 3

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: str | Callable | np.ndarray = "k-means++",
        max_iter: int = 100,
        batch_size: int = 1024,
        verbose: int = 0,
        compute_labels: bool = True,
        random_state=None,
        tol: float = 0.0,
        max_no_improvement: int | None = 10,
        init_size: int | None = None,
        n_init: str | int = "auto",
        reassignment_ratio: float = 0.01,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio

    # -- parameters -----------------------------------------------------------

    def _validate_params(self) -> None:
        self._validate_common_params()
        owner = type(self).__name__
        validate_int(self.batch_size, "batch_size", owner, low=1)
        validate_bool(self.compute_labels, "compute_labels", owner)
        if self.max_no_improvement is not None:
            validate_int(self.max_no_improvement, "max_no_improvement", owner, low=0)
        if self.init_size is not None:
            validate_int(self.init_size, "init_size", owner, low=1)
        validate_real(self.reassignment_ratio, "reassignment_ratio", owner, low=0)
        if isinstance(self.init, str) and self.init == "k-means||":
            raise InvalidParameterError(
                f"The 'init' parameter of {owner} must be 'k-means++', 'random', a "
                "callable or an array-like: 'k-means||' is KMeans's initialisation "
                "for dask arrays."
            )

    def _sizes(self, n_samples: int) -> tuple[int, int]:
        """The batch size and init size for ``n_samples`` rows."""
        batch_size = min(self.batch_size, n_samples)
        init_size = self.init_size
        if init_size is None:
            init_size = max(3 * batch_size, 3 * self.n_clusters)
        elif init_size < self.n_clusters:
            warn(
                f"init_size={init_size} should be larger than "
                f"n_clusters={self.n_clusters}. Setting it to "
                "min(3*n_clusters, n_samples)",
                RuntimeWarning,
            )
            init_size = 3 * self.n_clusters
        return batch_size, min(init_size, n_samples)

    # -- fitting --------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None) -> MiniBatchKMeans:
        """Compute the centres on minibatches of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; a memory map is read one minibatch at a time. float32
            and float64 are kept; other numeric types are converted to float64.
            It is never modified.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Non-negative weights: the minibatches are drawn in proportion to
            them. None gives every sample weight 1.

        Returns
        -------
        self : MiniBatchKMeans
            The fitted estimator.
        """
        self._fit(X, sample_weight)
        return self

    def _initialise(self, X, weights, init, n_init, init_size, rng, pool):
        """The best of ``n_init`` initialisations, each on ``init_size`` rows
        drawn at random, judged on as many other drawn rows. Returns the centres
        (not shifted)."""
        n_samples = X.shape[0]
        kernels = _kernels(X)
        sampler = _RowSampler(n_samples, weights)
        subsample = init_size < n_samples
        valid = None
        if n_init > 1:
            valid = X[sampler(rng, init_size)] if subsample else X
        best = best_inertia = None
        for run in range(n_init):
            if self.verbose:
                print(f"Init {run + 1}/{n_init} with method {self.init}")
            rows, row_weights = X, weights
            if subsample:
                # drawn in proportion to the weights, so each drawn row counts once
                rows, row_weights = X[sampler(rng, init_size)], None
            shift = kernels.column_mean(rows, pool)
            centers = self._initial_centers(rows, shift, row_weights, init, rng, pool)
            if valid is None:
                return centers
            valid_weights = weights if not subsample else None
            inertia = kernels.labels_inertia(valid, centers, valid_weights, pool)[1]
            if self.verbose:
                print(f"Inertia for init {run + 1}/{n_init}: {inertia}")
            if best is None or inertia < best_inertia:
                best, best_inertia = centers, inertia
        return best

    def _fit(self, X, sample_weight):
        """Guts of fit; returns X as validated, for fit_transform."""
        self._validate_params()
        X, names = self._check_fit_data(X)
        n_samples, n_features = X.shape
        weights = check_sample_weight(sample_weight, n_samples, X.dtype)
        total_weight = n_samples if weights is None else weights.sum(dtype=np.float64)
        weights, weight_exponent = _scale_weights(weights, X.dtype)
        init, n_init = self._check_init(
            n_features, X.dtype, weights, self._resolved_n_init()
        )
        batch_size, init_size = self._sizes(n_samples)
        rng = check_random_state(self.random_state)
        kernels = _kernels(X)
        batch_kernels = _SPARSE_BATCH if is_sparse(X) else _DENSE_BATCH
        n_steps = self.max_iter * n_samples // batch_size

        with thread_pool() as pool:
            tol = 0.0
            if self.tol > 0:
                mean = kernels.column_mean(X, pool)
                tol = self.tol * kernels.mean_variance(X, mean, pool)
            centers = self._initialise(X, weights, init, n_init, init_size, rng, pool)
            shift = _working_shift(centers, X)
            state = _State(centers - shift, np.zeros(self.n_clusters), 0)
            sampler = _RowSampler(n_samples, weights)
            stop = _EarlyStop(
                n_samples, batch_size, tol, self.max_no_improvement, self.verbose, n_steps
            )
            for step in range(n_steps):
                before = state.centers.copy() if tol > 0 else None
                inertia = state.step(
                    X, sampler(rng, batch_size), shift, None, batch_kernels, rng,
                    self.reassignment_ratio, pool,
                )  # fmt: skip
                shift_sq = 0.0
                if before is not None:
                    before -= state.centers
                    shift_sq = float(np.einsum("ij,ij->", before, before))
                if stop(step, inertia, shift_sq):
                    break
            self.cluster_centers_ = state.centers + shift
            self._shift = shift
            self._counts = state.counts
            self._n_since_last_reassign = state.n_since_reassign
            self._screening = state.screening
            self.n_steps_ = step + 1
            self.n_iter_ = math.ceil(self.n_steps_ * batch_size / n_samples)
            if self.compute_labels:
                self.labels_, inertia = kernels.labels_inertia(
                    X, self.cluster_centers_, weights, pool
                )
                with np.errstate(over="ignore"):
                    self.inertia_ = float(np.ldexp(inertia, weight_exponent))
            else:
                if hasattr(self, "labels_"):
                    del self.labels_
                mean_inertia = stop.ewa if stop.ewa is not None else stop.last
                self.inertia_ = float(mean_inertia * total_weight)
        self._batch_size = batch_size
        self._init_size = init_size
        self._n_init = n_init
        if hasattr(self, "_rng"):
            del self._rng  # partial_fit after fit starts a new random stream
        self._set_input_features(n_features, names)
        return X

    def partial_fit(self, X, y=None, sample_weight=None) -> MiniBatchKMeans:
        """Update the centres with one minibatch.

        The first call (on an unfitted model) checks the parameters and chooses
        the initial centres from this batch (``init_size`` of its rows at
        most); every call then makes one step with all the rows of X, weighted
        by ``sample_weight``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One minibatch. The first needs at least ``n_clusters`` rows.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Weights of the rows; None gives every row weight 1.

        Returns
        -------
        self : MiniBatchKMeans
            The updated estimator.
        """
        first = not hasattr(self, "cluster_centers_")
        if first:
            self._validate_params()
            X, names = self._check_fit_data(X)
        else:
            self._reject_dask(X)
            X = self._check_test_data(X)
        n_rows, n_features = X.shape
        dtype = X.dtype if first else self.cluster_centers_.dtype
        weights = check_sample_weight(sample_weight, n_rows, dtype)
        batch_kernels = _SPARSE_BATCH if is_sparse(X) else _DENSE_BATCH
        with thread_pool() as pool:
            if first:
                init, _ = self._check_init(n_features, X.dtype, weights, 1)
                batch_size, init_size = self._sizes(n_rows)
                self._rng = check_random_state(self.random_state)
                centers = self._initialise(X, weights, init, 1, init_size, self._rng, pool)
                self._shift = _working_shift(centers, X)
                self._counts = np.zeros(self.n_clusters)
                self._n_since_last_reassign = 0
                self._batch_size, self._init_size, self._n_init = batch_size, init_size, 1
                self.n_steps_ = 0
                self._set_input_features(n_features, names)
            else:
                centers = self.cluster_centers_
                if not hasattr(self, "_rng"):
                    self._rng = check_random_state(self.random_state)
            shift = self._shift if not is_sparse(X) else 0 * self._shift
            state = _State(
                (centers - shift).astype(dtype, copy=False),
                self._counts,
                self._n_since_last_reassign,
                self.n_steps_,
                getattr(self, "_screening", None),
            )
            state.step(
                X, None, shift, weights, batch_kernels, self._rng,
                self.reassignment_ratio, pool,
            )  # fmt: skip
            self.cluster_centers_ = state.centers + shift
            self._n_since_last_reassign = state.n_since_reassign
            self._screening = state.screening
            self.n_steps_ += 1
            if self.compute_labels:
                self.labels_, self.inertia_ = _kernels(X).labels_inertia(
                    X, self.cluster_centers_, weights, pool
                )
        return self


def _working_shift(centers: np.ndarray, X) -> np.ndarray:
    """The frame of the minibatch steps: the mean of the initial centres for dense
    data (it depends on them alone), no shift for sparse data."""
    if is_sparse(X):
        return np.zeros(centers.shape[1], centers.dtype)
    return centers.mean(axis=0).astype(centers.dtype)
