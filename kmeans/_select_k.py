"""Choosing the number of clusters: elbow, silhouette, gap statistic and
Calinski-Harabasz, computed from one k-means fit per candidate K."""

from __future__ import annotations

import numbers
import reprlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ._core import cosine
from ._core.blocks import mean_variance, thread_pool
from ._estimator import KMeans
from ._selection import _silhouette
from ._validation import (
    check_array,
    check_random_state,
    validate_int,
    validate_options,
    validate_real,
)

__all__ = ["SelectKResult", "select_k"]

METHODS = ("elbow", "silhouette", "gap", "calinski_harabasz")


@dataclass(frozen=True)
class SelectKResult:
    """What :func:`select_k` found.

    Attributes
    ----------
    k_values : ndarray of shape (n_k,)
        The numbers of clusters tried, increasing.
    inertia : ndarray of shape (n_k,)
        Inertia of the k-means fit for each K.
    scores : dict of str to ndarray of shape (n_k,)
        The score of each method for each K (NaN where undefined): the knee
        strength for "elbow", the mean silhouette, the gap, the Calinski-Harabasz
        index.
    best_k : dict of str to int or None
        The K each method chooses; None when it sees no clear answer (no knee;
        no K satisfying the gap rule).
    gap_se : ndarray of shape (n_k,) or None
        Standard error ``s_k`` of the gap, when the gap was computed.
    estimators : list of KMeans
        The fitted estimator for each K, in the order of ``k_values``.
    """

    k_values: np.ndarray
    inertia: np.ndarray
    scores: dict = field(default_factory=dict)
    best_k: dict = field(default_factory=dict)
    gap_se: np.ndarray | None = None
    estimators: list = field(default_factory=list, repr=False)

    def estimator(self, k: int) -> KMeans:
        """The fitted KMeans for ``k`` clusters."""
        where = np.flatnonzero(self.k_values == k)
        if where.size == 0:
            raise ValueError(f"k={k} was not tried; tried {self.k_values.tolist()}.")
        return self.estimators[int(where[0])]

    def plot(self, axes=None):
        """Plot each method's score against K, the chosen K marked.

        Needs matplotlib. ``axes`` is a sequence of one Axes per method (in the
        order of ``scores``); None makes a new figure. Returns the axes.
        """
        import matplotlib.pyplot as plt

        names = list(self.scores)
        if axes is None:
            _, axes = plt.subplots(
                1,
                len(names),
                figsize=(3.2 * len(names), 3),
                squeeze=False,
                layout="constrained",  # axis labels inside the saved figure
            )
            axes = axes[0]
        for ax, name in zip(axes, names):
            if name == "elbow":
                ax.plot(self.k_values, self.inertia, "o-", ms=3)
                ax.set_yscale("log")
                ax.set_ylabel("inertia")
            elif name == "gap" and self.gap_se is not None:
                ax.errorbar(self.k_values, self.scores[name], self.gap_se, fmt="o-", ms=3)
            else:
                ax.plot(self.k_values, self.scores[name], "o-", ms=3)
            best = self.best_k.get(name)
            if best is not None:
                ax.axvline(best, color="C3", ls="--", lw=1)
            ax.set_title(f"{name}: K = {best if best is not None else 'unclear'}")
            ax.set_xlabel("K")
        return axes


def _knee_strength(k_values: np.ndarray, inertia: np.ndarray, window: int) -> np.ndarray:
    """Slope of log(inertia) against log(K) just before each K, divided by the
    slope just after it, each over ``window`` steps (K with fewer steps after it
    get NaN).

    Inertia of data without clusters falls as a power of K (about K^(-2/d)), a
    straight line in log-log axes: the ratio stays near 1. At the true number
    of clusters the steep fall stops and the ratio jumps.
    """
    log_k = np.log(k_values)
    log_w = np.log(np.maximum(inertia, np.finfo(np.float64).tiny))
    strength = np.full(k_values.size, np.nan)
    # a full window after K: one flat step (a poor local optimum at K + 1) must
    # not pass for a knee
    for i in range(1, k_values.size - window):
        lo, hi = max(i - window, 0), i + window
        left = (log_w[lo] - log_w[i]) / (log_k[i] - log_k[lo])
        right = (log_w[i] - log_w[hi]) / (log_k[hi] - log_k[i])
        if right > 0:
            strength[i] = left / right
        elif left > 0:
            strength[i] = np.inf  # nothing left to explain after K
    return strength


