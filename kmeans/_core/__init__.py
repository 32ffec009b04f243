"""The hot loop: everything that reads X, and nothing that validates.

One fit is, for each data kind (dense NumPy or CSR), the same few pieces:

- :mod:`.blocks`: fixed blocks and partitions of rows, the thread pool, BLAS
  held to one thread (results never depend on the thread count);
- :mod:`.kernel`: **the assignment kernel**, the one nearest-centre computation
  (one matrix product per block, then one reduction), dense or CSR rows;
- :mod:`.update`: the one centre update (scatter-add of moved rows into
  per-partition sums; empty clusters take the farthest rows);
- :mod:`.sampling`: the one weighted sampler of rows;
- :mod:`.init`: k-means++ and random seeds;
- :mod:`.lloyd`: the Lloyd pass, the shared iteration driver and stopping rule;
- :mod:`.pruned`: Hamerly's and Elkan's bounds around the same kernel;
- :mod:`.minibatch`: the minibatch step; :mod:`.swap`: random swap refinement;
- :mod:`.dense` and :mod:`.sparse`: whole-array passes (final labels, predict,
  score, transform) and data statistics.

Callers (the estimators, the Dask backend) validate first and pick the kernels
of their data kind with :func:`kernels_for`. Dense centres are handled in a
frame shifted by the data mean (``shift``); CSR data are never shifted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import blocks, dense, init, sparse
from .blocks import is_sparse, rows_of
from .lloyd import kmeans_single_lloyd
from .pruned import kmeans_single_elkan, kmeans_single_hamerly


@dataclass(frozen=True)
class Kernels:
    """The functions that read X, for one kind of input (dense or CSR)."""

    column_mean: Callable
    mean_variance: Callable
    init_methods: dict
    algorithms: dict
    rows: Callable  # rows of X by index, as a dense array
    labels_inertia: Callable
    distances: Callable


DENSE = Kernels(
    blocks.column_mean,
    blocks.mean_variance,
    init.INIT_METHODS,
    {
        "lloyd": kmeans_single_lloyd,
        "elkan": kmeans_single_elkan,
        "hamerly": kmeans_single_hamerly,
    },
    rows_of,
    dense.labels_inertia,
    dense.distances,
)
# Sparse data: Lloyd only (a pruned algorithm asked for falls back to it, with the
# same result), and no centring (see sparse.py).
SPARSE = Kernels(
    sparse.column_mean,
    sparse.mean_variance,
    init.INIT_METHODS,
    {"lloyd": kmeans_single_lloyd},
    rows_of,
    sparse.labels_inertia,
    sparse.distances,
)


def kernels_for(X) -> Kernels:
    """The kernels of X's kind."""
    return SPARSE if is_sparse(X) else DENSE
