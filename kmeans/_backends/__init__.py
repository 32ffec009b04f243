"""Backends: the kernels of ``KMeans`` for data not held in memory.

``KMeans._fit`` is the one fit driver; it reads data only through a *data kind*:
``_DENSE`` or ``_SPARSE`` (``kmeans._estimator._Kernels``) in memory, or a module
here, imported only when its kind of array arrives (:mod:`kmeans._backends.dask`).
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
  callback)``: one run from shifted centres, a :class:`kmeans._lloyd.LloydRun`.
- ``final_labels(data, centers, pool, out=None)``: ``(labels, inertia, sizes or
  None)`` for centres in the original frame.
- ``predict(X, centers, pool)``, ``distances(X, centers, pool)``, ``score(X,
  centers, sample_weight, pool)``: a fitted model's uses, X from ``check``.
"""
