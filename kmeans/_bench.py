"""Side-by-side comparison of k-means implementations (``kmeans bench``).

Every method gets the same data, the same initial centres, the same iteration
budget and the same stopping rule; the final inertia of each is recomputed here,
in float64, from the centres it returned. Each (workload, method) pair runs in a
fresh subprocess, so that peak memory is measured on its own and one library's
idle threads cannot slow the next. Peers that are not installed are skipped with
a note. Results go to JSON and, with matplotlib, to a PNG chart.

``--minibatch`` compares MiniBatchKMeans with scikit-learn's instead: the same
initial centres (k-means++), batch size and number of minibatches (early stopping
off, so that both see the same number of samples), with the final inertia
recomputed the same way, and the inertia of the full KMeans from the same
centres beside.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

# name: (n_samples, n_features, n_clusters, dtype, clustered)
WORKLOADS = {
    "W1": (1_000_000, 2, 8, "float64", False),
    "W2": (500_000, 32, 100, "float64", False),
    "W3": (100_000, 64, 256, "float64", False),
    "W4": (20_000, 784, 10, "float64", False),
    "W5": (500_000, 32, 100, "float32", False),
    "B1": (1_000_000, 2, 8, "float64", True),
    "B2": (500_000, 32, 100, "float64", True),
    "B3": (100_000, 64, 256, "float64", True),
}
PER_ITERATION = ["W1", "W2", "W3", "W4", "W5"]
TO_CONVERGENCE = ["B1", "B2", "B3"]
SCALING_SIZES = [10**4, 10**5, 10**6, 10**7]
SCALING_SHAPE = (32, 64, "float32")  # n_features, n_clusters, dtype

# method: python module it needs
METHODS = {
    "kmeans": "kmeans",
    "kmeans-auto": "kmeans",
    "kmeans-hamerly": "kmeans",
    "kmeans-elkan": "kmeans",
    "sklearn-lloyd": "sklearn",
    "sklearn-elkan": "sklearn",
    "faiss": "faiss",
    "scipy-kmeans2": "scipy",
    # not a k-means: the chunked product X @ C.T alone, the floor of an iteration
    "floor": "numpy",
    # --minibatch
    "kmeans-minibatch": "kmeans",
    "sklearn-minibatch": "sklearn",
}
MINIBATCH_METHODS = ["kmeans-minibatch", "sklearn-minibatch"]
MINIBATCH_WORKLOADS = ["W1", "W2", "W3", "B1", "B2", "B3"]


@dataclass
class Workload:
    n_samples: int
    n_features: int
    n_clusters: int
    dtype: str
    clustered: bool

    def data(self, seed: int = 0):
        """The data and k distinct random rows as initial centres (seed 0)."""
        rng = np.random.default_rng(seed)
        shape = (self.n_samples, self.n_features)
        if self.clustered:
            centers = rng.uniform(-10, 10, size=(self.n_clusters, self.n_features))
            X = np.empty(shape, self.dtype)
            step = 1 << 16  # in slices, so that no float64 temporary of n rows exists
            for lo in range(0, self.n_samples, step):
                hi = min(lo + step, self.n_samples)
                rows = centers[rng.integers(self.n_clusters, size=hi - lo)]
                X[lo:hi] = rows + rng.standard_normal((hi - lo, self.n_features))
        else:
            X = rng.standard_normal(shape, dtype=np.dtype(self.dtype))
        init = X[rng.choice(self.n_samples, self.n_clusters, replace=False)].copy()
        return X, init


def available(method: str) -> bool:
    return importlib.util.find_spec(METHODS[method]) is not None


# -- running one method (inside the worker subprocess) ---------------------------


def _fit_minibatch(method: str, X, init, max_iter: int, batch_size: int):
    """A MiniBatchKMeans of ``max_iter * n // batch_size`` steps from ``init``,
    without early stopping nor final labels; return (centres, steps)."""
    if method == "kmeans-minibatch":
        from kmeans import MiniBatchKMeans
    else:
        from sklearn.cluster import MiniBatchKMeans
    km = MiniBatchKMeans(
        init.shape[0],
        init=init,
        n_init=1,
        batch_size=batch_size,
        max_iter=max_iter,
        max_no_improvement=None,
        tol=0.0,
        compute_labels=False,
        random_state=0,
    ).fit(X)
    return km.cluster_centers_, km.n_steps_


def _fit(method: str, X, init, max_iter: int, tol: float, batch_size: int = 1024):
    """Run ``method`` from ``init``; return (centres, iterations or None)."""
    k = init.shape[0]
    if method in MINIBATCH_METHODS:
        return _fit_minibatch(method, X, init, max_iter, batch_size)
    if method.startswith("kmeans"):
        from kmeans import KMeans

        algorithm = method.partition("-")[2] or "lloyd"  # "kmeans-auto": the default
        km = KMeans(k, init=init, max_iter=max_iter, tol=tol, algorithm=algorithm).fit(X)
        return km.cluster_centers_, km.n_iter_
    if method.startswith("sklearn"):
        from sklearn.cluster import KMeans as SKMeans

        algorithm = method.split("-")[1]
        km = SKMeans(
            k, init=init, n_init=1, max_iter=max_iter, tol=tol, algorithm=algorithm
        )
        km.fit(X)
        return km.cluster_centers_, km.n_iter_
    if method == "faiss":
        import faiss

        # All points (no subsampling), exactly max_iter iterations; float32 only.
        km = faiss.Kmeans(
            X.shape[1], k, niter=max_iter, max_points_per_centroid=X.shape[0], seed=0
        )
        km.train(
            np.ascontiguousarray(X, np.float32), init_centroids=init.astype(np.float32)
        )
        return km.centroids, None
    if method == "scipy-kmeans2":
        import warnings

        from scipy.cluster.vq import kmeans2

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its empty-cluster warning
            centers, _ = kmeans2(X, init, iter=max_iter, minit="matrix", missing="warn")
        return centers, None
    raise ValueError(f"unknown method {method!r}")


def _chunked_product_seconds(X, centers, repeat: int) -> float:
    """Median time of X @ C.T over the library's row blocks and threads (the pool
    opened once, outside the timing, as inside a fit)."""
    from kmeans._core.blocks import RowBlocks, scratch, thread_pool

    centers_t = np.ascontiguousarray(centers.T)
    with thread_pool() as pool:
        blocks = RowBlocks(X.shape[0], centers.shape[0], X.shape[1], X.itemsize, pool)

        def run(start, stop):
            out = scratch(blocks, centers.shape[0], X.dtype)
            for lo, hi in blocks.blocks(start, stop):
                np.matmul(X[lo:hi], centers_t, out=out[: hi - lo])

        return _timed(lambda: blocks.map(run), repeat)[0]


def _inertia(X, centers) -> float:
    """Inertia in float64, the same way for every method (X cast block by block)."""
    from kmeans._core.blocks import thread_pool
    from kmeans._core.dense import labels_inertia

    with thread_pool() as pool:
        return labels_inertia(X, centers.astype(np.float64), None, pool)[1]


def _timed(func, repeat: int):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def _peak_rss_bytes() -> int:
    """Peak resident memory of this process so far (0 where it cannot be read)."""
    try:
        import resource  # POSIX only
    except ImportError:
        return 0
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib if sys.platform == "darwin" else kib * 1024  # bytes on macOS


def _init_time(method: str, X, k: int, repeat: int):
    """Seconds of k-means++ seeding, or None where the method has none."""
    if method.startswith("kmeans"):
        from kmeans import kmeans_plusplus

        return _timed(lambda: kmeans_plusplus(X, k, random_state=0), repeat)[0]
    if method.startswith("sklearn"):
        from sklearn.cluster import kmeans_plusplus as sk_plusplus

        return _timed(lambda: sk_plusplus(X, k, random_state=0), repeat)[0]
    return None  # faiss has no k-means++; scipy's '++' is not comparable in cost


def _import_library(method: str) -> None:
    """Import what ``method`` runs (KMeans builds on scikit-learn when installed)."""
    if method == "kmeans-minibatch":
        from kmeans import MiniBatchKMeans
    elif method == "sklearn-minibatch":
        from sklearn.cluster import MiniBatchKMeans  # noqa: F401
    elif method.startswith("kmeans") or method == "floor":
        from kmeans import KMeans
    elif method.startswith("sklearn"):
        from sklearn.cluster import KMeans  # noqa: F401
    elif method == "faiss":
        import faiss  # noqa: F401
    elif method == "scipy-kmeans2":
        from scipy.cluster.vq import kmeans2  # noqa: F401


def worker(args) -> dict:
    """Measure one method on one workload; runs in its own process."""
    workload = Workload(*args.shape)
    X, init = workload.data()
    if args.mode.startswith("minibatch"):
        # MiniBatchKMeans starts from k-means++ by default: so do all three
        from kmeans import kmeans_plusplus

        init = kmeans_plusplus(X, workload.n_clusters, random_state=0)[0]
    _import_library(args.method)  # its import is not working memory of the fit
    baseline = _peak_rss_bytes()
    out = {"method": args.method, "n_samples": workload.n_samples}
    if args.method == "floor":
        seconds = _chunked_product_seconds(X, init, max(args.repeat, 5))
        return {**out, "seconds_per_iteration": seconds, "iterations": 1, "inertia": 0.0,
                "peak_extra_bytes": max(_peak_rss_bytes() - baseline, 0),
                "data_bytes": X.nbytes}  # fmt: skip
    if args.mode == "minibatch":
        seconds, (centers, n_steps) = _timed(
            lambda: _fit(args.method, X, init, args.iterations, 0.0, args.batch_size),
            args.repeat,
        )
        out["seconds"] = seconds
        out["steps"] = int(n_steps)
        out["samples_seen"] = int(n_steps) * min(args.batch_size, workload.n_samples)
        out["iterations"] = args.iterations
    elif args.mode == "minibatch-full":  # the full KMeans, for reference
        seconds, (centers, n_iter) = _timed(
            lambda: _fit("kmeans-auto", X, init, args.iterations, args.tol), args.repeat
        )
        out["seconds_to_convergence"] = seconds
        out["iterations"] = n_iter
    elif args.mode == "iteration":
        # (T(m + 1) - T(1)) / m cancels validation, seeding and final-pass costs
        m = args.iterations
        t_long, (centers, n_iter) = _timed(
            lambda: _fit(args.method, X, init, m + 1, 0.0), args.repeat
        )
        t_one, _ = _timed(lambda: _fit(args.method, X, init, 1, 0.0), args.repeat)
        done = (n_iter if n_iter is not None else m + 1) - 1
        out["seconds_per_iteration"] = (t_long - t_one) / max(done, 1)
        out["iterations"] = done + 1
    else:
        budget = args.iterations
        seconds, (centers, n_iter) = _timed(
            lambda: _fit(args.method, X, init, budget, args.tol), args.repeat
        )
        out["seconds_to_convergence"] = seconds
        out["iterations"] = n_iter if n_iter is not None else budget
        out["init_seconds"] = _init_time(args.method, X, workload.n_clusters, args.repeat)
    # the peak before the common inertia, whose float64 copy of X is the harness's
    out["peak_extra_bytes"] = max(_peak_rss_bytes() - baseline, 0)
    out["inertia"] = _inertia(X, centers)
    out["data_bytes"] = X.nbytes
    return out


# -- memory of a fit on a memory-mapped file (--memmap) -------------------------

MEMMAP_SIZES_MIB = [64, 256, 1024]
MEMMAP_SHAPE = (32, 64, "float32")  # n_features, n_clusters, dtype


def write_npy(path, n_samples: int, n_features: int, dtype="float32", seed=0) -> None:
    """Blobs written to a ``.npy`` file in slices: never all in memory."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-10, 10, size=(64, n_features))
    out = np.lib.format.open_memmap(
        path, mode="w+", dtype=dtype, shape=(n_samples, n_features)
    )
    step = 1 << 16
    for lo in range(0, n_samples, step):
        hi = min(lo + step, n_samples)
        rows = centers[rng.integers(len(centers), size=hi - lo)]
        out[lo:hi] = rows + rng.standard_normal((hi - lo, n_features))
    out.flush()
    del out


