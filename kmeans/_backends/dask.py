"""Dask backend: :class:`~kmeans.KMeans` on a ``dask.array`` and k-means||.

The data kind of :mod:`kmeans._backends` for dask arrays; ``KMeans._fit`` drives
it. Imported only when a dask array arrives, and dask only inside its functions:
``import kmeans`` and NumPy input never touch it.

Layout. X is rechunked to whole rows (column-split chunks are joined: a row's
distance needs all its features) and each row chunk is one unit of work. Every
chunk task runs the NumPy kernels of the in-memory path on its chunk, in one
thread, over the same bounded blocks of rows (:class:`~kmeans._common.RowBlocks`
with one partition): a Lloyd pass is :func:`kmeans._lloyd.lloyd_pass` itself, fed
with that chunk's labels and cluster sums from the previous pass, so that, as in
memory, only the rows whose label changed are scattered. The per-chunk results
(sums of shape (k, d + 1) in float64, inertia, number of changed labels) are added
by a tree of fan-in 8, whose fixed shape fixes the order of the sums: results do
not depend on the scheduler or the number of workers.

One pass over X per Lloyd iteration: the chunk tasks are persisted (their labels
and sums stay on the workers for the next pass) and the tree's root, a few
kilobytes, comes back to the client, which moves the centres and sends them out
once (one key of the graph, not a copy per task). An iteration that leaves a
cluster empty makes one more pass for the farthest rows, as in memory. Every pass
over X goes through :func:`_pass`.

X itself is persisted once per fit when it fits in half of the cluster's memory;
otherwise (data larger than memory) every pass reads it from its source.

metric="cosine" has its twin kind here, ``cosine_twin`` (:class:`_CosineDask`):
the same passes with the in-memory cosine kernels (:mod:`kmeans._core.cosine`),
each chunk's ``1/||x||`` computed once in the statistics pass and kept on its
worker beside the labels.
"""

from __future__ import annotations

import contextlib
import copy
import operator
import os
import sys

import numpy as np

from .._core import cosine
from .._core.blocks import (
    RowBlocks,
    _blas_controller,
    exact_shift,
    mean_variance,
    scratch,
    shifted_block,
)
from .._core.dense import labels_inertia as _labels_inertia
from .._core.kernel import centre_terms, partial_sq, row_norms_sq
from .._core.kernel import nearest as _nearest
from .._core.lloyd import (
    LloydRun,
    can_fold_shift,
    iterate,
    lloyd_pass,
)
from .._core.sampling import weighted_choice as _weighted_choice
from .._core.update import (
    farthest_candidates,
    new_partition_sums,
    pick_farthest,
    relocate_and_average,
)
from .._exceptions import InvalidParameterError, warn
from .._validation import (
    _check_finite,
    _check_weight_layout,
    _check_weight_summary,
    check_dask_array,
    check_random_state,
    check_sample_weight,
    is_dask_array,
    validate_int,
    validate_real,
    weight_summary,
)
from .cosine import COSINE_DENSE
from .memory import DENSE, exponent_for, largest_magnitude, magnitude_exponent, scaled

__all__ = ["kmeans_parallel"]

_FAN_IN = 8  # children per node of the reduction tree
# Runs of k-means++ and Lloyd on the weighted k-means|| candidates, the best kept:
# they cost nothing beside a pass over X (about 10 k candidates), and one run
# alone lands in a visibly worse local optimum on some seeds (measured: 64 blobs
# in 32-D, 1 seed in 2 at n = 2e6).
_LOCAL_RUNS = 10

# The data-kind interface (see kmeans/_backends/__init__.py).
description = "dask arrays"
algorithms = {"lloyd"}
init_methods = {"k-means++", "k-means||", "random"}


def _dask():
    import dask

    return dask


@contextlib.contextmanager
def session():
    """BLAS at one thread in this process, where the chunk tasks of the
    synchronous and threaded schedulers run: a product on two BLAS threads per
    task is many times slower than one (measured under load: 360 vs 31 ms for a
    Lloyd pass over a 250,000 x 32 chunk at k = 64). The workers of
    dask.distributed have one already (OPENBLAS_NUM_THREADS=1 and the like); lazy
    results (predict, transform) run as the caller's process is set up. Yields
    the pool argument of the kernels: None, the chunks are the parallelism."""
    with _blas_controller().limit(limits=1, user_api="blas"):
        yield None


# -- input ---------------------------------------------------------------------


def _dask_weights(sample_weight, X):
    """sample_weight as a dask array in X's row chunks and dtype, or None. A dask
    array's values are checked by the pass that reads them (:func:`_weight_chunk`),
    others by :func:`~kmeans._validation.check_sample_weight` now."""
    import dask.array as da

    if sample_weight is None:
        return None
    if is_dask_array(sample_weight):
        _check_weight_layout(sample_weight, X.shape[0])
        # checked as given (float64 at least), as in memory: a weight of 1e-50
        # cast to float32 would be zero; scale_weights casts them to X's dtype
        wide = np.promote_types(sample_weight.dtype, np.float64)
        return sample_weight.astype(wide).rechunk((X.chunks[0],))
    weights = check_sample_weight(sample_weight, X.shape[0], X.dtype)
    return da.from_array(weights, chunks=(X.chunks[0],))