def _reference_sets(X: np.ndarray, n_refs: int, rng: np.random.Generator):
    """Uniform data over the box aligned with X's principal axes (Tibshirani et
    al.'s reference (b)), one data set at a time."""
    mean = X.mean(axis=0, dtype=np.float64)
    _, _, Vt = np.linalg.svd(X - mean, full_matrices=False)
    rotated = (X - mean) @ Vt.T
    low, high = rotated.min(axis=0), rotated.max(axis=0)
    for _ in range(n_refs):
        yield rng.uniform(low, high, size=rotated.shape) @ Vt + mean


def _gap_choice(k_values, gap, se, rule: str) -> int | None:
    """The K chosen by the gap statistic's standard-error rule."""
    if rule == "global":
        # Dudoit & Fridlyand (2002): smallest K within one s.e. of the maximum
        top = int(np.argmax(gap))
        return int(k_values[np.flatnonzero(gap >= gap[top] - se[top])[0]])
    # Tibshirani et al. (2001): smallest K with Gap(K) >= Gap(K+1) - s(K+1)
    for i in range(k_values.size - 1):
        if gap[i] >= gap[i + 1] - se[i + 1]:
            return int(k_values[i])
    return None


def _argmax_k(k_values, scores) -> int | None:
    if np.all(np.isnan(scores)):
        return None
    return int(k_values[np.nanargmax(scores)])


def _check_methods(method) -> list[str]:
    methods = (
        list(METHODS)
        if method == "all"
        else [method]
        if isinstance(method, str)
        else list(method)
    )
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(
            f"method must be 'all', one of {list(METHODS)} or a list of them. "
            f"Got {method!r} instead."
        )
    return methods


def _listed(values) -> str:
    """A few values for a message: it stays one short line however many there are."""
    values = list(values)
    return ", ".join(map(repr, values[:5])) + (", ..." if len(values) > 5 else "")


def _check_k_range(k_range, n_samples: int) -> np.ndarray:
    """The distinct K of ``k_range``, sorted: ints (validate_int's rules: no floats,
    no bools) from 1 to ``n_samples``."""
    try:
        ks = list(k_range)
    except TypeError:
        raise ValueError(
            f"k_range must be an iterable of ints. Got {reprlib.repr(k_range)} instead."
        ) from None
    not_ints = [k for k in ks if isinstance(k, bool) or not isinstance(k, numbers.Integral)]
    if not_ints:
        raise ValueError(f"k_range must be an iterable of ints. Got {_listed(not_ints)}.")
    outside = sorted({int(k) for k in ks if not 1 <= k <= n_samples})
    if not ks or outside:
        got = f"Got {_listed(outside)}." if ks else "It is empty."
        raise ValueError(
            f"k_range must hold numbers of clusters between 1 and n_samples={n_samples}. "
            + got
        )
    return np.array(sorted({int(k) for k in ks}), dtype=int)


