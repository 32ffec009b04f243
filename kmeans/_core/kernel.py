"""The assignment kernel: the nearest centres of a block of rows, dense or CSR.

Every nearest-centre computation of the library is made of the three steps here,
so that a speed-up or a fix made here reaches Lloyd, Hamerly, Elkan, predict,
score, transform, k-means++, the minibatch step, the swap trials, the Dask chunk
tasks and the metrics at once:

1. :func:`partial_sq`, the one matrix product of a block: ``||c||^2 - 2 x.c`` for
   every row and centre, the squared distances but for ``||x||^2``. Dense rows
   come as ``[x - shift, 1]`` against :func:`augmented_coefficients` (the norms
   of the centres come out of the product), or as ``x`` against ``-2 C^T`` plus a
   constant per centre; CSR rows (the sparse twin) always the latter.
2. :func:`nearest`: the nearest centre (ties to the lowest index, as ``argmin``),
   and, given ``||x||^2``, the squared distance to it and to the runner-up
   (Hamerly's lower bound); or :func:`all_sq`: every squared distance (Elkan,
   ``transform``, k-means++ potentials).
3. Where a float32 product pays, :class:`Float32Screen` gives the labels of the
   float64 product at the cost of a float32 one.

Narrow data with few centres take the column layout instead (:func:`by_columns`):
``argmin`` along a short last axis costs NumPy a loop per row, which dominates
everything else there. :func:`column_rows` lays a block out as columns
``[x - shift; 1; ||x - shift||^2]``, one product with :func:`column_coefficients`
gives the squared distances as centres by rows, and :func:`nearest_columns`
reduces them along contiguous memory.

Distances are clamped at zero: the expanded form may round a zero distance to a
small negative number. Nothing here validates its input: callers have done it.
"""

from __future__ import annotations

import numpy as np

from .blocks import _blas_controller, is_sparse


def row_norms_sq(rows) -> np.ndarray:
    """``||x||^2`` of each row: dense rows in their dtype, CSR rows summed in
    float64 from their stored values."""
    if is_sparse(rows):
        owner = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
        return np.bincount(owner, weights=rows.data * rows.data, minlength=rows.shape[0])
    return np.einsum("ij,ij->i", rows, rows)


def augmented_coefficients(centers: np.ndarray, dtype) -> np.ndarray:
    """``[-2 C^T; ||c||^2]``, shape (n_features + 1, n_clusters): multiplied by
    rows ``[x, 1]`` it gives ``||c||^2 - 2 x.c``, the squared distances but for
    ``||x||^2``, in one matrix product and no extra pass."""
    n_features = centers.shape[1]
    coef = np.empty((n_features + 1, centers.shape[0]), dtype)
    coef[:n_features] = -2 * centers.T
    coef[n_features] = np.einsum("ij,ij->i", centers, centers)
    return coef


def centre_terms(centers: np.ndarray, sum_dtype=None):
    """``-2 C^T`` (C-ordered) and ``||c||^2`` (summed in ``sum_dtype``, default
    the centres' dtype): the coefficients of :func:`partial_sq` for rows ``x``."""
    neg2_t = np.ascontiguousarray(-2 * centers.T)
    return neg2_t, np.einsum("ij,ij->i", centers, centers, dtype=sum_dtype)


def partial_sq(rows, coef, constant=None, out=None, *, centres_first=False) -> np.ndarray:
    """``rows @ coef + constant``: with the coefficients of
    :func:`augmented_coefficients` or :func:`centre_terms`, ``||c||^2 - 2 x.c``
    for every row (dense or CSR) and centre. ``out`` (dense rows only, C-ordered)
    receives the product. The layout may also be transposed (centres by rows, with
    ``constant[:, None]``), where the reductions then run along rows.

    ``centres_first`` (dense rows, see :func:`by_centres`): the product is made as
    ``coef^T @ rows^T`` into the first ``n_clusters * len(rows)`` entries of
    ``out``, and returned as its transpose: the same rows by centres, rounded as
    BLAS rounds that product.
    """
    # invalid="ignore": BLAS kernels may raise the "invalid" flag on finite
    # operands, which NumPy reports as a warning (seen once in the suite, a float32
    # row by 150 columns, gone on a rerun); with finite operands a product is
    # invalid only after an overflow, which still warns.
    if is_sparse(rows):
        product = rows @ coef
    elif centres_first:
        shape = (coef.shape[1], rows.shape[0])
        if out is not None:
            out = out.ravel()[: shape[0] * shape[1]].reshape(shape)
        with np.errstate(invalid="ignore"):
            product = np.matmul(coef.T, rows.T, out=out).T
    else:
        with np.errstate(invalid="ignore"):
            product = np.matmul(rows, coef, out=out)
    if constant is not None:
        product += constant
    return product


