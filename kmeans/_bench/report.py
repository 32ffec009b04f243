"""What the harness prints and draws: the machine, log lines, tables and a chart."""

from __future__ import annotations

import os
import platform

import numpy as np

from .workloads import SCALING


def machine() -> dict:
    """The CPU model, its cores, the BLAS and the versions: what the figures hold for."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in f
                    if line.startswith("model name")
                ),
                model,
            )
    except OSError:
        pass
    from threadpoolctl import threadpool_info

    blas = [
        f"{pool.get('internal_api')} {pool.get('version')} "
        f"({pool.get('threading_layer', '')}, {pool.get('num_threads')} threads)"
        for pool in threadpool_info()
        if pool.get("user_api") == "blas"
    ]
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "usable_cpus": usable or os.cpu_count(),
        "blas": sorted(set(blas)),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def machine_line(info: dict) -> str:
    """``info`` (from :func:`machine`) in one line."""
    return (
        f"{info['cpu']}, {info['usable_cpus']} of {info['cpus']} CPUs, "
        f"BLAS {'; '.join(info['blas']) or 'unknown'}, Python {info['python']}, "
        f"NumPy {info['numpy']}"
    )


def _ratio(row: dict) -> str:
    if "ratio_to_sklearn" not in row:
        return ""
    low, high = row["ratio_spread"]
    return f" ({row['ratio_to_sklearn']:.2f}x, {low:.2f}-{high:.2f})"


def describe(name: str, row: dict) -> str:
    """One measurement (or its error) in one line."""
    where = f"{name:>9} {row['method']:>17}: "
    if "error" in row:
        return where + row["error"]
    if "peak_anon_extra_bytes" in row:  # --memmap
        return where + (
            f"peak anonymous memory +{row['peak_anon_extra_bytes'] / 2**20:.1f} MiB "
            f"(labels {row['labels_bytes'] / 2**20:.1f} MiB), {row['seconds']:.2f} s, "
            f"{row['steps']} steps"
        )
    if "samples_seen" in row:
        what = f"{row['seconds'] * 1e3:9.1f} ms for {row['steps']} steps"
    elif "seconds_per_iteration" in row:
        what = f"{row['seconds_per_iteration'] * 1e3:9.1f} ms per iteration"
    else:
        what = f"{row['seconds_to_convergence'] * 1e3:9.1f} ms to convergence"
    inertia = f", inertia {row['inertia']:.6g}" if "inertia" in row else ""
    return (
        f"{where}{what}{_ratio(row)}, {row['iterations']} it{inertia}, "
        f"+{row['peak_extra_bytes'] / 2**20:.0f} MiB"
    )


def _shape(name: str, rows: dict) -> str:
    n, d, k, dtype, _ = rows["shape"]
    return f"{name} {n}x{d} k={k} {dtype}"


def markdown_table(results: dict) -> str:
    """The per-iteration and to-convergence results as Markdown tables: each cell
    the median time, the median ratio to scikit-learn's Lloyd and its min-max over
    the rounds."""
    lines = [f"Machine: {machine_line(results['machine'])}", ""]
    for section, key, title, scale in (
        ("per_iteration", "seconds_per_iteration", "ms per Lloyd iteration", 1e3),
        ("to_convergence", "seconds_to_convergence", "seconds to convergence", 1.0),
    ):
        groups = results.get(section) or {}
        methods = sorted({m for rows in groups.values() for m in rows["methods"]})
        if not methods:
            continue
        lines.append(f"| workload ({title}) | " + " | ".join(methods) + " |")
        lines.append("|---" * (len(methods) + 1) + "|")
        for name, rows in groups.items():
            cells = []
            for method in methods:
                row = rows["methods"].get(method, {})
                cells.append(
                    f"{row[key] * scale:.3g}{_ratio(row)}" if key in row else "n/a"
                )
            lines.append(f"| {_shape(name, rows)} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def minibatch_table(results: dict) -> str:
    """The MiniBatchKMeans comparison as a Markdown table."""
    lines = [
        f"Machine: {machine_line(results['machine'])}",
        "",
        "| workload | samples seen | kmeans (s) | scikit-learn (s) | time ratio (min-max) "
        "| inertia ratio | inertia / full KMeans (ours, sklearn) |",
        "|---|---|---|---|---|---|---|",
    ]

    def cell(row, key, fmt):
        return format(row[key], fmt) if key in row else "n/a"

    for name, rows in results["minibatch"].items():
        ours = rows["methods"].get("kmeans-minibatch", {})
        theirs = rows["methods"].get("sklearn-minibatch", {})
        full = " / ".join(
            cell(r, "inertia_ratio_to_full_kmeans", ".4f") for r in (ours, theirs)
        )
        lines.append(
            f"| {_shape(name, rows)} | {ours.get('samples_seen', 'n/a')} "
            f"| {cell(ours, 'seconds', '.3g')} | {cell(theirs, 'seconds', '.3g')} "
            f"| {_ratio(ours).strip(' ()') or 'n/a'} "
            f"| {cell(ours, 'inertia_ratio_to_sklearn', '.4f')} "
            f"| {full if 'full_kmeans' in rows else 'n/a'} |"
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
        left.bar(
            np.arange(len(groups)) + i * width,
            ratios,
            width,
            label=method,
            color=f"C{i}",
            yerr=np.abs(spread - ratios),
            capsize=2,
        )
    left.axhline(1.0, color="black", linewidth=0.8)
    left.set_xticks(np.arange(len(groups)) + width * (len(methods) - 1) / 2, list(groups))
    left.set_yscale("log")
    left.yaxis.set_major_formatter("{x:g}x")
    left.yaxis.set_minor_formatter("{x:g}x")
    left.set_ylabel("time per iteration / scikit-learn lloyd")
    left.set_title("One Lloyd iteration, same data and initial centres")
    for method, rows in results["scaling"].items():
        sizes = sorted(int(n) for n in rows if "seconds_per_iteration" in rows[n])
        seconds = [rows[str(n)]["seconds_per_iteration"] for n in sizes]
        right.loglog(
            sizes,
            seconds,
            marker="o",
            color=f"C{methods.index(method)}" if method in methods else None,
        )
    right.set_xlabel("n_samples")
    right.set_ylabel("seconds per iteration")
    right.set_title(
        f"Cost against n ({SCALING.dtype}, d={SCALING.n_features}, k={SCALING.n_clusters})"
    )
    # one legend for both panels, below them: on the axes it hid bars
    fig.legend(loc="outside lower center", ncols=min(len(methods), 8), fontsize=9)
    fig.suptitle(machine_line(results["machine"]), fontsize=9)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