def _memory_budget() -> float:
    """Half the memory of the workers of the current distributed Client, or of
    this machine when there is none (local schedulers)."""
    if "distributed" in sys.modules:
        from distributed import default_client

        try:
            client = default_client()
        except ValueError:  # no Client
            client = None
        if client is not None:
            try:
                info = client.scheduler_info(n_workers=-1)
            except TypeError:  # older distributed
                info = client.scheduler_info()
            limits = [w.get("memory_limit", 0) for w in info["workers"].values()]
            if limits and all(limits):
                return sum(limits) / 2
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2


def _unit_rows(X, local, row_scale):
    """The rows ``local`` of a chunk as unit vectors."""
    return cosine.scale_rows(X[local], row_scale[local])


class _Rows:
    """X's row chunks (and the weights'), as delayed objects, empty ones dropped."""

    def __init__(self, X, weights, persist: bool | None = None):
        if persist is None:
            persist = X.nbytes <= _memory_budget()
        if persist:  # once per fit; larger data are read from their source each pass
            X = X.persist()
            weights = None if weights is None else weights.persist()
        self.X = X
        self.weights = weights
        self.persisted = persist
        sizes = np.asarray(X.chunks[0], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        self._keep = np.flatnonzero(sizes)
        x = X.to_delayed()[:, 0]
        self.x = [x[i] for i in self._keep]
        self.w = self._chunks_of(weights)
        self.sizes = sizes[self._keep]
        self.offsets = offsets[self._keep]
        self.n_samples, self.n_features = X.shape
        self.dtype = X.dtype
        self.weight_totals = None  # per chunk, set by statistics()
        self.exponent = 0  # X is read divided by 2**exponent (set by statistics())
        # metric="cosine": 1/||x|| per chunk, delayed (kept on the workers), set by
        # cosine_statistics()
        self.row_scale = None

    def _chunks_of(self, weights) -> list:
        w = [None] * len(self._keep) if weights is None else weights.to_delayed()
        return [w[i] for i in self._keep] if weights is not None else w

    def with_weights(self, weights) -> _Rows:
        """The same rows (and everything known of them) with other weights, a dask
        array in X's row chunks."""
        if self.persisted:
            weights = weights.persist()
        rows = copy.copy(self)
        rows.weights, rows.w = weights, self._chunks_of(weights)
        return rows

    def __len__(self) -> int:
        return len(self.x)

    def row_scales(self) -> list:
        """The chunks' ``1/||x||`` (None each for Euclidean rows)."""
        return [None] * len(self) if self.row_scale is None else self.row_scale

    def scaled(self, exponent) -> _Rows:
        """The rows of X read divided by ``2**exponent`` (lazily; X itself for 0),
        as in memory for data of extreme magnitude (kmeans/_backends/memory.py);
        with :data:`kmeans._core.cosine.EACH_ROW`, each row by the power of two
        of its norm (metric="cosine": :func:`kmeans._core.cosine.readable`)."""
        if not exponent:
            return self
        if exponent is cosine.EACH_ROW:
            X = self.X.map_blocks(cosine.each_row_scaled, dtype=self.dtype)
        else:
            X = self.X.map_blocks(np.ldexp, -exponent, dtype=self.dtype)
            X = X.astype(self.dtype)
        rows = _Rows(X, self.weights, persist=self.persisted)
        rows.weight_totals = self.weight_totals
        return rows

    def take(self, indices) -> np.ndarray:
        """The rows at ``indices`` (a NumPy array, in that order); reads only the
        chunks that hold them. For metric="cosine", their unit vectors."""
        dask = _dask()
        indices = np.asarray(indices, dtype=np.int64)
        chunk = np.searchsorted(self.offsets, indices, side="right") - 1
        order = np.argsort(indices, kind="stable")  # sorted gathers (dask-ml #39)
        parts = []
        for b in np.unique(chunk):
            local = np.sort(indices[chunk == b] - self.offsets[b])
            if self.row_scale is None:
                parts.append(dask.delayed(operator.getitem)(self.x[b], local))
            else:
                parts.append(dask.delayed(_unit_rows)(self.x[b], local, self.row_scale[b]))
        (rows,) = dask.compute(parts)
        out = np.empty((len(indices), self.n_features), self.dtype)
        out[order] = np.concatenate(rows)
        return out


def _tree(parts: list, combine):
    """Reduce delayed ``parts`` with ``combine(*children)``, fan-in 8: a fixed tree,
    so a fixed order of the additions."""
    dask = _dask()
    while len(parts) > 1:
        parts = [
            dask.delayed(combine, pure=True)(*parts[i : i + _FAN_IN])
            for i in range(0, len(parts), _FAN_IN)
        ]
    return parts[0]


def _pass(tasks: list, combine=None):
    """One pass over X, the only one: tests and benchmarks count passes by
    wrapping it. Without ``combine``: the results of the per-chunk ``tasks``.
    With it: persist the tasks (their results stay where they were computed) and
    bring back their tree-reduced ``combine``; returns both."""
    dask = _dask()
    if combine is None:
        return dask.compute(tasks)[0]
    tasks = list(dask.persist(*tasks))
    (total,) = dask.compute(_tree(tasks, combine))
    return tasks, total


# -- statistics: one pass --------------------------------------------------------


def _stats_chunk(X, w):
    """Column sums (float64), mean (X's dtype), squared deviation from that mean,
    and the weights' :func:`~kmeans._validation.weight_summary` and maximum. Raises
    as :func:`~kmeans._validation.check_array` for NaN or infinity in X."""
    n, d = X.shape
    with np.errstate(over="ignore"):  # data of extreme magnitude: scaled, read again
        total = X.sum(axis=0, dtype=np.float64)
        if not np.isfinite(total).all():
            _check_finite(X, "X")
        mean = (total / n).astype(X.dtype)
        square = mean_variance(X, mean, None) * n * d
    weights = None if w is None else _weight_chunk(w)
    return n, total, mean, square, weights, largest_magnitude(X)


def _weight_chunk(w):
    with np.errstate(invalid="ignore"):  # NaN: reported by the check
        return weight_summary(w), float(w.max()) if w.size else -np.inf


def _check_weights(parts):
    """Raise as check_sample_weight does, from the chunks' :func:`_weight_chunk`;
    return the chunks' total weights, the largest weight, the positive ones."""
    summaries = [p[0] for p in parts]
    nan, inf, n_negative, n_nonzero, _ = (sum(v) for v in zip(*summaries))
    totals = np.array([s[4] for s in summaries])
    with np.errstate(over="ignore"):
        _check_weight_summary(nan, inf, n_negative, n_nonzero, totals.sum())
    return totals, max(p[1] for p in parts), n_nonzero


def statistics(X, sample_weight, needs_variance, pool):
    """:class:`_Rows` (X and weights), X's mean and mean variance (always: it is
    free here), the largest weight and the positive ones: one pass."""
    rows = _Rows(X, _dask_weights(sample_weight, X))
    dask = _dask()
    parts = _pass([dask.delayed(_stats_chunk)(x, w) for x, w in zip(rows.x, rows.w)])
    exponent = exponent_for(max(p[5] for p in parts), rows.dtype)
    if exponent:
        # extreme magnitudes, as in memory: the statistics again, of the rows scaled
        rows = rows.scaled(exponent)
        tasks = [dask.delayed(_stats_chunk)(x, w) for x, w in zip(rows.x, rows.w)]
        parts = _pass(tasks)
    rows.exponent = exponent
    n = np.array([p[0] for p in parts], dtype=np.float64)
    sums = np.array([p[1] for p in parts])
    shift = (sums.sum(axis=0) / n.sum()).astype(rows.dtype)
    s = shift.astype(np.float64)
    # sum of (x - s)^2 from each chunk's sum of (x - m)^2 about its own mean m
    square = 0.0
    for count, total, mean, sq, *_ in parts:
        m = mean.astype(np.float64)
        square += sq + 2 * (m - s) @ (total - count * m) + count * float((m - s) @ (m - s))
    variance = square / (n.sum() * rows.n_features)
    shift = exact_shift(shift, variance)
    rows.weight_totals, weight_max, n_positive = None, None, None
    if rows.weights is not None:
        rows.weight_totals, weight_max, n_positive = _check_weights([p[4] for p in parts])
    return rows, shift, variance, weight_max, n_positive


def scale_weights(rows, exponent: int):
    """The rows with their weights multiplied by ``2**-exponent`` (exact, in
    their own dtype) and then cast to X's, as in memory
    (:func:`kmeans._backends.memory.scale_weights`)."""
    weights = rows.weights
    if weights is None or (not exponent and weights.dtype == rows.dtype):
        return rows
    if exponent:
        weights = weights.map_blocks(np.ldexp, -exponent, dtype=weights.dtype)
    return rows.with_weights(weights.astype(rows.dtype))


def _cosine_stats_chunk(X, w, offset, force):
    """A chunk's ``1/||x||`` (kept on its worker) and its summary: rows, sum of
    the unit rows, zero rows (how many, the first global indices), the weights'
    :func:`_weight_chunk` and the exponents of its smallest and largest norms.
    Raises as check_array for NaN or infinity. Without ``force`` a chunk with
    rows of extreme norm leaves its scales and sum to a second pass, once it is
    known how the whole is read (:func:`kmeans._core.cosine.rescaling`)."""
    if not np.isfinite(largest_magnitude(X)):
        _check_finite(X, "X")
    row_scale, total, zero, span = None, None, (0, []), None
    try:
        norms = cosine.nonzero_norms(X, None)
    except cosine.ZeroRowError as error:
        zero = _zero_rows(error, offset)
    else:
        exponents = cosine.norm_exponents(norms)
        span = int(exponents.min()), int(exponents.max())
        if force or cosine.rescaling(*span, X.dtype) is None:
            row_scale = 1.0 / norms
            total = cosine.unit_sum(X, row_scale, None)
    weights = None if w is None else _weight_chunk(w)
    return row_scale, [(len(X), total, zero, weights, span)]


def _add_lists(*parts):
    return None, [item for part in parts for item in part[1]]


def _zero_rows(error, offset: int):
    """A chunk's zero rows, from its :class:`~kmeans._core.cosine.ZeroRowError`:
    how many, and the first by X's row numbers (the chunk starts at ``offset``)."""
    if error.rows is None:
        raise error
    return error.n_zero, [i + offset for i in error.rows]


def _raise_zero_rows(found) -> None:
    """The in-memory error for the zero rows ``found`` in the chunks (in order),
    told for the whole of X; nothing when there are none."""
    n_zero = sum(n for n, _ in found)
    if n_zero:
        raise cosine.zero_rows_error(n_zero, [i for _, rows in found for i in rows])


def cosine_statistics(X, sample_weight, needs_variance, pool):
    """:func:`statistics` for metric="cosine" (kmeans/_backends/cosine.py): the
    rows with their ``1/||x||`` kept on the workers, no shift, the variance of
    the unit rows (for ``tol``), the largest weight and the positive ones; zero
    rows refused as in memory. One pass (two for data of extreme magnitude,
    which are read scaled; cosines do not change and nothing is scaled back)."""
    dask = _dask()
    rows = _Rows(X, _dask_weights(sample_weight, X))

    def one_pass(rows, force):
        tasks = [
            dask.delayed(_cosine_stats_chunk)(x, w, int(offset), force)
            for x, w, offset in zip(rows.x, rows.w, rows.offsets)
        ]
        return _pass(tasks, _add_lists)

    tasks, (_, parts) = one_pass(rows, False)
    weight_max = n_positive = None
    if rows.weights is not None:
        rows.weight_totals, weight_max, n_positive = _check_weights([p[3] for p in parts])
    _raise_zero_rows([p[2] for p in parts])
    how = cosine.rescaling(
        min(p[4][0] for p in parts), max(p[4][1] for p in parts), rows.dtype
    )
    if how is not None:
        rows = rows.scaled(how)
        tasks, (_, parts) = one_pass(rows, True)
    rows.row_scale = [dask.delayed(operator.getitem)(t, 0) for t in tasks]
    total = np.sum([p[1] for p in parts], axis=0)
    variance = cosine.variance_of_units(total, rows.n_samples)
    return rows, np.zeros(rows.n_features, rows.dtype), variance, weight_max, n_positive


# -- Lloyd -----------------------------------------------------------------------


def _lloyd_chunk(X, w, state, centers, shift, fold_shift, with_inertia, row_scale=None):
    """One Lloyd pass over a chunk, by the in-memory kernel. ``state`` is the
    chunk's (labels, cluster sums, ...) from the previous pass, or None; it is
    copied, not modified. Returns the new state: labels, sums of shape
    (k, d + 1), inertia (or None) and the number of labels changed. With
    ``row_scale`` (``1/||x||``) the pass is spherical, as in memory: the sums are
    of the unit rows."""
    n, d = X.shape
    row_terms = None
    if row_scale is not None:
        w, row_terms = cosine.run_terms(w, row_scale, X.dtype)
    k = centers.shape[0]
    blocks = RowBlocks(n, k, d, X.itemsize, None, max_partitions=1)
    if state is None:
        labels = np.full(n, -1, dtype=np.int32)
        sums = new_partition_sums(blocks, k, d)
    else:
        labels = state[0].copy()
        sums = [state[1].copy()]
    _, _, inertia, n_changed = lloyd_pass(
        X,
        shift,
        w,
        centers,
        labels,
        blocks,
        partition_sums=sums,
        with_inertia=with_inertia,
        fold_shift=fold_shift,
        row_terms=row_terms,
    )
    return labels, sums[0], inertia, n_changed


def _add_lloyd(*states):
    sums = states[0][1].copy()
    for state in states[1:]:
        sums += state[1]
    inertias = [s[2] for s in states]
    inertia = None if inertias[0] is None else sum(inertias)
    return None, sums, inertia, sum(s[3] for s in states)


def _far_chunk(X, w, state, shift, centers, n_rows, offset, row_scale=None):
    """The chunk's candidates for the empty clusters (global indices, distances,
    shifted rows, labels, weights) and its rows of positive weight per cluster.
    With ``row_scale``: by ``1 - cos``, the weights those of the unit rows."""
    labels = state[0]
    if row_scale is not None:
        w = cosine.run_terms(w, row_scale, X.dtype)[0]
    blocks = RowBlocks(len(X), 1, X.shape[1], X.itemsize, None, max_partitions=1)
    index, dist = farthest_candidates(
        X, shift, w, centers, labels, n_rows, blocks, row_scale
    )
    counted = labels if w is None else labels[w > 0]
    rows_left = np.bincount(counted, minlength=centers.shape[0])
    far_w = None if w is None else w[index]
    return index + offset, dist, X[index] - shift, labels[index], far_w, rows_left


def _update_centers(rows, states, shift, centers, sums, weight_sums):
    """:func:`kmeans._lloyd.update_centers` on chunks: the farthest rows (one more
    pass) only when a cluster is empty."""
    empty = np.flatnonzero(weight_sums == 0)
    if not empty.size:
        return relocate_and_average(centers, sums, weight_sums)
    dask = _dask()
    tasks = [
        dask.delayed(_far_chunk)(x, w, state, shift, centers, empty.size, offset, rs)
        for x, w, state, offset, rs in zip(
            rows.x, rows.w, states, rows.offsets, rows.row_scales()
        )
    ]
    parts = _pass(tasks)
    index, dist, far_rows, far_labels = (
        np.concatenate([p[i] for p in parts]) for i in range(4)
    )
    far_w = None if parts[0][4] is None else np.concatenate([p[4] for p in parts])
    pick = pick_farthest(index, dist, empty.size)
    return relocate_and_average(
        centers,
        sums,
        weight_sums,
        empty,
        far_rows[pick],
        far_labels[pick],
        None if far_w is None else far_w[pick],
        np.sum([p[5] for p in parts], axis=0),
    )


def run(
    rows: _Rows, shift, centers_init, algorithm, *, max_iter, tol, variance, pool, callback
) -> LloydRun:
    """One run of Lloyd's algorithm on chunks, with the in-memory stopping rules
    (:func:`kmeans._lloyd.iterate`) and shift folding (``variance`` is X's mean
    variance). Centres in the shifted frame. ``algorithm`` is "lloyd". Rows
    with ``1/||x||`` (metric="cosine") run spherical passes, as in memory: unit
    centres, each new one normalised."""
    dask = _dask()
    states = [None] * len(rows)
    d = rows.n_features
    spherical = rows.row_scale is not None
    if spherical:
        centers_init = cosine.normalise(centers_init)
    fold_shift = can_fold_shift(
        rows.dtype, d, len(centers_init), shift, variance, spherical=spherical
    )

    def step(centers):
        nonlocal states
        shared = dask.delayed(centers)  # one key, sent once, read by every task
        tasks = [
            dask.delayed(_lloyd_chunk)(
                x, w, state, shared, shift, fold_shift, callback is not None, rs
            )
            for x, w, state, rs in zip(rows.x, rows.w, states, rows.row_scales())
        ]
        states, total = _pass(tasks, _add_lloyd)
        _, sums, inertia, n_changed = total
        new_centers = _update_centers(
            rows, states, shift, centers, sums[:, :d], sums[:, d].copy()
        )
        if spherical:
            new_centers, inertia = cosine.end_step(new_centers, centers, inertia)
        return new_centers, n_changed, inertia

    return iterate(step, centers_init, max_iter=max_iter, tol=tol, callback=callback)


# -- labels and inertia ----------------------------------------------------------


def _labels_inertia_chunk(X, w, centers):
    # a chunk of extreme magnitude is read scaled, as in memory: same labels
    exponent = magnitude_exponent(X, centers)
    labels, inertia = _labels_inertia(
        scaled(X, exponent), scaled(centers, exponent), w, None
    )
    with np.errstate(over="ignore"):  # inf is the true value beyond float range
        inertia = float(np.ldexp(inertia, 2 * exponent))
    return labels, inertia, np.bincount(labels, minlength=centers.shape[0])


@contextlib.contextmanager
def _rows_from(offset: int):
    """A zero-row error of a chunk whose first row is row ``offset`` of X, told
    with X's row numbers."""
    try:
        yield
    except cosine.ZeroRowError as error:
        raise cosine.zero_rows_error(*_zero_rows(error, offset)) from None


def _cosine_labels_inertia_chunk(X, w, centers, row_scale):
    """:func:`_labels_inertia_chunk` for metric="cosine", with the chunk's
    ``1/||x||`` from the fit."""
    labels, inertia = cosine.labels_inertia(X, centers, w, row_scale, None)
    return labels, inertia, np.bincount(labels, minlength=centers.shape[0])


def _cosine_score_chunk(X, w, centers, offset):
    """A chunk's ``sum w (1 - cos)`` by the in-memory cosine kind, or its zero
    rows (how many, the first by X's row numbers)."""
    try:
        return None, COSINE_DENSE.labels_inertia(X, centers, w, None)[1], []
    except cosine.ZeroRowError as error:
        return None, 0.0, [_zero_rows(error, offset)]


def _add_score(*parts):
    return None, sum(p[1] for p in parts), [z for p in parts for z in p[2]]


def _add_inertia(*parts):
    return None, sum(p[1] for p in parts), np.sum([p[2] for p in parts], axis=0)


def final_labels(rows: _Rows, centers, pool, out=None):
    """Labels (a dask array, persisted), weighted inertia and rows per cluster of X
    with respect to ``centers`` (original frame), by the in-memory function: one
    pass. ``out`` is not used (the labels stay on the workers)."""
    import dask.array as da

    dask = _dask()
    shared = dask.delayed(centers)
    if rows.row_scale is None:
        tasks = [
            dask.delayed(_labels_inertia_chunk)(x, w, shared)
            for x, w in zip(rows.x, rows.w)
        ]
    else:
        tasks = [
            dask.delayed(_cosine_labels_inertia_chunk)(x, w, shared, rs)
            for x, w, rs in zip(rows.x, rows.w, rows.row_scale)
        ]
    tasks, (_, inertia, sizes) = _pass(tasks, _add_inertia)
    pieces = [
        da.from_delayed(dask.delayed(operator.getitem)(t, 0), (size,), np.int32)
        for t, size in zip(tasks, rows.sizes)
    ]
    return da.concatenate(pieces), float(inertia), sizes


def initial_centers(rows: _Rows, shift, init: str, n_clusters: int, rng, pool):
    """Initial centres (shifted frame): "random" rows, or k-means|| for it and for
    "k-means++" (k passes over X: k-means|| is its scalable form)."""
    if init == "random":
        w = None
        if rows.weights is not None:
            (w,) = _dask().compute(rows.weights)
            w = w.astype(np.float64)
        indices = _weighted_choice(rng, w, rows.n_samples, n_clusters, replace=False)
        return rows.take(indices) - shift  # for metric="cosine": unit rows
    return kmeans_parallel_centers(rows, shift, n_clusters, rng, 2.0, 5)


# -- a fitted model on dask data: lazy, checked as in memory ----------------------


check = check_dask_array  # X validated without reading it


def _finite_chunk(X):
    _check_finite(X, "X")  # check_array's error, raised where the chunk is read
    return X


def _checked(X):
    """X whose chunks raise check_array's ValueError for NaN or infinity when
    computed: predict, transform and score see their data only then."""
    return X.map_blocks(_finite_chunk, dtype=X.dtype)


def _predict_chunk(X, centers):
    return DENSE.predict(X, centers, None)


def predict(X, centers, pool):
    """Lazy labels of a dask X: same function, same labels as in memory."""
    shared = _dask().delayed(centers)
    return _checked(X).map_blocks(_predict_chunk, shared, drop_axis=1, dtype=np.int32)


def distances(X, centers, pool):
    """Lazy distances of a dask X (validated) to the centres."""
    return _checked(X).map_blocks(
        DENSE.distances,
        _dask().delayed(centers),
        None,
        chunks=(X.chunks[0], (centers.shape[0],)),
        dtype=centers.dtype,
    )


def score(X, centers, sample_weight, pool, *, spherical: bool = False) -> float:
    """Minus the weighted inertia of X: one pass (and one over dask weights).
    ``spherical``: the cosine one (metric="cosine")."""
    weights = _dask_weights(sample_weight, X)
    if is_dask_array(sample_weight):
        dask = _dask()
        _check_weights(
            dask.compute([dask.delayed(_weight_chunk)(w) for w in weights.to_delayed()])[0]
        )
    rows = _Rows(_checked(X), weights, persist=False)
    if not spherical:
        return -final_labels(rows, centers, None)[1]
    dask = _dask()
    shared = dask.delayed(centers)
    tasks = [
        dask.delayed(_cosine_score_chunk)(x, w, shared, int(offset))
        for x, w, offset in zip(rows.x, rows.w, rows.offsets)
    ]
    _, (_, inertia, zero) = _pass(tasks, _add_score)
    _raise_zero_rows(zero)
    return -inertia


# -- metric="cosine" on a fitted model ---------------------------------------------


def _cosine_chunk(X, centers, offsets, method, block_id=None):
    """The in-memory cosine kind's ``method`` (predict, distances) on a chunk,
    zero rows told by X's row numbers."""
    with _rows_from(offsets[block_id[0]]):
        return getattr(COSINE_DENSE, method)(X, centers, None)


def _cosine_map(X, centers, method, **kwargs):
    """Lazy ``method`` of the in-memory cosine kind over the chunks of X."""
    offsets = tuple(int(o) for o in np.cumsum((0, *X.chunks[0])))
    shared = _dask().delayed(centers)
    return _checked(X).map_blocks(_cosine_chunk, shared, offsets, method, **kwargs)


# -- k-means|| -------------------------------------------------------------------


def _parallel_chunk(
    X, w, state, shift, new, first_id, n_ids, ell, seed, step, chunk, row_scale=None
):
    """One k-means|| pass over a chunk.

    Updates the chunk's squared distance to the nearest candidate (and which one)
    against the ``new`` candidates only (shifted frame, ids from ``first_id``;
    with ``row_scale``, metric="cosine": the squared chord ``2 - 2 cos`` to unit
    candidates, as k-means++ in memory, and the drawn rows as unit vectors),
    then draws the next round's candidates: row i is kept if ``u_i * phi <
    ell * w_i * d2_i`` with ``phi`` the total over X, known only after this pass;
    with this chunk's total ``phi_b <= phi`` in its place the rows kept here are a
    superset, which the client cuts down once it knows ``phi``. ``u`` comes from
    the stream of (seed, step, chunk): no dependence on where the task runs.

    Returns the new state (d2, nearest), the chunk's ``phi_b``, the weight of
    each candidate (rows nearest to it) and the drawn rows as (u, mass, rows).
    """
    n, d = X.shape
    if state is None:
        d2 = np.full(n, np.inf, dtype=X.dtype)
        nearest = np.zeros(n, dtype=np.int64)
    else:
        d2, nearest = state[0].copy(), state[1].copy()
    blocks = RowBlocks(n, len(new), d, X.itemsize, None, max_partitions=1)
    # metric="cosine": -2 x.c alone (cosine.unit_terms), whatever the row's norm
    terms = centre_terms if row_scale is None else cosine.unit_terms
    neg2_t, new_sq = terms(new)
    buffer = scratch(blocks, d, X.dtype)
    dots = scratch(blocks, len(new), X.dtype)
    for lo, hi in blocks.blocks(0, n):
        if row_scale is None:
            xs = shifted_block(X, lo, hi, shift, buffer)
            partial = partial_sq(xs, neg2_t, new_sq, out=dots[: hi - lo])
            label, min_sq, _ = _nearest(partial, row_norms_sq(xs))
        else:
            partial = partial_sq(X[lo:hi], neg2_t, new_sq, out=dots[: hi - lo])
            label, best, _ = _nearest(partial)
            min_sq = 2 * cosine.dissimilarity(best, row_scale[lo:hi])
        closer = np.flatnonzero(min_sq < d2[lo:hi]) + lo
        d2[closer] = min_sq[closer - lo]
        nearest[closer] = label[closer - lo] + first_id
    mass = d2.astype(np.float64)
    if w is not None:
        mass *= w
    phi = float(mass.sum())
    weights = np.bincount(nearest, weights=w, minlength=n_ids)
    u = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(step, chunk)))
    u = u.random(n)
    drawn = np.flatnonzero(u * phi < ell * mass)
    if row_scale is None:
        found = X[drawn] - shift
    else:
        found = _unit_rows(X, drawn, row_scale)
    return (d2, nearest), phi, weights, (u[drawn], mass[drawn], found)


