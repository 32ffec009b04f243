"""The in-memory data kinds: dense NumPy arrays and CSR matrices.

The data-kind interface of :mod:`kmeans._backends` built on the core kernels
(:mod:`kmeans._core`), which read X held in memory.
"""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._core import blocks, dense, sparse
from .._core.blocks import is_sparse, rows_of, thread_pool
from .._core.init import INIT_METHODS
from .._core.lloyd import kmeans_single_lloyd
from .._core.pruned import kmeans_single_elkan, kmeans_single_hamerly
from .._validation import check_array, check_sample_weight

ALGORITHMS = {
    "lloyd": kmeans_single_lloyd,
    "elkan": kmeans_single_elkan,
    "hamerly": kmeans_single_hamerly,
}


# X validated (and scaled by 2**-exponent), for the kernels
InMemory = namedtuple("InMemory", "X weights exponent", defaults=(0,))

# Squared distances, their sums and products of d terms must neither overflow nor
# underflow: data whose largest magnitude is beyond 2**high (or below 2**low) are
# read scaled by a power of two, which is exact, so that the partition does not
# depend on the scale. float64: 2**600 times the features and rows stays below
# 2**1023, and distinct values 2**-53 apart at 2**-300 square to normal numbers;
# float32 (2**128, 2**-126) likewise, with products accumulated in float32.
_SAFE_EXPONENTS = {np.dtype(np.float64): (-300, 300), np.dtype(np.float32): (-30, 40)}


def magnitude_exponent(X, centers=None) -> int:
    """The power of two that X (and ``centers``) are divided by before the
    kernels read them: 0 (none) for data of ordinary magnitude, else the exponent
    of the largest magnitude, which brings it into [0.5, 1)."""
    values = X.data if is_sparse(X) else X
    largest = largest_magnitude(values)
    if centers is not None and centers.size:
        largest = max(largest, float(np.abs(centers).max()))
    return exponent_for(largest, values.dtype)


def largest_magnitude(values: np.ndarray) -> float:
    """The largest absolute value (0 for none), without an n-sized temporary."""
    if not values.size:
        return 0.0
    return max(abs(float(values.max())), abs(float(values.min())))


def exponent_for(largest: float, dtype) -> int:
    """:func:`magnitude_exponent` of data whose largest magnitude is ``largest``."""
    if largest == 0 or not np.isfinite(largest):
        return 0
    exponent = int(np.frexp(largest)[1])
    low, high = _SAFE_EXPONENTS[np.dtype(dtype)]
    return 0 if low <= exponent <= high else exponent


def scaled(X, exponent: int):
    """X divided by ``2**exponent``: X itself for 0, else a copy (of the stored
    values only, for CSR)."""
    if exponent == 0:
        return X
    if is_sparse(X):
        X = X.copy()
        X.data = np.ldexp(X.data, -exponent).astype(X.dtype, copy=False)
        return X
    return np.ldexp(X, -exponent).astype(X.dtype, copy=False)


