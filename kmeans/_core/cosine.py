"""Spherical (cosine) k-means on the Euclidean kernels, dense or CSR rows.

Dhillon & Modha (2001): each row goes to the centre of highest cosine
similarity, each centre is the normalised weighted mean of its rows' unit
vectors. Nothing here copies or normalises X; with unit centres ``c``:

- **assignment**: ``argmax x.c``, whatever ``||x||``: the assignment kernel
  (:mod:`.kernel`) labels the rows as they are, with the constant
  ``||c||^2 - 1`` of unit centres, taken as its exact value 0, in place of
  ``||c||^2`` (:func:`unit_terms`). The same argmin (1 is taken from every
  centre's term), but ``-2 x.c`` alone scales with the row: next to ``||c||^2
  = 1`` it would be lost to rounding for rows of norm below ~1e-15, and a
  computed ``||c||^2 - 1`` (a few ulps) would still outweigh it there;
- **update**: ``sum w x/||x||`` is the scatter-add of :mod:`.update` with the
  weights ``w/||x||`` (:func:`inverse_norms`, computed once per fit, O(n)), then
  each centre is normalised (:func:`normalise`);
- **objective**: ``sum w (1 - cos)``, read off the same product.

The data are never shifted (``shift`` is zero): a shift changes the angles.
Prior validation is assumed.
"""

from __future__ import annotations

import numpy as np

from .blocks import RowBlocks, is_sparse, rows_of
from .kernel import centre_terms, nearest, partial_sq
from .sparse import row_blocks


class ZeroRowError(ValueError):
    """A row of zero norm has no direction: its cosine is undefined.

    Raised for rows of X by :func:`zero_rows_error`, with the number of zero rows
    (``n_zero``) and the first indices (``rows``), so that a caller that reads X
    in pieces (the Dask chunks) can say where they are in the whole.
    """

    n_zero = 0
    rows = None


def zero_rows_error(n_zero: int, rows) -> ZeroRowError:
    """The error for ``n_zero`` rows of X that are all zeros, ``rows`` their first
    indices (five are shown): the one message of every data kind."""
    rows = [int(i) for i in rows[:5]]
    shown = ", ".join(str(i) for i in rows) + (", ..." if n_zero > 5 else "")
    error = ZeroRowError(
        f"metric='cosine' needs rows of non-zero norm: {n_zero} row(s) of X "
        f"are all zeros (rows {shown}). A zero vector has no direction; drop "
        "those rows or give them another metric."
    )
    error.n_zero, error.rows = n_zero, rows
    return error


def _blocks(X, width: int, pool) -> RowBlocks:
    if is_sparse(X):
        return row_blocks(X, width, pool)
    return RowBlocks(X.shape[0], width, X.shape[1], X.itemsize, pool)


def _norms(rows) -> np.ndarray:
    """Euclidean norms of a block of rows, in float64; a row whose squares
    underflow or overflow (beyond 1e+-154) is measured scaled by its largest
    magnitude instead, and a norm beyond float64's largest number is inf (see
    :func:`norm_exponents`)."""
    # squares beyond float64's range are measured again below
    with np.errstate(over="ignore", under="ignore"):
        if is_sparse(rows):
            counts = np.diff(rows.indptr)
            owner = np.repeat(np.arange(rows.shape[0]), counts)
            values = rows.data.astype(np.float64)
            sq = np.bincount(owner, weights=values * values, minlength=rows.shape[0])
        else:
            sq = np.einsum("ij,ij->i", rows, rows, dtype=np.float64)
        norms = np.sqrt(sq)
    for i in np.flatnonzero(~((norms > 0) & (norms < np.inf))):
        row = rows_of(rows, [i])[0].astype(np.float64)
        top = np.abs(row).max()
        with np.errstate(over="ignore"):  # beyond float64: inf
            norms[i] = top * np.sqrt(np.sum((row / top) ** 2)) if top > 0 else 0.0
    return norms


# The exponent given to a norm beyond float64's largest number (2**1024): its
# row divided by 2**1025 has entries of at most 1/2.
_BEYOND_FLOAT64 = 1025


