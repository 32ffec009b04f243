"""KMeans on a Dask LocalCluster of this machine against the in-memory NumPy path.

Measures, in one run:

1. time per Lloyd iteration on n x d float32 data (default 10^7 x 32, k = 64),
   in memory (NumPy path, all cores) and on a LocalCluster (one single-threaded
   worker process per core), from the same initial centres; the ratio is the
   headline. Per-iteration time is the difference between fits of 2 and 2 + m
   iterations, divided by m, so that the fixed passes (statistics, final labels)
   cancel;
2. k-means|| initialisation: its passes over the data (counted by the library)
   and its time, with the inertia it leads to against k-means++ in memory;
3. data larger than the workers' memory: a stack of .npy files (written under
   --tmp and deleted afterwards) bigger than the cluster's total memory limit,
   clustered by reading it from disk at every pass;
4. dask-ml's KMeans on the same in-memory dask array, when it is installed.

Usage::

    python benchmarks/dask_scale.py          # full: 1.3 GB in memory, 1.5 GB on disk
    python benchmarks/dask_scale.py --quick  # a smoke run, about a minute

Timings depend on the machine's load: run it on an idle machine. Results are
printed and written as JSON (--output).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time

import numpy as np


def _blobs(da, n, d, k, chunk_rows, seed=0):
    """Gaussian blobs, generated chunk by chunk where the array is computed."""
    centers = np.random.default_rng(seed).uniform(-10, 10, (k, d)).astype(np.float32)

    def block(block_info=None):
        info = block_info[None]
        (lo, hi), _ = info["array-location"]
        rng = np.random.default_rng([seed, lo])
        labels = rng.integers(k, size=hi - lo)
        noise = rng.standard_normal((hi - lo, d), dtype=np.float32)
        return centers[labels] + noise

    chunks = (tuple(min(chunk_rows, n - lo) for lo in range(0, n, chunk_rows)), (d,))
    return da.map_blocks(block, chunks=chunks, dtype=np.float32)


def _per_iteration(fit, base=2, extra=3):
    """Seconds per iteration: (T(base + extra) - T(base)) / extra."""
    t0 = time.perf_counter()
    fit(base)
    t1 = time.perf_counter()
    fit(base + extra)
    t2 = time.perf_counter()
    return ((t2 - t1) - (t1 - t0)) / extra, t2 - t1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="n = 10^6; 0.75 GB on disk, 2 x 300 MB workers")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--d", type=int, default=32)
    parser.add_argument("--k", type=int, default=64)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--ooc-gb", type=float, default=None, help="size on disk")
    parser.add_argument("--ooc-memory-limit", default="500MB", help="per worker")
    parser.add_argument("--tmp", default=tempfile.gettempdir())
    parser.add_argument("--skip-ooc", action="store_true")
    parser.add_argument("--output", default=None, help="JSON file")
    args = parser.parse_args(argv)
    n = args.n or (10**6 if args.quick else 10**7)
    ooc_gb = args.ooc_gb or (0.75 if args.quick else 1.5)
    ooc_limit = args.ooc_memory_limit
    if args.quick and ooc_limit == "500MB":
        ooc_limit = "300MB"  # a worker needs ~150 MB to start

    import dask
    import dask.array as da
    from distributed import Client, LocalCluster

    from kmeans import KMeans, _dask, kmeans_plusplus

    d, k = args.d, args.k
    report = {
        "machine": f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "dask": dask.__version__,
        "n": n,
        "d": d,
        "k": k,
        "workers": args.workers,
        "chunk_rows": args.chunk_rows,
    }
    print(f"n={n} d={d} k={k} float32, {args.workers} workers x 1 thread")

    cluster = LocalCluster(
        n_workers=args.workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        memory_limit=f"{max(2, 2 * n * d * 4 / 2**30 / args.workers + 1):.1f}GiB",
    )
    client = Client(cluster)
    Xd = _blobs(da, n, d, k, args.chunk_rows).persist()
    X = Xd.compute()
    init = X[np.random.default_rng(1).choice(n, k, replace=False)]

    # 1. Lloyd, per iteration
    def numpy_fit(iters):
        return KMeans(k, init=init, max_iter=iters, tol=0).fit(X)

    def dask_fit(iters):
        return KMeans(k, init=init, max_iter=iters, tol=0).fit(Xd)

    numpy_fit(1)  # warm-up (imports, BLAS)
    dask_fit(1)
    t_numpy, _ = _per_iteration(numpy_fit)
    t_dask, _ = _per_iteration(dask_fit)
    report["lloyd_s_per_iter"] = {"numpy": t_numpy, "dask": t_dask}
    report["lloyd_ratio_dask_over_numpy"] = t_dask / t_numpy
    print(
        f"Lloyd per iteration: NumPy {t_numpy * 1e3:.0f} ms, Dask {t_dask * 1e3:.0f} ms "
        f"(x{t_dask / t_numpy:.2f})"
    )

    # 4. dask-ml, same data and init
    try:
        from dask_ml.cluster import KMeans as DaskMLKMeans
    except ImportError:
        report["dask_ml"] = "not installed"
        print("dask-ml: not installed")
    else:

        def dask_ml_fit(iters):
            DaskMLKMeans(n_clusters=k, init=init, max_iter=iters, tol=0).fit(Xd)

        dask_ml_fit(1)
        t_ml, _ = _per_iteration(dask_ml_fit)
        report["lloyd_s_per_iter"]["dask_ml"] = t_ml
        print(f"dask-ml per iteration: {t_ml * 1e3:.0f} ms (x{t_ml / t_numpy:.2f} NumPy)")

    # 2. k-means|| initialisation
    t0 = time.perf_counter()
    centers = _dask.kmeans_parallel(Xd, k, random_state=0)
    t_init = time.perf_counter() - t0
    passes = _dask.PASSES["count"]
    t0 = time.perf_counter()
    kmeans_plusplus(X, k, random_state=0)
    t_pp = time.perf_counter() - t0
    parallel_fit = KMeans(k, init=centers).fit(Xd)
    plusplus_fit = KMeans(k, n_init=1, random_state=0).fit(X)
    report["kmeans_parallel"] = {
        "seconds": t_init,
        "passes_over_X": passes,
        "rounds": 5,
        "inertia_after_lloyd": parallel_fit.inertia_,
        "kmeans_plusplus_in_memory_seconds": t_pp,
        "kmeans_plusplus_inertia_after_lloyd": plusplus_fit.inertia_,
    }
    print(
        f"k-means||: {t_init:.1f} s, {passes} passes over X (5 rounds; k-means++ in "
        f"memory {t_pp:.1f} s); inertia after Lloyd {parallel_fit.inertia_:.6g} vs "
        f"k-means++ {plusplus_fit.inertia_:.6g}"
    )
    client.close()
    cluster.close()

    # 3. larger than memory
    if not args.skip_ooc:
        report["out_of_core"] = _out_of_core(args, da, KMeans, _dask, ooc_gb, ooc_limit)

    if args.output:
        with open(args.output, "w") as f:
            json.dump(report, f, indent=2)
        print(f"wrote {args.output}")
    return report


def _out_of_core(args, da, KMeans, _dask, gb, memory_limit):
    from distributed import Client, LocalCluster

    d, k = args.d, args.k
    n = int(gb * 2**30 / (d * 4))
    chunk_rows = min(args.chunk_rows, 250_000)
    free = shutil.disk_usage(args.tmp).free
    if free < 2 * gb * 2**30:
        print(f"out of core: skipped, {free / 2**30:.1f} GiB free in {args.tmp}")
        return "skipped: disk"
    path = tempfile.mkdtemp(prefix="kmeans-dask-", dir=args.tmp)
    try:
        with (
            LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                memory_limit=memory_limit,
            ) as cluster,
            Client(cluster),
        ):
            t0 = time.perf_counter()
            da.to_npy_stack(path, _blobs(da, n, d, k, chunk_rows, seed=2), axis=0)
            t_write = time.perf_counter() - t0
            X = da.from_npy_stack(path, mmap_mode="r")
            size = X.nbytes / 2**30
            print(
                f"out of core: {size:.2f} GiB of .npy files, {args.workers} workers x "
                f"{memory_limit} (written in {t_write:.0f} s)"
            )
            init = np.asarray(X[:k].compute())
            t0 = time.perf_counter()
            km = KMeans(k, random_state=0, max_iter=5, tol=0).fit(X)
            t_fit = time.perf_counter() - t0
            passes = _dask.PASSES["count"]
            t_iter, _ = _per_iteration(
                lambda it: KMeans(k, init=init, max_iter=it, tol=0).fit(X), extra=2
            )
            print(
                f"out of core: fit (k-means|| + 5 iterations) {t_fit:.0f} s, "
                f"{passes} passes; {t_iter:.1f} s per iteration; inertia {km.inertia_:.6g}"
            )
            return {
                "gib_on_disk": size,
                "memory_limit_per_worker": memory_limit,
                "fit_seconds": t_fit,
                "passes": passes,
                "s_per_iter": t_iter,
                "completed": True,
            }
    finally:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
