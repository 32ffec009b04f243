"""The public k-means++ seeding: validation, then :mod:`kmeans._core.init`."""

from __future__ import annotations

import numpy as np

from ._backends import is_array_api, kind_of
from ._core.blocks import rows_of, thread_pool
from ._core.init import kmeans_plusplus_indices
from ._validation import (
    check_array,
    check_enough_weighted_samples,
    check_random_state,
    validate_int,
)

__all__ = ["kmeans_plusplus"]


def kmeans_plusplus(
    X,
    n_clusters: int,
    *,
    sample_weight=None,
    x_squared_norms=None,
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
    x_squared_norms : array-like of shape (n_samples,), default=None
        Accepted for compatibility with scikit-learn's ``kmeans_plusplus`` and
        checked for its shape, but not used: the squared norms needed here are
        those of the rows centred on the data mean (for accuracy far from the
        origin), which are computed on the way.
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
    n_clusters = validate_int(n_clusters, "n_clusters", owner, low=1)
    if n_local_trials is not None:
        n_local_trials = validate_int(n_local_trials, "n_local_trials", owner, low=1)
    if is_array_api(X):  # computed on X's device (kmeans/_backends/array_api.py)
        return kind_of(X).kmeans_plusplus(
            X, n_clusters, sample_weight, random_state, n_local_trials, owner
        )
    X = check_array(X, owner=owner, accept_sparse=True)
    n_samples = X.shape[0]
    if n_samples < n_clusters:
        raise ValueError(f"n_samples={n_samples} should be >= n_clusters={n_clusters}.")
    if x_squared_norms is not None:
        norms = check_array(
            np.reshape(x_squared_norms, (-1, 1)), owner=owner, name="x_squared_norms"
        )
        if norms.shape[0] != n_samples:
            raise ValueError(
                f"The length of x_squared_norms ({norms.shape[0]}) should be equal "
                f"to the length of n_samples ({n_samples})."
            )
    kernels = kind_of(X)  # dense or CSR rows: a fit's frame, weights and scaling
    with thread_pool() as pool:
        data, shift = kernels.statistics(X, sample_weight, False, pool)[:2]
        check_enough_weighted_samples(data.weights, n_clusters)
        rng = check_random_state(random_state)
        indices = kmeans_plusplus_indices(
            data.X, shift, data.weights, n_clusters, rng, pool, n_local_trials
        )
    return rows_of(X, indices).copy(), indices