def norm_exponents(norms) -> np.ndarray:
    """frexp's exponents of ``norms`` (float64, as :func:`row_norms` gives
    them), those beyond float64 (inf) included."""
    exponents = np.frexp(norms)[1]
    exponents[np.isinf(norms)] = _BEYOND_FLOAT64
    return exponents


def row_norms(X, pool) -> np.ndarray:
    """``||x||`` of every row, float64 (zero for a row of zeros)."""
    out = np.empty(X.shape[0])
    blocks = _blocks(X, 1, pool)

    def run(start: int, stop: int) -> None:
        for lo, hi in blocks.blocks(start, stop):
            out[lo:hi] = _norms(X[lo:hi])

    blocks.map(run)
    return out


def inverse_norms(X, pool) -> np.ndarray:
    """``1 / ||x||`` of every row, float64; a :class:`ZeroRowError` for a zero row."""
    return 1.0 / nonzero_norms(X, pool)


def nonzero_norms(X, pool) -> np.ndarray:
    """:func:`row_norms`; a :class:`ZeroRowError` for a zero row."""
    norms = row_norms(X, pool)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise zero_rows_error(zero.size, zero)
    return norms


# Rows are read as they are while the exponent of their norm (frexp's) lies in
# this range: their products with unit centres, their squares (in float64) and
# 1/||x|| stay far from overflow and from subnormal numbers.
_SAFE_NORM_EXPONENTS = {np.dtype(np.float64): (-200, 200), np.dtype(np.float32): (-40, 40)}
EACH_ROW = "each row"


def rescaling(smallest: int, largest: int, dtype):
    """How rows of ``dtype`` whose norms have exponents (frexp's) from
    ``smallest`` to ``largest`` are read (see :func:`readable`): None, as they
    are; an int ``e``, all divided by ``2**e``; or :data:`EACH_ROW`, each
    divided by the power of two of its own norm."""
    low, high = _SAFE_NORM_EXPONENTS[np.dtype(dtype)]
    if low <= smallest and largest <= high:
        return None
    if smallest - largest >= low:
        return largest
    return EACH_ROW


def readable(X, pool):
    """X as the cosine kernels read it, and ``1/||x||`` of its rows (float64).

    X itself where every row's norm is within a safe range of its dtype; else a
    copy (of the stored values only, for CSR) divided by the power of two that
    brings the largest norm into [0.5, 1), or, where the norms span more than
    the range, each row by the power of two that brings its own norm there.
    Dividing by powers of two is exact, so the directions, and every cosine, are
    those of X: rows of norms 1e-300 and 1e300 side by side are read as well as
    rows of norm 1, and a row is called zero only if it is. A single power of
    two also keeps every bit of the fit (per row, a centre's last bit may
    differ: its weighted mean is divided by another total weight before it is
    normalised). A :class:`ZeroRowError` for a row of zeros.
    """
    norms = nonzero_norms(X, pool)
    if not norms.size:
        return X, 1.0 / norms
    exponents = norm_exponents(norms)
    how = rescaling(int(exponents.min()), int(exponents.max()), X.dtype)
    if how is None:
        return X, 1.0 / norms
    if how is not EACH_ROW:
        exponents = np.full_like(exponents, how)
    X = per_row_scaled(X, exponents)
    return X, inverse_norms(X, pool)


def each_row_scaled(X):
    """X (dense or CSR) with each row divided by the power of two of its norm
    (a copy): norms in [0.5, 1), the same directions."""
    return per_row_scaled(X, norm_exponents(row_norms(X, None)))


def per_row_scaled(X, exponents):
    """A copy of X (dense or CSR) with row ``i`` divided by ``2**exponents[i]``."""
    if is_sparse(X):
        X = X.copy()
        each = np.repeat(exponents, np.diff(X.indptr)).astype(np.intc)
        X.data = np.ldexp(X.data, -each).astype(X.dtype, copy=False)
        return X
    return np.ldexp(X, -exponents.astype(np.intc)[:, None]).astype(X.dtype, copy=False)


