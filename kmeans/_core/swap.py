"""Random swap refinement (Fränti 2018) of a k-means solution.

A trial moves one centre, chosen at random, onto a data point chosen at random,
runs two Lloyd iterations and keeps the new solution only if its sum of squared
errors (SSE) fell; otherwise the old one is restored. Many trials escape the
local optima that Lloyd's algorithm stops in: a centre is taken from where two
share one true cluster and put into a cluster that has none.

Such a trial succeeds only when both draws are right, which uniform draws make
rare (Fränti's analysis: O(k^2) trials at k clusters). Here the centre is drawn
with odds inversely proportional to its cluster's Ward merge cost (low when it
shares a true cluster with its neighbour) and the point with odds proportional
to its weighted squared distance to the nearest centre (high where a centre is
missing). On the SIPU sets this cut the trials needed to find every cluster
about tenfold (A3: at most 3.6 k, from 28 k).

The swaps start from a converged solution, and a trial touches few clusters, so
it is computed incrementally, with the same result as full Lloyd iterations (up
to rounding at exact ties). By the triangle inequality:

- A row of an unmoved cluster ``a`` can only go to a moved centre ``m`` with
  ``|c_a - c_m| <= 2 |x - c_a|``: clusters farther than twice their radius from
  every moved centre are skipped, and so are their rows nearer their centre than
  half the distance to the nearest moved one.
- A row of a moved cluster nearer its centre than half the distance to any other
  centre stays; the others are searched among the centres within twice a bound
  on the cluster's radius (its old radius plus how far its centre moved).
- Only the clusters that gained or lost rows, or moved, are re-averaged.

So a trial costs about the rows of the clusters near the swap (several Lloyd
steps spread to neighbours of neighbours) plus a few cheap O(n_samples) gathers
over the labels, instead of several full passes over the data. All arrays are in
the frame shifted by the data mean, as in the Lloyd core; prior validation is
assumed.

References
----------
P. Fränti, "Efficiency of random swap clustering", Journal of Big Data 5:13, 2018.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .blocks import RowBlocks, scratch, shifted_block, take_rows
from .kernel import (
    augmented_coefficients,
    centre_terms,
    nearest,
    pairwise_sq,
    partial_sq,
    row_norms_sq,
)
from .sampling import CumulativeSampler
from .update import add_rows

# Lloyd iterations after each swap, as in Fränti (2018): enough to settle the
# neighbourhood of the swap, few enough to keep a trial cheap.
_LLOYD_STEPS = 2
# Rows per matrix product in the incremental searches, and elements per gathered
# block of candidate centres: both bound the scratch memory.
_CHUNK_ROWS = 4096
_CHUNK_ELEMENTS = 1 << 18
# Relative slack of the pruning tests, so that rounding in the squared distances
# never prunes a row that may move: pruning less is only slower, never different.
_PRUNE_SLACK = 1e-4
# Up to this many elements in X and its distance matrix (n_samples * (n_clusters +
# n_features)), trials run as whole-array Lloyd iterations on a shifted copy of X:
# there a trial's incremental bookkeeping (some 150 small NumPy calls) costs more
# than the arithmetic it saves (CPU time per trial on the SIPU sets: 2.1-3.3x
# less at 6.5e4-8.5e4 elements, 1.5x less at 1.9e5, equal at 3.9e5).
_DENSE_ELEMENTS = 1 << 18


@dataclass
class SwapRun:
    """What a random swap refinement returns (centres in the shifted frame)."""

    centers: np.ndarray
    n_trials: int
    n_accepted: int


def _nearest(X, shift, rows, centers):
    """Nearest of ``centers`` and the squared distance to it, for ``X[rows]``."""
    neg2_t, centers_sq = centre_terms(centers)
    labels = np.empty(rows.size, np.intp)
    dist = np.empty(rows.size, X.dtype)
    for lo in range(0, rows.size, _CHUNK_ROWS):
        hi = min(lo + _CHUNK_ROWS, rows.size)
        xs = take_rows(X, rows[lo:hi])
        xs -= shift
        partial = partial_sq(xs, neg2_t, centers_sq)
        labels[lo:hi], dist[lo:hi], _ = nearest(partial, row_norms_sq(xs))
    return labels, dist


def _nearest_candidate(xs, centers, candidates):
    """For each row of ``xs``, the nearest of its own candidate centres.

    Not the assignment kernel: each row has its own few candidates, which one
    product per block cannot give; the differences are exact, and cheap for so
    few. ``candidates[i]`` lists centre indices in increasing order (padding repeats
    one of them), so that ties go to the lowest index as in a full assignment.
    """
    n_rows, n_candidates = candidates.shape
    labels = np.empty(n_rows, np.intp)
    dist = np.empty(n_rows, xs.dtype)
    step = max(1, _CHUNK_ELEMENTS // (n_candidates * xs.shape[1]))
    for lo in range(0, n_rows, step):
        hi = min(lo + step, n_rows)
        diff = centers[candidates[lo:hi]]
        diff -= xs[lo:hi, None, :]
        sq = np.einsum("ijk,ijk->ij", diff, diff)
        best = sq.argmin(axis=1)
        rows = np.arange(hi - lo)
        labels[lo:hi] = candidates[lo:hi][rows, best]
        dist[lo:hi] = sq[rows, best]
    return labels, dist


def _padded_indices(mask):
    """The True columns of each row of ``mask``, increasing, padded with the first."""
    counts = mask.sum(axis=1)
    order = np.argsort(~mask, axis=1, kind="stable")[:, : max(int(counts.max()), 1)]
    pad = np.arange(order.shape[1]) >= counts[:, None]
    order[pad] = np.broadcast_to(order[:, :1], order.shape)[pad]
    return order


def _pairwise_sq(A, B):
    """Squared distances between the rows of A and B (float64)."""
    return pairwise_sq(A.astype(np.float64), B.astype(np.float64))


def _masses(labels, weights, xs, n_clusters: int) -> np.ndarray:
    """The (weighted) number of rows of each cluster, in float64; weighs the rows
    ``xs`` in place for :func:`_means`."""
    if weights is None:
        return np.bincount(labels, minlength=n_clusters).astype(np.float64)
    xs *= weights[:, None]
    return np.bincount(labels, weights, n_clusters)


def _means(weighted_xs, labels, mass, old) -> np.ndarray:
    """New centres: the weighted mean of each cluster's rows (labelled ``0 ..
    len(old) - 1``); a cluster without mass keeps its centre from ``old``."""
    sums = np.zeros(old.shape)
    add_rows(sums, weighted_xs, labels, fresh=True)
    filled = mass > 0
    new = old.copy()
    new[filled] = sums[filled] / mass[filled, None]
    return new


class _Partition:
    """Centres with the exact nearest-centre labels and squared distances.

    Between trials the invariant holds: ``labels`` are the nearest centres,
    ``dist`` the squared distances to them, ``radius_sq`` and ``sse`` the largest
    and the (weighted) summed ``dist`` of each cluster.
    """

    def __init__(self, X, shift, sample_weight, centers, pool):
        self.X, self.shift, self.weights = X, shift, sample_weight
        self.centers = centers.copy()
        n_samples, n_features = X.shape
        n_clusters = centers.shape[0]
        self.labels = np.empty(n_samples, np.int32)
        self.dist = np.empty(n_samples, X.dtype)
        self.radius_sq = np.zeros(n_clusters)
        self.sse = np.zeros(n_clusters)
        neg2_t, centers_sq = centre_terms(self.centers)
        blocks = RowBlocks(n_samples, n_clusters, n_features, X.itemsize, pool)

        def run(start: int, stop: int) -> None:
            buffer = scratch(blocks, n_features, X.dtype)
            dots = scratch(blocks, n_clusters, X.dtype)
            for lo, hi in blocks.blocks(start, stop):
                xs = shifted_block(X, lo, hi, shift, buffer)
                partial = partial_sq(xs, neg2_t, centers_sq, out=dots[: hi - lo])
                self.labels[lo:hi], self.dist[lo:hi], _ = nearest(partial, row_norms_sq(xs))

        blocks.map(run)
        self._refresh(np.arange(n_clusters), np.arange(n_samples), self.labels)
        # absolute slack of the pruning tests: rounding of squared distances at the
        # data's scale (shifted frame)
        scale = float(np.einsum("ij,ij->i", self.centers, self.centers).max())
        scale += float(self.radius_sq.max())
        self.tiny = 64 * float(np.finfo(X.dtype).eps) * scale
        # Clusters whose centre may not be the mean of their rows: a full Lloyd
        # update would move them, so the next trial's first update includes them.
        # At the start that may be any cluster.
        self.stale = np.ones(n_clusters, bool)

    def _refresh(self, clusters, rows, labels) -> None:
        """Recompute ``radius_sq`` and ``sse`` of ``clusters``, whose rows are ``rows``
        (labelled ``labels``)."""
        dist = self.dist[rows]
        radius_sq = np.zeros_like(self.radius_sq)
        np.maximum.at(radius_sq, labels, dist)
        self.radius_sq[clusters] = radius_sq[clusters]
        w = dist if self.weights is None else dist * self.weights[rows]
        self.sse[clusters] = np.bincount(labels, w, self.sse.size)[clusters]

    def _assign(self, moved, bound, log) -> np.ndarray:
        """Nearest centres after the centres ``moved`` changed; the touched clusters.

        ``bound[i]`` bounds the distance of every row of cluster ``moved[i]`` to its
        new centre (infinite when unknown). The old labels and distances of the
        rows that may change are appended to ``log`` so that a trial can be undone.
        """
        centers, labels, dist = self.centers, self.labels, self.dist
        n_clusters = centers.shape[0]
        n_moved = moved.size
        slack = 1 + _PRUNE_SLACK
        gap = _pairwise_sq(centers[moved], centers)
        gap[np.arange(n_moved), moved] = np.inf
        role = np.zeros(n_clusters, np.int8)
        role[moved] = 1
        # A row of unmoved cluster a can only go to a moved centre m with
        # |c_a - c_m| <= 2 |x - c_a| (triangle inequality).
        near = gap <= 4 * self.radius_sq * slack + self.tiny
        near[:, moved] = False
        takers = np.flatnonzero(near.any(axis=0))
        role[takers] = 2
        row_role = role[labels]
        rows = np.flatnonzero(row_role)
        row_role = row_role[rows]
        full = rows[row_role == 1]
        check = rows[row_role == 2]
        if log is not None:
            log.append((full, labels[full], dist[full]))
        touched = role == 1

        # Rows of moved clusters. Those nearer their centre than half the gap to
        # any other centre stay; the others are searched among the centres that
        # can be nearer: within 2 * bound of their own.
        local = np.empty(n_clusters, np.intp)
        local[moved] = np.arange(n_moved)
        own = labels[full]
        where = local[own]
        xs = take_rows(self.X, full)
        xs -= self.shift
        diff = xs - take_rows(centers, own)
        new_dist = np.einsum("ij,ij->i", diff, diff)
        new_labels = own.astype(np.intp)
        candidates = gap <= 4 * (bound**2)[:, None] * slack + self.tiny
        candidates[np.arange(n_moved), moved] = True
        wide = candidates.sum(axis=1) > n_clusters // 2
        open_ = ~(new_dist * slack + self.tiny < gap.min(axis=1)[where] / 4)
        search = open_ & wide[where]
        new_labels[search], new_dist[search] = _nearest(
            self.X, self.shift, full[search], centers
        )
        search = open_ & ~wide[where]
        if search.any():
            lists = _padded_indices(candidates)
            new_labels[search], new_dist[search] = _nearest_candidate(
                xs[search], centers, lists[where[search]]
            )
        touched[new_labels] = True
        labels[full] = new_labels
        dist[full] = new_dist

        # Rows of unmoved clusters near a moved centre, far enough from their own.
        own = labels[check]
        current = dist[check]
        closest_gap = np.where(near, gap, np.inf).min(axis=0)
        check_more = 4 * current * slack + self.tiny >= closest_gap[own]
        check, own, current = check[check_more], own[check_more], current[check_more]
        if check.size:
            local[takers] = np.arange(takers.size)
            lists = moved[_padded_indices(near[:, takers].T)]
            xs = take_rows(self.X, check)
            xs -= self.shift
            new_labels, new_dist = _nearest_candidate(xs, centers, lists[local[own]])
            # ties go to the lower index, as in a full assignment (argmin)
            switch = (new_dist < current) | ((new_dist == current) & (new_labels < own))
            switched = check[switch]
            if log is not None:
                log.append((switched, own[switch], current[switch]))
            touched[own[switch]] = True
            labels[switched] = new_labels[switch]
            dist[switched] = new_dist[switch]
        return np.flatnonzero(touched)

    def _update(self, clusters, rows, labels):
        """Move ``clusters`` (whose rows are ``rows``, labelled ``labels``) to their
        means. Returns the clusters that moved and how far. An empty cluster keeps
        its centre; the final Lloyd run relocates it.
        """
        local = np.empty(self.centers.shape[0], np.intp)
        local[clusters] = np.arange(clusters.size)
        local = local[labels]
        xs = take_rows(self.X, rows)
        xs -= self.shift
        weights = None if self.weights is None else self.weights[rows]
        mass = _masses(local, weights, xs, clusters.size)
        old = self.centers[clusters]
        new = _means(xs, local, mass, old)
        self.centers[clusters] = new
        step = np.sqrt(((new - old.astype(np.float64)) ** 2).sum(axis=1))
        moved = step > 0
        return clusters[moved], step[moved]

    def _rows_of(self, clusters):
        """The rows of ``clusters`` and their labels."""
        mask = np.zeros(self.centers.shape[0], bool)
        mask[clusters] = True
        rows = np.flatnonzero(mask[self.labels])
        return rows, self.labels[rows]

    def _lloyd_step(self, clusters, rows, labels, log):
        """Update ``clusters`` (rows ``rows``, labelled ``labels``), then reassign.
        Returns the touched clusters, their rows and labels, and whether any
        centre moved."""
        moved, step = self._update(clusters, rows, labels)
        if moved.size == 0:
            return clusters, rows, labels, False
        bound = np.sqrt(self.radius_sq[moved]) + step
        touched = self._assign(moved, bound, log)
        rows, labels = self._rows_of(touched)
        self._refresh(touched, rows, labels)
        return touched, rows, labels, True

    def settle(self, max_iter: int) -> int:
        """Lloyd iterations until no centre moves (at most ``max_iter``).

        Trials are cheap only when few clusters are stale, so the swaps start
        from a converged solution. Returns the number of iterations.
        """
        clusters = np.flatnonzero(self.stale)
        rows, labels = self._rows_of(clusters)
        for iteration in range(max_iter):
            clusters, rows, labels, moved = self._lloyd_step(clusters, rows, labels, None)
            if not moved:
                self.stale[:] = False
                return iteration + 1
        self.stale[:] = False
        self.stale[clusters] = True
        return max_iter

    def trial(self, cluster: int, row: int) -> bool:
        """Swap centre ``cluster`` onto ``X[row]``, run two Lloyd iterations, and
        keep the result if the SSE fell. Returns whether it was kept."""
        before = self.sse.sum()
        saved = (self.centers.copy(), self.radius_sq.copy(), self.sse.copy())
        log: list = []
        self.centers[cluster] = self.X[row] - self.shift
        touched = self._assign(np.array([cluster]), np.array([np.inf]), log)
        rows, labels = self._rows_of(touched)
        self._refresh(touched, rows, labels)
        if self.stale.any():
            # the first update also re-averages the clusters left stale by the
            # last accepted trial
            touched = np.union1d(touched, np.flatnonzero(self.stale))
            rows, labels = self._rows_of(touched)
        for _ in range(_LLOYD_STEPS):
            touched, rows, labels, moved = self._lloyd_step(touched, rows, labels, log)
            if not moved:
                break
        if self.sse.sum() < before:
            self.stale[:] = False
            self.stale[touched] = True
            return True
        self.centers, self.radius_sq, self.sse = saved
        for rows, labels, dist in reversed(log):
            self.labels[rows] = labels
            self.dist[rows] = dist
        return False


class _DensePartition:
    """The state and trials of :class:`_Partition`, by whole-array Lloyd iterations.

    For small problems (see ``_DENSE_ELEMENTS``): X is copied once, shifted, and
    every assignment is one matrix product over all rows. Same invariant and
    interface as :class:`_Partition` (``centers``, ``labels``, ``dist``,
    ``weights``, per-cluster ``sse``, :meth:`settle`, :meth:`trial`).
    """

    def __init__(self, X, shift, sample_weight, centers, pool=None):
        # [x - shift, 1]: the squared norms of the centres come out of the product
        self.Xa = np.empty((X.shape[0], X.shape[1] + 1), X.dtype)
        self.Xs = self.Xa[:, :-1]
        np.subtract(X, shift, out=self.Xs, casting="same_kind")
        self.Xa[:, -1] = 1
        self.row_sq = np.einsum("ij,ij->i", self.Xs, self.Xs)
        self.weights = sample_weight
        self.centers = centers.copy()
        self._set(self.centers, *self._assign(centers))

    def _assign(self, centers):
        partial = partial_sq(self.Xa, augmented_coefficients(centers, self.Xa.dtype))
        return nearest(partial, self.row_sq)[:2]

    def _update(self, centers, labels):
        xs = self.Xs if self.weights is None else self.Xs.copy()
        mass = _masses(labels, self.weights, xs, centers.shape[0])
        return _means(xs, labels, mass, centers)

    def _sse(self, labels, dist) -> np.ndarray:
        weighted = dist if self.weights is None else dist * self.weights
        return np.bincount(labels, weighted, self.centers.shape[0])

    def _set(self, centers, labels, dist, sse=None) -> None:
        self.centers, self.labels, self.dist = centers, labels, dist
        self.sse = self._sse(labels, dist) if sse is None else sse

    def _lloyd(self, centers, labels, dist, max_iter: int):
        """Up to ``max_iter`` Lloyd iterations (update, then assign) while a
        centre moves; the centres, labels, distances and iterations done."""
        for iteration in range(max_iter):
            new = self._update(centers, labels)
            if np.array_equal(new, centers):
                return centers, labels, dist, iteration + 1
            centers = new
            labels, dist = self._assign(centers)
        return centers, labels, dist, max_iter

    def settle(self, max_iter: int) -> int:
        """Lloyd iterations until no centre moves (at most ``max_iter``)."""
        centers, labels, dist, n_iter = self._lloyd(
            self.centers, self.labels, self.dist, max_iter
        )
        self._set(centers, labels, dist)
        return n_iter

    def trial(self, cluster: int, row: int) -> bool:
        """As :meth:`_Partition.trial`."""
        centers = self.centers.copy()
        centers[cluster] = self.Xs[row]
        centers, labels, dist, _ = self._lloyd(
            centers, *self._assign(centers), _LLOYD_STEPS
        )
        sse = self._sse(labels, dist)
        if sse.sum() < self.sse.sum():
            self._set(centers, labels, dist, sse)
            return True
        return False


def random_swap(
    X,
    shift,
    sample_weight,
    centers,
    rng: np.random.Generator,
    *,
    max_trials: int | None,
    max_seconds: float | None = None,
    max_iter: int = 300,
    verbose: int = 0,
    pool=None,
    unit_exponent: int = 0,
) -> SwapRun:
    """Refine ``centers`` (shifted frame) by random swap trials.

    The centres are first moved by Lloyd iterations until they settle (at most
    ``max_iter``). Trials stop after ``max_trials`` (None: no limit), or earlier
    once ``max_seconds`` have passed, which makes the result depend on the
    machine's speed. The centres returned are those of the last accepted trial,
    before any final Lloyd run. Prior validation is assumed; ``rng`` is the
    only source of randomness, so the result is deterministic for a given seed
    and iteration budget.
    """
    start = time.perf_counter()
    n_samples, n_features = X.shape
    small = n_samples * (centers.shape[0] + n_features) <= _DENSE_ELEMENTS
    state = (_DensePartition if small else _Partition)(
        X, shift, sample_weight, centers, pool
    )
    state.settle(max_iter)
    # a rejected trial restores the state exactly: the odds change only on acceptance
    removal = _removal_odds(state)
    addition = _addition_odds(state)
    n_accepted = 0
    n_trials = 0
    while max_trials is None or n_trials < max_trials:
        if max_seconds is not None and time.perf_counter() - start >= max_seconds:
            break
        cluster = removal(rng)
        row = addition(rng)
        n_trials += 1
        if state.trial(cluster, row):
            n_accepted += 1
            removal = _removal_odds(state)
            addition = _addition_odds(state)
            if verbose:
                sse = np.ldexp(state.sse.sum(), unit_exponent)  # the user's units
                print(f"Swap trial {n_trials}: accepted, SSE {sse:.6g}.")
    if verbose:
        print(f"Random swap: {n_accepted} of {n_trials} trials accepted.")
    return SwapRun(state.centers, n_trials, n_accepted)


def _removal_odds(state: _Partition) -> CumulativeSampler:
    """The odds of removing each centre: inversely proportional to the
    increase in SSE if its cluster were merged into the nearest other one (Ward's
    cost), so a centre that shares a true cluster with another is the likely pick.
    Centres of empty clusters (cost zero) are picked first, among themselves."""
    weights = state.weights
    mass = np.bincount(state.labels, weights, state.centers.shape[0])
    gap = _pairwise_sq(state.centers, state.centers)
    np.fill_diagonal(gap, np.inf)
    nearest_centre = nearest(gap)[0]
    other = mass[nearest_centre]
    with np.errstate(invalid="ignore", divide="ignore"):
        cost = mass * other / (mass + other) * gap[np.arange(gap.shape[0]), nearest_centre]
    cost = np.nan_to_num(cost, nan=0.0)
    free = cost <= 0
    odds = free.astype(np.float64) if free.any() else 1.0 / cost
    return CumulativeSampler(odds)


def _addition_odds(state: _Partition) -> CumulativeSampler:
    """The odds of moving the removed centre onto each row: proportional to
    its weight times its squared distance to the nearest centre, as in k-means++
    seeding, so a region that lacks a centre is the likely pick. If every row
    lies on a centre, in proportion to the weights alone."""
    odds = state.dist if state.weights is None else state.dist * state.weights
    sampler = CumulativeSampler(odds)
    if sampler.total > 0:
        return sampler
    return CumulativeSampler(np.ones(odds.size) if state.weights is None else state.weights)
