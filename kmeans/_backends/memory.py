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
from .._core.blocks import rows_of, thread_pool
from .._core.init import INIT_METHODS
from .._core.lloyd import kmeans_single_lloyd
from .._core.pruned import kmeans_single_elkan, kmeans_single_hamerly
from .._validation import check_array, check_sample_weight

ALGORITHMS = {
    "lloyd": kmeans_single_lloyd,
    "elkan": kmeans_single_elkan,
    "hamerly": kmeans_single_hamerly,
}


InMemory = namedtuple("InMemory", "X weights")  # validated, for the kernels


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
    distances: Callable

    session = staticmethod(thread_pool)
    check = staticmethod(functools.partial(check_array, accept_sparse=True))

    def statistics(self, X, sample_weight, needs_variance: bool, pool):
        weights = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        shift = self.column_mean(X, pool)
        variance = self.mean_variance(X, shift, pool) if needs_variance else None
        weight_max = n_positive = None
        if weights is not None:
            weight_max, n_positive = weights.max(), int(np.count_nonzero(weights))
        return InMemory(X, weights), shift, variance, weight_max, n_positive

    @staticmethod
    def scale_weights(data: InMemory, exponent: int) -> InMemory:
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
        return self.labels_inertia(X, centers, None, pool)[0]

    def score(self, X, centers, sample_weight, pool) -> float:
        weights = check_sample_weight(sample_weight, X.shape[0], centers.dtype)
        return -self.labels_inertia(X, centers, weights, pool)[1]


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


def weight_exponent(weight_max) -> int:
    """The exponent of the power of two that weights are divided by so that the
    largest, ``weight_max``, is at most 1 (0 for None: no weights).

    Exact in binary floating point (centres unchanged to the bit), and sums of
    weight * x cannot overflow whatever the weights' scale; multiply an inertia
    computed with them by ``2**exponent`` (``np.ldexp``).
    """
    return 0 if weight_max is None else max(int(np.frexp(weight_max)[1]), 0)


def scale_weights(weights, dtype, exponent=None):
    """Weights divided by ``2**exponent`` (by default :func:`weight_exponent`'s),
    and the exponent."""
    if weights is None:
        return None, 0
    if exponent is None:
        exponent = weight_exponent(weights.max())
    return np.ldexp(weights, -exponent).astype(dtype, copy=False), exponent
