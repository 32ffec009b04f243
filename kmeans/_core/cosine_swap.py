"""Random swap refinement of a spherical (cosine) k-means solution: a centre is
removed where two share a cluster, and a cluster that holds two is split.

Random swap (Fränti 2018, :mod:`.swap`) moves a centre onto a data point. On
the sphere in high dimensions a single row is a poor centre: its cosine with
its own cluster's mean direction is small (0.2-0.6 on mixtures of von
Mises-Fisher distributions at d = 64-768), as small as with many rows of other
clusters, so a row-centre attracts few of the rows it should, and two Lloyd
steps do not recover. Here a trial swaps at the level of clusters instead:

- **the centre removed**: drawn with odds inversely proportional to the cost of
  merging its cluster into the cheapest other one, ``||s_a|| + ||s_b|| - ||s_a +
  s_b||`` (``s_j``: the weighted sum of the unit rows of cluster ``j``), low for
  two centres that share a true cluster;
- **its new place**: a cluster drawn with odds proportional to its share of the
  objective, ``sum w - ||s_c||`` (high for one that straddles two true
  clusters), split in two along the principal direction of its unit rows about
  their mean (a few power iterations): the removed centre and the split
  cluster's centre become the two halves' mean directions;
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

import time

import numpy as np

from . import cosine
from .blocks import is_sparse
from .sampling import CumulativeSampler
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


def _row_dots(rows, centers):
    """Dot product of each row (dense or CSR) with the centre of the same index."""
    if is_sparse(rows):
        return np.asarray(rows.multiply(centers).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", rows, centers)


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
    """The state of a spherical partition: labels, each row's cosine to its own
    centre, the weighted sums of the unit rows per cluster and their norms, and
    the unit centres (the normalised sums; a cluster without rows keeps its
    centre)."""

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
        # per chunk, added in chunk order: the same bits whatever the threads
        self.sums = np.sum(self._chunks(self._chunk_sums), axis=0)
        self.norms = np.sqrt(np.einsum("ij,ij->i", self.sums, self.sums))
        self.centers = centers.astype(np.float64)
        filled = self.norms > 0
        self.centers[filled] = self.sums[filled] / self.norms[filled, None]
        self.own = np.empty(n_samples)
        self._chunks(self._own_chunk)

    @property
    def objective(self) -> float:
        """``sum w (1 - cos)`` of the rows to their (updated) centres."""
        return self.total - float(self.norms.sum())

    def _chunks(self, func) -> list:
        """``func(lo, hi)`` on fixed chunks of rows, in the pool; results in order."""
        n_samples = self.X.shape[0]

        def run(lo):
            return func(lo, min(lo + _CHUNK_ROWS, n_samples))

        starts = range(0, n_samples, _CHUNK_ROWS)
        if self.pool is None or len(starts) == 1:
            return [run(lo) for lo in starts]
        return list(self.pool.map(run, starts))

    def _assign(self, centers) -> np.ndarray:
        """The most similar centres, by the one cosine kernel."""
        labels, _ = cosine.labels_inertia(self.X, centers, None, self.row_scale, self.pool)
        return labels.astype(np.intp)

    def _chunk_sums(self, lo, hi) -> np.ndarray:
        sums = np.zeros((self.centers_shape[0], self.X.shape[1]))
        rows = _scaled(_gather(self.X, slice(lo, hi)), self.coef[lo:hi])
        _move_sums(sums, rows, self.labels[lo:hi])
        return sums

    def _own_chunk(self, lo, hi) -> None:
        rows = _gather(self.X, slice(lo, hi))
        self.own[lo:hi] = (
            _row_dots(rows, self.centers[self.labels[lo:hi]]) * (self.row_scale[lo:hi])
        )

    def _cosines(self, part, rows, centers) -> np.ndarray:
        """Cosines of ``part``, rows ``rows`` of X as they are, with ``centers``."""
        centers_t = np.ascontiguousarray(centers.T, dtype=part.dtype)
        return np.asarray(part @ centers_t) * self.row_scale[rows, None]

    def split(self, cluster: int, part, rows, rng):
        """The mean directions of the two halves of ``cluster`` (its rows ``rows``
        of X, ``part``), cut across the principal direction of its weighted unit
        rows about their mean; None if it cannot be cut in two halves of positive
        weight."""
        if rows.size < 2 or self.norms[cluster] == 0:
            return None
        V = _scaled(part.astype(np.float64), self.coef[rows])
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
        return halves / norms[:, None]

    def trial(self, removed: int, cluster: int, rng) -> bool:
        """Move centre ``removed`` into ``cluster``, split in two; keep the
        result if the objective fell."""
        pair = np.array([cluster, removed])
        whole = np.flatnonzero(np.isin(self.labels, pair))
        part = self.X[whole]
        inside = self.labels[whole] == cluster
        halves = self.split(cluster, part[inside], whole[inside], rng)
        if halves is None:
            return False
        centers = self.centers.copy()
        centers[pair] = halves
        labels = self.labels.copy()
        own = self.own.copy()
        # the rows of the clusters nearest either half: either half, if more
        # similar to it than to their own centre
        near = np.argsort(-(self.centers @ halves.T).max(axis=1), kind="stable")
        near = near[~np.isin(near, pair)][:_NEIGHBOURS]
        others = np.flatnonzero(np.isin(self.labels, near))
        if others.size:
            cos = self._cosines(self.X[others], others, halves)
            pick = np.argmax(cos, axis=1)
            best = cos[np.arange(others.size), pick]
            moved = best > own[others]
            labels[others[moved]] = pair[pick[moved]]
            own[others[moved]] = best[moved]
        # the rows of both clusters: the most similar of all centres
        if whole.size:
            cos = self._cosines(part, whole, centers)
            labels[whole] = np.argmax(cos, axis=1)
            own[whole] = cos[np.arange(whole.size), labels[whole]]
        changed = np.flatnonzero(labels != self.labels)
        sums = self.sums.copy()
        if changed.size:
            rows = _scaled(_gather(self.X, changed), self.coef[changed])
            _move_sums(sums, rows, labels[changed], self.labels[changed])
        norms = np.sqrt(np.einsum("ij,ij->i", sums, sums))
        objective = self.total - float(norms.sum())
        current = self.objective
        if not objective < current - _MIN_DECREASE * max(abs(current), 1.0):
            return False
        touched = np.unique(np.concatenate([labels[changed], self.labels[changed], pair]))
        self.labels, self.sums, self.norms = labels, sums, norms
        filled = touched[norms[touched] > 0]
        centers[filled] = sums[filled] / norms[filled, None]
        self.centers = centers
        rows = np.flatnonzero(np.isin(labels, touched))
        if rows.size:
            own[rows] = (
                _row_dots(_gather(self.X, rows), centers[labels[rows]])
                * (self.row_scale[rows])
            )
        self.own = own
        return True

    def removal_odds(self) -> CumulativeSampler:
        """Odds of removing each centre: inversely proportional to the rise of
        the objective if its cluster were merged into the cheapest other one;
        centres of empty clusters (cost zero) first, among themselves."""
        norms = self.norms
        gram = self.sums @ self.sums.T
        merged_sq = norms[:, None] ** 2 + norms[None, :] ** 2 + 2 * gram
        merged = np.sqrt(np.maximum(merged_sq, 0))
        cost = norms[:, None] + norms[None, :] - merged
        np.fill_diagonal(cost, np.inf)
        cost = np.maximum(cost.min(axis=1), 0.0)
        free = cost <= 0
        return CumulativeSampler(free.astype(np.float64) if free.any() else 1.0 / cost)

    def shares(self) -> np.ndarray:
        """Each cluster's part of the objective, ``sum w - ||s||``."""
        mass = np.bincount(self.labels, self.weights, self.centers.shape[0])
        return np.maximum(mass - self.norms, 0.0)


