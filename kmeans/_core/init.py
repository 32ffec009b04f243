"""Initial centres: greedy k-means++ and random rows, dense or CSR.

Prior validation is assumed; the indices of the chosen rows are returned.
"""

from __future__ import annotations

import numpy as np

from .blocks import RowBlocks, is_sparse, rows_of, scratch, shifted_block
from .cosine import scale_rows
from .kernel import all_sq, centre_terms, partial_sq, row_norms_sq
from .sampling import CumulativeSampler, weighted_choice
from .sparse import row_blocks

# Above this, the candidates' distance columns are recomputed for the winner
# instead of kept (one more pass over X per centre, but no n x trials array).
_KEEP_CANDIDATES_BYTES = 256 * 2**20

# float32 rows of at least this many features are multiplied rows first, the
# product then laid out candidates first as it takes its constant: 0.37-0.75x
# the time of the candidates-first product from 32 to 784 features and 3 to 8
# candidates; 1.8-2.8x at 2 features, and 0.6-1.7x in float64 (one thread).
_ROWS_FIRST_MIN_FEATURES = 32


def _row_norms(X, shift, blocks) -> np.ndarray:
    """``||x - shift||^2`` of every row (CSR rows: ``||x||^2``, in float64)."""
    sparse = is_sparse(X)
    out = np.empty(X.shape[0], np.float64 if sparse else X.dtype)

    def run(start, stop):
        buffer = None if sparse else scratch(blocks, X.shape[1], X.dtype)
        for lo, hi in blocks.blocks(start, stop):
            rows = X[lo:hi] if sparse else shifted_block(X, lo, hi, shift, buffer)
            out[lo:hi] = row_norms_sq(rows)

    blocks.map(run)
    return out


def _candidate_potentials(
    X, shift, row_sq, weights, candidates, closest, blocks, keep, row_scale=None
):
    """For each candidate centre (shifted frame), the weighted sum over rows of
    ``min(closest, ||x - candidate||^2)``; those minima go into ``keep``
    (candidates x rows) when it is given.

    Dense rows are multiplied as they are, the shift folded into a per-candidate
    constant: no copy of X per centre. Its rounding grows with the data's
    distance from the origin, which only perturbs sampling probabilities.
    Candidates come first in the layout so that every elementwise pass runs along
    rows of a block, not along a handful of candidates. CSR rows (not shifted)
    are laid out rows first, as the sparse product gives them, in float64.

    With ``row_scale`` (``1/||x||``; unit candidates, ``row_sq`` all 2) the
    measure is the squared chord ``2 - 2 cos``: ``-2 x.c`` times ``1/||x||``
    plus 2.
    """
    sparse = is_sparse(X)
    n_candidates = candidates.shape[0]
    rows_first = False
    if sparse:
        neg2_t, constant = centre_terms(candidates, np.float64)
        if row_scale is not None:
            constant[:] = 0
    else:
        neg2 = -2 * candidates
        constant = np.einsum("ij,ij->i", candidates, candidates) - neg2 @ shift
        if row_scale is not None:
            constant[:] = 0
        rows_first = X.dtype == np.float32 and X.shape[1] >= _ROWS_FIRST_MIN_FEATURES
        if rows_first:
            neg2_t = np.ascontiguousarray(neg2.T)

    def run(start, stop):
        buffer = None if sparse else np.empty((n_candidates, blocks.block_rows), X.dtype)
        product = (
            np.empty((blocks.block_rows, n_candidates), X.dtype) if rows_first else None
        )
        potential = np.zeros(n_candidates)
        for lo, hi in blocks.blocks(start, stop):
            w = weights[lo:hi] if weights is not None else None
            if sparse:
                partial = partial_sq(X[lo:hi], neg2_t, constant)
                if row_scale is not None:
                    partial *= row_scale[lo:hi, None]
                sq = all_sq(partial, row_sq[lo:hi, None])
                np.minimum(sq, closest[lo:hi, None], out=sq)
                potential += sq.sum(axis=0) if w is None else w @ sq
                sq = sq.T
            else:
                out = buffer[:, : hi - lo]
                if rows_first:
                    by_rows = partial_sq(X[lo:hi], neg2_t, out=product[: hi - lo])
                    partial = np.add(by_rows.T, constant[:, None], out=out)
                else:
                    partial = partial_sq(neg2, X[lo:hi].T, constant[:, None], out=out)
                if row_scale is not None:
                    partial *= row_scale[lo:hi]
                sq = all_sq(partial, row_sq[lo:hi])
                np.minimum(sq, closest[lo:hi], out=sq)
                potential += sq.sum(axis=1) if w is None else sq @ w
            if keep is not None:
                keep[:, lo:hi] = sq
        return potential

    return np.sum(blocks.map(run), axis=0)