def _add_parallel(*parts):
    weights = parts[0][2].copy()
    for part in parts[1:]:
        weights += part[2]
    return None, sum(p[1] for p in parts), weights, None


def _first_index(rows: _Rows, rng) -> int:
    """A row drawn with probability proportional to its weight (uniform without)."""
    totals = rows.weight_totals
    if totals is None:
        return int(rng.integers(rows.n_samples))
    chunk = int(_weighted_choice(rng, totals, len(totals)))
    (w,) = _dask().compute(rows.w[chunk])
    return int(rows.offsets[chunk] + _weighted_choice(rng, w.astype(np.float64), len(w)))


def _parallel_candidates(rows, shift, n_clusters, rng, ell, n_rounds):
    """Candidates of k-means|| (shifted frame) and their weights. ``n_rounds + 1``
    passes over X, and more only while fewer than ``n_clusters`` candidates of
    positive weight are found (data with few distinct rows)."""
    dask = _dask()
    seed = int(rng.integers(2**63))
    first = _first_index(rows, rng)
    candidates = [rows.take([first]) - shift]  # for metric="cosine": a unit row
    states = [None] * len(rows)
    step = 0
    while True:
        new = candidates[-1]
        n_ids = sum(len(c) for c in candidates)
        shared = dask.delayed(new)
        tasks = [
            dask.delayed(_parallel_chunk)(
                x, w, state, shift, shared, n_ids - len(new), n_ids, ell, seed, step, b, rs
            )
            for b, (x, w, state, rs) in enumerate(
                zip(rows.x, rows.w, states, rows.row_scales())
            )
        ]
        results, (_, phi, weights, _) = _pass(tasks, _add_parallel)
        states = [dask.delayed(operator.getitem)(r, 0) for r in results]
        step += 1
        enough = np.count_nonzero(weights) >= n_clusters
        if (step > n_rounds and enough) or phi == 0 or step > 4 * n_rounds + 10:
            break
        (drawn,) = dask.compute([dask.delayed(operator.getitem)(r, 3) for r in results])
        u, mass, found = (np.concatenate([p[i] for p in drawn]) for i in range(3))
        keep = u * phi < ell * mass
        if not keep.any():
            continue
        candidates.append(found[keep])
    return np.concatenate(candidates), weights


