"""Pictures of a clustering: the clusters, the convergence of a fit, and choosing K.

matplotlib is an optional extra (``pip install "kmeans-numpy[plot]"``); it is imported
when a function here is called, not when :mod:`kmeans` is. Each function draws
with pyplot (so that notebooks show the figure) unless given an Axes or Figure to
draw into, and returns what it drew on.

clusters
    Points coloured by cluster, the centres, and the Voronoi cells of the centres
    for 2-D data; a PCA projection for more dimensions.
convergence
    Inertia and number of reassigned samples per iteration, from what a
    ``callback`` received.
choose_k
    Inertia (the elbow) and silhouette over a range of K, from one call.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ._core import cosine
from ._core.dense import labels_inertia
from ._estimator import KMeans
from ._exceptions import install_hint
from ._progress import IterationInfo
from ._select_k import select_k
from ._validation import check_array, check_is_fitted, check_random_state

__all__ = ["choose_k", "clusters", "convergence"]

# Grid of the Voronoi cells in 2-D: fine enough that the boundaries look straight.
_GRID = 400


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "kmeans.plot needs matplotlib, which is not installed: "
            f"{install_hint('plot')} (or pip install matplotlib)."
        ) from None
    return plt


def _colors(n_clusters: int):
    """One colour per cluster: the qualitative tab10/tab20 while they last."""
    from matplotlib import colormaps

    if n_clusters <= 10:
        return colormaps["tab10"].colors[:n_clusters]
    if n_clusters <= 20:
        return colormaps["tab20"].colors[:n_clusters]
    return colormaps["turbo"](np.linspace(0.05, 0.95, n_clusters))


def _pca(X: np.ndarray, rng: np.random.Generator, max_rows: int = 20_000):
    """Mean, the two leading principal axes and their share of the variance.

    The axes come from the SVD of at most ``max_rows`` rows: enough to pin
    down two directions, and it bounds the cost on large data.
    """
    rows = X if X.shape[0] <= max_rows else X[rng.choice(X.shape[0], max_rows, False)]
    rows = np.asarray(rows, dtype=np.float64)
    mean = rows.mean(axis=0)
    _, s, vt = np.linalg.svd(rows - mean, full_matrices=False)
    share = s**2 / max((s**2).sum(), np.finfo(float).tiny)
    # one row has one component: the second axis (and its share) is zero
    axes, shares = np.zeros((2, X.shape[1])), np.zeros(2)
    axes[: len(vt[:2])], shares[: len(share[:2])] = vt[:2], share[:2]
    return mean, axes, shares


def clusters(
    model,
    X,
    *,
    labels=None,
    feature_names=None,
    ax=None,
    max_points: int = 20_000,
    random_state=0,
):
    """Draw the samples coloured by cluster, with the centres.

    With 2 features the plane is divided into the Voronoi cells of the centres
    (the regions ``predict`` assigns to each cluster), lightly shaded and
    outlined. With 1 feature the cell boundaries are vertical lines. With more,
    samples and centres are projected on the first two principal components of
    X (computed with NumPy's SVD); cells are not drawn, as they do not project.
    For a model with ``metric="cosine"`` the samples drawn are X's unit rows
    ``x/||x||``, which the unit centres summarise (with 2 features, on the
    circle, the cells are sectors).

    Parameters
    ----------
    model : KMeans
        A fitted model.
    X : array-like of shape (n_samples, n_features)
        The samples to draw.
    labels : array-like of shape (n_samples,), default=None
        Their labels; None uses ``model.predict(X)``.
    feature_names : sequence of str, default=None
        Axis labels for 1-D and 2-D data; None uses ``model.feature_names_in_``
        if the model has them.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.
    max_points : int, default=20000
        Draw at most this many samples, chosen at random (all are used for the
        projection's axes up to 20000).
    random_state : int, numpy.random.Generator or None, default=0
        Chooses the samples drawn when there are more than ``max_points``.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from kmeans import KMeans, plot
    >>> X = np.random.default_rng(0).normal(size=(300, 2))
    >>> ax = plot.clusters(KMeans(3, random_state=0).fit(X), X)
    >>> ax.get_title()
    'KMeans: 3 clusters, 300 samples'
    """
    plt = _pyplot()
    check_is_fitted(model)
    # predict before check_array, which drops a DataFrame's column names
    labels = model.predict(X) if labels is None else np.asarray(labels)
    X = check_array(X, owner="kmeans.plot.clusters")
    unit = getattr(model, "metric", "euclidean") == "cosine"
    if unit:  # what the centres summarise: directions (rows of any norm)
        X = cosine.scale_rows(*cosine.readable(X, None), np.float64)
    centers = model.cluster_centers_
    n_samples, n_features = X.shape
    k = centers.shape[0]
    rng = check_random_state(random_state)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 5.2), layout="constrained")
    colors = np.asarray(_colors(k))
    shown = np.arange(n_samples)
    if n_samples > max_points:
        shown = np.sort(rng.choice(n_samples, max_points, replace=False))
    names = feature_names
    if names is None:
        names = getattr(model, "feature_names_in_", None)
    names = [str(n) for n in names] if names is not None else None

    if n_features == 2:
        points, centres2 = np.asarray(X[shown], dtype=np.float64), centers
        _draw_cells(ax, model, points, colors)
        xlabel, ylabel = names or ("feature 0", "feature 1")
    elif n_features == 1:
        x = np.asarray(X[shown, 0], dtype=np.float64)
        # jitter spreads the points vertically; the height means nothing
        points = np.column_stack([x, rng.uniform(-1, 1, x.size)])
        centres2 = np.column_stack([centers[:, 0], np.zeros(k)])
        edges = np.sort(centers[:, 0])
        for edge in (edges[1:] + edges[:-1]) / 2:
            ax.axvline(edge, color="0.3", linewidth=0.8, zorder=1)
        ax.set_yticks([])
        xlabel = names[0] if names else "feature 0"
        ylabel = "random jitter (spreads the points; no meaning)"
    else:
        mean, axes, share = _pca(X, rng)
        points = (np.asarray(X[shown], dtype=np.float64) - mean) @ axes.T
        centres2 = (centers - mean) @ axes.T
        xlabel = f"principal component 1 ({share[0]:.0%} of variance)"
        ylabel = f"principal component 2 ({share[1]:.0%} of variance)"

    size = 14 if shown.size <= 2000 else 4
    ax.scatter(
        points[:, 0],
        points[:, 1],
        c=colors[labels[shown]],
        s=size,
        alpha=0.75,
        linewidths=0,
        zorder=2,
    )
    ax.scatter(
        centres2[:, 0],
        centres2[:, 1],
        c=colors,
        marker="X",
        s=180,
        edgecolors="black",
        linewidths=1.2,
        zorder=3,
    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    what = (
        f"{n_samples} samples"
        if shown.size == n_samples
        else (f"{shown.size} of {n_samples} samples")
    )
    projected = ", PCA projection" if n_features > 2 else ""
    projected += ", unit rows" if unit else ""
    ax.set_title(f"{type(model).__name__}: {k} clusters, {what}{projected}")
    ax.legend(handles=_legend_handles(colors, k), loc="best", fontsize="small")
    return ax


_LEGEND_CLUSTERS = 10  # clusters named in the legend; beyond, the colours only


def _legend_handles(colors, k: int) -> list:
    """A neutral marker for the centres (each is drawn in its cluster's colour)
    and one entry per cluster colour, for up to ``_LEGEND_CLUSTERS`` clusters."""
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], linestyle="", marker="X", markersize=10, markerfacecolor="white",
               markeredgecolor="black", label="centres")
    ]  # fmt: skip
    if k <= _LEGEND_CLUSTERS:
        handles += [
            Line2D([], [], linestyle="", marker="o", color=colors[j], label=f"cluster {j}")
            for j in range(k)
        ]
    return handles


def _draw_cells(ax, model, points: np.ndarray, colors: np.ndarray) -> None:
    """Shade and outline the Voronoi cells of the centres over the points' range."""
    from matplotlib.colors import ListedColormap

    both = np.vstack([points, model.cluster_centers_])
    low, high = both.min(axis=0), both.max(axis=0)
    pad = 0.05 * np.where(high > low, high - low, 1.0)
    low, high = low - pad, high + pad
    xs = np.linspace(low[0], high[0], _GRID)
    ys = np.linspace(low[1], high[1], _GRID)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    # predict's own code path, without its check of the feature names
    centers = model.cluster_centers_
    cells = labels_inertia(grid.astype(centers.dtype), centers, None, None)[0]
    cells = cells.reshape(_GRID, _GRID)
    k = len(colors)
    ax.imshow(
        cells,
        origin="lower",
        extent=(low[0], high[0], low[1], high[1]),
        cmap=ListedColormap(colors),
        vmin=-0.5,
        vmax=k - 0.5,
        alpha=0.18,
        aspect="auto",
        interpolation="nearest",
        zorder=0,
    )
    if k > 1:
        ax.contour(
            xs,
            ys,
            cells,
            levels=np.arange(k - 1) + 0.5,
            colors="0.3",
            linewidths=0.8,
            zorder=1,
        )
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])


def convergence(records: Iterable[IterationInfo], *, fig=None):
    """Draw the inertia and the number of reassigned samples per iteration.

    Parameters
    ----------
    records : sequence of IterationInfo
        What a ``callback`` received, e.g. the list ``records`` after
        ``KMeans(callback=records.append).fit(X)``; one line per run. (A fitted
        model keeps no history: the per-iteration inertia costs up to most of an
        iteration, so it is computed only when a callback or ``verbose`` asks.)
    fig : matplotlib Figure, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    fig : matplotlib Figure
        Two Axes sharing the iteration axis: inertia above (log scale; empty for
        the bound-pruned algorithms, which do not compute it), reassigned samples
        below (symmetric log scale, as it falls to 0).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from kmeans import KMeans, plot
    >>> X = np.random.default_rng(0).normal(size=(300, 2))
    >>> records = []
    >>> km = KMeans(4, n_init=3, init="random", random_state=0, callback=records.append)
    >>> _ = km.fit(X)
    >>> fig = plot.convergence(records)
    >>> [ax.get_ylabel() for ax in fig.axes], fig.axes[0].get_title()
    (['inertia', 'samples reassigned'], 'Convergence of 3 runs')
    """
    plt = _pyplot()
    runs = _runs(records)
    if fig is None:
        fig = plt.figure(figsize=(6.4, 5.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    many = len(runs) > 1
    for run, history in runs.items():
        label = f"run {run}" if many else None
        top.plot(history["iteration"], history["inertia"], marker="o", ms=3, label=label)
        bottom.plot(history["iteration"], history["n_reassigned"], marker="o", ms=3)
    inertia = np.concatenate([h["inertia"] for h in runs.values()])
    if np.isnan(inertia).all():
        top.text(
            0.5,
            0.5,
            "inertia not computed by the bound-pruned algorithms",
            transform=top.transAxes,
            ha="center",
            va="center",
            color="0.4",
        )
        top.set_yticks([])
    elif (inertia[~np.isnan(inertia)] > 0).all():
        top.set_yscale("log")  # the first iterations would flatten the rest
    top.set_ylabel("inertia")
    top.set_title("Convergence" + (f" of {len(runs)} runs" if many else ""))
    if many and len(runs) <= 12:
        top.legend(fontsize="small")
    bottom.set_yscale("symlog", linthresh=1)
    bottom.set_ylim(bottom=0)
    bottom.set_ylabel("samples reassigned")
    bottom.set_xlabel("iteration")
    bottom.xaxis.get_major_locator().set_params(integer=True)
    return fig


def _runs(records) -> dict[int, dict[str, np.ndarray]]:
    """Iteration, inertia and reassigned samples of each run, from the records."""
    if hasattr(records, "get_params"):
        raise TypeError(
            "convergence() takes the IterationInfo records a callback collected, not "
            "a model: records = []; KMeans(..., callback=records.append).fit(X)"
        )
    records = list(records)
    if not records or not all(isinstance(r, IterationInfo) for r in records):
        raise TypeError(
            "convergence() takes a non-empty sequence of the IterationInfo records "
            "a callback received."
        )
    runs: dict[int, dict[str, list]] = {}
    for r in records:
        run = runs.setdefault(r.run, {"iteration": [], "inertia": [], "n_reassigned": []})
        run["iteration"].append(r.iteration)
        run["inertia"].append(r.inertia)
        run["n_reassigned"].append(r.n_reassigned)
    return {run: {k: np.asarray(v) for k, v in h.items()} for run, h in runs.items()}


def choose_k(
    X,
    k_values: Iterable[int] = range(2, 11),
    *,
    sample_size: int | None = 2000,
    random_state=None,
    fig=None,
    **params,
):
    """Fit K-means for each K and draw inertia (elbow) and silhouette against K.

    Inertia always falls as K grows: look for the K after which it falls much
    more slowly (the elbow). The mean silhouette is higher for compact,
    well-separated clusters; its best K is marked.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data.
    k_values : iterable of int, default=range(2, 11)
        The numbers of clusters to try.
    sample_size : int or None, default=2000
        Compute the silhouette on this many samples (the same ones for every K);
        None uses all, at a cost that grows as their square.
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the fits and the sample.
    fig : matplotlib Figure, default=None
        Where to draw; None makes a new figure.
    **params
        Other parameters of :class:`~kmeans.KMeans`, e.g. ``n_init=10``.

    Returns
    -------
    fig : matplotlib Figure
        Two Axes: inertia against K, and silhouette against K.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from kmeans import plot
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(c, 0.5, (50, 2)) for c in (0, 5, 10)])
    >>> fig = plot.choose_k(X, range(1, 7), random_state=0)
    >>> fig.axes[1].get_title()
    'Silhouette (best: K = 3)'
    """

    plt = _pyplot()
    X = check_array(X, owner="choose_k")
    found = select_k(
        X,
        k_values,
        method=("elbow", "silhouette"),
        estimator=KMeans(**params),
        sample_size=X.shape[0] if sample_size is None else sample_size,
        random_state=random_state,
    )
    if fig is None:
        fig = plt.figure(figsize=(9.6, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2, sharex=True)
    k = found.k_values
    left.plot(k, found.inertia, marker="o")
    elbow = found.best_k["elbow"]
    if elbow is not None:
        left.plot(elbow, found.inertia[k == elbow][0], marker="*", ms=16, color="C3")
    left.set_title(f"Inertia (elbow: K = {elbow})" if elbow else "Inertia (no clear elbow)")
    left.set_xlabel("K (number of clusters)")
    left.set_ylabel("inertia")
    silhouette = found.scores["silhouette"]
    right.plot(k, silhouette, marker="o", color="C1")
    right.set_xlabel("K (number of clusters)")
    right.set_ylabel("mean silhouette")
    best = found.best_k["silhouette"]
    if best is not None:
        right.plot(best, silhouette[k == best][0], marker="*", ms=16, color="C3")
        right.set_title(f"Silhouette (best: K = {best})")
    else:
        right.set_title("Silhouette (needs K >= 2)")
    left.xaxis.get_major_locator().set_params(integer=True)
    return fig