def nearest(partial: np.ndarray, row_sq=None, *, second: bool = False, values=True):
    """The nearest centre of each row of ``partial`` (from :func:`partial_sq`),
    ties to the lowest index.

    Returns ``(labels, nearest_sq, second_sq)``. With ``row_sq`` (each row's
    ``||x||^2``) ``nearest_sq`` is the squared distance to the nearest centre,
    clamped at zero; without it, the entry of ``partial``; None when not
    ``values`` (labels only: one pass less). With ``second`` the same for the
    runner-up (infinite with one centre), and ``partial`` is overwritten at the
    labels; else ``second_sq`` is None.
    """
    labels = partial.argmin(axis=1)
    if not (values or second):
        return labels, None, None
    every = np.arange(partial.shape[0])
    best = partial[every, labels]
    runner_up = None
    if second:
        partial[every, labels] = np.inf
        # argmin and a gather: 0.6-0.98x the time of min(axis=1), which NumPy
        # reduces row by row (8 to 256 centres, float32 and float64, one thread)
        runner_up = partial[every, partial.argmin(axis=1)]
    if row_sq is not None:
        best += row_sq
        np.maximum(best, 0, out=best)
        if second:
            runner_up += row_sq
            np.maximum(runner_up, 0, out=runner_up)
    return labels, best, runner_up


def all_sq(partial: np.ndarray, row_sq) -> np.ndarray:
    """Every squared distance, in place in ``partial``: ``row_sq`` added (shaped
    to broadcast: ``row_sq[:, None]`` for rows by centres), clamped at zero."""
    partial += row_sq
    return np.maximum(partial, 0, out=partial)


