"""Dask backend: :class:`~kmeans.KMeans` on a ``dask.array`` and k-means||.

Dask is imported here, inside the functions, and this module only when X is a dask
array: ``import kmeans`` and NumPy input never touch it.

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
cluster empty makes one more pass for the farthest rows, as in memory.

X itself is persisted once per fit when it fits in half of the cluster's memory;
otherwise (data larger than memory) every pass reads it from its source.
"""

from __future__ import annotations

import functools
import operator
import os
import sys
import warnings

import numpy as np

from ._core.blocks import RowBlocks, _blas_controller, mean_variance, scratch, shifted_block
from ._core.dense import distances
from ._core.dense import labels_inertia as _labels_inertia
from ._core.kernel import centre_terms, partial_sq, row_norms_sq
from ._core.kernel import nearest as _nearest
from ._core.lloyd import LloydRun, iterate, lloyd_pass, shift_is_foldable
from ._core.sampling import weighted_choice as _weighted_choice
from ._core.update import (
    farthest_candidates,
    new_partition_sums,
    pick_farthest,
    relocate_and_average,
)
from ._exceptions import warn
from ._validation import _check_not_empty, _dimension_error, check_sample_weight

__all__ = ["kmeans_parallel"]

_FAN_IN = 8  # children per node of the reduction tree
# Runs of k-means++ and Lloyd on the weighted k-means|| candidates, the best kept:
# they cost nothing beside a pass over X (about 10 k candidates), and one run
# alone lands in a visibly worse local optimum on some seeds (measured: 64 blobs
# in 32-D, 1 seed in 2 at n = 2e6).
_LOCAL_RUNS = 10

#: Number of passes over X made by the last call of a function of this module
#: that reads X (fit, kmeans_parallel, score), for benchmarks and tests.
PASSES = {"count": 0}


def _dask():
    import dask

    return dask


