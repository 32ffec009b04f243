"""Swap refinement of a spherical (cosine) k-means solution: a centre is
removed where two share a cluster, and a cluster that holds two is split.

Random swap (Fränti 2018, :mod:`.swap`) moves a centre onto a data point. On
the sphere in high dimensions a single row is a poor centre: its cosine with
its own cluster's mean direction is small (0.2-0.6 on mixtures of von
Mises-Fisher distributions at d = 64-768), as small as with many rows of other
clusters, so a row-centre attracts few of the rows it should, and two Lloyd
steps do not recover. Here a trial swaps at the level of clusters instead, and
the trials are aimed rather than drawn:

- **the centre removed**, ``a``: the cost of merging its cluster into the
  cheapest other one is ``||s_a|| + ||s_b|| - ||s_a + s_b||`` (``s_j``: the
  weighted sum of the unit rows of cluster ``j``), low for two centres that
  share a true cluster;
- **its new place**, ``c``: a cluster split in two along the principal
  direction of its unit rows about their mean (a few power iterations); the
  split lowers the objective by ``||s_left|| + ||s_right|| - ||s_c||``, much
  for a cluster that straddles two true clusters. The removed centre and the
  split cluster's centre become the two halves' mean directions;
- **the order**: the pair of highest gain less cost is tried first (the fall
  of the objective if the merge and the split were made with no row moving,
  which the repartition only adds to), then the next untried pair; every pair
  can be tried again once a trial was kept. On the benchmark's mixtures
  (``benchmarks/cosine.py``) the kept trials were those of highest estimate,
  whereas pairs drawn with odds by cost and share (this module's first form)
  were kept 1-12 times in 60-180 trials: for the same objectives, about 2.4
  times less time;
- **the repartition** (Fränti's local repartition): the rows of both clusters
  go to the most similar of all centres, the rows of the 8 clusters whose
  centres are most similar to either half go to that half if it is more
  similar to them than their own centre, and the centres of every cluster that
  rows left or joined are updated.

The trial is kept if the objective ``sum w (1 - cos)``, which after the update
is ``sum w - sum_j ||s_j||``, fell; otherwise the state is left as it was. The
objective is exact for whatever rows the repartition moved, so a row it leaves
where it is only makes the trial look worse than it is. A trial reads the rows
of the two clusters against every centre and those of their neighbours against
two: a small fraction of a Lloyd pass. The final Lloyd run, which the caller
does, brings the partition to a fixed point.
Products run in fixed chunks of rows, so the result does not depend on the
number of threads. Prior validation is assumed; dense or CSR rows.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from . import cosine
from .blocks import is_sparse
from .kernel import nearest, partial_sq
from .swap import SwapRun

# Rows per product in the passes over X (fixed: results do not depend on threads).
_CHUNK_ROWS = 2048
# Power iterations for the direction along which a cluster is split.
_POWER_STEPS = 10
# A trial is kept when the objective falls by more than this fraction: rounding
# in the sums cannot make a trial look better than the state it replaces.
_MIN_DECREASE = 1e-12
# The clusters whose rows a trial offers to the two halves: those of the centres
# most similar to either half. All of them cost a pass over X per trial, for the
# same results within the spread over seeds (vMF mixtures at k = 30-100: ARI
# 0.89-0.99 either way, 1.5-2.4x less time per trial).
_NEIGHBOURS = 8


def _gather(X, rows):
    """Rows of X (indices or a slice) as float64, dense or CSR."""
    return X[rows].astype(np.float64)


def _scaled(rows, factors):
    """Each row times its factor: dense or CSR."""
    if is_sparse(rows):
        return rows.multiply(factors[:, None]).tocsr()
    return rows * factors[:, None]


def _sum_rows(rows) -> np.ndarray:
    return np.asarray(rows.sum(axis=0), dtype=np.float64).ravel()


def _move_sums(sums, rows, new, old=None) -> None:
    """Add ``rows`` (weighted unit rows, dense or CSR) to the sums of their ``new``
    clusters and take them from their ``old`` ones (if given), in place: one sum
    per cluster of the rows that join or leave it, O(rows x features)."""
    for labels, sign in ((new, 1.0), (old, -1.0)):
        if labels is None or not len(labels):
            continue
        order = np.argsort(labels, kind="stable")
        clusters, starts = np.unique(labels[order], return_index=True)
        part = rows[order]
        if is_sparse(part):
            bounds = np.append(starts, len(order))
            for cluster, lo, hi in zip(clusters, bounds[:-1], bounds[1:]):
                sums[cluster] += sign * _sum_rows(part[lo:hi])
        else:
            sums[clusters] += sign * np.add.reduceat(part, starts, axis=0)


class _Sphere:
    """The state of a spherical partition: labels, the rows of each cluster
    (sorted), each row's cosine to its own centre, the weighted sums of the unit
    rows per cluster, their norms, and the unit centres (the
    normalised sums; a cluster without rows keeps its centre).

    A trial reads only the rows of the clusters it involves, and changes the
    state only if it is kept: nothing is copied or undone per trial, and an
    accepted one updates the rows of the clusters it touched."""

    def __init__(self, X, sample_weight, row_scale, centers, pool):
        self.X = X
        self.pool = pool
        n_samples = X.shape[0]
        self.row_scale = row_scale
        weights = np.ones(n_samples) if sample_weight is None else sample_weight
        self.weights = weights.astype(np.float64)
        self.coef = row_scale * self.weights  # rows times coef: w x/||x||
        self.total = float(self.weights.sum())
        self.centers_shape = centers.shape
        self.labels = self._assign(centers)
        order = np.argsort(self.labels, kind="stable")
        counts = np.bincount(self.labels, minlength=centers.shape[0])
        self.members = np.split(order, np.cumsum(counts)[:-1])
        # per chunk, added in chunk order: the same bits whatever the threads
        self.sums = np.zeros((centers.shape[0], X.shape[1]))
        for chunk_sums in self._chunks(self._chunk_sums):
            self.sums += chunk_sums
        self.norms = np.sqrt(np.einsum("ij,ij->i", self.sums, self.sums))
        self.centers = centers.astype(np.float64)
        filled = self.norms > 0
        self.centers[filled] = self.sums[filled] / self.norms[filled, None]
        self.own = np.empty(n_samples)
        for _ in self._chunks(self._own_chunk):
            pass

    @property
    def objective(self) -> float:
        """``sum w (1 - cos)`` of the rows to their (updated) centres."""
        return self.total - float(self.norms.sum())

    def _chunks(self, func):
        """``func(lo, hi)`` on fixed chunks of rows, in the pool; results in
        order, as they come: a round of as many chunks as threads at a time, so
        that results of (k x features) each are not all held at once."""
        n_samples = self.X.shape[0]

        def run(lo):
            return func(lo, min(lo + _CHUNK_ROWS, n_samples))

        starts = range(0, n_samples, _CHUNK_ROWS)
        if self.pool is None or len(starts) == 1:
            yield from map(run, starts)
            return
        width = getattr(self.pool, "n_threads", 1)
        for first in range(0, len(starts), width):
            yield from self.pool.map(run, starts[first : first + width])

    def _assign(self, centers) -> np.ndarray:
        """The most similar centres, by the one cosine kernel."""
        labels, _ = cosine.labels_inertia(self.X, centers, None, self.row_scale, self.pool)
        return labels.astype(np.intp)

    def _unit(self, part, rows):
        """``part``, rows ``rows`` of X as read, as weighted unit rows in float64."""
        return _scaled(part.astype(np.float64), self.coef[rows])

    def _chunk_sums(self, lo, hi) -> np.ndarray:
        sums = np.zeros((self.centers_shape[0], self.X.shape[1]))
        _move_sums(sums, self._unit(self.X[lo:hi], slice(lo, hi)), self.labels[lo:hi])
        return sums

    def _own_chunk(self, lo, hi) -> None:
        self._own(slice(lo, hi))

    def _own(self, rows) -> None:
        """Each row's cosine to its own centre, for rows ``rows`` of X (a slice
        or indices), a chunk at a time (:func:`~.cosine.own_dots`)."""
        if isinstance(rows, slice):
            rows = np.arange(*rows.indices(self.X.shape[0]))
        for lo in range(0, rows.size, _CHUNK_ROWS):
            chunk = rows[lo : lo + _CHUNK_ROWS]
            own = cosine.own_dots(_gather(self.X, chunk), self.centers, self.labels[chunk])
            self.own[chunk] = own * self.row_scale[chunk]

    def _most_similar(self, part, rows, centers):
        """The most similar of ``centers`` (unit) for ``part``, rows ``rows`` of X
        as they are, and its cosine: the assignment kernel's ``-2 x.c`` and its
        nearest centre (ties to the lowest index)."""
        neg2_t = np.ascontiguousarray(-2 * centers.T, dtype=part.dtype)
        labels, best, _ = nearest(np.asarray(partial_sq(part, neg2_t)))
        return labels, best * (-0.5 * self.row_scale[rows])

    def split(self, cluster: int, rng):
        """The mean directions of the two halves of ``cluster``, cut across the
        principal direction of its weighted unit rows about their mean, and the
        fall of the objective if the cut were made with no row moving; None if
        it cannot be cut in two halves of positive weight."""
        inside = self.members[cluster]
        V = self._unit(self.X[inside], inside)
        if V.shape[0] < 2 or self.norms[cluster] == 0:
            return None
        mean = self.sums[cluster] / self.norms[cluster]
        along = np.asarray(V @ mean).ravel()
        direction = rng.standard_normal(mean.size)
        for _ in range(_POWER_STEPS):
            direction -= (direction @ mean) * mean
            norm = np.linalg.norm(direction)
            if norm == 0:
                return None
            direction /= norm
            residual = np.asarray(V @ direction).ravel()  # direction is orthogonal to mean
            direction = np.asarray(V.T @ residual).ravel() - mean * (along @ residual)
        side = np.asarray(V @ direction).ravel() > 0
        halves = np.stack([_sum_rows(V[side]), _sum_rows(V[~side])])
        norms = np.linalg.norm(halves, axis=1)
        if not (norms > 0).all():
            return None
        return halves / norms[:, None], float(norms.sum()) - self.norms[cluster]

    def _rows_of(self, clusters) -> np.ndarray:
        """The rows of ``clusters``, sorted."""
        if not len(clusters):
            return np.empty(0, np.intp)
        return np.sort(np.concatenate([self.members[c] for c in clusters]))

    def trial(self, removed: int, cluster: int, halves) -> np.ndarray | None:
        """Move centre ``removed`` into ``cluster``, split in two along
        ``halves`` (from :meth:`split`); keep the result if the objective fell.
        Reads the rows of the two clusters and of their neighbours only; the
        state changes only if the trial is kept. Returns the clusters whose rows
        changed if kept, else None."""
        pair = np.array([cluster, removed])
        whole = np.concatenate([self.members[cluster], self.members[removed]])
        part = self.X[whole]
        centers = self.centers.copy()
        centers[pair] = halves
        # the rows of both clusters: the most similar of all centres
        new, _ = self._most_similar(part, whole, centers)
        left = new != self.labels[whole]
        changed, to = [whole[left]], [new[left]]
        # the rows of the clusters nearest either half: either half, if more
        # similar to it than to their own centre
        near = np.argsort(-(self.centers @ halves.T).max(axis=1), kind="stable")
        others = self._rows_of(near[~np.isin(near, pair)][:_NEIGHBOURS])
        if others.size:
            pick, cos = self._most_similar(self.X[others], others, halves)
            moved = cos > self.own[others]
            changed.append(others[moved])
            to.append(pair[pick[moved]])
        changed, to = np.concatenate(changed), np.concatenate(to)
        order = np.argsort(changed)
        changed, to = changed[order], to[order]
        came = self.labels[changed]
        touched = np.unique(np.concatenate([to, came, pair]))
        sums = self.sums[touched]
        if changed.size:
            rows = self._unit(_gather(self.X, changed), changed)
            at = functools.partial(np.searchsorted, touched)
            _move_sums(sums, rows, at(to), at(came))
        norms = self.norms.copy()
        norms[touched] = np.sqrt(np.einsum("ij,ij->i", sums, sums))
        objective = self.total - float(norms.sum())
        current = self.objective
        if not objective < current - _MIN_DECREASE * max(abs(current), 1.0):
            return None
        self._accept(changed, to, touched, sums, norms, centers)
        return touched

    def _accept(self, changed, to, touched, sums, norms, centers) -> None:
        """Rows ``changed`` move to clusters ``to``; the clusters ``touched``
        take the sums ``sums`` (norms: all of them) and their centres follow."""
        rows = self._rows_of(touched)  # before and after the move: the same set
        self.labels[changed] = to
        self.sums[touched], self.norms = sums, norms
        filled = norms[touched] > 0
        centers[touched[filled]] = sums[filled] / norms[touched[filled], None]
        self.centers = centers
        at = np.searchsorted(touched, self.labels[rows])
        order = np.argsort(at, kind="stable")
        bounds = np.cumsum(np.bincount(at, minlength=touched.size))[:-1]
        for c, members in zip(touched, np.split(rows[order], bounds)):
            self.members[c] = members
        if rows.size:
            self._own(rows)

    def merge_costs(self) -> np.ndarray:
        """The rise of the objective if each cluster were merged into the
        cheapest other one with no row moving: ``||s_a|| + ||s_b|| - ||s_a +
        s_b||`` at its least over ``b`` (zero for a cluster without rows)."""
        norms = self.norms
        gram = self.sums @ self.sums.T
        merged = np.sqrt(np.maximum(norms[:, None] ** 2 + norms**2 + 2 * gram, 0))
        cost = norms[:, None] + norms[None, :] - merged
        np.fill_diagonal(cost, np.inf)
        return np.maximum(cost.min(axis=1), 0.0)


def spherical_swap(
    X,
    sample_weight,
    row_scale,
    centers,
    rng: np.random.Generator,
    *,
    max_trials: int | None,
    patience: int | None = None,
    max_seconds: float | None = None,
    verbose: int = 0,
    pool=None,
    unit_exponent: int = 0,
) -> SwapRun:
    """Refine the unit ``centers`` of a spherical k-means run by split-and-merge
    swap trials (see the module's docstring).

    ``row_scale`` is ``1/||x||`` per row (float64). Trials stop after
    ``max_trials`` (None: no limit), after ``patience`` trials in a row were
    rejected (None: never), once every pair was tried since the last accepted
    trial, or earlier once ``max_seconds`` have passed, which makes the result
    depend on the machine's speed. Returns the centres of the last accepted
    trial (unit vectors, float64), before any final Lloyd run; ``rng`` (the
    start of each split's power iteration) is the only source of randomness.
    """
    start = time.perf_counter()
    state = _Sphere(X, sample_weight, row_scale, centers, pool)
    n_clusters = centers.shape[0]
    cuts = [state.split(c, rng) for c in range(n_clusters)]
    gains = np.array([-np.inf if cut is None else cut[1] for cut in cuts])

    def estimates():
        """(removed, split): the fall of the objective if the merge and the split
        were made with no row moving (the repartition can only add to it); -inf
        on the diagonal and, as they are tried, for the pairs tried."""
        estimate = gains[None, :] - state.merge_costs()[:, None]
        np.fill_diagonal(estimate, -np.inf)
        return estimate

    estimate = estimates()
    n_trials = n_accepted = rejected = 0
    while max_trials is None or n_trials < max_trials:
        if max_seconds is not None and time.perf_counter() - start >= max_seconds:
            break
        if patience is not None and rejected >= patience:
            break
        removed, cluster = divmod(int(np.argmax(estimate)), n_clusters)
        if estimate[removed, cluster] == -np.inf:
            break  # every pair tried since the last change, or nothing to split
        n_trials += 1
        estimate[removed, cluster] = -np.inf
        touched = state.trial(removed, cluster, cuts[cluster][0])
        if touched is None:
            rejected += 1
            continue
        n_accepted += 1
        rejected = 0
        for c in touched:
            cuts[c] = state.split(int(c), rng)
            gains[c] = -np.inf if cuts[c] is None else cuts[c][1]
        estimate = estimates()
        if verbose:
            objective = np.ldexp(state.objective, unit_exponent)  # the user's units
            print(f"Swap trial {n_trials}: accepted, objective {objective:.6g}.")
    if verbose:
        print(f"Swap: {n_accepted} of {n_trials} trials accepted.")
    return SwapRun(state.centers, n_trials, n_accepted)
