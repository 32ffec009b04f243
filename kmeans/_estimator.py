"""The :class:`KMeans` estimator and the :func:`k_means` function."""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

from ._backends import array_library, is_array_api, kind_of, to_host
from ._backends.cosine import cosine_kind
from ._backends.memory import DENSE, weight_exponent
from ._base import NotebookReprMixin
from ._compat import BaseEstimator, ClusterMixin, ConvergenceWarning, TransformerMixin
from ._core import cosine
from ._core.kernel import by_columns
from ._core.swap import random_swap
from ._exceptions import InvalidParameterError, warn
from ._persistence import save as _save
from ._progress import FitMonitor, IterationInfo
from ._validation import (
    check_array,
    check_centres_reach,
    check_enough_weighted_samples,
    check_is_fitted,
    check_random_state,
    is_dask_array,
    validate_bool,
    validate_int,
    validate_options,
    validate_real,
)

__all__ = ["KMeans", "k_means"]


def _host_dtype(kernels, X):
    """The NumPy dtype of X's values (a device array's too)."""
    return kernels.host_dtype(X) if hasattr(kernels, "host_dtype") else X.dtype


def _warn_if_fewer_clusters(n_distinct: int, n_clusters: int) -> None:
    if n_distinct < n_clusters:
        warn(
            f"Number of distinct clusters ({n_distinct}) found smaller than "
            f"n_clusters ({n_clusters}). Possibly due to duplicate points in X.",
            ConvergenceWarning,
        )


def _auto_algorithm(n_clusters: int, n_features: int) -> str:
    """The faster of Lloyd and Hamerly, by a rule measured to convergence.

    Hamerly's bounds cost a few passes over per-row arrays each iteration, and
    their first pass costs more than Lloyd's (it also finds each row's runner-up
    centre); they save, for each row they settle, a row of k distances. With few
    centres the runner-up is too close for its bound to settle many rows, and a
    row of distances is cheap; in the column layout (``kernel.by_columns``: up to
    8 features and 24 centres) a Lloyd pass is cheap enough that the bounds do not
    pay reliably. Time of Hamerly over Lloyd's, one thread, 100,000 to 1,000,000
    rows, Gaussian blobs and noise, k-means++ or random-row starts (median of 3
    alternating runs; benchmarks: the to-convergence suite):

    - k <= 12: 0.95-1.55 (d = 2 to 128; 1.42-1.49 on noise at d = 64, 128);
    - k = 16: 0.83-1.09 (d = 2 to 8);
    - k = 20 to 24 in the column layout: 0.74-1.26 (d = 2 to 6; 200,000 x 3,
      k = 20 blobs: 0.95 from k-means++, 1.26 from random rows);
    - k >= 20 otherwise: 0.72-0.94 (d = 2 to 64, k = 25 to 256; 0.34-0.41 on
      B2 and B3 from random rows), but 1.07 for 2-D blobs, k = 32, from random
      rows.

    Elkan's n x k bounds cost more than they save in every shape measured
    (2.1x Hamerly's time at d = 64, k = 256): never chosen.
    """
    if n_clusters >= 20 and not by_columns(n_features, n_clusters):
        return "hamerly"
    return "lloyd"


REFINE = {"swap"}
# Swap trials per cluster under refine_iter="auto": on the SIPU benchmark sets
# (k = 8 to 100, 20 seeds, 10 on Birch) the last missing cluster was found by
# trial 3.6 k at most (A3; Birch1 3.0 k), and by ~1 k on average.
_SWAP_TRIALS_PER_CLUSTER = 6
# Cosine swap trials are aimed (best estimate first): under refine_iter="auto"
# they stop once this many per cluster were rejected in a row. On the vMF
# mixtures of benchmarks/cosine.py (k = 10-50, 5 seeds) 0.3 to 3 gave the same
# objectives to 0.1%; on tests/test_cosine.py's noisy directions (k = 12, 12
# seeds) 0.5 left 7 true directions without a centre, 1 and 2 five (as many as
# 72 random trials did), 3 four, no limit (72 aimed trials) three.
_COSINE_SWAP_PATIENCE_PER_CLUSTER = 1

_HTML_MAX_SIZES = 20  # cluster sizes listed in the notebook repr

METRICS = ("euclidean", "cosine")


