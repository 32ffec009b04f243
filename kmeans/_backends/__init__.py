"""Backends: how the estimators read each kind of data.

``KMeans._fit`` is the one fit driver; it reads data only through a *data kind*
(:func:`kind_of`): ``DENSE`` or ``SPARSE`` (:mod:`kmeans._backends.memory`, on
the core kernels), or a module imported only when its kind of array arrives
(:mod:`kmeans._backends.dask`: dask is an optional extra; and
:mod:`kmeans._backends.array_api` for PyTorch, CuPy, JAX, ... arrays, one kind
per namespace and device, through the optional array-api-compat).
A data kind has ``description`` (for messages), ``algorithms`` and
``init_methods`` (the names it runs) and:

- ``session()``: context manager around any use; yields ``pool``.
- ``check(X, owner=)``: X validated (values may be checked by the passes later).
- ``statistics(X, sample_weight, needs_variance, pool)``: ``(data, shift,
  variance, weight_max, n_positive)``, weights checked; ``data`` (``.X``,
  ``.weights``) is what the calls below read; the last two are None without
  weights.
- ``scale_weights(data, exponent)``: ``data`` with weights times ``2**-exponent``.
- ``initial_centers(data, shift, init, n_clusters, rng, pool)``: for a named init,
  in the shifted frame.
- ``run(data, shift, centers, algorithm, *, max_iter, tol, variance, pool,
  callback)``: one run from shifted centres, a :class:`kmeans._core.lloyd.LloydRun`.
- ``final_labels(data, centers, pool, out=None)``: ``(labels, inertia, sizes or
  None)`` for centres in the original frame.
- ``predict(X, centers, pool)``, ``distances(X, centers, pool)``, ``score(X,
  centers, sample_weight, pool)``: a fitted model's uses, X from ``check``.

Each kind has a twin for ``metric="cosine"`` with the same interface
(:func:`kmeans._backends.cosine.cosine_kind`: those of ``DENSE`` and ``SPARSE``
there, a kind's own ``cosine_twin`` for the Dask and array API kinds).
"""

from __future__ import annotations

import importlib

import numpy as np

from .._validation import is_dask_array, is_sparse
from .memory import DENSE, SPARSE


def kind_of(X):
    """The data kind of X: dense or sparse kernels, or the Dask backend."""
    if is_dask_array(X):
        return importlib.import_module(".dask", __name__)
    if is_array_api(X):
        return importlib.import_module(".array_api", __name__).kind(X)
    return SPARSE if is_sparse(X) else DENSE


def is_array_api(X) -> bool:
    """Whether X is an array of an array-API library other than NumPy and dask
    (PyTorch, CuPy, JAX, array-api-strict, ...): told without importing them."""
    if isinstance(X, (np.ndarray, np.generic)) or is_dask_array(X) or is_sparse(X):
        return False
    module = type(X).__module__.split(".")[0]
    return module in ("torch", "cupy", "jax", "jaxlib") or hasattr(X, "__array_namespace__")


def array_library(X) -> str:
    """The name of the library of an array-API array, for messages: "torch",
    "jax" (whose arrays are of module jaxlib), "array_api_strict", ..."""
    module = type(X).__module__.split(".")[0]
    return "jax" if module == "jaxlib" else module


def to_numpy(x):
    """``x`` itself, or a NumPy copy of an array-API array (from any device)."""
    if not is_array_api(x):
        return x
    return importlib.import_module(".array_api", __name__).to_numpy(x)


def to_host(x):
    """``x`` as a NumPy array when it is an array of another library, else ``x``."""
    return to_numpy(x) if is_array_api(x) else x