def _closest_after(X, shift, row_sq, center, closest, blocks, row_scale=None):
    """``min(closest, ||x - center||^2)`` for every row (one centre, shifted frame)."""
    row = np.empty((1, X.shape[0]), closest.dtype)
    _candidate_potentials(X, shift, row_sq, None, center, closest, blocks, row, row_scale)
    return row[0]


def kmeans_plusplus_indices(
    X, shift, sample_weight, n_clusters, rng, pool, n_local_trials=None, row_scale=None
) -> np.ndarray:
    """Row indices chosen by greedy k-means++ (Arthur & Vassilvitskii 2007).

    The first centre is drawn with probability proportional to the weight; each
    next one is the best, by the resulting potential, of ``n_local_trials``
    candidates drawn with probability proportional to weight times the squared
    distance to the nearest centre chosen so far. Rows of zero weight are never
    drawn. CSR rows are not shifted, and their distances are in float64.

    With ``row_scale`` (``1/||x||`` per row; ``shift`` zero) the distance is the
    squared chord between unit vectors, ``2 - 2 cos``: k-means++ on the rows'
    directions, as the Euclidean one on normalised rows, without normalising X.
    """
    n_samples, n_features = X.shape
    sparse = is_sparse(X)
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    if sample_weight is not None:
        # only ratios matter here; normalised, weight * distance^2 cannot overflow
        sample_weight = sample_weight / sample_weight.max()
    if sparse:
        blocks = row_blocks(X, n_local_trials, pool)
        dtype = np.float64
    else:
        blocks = RowBlocks(n_samples, n_local_trials, n_features, X.itemsize, pool)
        dtype = X.dtype
    first = np.array([weighted_choice(rng, sample_weight, n_samples)], dtype=np.intp)
    if row_scale is None:
        row_sq = _row_norms(X, shift, blocks)

        def seeds(indices):
            return rows_of(X, indices) - shift
    else:
        row_sq = np.full(n_samples, 2.0, dtype)

        def seeds(indices):
            return scale_rows(rows_of(X, indices), row_scale[indices], dtype)

    keep = None
    if n_samples * n_local_trials * np.dtype(dtype).itemsize <= _KEEP_CANDIDATES_BYTES:
        keep = np.empty((n_local_trials, n_samples), dtype)
    closest = np.full(n_samples, np.inf, dtype=dtype)
    closest = _closest_after(X, shift, row_sq, seeds(first), closest, blocks, row_scale)

    def draw(closest):
        return draw_candidates(rng, closest, sample_weight, n_local_trials)

    def try_candidates(candidates, closest):
        potentials = _candidate_potentials(
            X, shift, row_sq, sample_weight, seeds(candidates), closest, blocks, keep,
            row_scale,
        )  # fmt: skip

        def closest_with(best):
            if keep is not None:
                closest[:] = keep[best]
                return closest
            winner = seeds(candidates[best : best + 1])
            return _closest_after(X, shift, row_sq, winner, closest, blocks, row_scale)

        return potentials, closest_with

    return greedy_indices(first[0], closest, n_clusters, draw, try_candidates)


def greedy_indices(first: int, closest, n_clusters: int, draw, try_candidates):
    """The loop of greedy k-means++, whatever holds the data (NumPy or CSR here,
    a device's arrays in :mod:`kmeans._backends.array_api`).

    From the row ``first`` and ``closest`` (each row's squared distance to it),
    each next centre is the candidate, among ``draw(closest)`` (host indices),
    of lowest potential: ``try_candidates(candidates, closest)`` returns the
    candidates' potentials (host) and a function of the winner's position that
    returns the new ``closest``.
    """
    indices = np.empty(n_clusters, dtype=np.intp)
    indices[0] = first
    for c in range(1, n_clusters):
        candidates = draw(closest)
        potentials, closest_with = try_candidates(candidates, closest)
        best = int(np.argmin(potentials))
        indices[c] = candidates[best]
        closest = closest_with(best)
    return indices


def draw_candidates(rng, closest, sample_weight, n_local_trials) -> np.ndarray:
    """Candidate rows for the next k-means++ centre, drawn with probability
    proportional to weight times ``closest`` (squared distance to the nearest
    centre chosen so far)."""
    sampler = CumulativeSampler(
        closest if sample_weight is None else closest * sample_weight
    )
    if sampler.total > 0:
        return sampler(rng, n_local_trials)
    # every row of positive weight already sits on a centre (duplicates)
    return weighted_choice(rng, sample_weight, len(closest), n_local_trials)


def random_indices(X, shift, sample_weight, n_clusters, rng, pool) -> np.ndarray:
    """``n_clusters`` distinct rows, drawn with probability proportional to weight."""
    return weighted_choice(rng, sample_weight, X.shape[0], n_clusters, replace=False)


INIT_METHODS = {"k-means++": kmeans_plusplus_indices, "random": random_indices}
