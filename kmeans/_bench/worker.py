"""One measurement in a fresh process, so that its peak memory is its own and no
library's idle threads weigh on the next.

``python -m kmeans._bench.worker SPEC`` (or the spec on stdin) prints one JSON line.
A spec is a JSON object: ``method``; ``mode``: ``"iteration"`` (seconds per Lloyd
iteration), ``"converge"`` (seconds to convergence and of k-means++),
``"minibatch"`` (a MiniBatchKMeans fit) or ``"memmap"`` (a MiniBatchKMeans
fit on the ``.npy`` file ``path``); ``workload``: ``[n_samples, n_features,
n_clusters, dtype, clustered]``; ``iterations``, ``tol`` and ``batch_size``; and
``init``: ``"k-means++"`` to start from this package's k-means++ centres (seed 0)
rather than from random rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np

from .runners import inertia, runner, seeding
from .workloads import Workload

THREADS = "OMP_NUM_THREADS OPENBLAS_NUM_THREADS MKL_NUM_THREADS KMEANS_NUM_THREADS"


def _timed(func):
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def _peak_rss_bytes() -> int:
    """Peak resident memory of this process so far (0 where it cannot be read)."""
    try:
        import resource  # POSIX only
    except ImportError:
        return 0
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib if sys.platform == "darwin" else kib * 1024  # bytes on macOS


def _status_kib(field: str) -> int:
    """A ``/proc/self/status`` field in KiB (0 where there is none: not Linux)."""
    try:
        with open("/proc/self/status") as f:
            return next((int(line.split()[1]) for line in f if line.startswith(field)), 0)
    except OSError:
        return 0


def _anonymous_peak(func) -> tuple[float, int]:
    """Seconds of ``func()`` and the peak of anonymous resident memory meanwhile
    (``RssAnon``: what the process allocated, not the pages of mapped files, which
    the kernel drops when memory runs short) beyond its value at the start, sampled
    every 2 ms."""
    baseline = peak = _status_kib("RssAnon:")
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.wait(0.002):
            peak = max(peak, _status_kib("RssAnon:"))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    seconds, _ = _timed(func)
    done.set()
    thread.join()
    return seconds, (max(peak, _status_kib("RssAnon:")) - baseline) * 1024


def _memmap(spec: dict) -> dict:
    X = np.load(spec["path"], mmap_mode="r")
    if spec["method"] == "kmeans-minibatch":
        from kmeans import MiniBatchKMeans
    else:
        from sklearn.cluster import MiniBatchKMeans
    k, batch_size = spec["workload"][2], spec["batch_size"]
    model = MiniBatchKMeans(k, batch_size=batch_size, max_iter=1, random_state=0)
    seconds, extra_bytes = _anonymous_peak(lambda: model.fit(X))
    return {"method": spec["method"], "file_bytes": X.nbytes, "n_samples": len(X),
            "seconds": seconds, "steps": int(model.n_steps_),
            "peak_anon_extra_bytes": extra_bytes, "labels_bytes": model.labels_.nbytes,
            "peak_rss_bytes": _status_kib("VmHWM:") * 1024}  # fmt: skip


def measure(spec: dict) -> dict:
    """Run the measurement ``spec`` describes (see the module's docstring) in this
    process, once after a warm-up, and return the figures."""
    if spec["mode"] == "memmap":
        return _memmap(spec)
    method, mode = spec["method"], spec["mode"]
    iterations, tol = spec["iterations"], spec.get("tol", 0.0)
    batch_size = spec.get("batch_size", 1024)
    workload = Workload(*spec["workload"])
    X, init = workload.data()
    if spec.get("init") == "k-means++":  # MiniBatchKMeans's default start, for all
        from kmeans import kmeans_plusplus

        init = kmeans_plusplus(X, workload.n_clusters, random_state=0)[0]
    fit = runner(method)
    baseline = _peak_rss_bytes()  # the data and the library's import are not the fit's
    # warm-up on a slice: imports, thread pools, BLAS; cheap even where a step is O(n)
    fit(X[: max(20_000, 4 * batch_size)], init, 2, 0.0, batch_size)
    out = {"method": method, "n_samples": workload.n_samples, "data_bytes": X.nbytes}
    if mode == "iteration":
        # (T(m + 1) - T(1)) / m cancels validation, seeding and final-pass costs
        t_long, (centers, n_iter) = _timed(lambda: fit(X, init, iterations + 1, 0.0))
        t_one, _ = _timed(lambda: fit(X, init, 1, 0.0))
        done = (iterations + 1 if n_iter is None else n_iter) - 1
        out["seconds_per_iteration"] = (t_long - t_one) / max(done, 1)
        out["iterations"] = done + 1
    elif mode == "minibatch":
        seconds, (centers, steps) = _timed(lambda: fit(X, init, iterations, 0, batch_size))
        out["seconds"], out["steps"], out["iterations"] = seconds, int(steps), iterations
        out["samples_seen"] = int(steps) * min(batch_size, workload.n_samples)
    else:  # "converge"
        seconds, (centers, n_iter) = _timed(lambda: fit(X, init, iterations, tol))
        out["seconds_to_convergence"] = seconds
        out["iterations"] = iterations if n_iter is None else int(n_iter)
        seed = seeding(method)
        if seed is not None:
            out["init_seconds"] = _timed(lambda: seed(X, workload.n_clusters))[0]
    # the peak before the common inertia, whose float64 blocks are the harness's
    out["peak_extra_bytes"] = max(_peak_rss_bytes() - baseline, 0)
    if method != "floor":
        out["inertia"] = inertia(X, centers)
    return out


def run_spec(spec: dict, *, timeout: float = 1800, threads: int | None = None) -> dict:
    """Run :func:`measure` on ``spec`` (sent as JSON on stdin) in a fresh Python
    process, killed after ``timeout`` seconds; ``threads`` holds every library to
    that many threads (None: each its default). A failure is ``{"method": ...,
    "error": the last line of stderr}``."""
    held = dict.fromkeys(THREADS.split(), str(threads)) if threads else {}
    command, env = [sys.executable, "-m", "kmeans._bench.worker"], {**os.environ, **held}
    try:
        done = subprocess.run(command, input=json.dumps(spec), capture_output=True,
                              text=True, timeout=timeout, env=env)  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"method": spec["method"], "error": f"timed out after {timeout} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"method": spec["method"], "error": last}
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    text = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read()
    print(json.dumps(measure(json.loads(text))))
