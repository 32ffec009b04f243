"""KMeans on a GPU through the array API, against the floor and other libraries.

One command (issue #16)::

    python benchmarks/gpu.py            # n = 10^6 and 10^7, d = 128, k = 1024 and 16
    python benchmarks/gpu.py --small    # tiny sizes: checks the script on CPU torch

For each size, float32 data on the device (PyTorch's first GPU, else its CPU), the
same initial centres (random rows) for every contender:

- ours: :class:`kmeans.KMeans` on torch tensors (and on CuPy arrays when CuPy
  and a GPU are there), Lloyd, ``tol=0``: time per iteration is the difference
  of whole fits of ``--iters`` and of 1 iteration, over ``--iters - 1`` (the
  fixed passes cancel; no callback, so no inertia is computed); the median
  between consecutive iterations of a fit with a callback (time stamps after a
  warm-up iteration; every iteration ends with a transfer to the host, so they
  are synchronised) is recorded too, and the whole fit;
- floor: the bare product plus argmin in PyTorch on the same blocks of rows
  (``kmeans._backends.array_api.BLOCK_ELEMENTS``), synchronised, median;
- fast-pytorch-kmeans when importable (a pure-Python wheel: put it on
  PYTHONPATH), from the same centres: whole fit over its iterations;
- scikit-learn's Lloyd on this machine's CPU cores, on at most ``--sklearn-rows``
  rows (same centres), its time per iteration scaled linearly to n (stated in
  the table as extrapolated).

Prints a table and writes JSON to benchmarks/gpu_results/. Sized to run in well
under 5 minutes on an H200 (10 iterations per contender, 3 for scikit-learn).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kmeans import KMeans
from kmeans._backends import array_api

RESULTS = Path(__file__).resolve().parent / "gpu_results"


def _torch():
    import torch

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch, device


def _sync(torch, device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ours(X, init, iters):
    """(median seconds per iteration, whole fit seconds, n_iter_) of KMeans."""
    stamps = []
    start = time.perf_counter()
    km = KMeans(
        init.shape[0],
        init=init,
        max_iter=iters,
        tol=0,
        callback=lambda info: stamps.append(time.perf_counter()),
    ).fit(X)
    whole = time.perf_counter() - start
    steps = np.diff(stamps)[1:]  # after the first (warm-up) iteration
    return float(np.median(steps)) if len(steps) else whole / iters, whole, km.n_iter_


def time_ours_plain(X, init, iters, sync):
    """Whole fit without a callback (no inertia computed), seconds."""
    sync()
    start = time.perf_counter()
    KMeans(init.shape[0], init=init, max_iter=iters, tol=0).fit(X)
    sync()
    return time.perf_counter() - start


def time_floor(torch, device, X, init, iters):
    """Median seconds of one pass of product + argmin over the same blocks."""
    k, d = init.shape
    Ct = init.T.contiguous()
    rows = max(1, array_api.BLOCK_ELEMENTS // max(k, d + 1))
    times = []
    for _ in range(iters + 1):
        _sync(torch, device)
        start = time.perf_counter()
        for lo in range(0, X.shape[0], rows):
            torch.argmin(X[lo : lo + rows] @ Ct, dim=1)
        _sync(torch, device)
        times.append(time.perf_counter() - start)
    return float(statistics.median(times[1:]))


def time_fast_pytorch_kmeans(torch, device, X, init, iters):
    """Seconds per iteration of fast-pytorch-kmeans (whole fit / iterations)."""
    try:
        from fast_pytorch_kmeans import KMeans as FastKMeans
    except ImportError:
        return None, "not installed"
    try:
        model = FastKMeans(n_clusters=init.shape[0], max_iter=iters, tol=-1.0, verbose=0)
        _sync(torch, device)
        start = time.perf_counter()
        model.fit_predict(X, centroids=init.clone())
        _sync(torch, device)
        return (time.perf_counter() - start) / iters, "whole fit / iterations"
    except Exception as exc:  # an OOM or an API change is a result, not a crash
        return None, f"failed: {type(exc).__name__}: {str(exc)[:80]}"


def time_sklearn(X_host, init_host, iters):
    """Seconds per Lloyd iteration of scikit-learn on this machine's CPU cores
    (whole fit / iterations)."""
    try:
        from sklearn.cluster import KMeans as SkKMeans
    except ImportError:
        return None, "not installed"
    model = SkKMeans(
        init_host.shape[0], init=init_host, n_init=1, max_iter=iters, tol=0,
        algorithm="lloyd",
    )  # fmt: skip
    start = time.perf_counter()
    model.fit(X_host)
    return (time.perf_counter() - start) / model.n_iter_, f"{os.cpu_count()} CPU cores"


def time_cupy(X_torch, init_torch, iters):
    """ours on CuPy arrays (same data, through DLPack), when CuPy and a GPU are."""
    try:
        import cupy
    except ImportError:
        return None, None, "not installed"
    if not X_torch.is_cuda:
        return None, None, "no GPU"
    X = cupy.from_dlpack(X_torch)
    init = cupy.from_dlpack(init_torch)
    per_iter, whole, _ = time_ours(X, init, iters)
    return per_iter, whole, ""


def run_case(torch, device, n, d, k, iters, args):
    gen = torch.Generator(device=device).manual_seed(0)
    # blobs: k true centres, unit noise; float32
    centres = 10 * torch.rand((k, d), generator=gen, device=device)
    which = torch.randint(0, k, (n,), generator=gen, device=device)
    X = centres[which] + torch.randn((n, d), generator=gen, device=device)
    del which
    pick = np.random.default_rng(0).choice(n, k, replace=False)
    init = X[torch.as_tensor(pick, device=device)].clone()
    row = {"n": n, "d": d, "k": k, "dtype": "float32", "iterations": iters}

    ours, whole, n_iter = time_ours(X, init, iters)
    sync = lambda: _sync(torch, device)  # noqa: E731
    row.update(ours_s=ours, ours_fit_s=whole, ours_n_iter=n_iter)
    row["ours_fit_no_callback_s"] = time_ours_plain(X, init, iters, sync)
    # without a callback no inertia is computed: per iteration by difference of
    # two fits (the fixed passes cancel), the headline figure
    one = time_ours_plain(X, init, 1, sync)
    row["ours_callback_median_s"] = ours
    row["ours_s"] = (row["ours_fit_no_callback_s"] - one) / max(iters - 1, 1)
    row["floor_s"] = time_floor(torch, device, X, init, iters)
    row["fast_pytorch_kmeans_s"], row["fast_pytorch_kmeans_note"] = (
        time_fast_pytorch_kmeans(torch, device, X, init, iters)
    )
    row["cupy_s"], row["cupy_fit_s"], row["cupy_note"] = time_cupy(X, init, iters)
    if not args.no_sklearn:
        rows = min(n, args.sklearn_rows)
        X_host = X[:rows].cpu().numpy()
        init_host = init.cpu().numpy()
        per_iter, note = time_sklearn(X_host, init_host, args.sklearn_iters)
        # scaled from the rows measured to all n
        row["sklearn_cpu_s"] = None if per_iter is None else per_iter * n / rows
        if rows < n:
            note += f", measured on {rows:.0e} rows and scaled x{n / rows:g} to n"
        row["sklearn_note"] = note
    del X
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return row


def _fmt(seconds):
    return f"{'-':>10}" if seconds is None else f"{seconds * 1e3:10.2f}"


def table(rows) -> str:
    head = (
        f"{'n':>9} {'k':>5} | {'ours ms/it':>10} {'floor':>10} {'ours/floor':>10} | "
        f"{'fit ms':>10} | {'cupy':>10} {'fast-pt':>10} {'sklearn':>10} {'sk/ours':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        sk = r.get("sklearn_cpu_s")
        speedup = "-" if sk is None else f"{sk / r['ours_s']:8.1f}"
        lines.append(
            f"{r['n']:>9.0e} {r['k']:>5} | {_fmt(r['ours_s'])} {_fmt(r['floor_s'])} "
            f"{r['ours_s'] / r['floor_s']:>10.2f} | {_fmt(r['ours_fit_no_callback_s'])} | "
            f"{_fmt(r['cupy_s'])} {_fmt(r['fast_pytorch_kmeans_s'])} {_fmt(sk)} "
            f"{speedup:>8}"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="tiny sizes (CPU check)")
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--sklearn-rows", type=int, default=10**6)
    parser.add_argument("--sklearn-iters", type=int, default=3)
    parser.add_argument("--no-sklearn", action="store_true")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    torch, device = _torch()
    if args.small:
        sizes, d, ks = [2 * 10**4, 10**5], 32, [64, 8]
        args.iters = min(args.iters, 5)
        args.sklearn_rows = min(args.sklearn_rows, 2 * 10**4)
    else:
        sizes, d, ks = [10**6, 10**7], 128, [1024, 16]
    started = time.perf_counter()
    rows = []
    for n in sizes:
        for k in ks:
            rows.append(run_case(torch, device, n, d, k, args.iters, args))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    result = {
        "device": name,
        "torch": torch.__version__,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "small": args.small,
        "block_elements": array_api.BLOCK_ELEMENTS,
        "seconds": time.perf_counter() - started,
        "rows": rows,
    }
    print()
    print(f"device: {name}, torch {torch.__version__}; times per Lloyd iteration (ms)")
    print(table(rows))
    for r in rows:
        print(
            f"n={r['n']:.0e} k={r['k']}: sklearn {r.get('sklearn_note', 'skipped')}; "
            f"fast-pytorch-kmeans {r['fast_pytorch_kmeans_note']}; "
            f"cupy {r['cupy_note'] or 'measured'}"
        )
    output = args.output
    if output is None:
        tag = "small" if args.small else "full"
        slug = name.replace(" ", "-").lower()
        output = RESULTS / f"{time.strftime('%Y-%m-%d')}-{slug}-{tag}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=1))
    print(f"written: {output}")


if __name__ == "__main__":
    main()
