"""Blocks of rows and the threads that run them.

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
from threadpoolctl import ThreadpoolController

# One block's working set (its rows of X and its row of distances): between the
# L2 cache, which a smaller block's distances would not leave while they are
# reduced (1-3 MiB measured best at one thread), and the fixed cost of each NumPy
# call on a block, a GIL handoff of tens of microseconds in threads: at 2 MiB two
# threads ran narrow data (2 features, 8 centres) no faster than one; at 4 MiB
# 1.3x faster, for about 15% more time at one thread (README, Performance).
_BLOCK_BYTES = 4 * 1024 * 1024
_MIN_BLOCK_ROWS = 256
_MAX_BLOCK_ROWS = 65536
# Fixed, not tied to the thread count, so that the order of the reduction, and hence
# every bit of the result, is the same on any machine; 32 keeps two to sixteen
# threads busy without making tiny tasks.
MAX_PARTITIONS = 32


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
        max_partitions: int = MAX_PARTITIONS,
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


def is_sparse(X) -> bool:
    """Whether X is a scipy.sparse matrix or array (told without importing scipy)."""
    return hasattr(X, "tocsr") and hasattr(X, "nnz")


def take_rows(A: np.ndarray, indices) -> np.ndarray:
    """Rows ``indices`` of the dense 2-D ``A``, C-ordered.

    ``np.take`` gathers the rows of a C-ordered array 1.9-7x faster than fancy
    indexing from 32 down to 2 columns (which loops per row); for other layouts it
    is slower, and fancy indexing gives the same values.
    """
    if A.flags.c_contiguous:
        return np.take(A, indices, axis=0)
    return A[indices]


def rows_of(X, indices) -> np.ndarray:
    """Rows ``indices`` of X (dense or CSR) as a dense array."""
    if is_sparse(X):
        return X[np.asarray(indices)].toarray()
    return take_rows(X, indices)


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


def exact_shift(mean: np.ndarray, variance) -> np.ndarray:
    """The shift by which rows are centred: ``mean`` rounded to a multiple of
    the power of two at most a sixteenth of the features' spread
    (``variance``: their mean variance).

    Centring is for accuracy: distances far from the origin lose digits to
    ``||x||^2``, and a shift within a sixteenth of the spread of the mean keeps
    all of them. A shift of few significant bits also keeps data of few bits
    (integers, values on a coarse grid) exact: ``x - shift`` and the products
    are then computed without rounding, so exact ties between distances stay
    exact and go to the lowest index, as with ``argmin`` of the exact
    distances (a shift by the plain mean rounds them either way).

    No shift (zeros) when the mean is within the spread of the origin
    (``||mean||^2 <= n_features * variance``): centring gains at most a bit
    there, and where that spread comes from a few rows far from the others (an
    outlier at 1e12 among rows of unit spread) a shift by their mean would take
    the others' digits: ``x - shift`` rounds to the shift's precision.
    """
    if variance is None or not 0 < variance < np.inf:
        return mean
    location = np.asarray(mean, np.float64)
    with np.errstate(over="ignore"):
        if float(location @ location) <= location.size * variance:
            return np.zeros_like(mean)
    grid = np.ldexp(1.0, int(np.floor(np.log2(np.sqrt(variance)))) - 4)
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = np.round(mean.astype(np.float64) / grid) * grid
    if not np.isfinite(rounded).all():
        return mean
    return rounded.astype(mean.dtype)


def centres_shift(centers: np.ndarray) -> np.ndarray:
    """The frame of the passes that know only the centres (final labels,
    ``predict``, ``score``, ``transform``): :func:`exact_shift` of their mean
    for their spread, in their dtype."""
    mean = centers.mean(axis=0)
    spread = float(np.mean((centers - mean) ** 2, dtype=np.float64))
    return exact_shift(mean, spread)


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