def kmeans_parallel_centers(
    rows: _Rows, shift, n_clusters, rng, oversampling_factor, n_rounds
):
    """k-means|| initial centres in the shifted frame: candidates by
    :func:`_parallel_candidates`, reclustered in memory by :func:`_recluster`."""
    ell = oversampling_factor * n_clusters
    candidates, weights = _parallel_candidates(rows, shift, n_clusters, rng, ell, n_rounds)
    positive = weights > 0
    candidates, weights = candidates[positive], weights[positive]
    if len(candidates) <= n_clusters:
        if len(candidates) < n_clusters:
            warn(
                f"k-means|| found only {len(candidates)} distinct candidate(s) for "
                f"n_clusters={n_clusters}: the data have fewer distinct rows; some "
                "centres are repeated.",
                RuntimeWarning,
            )
        return np.resize(candidates, (n_clusters, candidates.shape[1]))
    # metric="cosine": unit candidates, reclustered by spherical k-means
    kind = DENSE if rows.row_scale is None else COSINE_DENSE
    return _recluster(candidates, weights.astype(candidates.dtype), n_clusters, rng, kind)


def _recluster(candidates, weights, n_clusters, rng, kind=DENSE):
    """The best (lowest inertia) of ``_LOCAL_RUNS`` runs of weighted k-means++ and
    Lloyd on the candidates, by the in-memory data kind ``kind`` (dense, or its
    cosine twin) with KMeans' defaults (max_iter=300, tol=1e-4). Weights are not
    scaled as fit scales them: a power of two changes no result, and candidate
    weights are sums of X's weights, whose sum is finite."""
    best = None
    # metric="cosine": a run counts as better by more than rounding only. Runs
    # often find the same partition in another order, at inertias a few ulps
    # apart, and the candidates of X * s are those of X to rounding: the first
    # of such ties wins, so that the fit does not depend on the rows' scale.
    # (The Euclidean kind keeps the strict comparison.)
    tie = 0.0 if kind is DENSE else 1e-10
    with kind.session() as pool:
        data, shift, variance, _, _ = kind.statistics(candidates, weights, True, pool)
        for _ in range(_LOCAL_RUNS):
            centers = kind.initial_centers(data, shift, "k-means++", n_clusters, rng, pool)
            result = kind.run(
                data, shift, centers, "lloyd", max_iter=300, tol=1e-4 * variance,
                variance=variance, pool=pool, callback=None,
            )  # fmt: skip
            centers = result.centers + shift
            inertia = kind.final_labels(data, centers, pool)[1]
            if best is None or inertia < best[1] * (1 - tie):
                best = centers, inertia
    # candidates of extreme magnitude were read scaled (never, in practice)
    return np.ldexp(best[0], getattr(data, "exponent", 0)).astype(candidates.dtype)


