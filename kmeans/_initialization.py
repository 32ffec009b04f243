"""Initial centres: greedy k-means++ and random data points."""

from __future__ import annotations

import numpy as np

from ._common import (
    RowBlocks,
    column_mean,
    scratch,
    shifted_block,
    thread_pool,
)
from ._validation import (
    check_array,
    check_random_state,
    check_sample_weight,
    is_sparse,
    validate_int,
)

__all__ = ["kmeans_plusplus"]


def _weighted_choice(rng, sample_weight, n_samples, size=None, replace=True):
    # Always with explicit probabilities: Generator.choice draws differently
    # without them, and equal weights must give the same seeds as no weights.
    if sample_weight is None:
        p = np.full(n_samples, 1.0 / n_samples)
    else:
        p = sample_weight / sample_weight.sum(dtype=np.float64)
    return rng.choice(n_samples, size=size, replace=replace, p=p)


def _row_norms_sq(X, shift, blocks) -> np.ndarray:
    """``||x - shift||^2`` of every row."""
    out = np.empty(X.shape[0], X.dtype)

    def run(start, stop):
        buffer = scratch(blocks, X.shape[1], X.dtype)
        for lo, hi in blocks.blocks(start, stop):
            xs = shifted_block(X, lo, hi, shift, buffer)
            np.einsum("ij,ij->i", xs, xs, out=out[lo:hi])

    blocks.map(run)
    return out


def _candidate_potentials(
    X, shift, row_sq, sample_weight, candidates, closest, blocks, keep
):
    """For each candidate centre (shifted frame), the weighted sum over rows of
    ``min(closest, ||x - candidate||^2)``; those minima go into ``keep``
    (candidates x rows) when it is given.

    The product is taken with the rows of X as they are, the shift folded into a
    per-candidate constant: no copy of X per centre. Its rounding grows with the
    data's distance from the origin, which only perturbs sampling probabilities.
    Candidates come first in the layout so that every elementwise pass runs along
    rows of a block, not along a handful of candidates.
    """
    neg2 = -2 * candidates
    constant = np.einsum("ij,ij->i", candidates, candidates) - neg2 @ shift
    n_candidates = candidates.shape[0]

    def run(start, stop):
        buffer = np.empty((n_candidates, blocks.block_rows), X.dtype)
        potential = np.zeros(n_candidates)
        for lo, hi in blocks.blocks(start, stop):
            sq = np.matmul(neg2, X[lo:hi].T, out=buffer[:, : hi - lo])
            sq += constant[:, None]
            sq += row_sq[lo:hi]
            np.maximum(sq, 0, out=sq)
            np.minimum(sq, closest[lo:hi], out=sq)
            w = sample_weight[lo:hi] if sample_weight is not None else None
            potential += sq.sum(axis=1) if w is None else sq @ w
            if keep is not None:
                keep[:, lo:hi] = sq
        return potential

    return np.sum(blocks.map(run), axis=0)


# Above this, the candidates' distance columns are recomputed for the winner
# instead of kept (one more pass over X per centre, but no n x trials array).
_KEEP_CANDIDATES_BYTES = 256 * 2**20


def kmeans_plusplus_indices(
    X, shift, sample_weight, n_clusters, rng, pool, n_local_trials=None
) -> np.ndarray:
    """Row indices chosen by greedy k-means++ (Arthur & Vassilvitskii 2007).

    The first centre is drawn with probability proportional to the weight; each
    next one is the best, by the resulting potential, of ``n_local_trials``
    candidates drawn with probability proportional to weight times the squared
    distance to the nearest centre chosen so far. Rows of zero weight are never
    drawn. Prior validation is assumed.
    """
    n_samples, n_features = X.shape
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    if sample_weight is not None:
        # only ratios matter here; normalised, weight * distance^2 cannot overflow
        sample_weight = sample_weight / sample_weight.max()
    blocks = RowBlocks(n_samples, n_local_trials, n_features, X.itemsize, pool)
    indices = np.empty(n_clusters, dtype=np.intp)
    indices[0] = _weighted_choice(rng, sample_weight, n_samples)
    row_sq = _row_norms_sq(X, shift, blocks)
    keep = None
    if n_samples * n_local_trials * X.itemsize <= _KEEP_CANDIDATES_BYTES:
        keep = np.empty((n_local_trials, n_samples), X.dtype)
    closest = np.full(n_samples, np.inf, dtype=X.dtype)
    first = X[indices[:1]] - shift
    closest = _closest_after(X, shift, row_sq, first, closest, blocks)
    for c in range(1, n_clusters):
        candidates = draw_candidates(rng, closest, sample_weight, n_local_trials)
        potentials = _candidate_potentials(
            X, shift, row_sq, sample_weight, X[candidates] - shift, closest, blocks, keep
        )
        best = int(np.argmin(potentials))
        indices[c] = candidates[best]
        if keep is not None:
            closest[:] = keep[best]
        else:
            winner = X[indices[c : c + 1]] - shift
            closest = _closest_after(X, shift, row_sq, winner, closest, blocks)
    return indices