@dataclass(frozen=True)
class InMemoryKind:
    """The functions that read X, for one kind of input held in memory (dense or
    CSR), and the data-kind interface of :mod:`kmeans._backends` built on them."""

    description: str
    column_mean: Callable
    mean_variance: Callable
    init_methods: dict
    algorithms: dict
    rows: Callable  # rows of X by index, as a dense array
    labels_inertia: Callable
    distances_kernel: Callable

    session = staticmethod(thread_pool)
    check = staticmethod(functools.partial(check_array, accept_sparse=True))

    def statistics(self, X, sample_weight, needs_variance: bool, pool):
        weights = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        exponent = magnitude_exponent(X)
        X = scaled(X, exponent)
        shift = self.column_mean(X, pool)
        centred = not is_sparse(X)  # CSR rows are not centred (kmeans/_core/sparse.py)
        variance = None
        if needs_variance or centred:  # for the shift's grid
            variance = self.mean_variance(X, shift, pool)
        if centred:
            shift = blocks.exact_shift(shift, variance)
        return InMemory(X, weights, exponent), shift, variance, *weight_facts(weights)

    @staticmethod
    def scale_weights(data, exponent: int):
        """``data`` (any namedtuple with X and weights) with its weights divided by
        ``2**exponent``."""
        return data._replace(weights=scale_weights(data.weights, data.X.dtype, exponent)[0])

    def initial_centers(self, data, shift, init: str, n_clusters: int, rng, pool):
        method = self.init_methods[init]
        indices = method(data.X, shift, data.weights, n_clusters, rng, pool)
        return self.rows(data.X, indices) - shift

    def run(self, data, shift, centers, algorithm, *, max_iter, tol, variance, pool,
            callback):  # fmt: skip
        return self.algorithms[algorithm](
            data.X, shift, data.weights, centers, max_iter=max_iter, tol=tol,
            pool=pool, callback=callback, variance=variance,
        )  # fmt: skip

    def final_labels(self, data, centers, pool, out=None):
        labels, inertia = self.labels_inertia(data.X, centers, data.weights, pool, out)
        return labels, inertia, None

    def predict(self, X, centers, pool):
        exponent = magnitude_exponent(X, centers)
        X, centers = scaled(X, exponent), scaled(centers, exponent)
        return self.labels_inertia(X, centers, None, pool)[0]

    def distances(self, X, centers, pool):
        exponent = magnitude_exponent(X, centers)
        X, centers = scaled(X, exponent), scaled(centers, exponent)
        with np.errstate(over="ignore"):  # inf is the true value beyond float range
            return np.ldexp(self.distances_kernel(X, centers, pool), exponent)

    def score(self, X, centers, sample_weight, pool) -> float:
        weights = check_sample_weight(sample_weight, X.shape[0], centers.dtype)
        exponent = magnitude_exponent(X, centers)
        X, centers = scaled(X, exponent), scaled(centers, exponent)
        inertia = self.labels_inertia(X, centers, weights, pool)[1]
        with np.errstate(over="ignore"):
            return -float(np.ldexp(inertia, 2 * exponent))


DENSE = InMemoryKind(
    "dense data",
    blocks.column_mean,
    blocks.mean_variance,
    INIT_METHODS,
    ALGORITHMS,
    rows_of,
    dense.labels_inertia,
    dense.distances,
)
# Sparse data: Lloyd only (a pruned algorithm asked for falls back to it, with the
# same result), and no centring (see kmeans/_core/sparse.py).
SPARSE = InMemoryKind(
    "sparse input",
    sparse.column_mean,
    sparse.mean_variance,
    INIT_METHODS,
    {"lloyd": kmeans_single_lloyd},
    rows_of,
    sparse.labels_inertia,
    sparse.distances,
)


def weight_facts(weights) -> tuple:
    """The largest weight and the number of positive ones (None, None for None)."""
    if weights is None:
        return None, None
    return weights.max(), int(np.count_nonzero(weights))


def weight_exponent(weight_max) -> int:
    """The exponent of the power of two that weights are divided by so that the
    largest, ``weight_max``, is in [0.5, 1) (0 for None: no weights).

    Exact in binary floating point (centres unchanged to the bit): sums of
    weight * x cannot overflow, nor tiny weights vanish in float32, whatever the
    weights' scale; multiply an inertia computed with them by ``2**exponent``
    (``np.ldexp``).
    """
    return 0 if weight_max is None else int(np.frexp(weight_max)[1])


def scale_weights(weights, dtype, exponent=None):
    """Weights divided by ``2**exponent`` (by default :func:`weight_exponent`'s),
    and the exponent."""
    if weights is None:
        return None, 0
    if exponent is None:
        exponent = weight_exponent(weights.max())
    return np.ldexp(weights, -exponent).astype(dtype, copy=False), exponent