def _status_kib(field: str) -> int:
    """A ``/proc/self/status`` field in KiB (0 where there is none: not Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class AnonymousPeak:
    """The peak of the process's anonymous resident memory (``RssAnon``: what it
    allocated, not the pages of mapped files, which the kernel drops when memory
    runs short) while the ``with`` block runs, sampled every ``interval``
    seconds, in bytes beyond its value at the start."""

    def __init__(self, interval: float = 0.002):
        self.interval = interval

    def __enter__(self):
        import threading

        self.baseline = _status_kib("RssAnon")
        self.peak = self.baseline
        self._done = threading.Event()

        def sample():
            while not self._done.wait(self.interval):
                self.peak = max(self.peak, _status_kib("RssAnon"))

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, _status_kib("RssAnon"))
        self.extra_bytes = (self.peak - self.baseline) * 1024


def memmap_worker(method: str, path: str, n_clusters: int, batch_size: int) -> dict:
    """Fit on the memory-mapped ``path`` (labels included) and report the peak
    anonymous memory beyond what the process held before; runs in its own
    process."""
    X = np.load(path, mmap_mode="r")
    if method == "kmeans-minibatch":
        from kmeans import MiniBatchKMeans
    else:
        from sklearn.cluster import MiniBatchKMeans
    model = MiniBatchKMeans(n_clusters, batch_size=batch_size, max_iter=1, random_state=0)
    start = time.perf_counter()
    with AnonymousPeak() as peak:
        model.fit(X)
    seconds = time.perf_counter() - start
    return {
        "method": method,
        "file_bytes": int(X.nbytes),
        "n_samples": int(X.shape[0]),
        "seconds": seconds,
        "steps": int(model.n_steps_),
        "peak_anon_extra_bytes": int(peak.extra_bytes),
        "labels_bytes": int(model.labels_.nbytes),
        "peak_rss_bytes": _status_kib("VmHWM") * 1024,
    }


def run_memmap(
    methods=None, sizes_mib=None, *, batch_size=1024, directory=None, log=print
) -> dict:
    """Fit MiniBatchKMeans on memory-mapped ``.npy`` files of growing size and
    report each fit's peak anonymous memory: it should not grow with the file
    beyond the labels (4 bytes a row). The files are written in a temporary
    directory (or ``directory``) and deleted."""
    import tempfile

    methods = MINIBATCH_METHODS if methods is None else methods
    methods = [m for m in methods if available(m)]
    sizes_mib = MEMMAP_SIZES_MIB if sizes_mib is None else sizes_mib
    d, k, dtype = MEMMAP_SHAPE
    row_bytes = d * np.dtype(dtype).itemsize
    results = {"machine": _machine(), "batch_size": batch_size, "memmap": []}
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        for size in sizes_mib:
            path = os.path.join(tmp, f"X-{size}MiB.npy")
            write_npy(path, size * 2**20 // row_bytes, d, dtype)
            for method in methods:
                command = [
                    sys.executable, "-m", "kmeans._bench", "--memmap-worker", method,
                    path, str(k), str(batch_size),
                ]  # fmt: skip
                done = subprocess.run(command, capture_output=True, text=True)
                if done.returncode != 0:
                    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                    row = {"method": method, "error": last, "file_bytes": size * 2**20}
                else:
                    row = json.loads(done.stdout.strip().splitlines()[-1])
                results["memmap"].append(row)
                log(_describe_memmap(row))
            os.unlink(path)
    return results


def _describe_memmap(row) -> str:
    size = f"{row['file_bytes'] / 2**20:6.0f} MiB file"
    if "error" in row:
        return f"{size} {row['method']:>17}: {row['error']}"
    return (
        f"{size} {row['method']:>17}: peak anonymous memory +"
        f"{row['peak_anon_extra_bytes'] / 2**20:.1f} MiB (labels "
        f"{row['labels_bytes'] / 2**20:.1f} MiB), {row['seconds']:.2f} s, "
        f"{row['steps']} steps"
    )


# -- the driver ------------------------------------------------------------------


def _thread_environment(threads: int | None) -> dict | None:
    """The environment that holds every library to ``threads`` threads."""
    if threads is None:
        return None
    names = (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "KMEANS_NUM_THREADS",
    )
    return {**os.environ, **dict.fromkeys(names, str(threads))}


def _run_worker(
    method, shape, mode, iterations, tol, repeat, timeout, threads=None, batch_size=1024
) -> dict:
    command = [
        sys.executable, "-m", "kmeans._bench", "--worker", method, mode,
        ",".join(map(str, shape)), str(iterations), repr(tol), str(repeat),
        str(batch_size),
    ]  # fmt: skip
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_thread_environment(threads),
        )
    except subprocess.TimeoutExpired:
        return {"method": method, "error": f"timed out after {timeout} s"}
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return {"method": method, "error": last}
    return json.loads(result.stdout.strip().splitlines()[-1])


def _start(methods, threads, quick, repeat, log):
    """The methods that are installed (the others skipped with a note) and the
    results' header."""
    skipped = {m: f"{METHODS[m]} is not installed" for m in methods if not available(m)}
    for method, why in skipped.items():
        log(f"skipping {method}: {why}")
    header = {
        "machine": _machine(),
        "threads": threads or "default",
        "quick": quick,
        "repeat": repeat,
        "skipped": skipped,
    }
    return [m for m in methods if m not in skipped], header


