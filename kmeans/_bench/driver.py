"""The comparisons: which measurements run, in which order, and their summary.

Each (workload, method) pair runs ``repeat`` times, each time in a fresh process
(:func:`~.worker.run_spec`), and the methods take turns: round r runs every method
once, starting from the r-th, so that a busy spell of a shared machine weighs on
all of them alike rather than on whichever ran then. A method's time is its median
over the rounds; its ratio to scikit-learn is the median of the per-round ratios
(each against scikit-learn's run in the same round), with their min and max.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import astuple, dataclass, replace

import numpy as np

from . import workloads as W
from .report import TIME_KEYS, describe, machine
from .runners import FULL_METHODS, MINIBATCH_METHODS, available, module
from .worker import run_spec


def summary(runs: list[dict], reference: list[dict] | None = None) -> dict:
    """One method's rounds as one row: the first successful run's figures with the
    median time, the largest peak, and the per-round ratios to ``reference``."""
    ok = [run for run in runs if "error" not in run]
    if not ok:
        return runs[-1]
    row = dict(ok[0])
    key = next(key for key in TIME_KEYS if key in row)
    for median in {key, "init_seconds"} & row.keys():
        row[median] = float(np.median([run[median] for run in ok]))
    row["rounds"] = [run[key] for run in ok]
    row["peak_extra_bytes"] = max(run["peak_extra_bytes"] for run in ok)
    pairs = [(a, b) for a, b in zip(runs, reference or []) if key in a and b.get(key)]
    if pairs:
        ratios = [a[key] / b[key] for a, b in pairs]
        row["ratio_to_sklearn"] = float(np.median(ratios))
        row["ratio_spread"] = [min(ratios), max(ratios)]
        if "inertia" in pairs[0][1] and "inertia" in row:
            row["inertia_ratio_to_sklearn"] = row["inertia"] / pairs[0][1]["inertia"]
    return row


@dataclass
class Bench:
    """A comparison's settings; :meth:`run`, :meth:`run_minibatch` and
    :meth:`run_memmap` return its results as a JSON-ready dict.

    Parameters
    ----------
    methods : list of str, optional
        What to compare (see :mod:`.runners`); None: all those of the run's kind.
    quick : bool
        Divide the workloads' n_samples by 20.
    repeat : int
        Rounds: every method runs once a round, in turn.
    iterations : int
        Iterations of the per-iteration fits (:meth:`run`).
    scaling : bool
        Also measure the cost per iteration against n (:meth:`run`).
    passes, batch_size : int
        Passes over the data and rows a step of MiniBatchKMeans.
    shrink : int, optional
        Divide the workloads' n_samples by this instead.
    threads : int, optional
        Hold every library to that many threads (None: each its default).
    workloads : list of str, optional
        Only the workloads of these names.
    timeout : float
        Seconds before a measurement is abandoned.
    log : callable
        Receives a line a result.
    """

    methods: list[str] | None = None
    quick: bool = False
    repeat: int = 3
    iterations: int = 10
    scaling: bool = True
    passes: int = 3
    batch_size: int = 1024
    shrink: int | None = None
    threads: int | None = None
    workloads: list[str] | None = None
    timeout: float = 1800
    log: Callable[[str], None] = print

    def _start(self, methods: list[str], **header) -> dict:
        """Drop the methods that are not installed, with a note; the results' header."""
        skipped = {m: f"{module(m)} is not installed" for m in methods if not available(m)}
        for method, why in skipped.items():
            self.log(f"skipping {method}: {why}")
        self.methods = [m for m in methods if m not in skipped]
        header.update(threads=self.threads or "default", quick=self.quick)
        return {"machine": machine(), "skipped": skipped, "repeat": self.repeat, **header}

    def _workloads(self, names: list[str]):
        factor = self.shrink or (20 if self.quick else 1)
        for name in names:
            if self.workloads is None or name in self.workloads:
                yield name, W.WORKLOADS[name].shrunk(factor)

    def compare(self, name, workload, methods, spec, reference=None, rounds=None) -> dict:
        """Run ``spec(method, runs so far)`` for every method in turn, ``rounds``
        times, and summarise; a method that fails is not run again."""
        runs: dict[str, list[dict]] = {method: [] for method in methods}
        for r in range(rounds or self.repeat):
            shift = r % max(len(methods), 1)
            for method in methods[shift:] + methods[:shift]:
                if not any("error" in run for run in runs[method]):
                    job = {"workload": astuple(workload), **spec(method, runs)}
                    run = run_spec(job, timeout=self.timeout, threads=self.threads)
                    runs[method].append(run)
        rows = {m: summary(runs[m], runs.get(reference)) for m in methods if runs[m]}
        for row in rows.values():
            self.log(describe(name, row))
        return {"shape": astuple(workload), "methods": rows}

    def run(self) -> dict:
        """Full k-means: per iteration on W1-W5 (``iterations`` from the same
        centres), to convergence on B1-B3 (scikit-learn's rule, tol=1e-4; faiss and
        SciPy, which have none, run as many iterations as scikit-learn's Lloyd, so
        it runs first), and with ``scaling`` the cost per iteration against n."""
        results = self._start(
            sorted(self.methods or FULL_METHODS, key=lambda m: m != "sklearn-lloyd")
        )
        fitting = [m for m in self.methods if m != "floor"]

        def per_iteration(method, runs, iterations=self.iterations):
            return {"method": method, "mode": "iteration", "iterations": iterations}

        def to_convergence(method, runs):
            done = [r for r in runs.get("sklearn-lloyd", []) if "iterations" in r]
            fixed = done and method in ("faiss", "scipy-kmeans2")
            budget = done[0]["iterations"] if fixed else 300
            return {"method": method, "mode": "converge", "iterations": budget, "tol": 1e-4}

        for section, names, methods, spec in (
            ("per_iteration", W.PER_ITERATION, self.methods, per_iteration),
            ("to_convergence", W.TO_CONVERGENCE, fitting, to_convergence),
        ):
            results[section] = {
                name: self.compare(name, workload, methods, spec, "sklearn-lloyd")
                for name, workload in self._workloads(names)
            }
        results["scaling"] = {}
        largest = 10**5 if self.quick else 10**7
        for n in [n for n in W.SCALING_SIZES if n <= largest] if self.scaling else []:
            chosen = [m for m in self.methods if m in ("kmeans", "sklearn-lloyd", "faiss")]
            spec = lambda method, runs: per_iteration(method, runs, 5)  # noqa: E731
            compared = self.compare(
                f"n={n}", replace(W.SCALING, n_samples=n), chosen, spec, "sklearn-lloyd"
            )
            for method, row in compared["methods"].items():
                results["scaling"].setdefault(method, {})[str(n)] = row
        return results

    def run_minibatch(self) -> dict:
        """MiniBatchKMeans against scikit-learn's on W1-W3 and B1-B3: each makes
        ``passes * n // batch_size`` steps of ``batch_size`` rows from the same
        k-means++ centres (not timed), without early stopping, so that both see as
        many samples; timed without the final labels. On the blobs (B*), the full
        KMeans (default algorithm, tol 1e-4) from the same centres gives the inertia
        the minibatches approach."""
        chosen, header = self.methods or MINIBATCH_METHODS, {"passes": self.passes}
        results = self._start(chosen, batch_size=self.batch_size, **header)
        results["minibatch"] = {}
        common = {"batch_size": self.batch_size, "tol": 1e-4, "init": "k-means++"}

        def spec(method, runs, mode="minibatch", iterations=self.passes):
            return {**common, "method": method, "mode": mode, "iterations": iterations}

        for name, workload in self._workloads(W.MINIBATCH_WORKLOADS):
            rows = self.compare(name, workload, self.methods, spec, "sklearn-minibatch")
            if workload.clustered and available("kmeans"):  # the full KMeans beside
                full = lambda method, runs: spec(method, runs, "converge", 300)  # noqa: E731
                row = self.compare(name, workload, ["kmeans-auto"], full, rounds=1)
                rows["full_kmeans"] = full_row = row["methods"]["kmeans-auto"]
                for row in rows["methods"].values():
                    if "inertia" in row and "inertia" in full_row:
                        ratio = row["inertia"] / full_row["inertia"]
                        row["inertia_ratio_to_full_kmeans"] = ratio
            results["minibatch"][name] = rows
        return results

    def run_memmap(self, sizes_mib: list[int], directory: str | None = None) -> dict:
        """MiniBatchKMeans (one pass, labels included) on memory-mapped ``.npy`` files
        of ``sizes_mib`` MiB, written in a temporary folder (in ``directory``) one at
        a time: each fit's peak anonymous memory should not grow with the file beyond
        the labels (4 bytes a row)."""
        methods = [m for m in self.methods or MINIBATCH_METHODS if available(m)]
        results = {"machine": machine(), "batch_size": self.batch_size, "memmap": []}
        d, dtype = W.MEMMAP.n_features, W.MEMMAP.dtype
        with tempfile.TemporaryDirectory(dir=directory) as tmp:
            for size in sizes_mib:
                path = os.path.join(tmp, f"X-{size}MiB.npy")
                W.write_npy(path, size * 2**20 // (d * np.dtype(dtype).itemsize), d, dtype)
                for method in methods:
                    spec = {"method": method, "mode": "memmap", "path": path}
                    spec.update(workload=astuple(W.MEMMAP), batch_size=self.batch_size)
                    row = {"file_bytes": size * 2**20, **run_spec(spec)}
                    results["memmap"].append(row)
                    self.log(describe(f"{size} MiB", row))
                os.unlink(path)
        return results
