"""The :class:`MiniBatchKMeans` estimator: k-means on random minibatches.

The step itself (assignment, update, reassignment) is :mod:`kmeans._core.minibatch`;
here are the estimator, its stopping rule and its bookkeeping.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ._backends.cosine import Spherical
from ._backends.memory import magnitude_exponent, scale_weights, scaled
from ._core import cosine
from ._core.blocks import centres_shift, thread_pool
from ._core.minibatch import DENSE_BATCH, SPARSE_BATCH, RowSampler, State
from ._estimator import _BaseKMeans
from ._exceptions import InvalidParameterError, warn
from ._validation import (
    check_array,
    check_centres_reach,
    check_random_state,
    check_sample_weight,
    is_sparse,
    validate_bool,
    validate_int,
    validate_real,
)

__all__ = ["MiniBatchKMeans"]


class _EarlyStop:
    """scikit-learn's stopping rule on the exponentially weighted average (EWA)
    of the mean batch inertia, and on the centres' movement when ``tol > 0``."""

    def __init__(self, n_samples, batch_size, tol, max_no_improvement, verbose, n_steps):
        self.alpha = min(2.0 * batch_size / (n_samples + 1), 1.0)
        self.batch_size = batch_size
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.verbose = verbose
        self.n_steps = n_steps
        self.ewa = None
        self.ewa_min = None
        self.no_improvement = 0
        self.last = None

    def __call__(self, step: int, batch_inertia: float, center_shift: float) -> bool:
        mean = batch_inertia / self.batch_size
        self.last = mean
        where = f"Minibatch step {step + 1}/{self.n_steps}"
        if step == 0:  # the inertia of the initial centres: not a result yet
            if self.verbose:
                print(f"{where}: mean batch inertia: {mean}")
            return False
        self.ewa = mean if self.ewa is None else self.ewa + self.alpha * (mean - self.ewa)
        if self.verbose:
            print(f"{where}: mean batch inertia: {mean}, ewa inertia: {self.ewa}")
        if self.tol > 0 and center_shift <= self.tol:
            if self.verbose:
                print(f"Converged (small centers change) at step {step + 1}/{self.n_steps}")
            return True
        if self.ewa_min is None or self.ewa < self.ewa_min:
            self.no_improvement = 0
            self.ewa_min = self.ewa
        else:
            self.no_improvement += 1
        if self.max_no_improvement is not None and (
            self.no_improvement >= self.max_no_improvement
        ):
            if self.verbose:
                print(
                    "Converged (lack of improvement in inertia) at step "
                    f"{step + 1}/{self.n_steps}"
                )
            return True
        return False


# -- the estimator ----------------------------------------------------------------