def _one_blas_thread(func):
    """Run ``func`` with BLAS at one thread in this process, where the chunk tasks
    of the synchronous and threaded schedulers run: a product on two BLAS threads
    per task is many times slower than one (measured under load: 360 vs 31 ms for a
    Lloyd pass over a 250,000 x 32 chunk at k = 64). The workers of
    dask.distributed have one already (OPENBLAS_NUM_THREADS=1 and the like); lazy
    results (predict, transform) run as the caller's process is set up."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _blas_controller().limit(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper


def _count_pass() -> None:
    PASSES["count"] += 1


# -- input ---------------------------------------------------------------------


def check_dask_array(X, owner: str = "KMeans", name: str = "X"):
    """Validate a 2-D dask array and return it as float32/float64 in whole rows.

    Lazy: the values are checked for NaN and infinity by the first pass of
    ``fit`` (for free, from the column sums), not here.
    """
    if X.ndim != 2:
        raise _dimension_error(X, name, owner)
    if any(np.isnan(size) for sizes in X.chunks for size in sizes):
        raise ValueError(
            f"{name} has unknown chunk sizes (NaN in {name}.chunks), which {owner} "
            f"needs to split the work by rows: call {name}.compute_chunk_sizes() "
            "first, or build the array with known chunks."
        )
    _check_not_empty(X.shape, owner)
    kind = X.dtype.kind
    if kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {X.dtype}.")
    if kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {X.dtype}.")
    if X.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        X = X.astype(np.float64)
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})  # whole rows: a distance needs every feature
    return X


def _dask_weights(sample_weight, X):
    """sample_weight as a dask array in X's row chunks and dtype, or None.

    A dask array is checked by the first pass (see :func:`_check_weight_stats`);
    anything else by :func:`~kmeans._validation.check_sample_weight` now.
    """
    import dask.array as da

    if sample_weight is None:
        return None
    if _is_dask(sample_weight):
        if sample_weight.ndim != 1:
            raise ValueError(
                "Sample weights must be 1D array or scalar, got an array of shape "
                f"{sample_weight.shape}."
            )
        if sample_weight.shape[0] != X.shape[0]:
            raise ValueError(
                f"sample_weight.shape == {sample_weight.shape}, expected ({X.shape[0]},)!"
            )
        if sample_weight.dtype.kind not in "biuf":
            raise TypeError(
                "sample_weight must be numeric, got an array of dtype "
                f"{sample_weight.dtype}."
            )
        return sample_weight.astype(X.dtype).rechunk((X.chunks[0],))
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
        keep = np.flatnonzero(sizes)
        x = X.to_delayed()[:, 0]
        w = [None] * len(x) if weights is None else weights.to_delayed()
        self.x = [x[i] for i in keep]
        self.w = [w[i] for i in keep]
        self.sizes = sizes[keep]
        self.offsets = offsets[keep]
        self.n_samples, self.n_features = X.shape
        self.dtype = X.dtype

    def __len__(self) -> int:
        return len(self.x)

    def take(self, indices) -> np.ndarray:
        """The rows at ``indices`` (a NumPy array, in that order); reads only the
        chunks that hold them."""
        dask = _dask()
        indices = np.asarray(indices, dtype=np.int64)
        chunk = np.searchsorted(self.offsets, indices, side="right") - 1
        order = np.argsort(indices, kind="stable")  # sorted gathers (dask-ml #39)
        parts = []
        for b in np.unique(chunk):
            local = np.sort(indices[chunk == b] - self.offsets[b])
            parts.append(dask.delayed(operator.getitem)(self.x[b], local))
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


def _pass(tasks: list, combine):
    """One pass: persist the per-chunk ``tasks`` (their results stay where they were
    computed) and bring back their tree-reduced ``combine``. Returns both."""
    dask = _dask()
    _count_pass()
    tasks = list(dask.persist(*tasks))
    (total,) = dask.compute(_tree(tasks, combine))
    return tasks, total


# -- statistics: one pass --------------------------------------------------------


def _stats_chunk(X, w):
    """Column sums (float64), mean (X's dtype), squared deviation from that mean,
    whether X has NaN or infinity here, and the weights' summary."""
    n, d = X.shape
    total = X.sum(axis=0, dtype=np.float64)
    mean = (total / n).astype(X.dtype)
    square = mean_variance(X, mean, None) * n * d
    bad = None
    if not (np.isfinite(total).all() and np.isfinite(square)):
        bad = "NaN" if np.isnan(X).any() else "infinity"
    return n, total, mean, square, bad, None if w is None else _weight_stats_chunk(w)


def _weight_stats_chunk(w):
    """What :func:`_check_weight_stats` needs of a chunk of weights."""
    with np.errstate(over="ignore", invalid="ignore"):
        return (
            float(w.sum(dtype=np.float64)),
            float(w.max()),
            float(w.min()),
            int(np.count_nonzero(w)),
            bool(np.isnan(w).any()),
            bool(np.isinf(w).any()),
        )


def _check_weight_stats(parts) -> np.ndarray:
    """Raise as check_sample_weight does; return the total weight of each chunk."""
    totals, maxima, minima, nonzero, nan, inf = (np.array(v) for v in zip(*parts))
    if nan.any():
        raise ValueError("Input sample_weight contains NaN.")
    if inf.any():
        raise ValueError("Input sample_weight contains infinity.")
    if (minima < 0).any():
        raise ValueError("sample_weight must be non-negative; found negative value(s).")
    if not nonzero.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    if not np.isfinite(totals.sum()):
        raise ValueError(
            "sample_weight is too large: its sum overflows. Divide the weights by a "
            "common factor (only their ratios matter for the centres)."
        )
    return totals, float(maxima.max()), int(nonzero.sum())


def _statistics(rows: _Rows):
    """The data mean (X's dtype, the shift of the centred frame), the mean feature
    variance around it, and the weights' chunk totals, maximum and number of
    non-zero entries; one pass over X."""
    dask = _dask()
    _count_pass()
    tasks = [dask.delayed(_stats_chunk)(x, w) for x, w in zip(rows.x, rows.w)]
    (parts,) = dask.compute(tasks)
    for part in parts:
        if part[4] is not None:
            raise ValueError(
                "Input X contains NaN." if part[4] == "NaN" else
                "Input X contains infinity or a value too large for "
                f"{rows.dtype!r}."
            )  # fmt: skip
    n = np.array([p[0] for p in parts], dtype=np.float64)
    sums = np.array([p[1] for p in parts])
    shift = (sums.sum(axis=0) / n.sum()).astype(rows.dtype)
    s = shift.astype(np.float64)
    # sum of (x - s)^2 from each chunk's sum of (x - m)^2 about its own mean m
    square = 0.0
    for count, total, mean, sq, _, _ in parts:
        m = mean.astype(np.float64)
        square += sq + 2 * (m - s) @ (total - count * m) + count * float((m - s) @ (m - s))
    variance = square / (n.sum() * rows.n_features)
    weights = None
    if rows.w[0] is not None:
        weights = _check_weight_stats([p[5] for p in parts])
    return shift, variance, weights


# -- Lloyd -----------------------------------------------------------------------


def _lloyd_chunk(X, w, state, centers, shift, fold_shift, with_inertia):
    """One Lloyd pass over a chunk, by the in-memory kernel. ``state`` is the
    chunk's (labels, cluster sums, ...) from the previous pass, or None; it is
    copied, not modified. Returns the new state: labels, sums of shape
    (k, d + 1), inertia (or None) and the number of labels changed."""
    n, d = X.shape
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
    )
    return labels, sums[0], inertia, n_changed


