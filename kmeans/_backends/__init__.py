"""Backends: the kernels of ``KMeans`` for data not held in memory.

``KMeans._fit`` is the one fit driver (validation, weight scaling, the runs, the
progress monitor, the choice of the best run, the attributes). It reads the data
only through a *data kind*: ``kmeans._estimator._DENSE`` and ``_SPARSE`` for data
in memory, and a backend module here (:mod:`kmeans._backends.dask`), imported only
when its kind of array arrives. A kind has:

``description``, ``algorithms``, ``init_methods``
    Its name in messages; the algorithms and named inits it runs.
``session()``
    A context manager around a fit or a use of the model; yields ``pool``.
``check(X, owner)``
    X validated (the values may be checked later, by the passes that read them).
``statistics(X, sample_weight, needs_variance, pool)``
    ``(data, shift, variance, weight_max, n_positive)``: ``data`` (with ``.X`` and
    ``.weights``) is what the calls below read; ``shift`` X's mean, the frame of
    the runs; the last two None without weights. Checks the weights.
``scale_weights(data, exponent)``
    ``data`` with its weights multiplied by ``2**-exponent``.
``initial_centers(data, shift, init, n_clusters, rng, pool)``
    Centres (shifted frame) for a named ``init``.
``run(data, shift, centers, algorithm, *, max_iter, tol, variance, pool, callback)``
    One run from ``centers`` (shifted): a :class:`kmeans._lloyd.LloydRun`.
``final_labels(data, centers, pool, out=None)``
    ``(labels, inertia, sizes)`` for ``centers`` (original frame); ``sizes`` may
    be None (then counted from the labels).
``predict(X, centers, pool)``, ``distances(X, centers, pool)``
    A fitted model's labels and distances, for X from ``check``.
``score(X, centers, sample_weight, pool)``
    Minus the weighted inertia of X from ``check``.
"""