def scale_rows(rows: np.ndarray, row_scale, dtype=None) -> np.ndarray:
    """Gathered rows times their ``1/||x||``: unit vectors, in ``dtype`` (default
    the rows'), for initial centres and the k-means++ and k-means|| seeds."""
    product = rows * row_scale[:, None]
    return product.astype(rows.dtype if dtype is None else dtype, copy=False)


def unit_terms(centers: np.ndarray):
    """The coefficients of :func:`~kmeans._core.kernel.partial_sq` for unit
    centres: ``-2 C^T`` and the constant ``||c||^2 - 1``, taken as exactly 0, so
    that the kernel gives ``-2 x.c``, which scales with each row (see the
    module's docstring). In the centres' dtype."""
    neg2_t, _ = centre_terms(centers)
    return neg2_t, np.zeros(centers.shape[0], centers.dtype)


def run_terms(sample_weight, row_scale, dtype=None):
    """What a spherical Lloyd pass reads in place of the weights and ``||x||^2``
    (:func:`~kmeans._core.lloyd.lloyd_pass`'s ``row_terms``, with which it
    measures unit centres by ``-2 x.c`` alone), as arrays of ``row_scale``'s
    library: the weights ``w/||x||``, so that each row counts as its unit vector
    in the sums, and ``2||x||``, so that the inertia comes out as ``2 w (1 -
    cos)`` (halved by :func:`end_step`). Cast to ``dtype`` (X's) when given;
    arrays of other libraries, which cast with their namespace, are returned as
    computed."""
    unit_weights = row_scale if sample_weight is None else sample_weight * row_scale
    # w/||x|| (-2 x.c + 2||x||) = 2 w (1 - cos): no term of order 1 beside x.c
    terms = unit_weights, 2 / row_scale
    if dtype is None:
        return terms
    with np.errstate(over="ignore", under="ignore"):
        cast = tuple(a.astype(dtype) for a in terms)
    # Terms beyond float32's range (tiny weights of long rows underflow) stay
    # float64 (the weighted rows are then computed in float64, rounded once): a
    # positive weight read as zero would empty a cluster.
    tiny = np.finfo(dtype).tiny
    exact = all(np.isfinite(a).all() for a in cast) and not np.any(
        (cast[0] < tiny) & (terms[0] > 0)
    )
    return cast if exact else terms


def end_step(new_centers: np.ndarray, centers: np.ndarray, inertia):
    """The end of a spherical Lloyd iteration after the Euclidean update from the
    sums of unit rows: the centres normalised (a cluster whose sum is zero keeps
    its centre) and the inertia of :func:`run_terms` halved."""
    return normalise(new_centers, centers), None if inertia is None else inertia / 2


def unit_rows(rows):
    """Rows of a gathered minibatch (a dense buffer of ours, divided in place, or
    a CSR batch, copied unless it is already a copy) as unit vectors."""
    norms = _norms(rows)
    if not norms.all():
        raise ZeroRowError(
            "metric='cosine' needs rows of non-zero norm: a minibatch holds "
            f"{int(np.count_nonzero(norms == 0))} row(s) of zeros. A zero vector has "
            "no direction; drop those rows or give them another metric."
        )
    if is_sparse(rows):
        rows = rows.copy()
        rows.data = (rows.data / np.repeat(norms, np.diff(rows.indptr))).astype(
            rows.dtype, copy=False
        )
        return rows
    # divided in float64, rounded once: a float32 row's norm may exceed float32
    np.divide(rows, norms[:, None], out=rows, casting="same_kind")
    return rows


