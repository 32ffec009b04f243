"""The :class:`KMeans` estimator and the :func:`k_means` function."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable

import numpy as np

from ._base import BaseEstimator
from ._common import column_mean, distances, labels_inertia, mean_variance, thread_pool
from ._exceptions import ConvergenceWarning, InvalidParameterError
from ._initialization import INIT_METHODS, check_enough_weighted_samples
from ._lloyd import kmeans_single_lloyd
from ._swap import random_swap
from ._validation import (
    check_array,
    check_is_fitted,
    check_random_state,
    check_sample_weight,
    validate_int,
    validate_options,
    validate_real,
)

__all__ = ["KMeans", "k_means"]

_ALGORITHMS = {"lloyd": kmeans_single_lloyd}
_REFINE = {"swap"}
# Swap trials per cluster under refine_iter="auto": on the SIPU benchmark sets
# (k = 8 to 100) the last missing cluster was found after at most ~15 k trials.
_SWAP_TRIALS_PER_CLUSTER = 30


def _feature_names(X) -> np.ndarray | None:
    """Column names of a DataFrame-like X when they are all strings."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = np.asarray(list(columns), dtype=object)
    if names.size and all(isinstance(name, str) for name in names):
        return names
    return None


class KMeans(BaseEstimator):
    """K-means clustering by Lloyd's algorithm, vectorised with NumPy.

    Each iteration assigns every sample to its nearest centre (squared Euclidean
    distance, ``||x||^2 - 2 x.c + ||c||^2`` with the cross term a matrix product over
    bounded blocks of rows) and moves each centre to the weighted mean of its
    samples. The work is spread over threads; the result does not depend on
    their number.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters and of centres.
    init : {"k-means++", "random"}, callable or array-like of shape \
            (n_clusters, n_features), default="k-means++"
        How to choose the initial centres:

        - "k-means++": greedy k-means++, ``2 + int(ln(n_clusters))`` candidates
          per centre, sampled in proportion to weight times squared distance.
        - "random": ``n_clusters`` distinct samples, drawn in proportion to weight.
        - an array: the initial centres themselves.
        - a callable ``init(X, n_clusters, random_state)`` returning the centres;
          ``random_state`` is a :class:`numpy.random.Generator`.
    n_init : "auto" or int, default="auto"
        Number of runs from different initial centres; the run with the lowest
        inertia is kept. "auto" is 1 for "k-means++" or an array and 10 for
        "random" or a callable.
    max_iter : int, default=300
        Maximum number of iterations of one run.
    tol : float, default=1e-4
        A run stops when the summed squared movement of the centres in one
        iteration is at most ``tol`` times the mean variance of the features
        (scikit-learn's meaning). It always stops when no label changes.
    verbose : int, default=0
        Print each iteration's inertia and why the run stopped.
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None, \
            default=None
        Source of randomness for the initialisation. The same value gives the
        same result, bit for bit, whatever the number of threads.
    copy_x : bool, default=True
        Kept for compatibility with scikit-learn. X is never modified nor copied
        whatever its value: the data are centred block by block as they are read.
    algorithm : {"lloyd"}, default="lloyd"
        The k-means algorithm.
    refine : {None, "swap"}, default=None
        Global refinement of the best run, to escape the local optimum Lloyd's
        algorithm stops in:

        - None: none.
        - "swap": random swap (Fränti 2018). Each trial moves a random centre
          onto a random sample (drawn in proportion to its weight), runs two
          Lloyd iterations and keeps the change only if the inertia fell; a
          final Lloyd run then converges. Trials touch only the clusters near
          the swap, with the same result as full Lloyd iterations.

        .. versionadded:: 0.2
    refine_iter : int, "auto" or None, default="auto"
        Number of swap trials. "auto" is ``30 * n_clusters``. None means no
        limit on the number of trials: ``refine_time`` must then be set.
    refine_time : float or None, default=None
        Stop the trials after this many seconds, even if ``refine_iter`` trials
        were not done. The result then depends on the speed of the machine and
        its load: it is no longer reproducible bit for bit. None: no time limit.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centres, in X's float dtype (float32 stays float32).
    labels_ : ndarray of shape (n_samples,), dtype int32
        Index of the nearest centre of each training sample.
    inertia_ : float
        Weighted sum of squared distances of the samples to their nearest centre.
    n_iter_ : int
        Iterations of the kept run (with ``refine``: of the final Lloyd run).
    n_swap_trials_ : int
        Swap trials done; only with ``refine="swap"``.
    n_swaps_ : int
        Swap trials that lowered the inertia and were kept; only with
        ``refine="swap"``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen in ``fit``, when X had string column names.

    See Also
    --------
    k_means : The same as a function.
    kmeans_plusplus : The k-means++ initialisation alone.

    Notes
    -----
    One iteration costs O(n_samples * n_clusters * n_features) time. Besides X and
    the labels, memory is bounded by the block size, not by n_samples. X is
    centred (by its mean, block by block) before the distances are expanded, so
    data far from the origin lose no precision. ``labels_``, ``inertia_`` and
    ``predict`` all use the final centres: after the last update the samples
    are assigned once more.

    A swap trial costs about the number of samples in the clusters near the swap
    times ``n_clusters``, plus a few passes over the labels; the trials run in
    one thread.

    References
    ----------
    P. Fränti, "Efficiency of random swap clustering", Journal of Big Data 5:13,
    2018.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans import KMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> km.cluster_centers_[np.argsort(km.cluster_centers_[:, 0])]
    array([[ 1.,  2.],
           [10.,  2.]])
    >>> km.inertia_
    16.0
    >>> bool(km.predict([[0, 0], [12, 3]])[0] == km.labels_[0])
    True

    Random swap repairs a local optimum: two centres in one group, one
    centre for two groups.

    >>> X = np.array([[0, 0], [0, 1], [10, 0], [10, 1], [20, 0], [20, 1]])
    >>> stuck = np.array([[0, 0], [0, 1], [15, 0.5]])
    >>> KMeans(3, init=stuck).fit(X).inertia_
    101.0
    >>> KMeans(3, init=stuck, refine="swap", random_state=0).fit(X).inertia_
    1.5
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: str | Callable | np.ndarray = "k-means++",
        n_init: str | int = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        verbose: int = 0,
        random_state=None,
        copy_x: bool = True,
        algorithm: str = "lloyd",
        refine: str | None = None,
        refine_iter: int | str | None = "auto",
        refine_time: float | None = None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.refine = refine
        self.refine_iter = refine_iter
        self.refine_time = refine_time

    def __sklearn_tags__(self):
        """Tags that scikit-learn reads; it alone calls this, so it is installed."""
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        return Tags(
            estimator_type="clusterer",
            target_tags=TargetTags(required=False),
            transformer_tags=TransformerTags(),
            input_tags=InputTags(),
        )

    # -- parameters -----------------------------------------------------------

    def _validate_params(self) -> None:
        """Check the parameters that do not depend on the data."""
        owner = type(self).__name__
        validate_int(self.n_clusters, "n_clusters", owner, low=1)
        validate_int(self.max_iter, "max_iter", owner, low=1)
        validate_real(self.tol, "tol", owner, low=0)
        if not isinstance(self.verbose, numbers.Integral) or self.verbose < 0:
            raise InvalidParameterError(
                f"The 'verbose' parameter of {owner} must be an int in the range "
                f"[0, inf) or a bool. Got {self.verbose!r} instead."
            )
        if not isinstance(self.copy_x, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The 'copy_x' parameter of {owner} must be a bool. "
                f"Got {self.copy_x!r} instead."
            )
        validate_options(self.algorithm, "algorithm", owner, _ALGORITHMS)
        if self.refine is not None:
            validate_options(self.refine, "refine", owner, _REFINE)
        if isinstance(self.refine_iter, str):
            validate_options(self.refine_iter, "refine_iter", owner, {"auto"})
        elif self.refine_iter is not None:
            validate_int(self.refine_iter, "refine_iter", owner, low=0)
        if self.refine_time is not None:
            validate_real(self.refine_time, "refine_time", owner, low=0)
        elif self.refine_iter is None:
            raise InvalidParameterError(
                f"The 'refine_iter' parameter of {owner} may be None only when "
                "'refine_time' limits the refinement. Got refine_iter=None and "
                "refine_time=None instead."
            )
        if isinstance(self.n_init, str):
            validate_options(self.n_init, "n_init", owner, {"auto"})
        else:
            validate_int(self.n_init, "n_init", owner, low=1)
        if isinstance(self.init, str):
            validate_options(self.init, "init", owner, INIT_METHODS)
        elif not callable(self.init) and not hasattr(self.init, "__len__"):
            raise InvalidParameterError(
                f"The 'init' parameter of {owner} must be a str among "
                "{'k-means++', 'random'}, a callable or an array-like. "
                f"Got {self.init!r} instead."
            )

    def _resolved_n_init(self) -> int:
        if self.n_init == "auto":
            return (
                1
                if isinstance(self.init, str)
                and self.init == "k-means++"
                or (not isinstance(self.init, str) and not callable(self.init))
                else 10
            )
        return int(self.n_init)

    def _check_centers(self, centers, n_features: int, dtype, what: str) -> np.ndarray:
        centers = check_array(centers, owner=type(self).__name__, name=what)
        if centers.shape[0] != self.n_clusters:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not match the "
                f"number of clusters {self.n_clusters}."
            )
        if centers.shape[1] != n_features:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not match the "
                f"number of features of the data {n_features}."
            )
        return np.array(centers, dtype=dtype, order="C", copy=True)

    # -- data -----------------------------------------------------------------

    def _check_test_data(self, X) -> np.ndarray:
        check_is_fitted(self)
        names = _feature_names(X)
        fitted_names = getattr(self, "feature_names_in_", None)
        owner = type(self).__name__
        if fitted_names is not None and names is None:
            warnings.warn(
                f"X does not have valid feature names, but {owner} was fitted with "
                "feature names",
                UserWarning,
                stacklevel=3,
            )
        elif fitted_names is None and names is not None:
            warnings.warn(
                f"X has feature names, but {owner} was fitted without feature names",
                UserWarning,
                stacklevel=3,
            )
        elif names is not None and not np.array_equal(names, fitted_names):
            raise ValueError(
                "The feature names should match those that were passed during fit. "
                f"Fitted with {list(fitted_names)}, got {list(names)}."
            )
        X = check_array(X, owner=owner)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {owner} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return X

    # -- fitting --------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Compute the k-means clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. float32 and float64 are kept; other numeric types are
            converted to float64. It is never modified.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Non-negative weights of the samples; None gives every sample weight 1.

        Returns
        -------
        self : KMeans
            The fitted estimator.
        """
        self._validate_params()
        owner = type(self).__name__
        names = _feature_names(X)
        X = check_array(X, owner=owner)
        n_samples, n_features = X.shape
        if n_samples < self.n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}."
            )
        weights = check_sample_weight(sample_weight, n_samples, X.dtype)
        n_init = self._resolved_n_init()
        init = self.init
        if isinstance(init, str):
            check_enough_weighted_samples(weights, self.n_clusters)
        elif not callable(init):
            init = self._check_centers(init, n_features, X.dtype, "init")
            if n_init != 1:
                warnings.warn(
                    "Explicit initial center position passed: performing only one "
                    f"init in {owner} instead of n_init={n_init}.",
                    RuntimeWarning,
                    stacklevel=2,
                )
                n_init = 1
        rng = check_random_state(self.random_state)

        with thread_pool() as pool:
            shift = column_mean(X, pool)
            tol = self.tol * mean_variance(X, shift, pool) if self.tol > 0 else 0.0
            best = None
            labels = np.empty(n_samples, np.int32)
            for run in range(n_init):
                centers = self._initial_centers(X, shift, weights, init, rng, pool)
                if self.verbose:
                    print(f"Initialization complete (run {run + 1} of {n_init}).")
                fitted = self._run(X, shift, weights, centers, tol, pool, labels)
                if best is None or fitted[2] < best[2]:
                    # keep the best run's labels; the next run writes the other array
                    spare = best[1] if best is not None else np.empty_like(labels)
                    best = fitted
                    labels = spare
            if self.refine == "swap":
                best, swap = self._refine_swap(
                    X, shift, weights, tol, best, labels, rng, pool
                )

        centers, labels, inertia, n_iter = best
        n_distinct = np.unique(labels).size
        if n_distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than "
                f"n_clusters ({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.cluster_centers_ = centers
        self.labels_ = labels
        self.inertia_ = float(inertia)
        self.n_iter_ = int(n_iter)
        for name in ("n_swap_trials_", "n_swaps_"):
            if hasattr(self, name):
                delattr(self, name)
        if self.refine == "swap":
            self.n_swap_trials_, self.n_swaps_ = swap.n_trials, swap.n_accepted
        self.n_features_in_ = n_features
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def _refine_swap(self, X, shift, weights, tol, best, labels, rng, pool):
        """Random swap from the best run, then a Lloyd run to convergence.

        Returns the better of the refined and the original solution (refining
        only lowers the inertia, but rounding could say otherwise) and the swap
        statistics. ``labels`` is a spare buffer.
        """
        n_trials = self.refine_iter
        if n_trials == "auto":
            n_trials = _SWAP_TRIALS_PER_CLUSTER * self.n_clusters
        if self.n_clusters == 1:
            n_trials = 0  # nothing to swap
        swap = random_swap(
            X,
            shift,
            weights,
            best[0] - shift,
            rng,
            max_trials=n_trials,
            max_seconds=self.refine_time,
            max_iter=self.max_iter,
            verbose=self.verbose,
            pool=pool,
        )
        run = self._run(X, shift, weights, swap.centers, tol, pool, labels)
        return (run if run[2] <= best[2] else best), swap

    def _run(self, X, shift, weights, centers, tol, pool, labels):
        """One run of the algorithm from ``centers`` (shifted frame), then the
        final labels (written into ``labels``) and exact inertia.
        Returns (centres, labels, inertia, n_iter)."""
        result = _ALGORITHMS[self.algorithm](
            X,
            shift,
            weights,
            centers,
            max_iter=self.max_iter,
            tol=tol,
            verbose=self.verbose,
            pool=pool,
        )
        centers = result.centers + shift
        labels, inertia = labels_inertia(X, centers, weights, pool, labels)
        return centers, labels, inertia, result.n_iter

    def _initial_centers(self, X, shift, weights, init, rng, pool) -> np.ndarray:
        """Initial centres of one run, in the frame shifted by ``shift``."""
        if isinstance(init, str):
            indices = INIT_METHODS[init](X, shift, weights, self.n_clusters, rng, pool)
            return X[indices] - shift
        if callable(init):
            centers = self._check_centers(
                init(X, self.n_clusters, random_state=rng),
                X.shape[1],
                X.dtype,
                "the centers returned by init",
            )
            return centers - shift
        return init - shift

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then return the label of each training sample (``labels_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Weights of the samples.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int32
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then return the distances of the training samples to the centres.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Weights of the samples.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
        """
        self.fit(X, sample_weight=sample_weight)
        return self._transform(check_array(X, owner=type(self).__name__))

    # -- using the fitted model ------------------------------------------------

    def predict(self, X) -> np.ndarray:
        """Index of the nearest centre of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int32
        """
        X = self._check_test_data(X)
        with thread_pool() as pool:
            return labels_inertia(X, self.cluster_centers_, None, pool)[0]

    def transform(self, X) -> np.ndarray:
        """Euclidean distance of each sample to each centre.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
            In the dtype of ``cluster_centers_``.
        """
        return self._transform(self._check_test_data(X))

    def _transform(self, X: np.ndarray) -> np.ndarray:
        """Guts of transform; X is validated."""
        with thread_pool() as pool:
            return distances(X, self.cluster_centers_, pool)

    def score(self, X, y=None, sample_weight=None) -> float:
        """Opposite of the weighted inertia of X with respect to the centres.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Weights of the samples.

        Returns
        -------
        score : float
            Minus the sum of weighted squared distances to the nearest centre.
        """
        X = self._check_test_data(X)
        weights = check_sample_weight(
            sample_weight, X.shape[0], self.cluster_centers_.dtype
        )
        with thread_pool() as pool:
            return -labels_inertia(X, self.cluster_centers_, weights, pool)[1]


def k_means(
    X,
    n_clusters: int,
    *,
    sample_weight=None,
    init="k-means++",
    n_init="auto",
    max_iter: int = 300,
    verbose: int = 0,
    tol: float = 1e-4,
    random_state=None,
    copy_x: bool = True,
    algorithm: str = "lloyd",
    refine: str | None = None,
    refine_iter: int | str | None = "auto",
    refine_time: float | None = None,
    return_n_iter: bool = False,
):
    """K-means clustering as a function; see :class:`KMeans` for the parameters.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        The centres.
    labels : ndarray of shape (n_samples,), dtype int32
        Index of the nearest centre of each sample.
    inertia : float
        Weighted sum of squared distances to the nearest centre.
    n_iter : int
        Iterations of the kept run; returned only when ``return_n_iter`` is True.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans import k_means
    >>> X = np.array([[0.0], [1.0], [10.0], [11.0]])
    >>> centers, labels, inertia = k_means(X, 2, init=np.array([[0.0], [10.0]]))
    >>> centers.ravel().tolist(), labels.tolist(), inertia
    ([0.5, 10.5], [0, 0, 1, 1], 1.0)
    """
    est = KMeans(
        n_clusters=n_clusters,
        init=init,
        n_init=n_init,
        max_iter=max_iter,
        verbose=verbose,
        tol=tol,
        random_state=random_state,
        copy_x=copy_x,
        algorithm=algorithm,
        refine=refine,
        refine_iter=refine_iter,
        refine_time=refine_time,
    ).fit(X, sample_weight=sample_weight)
    if return_n_iter:
        return est.cluster_centers_, est.labels_, est.inertia_, est.n_iter_
    return est.cluster_centers_, est.labels_, est.inertia_