def _add_lloyd(*states):
    sums = states[0][1].copy()
    for state in states[1:]:
        sums += state[1]
    inertias = [s[2] for s in states]
    inertia = None if inertias[0] is None else sum(inertias)
    return None, sums, inertia, sum(s[3] for s in states)


def _far_chunk(X, w, state, shift, centers, n_rows, offset):
    """The chunk's candidates for the empty clusters (global indices, distances,
    shifted rows, labels, weights) and its rows of positive weight per cluster."""
    labels = state[0]
    blocks = RowBlocks(len(X), 1, X.shape[1], X.itemsize, None, max_partitions=1)
    index, dist = farthest_candidates(X, shift, w, centers, labels, n_rows, blocks)
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
    _count_pass()
    tasks = [
        dask.delayed(_far_chunk)(x, w, state, shift, centers, empty.size, offset)
        for x, w, state, offset in zip(rows.x, rows.w, states, rows.offsets)
    ]
    (parts,) = dask.compute(tasks)
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


def lloyd(rows: _Rows, shift, centers_init, *, max_iter, tol, fold_shift, callback=None):
    """One run of Lloyd's algorithm on chunks, with the in-memory stopping rules
    (:func:`kmeans._lloyd.iterate`). Centres in the shifted frame."""
    dask = _dask()
    states = [None] * len(rows)
    d = rows.n_features

    def step(centers):
        nonlocal states
        shared = dask.delayed(centers)  # one key, sent once, read by every task
        tasks = [
            dask.delayed(_lloyd_chunk)(
                x, w, state, shared, shift, fold_shift, callback is not None
            )
            for x, w, state in zip(rows.x, rows.w, states)
        ]
        states, total = _pass(tasks, _add_lloyd)
        _, sums, inertia, n_changed = total
        new_centers = _update_centers(
            rows, states, shift, centers, sums[:, :d], sums[:, d].copy()
        )
        return new_centers, n_changed, inertia

    return iterate(step, centers_init, max_iter=max_iter, tol=tol, callback=callback)


# -- labels and inertia ----------------------------------------------------------


def _labels_inertia_chunk(X, w, centers):
    labels, inertia = _labels_inertia(X, centers, w, None)
    return labels, inertia, np.bincount(labels, minlength=centers.shape[0])


def _add_inertia(*parts):
    return None, sum(p[1] for p in parts), np.sum([p[2] for p in parts], axis=0)


def labels_inertia(rows: _Rows, centers):
    """Labels (a dask array, persisted), weighted inertia and rows per cluster of X
    with respect to ``centers`` (original frame), by the in-memory function: one
    pass."""
    import dask.array as da

    dask = _dask()
    shared = dask.delayed(centers)
    tasks = [
        dask.delayed(_labels_inertia_chunk)(x, w, shared) for x, w in zip(rows.x, rows.w)
    ]
    tasks, (_, inertia, sizes) = _pass(tasks, _add_inertia)
    pieces = [
        da.from_delayed(dask.delayed(operator.getitem)(t, 0), (size,), np.int32)
        for t, size in zip(tasks, rows.sizes)
    ]
    return da.concatenate(pieces), float(inertia), sizes


def _predict_chunk(X, centers):
    return _labels_inertia(X, centers, None, None)[0]


def _transform_chunk(X, centers):
    return distances(X, centers, None)


def predict(centers, X):
    """Lazy labels of a dask X (validated): same function, same labels as in
    memory."""
    shared = _dask().delayed(centers)
    return X.map_blocks(_predict_chunk, shared, drop_axis=1, dtype=np.int32)


def transform(centers, X):
    """Lazy distances of a dask X (validated) to the centres."""
    return X.map_blocks(
        _transform_chunk,
        _dask().delayed(centers),
        chunks=(X.chunks[0], (centers.shape[0],)),
        dtype=centers.dtype,
    )


def check_test_data(est, X):
    """Validate a dask X given to predict, transform or score."""
    from ._validation import check_is_fitted

    check_is_fitted(est)
    owner = type(est).__name__
    X = check_dask_array(X, owner)
    if X.shape[1] != est.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {owner} is expecting "
            f"{est.n_features_in_} features as input."
        )
    return X