def _feature_names(X) -> np.ndarray | None:
    """Column names of a DataFrame-like X when they are all strings, as scikit-learn
    reads them: None for other names, TypeError for a mix of strings and others."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = np.asarray(list(columns), dtype=object)
    kinds = {type(name) is str for name in names}
    if kinds == {True}:
        return names
    if kinds == {True, False}:
        found = sorted({type(name).__qualname__ for name in names})
        raise TypeError(
            "Feature names are only supported if all input features have string "
            f"names, but your input has {found} as feature name / column name types. "
            "Convert them all to strings (X.columns = X.columns.astype(str)) to have "
            "them stored and checked, or all to another type to have them ignored."
        )
    return None


def _feature_names_mismatch(fitted: np.ndarray, given: np.ndarray) -> str:
    """scikit-learn's message for column names that differ from those seen in fit."""
    message = "The feature names should match those that were passed during fit.\n"
    unseen = sorted(set(given) - set(fitted))
    missing = sorted(set(fitted) - set(given))
    for title, names in (
        ("Feature names unseen at fit time:", unseen),
        ("Feature names seen at fit time, yet now missing:", missing),
    ):
        if names:
            listed = [f"- {name}" for name in names[:5]] + ["- ..."] * (len(names) > 5)
            message += title + "\n" + "\n".join(listed) + "\n"
    if not unseen and not missing:
        message += "Feature names must be in the same order as they were in fit.\n"
    return message


