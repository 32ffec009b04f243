"""The cosine data kinds: dense or CSR data in memory, read by spherical k-means.

(Dask arrays and array-API arrays have theirs in their own modules,
``cosine_twin``: :mod:`kmeans._backends.dask`, :mod:`kmeans._backends.array_api`.)

:func:`cosine_kind` wraps :data:`~kmeans._backends.memory.DENSE` or ``SPARSE``
into the same data-kind interface, so that ``KMeans._fit`` (and
``MiniBatchKMeans``) drive a cosine fit as they drive a Euclidean one: the
kernels are those of :mod:`kmeans._core.cosine`, the Lloyd driver is the one of
:mod:`kmeans._core.lloyd`. Differences from the wrapped kind:

- no shift (a shift changes the angles), and ``tol`` is relative to the
  variance of the unit rows;
- the data carry ``1/||x||`` per row (``InMemory.row_scale``), computed once
  per fit; zero rows are refused;
- Lloyd only: Hamerly's and Elkan's bounds are Euclidean; ``refine="swap"``
  swaps clusters rather than rows (:mod:`kmeans._core.cosine_swap`);
- centres, inertia and distances are the cosine ones, independent of the
  rows' scale: rows of extreme norm are read each divided by a power of two
  (:func:`kmeans._core.cosine.readable`) and nothing is scaled back.
"""

from __future__ import annotations

import functools
from collections import namedtuple

import numpy as np

from .._core import cosine
from .._core.cosine_swap import spherical_swap
from .._core.init import kmeans_plusplus_indices, random_indices
from .._core.lloyd import kmeans_single_lloyd
from .._validation import check_sample_weight
from .memory import (
    DENSE,
    SPARSE,
    InMemoryKind,
    weight_facts,
)

# X validated (rows of extreme norm scaled), weights, 1/||x|| per row
Spherical = namedtuple("Spherical", "X weights row_scale exponent", defaults=(0,))


class CosineKind:
    """The data-kind interface of :mod:`kmeans._backends` for spherical k-means
    on a data kind held in memory (``base``: dense or CSR)."""

    algorithms = {"lloyd": kmeans_single_lloyd}

    def __init__(self, base):
        self.base = base
        self.description = f"{base.description} with metric='cosine'"
        self.init_methods = {
            "k-means++": kmeans_plusplus_indices,
            "random": random_indices,
        }
        self.session = base.session
        self.check = base.check
        self.rows = base.rows

    def statistics(self, X, sample_weight, needs_variance: bool, pool):
        weights = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        X, row_scale = cosine.readable(X, pool)
        shift = np.zeros(X.shape[1], X.dtype)
        variance = cosine.unit_variance(X, row_scale, pool) if needs_variance else None
        data = Spherical(X, weights, row_scale)
        return data, shift, variance, *weight_facts(weights)

    scale_weights = staticmethod(InMemoryKind.scale_weights)

    def initial_centers(self, data, shift, init: str, n_clusters: int, rng, pool):
        method = self.init_methods[init]
        if method is kmeans_plusplus_indices:
            method = functools.partial(method, row_scale=data.row_scale)
        indices = method(data.X, shift, data.weights, n_clusters, rng, pool)
        return cosine.scale_rows(self.rows(data.X, indices), data.row_scale[indices])

    def run(self, data, shift, centers, algorithm, *, max_iter, tol, variance, pool,
            callback):  # fmt: skip
        centers = cosine.normalise(centers).astype(data.X.dtype, copy=False)
        return kmeans_single_lloyd(
            data.X, shift, data.weights, centers, max_iter=max_iter, tol=tol,
            pool=pool, callback=callback, variance=variance, row_scale=data.row_scale,
        )  # fmt: skip

    def refine_swap(
        self, data, centers, rng, *, max_trials, patience, max_seconds, verbose, pool,
        unit_exponent=0,
    ):  # fmt: skip
        """Split-and-merge swap trials from the unit ``centers`` of the best run
        (:mod:`kmeans._core.cosine_swap`); the centres returned are unit vectors
        in X's dtype, for the final Lloyd run."""
        swap = spherical_swap(
            data.X, data.weights, data.row_scale, centers.astype(np.float64), rng,
            max_trials=max_trials, patience=patience, max_seconds=max_seconds,
            verbose=verbose, pool=pool, unit_exponent=unit_exponent,
        )  # fmt: skip
        swap.centers = swap.centers.astype(data.X.dtype)
        return swap

    def final_labels(self, data, centers, pool, out=None):
        labels, inertia = cosine.labels_inertia(
            data.X, centers, data.weights, data.row_scale, pool, out
        )
        return labels, inertia, None

    def labels_inertia(self, X, centers, weights, pool, out=None):
        """Labels and cosine objective of X (as validated) against unit centres."""
        X, row_scale = cosine.readable(X, pool)
        return cosine.labels_inertia(X, centers, weights, row_scale, pool, out)

    def predict(self, X, centers, pool):
        return self.labels_inertia(X, centers, None, pool)[0]

    def distances(self, X, centers, pool):
        X, row_scale = cosine.readable(X, pool)
        return cosine.distances(X, centers, row_scale, pool)

    def score(self, X, centers, sample_weight, pool) -> float:
        weights = check_sample_weight(sample_weight, X.shape[0], centers.dtype)
        return -self.labels_inertia(X, centers, weights, pool)[1]


COSINE_DENSE = CosineKind(DENSE)
COSINE_SPARSE = CosineKind(SPARSE)


def cosine_kind(kind):
    """The cosine twin of the data kind ``kind``: the ones here for data in
    memory, a kind's own ``cosine_twin`` for the others (Dask, array API); None
    for a kind without one."""
    if kind is DENSE:
        return COSINE_DENSE
    if kind is SPARSE:
        return COSINE_SPARSE
    return getattr(kind, "cosine_twin", None)