@_one_blas_thread
def score(centers, X, sample_weight) -> float:
    """Minus the weighted inertia of a dask X (validated); one pass over X (and
    one over the weights, to check them, when they are a dask array)."""
    dask = _dask()
    if _is_dask(sample_weight):
        weights = _dask_weights(sample_weight, X)
        (parts,) = dask.compute(
            [dask.delayed(_weight_stats_chunk)(w) for w in weights.to_delayed()]
        )
        _check_weight_stats(parts)
    else:
        weights = _dask_weights(sample_weight, X)
    PASSES["count"] = 0
    rows = _Rows(X, weights, persist=False)
    return -labels_inertia(rows, centers)[1]


def _is_dask(value) -> bool:
    return hasattr(value, "dask") and hasattr(value, "chunks")


# -- k-means|| -------------------------------------------------------------------


def _parallel_chunk(X, w, state, shift, new, first_id, n_ids, ell, seed, step, chunk):
    """One k-means|| pass over a chunk.

    Updates the chunk's squared distance to the nearest candidate (and which one)
    against the ``new`` candidates only (shifted frame, ids from ``first_id``),
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
    neg2_t, new_sq = centre_terms(new)
    buffer = scratch(blocks, d, X.dtype)
    dots = scratch(blocks, len(new), X.dtype)
    for lo, hi in blocks.blocks(0, n):
        xs = shifted_block(X, lo, hi, shift, buffer)
        partial = partial_sq(xs, neg2_t, new_sq, out=dots[: hi - lo])
        label, min_sq, _ = _nearest(partial, row_norms_sq(xs))
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
    return (d2, nearest), phi, weights, (u[drawn], mass[drawn], X[drawn] - shift)


def _add_parallel(*parts):
    weights = parts[0][2].copy()
    for part in parts[1:]:
        weights += part[2]
    return None, sum(p[1] for p in parts), weights, None


def _first_index(rows: _Rows, weights_info, rng) -> int:
    """A row drawn with probability proportional to its weight (uniform without)."""
    if weights_info is None:
        return int(rng.integers(rows.n_samples))
    totals = weights_info[0]
    chunk = int(_weighted_choice(rng, totals, len(totals)))
    (w,) = _dask().compute(rows.w[chunk])
    return int(rows.offsets[chunk] + _weighted_choice(rng, w.astype(np.float64), len(w)))


def _parallel_candidates(rows, shift, n_clusters, rng, weights_info, ell, n_rounds):
    """Candidates of k-means|| (shifted frame) and their weights. ``n_rounds + 1``
    passes over X, and more only while fewer than ``n_clusters`` candidates of
    positive weight are found (data with few distinct rows)."""
    dask = _dask()
    seed = int(rng.integers(2**63))
    first = _first_index(rows, weights_info, rng)
    candidates = [rows.take([first]) - shift]
    states = [None] * len(rows)
    step = 0
    while True:
        new = candidates[-1]
        n_ids = sum(len(c) for c in candidates)
        shared = dask.delayed(new)
        tasks = [
            dask.delayed(_parallel_chunk)(
                x, w, state, shift, shared, n_ids - len(new), n_ids, ell, seed, step, b
            )
            for b, (x, w, state) in enumerate(zip(rows.x, rows.w, states))
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
    rows: _Rows, shift, n_clusters, rng, weights_info, oversampling_factor, n_rounds
):
    """k-means|| initial centres in the shifted frame: candidates by
    :func:`_parallel_candidates`, reclustered locally by weighted k-means++ and
    Lloyd (this library's, in memory)."""
    from ._estimator import KMeans

    ell = oversampling_factor * n_clusters
    candidates, weights = _parallel_candidates(
        rows, shift, n_clusters, rng, weights_info, ell, n_rounds
    )
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
    local = KMeans(n_clusters, n_init=_LOCAL_RUNS, random_state=rng, algorithm="lloyd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        local.fit(candidates, sample_weight=weights)
    return local.cluster_centers_


@_one_blas_thread
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
    from ._exceptions import InvalidParameterError
    from ._validation import check_random_state, validate_int, validate_real

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
    if not _is_dask(X):
        raise TypeError(
            f"{owner} needs a dask array; for data in memory use kmeans_plusplus."
        )
    X = check_dask_array(X, owner)
    if X.shape[0] < n_clusters:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={n_clusters}.")
    PASSES["count"] = 0
    rows = _Rows(X, _dask_weights(sample_weight, X))
    shift, _, weights_info = _statistics(rows)
    rng = check_random_state(random_state)
    centers = kmeans_parallel_centers(
        rows, shift, n_clusters, rng, weights_info, oversampling_factor, n_rounds
    )
    return (centers + shift).astype(X.dtype)


# -- fit -------------------------------------------------------------------------


@_one_blas_thread
def fit(est, X, sample_weight):
    """``est.fit`` on a dask array: validation, initialisation, runs, attributes."""
    from ._estimator import _warn_if_fewer_clusters
    from ._progress import FitMonitor
    from ._validation import check_random_state

    est._validate_params()
    owner = type(est).__name__
    X = check_dask_array(X, owner)
    n_samples, n_features = X.shape
    k = est.n_clusters
    if n_samples < k:
        raise ValueError(f"n_samples={n_samples} should be >= n_clusters={k}.")
    if est.refine is not None:
        raise TypeError(
            f"refine={est.refine!r} does not accept dask arrays yet; use refine=None."
        )
    if est.algorithm in ("elkan", "hamerly"):
        warn(
            f"algorithm={est.algorithm!r} is not implemented for dask arrays; using "
            "'lloyd', which gives the same result.",
            RuntimeWarning,
        )
    PASSES["count"] = 0
    weights = _dask_weights(sample_weight, X)
    rows = _Rows(X, weights)
    shift, variance, weights_info = _statistics(rows)
    weight_exponent = 0
    if weights_info is not None:
        # a power of two, as in memory: exact, and no overflow in the sums
        weight_exponent = max(int(np.frexp(weights_info[1])[1]), 0)
        scale = X.dtype.type(np.ldexp(1.0, -weight_exponent))
        if weight_exponent:
            rows = _Rows(rows.X, rows.weights * scale, persist=rows.persisted)
        if isinstance(est.init, str) and weights_info[2] < k:
            raise ValueError(
                f"Only {weights_info[2]} sample(s) have a non-zero weight, fewer than "
                f"n_clusters={k}: initialisation needs at least n_clusters of them."
            )
    tol = est.tol * variance if est.tol > 0 else 0.0
    fold_shift = (
        X.dtype == np.float64
        and k < n_features
        and shift_is_foldable(shift, variance * n_features)
    )
    init, n_init = est._explicit_init(est.init, est._resolved_n_init(), n_features, X.dtype)
    rng = check_random_state(est.random_state)
    monitor = FitMonitor(n_init, est.verbose, est.callback)
    best = None
    try:
        for run in range(n_init):
            monitor.start_init(run)
            centers = _initial_centers(est, rows, X, shift, init, rng, weights_info)
            monitor.start_iterations(run)
            result: LloydRun = lloyd(
                rows,
                shift,
                centers,
                max_iter=est.max_iter,
                tol=tol,
                fold_shift=fold_shift,
                callback=monitor if monitor.active else None,
            )
            centers = result.centers + shift
            labels, inertia, sizes = labels_inertia(rows, centers)
            monitor.end_run(result.n_iter, result.stop_reason)
            if best is None or inertia < best[2]:
                best = (centers, labels, inertia, result.n_iter, sizes)
            if monitor.stopped:
                break
    finally:
        monitor.close()
    centers, labels, inertia, n_iter, sizes = best
    _warn_if_fewer_clusters(np.count_nonzero(sizes), k)
    est.cluster_centers_ = centers
    est.labels_ = labels
    with np.errstate(over="ignore"):
        est.inertia_ = float(np.ldexp(inertia, weight_exponent))
    est.n_iter_ = int(n_iter)
    est.n_features_in_ = n_features
    for name in ("n_swap_trials_", "n_swaps_", "feature_names_in_"):
        if hasattr(est, name):
            delattr(est, name)
    return rows.X


def _initial_centers(est, rows, X, shift, init, rng, weights_info) -> np.ndarray:
    """Initial centres of one run on a dask X, in the shifted frame."""
    k = est.n_clusters
    if isinstance(init, str):
        if init == "random":
            w = None
            if rows.weights is not None:
                (w,) = _dask().compute(rows.weights)
                w = w.astype(np.float64)
            indices = _weighted_choice(rng, w, rows.n_samples, k, replace=False)
            return rows.take(indices) - shift
        # "k-means||", and "k-means++" which needs k passes: its scalable form
        return kmeans_parallel_centers(rows, shift, k, rng, weights_info, 2.0, 5)
    if callable(init):
        centers = est._check_centers(
            init(X, k, random_state=rng),
            X.shape[1],
            X.dtype,
            "the centers returned by init",
        )
        return centers - shift
    return init - shift
