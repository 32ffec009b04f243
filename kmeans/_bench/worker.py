"""One measurement in a fresh process, so that its peak memory is its own and no
library's idle threads weigh on the next.

``python -m kmeans._bench.worker SPEC`` (or the spec on stdin) prints one JSON line.
A spec is a JSON object: ``method``; ``mode``: ``"iteration"`` (seconds per Lloyd
iteration), ``"converge"`` (seconds to convergence and of k-means++),
``"minibatch"`` (a MiniBatchKMeans fit), ``"minibatch-full"`` (this package's
default KMeans from the same k-means++ centres) or ``"memmap"`` (a MiniBatchKMeans
fit on the ``.npy`` file ``path``); ``workload``: ``[n_samples, n_features,
n_clusters, dtype, clustered]``; ``iterations``, ``tol`` and ``batch_size``.
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

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "KMEANS_NUM_THREADS",
)


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


class AnonymousPeak:
    """Peak anonymous resident memory (``RssAnon``: what the process allocated, not
    the pages of mapped files, which the kernel drops when memory runs short) while
    the ``with`` block runs, sampled every ``interval`` s; ``extra_bytes`` is the
    peak beyond the value at the start."""

    def __init__(self, interval: float = 0.002):
        self.interval = interval

    def __enter__(self) -> AnonymousPeak:
        self.baseline = self.peak = _status_kib("RssAnon:")
        self._done = threading.Event()

        def sample():
            while not self._done.wait(self.interval):
                self.peak = max(self.peak, _status_kib("RssAnon:"))

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, _status_kib("RssAnon:"))
        self.extra_bytes = (self.peak - self.baseline) * 1024


def _memmap(spec: dict) -> dict:
    X = np.load(spec["path"], mmap_mode="r")
    if spec["method"] == "kmeans-minibatch":
        from kmeans import MiniBatchKMeans
    else:
        from sklearn.cluster import MiniBatchKMeans
    model = MiniBatchKMeans(
        spec["workload"][2], batch_size=spec["batch_size"], max_iter=1, random_state=0
    )
    with AnonymousPeak() as peak:
        seconds, _ = _timed(lambda: model.fit(X))
    return {
        "method": spec["method"],
        "file_bytes": int(X.nbytes),
        "n_samples": int(X.shape[0]),
        "seconds": seconds,
        "steps": int(model.n_steps_),
        "peak_anon_extra_bytes": int(peak.extra_bytes),
        "labels_bytes": int(model.labels_.nbytes),
        "peak_rss_bytes": _status_kib("VmHWM:") * 1024,
    }


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
    if mode.startswith("minibatch"):  # MiniBatchKMeans starts from k-means++
        from kmeans import kmeans_plusplus

        init = kmeans_plusplus(X, workload.n_clusters, random_state=0)[0]
    fit = runner("kmeans-auto" if mode == "minibatch-full" else method)
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
        out["seconds"], (centers, steps) = _timed(
            lambda: fit(X, init, iterations, 0.0, batch_size)
        )
        out["steps"], out["iterations"] = int(steps), iterations
        out["samples_seen"] = int(steps) * min(batch_size, workload.n_samples)
    else:  # "converge", "minibatch-full"
        out["seconds_to_convergence"], (centers, n_iter) = _timed(
            lambda: fit(X, init, iterations, tol)
        )
        out["iterations"] = iterations if n_iter is None else int(n_iter)
        seed = seeding(method) if mode == "converge" else None
        if seed is not None:
            out["init_seconds"] = _timed(lambda: seed(X, workload.n_clusters))[0]
    # the peak before the common inertia, whose float64 blocks are the harness's
    out["peak_extra_bytes"] = max(_peak_rss_bytes() - baseline, 0)
    if method != "floor":
        out["inertia"] = inertia(X, centers)
    return out


def run_spec(spec: dict, *, timeout: float = 1800, threads: int | None = None) -> dict:
    """Run ``spec`` in a fresh Python process; a failure is ``{"error": ...}``.

    ``threads`` holds every library to that many threads (None: each its default).
    """
    env = (
        None
        if threads is None
        else {**os.environ, **dict.fromkeys(THREAD_VARIABLES, str(threads))}
    )
    command = [sys.executable, "-m", "kmeans._bench.worker"]
    try:
        done = subprocess.run(
            command,
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {"method": spec["method"], "error": f"timed out after {timeout} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"method": spec["method"], "error": last}
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    text = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read()
    print(json.dumps(measure(json.loads(text))))
