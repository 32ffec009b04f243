"""What NumPy's calls allow: the assignment step alone against scikit-learn's
whole Lloyd iteration (issue #17).

For one of the harness's workloads (``kmeans/_bench/workloads.py``), on 1 or 2
threads, times in one process, round after round:

- scikit-learn's and this package's Lloyd iteration, ``(T(11) - T(1)) / 10``
  from the same initial centres, ``tol=0``;
- "floors": only the nearest centre of every row, with nothing else of an
  iteration (no update, no labels kept, no bookkeeping), in parts of a fixed
  number of rows, each thread its own parts and buffers, BLAS on one thread:

  - ``centred``: ``[x - shift, 1] @ [-2 C^T; ||c||^2]`` and ``argmin``, the
    row layout's product as the kernel makes it (the copy included);
  - ``uncentred``: ``x @ -2 C^T``, ``+ ||c||^2`` and ``argmin``, no copy (too
    imprecise for data far from the origin, but cheaper);
  - ``columns`` (2-8 features): the kernel's column layout
    (``kernel.column_rows``, one product, ``kernel.nearest_columns``).

A floor above 1.0 means that those NumPy calls alone take longer than
scikit-learn's whole iteration (assignment and update). Run from the
repository root, on an otherwise idle machine::

    python benchmarks/floor.py W2 --threads 2 --rounds 15   # about 2 minutes
    python benchmarks/floor.py W1 --threads 1 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def floors(X, centers, threads: int) -> dict:
    """Every floor's callable, by name."""
    from kmeans._core.kernel import column_coefficients, column_rows, nearest_columns

    n, d = X.shape
    k = centers.shape[0]
    shift = X.mean(axis=0, dtype=np.float64).astype(X.dtype)
    shifted = centers - shift
    coef = np.vstack([-2 * shifted.T, np.einsum("ij,ij->i", shifted, shifted)[None]])
    coef = coef.astype(X.dtype)
    neg2_t = np.ascontiguousarray(-2 * centers.T)
    centers_sq = np.einsum("ij,ij->i", centers, centers)
    by_columns = column_coefficients(shifted, X.dtype)

    def centred(step):
        def run(lo, hi):
            rows = np.empty((step, d + 1), X.dtype)
            out = np.empty((step, k), X.dtype)
            for s in range(lo, hi, step):
                m = min(s + step, hi) - s
                np.subtract(X[s : s + m], shift, out=rows[:m, :d])
                rows[:m, d] = 1
                np.matmul(rows[:m], coef, out=out[:m]).argmin(axis=1)

        return run

    def uncentred(step):
        def run(lo, hi):
            out = np.empty((step, k), X.dtype)
            for s in range(lo, hi, step):
                m = min(s + step, hi) - s
                dist = np.matmul(X[s : s + m], neg2_t, out=out[:m])
                dist += centers_sq
                dist.argmin(axis=1)

        return run

    def columns(step):
        def run(lo, hi):
            buffer = np.empty((d + 2) * step, X.dtype)
            out = np.empty(k * step, X.dtype)
            for s in range(lo, hi, step):
                e = min(s + step, hi)
                cols = column_rows(X, s, e, shift, buffer)
                dist = np.matmul(by_columns, cols, out=out[: k * (e - s)].reshape(k, -1))
                nearest_columns(dist, values=False)

        return run

    edges = np.linspace(0, n, 2 * threads + 1).astype(int)
    pool = ThreadPoolExecutor(threads)

    def threaded(run):
        if threads == 1:
            return lambda: run(0, n)
        return lambda: list(pool.map(run, edges[:-1], edges[1:]))

    found = {}
    for step in (256, 1024, 4096, 16384):
        found[f"centred, {step} rows"] = threaded(centred(step))
        found[f"uncentred, {step} rows"] = threaded(uncentred(step))
    if d <= 8:
        for step in (4096, 16384, 65536):
            found[f"columns, {step} rows"] = threaded(columns(step))
    return found


def per_iteration(fit) -> float:
    start = time.perf_counter()
    fit(1)
    one = time.perf_counter() - start
    start = time.perf_counter()
    fit(11)
    return (time.perf_counter() - start - one) / 10


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", help="W1 ... W5 (kmeans/_bench/workloads.py)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ["KMEANS_NUM_THREADS"] = str(args.threads)
    from sklearn.cluster import KMeans as SKLearnKMeans
    from threadpoolctl import threadpool_limits

    from kmeans import KMeans
    from kmeans._bench.workloads import WORKLOADS

    X, init = WORKLOADS[args.workload].data()
    params = {"n_clusters": len(init), "init": init, "n_init": 1, "tol": 0.0}
    params["algorithm"] = "lloyd"
    methods = {
        "scikit-learn, iteration": lambda: per_iteration(
            lambda m: SKLearnKMeans(max_iter=m, **params).fit(X)
        ),
        "kmeans, iteration": lambda: per_iteration(
            lambda m: KMeans(max_iter=m, **params).fit(X)
        ),
    }
    times = {name: [] for name in methods}
    with threadpool_limits(args.threads, user_api="openmp"):
        found = floors(X, init, args.threads)
        times.update({name: [] for name in found})
        for _ in range(args.rounds):
            for name, method in methods.items():
                times[name].append(method())
            with threadpool_limits(1, user_api="blas"):
                for name, run in found.items():
                    start = time.perf_counter()
                    run()
                    times[name].append(time.perf_counter() - start)
    theirs = np.array(times["scikit-learn, iteration"])
    print(
        f"{args.workload} {X.shape[0]}x{X.shape[1]} k={len(init)} {X.dtype}, "
        f"{args.threads} thread(s), {args.rounds} rounds; ratio to scikit-learn's "
        "iteration, median of the rounds (min-max)\n"
    )
    print("| | ms | ratio |\n|---|---|---|")
    for name, values in times.items():
        ratios = np.array(values) / theirs
        print(
            f"| {name} | {np.median(values) * 1e3:.1f} | {np.median(ratios):.2f} "
            f"({ratios.min():.2f}-{ratios.max():.2f}) |"
        )


if __name__ == "__main__":
    main()
