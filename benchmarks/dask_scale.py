"""KMeans on a Dask LocalCluster of this machine against the in-memory NumPy path.

Measures, in one run:

1. time per Lloyd iteration on n x d float32 data (default 10^7 x 32, k = 64),
   in memory (NumPy path, Lloyd, all cores; Hamerly, the default there, for
   reference) and on a LocalCluster (one single-threaded worker process per
   core), from the same initial centres; the ratio is the headline.
   Per-iteration time is the median time between the ends of consecutive
   iterations (callback time stamps), so that the fixed passes (statistics, final
   labels) and load spikes do not count; whole fits divided by their iterations
   are reported too;
2. k-means|| initialisation: its passes over the data (counted by the library)
   and its time, with the inertia it leads to against k-means++ in memory;
3. data larger than the workers' memory: a stack of .npy files (written under
   --tmp and deleted afterwards) bigger than the cluster's total memory limit,
   clustered by reading it from disk at every pass;
4. dask-ml's KMeans on the same in-memory dask array, from the same initial
   centres, when it is installed (whole fit per iteration: it has no callback).

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
import sys
import tempfile
import time
from functools import partial

import numpy as np


def _blob_rows(lo, hi, d, centers, seed):
    """Rows ``lo:hi`` of the Gaussian blobs: the same wherever they are made."""
    rng = np.random.default_rng([seed, lo])
    labels = rng.integers(len(centers), size=hi - lo)
    return centers[labels] + rng.standard_normal((hi - lo, d), dtype=np.float32)


def _blobs(da, n, d, k, chunk_rows, seed=0, in_memory=False):
    """Gaussian blobs, as a dask array generated chunk by chunk on the workers,
    or (``in_memory``) the same rows as one NumPy array."""
    centers = np.random.default_rng(seed).uniform(-10, 10, (k, d)).astype(np.float32)
    if in_memory:
        X = np.empty((n, d), np.float32)
        for lo in range(0, n, chunk_rows):
            hi = min(lo + chunk_rows, n)
            X[lo:hi] = _blob_rows(lo, hi, d, centers, seed)
        return X

    def block(block_info=None):
        (lo, hi), _ = block_info[None]["array-location"]
        return _blob_rows(lo, hi, d, centers, seed)

    chunks = (tuple(min(chunk_rows, n - lo) for lo in range(0, n, chunk_rows)), (d,))
    return da.map_blocks(block, chunks=chunks, dtype=np.float32)


def _passes_over_X() -> int | None:
    """Passes over X of the library's last Dask call: a diagnostic counter
    (``PASSES``) of its Dask module, found wherever that module lives; None if no
    loaded module of the package has one."""
    modules = [m for name, m in sys.modules.items() if name.startswith("kmeans.")]
    return next((m.PASSES["count"] for m in modules if hasattr(m, "PASSES")), None)


def _iteration_times(fit, max_iter):
    """Median seconds between the ends of consecutive iterations (the callback's
    calls: the per-iteration inertia it asks for is computed, in both paths), and
    seconds per iteration of the whole fit (its fixed passes included)."""
    stamps = []
    t0 = time.perf_counter()
    km = fit(max_iter, lambda info: stamps.append(time.perf_counter()))
    total = time.perf_counter() - t0
    return float(np.median(np.diff(stamps))), total / km.n_iter_


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="n = 10^6; 0.75 GB on disk")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--d", type=int, default=32)
    parser.add_argument("--k", type=int, default=64)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    # 10^6 x 32 float32 = 128 MiB, dask's default chunk size
    parser.add_argument("--chunk-rows", type=int, default=1_000_000)
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
    from distributed import Client, LocalCluster, wait

    from kmeans import KMeans, kmeans_parallel, kmeans_plusplus

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
    X = _blobs(da, n, d, k, args.chunk_rows, in_memory=True)  # the same rows
    init = X[np.random.default_rng(1).choice(n, k, replace=False)]

    # 1. Lloyd, per iteration
    # Lloyd in memory too: the default there, Hamerly (k * d >= 200), skips most
    # distances once few points move, which the Dask path (Lloyd only) does not
    def numpy_fit(iters, callback=None, algorithm="lloyd"):
        return KMeans(
            k, init=init, max_iter=iters, tol=0, callback=callback, algorithm=algorithm
        ).fit(X)

    def dask_fit(iters, callback=None):
        return KMeans(k, init=init, max_iter=iters, tol=0, callback=callback).fit(Xd)

    wait(Xd)
    numpy_fit(1)  # warm-up (imports, BLAS)
    dask_fit(1)
    iters = 4 if args.quick else 8
    # alternated, best of two: other processes on the machine weigh on one or the other
    numpy_runs, dask_runs = [], []
    for _ in range(2):
        numpy_runs.append(_iteration_times(numpy_fit, iters))
        dask_runs.append(_iteration_times(dask_fit, iters))
    (t_numpy, whole_numpy), (t_dask, whole_dask) = min(numpy_runs), min(dask_runs)
    t_hamerly, _ = _iteration_times(partial(numpy_fit, algorithm="hamerly"), iters)
    report["lloyd_s_per_iter"] = {"numpy": t_numpy, "dask": t_dask}
    report["numpy_hamerly_s_per_iter"] = t_hamerly
    report["lloyd_ratio_dask_over_numpy"] = t_dask / t_numpy
    report["whole_fit_s_per_iter"] = {"numpy": whole_numpy, "dask": whole_dask}
    print(
        f"Lloyd per iteration: NumPy {t_numpy * 1e3:.0f} ms, Dask {t_dask * 1e3:.0f} ms "
        f"(x{t_dask / t_numpy:.2f}); whole fits of {iters} iterations, per "
        f"iteration: NumPy {whole_numpy * 1e3:.0f} ms, Dask {whole_dask * 1e3:.0f} ms; "
        f"in memory with Hamerly (the default there) {t_hamerly * 1e3:.0f} ms"
    )

    # 4. dask-ml, same data and init
    try:
        from dask_ml.cluster import KMeans as DaskMLKMeans
    except ImportError:
        report["dask_ml"] = "not installed"
        print("dask-ml: not installed")
    else:
        t0 = time.perf_counter()
        ml = DaskMLKMeans(n_clusters=k, init=init, max_iter=iters, tol=0).fit(Xd)
        whole_ml = (time.perf_counter() - t0) / ml.n_iter_
        report["whole_fit_s_per_iter"]["dask_ml"] = whole_ml
        print(
            f"dask-ml, whole fit of {ml.n_iter_} iterations, per iteration: "
            f"{whole_ml * 1e3:.0f} ms (x{whole_ml / whole_dask:.2f} this package's)"
        )

    # 2. k-means|| initialisation
    t0 = time.perf_counter()
    centers = kmeans_parallel(Xd, k, random_state=0)
    t_init = time.perf_counter() - t0
    passes = _passes_over_X()
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
        report["out_of_core"] = _out_of_core(args, da, KMeans, ooc_gb, ooc_limit)

    if args.output:
        with open(args.output, "w") as f:
            json.dump(report, f, indent=2)
        print(f"wrote {args.output}")
    return report


def _out_of_core(args, da, KMeans, gb, memory_limit):
    from distributed import Client, LocalCluster

    d, k = args.d, args.k
    n = int(gb * 2**30 / (d * 4))
    chunk_rows = min(args.chunk_rows, 250_000)  # 32 MiB: workers hold a few
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
            passes = _passes_over_X()
            t_iter, _ = _iteration_times(
                lambda it, cb: KMeans(k, init=init, max_iter=it, tol=0, callback=cb).fit(X),
                4,
            )
            print(
                f"out of core: fit (k-means|| + {km.n_iter_} iterations) {t_fit:.0f} s, "
                f"{passes} passes; {t_iter:.1f} s per iteration; inertia {km.inertia_:.6g}"
            )
            return {
                "gib_on_disk": size,
                "memory_limit_per_worker": memory_limit,
                "fit_seconds": t_fit,
                "passes": passes,
                "n_iter": km.n_iter_,
                "s_per_iter": t_iter,
                "completed": True,
            }
    finally:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