def _shrink(shape, factor):
    n, d, k, dtype, clustered = shape
    return (max(n // factor, 20 * k), d, k, dtype, clustered)


def run(
    methods,
    *,
    quick=False,
    repeat=3,
    iterations=10,
    scaling=True,
    timeout=1800,
    log=print,
    shrink=None,
    threads=None,
):
    """Run the comparison and return the results as a dict (see ``main``).

    ``shrink`` divides every workload's n_samples (``quick`` means 20); ``threads``
    holds every library to that many threads (None: each library's default).
    """
    factor = shrink or (20 if quick else 1)
    methods, results = _start(methods, threads, quick, repeat, log)
    results.update(
        {
            "per_iteration": {},
            "to_convergence": {},
            "scaling": {},
        }
    )
    for name in PER_ITERATION:
        shape = _shrink(WORKLOADS[name], factor)
        rows = results["per_iteration"][name] = {"shape": shape, "methods": {}}
        for method in methods:
            row = _run_worker(
                method, shape, "iteration", iterations, 0.0, repeat, timeout, threads
            )
            rows["methods"][method] = row
            log(_describe(name, row))
    methods_fitting = [m for m in methods if m != "floor"]
    for name in TO_CONVERGENCE:
        shape = _shrink(WORKLOADS[name], factor)
        rows = results["to_convergence"][name] = {"shape": shape, "methods": {}}
        # scikit-learn's own stopping rule; methods without one (faiss, scipy) get the
        # number of iterations scikit-learn's Lloyd needed, so the budgets are equal
        budget = 300
        for method in sorted(methods_fitting, key=lambda m: m != "sklearn-lloyd"):
            fixed = (
                method in ("faiss", "scipy-kmeans2") and "sklearn-lloyd" in rows["methods"]
            )
            its = (
                rows["methods"]["sklearn-lloyd"].get("iterations", budget)
                if fixed
                else budget
            )
            row = _run_worker(
                method, shape, "converge", its, 1e-4, repeat, timeout, threads
            )
            rows["methods"][method] = row
            log(_describe(name, row))
    if scaling:
        d, k, dtype = SCALING_SHAPE
        sizes = [n for n in SCALING_SIZES if n <= (10**5 if quick else 10**7)]
        for method in [m for m in ("kmeans", "sklearn-lloyd", "faiss") if m in methods]:
            for n in sizes:
                row = _run_worker(
                    method,
                    (n, d, k, dtype, False),
                    "iteration",
                    5,
                    0.0,
                    repeat,
                    timeout,
                    threads,
                )
                results["scaling"].setdefault(method, {})[str(n)] = row
                log(_describe(f"n={n}", row))
    _add_ratios(results)
    return results


def run_minibatch(
    methods=None,
    *,
    quick=False,
    repeat=3,
    passes=3,
    batch_size=1024,
    timeout=1800,
    log=print,
    shrink=None,
    threads=None,
    workloads=None,
):
    """Run the MiniBatchKMeans comparison and return the results as a dict.

    On W1-W3 and B1-B3, each method makes ``passes * n // batch_size`` steps of
    ``batch_size`` rows from the same initial centres, k-means++ of this package
    on all the rows (seed 0; not timed), with no early stopping, so that both see
    the same number of samples; timed without the final labelling pass. On the
    blob workloads the full KMeans (default algorithm, tol 1e-4) runs from the
    same centres, for the inertia the minibatches approach.
    """
    methods = MINIBATCH_METHODS if methods is None else methods
    factor = shrink or (20 if quick else 1)
    methods, results = _start(methods, threads, quick, repeat, log)
    results.update({"passes": passes, "batch_size": batch_size, "minibatch": {}})
    for name in MINIBATCH_WORKLOADS if workloads is None else workloads:
        shape = _shrink(WORKLOADS[name], factor)
        rows = results["minibatch"][name] = {"shape": shape, "methods": {}}
        for method in methods:
            row = _run_worker(
                method, shape, "minibatch", passes, 0.0, repeat, timeout, threads,
                batch_size,
            )  # fmt: skip
            rows["methods"][method] = row
            log(_describe(name, row))
        if shape[4] and available("kmeans-auto"):  # clustered: the full KMeans too
            row = _run_worker(
                "kmeans-auto", shape, "minibatch-full", 300, 1e-4, 1, timeout, threads
            )
            rows["full_kmeans"] = row
            log(_describe(name, row))
    _add_minibatch_ratios(results)
    return results


def _add_minibatch_ratios(results):
    for rows in results["minibatch"].values():
        reference = rows["methods"].get("sklearn-minibatch", {})
        full = rows.get("full_kmeans", {}).get("inertia")
        for row in rows["methods"].values():
            if "seconds" in row and "seconds" in reference:
                row["time_ratio_to_sklearn"] = row["seconds"] / reference["seconds"]
                row["inertia_ratio_to_sklearn"] = row["inertia"] / reference["inertia"]
            if full and "inertia" in row:
                row["inertia_ratio_to_full_kmeans"] = row["inertia"] / full


def minibatch_table(results) -> str:
    """The MiniBatchKMeans comparison as a Markdown table."""
    lines = [
        "| workload | samples seen | kmeans (s) | scikit-learn (s) | time ratio "
        "| inertia ratio | inertia / full KMeans (ours, sklearn) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, rows in results["minibatch"].items():
        n, d, k, dtype, _ = rows["shape"]
        ours = rows["methods"].get("kmeans-minibatch", {})
        theirs = rows["methods"].get("sklearn-minibatch", {})

        def cell(row, key, fmt):
            return format(row[key], fmt) if key in row else "n/a"

        full = " / ".join(
            cell(row, "inertia_ratio_to_full_kmeans", ".4f") for row in (ours, theirs)
        )
        lines.append(
            f"| {name} {n}x{d} k={k} {dtype} | {ours.get('samples_seen', 'n/a')} "
            f"| {cell(ours, 'seconds', '.3g')} | {cell(theirs, 'seconds', '.3g')} "
            f"| {cell(ours, 'time_ratio_to_sklearn', '.2f')}x "
            f"| {cell(ours, 'inertia_ratio_to_sklearn', '.4f')} "
            f"| {full if 'full_kmeans' in rows else 'n/a'} |"
        )
    return "\n".join(lines) + "\n"


def _describe(name, row) -> str:
    if "error" in row:
        return f"{name:>8} {row['method']:>14}: {row['error']}"
    if "seconds" in row:  # a minibatch run
        return (
            f"{name:>8} {row['method']:>17}: {row['seconds'] * 1e3:9.1f} ms for "
            f"{row['steps']} steps ({row['samples_seen']} samples), inertia "
            f"{row['inertia']:.6g}, +{row['peak_extra_bytes'] / 2**20:.0f} MiB"
        )
    seconds = row.get("seconds_per_iteration", row.get("seconds_to_convergence"))
    what = "per iteration" if "seconds_per_iteration" in row else "to convergence"
    return (
        f"{name:>8} {row['method']:>14}: {seconds * 1e3:9.1f} ms {what}, "
        f"{row['iterations']} it, inertia {row['inertia']:.6g}, "
        f"+{row['peak_extra_bytes'] / 2**20:.0f} MiB"
    )


def _add_ratios(results):
    for section, key in (
        ("per_iteration", "seconds_per_iteration"),
        ("to_convergence", "seconds_to_convergence"),
    ):
        for rows in results[section].values():
            reference = rows["methods"].get("sklearn-lloyd", {}).get(key)
            for row in rows["methods"].values():
                if reference and key in row:
                    row["ratio_to_sklearn_lloyd"] = row[key] / reference


def _machine() -> dict:
    from kmeans._core.blocks import effective_n_threads

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "threads": effective_n_threads(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def markdown_table(results) -> str:
    """The per-iteration and to-convergence results as Markdown tables."""
    lines = []
    for section, key, title in (
        ("per_iteration", "seconds_per_iteration", "ms per Lloyd iteration"),
        ("to_convergence", "seconds_to_convergence", "seconds to convergence"),
    ):
        groups = results[section]
        if not groups:
            continue
        methods = sorted({m for rows in groups.values() for m in rows["methods"]})
        lines.append(f"| workload ({title}) | " + " | ".join(methods) + " |")
        lines.append("|---" * (len(methods) + 1) + "|")
        scale = 1e3 if section == "per_iteration" else 1.0
        for name, rows in groups.items():
            n, d, k, dtype, _ = rows["shape"]
            cells = []
            for method in methods:
                row = rows["methods"].get(method, {})
                if key not in row:
                    cells.append("n/a")
                    continue
                cell = f"{row[key] * scale:.3g}"
                if "ratio_to_sklearn_lloyd" in row:
                    cell += f" ({row['ratio_to_sklearn_lloyd']:.2f}x)"
                cells.append(cell)
            lines.append(f"| {name} {n}x{d} k={k} {dtype} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def chart(results, path) -> bool:
    """Write a PNG: per-iteration ratios to scikit-learn, and cost against n."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    groups = results["per_iteration"]
    methods = sorted({m for rows in groups.values() for m in rows["methods"]})
    colors = {m: f"C{i}" for i, m in enumerate(sorted(METHODS))}
    width = 0.8 / max(len(methods), 1)
    for i, method in enumerate(methods):
        ratios = [
            rows["methods"].get(method, {}).get("ratio_to_sklearn_lloyd", np.nan)
            for rows in groups.values()
        ]
        left.bar(
            np.arange(len(groups)) + i * width,
            ratios,
            width,
            label=method,
            color=colors[method],
        )
    left.axhline(1.0, color="black", linewidth=0.8)
    left.set_xticks(np.arange(len(groups)) + width * (len(methods) - 1) / 2, list(groups))
    left.set_yscale("log")
    left.set_ylabel("time per iteration / scikit-learn lloyd")
    left.set_title("One Lloyd iteration, same data and initial centres")
    left.legend(fontsize=8)
    for method, rows in results["scaling"].items():
        sizes = sorted(int(n) for n in rows if "seconds_per_iteration" in rows[n])
        seconds = [rows[str(n)]["seconds_per_iteration"] for n in sizes]
        right.loglog(sizes, seconds, marker="o", label=method, color=colors[method])
    d, k, dtype = SCALING_SHAPE
    right.set_xlabel("n_samples")
    right.set_ylabel("seconds per iteration")
    right.set_title(f"Cost against n ({dtype}, d={d}, k={k})")
    if results["scaling"]:
        right.legend(fontsize=8)
    machine = results["machine"]
    fig.suptitle(
        f"{machine['processor']}, {machine['cpus']} CPUs, numpy {machine['numpy']}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="kmeans bench", description="Compare k-means implementations side by side."
    )
    parser.add_argument("--quick", action="store_true", help="sizes / 20, for a smoke run")
    parser.add_argument(
        "--methods",
        default=",".join(m for m in METHODS if m not in MINIBATCH_METHODS),
        help="comma-separated",
    )
    parser.add_argument("--repeat", type=int, default=3, help="median of this many runs")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="hold every library to this many threads (default: each one's own)",
    )
    parser.add_argument("-o", "--output", default="bench", help="prefix of .json and .png")
    parser.add_argument(
        "--minibatch",
        action="store_true",
        help="compare MiniBatchKMeans with scikit-learn's instead (W1-W3, B1-B3)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=1024, help="rows per minibatch (--minibatch)"
    )
    parser.add_argument(
        "--passes",
        type=int,
        default=3,
        help="max_iter of the minibatch runs: passes * n // batch-size steps (--minibatch)",
    )
    parser.add_argument(
        "--memmap",
        action="store_true",
        help="peak memory of MiniBatchKMeans.fit on memory-mapped .npy files of "
        "growing size (--sizes)",
    )
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, MEMMAP_SIZES_MIB)),
        help="file sizes in MiB for --memmap (comma-separated)",
    )
    args = parser.parse_args(argv)
    if args.memmap:
        # scikit-learn's draws cost O(n) each (one pass: n / batch of them), so it
        # runs only when asked: --methods kmeans-minibatch,sklearn-minibatch
        chosen = [m.strip() for m in args.methods.split(",")]
        results = run_memmap(
            [m for m in MINIBATCH_METHODS if m in chosen] or ["kmeans-minibatch"],
            sizes_mib=[int(size) for size in args.sizes.split(",")],
            batch_size=args.batch_size,
            log=lambda line: print(line, flush=True),
        )
        with open(f"{args.output}.json", "w") as f:
            json.dump(results, f, indent=2)
        print(f"wrote {args.output}.json")
        return 0
    if args.minibatch:
        results = run_minibatch(
            quick=args.quick,
            repeat=args.repeat,
            passes=args.passes,
            batch_size=args.batch_size,
            log=lambda line: print(line, flush=True),
            threads=args.threads,
        )
        with open(f"{args.output}.json", "w") as f:
            json.dump(results, f, indent=2)
        print()
        print(minibatch_table(results))
        print(f"wrote {args.output}.json")
        return 0
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown method(s) {unknown}; choose from {list(METHODS)}")
    results = run(
        methods,
        quick=args.quick,
        repeat=args.repeat,
        iterations=args.iterations,
        scaling=not args.no_scaling,
        log=lambda line: print(line, flush=True),
        threads=args.threads,
    )
    with open(f"{args.output}.json", "w") as f:
        json.dump(results, f, indent=2)
    print()
    print(markdown_table(results))
    drew = chart(results, f"{args.output}.png")
    print(f"wrote {args.output}.json" + (f" and {args.output}.png" if drew else ""))
    if not drew:
        print("(no chart: matplotlib is not installed)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--memmap-worker":
        method, path, k, batch_size = sys.argv[2:6]
        print(json.dumps(memmap_worker(method, path, int(k), int(batch_size))))
    elif len(sys.argv) > 1 and sys.argv[1] == "--worker":
        method, mode, shape, iterations, tol, repeat = sys.argv[2:8]
        batch_size = int(sys.argv[8]) if len(sys.argv) > 8 else 1024
        n, d, k, dtype, clustered = shape.split(",")
        ns = argparse.Namespace(
            method=method,
            mode=mode,
            shape=(int(n), int(d), int(k), dtype, clustered == "True"),
            iterations=int(iterations),
            tol=float(tol),
            repeat=int(repeat),
            batch_size=batch_size,
        )
        print(json.dumps(worker(ns)))
    else:
        raise SystemExit(main())
