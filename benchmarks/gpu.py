"""KMeans on a GPU through the array API, against the floor and other libraries.

One command (issue #16)::

    python benchmarks/gpu.py            # n = 10^6 and 10^7, d = 128, k = 1024 and 16,
                                        # and metric="cosine" at n = 10^6, d = 384, k = 100
    python benchmarks/gpu.py --small    # tiny sizes: checks the script on CPU torch

For each size, float32 data on the device (PyTorch's first GPU, else its CPU), the
same initial centres (random rows) for every contender:

- ours: :class:`kmeans.KMeans` on torch tensors (and on CuPy and JAX arrays,
  the same data through DLPack, when they and a GPU are there), Lloyd,
  ``tol=0``: time per iteration is the difference of whole fits of ``--iters``
  and of 1 iteration, over ``n_iter_ - 1`` (the fixed passes cancel; no
  callback, so no inertia is computed); the median between consecutive
  iterations of a fit with a callback (time stamps after a warm-up iteration;
  every iteration ends with a transfer to the host, so they are synchronised)
  is recorded too, the whole fit, the fit's peak device memory beyond X; and, at
  n <= 10^6, a fit from scratch as a user runs it (``KMeans(k, random_state=0)``:
  k-means++, the default ``tol``), whole time and iterations;
- floor: the bare product plus argmin in PyTorch on the same blocks of rows
  (``kmeans._backends.array_api.BLOCK_ELEMENTS``), synchronised, median;
- fast-pytorch-kmeans when importable (a pure-Python wheel: put it on
  PYTHONPATH), from the same centres: whole fit over its iterations;
- scikit-learn's Lloyd on this machine's CPU cores, on at most ``--sklearn-rows``
  rows (same centres), its time per iteration scaled linearly to n (stated in
  the table as extrapolated).

The cosine case (``metric="cosine"``, spherical k-means, issue #15) has rows
around k directions with lengths 0.1-10 (not normalised: ours reads ``1/||x||``
per row); its floor is the product plus ``argmax``, fast-pytorch-kmeans runs in
its ``mode="cosine"`` and scikit-learn on the L2-normalised rows, as its users do.

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
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kmeans import ConvergenceWarning, KMeans
from kmeans._backends import array_api

RESULTS = Path(__file__).resolve().parent / "gpu_results"


def _torch():
    import torch

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch, device


def _versions(torch) -> dict:
    """Versions of the libraries measured (None where not installed)."""
    import importlib.metadata

    import scipy

    found = {"numpy": np.__version__, "scipy": scipy.__version__}
    found["torch"] = torch.__version__
    for name in ("cupy", "jax", "scikit-learn", "fast-pytorch-kmeans", "array-api-compat"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def _sync(torch, device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ours(X, init, iters, metric="euclidean"):
    """(median seconds per iteration, whole fit seconds, n_iter_) of KMeans."""
    stamps = []
    start = time.perf_counter()
    km = KMeans(
        init.shape[0],
        init=init,
        max_iter=iters,
        tol=0,
        metric=metric,
        callback=lambda info: stamps.append(time.perf_counter()),
    ).fit(X)
    whole = time.perf_counter() - start
    steps = np.diff(stamps)[1:]  # after the first (warm-up) iteration
    return float(np.median(steps)) if len(steps) else whole / iters, whole, km.n_iter_


def time_ours_plain(X, init, iters, sync, metric="euclidean"):
    """(seconds, n_iter_) of a whole fit without a callback (no inertia computed)."""
    sync()
    start = time.perf_counter()
    km = KMeans(init.shape[0], init=init, max_iter=iters, tol=0, metric=metric).fit(X)
    sync()
    return time.perf_counter() - start, km.n_iter_


def time_ours_scratch(X, k, sync, metric="euclidean"):
    """(seconds, n_iter_) of a fit as a user runs it: k-means++, default tol."""
    sync()
    start = time.perf_counter()
    km = KMeans(k, random_state=0, metric=metric).fit(X)
    sync()
    return time.perf_counter() - start, km.n_iter_


def time_floor(torch, device, X, init, iters, metric="euclidean"):
    """Median seconds of one pass of product + argmin (argmax for cosine) over
    the same blocks."""
    k, d = init.shape
    Ct = init.T.contiguous()
    rows = max(1, array_api.BLOCK_ELEMENTS // max(k, d + 1))
    best = torch.argmax if metric == "cosine" else torch.argmin
    times = []
    for _ in range(iters + 1):
        _sync(torch, device)
        start = time.perf_counter()
        for lo in range(0, X.shape[0], rows):
            best(X[lo : lo + rows] @ Ct, dim=1)
        _sync(torch, device)
        times.append(time.perf_counter() - start)
    return float(statistics.median(times[1:]))


def time_fast_pytorch_kmeans(torch, device, X, init, iters, metric="euclidean"):
    """Seconds per iteration of fast-pytorch-kmeans (whole fit / iterations)."""
    try:
        from fast_pytorch_kmeans import KMeans as FastKMeans
    except ImportError:
        return None, "not installed"
    try:
        mode = "cosine" if metric == "cosine" else "euclidean"
        model = FastKMeans(
            n_clusters=init.shape[0], max_iter=iters, tol=-1.0, verbose=0, mode=mode
        )
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


def time_other_library(library, X_torch, init_torch, iters, metric="euclidean"):
    """ours on CuPy or JAX arrays (the same data, through DLPack), when that
    library and a GPU are there: (seconds per iteration, whole fit, note)."""
    if not X_torch.is_cuda:
        return None, None, "no GPU"
    try:
        if library == "cupy":
            import cupy

            X, init = cupy.from_dlpack(X_torch), cupy.from_dlpack(init_torch)
        else:
            import jax.dlpack

            X, init = jax.dlpack.from_dlpack(X_torch), jax.dlpack.from_dlpack(init_torch)
    except ImportError:
        return None, None, "not installed"
    try:
        per_iter, whole, _ = time_ours(X, init, iters, metric)
    except Exception as exc:  # a failure is a result, not a crash
        return None, None, f"failed: {type(exc).__name__}: {str(exc)[:120]}"
    return per_iter, whole, ""


def make_data(torch, device, n, d, k, metric):
    """float32 rows on the device: blobs (k centres in [0, 10]^d, unit noise),
    or for cosine rows around k unit directions, of lengths 0.1-10."""
    gen = torch.Generator(device=device).manual_seed(0)
    which = torch.randint(0, k, (n,), generator=gen, device=device)
    if metric == "cosine":
        means = torch.randn((k, d), generator=gen, device=device)
        means /= torch.linalg.vector_norm(means, dim=1, keepdim=True)
        X = means[which] + torch.randn((n, d), generator=gen, device=device) / d**0.5
        X *= 0.1 + 9.9 * torch.rand((n, 1), generator=gen, device=device)
        return X
    centres = 10 * torch.rand((k, d), generator=gen, device=device)
    return centres[which] + torch.randn((n, d), generator=gen, device=device)


def run_case(torch, device, n, d, k, iters, args, metric="euclidean"):
    X = make_data(torch, device, n, d, k, metric)
    pick = np.random.default_rng(0).choice(n, k, replace=False)
    init = X[torch.as_tensor(pick, device=device)].clone()
    row = {"n": n, "d": d, "k": k, "metric": metric, "dtype": "float32"}
    row["iterations"] = iters

    ours, whole, n_iter = time_ours(X, init, iters, metric)
    sync = lambda: _sync(torch, device)  # noqa: E731
    row.update(ours_s=ours, ours_fit_s=whole, ours_n_iter=n_iter)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        held = torch.cuda.memory_allocated(device)
    row["ours_fit_no_callback_s"], n_plain = time_ours_plain(X, init, iters, sync, metric)
    if device.type == "cuda":  # the fit's own device memory, beyond X and init
        peak = torch.cuda.max_memory_allocated(device)
        row["ours_peak_extra_mib"] = (peak - held) / 2**20
    # without a callback no inertia is computed: per iteration by difference of
    # two fits (the fixed passes cancel), the headline figure; a fit that
    # converged in one iteration leaves the callback's median
    one, _ = time_ours_plain(X, init, 1, sync, metric)
    row["ours_callback_median_s"] = ours
    if n_plain > 1:
        row["ours_s"] = (row["ours_fit_no_callback_s"] - one) / (n_plain - 1)
    row["floor_s"] = time_floor(torch, device, X, init, iters, metric)
    if n <= args.scratch_rows:
        row["scratch_fit_s"], row["scratch_n_iter"] = time_ours_scratch(X, k, sync, metric)
    row["fast_pytorch_kmeans_s"], row["fast_pytorch_kmeans_note"] = (
        time_fast_pytorch_kmeans(torch, device, X, init, iters, metric)
    )
    for library in ("cupy", "jax"):
        row[f"{library}_s"], row[f"{library}_fit_s"], row[f"{library}_note"] = (
            time_other_library(library, X, init, iters, metric)
        )
    if not args.no_sklearn:
        rows = min(n, args.sklearn_rows)
        X_host = X[:rows].cpu().numpy()
        init_host = init.cpu().numpy()
        if metric == "cosine":  # what scikit-learn's users do for cosine
            X_host /= np.linalg.norm(X_host, axis=1, keepdims=True)
            init_host /= np.linalg.norm(init_host, axis=1, keepdims=True)
        per_iter, note = time_sklearn(X_host, init_host, args.sklearn_iters)
        # scaled from the rows measured to all n
        row["sklearn_cpu_s"] = None if per_iter is None else per_iter * n / rows
        if rows < n:
            note += f", measured on {rows:.0e} rows and scaled x{n / rows:g} to n"
        if metric == "cosine":
            note += ", on L2-normalised rows"
        row["sklearn_note"] = note
    del X
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return row


def _fmt(seconds):
    return f"{'-':>10}" if seconds is None else f"{seconds * 1e3:10.2f}"


def table(rows) -> str:
    head = (
        f"{'n':>9} {'d':>4} {'k':>5} {'metric':>9} | {'ours ms/it':>10} {'floor':>10} "
        f"{'ours/floor':>10} | {'fit ms':>10} {'scratch ms':>10} {'its':>4} | "
        f"{'cupy':>10} {'jax':>10} {'fast-pt':>10} {'sklearn':>10} {'sk/ours':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        sk = r.get("sklearn_cpu_s")
        speedup = "-" if sk is None else f"{sk / r['ours_s']:8.1f}"
        its = r.get("scratch_n_iter")
        lines.append(
            f"{r['n']:>9.0e} {r['d']:>4} {r['k']:>5} {r['metric']:>9} | "
            f"{_fmt(r['ours_s'])} {_fmt(r['floor_s'])} "
            f"{r['ours_s'] / r['floor_s']:>10.2f} | {_fmt(r['ours_fit_no_callback_s'])} "
            f"{_fmt(r.get('scratch_fit_s'))} {'-' if its is None else its:>4} | "
            f"{_fmt(r['cupy_s'])} {_fmt(r['jax_s'])} {_fmt(r['fast_pytorch_kmeans_s'])} "
            f"{_fmt(sk)} "
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
    parser.add_argument(
        "--scratch-rows", type=int, default=10**6,
        help="largest n of the fit from scratch (k-means++, default tol)",
    )  # fmt: skip
    parser.add_argument(
        "--metric", choices=["all", "euclidean", "cosine"], default="all",
        help="the cases to run",
    )  # fmt: skip
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    torch, device = _torch()
    if args.small:
        cases = [(n, 32, k, "euclidean") for n in (2 * 10**4, 10**5) for k in (64, 8)]
        cases.append((2 * 10**4, 48, 10, "cosine"))
        args.iters = min(args.iters, 5)
        args.sklearn_rows = min(args.sklearn_rows, 2 * 10**4)
    else:
        cases = [(n, 128, k, "euclidean") for n in (10**6, 10**7) for k in (1024, 16)]
        cases.append((10**6, 384, 100, "cosine"))
    cases = [c for c in cases if args.metric in ("all", c[3])]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    output = args.output
    if output is None:
        tag = "small" if args.small else "full"
        slug = name.replace(" ", "-").lower()
        output = RESULTS / f"{time.strftime('%Y-%m-%d')}-{slug}-{tag}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "device": name,
        "versions": _versions(torch),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "small": args.small,
        "block_elements": array_api.BLOCK_ELEMENTS,
        "rows": [],
    }
    started = time.perf_counter()
    rows = result["rows"]
    print(table([]).splitlines()[0], flush=True)
    for n, d, k, metric in cases:
        with warnings.catch_warnings():
            # fits of one iteration from random rows leave clusters empty: expected
            warnings.simplefilter("ignore", ConvergenceWarning)
            rows.append(run_case(torch, device, n, d, k, args.iters, args, metric))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
        # written after every case: a run stopped part way keeps what it measured
        result["seconds"] = time.perf_counter() - started
        output.write_text(json.dumps(result, indent=1))
    print()
    print(f"device: {name}, torch {torch.__version__}; times per Lloyd iteration (ms)")
    print("(fit ms: the whole fit of --iters iterations from the given centres;")
    print(" scratch ms: KMeans(k, random_state=0).fit, its iterations in 'its')")
    print(table(rows))
    for r in rows:
        print(
            f"n={r['n']:.0e} k={r['k']} {r['metric']}: "
            f"sklearn {r.get('sklearn_note', 'skipped')}; "
            f"fast-pytorch-kmeans {r['fast_pytorch_kmeans_note']}; "
            f"cupy {r['cupy_note'] or 'measured'}; jax {r['jax_note'] or 'measured'}; "
            f"ours' peak device memory beyond X {r.get('ours_peak_extra_mib', '-')} MiB"
        )
    print(f"written: {output}")


if __name__ == "__main__":
    main()