class _BaseKMeans(ClusterMixin, TransformerMixin, NotebookReprMixin, BaseEstimator):
    """What :class:`KMeans` and :class:`~kmeans.MiniBatchKMeans` share: the
    parameters and checks common to both, and everything a fitted model does
    (``predict``, ``transform``, ``score``, feature names, ``save``), which goes
    through the same block kernels for both.

    Subclasses define ``__init__``, ``_fit(X, sample_weight)`` (returning X as
    validated) and ``_default_n_init`` (the runs of ``n_init="auto"`` for
    "random" or a callable init).
    """

    _default_n_init = 10

    def __sklearn_tags__(self):
        """Tags that scikit-learn reads: a clusterer and transformer (from the
        mixins) that accepts sparse input and keeps float32."""
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # -- parameters -----------------------------------------------------------

    def _validate_common_params(self) -> None:
        """Check the parameters both estimators have (not the data)."""
        owner = type(self).__name__
        validate_int(self.n_clusters, "n_clusters", owner, low=1)
        validate_int(self.max_iter, "max_iter", owner, low=1)
        validate_real(self.tol, "tol", owner, low=0)
        validate_options(self.metric, "metric", owner, set(METRICS))
        if not isinstance(self.verbose, numbers.Integral) or self.verbose < 0:
            raise InvalidParameterError(
                f"The 'verbose' parameter of {owner} must be an int in the range "
                f"[0, inf) or a bool. Got {self.verbose!r} instead."
            )
        if isinstance(self.n_init, str):
            validate_options(self.n_init, "n_init", owner, {"auto"})
        else:
            validate_int(self.n_init, "n_init", owner, low=1)
        if isinstance(self.init, str):
            validate_options(self.init, "init", owner, {*DENSE.init_methods, "k-means||"})
        elif not (
            callable(self.init) or hasattr(self.init, "__len__") or is_array_api(self.init)
        ):
            raise InvalidParameterError(
                f"The 'init' parameter of {owner} must be a str among "
                "{'k-means++', 'k-means||', 'random'}, a callable or an array-like. "
                f"Got {self.init!r} instead."
            )

    def _data_kind(self, X):
        """The data kind that reads X for this estimator's metric (see
        :mod:`kmeans._backends`; cosine: :mod:`kmeans._backends.cosine`)."""
        kernels = kind_of(X)
        if getattr(self, "metric", "euclidean") != "cosine":
            return kernels
        spherical = cosine_kind(kernels)
        if spherical is None:  # every kind has one; a new kind must say so
            raise TypeError(
                f"metric='cosine' does not accept {kernels.description} yet: pass "
                "NumPy data, or use metric='euclidean'."
            )
        return spherical

    def _resolved_n_init(self) -> int:
        if self.n_init == "auto":
            return (
                1
                if isinstance(self.init, str)
                and self.init in ("k-means++", "k-means||")
                or (not isinstance(self.init, str) and not callable(self.init))
                else self._default_n_init
            )
        return int(self.n_init)

    def _check_init(self, n_features: int, dtype, weights, n_init: int, kernels=None):
        """The init parameter checked against the data (of kind ``kernels``), and
        the number of runs (one for an array, with a RuntimeWarning if more were
        asked)."""
        init = self.init
        if isinstance(init, str):
            if init not in (kernels or DENSE).init_methods:
                raise ValueError(
                    f"init={init!r} is for dask arrays; for data in memory use "
                    "init='k-means++', of which it is the form for clusters."
                )
            check_enough_weighted_samples(weights, self.n_clusters)
        return self._explicit_init(init, n_init, n_features, dtype, kernels)

    def _explicit_init(self, init, n_init: int, n_features: int, dtype, kernels=None):
        """An array ``init`` validated, and one run only for it (with a warning
        when more were asked for); other kinds of ``init`` as they are."""
        if isinstance(init, str) or callable(init):
            return init, n_init
        init = self._check_centers(init, n_features, dtype, "init", kernels)
        if n_init != 1:
            warn(
                "Explicit initial center position passed: performing only one "
                f"init in {type(self).__name__} instead of n_init={n_init}.",
                RuntimeWarning,
            )
        return init, 1

    def _check_centers(
        self, centers, n_features: int, dtype, what: str, kernels=None
    ) -> np.ndarray:
        if hasattr(kernels, "to_host"):  # device arrays: the fit keeps centres on host
            centers = kernels.to_host(centers, what)
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
        if getattr(self, "metric", "euclidean") == "cosine":
            # directions only: each row brought near norm 1 by a power of two
            # (exact) before the cast to X's dtype, which could overflow it
            exponents = cosine.norm_exponents(cosine.row_norms(centers, None))
            centers = cosine.per_row_scaled(centers, exponents)
        return np.array(centers, dtype=dtype, order="C", copy=True)

    def _initial_centers(self, X, shift, weights, init, rng, pool) -> np.ndarray:
        """Initial centres of one run (k-means++ computes its distances in the
        frame shifted by ``shift``; the centres returned are not shifted)."""
        if isinstance(init, str):
            kernels = kind_of(X)
            indices = kernels.init_methods[init](
                X, shift, weights, self.n_clusters, rng, pool
            )
            return kernels.rows(X, indices)
        return self._given_centers(X, init, rng)

    def _given_centers(self, X, init, rng, kernels=None) -> np.ndarray:
        """The initial centres of a callable or array ``init`` (not shifted)."""
        if callable(init):
            return self._check_centers(
                init(X, self.n_clusters, random_state=rng),
                X.shape[1],
                _host_dtype(kernels, X),
                "the centers returned by init",
                kernels,
            )
        return init

    # -- data -----------------------------------------------------------------

    def _check_fit_data(self, X, kernels=None):
        """X of ``fit`` validated, with its column names (or None); at least
        ``n_clusters`` samples. ``kernels``: X's data kind; None for an estimator
        that takes data in memory only."""
        names = _feature_names(X)
        if kernels is None:
            self._reject_dask(X)
            kernels = DENSE
        X = kernels.check(X, owner=type(self).__name__)
        if X.shape[0] < self.n_clusters:
            raise ValueError(
                f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}."
            )
        return X, names

    def _reject_dask(self, X) -> None:
        """Dask and device arrays are fitted by KMeans only (see
        kmeans/_backends/)."""
        if is_array_api(X):
            raise TypeError(
                f"{type(self).__name__} does not take {array_library(X)} "
                "arrays yet: KMeans fits them on their device, or pass a NumPy array."
            )
        if is_dask_array(X):
            raise TypeError(
                f"{type(self).__name__} does not take dask arrays: KMeans fits them "
                "on the cluster, or pass X.compute() for data that fit in memory."
            )

    def _set_input_features(self, n_features: int, names) -> None:
        self.n_features_in_ = n_features
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self._fitted_metric = getattr(self, "metric", "euclidean")

    def _check_fitted_metric(self) -> None:
        """The centres were fitted for the metric the model has now: set_params
        changes a parameter, not the fitted centres (unit vectors for cosine)."""
        fitted = getattr(self, "_fitted_metric", None)
        metric = getattr(self, "metric", "euclidean")
        if fitted is not None and fitted != metric:
            raise ValueError(
                f"This {type(self).__name__} was fitted with metric={fitted!r}, but "
                f"its metric is now {metric!r}: fit it again, or set metric back."
            )

    def _check_test_data(self, X) -> np.ndarray:
        check_is_fitted(self)
        self._check_fitted_metric()
        names = _feature_names(X)
        fitted_names = getattr(self, "feature_names_in_", None)
        owner = type(self).__name__
        if fitted_names is not None and names is None:
            warn(
                f"X does not have valid feature names, but {owner} was fitted with "
                "feature names",
                UserWarning,
            )
        elif fitted_names is None and names is not None:
            warn(
                f"X has feature names, but {owner} was fitted without feature names",
                UserWarning,
            )
        elif names is not None and (
            len(names) != len(fitted_names) or np.any(names != fitted_names)
        ):
            raise ValueError(_feature_names_mismatch(fitted_names, names))
        X = kind_of(X).check(X, owner=owner)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {owner} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return X

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then return the label of each training sample (``labels_``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
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
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Weights of the samples.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
        """
        return self._transform(self._fit(X, sample_weight))

    def _centers_for(self, kernels):
        """The centres for data of kind ``kernels``: a model fitted on a device
        predicts NumPy data on the host (dispatch follows the input)."""
        if hasattr(kernels, "from_host"):
            return self.cluster_centers_
        return to_host(self.cluster_centers_)

    def _fitted_summary(self) -> list[tuple[str, str]]:
        if not hasattr(self, "cluster_centers_"):
            return []
        rows = [("clusters", str(self.n_clusters))]
        if hasattr(self, "labels_"):  # not after MiniBatchKMeans(compute_labels=False)
            sizes = np.bincount(to_host(self.labels_), minlength=self.n_clusters)
            shown = ", ".join(str(size) for size in sizes[:_HTML_MAX_SIZES])
            if sizes.size > _HTML_MAX_SIZES:
                shown += f", ... (smallest {sizes.min()}, largest {sizes.max()})"
            rows.append(("sizes", shown))
        if hasattr(self, "inertia_"):
            rows.append(("inertia", f"{self.inertia_:.6g}"))
        for name, attribute in (("iterations", "n_iter_"), ("steps", "n_steps_")):
            if hasattr(self, attribute):
                rows.append((name, str(getattr(self, attribute))))
        rows.append(("features", str(self.n_features_in_)))
        return rows

    # -- saving ----------------------------------------------------------------

    def save(self, path) -> None:
        """Save the model to a file that cannot run code when it is loaded.

        The file is an ``.npz`` archive of plain arrays (centres, labels, the
        an array ``init``) and JSON text (format version, library
        version, parameters, inertia, ...), read back by :func:`kmeans.load` with
        ``allow_pickle=False``. An existing file is replaced, atomically.
        Parameters that no such file can hold (a callable ``init`` or
        ``callback``, a Generator ``random_state``) are left out with a warning;
        the loaded model has their defaults. Pickling works too, but loading a
        pickle can run code: share the ``.npz``.

        Parameters
        ----------
        path : str or path-like
            Where to write; used as given (no suffix is added).

        See Also
        --------
        kmeans.load : Read the model back.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> from kmeans import KMeans, load
        >>> X = np.array([[1.0, 2.0], [1.0, 4.0], [10.0, 2.0], [10.0, 4.0]])
        >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> km.save(path)
        >>> bool(np.array_equal(load(path).cluster_centers_, km.cluster_centers_))
        True
        """
        self._check_fitted_metric()
        _save(self, path)

    # -- using the fitted model ------------------------------------------------

    def predict(self, X) -> np.ndarray:
        """Index of the nearest centre of each sample (with ``metric="cosine"``:
        of highest cosine similarity).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            New data.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int32
            A lazy dask array when X is one.
        """
        X = self._check_test_data(X)
        kernels = self._data_kind(X)
        with kernels.session() as pool:
            return kernels.predict(X, self._centers_for(kernels), pool)

    def transform(self, X) -> np.ndarray:
        """Distance of each sample to each centre: Euclidean, or with
        ``metric="cosine"`` the cosine dissimilarity ``1 - cos``, in [0, 2].

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            New data.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
            In the dtype of ``cluster_centers_``; a lazy dask array when X is one.
        """
        return self._transform(self._check_test_data(X))

    def _transform(self, X: np.ndarray) -> np.ndarray:
        """Guts of transform; X is validated."""
        kernels = self._data_kind(X)
        with kernels.session() as pool:
            return kernels.distances(X, self._centers_for(kernels), pool)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the columns of :meth:`transform`'s output.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked: it must equal ``feature_names_in_`` when that exists,
            and have ``n_features_in_`` entries.

        Returns
        -------
        names : ndarray of str objects, shape (n_clusters,)
            ``"kmeans0"``, ``"kmeans1"``, ...: the class name in lower case and
            the index of the centre, as scikit-learn names them.
        """
        check_is_fitted(self)
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            fitted_names = getattr(self, "feature_names_in_", None)
            if fitted_names is not None and not np.array_equal(
                fitted_names, input_features
            ):
                raise ValueError("input_features is not equal to feature_names_in_")
            if len(input_features) != self.n_features_in_:
                raise ValueError(
                    "input_features should have length equal to number of features "
                    f"({self.n_features_in_}), got {len(input_features)}"
                )
        prefix = type(self).__name__.lower()
        n_centers = self.cluster_centers_.shape[0]
        return np.asarray([f"{prefix}{i}" for i in range(n_centers)], dtype=object)

    def score(self, X, y=None, sample_weight=None) -> float:
        """Opposite of the weighted inertia of X with respect to the centres.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            New data.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Weights of the samples.

        Returns
        -------
        score : float
            Minus the sum of weighted squared distances to the nearest centre;
            with ``metric="cosine"``, minus ``sum w (1 - cos)`` to the most
            similar centre.
        """
        X = self._check_test_data(X)
        kernels = self._data_kind(X)
        with kernels.session() as pool:
            return kernels.score(X, self._centers_for(kernels), sample_weight, pool)


class KMeans(_BaseKMeans):
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
    init : {"k-means++", "k-means||", "random"}, callable or array-like of shape \
            (n_clusters, n_features), default="k-means++"
        How to choose the initial centres:

        - "k-means++": greedy k-means++, ``2 + int(ln(n_clusters))`` candidates
          per centre, sampled in proportion to weight times squared distance.
          For a dask array, its scalable form "k-means||".
        - "k-means||": dask arrays only; see :func:`~kmeans.kmeans_parallel`
          (5 rounds, ``2 * n_clusters`` candidates per round).
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
        Report progress. 1 shows a progress bar over the runs, with the current
        iteration and inertia, when tqdm is installed (in a terminal or a
        notebook), and otherwise prints a line per iteration and why each run
        stopped; 2 or more always prints the lines.
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None, \
            default=None
        Source of randomness for the initialisation. The same value gives the
        same result, bit for bit, whatever the number of threads.
    copy_x : bool, default=True
        Kept for compatibility with scikit-learn. X is never modified nor copied
        whatever its value: the data are centred block by block as they are read.
    algorithm : {"auto", "lloyd", "elkan", "hamerly"}, default="auto"
        How each iteration assigns the samples; all give Lloyd's result:

        - "auto": "hamerly" from 20 clusters on, where its bounds pay for
          themselves (measured), but for narrow data with up to 24 clusters
          (at most 8 features), whose Lloyd passes are cheapest; "lloyd"
          otherwise.
        - "lloyd": every distance, every iteration.
        - "hamerly": keeps for each sample an upper bound on the distance to its
          centre and a lower bound on the distance to any other, loosened as the
          centres move; only samples whose bounds fail are reassigned. Memory: two
          floats per sample. Where the bounds would spare few samples (data
          without clusters, or centres still moving far), the passes are Lloyd's
          until a probe of up to 1,024 samples says that fresh bounds would pay.
        - "elkan": also one lower bound per sample and centre (n_samples x
          n_clusters floats), read for the samples Hamerly's bounds leave: it
          recomputes fewer samples, but its bounds cost more than that saves in
          every shape measured, so "auto" never chooses it.

        From the same initial centres the pruned algorithms reach the same labels,
        centres and ``n_iter_`` as "lloyd" in float64. In float32 a sample
        equidistant from two centres to within rounding may go either way.
        Sparse data are clustered by "lloyd" only: "auto" chooses it, and "elkan"
        or "hamerly" fall back to it with a RuntimeWarning (the result is the
        same).
    callback : callable or None, default=None
        Called after each iteration as ``callback(info)`` with an
        :class:`~kmeans.IterationInfo` (run, iteration, inertia, centre shift and
        number of reassigned samples). When it returns True the fit stops: no
        further iteration or run. The result is still consistent: the samples are
        assigned to the last centres, so ``labels_``, ``cluster_centers_``,
        ``inertia_`` and ``predict`` agree. Not saved by :meth:`save`.
    refine : {None, "swap"}, default=None
        Global refinement of the best run, to escape the local optimum Lloyd's
        algorithm stops in:

        - None: none.
        - "swap": random swap (Fränti 2018). Each trial moves a random centre
          onto a random sample, runs two Lloyd iterations and keeps the change
          only if the inertia fell; a final Lloyd run then converges. The
          centre is drawn with odds inversely proportional to the cost of
          merging its cluster into the nearest one (Ward's cost), the sample
          with odds proportional to its weight times its squared distance to
          the nearest centre (as in k-means++): a centre that shares a true
          cluster with another is moved into a region that lacks one far
          more often than by uniform draws. Trials touch only the clusters
          near the swap (on small data, n_samples * (n_clusters +
          n_features) <= 2**18, whole-array iterations cost less and are used),
          with the same result as full Lloyd iterations. With
          ``metric="cosine"`` a trial swaps clusters rather than rows (a single
          row is a poor centre on the sphere in high dimensions): the removed
          centre's cluster goes to the most similar other centres, and another
          cluster is split in two along its principal direction; the trial is
          kept if the objective fell. These trials are aimed, not drawn: the
          pair whose merge and split would lower the objective most with no
          row moving is tried first (see :mod:`kmeans._core.cosine_swap`).

        .. versionadded:: 0.2
    refine_iter : int, "auto" or None, default="auto"
        Number of swap trials. "auto" is ``6 * n_clusters``; with
        ``metric="cosine"`` it also stops the trials once ``n_clusters`` of
        them in a row were rejected (an explicit number has no such stop;
        cosine trials end anyway once every pair of centres was tried since
        the last kept one). None means no limit on the number of trials:
        ``refine_time`` must then be set.
    refine_time : float or None, default=None
        Stop the trials after this many seconds, even if ``refine_iter`` trials
        were not done. The result then depends on the speed of the machine and
        its load: it is no longer reproducible bit for bit. None: no time limit.
    metric : {"euclidean", "cosine"}, default="euclidean"
        The dissimilarity the clusters minimise:

        - "euclidean": squared Euclidean distance (k-means).
        - "cosine": ``1 - cos(x, c)``, spherical k-means (Dhillon & Modha
          2001), for embeddings and TF-IDF rows: each sample goes to the centre
          of highest cosine similarity and each centre is the normalised
          weighted mean of its samples' unit vectors, so ``cluster_centers_``
          have unit norm. Only directions matter: scaling a row by a positive
          number changes nothing. X is neither normalised nor copied (the
          rows' norms are computed once per fit); rows of zeros raise a
          ValueError, as they have no direction. ``inertia_`` and ``score``
          are the cosine objective ``sum w (1 - cos)``, ``transform`` gives
          ``1 - cos`` and "k-means++" draws by the squared chord distance
          ``2 - 2 cos`` (the Euclidean one between unit vectors). ``tol`` is
          relative to the variance of the unit rows. The data are not centred
          (a shift changes angles); the algorithm is "lloyd" (Hamerly's and
          Elkan's bounds are Euclidean: asked for, they fall back to it with a
          RuntimeWarning); ``refine="swap"`` splits and merges clusters (see
          ``refine``; NumPy and SciPy data). The assignment reads ``-2 x.c``
          alone against unit centres, so rows of any norm (below 1e-15 too) are
          labelled as their directions say.

        A parameter rather than an estimator of its own, as Spark MLlib's
        ``distanceMeasure`` and faiss's ``spherical``: everything else (init,
        ``n_init``, weights, sparse data, dask arrays with "k-means||",
        array-API arrays on their device, :meth:`save`, the command line's
        ``--metric``) is the same, and it is set, cloned and saved as any
        parameter. To choose the metric by cross-validation, give a scorer of
        your own: :meth:`score` is minus the squared Euclidean distances for
        one metric and minus ``sum w (1 - cos)`` for the other, which are not
        comparable. Changing ``metric`` on a fitted model makes ``predict``,
        ``transform``, ``score`` and :meth:`save` refuse until it is fitted
        again (the centres were fitted for the other metric).

        .. versionadded:: 0.3

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centres, in X's float dtype (float32 stays float32).
    labels_ : ndarray of shape (n_samples,), dtype int32
        Index of the nearest centre of each training sample. After a fit on a
        dask array, a dask array whose chunks are already computed and kept by
        the workers (persisted): ``labels_.compute()`` fetches them.
    inertia_ : float
        Weighted sum of squared distances of the samples to their nearest centre
        (``metric="cosine"``: of ``1 - cos`` to the most similar centre).
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
        Column names seen in ``fit``, when X had string column names (a pandas
        DataFrame, for instance). Data with other names given to ``predict``,
        ``transform`` or ``score`` raise a ValueError; data without names, a
        warning, as in scikit-learn.

    See Also
    --------
    k_means : The same as a function.
    kmeans_plusplus : The k-means++ initialisation alone.

    Notes
    -----
    X may be a NumPy array, anything :func:`numpy.asarray` turns into one (lists,
    pandas DataFrames, ...) or a scipy.sparse matrix or array. Sparse data are
    read in CSR form, block by block, and never made dense: CSC and other formats
    are converted to CSR once (a copy of the stored values). Unlike dense data
    they are not centred (as in scikit-learn), and ``cluster_centers_`` is dense.
    From the same initial centres, sparse and dense data give the same labels,
    centres and ``n_iter_``, up to rounding.

    X may also be a ``dask.array`` (with the ``kmeans[dask]`` extra): ``fit``
    then runs on the Dask scheduler in use (a ``distributed.Client`` if one was
    created), one pass over X per Lloyd iteration, and ``predict`` and
    ``transform`` return lazy dask arrays. From the same initial centres the
    result is NumPy's up to rounding, with either ``metric``; ``algorithm`` is
    Lloyd's, ``refine`` is not available. See :mod:`kmeans._backends.dask` and the
    README's "Scaling out".

    X may also be an array of another library that follows the Python array API
    standard (PyTorch, CuPy, JAX, array-api-strict; with the
    ``kmeans[array-api]`` extra): the fit computes in its namespace and on its
    device, with either ``metric``, and ``cluster_centers_``, ``labels_``,
    ``predict`` and ``transform`` are arrays of that library on that device. See
    :mod:`kmeans._backends.array_api` and the README's "GPU and other array
    libraries".

    With scikit-learn installed, KMeans is a scikit-learn estimator (clusterer
    and transformer): it passes scikit-learn's estimator checks (with the
    default metric: with ``metric="cosine"`` the checks' data hold rows of
    zeros, which are refused) and has
    ``set_output`` (``transform="pandas"`` gives DataFrames with columns
    ``get_feature_names_out()``) and metadata routing.

    One iteration costs O(n_samples * n_clusters * n_features) time. Besides X and
    the labels, memory is bounded by the block size, not by n_samples. Dense X
    is centred (by its mean, block by block) before the distances are expanded, so
    data far from the origin lose no precision. ``labels_``, ``inertia_`` and
    ``predict`` all use the final centres: after the last update the samples
    are assigned once more.

    A swap trial costs about the number of samples in the clusters near the swap
    times ``n_clusters``, plus a few passes over the labels (on small data, three
    whole-array assignments); the trials run in one thread.

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

    Cosine (spherical) k-means clusters directions, whatever the rows' lengths:

    >>> X = np.array([[1.0, 0.1], [5.0, 0.0], [0.0, 2.0], [0.2, 9.0]])
    >>> km = KMeans(2, metric="cosine", random_state=0).fit(X)
    >>> bool(km.labels_[0] == km.labels_[1] != km.labels_[2] == km.labels_[3])
    True
    >>> np.linalg.norm(km.cluster_centers_, axis=1).round(12)
    array([1., 1.])
    >>> km.transform([[3.0, 0.0]]).min() < 0.01
    np.True_
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
        algorithm: str = "auto",
        callback: Callable[[IterationInfo], object] | None = None,
        refine: str | None = None,
        refine_iter: int | str | None = "auto",
        refine_time: float | None = None,
        metric: str = "euclidean",
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
        self.callback = callback
        self.refine = refine
        self.refine_iter = refine_iter
        self.refine_time = refine_time
        self.metric = metric

    # -- parameters -----------------------------------------------------------

    def _validate_params(self) -> None:
        """Check the parameters that do not depend on the data."""
        self._validate_common_params()
        owner = type(self).__name__
        validate_bool(self.copy_x, "copy_x", owner)
        validate_options(self.algorithm, "algorithm", owner, {"auto", *DENSE.algorithms})
        if self.callback is not None and not callable(self.callback):
            raise InvalidParameterError(
                f"The 'callback' parameter of {owner} must be a callable or None. "
                f"Got {self.callback!r} instead."
            )
        if self.refine is not None:
            validate_options(self.refine, "refine", owner, REFINE)
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

    # -- fitting --------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Compute the k-means clustering.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
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
        self._fit(X, sample_weight)
        return self

    def _fit(self, X, sample_weight) -> np.ndarray:
        """Guts of fit, for every kind of data (see :mod:`kmeans._backends`);
        returns X as validated, for fit_transform."""
        self._validate_params()
        kernels = self._data_kind(X)
        X, names = self._check_fit_data(X, kernels)
        n_samples, n_features = X.shape
        algorithm = self._check_algorithm(kernels, n_features)
        dtype = _host_dtype(kernels, X)
        init, n_init = self._check_init(
            n_features, dtype, None, self._resolved_n_init(), kernels
        )
        rng = check_random_state(self.random_state)

        with kernels.session() as pool:
            # one pass, shared by the tolerance and every run's choice of kernel
            # (folding the shift is considered only in float64 with k < d)
            needs_variance = self.tol > 0 or (
                dtype == np.float64 and self.n_clusters < n_features
            )
            data, shift, variance, weight_max, n_positive = kernels.statistics(
                X, sample_weight, needs_variance, pool
            )
            exponent = weight_exponent(weight_max)
            data = kernels.scale_weights(data, exponent)
            if isinstance(init, str) and n_positive is not None:
                # only the count is read: at most n_clusters ones stand for it
                check_enough_weighted_samples(
                    np.ones(min(n_positive, self.n_clusters)), self.n_clusters
                )
            # data of extreme magnitude are read scaled by 2**-scale (see
            # kmeans/_backends/memory.py): so are the centres until the end
            scale = getattr(data, "exponent", 0)
            monitor = FitMonitor(n_init, self.verbose, self.callback, scale, exponent)
            best = spare = None  # spare: the labels of a worse run, for the next
            try:
                for run in range(n_init):
                    monitor.start_init(run)
                    if isinstance(init, str):
                        centers = kernels.initial_centers(
                            data, shift, init, self.n_clusters, rng, pool
                        )
                    else:
                        given = self._given_centers(X, init, rng, kernels)
                        centers = np.ldexp(given, -scale).astype(given.dtype) - shift
                        if self.metric != "cosine":  # cosine centres: directions only
                            check_centres_reach(centers)
                    monitor.start_iterations(run)
                    fitted, stop_reason = self._run(
                        kernels, data, shift, centers, variance, pool, spare, algorithm,
                        callback=monitor if monitor.active else None,
                    )  # fmt: skip
                    monitor.end_run(fitted[3], stop_reason)
                    if best is None or fitted[2] < best[2]:
                        best, fitted = fitted, best
                    spare = None if fitted is None else fitted[1]
                    if monitor.stopped:
                        break
            finally:
                monitor.close()
            if self.refine == "swap" and not monitor.stopped:
                best, swap = self._refine_swap(
                    kernels, data, shift, variance, best, spare, rng, pool, algorithm,
                    unit_exponent=exponent + 2 * scale,
                )  # fmt: skip

        centers, labels, inertia, n_iter, sizes = best
        if sizes is None:
            sizes = np.bincount(labels, minlength=self.n_clusters)
        _warn_if_fewer_clusters(np.count_nonzero(sizes), self.n_clusters)
        self.cluster_centers_ = np.ldexp(centers, scale).astype(centers.dtype)
        if hasattr(kernels, "from_host"):  # fitted on a device: the centres go back
            self.cluster_centers_ = kernels.from_host(self.cluster_centers_)
        self.labels_ = labels
        with np.errstate(over="ignore"):  # inf is the true value beyond float range
            self.inertia_ = float(np.ldexp(inertia, exponent + 2 * scale))
        self.n_iter_ = int(n_iter)
        for name in ("n_swap_trials_", "n_swaps_"):
            if hasattr(self, name):
                delattr(self, name)
        if self.refine == "swap":
            self.n_swap_trials_, self.n_swaps_ = swap.n_trials, swap.n_accepted
        self._set_input_features(n_features, names)
        return X if scale else data.X

    def _check_algorithm(self, kernels, n_features: int) -> str:
        """The algorithm of the runs on data of kind ``kernels`` (a warning when
        not the one asked for); refine checked against the kind."""
        if self.refine is not None and not (
            kernels is DENSE or hasattr(kernels, "refine_swap")
        ):
            raise TypeError(
                f"refine={self.refine!r} does not accept {kernels.description} yet; "
                "use refine=None."
            )
        algorithm = self.algorithm
        if algorithm in ("elkan", "hamerly") and self.n_clusters == 1:
            warn(
                f"algorithm={algorithm!r} doesn't make sense for a single cluster. "
                "Using 'lloyd' instead.",
                RuntimeWarning,
            )
            return "lloyd"
        if algorithm == "auto":
            algorithm = _auto_algorithm(self.n_clusters, n_features)
        if algorithm not in kernels.algorithms:
            if self.algorithm != "auto":
                warn(
                    f"algorithm={algorithm!r} is not implemented for "
                    f"{kernels.description}; using 'lloyd', which gives the same result.",
                    RuntimeWarning,
                )
            algorithm = "lloyd"
        return algorithm

    def _refine_swap(
        self, kernels, data, shift, variance, best, labels, rng, pool, algorithm,
        unit_exponent=0,
    ):  # fmt: skip
        """Random swap from the best run, then a Lloyd run to convergence.

        Returns the better of the refined and the original solution (refining
        only lowers the inertia, but rounding could say otherwise) and the swap
        statistics. ``labels`` is a spare buffer (or None). Data kinds of their
        own swap (cosine: :mod:`kmeans._core.cosine_swap`) have ``refine_swap``.
        ``unit_exponent``: the runs' objective times ``2**unit_exponent`` is the
        user's (scaled weights and data), as the swaps report it.
        """
        n_trials, patience = self.refine_iter, None
        if n_trials == "auto":
            n_trials = _SWAP_TRIALS_PER_CLUSTER * self.n_clusters
            patience = _COSINE_SWAP_PATIENCE_PER_CLUSTER * self.n_clusters
        if self.n_clusters == 1:
            n_trials = 0  # nothing to swap
        if hasattr(kernels, "refine_swap"):
            swap = kernels.refine_swap(
                data, best[0], rng, max_trials=n_trials, patience=patience,
                max_seconds=self.refine_time, verbose=self.verbose, pool=pool,
                unit_exponent=unit_exponent,
            )  # fmt: skip
            run, _ = self._run(
                kernels, data, shift, swap.centers, variance, pool, labels, algorithm
            )
            return (run if run[2] <= best[2] else best), swap
        swap = random_swap(
            data.X,
            shift,
            data.weights,
            best[0] - shift,
            rng,
            max_trials=n_trials,
            max_seconds=self.refine_time,
            max_iter=self.max_iter,
            verbose=self.verbose,
            pool=pool,
            unit_exponent=unit_exponent,
        )
        run, _ = self._run(
            DENSE, data, shift, swap.centers, variance, pool, labels, algorithm
        )
        return (run if run[2] <= best[2] else best), swap

    def _run(
        self, kernels, data, shift, centers, variance, pool, labels, algorithm,
        callback=None,
    ):  # fmt: skip
        """One run from ``centers`` (shifted frame), then the final labels (into
        ``labels`` if given, in memory) and exact inertia, which make a run stopped
        by the callback consistent too. ``variance`` scales ``tol``. Returns
        (centres, labels, inertia, n_iter, sizes or None) and why it stopped."""
        result = kernels.run(
            data,
            shift,
            centers,
            algorithm,
            max_iter=self.max_iter,
            # tol == 0 stays 0 even if the variance overflowed to inf
            tol=self.tol * variance if self.tol > 0 else 0.0,
            variance=variance,
            pool=pool,
            callback=callback,
        )
        centers = result.centers + shift
        labels, inertia, sizes = kernels.final_labels(data, centers, pool, labels)
        return (centers, labels, inertia, result.n_iter, sizes), result.stop_reason


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
    algorithm: str = "auto",
    callback: Callable[[IterationInfo], object] | None = None,
    refine: str | None = None,
    refine_iter: int | str | None = "auto",
    refine_time: float | None = None,
    metric: str = "euclidean",
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
        Weighted sum of squared distances to the nearest centre
        (``metric="cosine"``: of ``1 - cos`` to the most similar one).
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
        callback=callback,
        refine=refine,
        refine_iter=refine_iter,
        refine_time=refine_time,
        metric=metric,
    ).fit(X, sample_weight=sample_weight)
    if return_n_iter:
        return est.cluster_centers_, est.labels_, est.inertia_, est.n_iter_
    return est.cluster_centers_, est.labels_, est.inertia_