def draw_candidates(rng, closest, sample_weight, n_local_trials) -> np.ndarray:
    """Candidate rows for the next k-means++ centre, drawn with probability
    proportional to weight times ``closest`` (squared distance to the nearest
    centre chosen so far)."""
    mass = closest if sample_weight is None else closest * sample_weight
    cumulative = np.cumsum(mass, dtype=np.float64)
    total = cumulative[-1]
    if total > 0:
        targets = rng.random(n_local_trials) * total
        # side="right" lands on a row whose mass is positive; a target rounded
        # up to the total goes to the last such row
        candidates = np.searchsorted(cumulative, targets, side="right")
        last_positive = np.searchsorted(cumulative, total, side="left")
        return np.minimum(candidates, last_positive, out=candidates)
    # every row of positive weight already sits on a centre (duplicates)
    return _weighted_choice(rng, sample_weight, len(closest), n_local_trials)


def _closest_after(X, shift, row_sq, center, closest, blocks):
    """``min(closest, ||x - center||^2)`` for every row (one centre, shifted frame)."""
    row = np.empty((1, X.shape[0]), X.dtype)
    _candidate_potentials(X, shift, row_sq, None, center, closest, blocks, row)
    return row[0]


def random_indices(X, shift, sample_weight, n_clusters, rng, pool) -> np.ndarray:
    """``n_clusters`` distinct rows, drawn with probability proportional to weight."""
    return _weighted_choice(rng, sample_weight, X.shape[0], n_clusters, replace=False)


INIT_METHODS = {"k-means++": kmeans_plusplus_indices, "random": random_indices}


def check_enough_weighted_samples(sample_weight, n_clusters: int) -> None:
    """Seeding needs at least ``n_clusters`` rows of positive weight."""
    if sample_weight is not None:
        n_positive = int(np.count_nonzero(sample_weight))
        if n_positive < n_clusters:
            raise ValueError(
                f"Only {n_positive} sample(s) have a non-zero weight, fewer than "
                f"n_clusters={n_clusters}: k-means++ and random initialisation "
                "need at least n_clusters of them."
            )


def kmeans_plusplus(
    X,
    n_clusters: int,
    *,
    sample_weight=None,
    random_state=None,
    n_local_trials: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Choose initial centres with greedy k-means++.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data; sparse data are converted to CSR (see :class:`KMeans`).
    n_clusters : int
        Number of centres to choose.
    sample_weight : array-like of shape (n_samples,) or float, default=None
        Weights of the samples; rows of zero weight are never chosen.
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None
        Source of randomness. The same value gives the same centres.
    n_local_trials : int, default=None
        Candidates tried for each centre after the first; None means
        ``2 + int(ln(n_clusters))``.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        The chosen rows, in X's float dtype.
    indices : ndarray of shape (n_clusters,)
        Their row indices in X.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans import kmeans_plusplus
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> centers, indices = kmeans_plusplus(X, n_clusters=2, random_state=0)
    >>> sorted(centers[:, 0].tolist())
    [1.0, 10.0]
    """
    owner = "kmeans_plusplus"
    X = check_array(X, owner=owner, accept_sparse=True)
    n_samples = X.shape[0]
    n_clusters = validate_int(n_clusters, "n_clusters", owner, low=1)
    if n_samples < n_clusters:
        raise ValueError(f"n_samples={n_samples} should be >= n_clusters={n_clusters}.")
    if n_local_trials is not None:
        n_local_trials = validate_int(n_local_trials, "n_local_trials", owner, low=1)
    weights = check_sample_weight(sample_weight, n_samples, X.dtype)
    check_enough_weighted_samples(weights, n_clusters)
    rng = check_random_state(random_state)
    if is_sparse(X):
        from . import _sparse  # it builds on this module

        with thread_pool() as pool:
            indices = _sparse.kmeans_plusplus_indices(
                X, None, weights, n_clusters, rng, pool, n_local_trials
            )
        return _sparse.initial_rows(X, indices), indices
    with thread_pool() as pool:
        shift = column_mean(X, pool)
        indices = kmeans_plusplus_indices(
            X, shift, weights, n_clusters, rng, pool, n_local_trials
        )
    return X[indices].copy(), indices