def kmeans_parallel(
    X,
    n_clusters: int,
    *,
    sample_weight=None,
    random_state=None,
    oversampling_factor: float = 2.0,
    n_rounds: int = 5,
) -> np.ndarray:
    """Initial centres for k-means on a dask array by k-means|| (Bahmani et al.).

    The first centre is a row drawn at random (in proportion to its weight). Each
    of ``n_rounds`` rounds then draws every row independently with probability
    ``min(1, l * w * d^2 / phi)``, ``l = oversampling_factor * n_clusters``, where
    ``d^2`` is its squared distance to the nearest candidate so far and ``phi``
    the weighted sum of these: about ``l`` candidates per round. The distances
    are kept on the workers and updated against the new candidates only. Each
    candidate is weighted by the weight of the rows nearest to it, and the
    candidates are reclustered in memory into ``n_clusters`` centres by weighted
    k-means++ and Lloyd's algorithm.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        The data.
    n_clusters : int
        Number of centres.
    sample_weight : dask or NumPy array of shape (n_samples,), float or None
        Weights of the samples.
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None
        Source of randomness. Every chunk draws from its own stream, derived from
        it and the (round, chunk) pair: the centres do not depend on the
        scheduler or the number of workers (they do on the chunks).
    oversampling_factor : float, default=2.0
        ``l / n_clusters``: candidates drawn per round, in expectation.
    n_rounds : int, default=5
        Rounds of drawing. Passes over X: ``n_rounds + 2`` (one for the data
        mean, which centres the distances, one per round and one for the first
        centre's distances), and a few more only if fewer than ``n_clusters``
        distinct candidates were found; with fewer distinct rows than
        ``n_clusters`` in X, centres are repeated (with a RuntimeWarning).

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        In X's float dtype.

    Notes
    -----
    ``KMeans(init="k-means||")`` uses the defaults; for others pass this function
    as ``init``, e.g. ``init=functools.partial(kmeans_parallel, n_rounds=3)``
    (a callable ``init`` does not see ``sample_weight``).

    References
    ----------
    B. Bahmani, B. Moseley, A. Vattani, R. Kumar, S. Vassilvitskii, "Scalable
    K-Means++", PVLDB 5(7), 2012.

    Examples
    --------
    >>> import pytest; da = pytest.importorskip("dask.array")
    >>> import numpy as np
    >>> from kmeans import kmeans_parallel
    >>> X = da.from_array(np.array([[0.0, 0], [0, 1], [9, 9], [9, 8]]), chunks=2)
    >>> centers = kmeans_parallel(X, 2, random_state=0)
    >>> sorted(centers[:, 0].tolist())
    [0.0, 9.0]
    """
    owner = "kmeans_parallel"
    n_clusters = validate_int(n_clusters, "n_clusters", owner, low=1)
    n_rounds = validate_int(n_rounds, "n_rounds", owner, low=1)
    oversampling_factor = validate_real(
        oversampling_factor, "oversampling_factor", owner, low=0
    )
    if oversampling_factor == 0:
        raise InvalidParameterError(
            "The 'oversampling_factor' parameter of kmeans_parallel must be a float "
            "in the range (0, inf). Got 0.0 instead."
        )
    if not is_dask_array(X):
        raise TypeError(
            f"{owner} needs a dask array; for data in memory use kmeans_plusplus."
        )
    X = check_dask_array(X, owner)
    if X.shape[0] < n_clusters:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={n_clusters}.")
    rng = check_random_state(random_state)
    with session():
        rows, shift, _, _, _ = statistics(X, sample_weight, False, None)
        centers = kmeans_parallel_centers(
            rows, shift, n_clusters, rng, oversampling_factor, n_rounds
        )
    return (centers + shift).astype(X.dtype)