class MiniBatchKMeans(_BaseKMeans):
    """K-means on random minibatches: fast on large data, and on data larger than
    memory.

    Each step draws ``batch_size`` rows (with replacement, in proportion to their
    weights), assigns them to the nearest centres and moves each centre towards
    the mean of its rows by one over the weight it has seen so far. Only the
    drawn rows are read in a step, so that X may be a :class:`numpy.memmap` (or a
    ``.npy`` file opened with ``np.load(path, mmap_mode="r")``) larger than
    memory. The same parameters, attributes and semantics as scikit-learn's
    ``MiniBatchKMeans``; :meth:`partial_fit` learns from a stream of batches.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters and of centres.
    init : {"k-means++", "random"}, callable or array-like of shape \
            (n_clusters, n_features), default="k-means++"
        How to choose the initial centres, from ``init_size`` rows drawn at
        random: as in :class:`~kmeans.KMeans`.
    max_iter : int, default=100
        Passes over the data, counted in rows seen: ``fit`` makes at most
        ``max_iter * n_samples // batch_size`` steps.
    batch_size : int, default=1024
        Rows per minibatch.
    verbose : int, default=0
        Print the mean batch inertia of each step, and why the fit stopped.
    compute_labels : bool, default=True
        After ``fit``, label every sample and compute the exact inertia (one more
        pass over X, block by block); after :meth:`partial_fit`, those of the
        batch. With False, ``labels_`` is not set and ``inertia_`` is the smoothed
        batch inertia times the total weight.
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None, \
            default=None
        Source of randomness for the initialisation, the minibatches and the
        reassignments. The same value gives the same result, bit for bit,
        whatever the number of threads.
    tol : float, default=0.0
        Stop when the summed squared movement of the centres in one step is at
        most ``tol`` times the mean variance of the features (computed in two
        passes over X when tol > 0). 0 disables this test.
    max_no_improvement : int or None, default=10
        Stop after this many steps without a new minimum of the exponentially
        weighted average of the mean batch inertia (smoothing factor
        ``min(1, 2 * batch_size / (n_samples + 1))``). None disables this test.
    init_size : int or None, default=None
        Rows drawn (with replacement, in proportion to their weights) to choose
        the initial centres from, and as many to compare the ``n_init``
        initialisations on. None means ``3 * batch_size``, at least
        ``3 * n_clusters``, at most n_samples.
    n_init : "auto" or int, default="auto"
        Initialisations tried; the one with the lowest inertia on the comparison
        rows is kept. "auto" is 1 for "k-means++" or an array and 3 for "random"
        or a callable.
    reassignment_ratio : float, default=0.01
        Centres whose count is below this fraction of the largest count are moved
        onto rows of the minibatch (every ``10 * n_clusters`` rows seen), drawn
        as k-means++ draws seeds: with odds proportional to their squared
        distance to the nearest other centre. 0 never moves them (at the risk of
        empty clusters); larger values move more of them. Unlike scikit-learn's,
        a centre that has seen no rows yet is not moved before
        ``10 * n_clusters`` rows are seen, and the rows are not drawn uniformly
        (see Notes).
    metric : {"euclidean", "cosine"}, default="euclidean"
        "cosine": spherical k-means, as in :class:`~kmeans.KMeans`. Each step
        reads its minibatch's rows as unit vectors (divided in the batch's own
        buffer, X is never modified) and normalises the centres it moves, so
        ``cluster_centers_`` have unit norm; ``inertia_``, ``score`` and the
        batch inertia are ``sum w (1 - cos)``, ``transform`` gives ``1 - cos``.
        Every row of X is read once before the first step (its norm): a row of
        zeros raises a ValueError then, whatever its weight; ``partial_fit``
        reads each batch so. ``tol`` is then relative to the variance of the
        unit rows (one pass).

        .. versionadded:: 0.3

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centres, in X's float dtype (float32 stays float32).
    labels_ : ndarray of shape (n_samples,), dtype int32
        Nearest centre of each sample (of the last batch after
        :meth:`partial_fit`); only with ``compute_labels=True``.
    inertia_ : float
        Weighted sum of squared distances to the nearest centre
        (``metric="cosine"``: of ``1 - cos`` to the most similar one; see
        ``compute_labels``).
    n_iter_ : int
        Passes over the data made by ``fit``: ``ceil(n_steps_ * batch_size /
        n_samples)``.
    n_steps_ : int
        Minibatches processed (by ``fit``, or by all the :meth:`partial_fit`
        calls).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen in ``fit``, when X had string column names.

    See Also
    --------
    KMeans : Lloyd's algorithm on all the rows at every iteration.

    Notes
    -----
    A step costs O(batch_size * n_clusters * n_features) whatever n_samples; the
    memory beyond X and the labels is bounded by ``batch_size`` and
    ``init_size`` rows (X is read row by row, never copied whole). X must be
    float32 or float64 for a memory map to stay one: other types are converted
    (a copy in memory). Sparse CSR data are read in the same way (batches are CSR
    slices), without shifting.

    Weights: ``fit`` draws the minibatches in proportion to them and gives the
    drawn rows unit weight, so that integer weights act as repeated rows in
    expectation; :meth:`partial_fit` uses them directly, so that from the same
    initial centres a batch with integer weights gives the same centres as the
    batch with its rows repeated. ``inertia_`` and :meth:`score` are weighted.

    Reassignment differs from scikit-learn's in two ways, both to keep good
    centres in place: scikit-learn also reassigns as soon as some centre has
    seen no row yet, which at the first step with many clusters moves centres
    whose cluster merely missed the first batch; and it moves them onto rows
    drawn uniformly, most often into a cluster that already has a centre. On
    blobs with k = 256 (batch 1024, three passes, k-means++ start) its final
    inertia was 1.15-1.6x the full KMeans's; here 1.0009x.

    References
    ----------
    D. Sculley, "Web-scale k-means clustering", WWW 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans import MiniBatchKMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [4, 2], [4, 0], [4, 4],
    ...               [4, 5], [0, 1], [2, 2], [3, 2], [5, 5], [1, -1]])
    >>> km = MiniBatchKMeans(n_clusters=2, batch_size=6, random_state=0,
    ...                      max_iter=10, n_init="auto").fit(X)
    >>> km.cluster_centers_.shape, km.labels_.shape
    ((2, 2), (12,))
    >>> bool((km.predict(X) == km.labels_).all())
    True

    Streaming: one call of :meth:`partial_fit` per chunk; the first one
    initialises the centres.

    >>> init = np.array([[0.0, 0.0], [4.0, 4.0]])
    >>> km = MiniBatchKMeans(n_clusters=2, init=init)
    >>> km = km.partial_fit(X[:6]).partial_fit(X[6:])
    >>> km.n_steps_
    2
    >>> km.cluster_centers_.round(2)
    array([[1.5 , 0.67],
           [3.5 , 3.67]])
    """

    _default_n_init = 3

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: str | Callable | np.ndarray = "k-means++",
        max_iter: int = 100,
        batch_size: int = 1024,
        verbose: int = 0,
        compute_labels: bool = True,
        random_state=None,
        tol: float = 0.0,
        max_no_improvement: int | None = 10,
        init_size: int | None = None,
        n_init: str | int = "auto",
        reassignment_ratio: float = 0.01,
        metric: str = "euclidean",
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio
        self.metric = metric

    # -- parameters -----------------------------------------------------------

    def _validate_params(self) -> None:
        self._validate_common_params()
        owner = type(self).__name__
        validate_int(self.batch_size, "batch_size", owner, low=1)
        validate_bool(self.compute_labels, "compute_labels", owner)
        if self.max_no_improvement is not None:
            validate_int(self.max_no_improvement, "max_no_improvement", owner, low=0)
        if self.init_size is not None:
            validate_int(self.init_size, "init_size", owner, low=1)
        validate_real(self.reassignment_ratio, "reassignment_ratio", owner, low=0)
        if isinstance(self.init, str) and self.init == "k-means||":
            raise InvalidParameterError(
                f"The 'init' parameter of {owner} must be 'k-means++', 'random', a "
                "callable or an array-like: 'k-means||' is KMeans's initialisation "
                "for dask arrays."
            )

    def _sizes(self, n_samples: int) -> tuple[int, int]:
        """The batch size and init size for ``n_samples`` rows."""
        batch_size = min(self.batch_size, n_samples)
        init_size = self.init_size
        if init_size is None:
            init_size = max(3 * batch_size, 3 * self.n_clusters)
        elif init_size < self.n_clusters:
            warn(
                f"init_size={init_size} should be larger than "
                f"n_clusters={self.n_clusters}. Setting it to "
                "min(3*n_clusters, n_samples)",
                RuntimeWarning,
            )
            init_size = 3 * self.n_clusters
        return batch_size, min(init_size, n_samples)

    # -- fitting --------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None) -> MiniBatchKMeans:
        """Compute the centres on minibatches of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; a memory map is read one minibatch at a time. float32
            and float64 are kept; other numeric types are converted to float64.
            It is never modified.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Non-negative weights: the minibatches are drawn in proportion to
            them. None gives every sample weight 1.

        Returns
        -------
        self : MiniBatchKMeans
            The fitted estimator.
        """
        self._fit(X, sample_weight)
        return self

    def _initialise(self, X, weights, init, n_init, init_size, rng, pool):
        """The best of ``n_init`` initialisations, each on ``init_size`` rows
        drawn at random, judged on as many other drawn rows. Returns the centres
        (not shifted)."""
        n_samples = X.shape[0]
        kernels = self._data_kind(X)
        sampler = RowSampler(n_samples, weights)
        subsample = init_size < n_samples
        valid = None
        if n_init > 1:
            valid = X[sampler(rng, init_size)] if subsample else X
        best = best_inertia = None
        for run in range(n_init):
            if self.verbose:
                print(f"Init {run + 1}/{n_init} with method {self.init}")
            rows, row_weights = X, weights
            if subsample:
                # drawn in proportion to the weights, so each drawn row counts once
                rows, row_weights = X[sampler(rng, init_size)], None
            if self.metric == "cosine":
                centers = self._initial_unit_centers(rows, row_weights, init, rng, pool)
            else:
                shift = kernels.column_mean(rows, pool)
                centers = self._initial_centers(rows, shift, row_weights, init, rng, pool)
            if valid is None:
                return centers
            valid_weights = weights if not subsample else None
            inertia = kernels.labels_inertia(valid, centers, valid_weights, pool)[1]
            if self.verbose:
                print(f"Inertia for init {run + 1}/{n_init}: {inertia}")
            if best is None or inertia < best_inertia:
                best, best_inertia = centers, inertia
        return best

    def _initial_unit_centers(self, rows, weights, init, rng, pool):
        """Initial centres of unit norm for ``metric="cosine"``, from ``rows``."""
        kernels = self._data_kind(rows)
        if isinstance(init, str):
            data = Spherical(rows, weights, cosine.inverse_norms(rows, pool))
            zero = np.zeros(rows.shape[1], rows.dtype)
            return kernels.initial_centers(data, zero, init, self.n_clusters, rng, pool)
        return cosine.normalise(self._given_centers(rows, init, rng))

    def _fit(self, X, sample_weight):
        """Guts of fit; returns X as validated, for fit_transform."""
        self._validate_params()
        X, names = self._check_fit_data(X)
        n_samples, n_features = X.shape
        weights = check_sample_weight(sample_weight, n_samples, X.dtype)
        total_weight = n_samples if weights is None else weights.sum(dtype=np.float64)
        weights, weight_exponent = scale_weights(weights, X.dtype)
        init, n_init = self._check_init(
            n_features, X.dtype, weights, self._resolved_n_init()
        )
        batch_size, init_size = self._sizes(n_samples)
        rng = check_random_state(self.random_state)
        kernels = self._data_kind(X)
        unit = self.metric == "cosine"
        batch_kernels = SPARSE_BATCH if is_sparse(X) else DENSE_BATCH
        n_steps = self.max_iter * n_samples // batch_size
        # data of extreme magnitude are read scaled by 2**-scale (as in KMeans);
        # cosine fits, rows of extreme norm each by its own (cosine.readable)
        scale = 0 if unit else magnitude_exponent(X)
        validated, X, init = X, scaled(X, scale), _scaled_init(init, scale)

        with thread_pool() as pool:
            tol = 0.0
            if unit:  # every row read once: zero rows are refused before any step
                X, row_scale = cosine.readable(X, pool)
                if self.tol > 0:
                    tol = self.tol * cosine.unit_variance(X, row_scale, pool)
            elif self.tol > 0:
                mean = kernels.column_mean(X, pool)
                tol = self.tol * kernels.mean_variance(X, mean, pool)
            centers = self._initialise(X, weights, init, n_init, init_size, rng, pool)
            check_centres_reach(centers)
            shift = _working_shift(centers, X, unit)
            state = State(centers - shift, np.zeros(self.n_clusters), 0, unit=unit)
            sampler = RowSampler(n_samples, weights)
            stop = _EarlyStop(
                n_samples, batch_size, tol, self.max_no_improvement, self.verbose, n_steps
            )
            for step in range(n_steps):
                before = state.centers.copy() if tol > 0 else None
                inertia = state.step(
                    X, sampler(rng, batch_size), shift, None, batch_kernels, rng,
                    self.reassignment_ratio, pool,
                )  # fmt: skip
                shift_sq = 0.0
                if before is not None:
                    before -= state.centers
                    shift_sq = float(np.einsum("ij,ij->", before, before))
                if stop(step, inertia, shift_sq):
                    break
            centers = state.centers + shift
            self.cluster_centers_ = np.ldexp(centers, scale).astype(centers.dtype)
            self._shift = np.ldexp(shift, scale).astype(shift.dtype)
            self._counts = state.counts
            self._n_since_last_reassign = state.n_since_reassign
            self._screening = state.screening
            self.n_steps_ = step + 1
            self.n_iter_ = math.ceil(self.n_steps_ * batch_size / n_samples)
            if self.compute_labels:
                self.labels_, inertia = kernels.labels_inertia(X, centers, weights, pool)
                with np.errstate(over="ignore"):
                    self.inertia_ = float(np.ldexp(inertia, weight_exponent + 2 * scale))
            else:
                if hasattr(self, "labels_"):
                    del self.labels_
                mean_inertia = stop.ewa if stop.ewa is not None else stop.last
                with np.errstate(over="ignore"):
                    self.inertia_ = float(np.ldexp(mean_inertia * total_weight, 2 * scale))
        self._batch_size = batch_size
        self._init_size = init_size
        self._n_init = n_init
        if hasattr(self, "_rng"):
            del self._rng  # partial_fit after fit starts a new random stream
        self._set_input_features(n_features, names)
        return validated

    def partial_fit(self, X, y=None, sample_weight=None) -> MiniBatchKMeans:
        """Update the centres with one minibatch.

        The first call (on an unfitted model) checks the parameters and chooses
        the initial centres from this batch (``init_size`` of its rows at
        most); every call then makes one step with all the rows of X, weighted
        by ``sample_weight``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One minibatch. The first needs at least ``n_clusters`` rows.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Weights of the rows; None gives every row weight 1.

        Returns
        -------
        self : MiniBatchKMeans
            The updated estimator.
        """
        first = not hasattr(self, "cluster_centers_")
        if first:
            self._validate_params()
            X, names = self._check_fit_data(X)
        else:
            self._reject_dask(X)
            X = self._check_test_data(X)
        n_rows, n_features = X.shape
        dtype = X.dtype if first else self.cluster_centers_.dtype
        weights = check_sample_weight(sample_weight, n_rows, dtype)
        batch_kernels = SPARSE_BATCH if is_sparse(X) else DENSE_BATCH
        unit = self.metric == "cosine"
        # data of extreme magnitude are read scaled by 2**-scale (as in KMeans)
        scale = (
            0 if unit else magnitude_exponent(X, None if first else self.cluster_centers_)
        )
        X = scaled(X, scale)
        with thread_pool() as pool:
            if unit:
                X = cosine.readable(X, pool)[0]
            if first:
                init, _ = self._check_init(n_features, X.dtype, weights, 1)
                init = _scaled_init(init, scale)
                batch_size, init_size = self._sizes(n_rows)
                self._rng = check_random_state(self.random_state)
                centers = self._initialise(X, weights, init, 1, init_size, self._rng, pool)
                check_centres_reach(centers)
                shift = _working_shift(centers, X, unit)
                self._counts = np.zeros(self.n_clusters)
                self._n_since_last_reassign = 0
                self._batch_size, self._init_size, self._n_init = batch_size, init_size, 1
                self.n_steps_ = 0
                self._set_input_features(n_features, names)
            else:
                centers = scaled(self.cluster_centers_, scale)
                if not hasattr(self, "_rng"):
                    self._rng = check_random_state(self.random_state)
                shift = scaled(self._shift, scale) if not is_sparse(X) else 0 * self._shift
            state = State(
                (centers - shift).astype(dtype, copy=False),
                self._counts,
                self._n_since_last_reassign,
                self.n_steps_,
                getattr(self, "_screening", None),
                unit,
            )
            state.step(
                X, None, shift, weights, batch_kernels, self._rng,
                self.reassignment_ratio, pool,
            )  # fmt: skip
            centers = state.centers + shift
            self.cluster_centers_ = np.ldexp(centers, scale).astype(centers.dtype)
            if first:
                self._shift = np.ldexp(shift, scale).astype(shift.dtype)
            self._n_since_last_reassign = state.n_since_reassign
            self._screening = state.screening
            self.n_steps_ += 1
            if self.compute_labels:
                kernels = self._data_kind(X)
                self.labels_, inertia = kernels.labels_inertia(X, centers, weights, pool)
                with np.errstate(over="ignore"):
                    self.inertia_ = float(np.ldexp(inertia, 2 * scale))
        return self


def _scaled_init(init, scale: int):
    """An array or callable ``init`` for data divided by ``2**scale``."""
    if scale == 0 or isinstance(init, str):
        return init
    if callable(init):

        def scaled_call(X, k, random_state):
            # called with the rows as given (CSR too); what it returns is checked as
            # KMeans checks it before it is scaled
            centers = init(scaled(X, -scale), k, random_state=random_state)
            centers = check_array(
                centers, owner="MiniBatchKMeans", name="the centers returned by init"
            )
            return np.ldexp(centers, -scale)

        return scaled_call
    return np.ldexp(init, -scale).astype(init.dtype)


def _working_shift(centers: np.ndarray, X, unit: bool = False) -> np.ndarray:
    """The frame of the minibatch steps: that of the initial centres for dense
    data (:func:`~kmeans._core.blocks.centres_shift`: it depends on them alone,
    and exact ties of data on a coarse grid stay exact); no shift for sparse data
    nor for cosine steps (a shift changes the angles)."""
    if is_sparse(X) or unit:
        return np.zeros(centers.shape[1], centers.dtype)
    return centres_shift(centers)