def normalise(centers: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    """The rows of ``centers`` divided by their norms (a new array). A zero row
    takes ``fallback``'s row (a cluster whose unit vectors sum to zero keeps its
    centre), or raises ZeroRowError without one."""
    norms = _norms(centers)
    zero = norms == 0
    if zero.any() and fallback is None:
        raise ZeroRowError(
            "metric='cosine' needs initial centres of non-zero norm: centre(s) "
            f"{np.flatnonzero(zero).tolist()[:5]} are all zeros."
        )
    norms[zero] = 1.0
    out = (centers / norms[:, None]).astype(centers.dtype, copy=False)
    if zero.any():
        out[zero] = fallback[zero]
    return out


def own_dots(rows, centers, labels) -> np.ndarray:
    """Each row's dot product with its own centre, ``centers[labels]``, float64.
    Dense rows with their centres gathered (as large as the rows); CSR rows by
    their product with every centre, (rows x k): their own centres gathered
    would be dense, far larger than the rows for a large vocabulary."""
    if is_sparse(rows):
        return np.asarray(rows @ centers.T)[np.arange(rows.shape[0]), labels]
    return np.einsum("ij,ij->i", rows, centers[labels], dtype=np.float64)


def dissimilarity(partial, row_scale, xp=np):
    """``1 - cos`` from the kernel's ``partial = -2 x.c`` against unit centres
    (:func:`unit_terms`; any shape broadcasting with ``row_scale = 1/||x||``),
    clamped to [0, 2]; arrays of the namespace ``xp`` (NumPy, or a device's)."""
    return xp.clip(1.0 + partial * (0.5 * row_scale), 0.0, 2.0)


def unit_sum(X, row_scale, pool) -> np.ndarray:
    """``sum x/||x||`` over the rows, float64, by partitions of rows (SciPy
    makes a float32 CSR float64 to multiply it by float64 scales: a
    partition's worth at a time)."""
    blocks = _blocks(X, 1, pool)

    def run(start: int, stop: int) -> np.ndarray:
        if is_sparse(X):
            return np.asarray(X[start:stop].T @ row_scale[start:stop], dtype=np.float64)
        return row_scale[start:stop] @ X[start:stop].astype(np.float64, copy=False)

    return np.sum(blocks.map(run), axis=0)


def variance_of_units(total: np.ndarray, n_samples: int) -> float:
    """Mean over features of the variance of unit rows whose sum is ``total``:
    ``(1 - ||mean||^2) / n_features``."""
    mean = total / n_samples
    return max(0.0, 1.0 - float(mean @ mean)) / total.shape[0]


def unit_variance(X, row_scale, pool) -> float:
    """Mean over features of the variance of the unit rows ``x/||x||`` (what
    ``tol`` is relative to), one pass."""
    return variance_of_units(unit_sum(X, row_scale, pool), X.shape[0])


def labels_inertia(X, centers, sample_weight, row_scale, pool, labels_out=None):
    """Labels of the most similar centres and ``sum w (1 - cos)``, float64.

    The one code path for cosine final labels, ``predict`` and ``score``. The
    products are made as a Lloyd pass makes them, in the centres' dtype (float32
    rows against float32 centres: no float64 copy of each block); the objective
    is summed in float64.
    """
    n_samples = X.shape[0]
    neg2_t, constant = unit_terms(centers)
    labels = np.empty(n_samples, np.int32) if labels_out is None else labels_out
    blocks = _blocks(X, centers.shape[0], pool)

    def run(start: int, stop: int) -> float:
        inertia = 0.0
        for lo, hi in blocks.blocks(start, stop):
            block_labels, best, _ = nearest(partial_sq(X[lo:hi], neg2_t, constant))
            labels[lo:hi] = block_labels
            d = dissimilarity(best, row_scale[lo:hi])
            w = None if sample_weight is None else sample_weight[lo:hi]
            inertia += float(d.sum() if w is None else d @ w)
        return inertia

    return labels, float(sum(blocks.map(run)))


def distances(X, centers, row_scale, pool) -> np.ndarray:
    """``1 - cos`` of every row and centre, computed in float64 and returned in
    the centres' dtype."""
    n_samples, n_clusters = X.shape[0], centers.shape[0]
    neg2_t, constant = unit_terms(centers.astype(np.float64))
    out = np.empty((n_samples, n_clusters), centers.dtype)
    blocks = _blocks(X, n_clusters, pool)

    def run(start: int, stop: int) -> None:
        for lo, hi in blocks.blocks(start, stop):
            partial = partial_sq(X[lo:hi], neg2_t, constant)
            out[lo:hi] = dissimilarity(partial, row_scale[lo:hi, None])

    blocks.map(run)
    return out