def select_k(
    X,
    k_range: Iterable[int] = range(2, 11),
    *,
    method: str | Sequence[str] = "all",
    estimator: KMeans | None = None,
    sample_size: int = 2000,
    n_refs: int = 10,
    gap_rule: str = "tibshirani",
    elbow_threshold: float = 2.0,
    random_state=None,
) -> SelectKResult:
    """Choose the number of clusters K by several criteria.

    K-means is fitted once for each K in ``k_range``; every method then reads
    the same fits.

    - "elbow": where the fall of the inertia bends. The knee strength of K is
      the slope of log(inertia) against log(K) before K divided by the slope
      after it (over two steps each way; the last two K get none). Data
      without clusters give a straight line, strengths near 1, and the answer
      None ("no clear knee") when no strength reaches ``elbow_threshold``.
    - "silhouette": the K with the largest mean silhouette (Rousseeuw, 1987),
      computed exactly on a random sample of ``sample_size`` rows (the same for
      all K); for an ``estimator`` with ``metric="cosine"``, on the unit rows
      (distances between directions: ``sqrt(2 - 2 cos)``).
    - "gap": the gap statistic (Tibshirani, Walther & Hastie, 2001) against
      ``n_refs`` uniform data sets over the box aligned with the principal axes
      of X, with the standard-error rule: the smallest K with
      Gap(K) >= Gap(K+1) - s(K+1); None if no K satisfies it. Where clusters
      group into larger clusters, that rule may stop at the coarse level;
      ``gap_rule="global"`` takes the smallest K within one standard error of
      the largest gap instead (Dudoit & Fridlyand, 2002).
    - "calinski_harabasz": the K with the largest ratio of between- to
      within-cluster dispersion, each divided by its degrees of freedom
      (Calinski & Harabasz, 1974).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data.
    k_range : iterable of int, default=range(2, 11)
        The numbers of clusters to try, each in [1, n_samples]. The silhouette
        and Calinski-Harabasz need K >= 2, the elbow a K on each side.
    method : str or sequence of str, default="all"
        "all" or any of "elbow", "silhouette", "gap", "calinski_harabasz".
    estimator : KMeans, default=None
        A template whose parameters (except ``n_clusters``) are used for every
        fit, e.g. ``KMeans(n_init=10, refine="swap")``. None means ``KMeans()``.
        The reference data sets of the gap statistic are fitted with the same
        parameters but without ``refine``.
    sample_size : int, default=2000
        Rows used for the silhouette (all of them if fewer).
    n_refs : int, default=10
        Number of reference data sets for the gap statistic; each is clustered
        for every K, so the gap costs ``n_refs`` times the other methods.
    gap_rule : {"tibshirani", "global"}, default="tibshirani"
        The standard-error rule that picks K from the gap curve.
    elbow_threshold : float, default=2.0
        Smallest knee strength counted as a clear knee.
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None
        Seeds the sample, the reference data and, when the template has no
        ``random_state`` of its own, the fits.

    Returns
    -------
    result : SelectKResult
        The K values, inertias, every method's scores and chosen K, and the
        fitted estimators. ``result.plot()`` draws them (needs matplotlib).

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans import select_k
    >>> rng = np.random.default_rng(0)
    >>> centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]])
    >>> X = np.concatenate([rng.normal(c, 1, (50, 2)) for c in centres])
    >>> result = select_k(X, range(2, 9), n_refs=5, random_state=0)
    >>> result.best_k
    {'elbow': 4, 'silhouette': 4, 'gap': 4, 'calinski_harabasz': 4}
    >>> result.estimator(4).cluster_centers_.shape
    (4, 2)
    """
    owner = "select_k"
    X = check_array(X, owner=owner)
    n_samples = X.shape[0]
    methods = _check_methods(method)
    k_values = _check_k_range(k_range, n_samples)
    sample_size = validate_int(sample_size, "sample_size", owner, low=2)
    n_refs = validate_int(n_refs, "n_refs", owner, low=1)
    validate_options(gap_rule, "gap_rule", owner, {"tibshirani", "global"})
    elbow_threshold = validate_real(elbow_threshold, "elbow_threshold", owner, low=1)
    if estimator is None:
        estimator = KMeans()
    elif not isinstance(estimator, KMeans):
        raise TypeError(f"estimator must be a KMeans instance. Got {estimator!r} instead.")
    rng = check_random_state(random_state)
    params = estimator.get_params()

    def fit(data, k, **changes) -> KMeans:
        settings = {**params, "n_clusters": int(k), **changes}
        if settings["random_state"] is None:
            settings["random_state"] = int(rng.integers(2**32))
        return KMeans(**settings).fit(data)

    estimators = [fit(X, k) for k in k_values]
    inertia = np.array([est.inertia_ for est in estimators])
    scores: dict[str, np.ndarray] = {}
    best_k: dict[str, int | None] = {}
    gap_se = None
    for name in methods:
        if name == "elbow":
            strength = _knee_strength(k_values, inertia, window=2)
            scores[name] = strength
            finite = np.where(np.isnan(strength), -np.inf, strength)
            best = int(np.argmax(finite))
            best_k[name] = int(k_values[best]) if finite[best] >= elbow_threshold else None
        elif name == "silhouette":
            size = min(sample_size, n_samples)
            sample = np.sort(rng.choice(n_samples, size, replace=False))
            rows = X[sample].astype(np.float64)
            if params["metric"] == "cosine":  # distances between the directions
                rows = cosine.scale_rows(*cosine.readable(rows, None))
            values = [
                _silhouette(rows, est.labels_[sample]) if k >= 2 else np.nan
                for k, est in zip(k_values, estimators)
            ]
            scores[name] = np.array(values)
            best_k[name] = _argmax_k(k_values, scores[name])
        elif name == "gap":
            log_ref = np.array(
                [
                    [np.log(fit(ref, k, refine=None).inertia_) for k in k_values]
                    for ref in _reference_sets(X.astype(np.float64), n_refs, rng)
                ]
            )
            scores[name] = log_ref.mean(axis=0) - np.log(inertia)
            gap_se = log_ref.std(axis=0) * np.sqrt(1 + 1 / n_refs)
            best_k[name] = _gap_choice(k_values, scores[name], gap_se, gap_rule)
        else:  # calinski_harabasz
            with thread_pool() as pool:
                total = mean_variance(X, X.mean(axis=0), pool) * X.size
            with np.errstate(divide="ignore", invalid="ignore"):
                ch = ((total - inertia) / (k_values - 1)) / (
                    inertia / (n_samples - k_values)
                )
            ch[(k_values < 2) | (k_values >= n_samples)] = np.nan
            scores[name] = ch
            best_k[name] = _argmax_k(k_values, ch)
    return SelectKResult(k_values, inertia, scores, best_k, gap_se, estimators)
