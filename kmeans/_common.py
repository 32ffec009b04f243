"""Block kernels shared by initialisation, the Lloyd core and prediction.

The data are read in fixed blocks of rows. Each block is shifted (centred) into a
scratch buffer, so that the expanded distance ||x||^2 - 2 x.c + ||c||^2 keeps its
precision far from the origin without copying X, and its cross term is one matrix
product of bounded size. Blocks are grouped into a fixed number of contiguous
partitions that run in a thread pool (NumPy and BLAS release the GIL); partial
results are combined in partition order, so results do not depend on the number of
threads. Nothing here validates its input: callers have done it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

# Working set of one block (its rows of X and its row of distances) aims at the
# L2 cache: measured best between 1 and 3 MiB on W1-W4 (2 cores, Zen 3).
_BLOCK_BYTES = 2 * 1024 * 1024
_MIN_BLOCK_ROWS = 256
_MAX_BLOCK_ROWS = 16384
# Fixed, not tied to the thread count, so that the order of the reduction, and hence
# every bit of the result, is the same on any machine; 32 keeps two to sixteen
# threads busy without making tiny tasks.
_MAX_PARTITIONS = 32


def effective_n_threads() -> int:
    """Number of worker threads: ``KMEANS_NUM_THREADS`` or the usable CPUs."""
    value = os.environ.get("KMEANS_NUM_THREADS", "").strip()
    if value:
        try:
            n_threads = int(value)
        except ValueError:
            raise ValueError(
                f"KMEANS_NUM_THREADS must be a positive integer, got {value!r}."
            ) from None
        if n_threads < 1:
            raise ValueError(f"KMEANS_NUM_THREADS must be >= 1, got {n_threads}.")
        return n_threads
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class RowBlocks:
    """A fixed division of ``n_samples`` rows into blocks and partitions.

    Parameters
    ----------
    n_samples : int
        Number of rows.
    width : int
        Columns of the per-block distance matrix (clusters or candidates).
    n_features : int
        Number of features.
    itemsize : int
        Bytes per element of the data.
    pool : ThreadPoolExecutor or None
        Where partitions run; None runs them in the calling thread.
    even : bool, default=False
        Make the blocks of equal size (to a row) rather than all full but the
        last: for a few blocks, as in a minibatch, which then share the threads
        evenly.
    max_partitions : int, default=32
        At most this many partitions (one for a Dask chunk, whose partitions
        would run in one thread anyway).
    """

    def __init__(
        self,
        n_samples: int,
        width: int,
        n_features: int,
        itemsize: int,
        pool,
        *,
        even: bool = False,
        max_partitions: int = _MAX_PARTITIONS,
    ):
        rows = _BLOCK_BYTES // ((width + n_features) * itemsize)
        self.block_rows = int(min(max(rows, _MIN_BLOCK_ROWS), _MAX_BLOCK_ROWS))
        if even and n_samples > 0:
            n_even = -(-n_samples // self.block_rows)
            self.block_rows = -(-n_samples // n_even)
        n_blocks = -(-n_samples // self.block_rows)
        n_parts = min(n_blocks, max_partitions)
        block_edges = np.linspace(0, n_blocks, n_parts + 1).round().astype(int)
        self.partitions = [
            (int(lo) * self.block_rows, min(int(hi) * self.block_rows, n_samples))
            for lo, hi in zip(block_edges[:-1], block_edges[1:])
        ]
        self.pool = pool

    def blocks(self, start: int, stop: int) -> Iterator[tuple[int, int]]:
        """The blocks (start, stop) of one partition."""
        for lo in range(start, stop, self.block_rows):
            yield lo, min(lo + self.block_rows, stop)

    def map(self, func: Callable[[int, int], object]) -> list:
        """Call ``func(start, stop)`` on every partition; results in partition order."""
        return self.map_indexed(lambda part: func(*self.partitions[part]))

    def map_indexed(self, func: Callable[[int], object]) -> list:
        """Call ``func(i)`` for every partition index; results in partition order."""
        indices = range(len(self.partitions))
        if self.pool is None or len(indices) == 1:
            return [func(i) for i in indices]
        return list(self.pool.map(func, indices))


@functools.cache
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    # Built once: inspecting the loaded libraries costs ~0.3 ms, limiting ~10 us.
    return ThreadpoolController()


class WorkerPool(ThreadPoolExecutor):
    """A thread pool that knows its number of threads."""

    def __init__(self, n_threads: int):
        super().__init__(max_workers=n_threads)
        self.n_threads = n_threads


# BLAS's thread count belongs to the process, and fits may run in several threads
# at once: the first one in holds BLAS to one thread, the last one out restores
# it, and only a fit that runs alone may lift it (blas_threads).
_BLAS_LOCK = threading.Lock()
_blas_holders = 0
_blas_hold = None


@contextmanager
def _blas_held_to_one():
    global _blas_holders, _blas_hold
    with _BLAS_LOCK:
        if _blas_holders == 0:
            _blas_hold = _blas_controller().limit(limits=1, user_api="blas")
        _blas_holders += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _blas_holders -= 1
            if _blas_holders == 0:
                _blas_hold.restore_original_limits()
                _blas_hold = None


@contextmanager
def thread_pool(n_threads: int | None = None):
    """A thread pool for :class:`RowBlocks`, with BLAS held to one thread.

    BLAS stays at one thread even when the pool is not used (one thread asked for,
    or None yielded), so that no product is split differently from one machine
    to another: the threads of the pool are the only parallelism, but for the
    products whose rounding cannot reach the results (:func:`blas_threads`).
    """
    if n_threads is None:
        n_threads = effective_n_threads()
    with _blas_held_to_one():
        if n_threads <= 1:
            yield None
        else:
            with WorkerPool(n_threads) as pool:
                yield pool


@contextmanager
def blas_threads(pool: WorkerPool | None):
    """BLAS at as many threads as ``pool`` (one for None), for the products whose
    rounding does not reach the results: the float32 products of
    :class:`Float32Screen`. BLAS splits a product among its threads differently
    from one thread count to another, and rounds it differently. While another
    fit runs in the process, BLAS stays at one thread, which that fit relies on.
    """
    if pool is None:
        yield
        return
    with _BLAS_LOCK:  # held throughout: no fit starts while BLAS is lifted
        if _blas_holders != 1:
            lifted = contextlib.nullcontext()
        else:
            lifted = _blas_controller().limit(limits=pool.n_threads, user_api="blas")
        with lifted:
            yield


def shifted_block(X: np.ndarray, lo: int, hi: int, shift, scratch: np.ndarray):
    """Rows ``lo:hi`` of X minus ``shift``, written into the C-ordered ``scratch``.

    Every kernel reads X through here, so that the arithmetic, and every bit of the
    result, is the same whatever X's memory layout (C, Fortran, strided, memmap)
    and dtype (cast to the scratch's dtype).
    """
    return np.subtract(X[lo:hi], shift, out=scratch[: hi - lo])


def scratch(blocks: RowBlocks, width: int, dtype) -> np.ndarray:
    """A per-task buffer of one block's rows."""
    return np.empty((blocks.block_rows, width), dtype)


def column_mean(X: np.ndarray, pool) -> np.ndarray:
    """Mean of each column (accumulated in float64), in X's dtype."""
    n_samples, n_features = X.shape
    blocks = RowBlocks(n_samples, 1, n_features, X.itemsize, pool)

    def run(start: int, stop: int) -> np.ndarray:
        buffer = scratch(blocks, n_features, X.dtype)
        total = np.zeros(n_features)
        for lo, hi in blocks.blocks(start, stop):
            total += shifted_block(X, lo, hi, 0, buffer).sum(axis=0, dtype=np.float64)
        return total

    parts = blocks.map(run)
    return (np.sum(parts, axis=0) / n_samples).astype(X.dtype)


def _row_norms_sq(Xs: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", Xs, Xs)


def _weighted_sum(values: np.ndarray, weights: np.ndarray | None) -> float:
    return float(values.sum() if weights is None else values @ weights)


def assign_block(
    Xs: np.ndarray, neg2_centers_t: np.ndarray, centers_sq: np.ndarray, dots: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre of each (shifted) row, and the squared distance to it.

    Ties go to the lowest centre index (``argmin`` returns the first minimum).
    ``dots`` is a scratch buffer of shape (len(Xs), n_clusters).
    """
    np.matmul(Xs, neg2_centers_t, out=dots)
    dots += centers_sq
    labels = dots.argmin(axis=1)
    min_sq = dots[np.arange(len(labels)), labels]
    min_sq += _row_norms_sq(Xs)
    np.maximum(min_sq, 0, out=min_sq)
    return labels, min_sq


def augmented_coefficients(centers: np.ndarray, dtype) -> np.ndarray:
    """``[-2 C^T; ||c||^2]``, shape (n_features + 1, n_clusters): multiplied by
    rows ``[x, 1]`` it gives ``||c||^2 - 2 x.c``, the squared distances but for
    ``||x||^2``, in one matrix product and no extra pass."""
    n_features = centers.shape[1]
    coef = np.empty((n_features + 1, centers.shape[0]), dtype)
    coef[:n_features] = -2 * centers.T
    coef[n_features] = np.einsum("ij,ij->i", centers, centers)
    return coef


def _gamma(n_terms: int, unit_roundoff: float) -> float:
    """Higham's gamma_n: relative error bound of an n-term dot product."""
    return n_terms * unit_roundoff / (1 - n_terms * unit_roundoff)


class Float32Screen:
    """Nearest centres of float64 rows ``[x, 1]`` through a float32 product.

    A float32 product runs twice as fast as a float64 one. Each of its entries is
    within a rigorous bound of the exact ``||c||^2 - 2 x.c`` (Higham's gamma for
    rounding the inputs and summing ``width`` terms, plus an absolute term for
    float32 underflow), and so is the float64 product's. Where the float32
    nearest centre beats the runner-up by more than twice the sum of both bounds,
    the float64 product has the same nearest centre; the other rows (ties, or
    values whose products may leave float32's range) are multiplied again in
    float64, one by one. The labels are thus those of float64 products, whatever
    the rounding of the float32 one (which may use several BLAS threads), at the
    cost of the float32 product wherever the clusters are not ambiguous to seven
    digits. Data with many exact ties (small integers, duplicated centres) make
    many rows ambiguous: ``labels`` counts them, for callers to turn the screen
    off.

    Made by :meth:`for_coefficients` from the float64
    :func:`augmented_coefficients` of the centres.
    """

    # Where it pays (minibatch steps of 1024 rows, 2 cores; time screened / not):
    # 0.62-0.96 from 64 features and 128 clusters on, 0.74-0.85 at 128 features,
    # but 1.04-1.6 below 32 features or 128 clusters, where two extra passes of
    # argmin over the distances cost more than halving the product saves.
    MIN_CLUSTERS = 128
    MIN_WIDTH = 65  # rows [x, 1]: 64 features

    def __init__(self, coef: np.ndarray, coef32: np.ndarray):
        width = coef.shape[0]
        self.coef = coef
        self.coef32 = coef32
        # ||c||^2 is the last row of coef; 1.01: slack for rounding the bound itself
        self.center_norm = 1.01 * float(np.sqrt(max(coef[-1].max(), 0.0)))
        self.relative = 2.02 * (_gamma(width + 2, 2.0**-24) + _gamma(width, 2.0**-53))
        # 2**-124, not 2**-148: inputs and products may be flushed to zero (FTZ)
        self.absolute = 2.02 * width * 2.0**-124

    @classmethod
    def for_coefficients(cls, coef: np.ndarray) -> Float32Screen | None:
        """A screen for these float64 coefficients, or None where it would not
        pay (few clusters or features, another dtype) or cannot be used (centres
        out of float32's range)."""
        width, n_clusters = coef.shape
        if coef.dtype != np.float64 or n_clusters < cls.MIN_CLUSTERS:
            return None
        if width < cls.MIN_WIDTH:
            return None
        with np.errstate(over="ignore"):
            coef32 = coef.astype(np.float32)
        if not np.isfinite(coef32).all():
            return None
        return cls(coef, coef32)

    def labels(self, rows: np.ndarray, dots32: np.ndarray) -> tuple[np.ndarray, int]:
        """Labels of the float64 ``rows`` ([x, 1]) and the number of rows that
        were ambiguous; ``dots32`` is a float32 scratch of shape (len(rows),
        n_clusters)."""
        n_rows = rows.shape[0]
        with np.errstate(over="ignore", invalid="ignore"):
            rows32 = rows.astype(np.float32)
            block = np.matmul(rows32, self.coef32, out=dots32)
        labels = block.argmin(axis=1)
        every = np.arange(n_rows)
        best = block[every, labels].astype(np.float64)
        block[every, labels] = np.inf
        runner_up = block[every, block.argmin(axis=1)]
        c = self.center_norm
        with np.errstate(over="ignore", invalid="ignore"):
            row_norms = np.sqrt(_row_norms_sq(rows[:, :-1]))
            # sum |r_m coef_mj| <= 2 ||x|| ||c|| + ||c||^2 (Cauchy-Schwarz)
            magnitude = 2 * row_norms * c + c * c
            slack = self.relative * magnitude
            slack += self.absolute * (1 + row_norms + 2 * c + c * c)
            gap = runner_up - best
            # An infinite or NaN gap (values beyond float32's range) is ambiguous
            # too; and so is a row whose partial sums may overflow: an entry gone
            # to +inf on the way would never be seen as the best.
            decided = (gap > slack) & np.isfinite(gap) & (magnitude < 2.0**126)
        ambiguous = np.flatnonzero(~decided)
        if ambiguous.size:
            # Row by row through one buffer on one BLAS thread, so that a row's
            # float64 values depend on the row alone: which rows are ambiguous
            # depends on the float32 rounding, hence on the BLAS threads.
            row = np.empty((1, rows.shape[1]))
            exact = np.empty((1, self.coef.shape[1]))
            with (
                _blas_controller().limit(limits=1, user_api="blas"),
                np.errstate(over="ignore", invalid="ignore"),
            ):
                for i in ambiguous:
                    row[0] = rows[i]
                    labels[i] = np.matmul(row, self.coef, out=exact).argmin()
        return labels, ambiguous.size


def centred_centers(centers: np.ndarray, shift: np.ndarray):
    """Shifted centres, -2 times their transpose, and their squared norms."""
    shifted = centers - shift
    return shifted, np.ascontiguousarray(-2 * shifted.T), _row_norms_sq(shifted)


def labels_inertia(
    X: np.ndarray,
    centers: np.ndarray,
    sample_weight: np.ndarray | None,
    pool,
    labels_out: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Labels of the nearest centres and the exact weighted inertia.

    This is the one code path for final labels, ``predict`` and ``score``, so that
    they agree bit for bit. Data and centres are shifted by the centres' mean
    (which is derived from the centres alone) to keep the expanded distance
    accurate far from the origin; the inertia is summed from ``(x - c)**2``.
    """
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    shift = centers.mean(axis=0)
    shifted, neg2_t, centers_sq = centred_centers(centers, shift)
    labels = np.empty(n_samples, np.int32) if labels_out is None else labels_out
    blocks = RowBlocks(n_samples, n_clusters, n_features, centers.itemsize, pool)

    def run(start: int, stop: int) -> float:
        # buffers in the centres' dtype: X of another float dtype is cast block by block
        Xs = scratch(blocks, n_features, centers.dtype)
        dots = scratch(blocks, n_clusters, centers.dtype)
        inertia = 0.0
        for lo, hi in blocks.blocks(start, stop):
            xs = shifted_block(X, lo, hi, shift, Xs)
            block_labels, _ = assign_block(xs, neg2_t, centers_sq, dots[: hi - lo])
            labels[lo:hi] = block_labels
            xs -= shifted[block_labels]
            w = None if sample_weight is None else sample_weight[lo:hi]
            # summed in float64: float32 squares of values near 1e19 overflow
            inertia += _weighted_sum(np.einsum("ij,ij->i", xs, xs, dtype=np.float64), w)
        return inertia

    return labels, float(sum(blocks.map(run)))


def distances(X: np.ndarray, centers: np.ndarray, pool) -> np.ndarray:
    """Euclidean distances of every row to every centre, shape (n_samples, n_clusters).

    Computed in float64 block by block whatever the dtype (near-zero distances lose
    most of their digits to the expanded form in float32), and returned in the
    centres' dtype.
    """
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    centers64 = centers.astype(np.float64)
    shift = centers64.mean(axis=0)
    _, neg2_t, centers_sq = centred_centers(centers64, shift)
    out = np.empty((n_samples, n_clusters), centers.dtype)
    blocks = RowBlocks(n_samples, n_clusters, n_features, 8, pool)

    def run(start: int, stop: int) -> None:
        Xs = scratch(blocks, n_features, np.float64)
        dots = scratch(blocks, n_clusters, np.float64)
        for lo, hi in blocks.blocks(start, stop):
            xs = shifted_block(X, lo, hi, shift, Xs)
            block = np.matmul(xs, neg2_t, out=dots[: hi - lo])
            block += centers_sq
            block += _row_norms_sq(xs)[:, None]
            np.maximum(block, 0, out=block)
            np.sqrt(block, out=out[lo:hi])

    blocks.map(run)
    return out


def mean_variance(X: np.ndarray, mean: np.ndarray, pool) -> float:
    """Mean over features of the (population) variance of each feature."""
    n_samples, n_features = X.shape
    blocks = RowBlocks(n_samples, 1, n_features, X.itemsize, pool)

    def run(start: int, stop: int) -> float:
        Xs = scratch(blocks, n_features, X.dtype)
        total = 0.0
        for lo, hi in blocks.blocks(start, stop):
            xs = shifted_block(X, lo, hi, mean, Xs)
            total += float(np.einsum("ij,ij->", xs, xs, dtype=np.float64))
        return total

    return sum(blocks.map(run)) / (n_samples * n_features)