def spherical_swap(
    X,
    sample_weight,
    row_scale,
    centers,
    rng: np.random.Generator,
    *,
    max_trials: int | None,
    max_seconds: float | None = None,
    verbose: int = 0,
    pool=None,
) -> SwapRun:
    """Refine the unit ``centers`` of a spherical k-means run by split-and-merge
    swap trials (see the module's docstring).

    ``row_scale`` is ``1/||x||`` per row (float64). Trials stop after
    ``max_trials`` (None: no limit), or earlier once ``max_seconds`` have passed,
    which makes the result depend on the machine's speed. Returns the centres of
    the last accepted trial (unit vectors, float64), before any final Lloyd run;
    ``rng`` is the only source of randomness.
    """
    start = time.perf_counter()
    state = _Sphere(X, sample_weight, row_scale, centers, pool)
    removal, shares = state.removal_odds(), state.shares()
    n_trials = n_accepted = 0
    while max_trials is None or n_trials < max_trials:
        if max_seconds is not None and time.perf_counter() - start >= max_seconds:
            break
        n_trials += 1
        removed = int(removal(rng))
        odds = shares.copy()
        odds[removed] = 0
        split = CumulativeSampler(odds)
        if split.total <= 0:
            continue
        if state.trial(removed, int(split(rng)), rng):
            n_accepted += 1
            removal, shares = state.removal_odds(), state.shares()
            if verbose:
                print(f"Swap trial {n_trials}: accepted, objective {state.objective:.6g}.")
    if verbose:
        print(f"Random swap: {n_accepted} of {n_trials} trials accepted.")
    return SwapRun(state.centers, n_trials, n_accepted)
