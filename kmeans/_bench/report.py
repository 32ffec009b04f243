"""What the harness prints and draws: the machine, log lines, tables and a chart."""

from __future__ import annotations

import os
import platform
from math import nan

import numpy as np

from .runners import MINIBATCH_METHODS
from .workloads import SCALING

TIME_KEYS = ("seconds_per_iteration", "seconds_to_convergence", "seconds")


def machine() -> dict:
    """The CPU model, its cores, the BLAS and the versions: what the figures hold for."""
    from threadpoolctl import threadpool_info

    try:
        with open("/proc/cpuinfo") as f:
            names = [line.partition(":")[2].strip() for line in f if "model name" in line]
    except OSError:
        names = []
    blas = {
        f"{pool['internal_api']} {pool['version']} ({pool['num_threads']} threads)"
        for pool in threadpool_info()
        if pool["user_api"] == "blas"
    }
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    info = {"cpu": names[0] if names else platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "usable_cpus": cpus or os.cpu_count(),
            "blas": sorted(blas), "platform": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__}  # fmt: skip
    info["summary"] = (
        f"{info['cpu']}, {info['usable_cpus']} of {info['cpus']} CPUs, BLAS "
        f"{'; '.join(blas) or 'unknown'}, Python {info['python']}, NumPy {np.__version__}"
    )
    return info


def _ratio(row: dict) -> str:
    if "ratio_to_sklearn" not in row:
        return ""
    low, high = row["ratio_spread"]
    return f" ({row['ratio_to_sklearn']:.2f}x, {low:.2f}-{high:.2f})"


def describe(name: str, row: dict) -> str:
    """One measurement (or its error) in one line."""
    where, mib = f"{name:>9} {row['method']:>17}: ", 2**20
    if "error" in row:
        return where + row["error"]
    if "peak_anon_extra_bytes" in row:  # --memmap
        return where + (
            f"peak anonymous memory +{row['peak_anon_extra_bytes'] / mib:.1f} MiB (labels "
            f"{row['labels_bytes'] / mib:.1f} MiB), {row['seconds']:.2f} s, "
            f"{row['steps']} steps"
        )
    key = next(key for key in TIME_KEYS if key in row)
    what = {"seconds": f"for {row.get('steps')} steps", "seconds_per_iteration":
            "per iteration", "seconds_to_convergence": "to convergence"}[key]  # fmt: skip
    inertia = f", inertia {row['inertia']:.6g}" if "inertia" in row else ""
    return (
        f"{where}{row[key] * 1e3:9.1f} ms {what}{_ratio(row)}, {row['iterations']} it"
        f"{inertia}, +{row['peak_extra_bytes'] / mib:.0f} MiB"
    )


def _table(results: dict, section: str, key: str, title: str, methods=None) -> list[str]:
    """A Markdown table of ``results[section]``: a row a workload, a column a method,
    each cell the median time ``key``, the median ratio to scikit-learn and its
    min-max over the rounds."""
    groups = results.get(section) or {}
    methods = methods or sorted({m for rows in groups.values() for m in rows["methods"]})
    scale = 1e3 if title.startswith("ms") else 1
    lines = [f"| workload ({title}) | " + " | ".join(methods) + " |"]
    lines.append("|---" * (len(methods) + 1) + "|")
    for name, rows in groups.items():
        n, d, k, dtype, _ = rows["shape"]
        cells = [rows["methods"].get(method, {}) for method in methods]
        cells = [f"{c[key] * scale:.3g}{_ratio(c)}" if key in c else "n/a" for c in cells]
        lines.append(f"| {name} {n}x{d} k={k} {dtype} | " + " | ".join(cells) + " |")
    return [*lines, ""] if groups else []


def markdown_table(results: dict) -> str:
    """The results of :meth:`.Bench.run` as Markdown tables, the machine above."""
    return "\n".join(
        [f"Machine: {results['machine']['summary']}", ""]
        + _table(results, "per_iteration", "seconds_per_iteration", "ms per iteration")
        + _table(results, "to_convergence", "seconds_to_convergence", "s to convergence")
    )


def minibatch_table(results: dict) -> str:
    """The results of :meth:`.Bench.run_minibatch` as Markdown tables: times, then
    inertias against scikit-learn's and the full KMeans's."""
    lines = [f"Machine: {results['machine']['summary']}", ""]
    lines += _table(results, "minibatch", "seconds", "seconds", MINIBATCH_METHODS)
    lines += ["| workload | samples seen | inertia ratio to scikit-learn | inertia / full "
              "KMeans (ours, sklearn) |", "|---|---|---|---|"]  # fmt: skip
    for name, rows in results["minibatch"].items():
        ours, theirs = (rows["methods"].get(m, {}) for m in MINIBATCH_METHODS)
        full = [r.get("inertia_ratio_to_full_kmeans", nan) for r in (ours, theirs)]
        to_sklearn = ours.get("inertia_ratio_to_sklearn", nan)
        lines.append(
            f"| {name} | {ours.get('samples_seen', 'n/a')} | {to_sklearn:.4f} "
            f"| {full[0]:.4f} / {full[1]:.4f} |"
        )
    return "\n".join(lines) + "\n"


def chart(results: dict, path) -> bool:
    """Write a PNG: the per-iteration ratios to scikit-learn (bars: median, whiskers:
    min-max over the rounds) and the cost per iteration against n. False without
    matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import LogLocator, NullFormatter
    except ImportError:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.4), layout="constrained")
    groups = results["per_iteration"]
    methods = sorted({m for rows in groups.values() for m in rows["methods"]})
    width = 0.8 / max(len(methods), 1)
    for i, method in enumerate(methods):
        rows = [group["methods"].get(method, {}) for group in groups.values()]
        ratios = np.array([row.get("ratio_to_sklearn", np.nan) for row in rows])
        spread = np.array([row.get("ratio_spread", [np.nan] * 2) for row in rows]).T
        x = np.arange(len(groups)) + i * width
        yerr = np.abs(spread - ratios)
        left.bar(x, ratios, width, label=method, color=f"C{i}", yerr=yerr, capsize=2)
    left.axhline(1.0, color="black", linewidth=0.8)
    left.set_xticks(np.arange(len(groups)) + width * (len(methods) - 1) / 2, list(groups))
    left.set_yscale("log")
    left.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))  # decades alone: too few
    left.yaxis.set_major_formatter("{x:g}x")
    left.yaxis.set_minor_formatter(NullFormatter())
    left.set_ylabel("time per iteration / scikit-learn lloyd")
    left.set_title("One Lloyd iteration, same data and initial centres")
    for method, rows in results["scaling"].items():
        sizes = sorted(int(n) for n in rows if "seconds_per_iteration" in rows[n])
        seconds = [rows[str(n)]["seconds_per_iteration"] for n in sizes]
        color = f"C{methods.index(method)}" if method in methods else None
        right.loglog(sizes, seconds, marker="o", color=color)
    right.yaxis.set_major_formatter("{x:g}")
    right.yaxis.set_minor_formatter("{x:g}")
    right.set_xlabel("n_samples")
    right.set_ylabel("seconds per iteration")
    d, k, dtype = SCALING.n_features, SCALING.n_clusters, SCALING.dtype
    right.set_title(f"Cost against n ({dtype}, d={d}, k={k})")
    # one legend for both panels, below them: on the axes it hid bars
    fig.legend(loc="outside lower center", ncols=min(len(methods), 8), fontsize=9)
    fig.suptitle(results["machine"]["summary"], fontsize=9)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