def pairwise_sq(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Squared distances between the rows of A and B (few rows: centres)."""
    neg2_t, b_sq = centre_terms(B)
    return all_sq(partial_sq(A, neg2_t, b_sq), row_norms_sq(A)[:, None])


# Wide float64 rows and few centres: the row layout's product pays made as centres
# by rows (C x^T), its argmin read through the transpose: measured 0.82-0.93x the
# time of the product and argmin from 256 to 784 features and 10 to 48 centres,
# and 0.97-1.6x for float32, fewer features or more centres (one thread; README,
# Performance).
CENTRES_FIRST_MIN_FEATURES = 256
CENTRES_FIRST_MAX_CLUSTERS = 48


def by_centres(n_features: int, n_clusters: int, dtype) -> bool:
    """Whether dense blocks of this shape and dtype make the row layout's product
    centres first (:func:`partial_sq`'s ``centres_first``)."""
    return (
        np.dtype(dtype) == np.float64
        and n_features >= CENTRES_FIRST_MIN_FEATURES
        and n_clusters <= CENTRES_FIRST_MAX_CLUSTERS
    )


# The column layout pays up to these sizes: measured 0.4-0.8x the time of the row
# layout's product and argmin from 2 to 12 features and 3 to 24 centres, and
# 1.1-2.2x beyond (one thread, float32 and float64; benchmarks/benchmarks: the
# narrow and wide kernel suites).
COLUMN_MAX_FEATURES = 8
COLUMN_MAX_CLUSTERS = 24


def by_columns(n_features: int, n_clusters: int) -> bool:
    """Whether dense blocks of this shape take the column layout."""
    return n_features <= COLUMN_MAX_FEATURES and n_clusters <= COLUMN_MAX_CLUSTERS


def column_coefficients(centers: np.ndarray, dtype) -> np.ndarray:
    """``[-2 C, ||c||^2, 1]``, shape (n_clusters, n_features + 2): times the
    columns of :func:`column_rows` it gives every squared distance."""
    n_clusters, n_features = centers.shape
    coef = np.empty((n_clusters, n_features + 2), dtype)
    coef[:, :n_features] = -2 * centers
    coef[:, n_features] = np.einsum("ij,ij->i", centers, centers)
    coef[:, n_features + 1] = 1
    return coef


def column_rows(X: np.ndarray, lo: int, hi: int, shift, buffer: np.ndarray):
    """Rows ``lo:hi`` of X as the C-ordered columns ``[x - shift; 1;
    ||x - shift||^2]``, shape (n_features + 2, hi - lo), in the flat ``buffer``
    (of at least that size; its dtype is the arithmetic's)."""
    n_features = X.shape[1]
    columns = buffer[: (n_features + 2) * (hi - lo)].reshape(n_features + 2, hi - lo)
    shifted = columns[:n_features]
    np.subtract(X[lo:hi].T, np.reshape(shift, (-1, 1)), out=shifted)
    columns[n_features] = 1
    np.einsum("ij,ij->j", shifted, shifted, out=columns[n_features + 1])
    return columns


def nearest_columns(dist: np.ndarray, *, values: bool = True, second: bool = False):
    """The nearest centre of each column of the C-ordered squared distances
    ``dist`` (centres by rows), ties to the lowest index, overwriting ``dist``.

    Returns ``(labels, nearest_sq)`` (None when not ``values``), distances
    clamped at zero; with ``second`` also the runner-up's squared distance
    (Hamerly's lower bound; infinite with one centre), rounded down to the
    precision of the keys below. The order of non-negative floats is that of their bit
    patterns as integers, so one integer minimum per column over keys that end
    with the centre's index gives the label. float32 distances keep all their
    bits (keys of 64 bits); float64 ones give up their last ``ceil(log2 k)``
    bits to the index, so two distances within ``2**(ceil(log2 k) - 52)`` of
    each other, relatively, count as tied: far inside the rounding of the
    expanded distance itself.
    """
    n_clusters = dist.shape[0]
    bits = max((n_clusters - 1).bit_length(), 1)
    index = np.arange(n_clusters, dtype=np.int64)[:, None]
    best = None
    if values:
        best = np.minimum.reduce(dist, axis=0)
        np.maximum(best, 0, out=best)
    if dist.itemsize == 8:
        keys = dist.view(np.int64)
        np.bitwise_and(keys, np.int64(-(1 << bits)), out=keys)
    else:
        keys = np.left_shift(dist.view(np.int32), bits, dtype=np.int64)
    np.bitwise_or(keys, index, out=keys)
    labels = np.minimum.reduce(keys, axis=0)
    if labels.min() < 0:
        # Distances rounded below zero (rows on a centre) have the sign bit, the
        # smallest integers but in reverse order: clamped to +0.0 in those columns.
        below = np.flatnonzero(labels < 0)
        some = keys[:, below]
        some = np.where(some < 0, index, some)
        labels[below] = np.minimum.reduce(some, axis=0)
        if second:
            keys[:, below] = some
    labels = np.bitwise_and(labels, (1 << bits) - 1, out=labels)
    if not second:
        return labels, best
    if n_clusters == 1:
        return labels, best, np.full(dist.shape[1], np.inf, dist.dtype)
    # the winner's key out of the way, a second integer minimum is the runner-up
    keys[labels, np.arange(keys.shape[1])] = np.iinfo(np.int64).max
    runner_up = np.minimum.reduce(keys, axis=0)
    if dist.itemsize == 8:
        runner_up &= np.int64(-(1 << bits))  # the index bits off: rounded down
        return labels, best, runner_up.view(np.float64)
    return labels, best, np.right_shift(runner_up, bits).astype(np.int32).view(np.float32)


def _gamma(n_terms: int, unit_roundoff: float) -> float:
    """Higham's gamma_n: relative error bound of an n-term dot product."""
    return n_terms * unit_roundoff / (1 - n_terms * unit_roundoff)


class Float32Screen:
    """Nearest centres of float64 rows ``[x, 1]`` through a float32 product.

    A float32 product runs twice as fast as a float64 one. Each of its entries is
    within a rigorous bound of the exact ``||c||^2 - 2 x.c`` (Higham's gamma for
    rounding the inputs and summing ``width`` terms, plus an absolute term for
    float32 underflow), and so is the float64 product's. Where the float32
    nearest centre beats the runner-up by more than twice the sum of both bounds,
    the float64 product has the same nearest centre; the other rows (ties, or
    values whose products may leave float32's range) are multiplied again in
    float64, one by one. The labels are thus those of float64 products, whatever
    the rounding of the float32 one (which may use several BLAS threads), at the
    cost of the float32 product wherever the clusters are not ambiguous to seven
    digits. Data with many exact ties (small integers, duplicated centres) make
    many rows ambiguous: ``labels`` counts them, for callers to turn the screen
    off.

    Made by :meth:`for_coefficients` from the float64
    :func:`augmented_coefficients` of the centres.
    """

    # Where it pays, by the minibatch benchmark (README, Performance): from 64
    # features and 128 clusters on; below, two extra passes of argmin over the
    # distances cost more than halving the product saves.
    MIN_CLUSTERS = 128
    MIN_WIDTH = 65  # rows [x, 1]: 64 features

    def __init__(self, coef: np.ndarray, coef32: np.ndarray):
        width = coef.shape[0]
        self.coef = coef
        self.coef32 = coef32
        # ||c||^2 is the last row of coef; 1.01: slack for rounding the bound itself
        self.center_norm = 1.01 * float(np.sqrt(max(coef[-1].max(), 0.0)))
        self.relative = 2.02 * (_gamma(width + 2, 2.0**-24) + _gamma(width, 2.0**-53))
        # 2**-124, not 2**-148: inputs and products may be flushed to zero (FTZ)
        self.absolute = 2.02 * width * 2.0**-124

    @classmethod
    def for_coefficients(cls, coef: np.ndarray) -> Float32Screen | None:
        """A screen for these float64 coefficients, or None where it would not
        pay (few clusters or features, another dtype) or cannot be used (centres
        out of float32's range)."""
        width, n_clusters = coef.shape
        if coef.dtype != np.float64 or n_clusters < cls.MIN_CLUSTERS:
            return None
        if width < cls.MIN_WIDTH:
            return None
        with np.errstate(over="ignore"):
            coef32 = coef.astype(np.float32)
        if not np.isfinite(coef32).all():
            return None
        return cls(coef, coef32)

    def labels(self, rows: np.ndarray, dots32: np.ndarray) -> tuple[np.ndarray, int]:
        """Labels of the float64 ``rows`` ([x, 1]) and the number of rows that
        were ambiguous; ``dots32`` is a float32 scratch of shape (len(rows),
        n_clusters)."""
        with np.errstate(over="ignore", invalid="ignore"):
            rows32 = rows.astype(np.float32)
            block = np.matmul(rows32, self.coef32, out=dots32)
        labels, best, runner_up = nearest(block, second=True)
        best = best.astype(np.float64)
        c = self.center_norm
        with np.errstate(over="ignore", invalid="ignore"):
            row_norms = np.sqrt(row_norms_sq(rows[:, :-1]))
            # sum |r_m coef_mj| <= 2 ||x|| ||c|| + ||c||^2 (Cauchy-Schwarz)
            magnitude = 2 * row_norms * c + c * c
            slack = self.relative * magnitude
            slack += self.absolute * (1 + row_norms + 2 * c + c * c)
            gap = runner_up - best
            # An infinite or NaN gap (values beyond float32's range) is ambiguous
            # too; and so is a row whose partial sums may overflow: an entry gone
            # to +inf on the way would never be seen as the best.
            decided = (gap > slack) & np.isfinite(gap) & (magnitude < 2.0**126)
        ambiguous = np.flatnonzero(~decided)
        if ambiguous.size:
            # Row by row through one buffer on one BLAS thread, so that a row's
            # float64 values depend on the row alone: which rows are ambiguous
            # depends on the float32 rounding, hence on the BLAS threads.
            row = np.empty((1, rows.shape[1]))
            exact = np.empty((1, self.coef.shape[1]))
            with (
                _blas_controller().limit(limits=1, user_api="blas"),
                np.errstate(over="ignore", invalid="ignore"),
            ):
                for i in ambiguous:
                    row[0] = rows[i]
                    labels[i] = nearest(partial_sq(row, self.coef, out=exact))[0][0]
        return labels, ambiguous.size