# -- metric="cosine": the data kind ------------------------------------------------


class _CosineDask:
    """The cosine twin of this module's data kind (see
    :mod:`kmeans._backends.cosine`): spherical k-means on the chunks by the
    in-memory cosine kernels, driven by ``KMeans._fit`` as the Euclidean kind.

    :func:`cosine_statistics` keeps each chunk's ``1/||x||`` on its worker (X is
    never normalised nor copied), and every pass reads them: :func:`run`'s
    spherical Lloyd passes, k-means|| by the squared chord ``2 - 2 cos`` with
    the unit candidates reclustered by the in-memory cosine kind, the final
    labels and inertia ``sum w (1 - cos)``. ``predict``, ``transform`` and
    ``score`` run the in-memory cosine kind on each chunk.
    """

    description = "dask arrays with metric='cosine'"
    algorithms = algorithms
    init_methods = init_methods
    session = staticmethod(session)
    check = staticmethod(check)
    statistics = staticmethod(cosine_statistics)
    scale_weights = staticmethod(scale_weights)
    initial_centers = staticmethod(initial_centers)
    run = staticmethod(run)
    final_labels = staticmethod(final_labels)

    @staticmethod
    def predict(X, centers, pool):
        """Lazy labels of the most similar centres."""
        return _cosine_map(X, centers, "predict", drop_axis=1, dtype=np.int32)

    @staticmethod
    def distances(X, centers, pool):
        """Lazy ``1 - cos`` to every centre."""
        chunks = (X.chunks[0], (centers.shape[0],))
        return _cosine_map(X, centers, "distances", chunks=chunks, dtype=centers.dtype)

    @staticmethod
    def score(X, centers, sample_weight, pool) -> float:
        """Minus ``sum w (1 - cos)``: one pass."""
        return score(X, centers, sample_weight, pool, spherical=True)


cosine_twin = _CosineDask()
