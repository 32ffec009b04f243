"""Clustering quality on the SIPU benchmark sets: kmeans next to scikit-learn.

For each data set, method and seed, fits k-means with the true number of
clusters and compares the centres with the ground-truth centroids by the
Centroid Index (CI: the number of true clusters missed). Reports the mean CI,
the success rate (CI = 0), the relative CI (CI / k) and the fit time, as a
Markdown table and a JSON file. With ``--select-k`` it also checks which K
:func:`kmeans.select_k` chooses on the S and A sets for K in 2..2k (each K
fitted with ``refine="swap"``).

The data are not part of this repository (research use only). Download them from
https://cs.uef.fi/sipu/datasets/ or use a copy laid out as ``sipu/<set>.data.gz``
(one point per line) and ``centroids/<set>-gt.txt`` (the ground-truth centroids).

Example (from the repository root)::

    python benchmarks/quality.py --data ../shared/datasets --seeds 20 \\
        --large-seeds 10 --output quality.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

# Measure the package of this checkout, not another installed copy.
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SETS = ["s1", "s2", "s3", "s4", "a1", "a2", "a3", "unbalance", "birch1", "birch2"]
METHODS = ["kmeans", "kmeans-n10", "kmeans-swap", "sklearn", "sklearn-n10"]
# Sets with more points than this use --large-seeds seeds.
LARGE = 20_000


def _estimator(method: str, k: int, seed: int):
    """A fresh estimator for one method; scikit-learn is imported only if asked."""
    if method.startswith("sklearn"):
        from sklearn.cluster import KMeans as SKLearnKMeans

        return SKLearnKMeans(
            k, n_init=10 if method.endswith("n10") else 1, random_state=seed
        )
    from kmeans import KMeans

    if method == "kmeans-swap":
        return KMeans(k, refine="swap", random_state=seed)
    return KMeans(k, n_init=10 if method.endswith("n10") else "auto", random_state=seed)


def load(data: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The points and the ground-truth centroids of one set."""
    with gzip.open(data / "sipu" / f"{name}.data.gz", "rt") as f:
        X = np.loadtxt(f)
    return X, np.loadtxt(data / "centroids" / f"{name}-gt.txt")


def run_quality(data: Path, sets, methods, n_seeds: int, n_large_seeds: int) -> list[dict]:
    from kmeans import centroid_index

    # warm up thread pools and imports so that the first timed fit is not penalised
    warm = np.random.default_rng(0).normal(size=(500, 2))
    for method in methods:
        _estimator(method, 3, 0).fit(warm)
    rows = []
    for name in sets:
        X, truth = load(data, name)
        k = truth.shape[0]
        seeds = range(n_large_seeds if X.shape[0] > LARGE else n_seeds)
        cis = {m: [] for m in methods}
        seconds = {m: [] for m in methods}
        # methods alternate seed by seed, so that a change in the machine's load
        # weighs on all of them alike
        for seed in seeds:
            for method in methods:
                est = _estimator(method, k, seed)
                start = time.perf_counter()
                est.fit(X)
                seconds[method].append(time.perf_counter() - start)
                cis[method].append(centroid_index(est.cluster_centers_, truth))
        for method in methods:
            ci = np.array(cis[method])
            row = {
                "set": name,
                "method": method,
                "k": k,
                "n_seeds": len(ci),
                "ci": ci.tolist(),
                "seconds": seconds[method],
                "mean_ci": float(ci.mean()),
                "success": float(np.mean(ci == 0)),
                "relative_ci": float(ci.mean() / k),
                "mean_seconds": float(np.mean(seconds[method])),
            }
            rows.append(row)
            print(
                f"{name:9} {method:12} CI {row['mean_ci']:.2f}  success "
                f"{row['success']:.0%}  {row['mean_seconds']:.2f} s",
                file=sys.stderr,
                flush=True,
            )
    return rows


def quality_table(rows: list[dict]) -> str:
    """Markdown: per set, each method's mean CI and success rate; then each
    method's mean fit time and its ratio to scikit-learn's with n_init=10."""
    by = {(r["set"], r["method"]): r for r in rows}
    sets = list(dict.fromkeys(r["set"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    ref = "sklearn-n10" if "sklearn-n10" in methods else None

    def table(head, body):
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in body])

    head = ["set", "k", "seeds"] + [f"{m}: mean CI (CI = 0)" for m in methods]
    body = []
    for name in sets:
        first = by[name, methods[0]]
        cells = [name, str(first["k"]), str(first["n_seeds"])]
        cells += [
            f"{by[name, m]['mean_ci']:.2f} ({by[name, m]['success']:.0%})" for m in methods
        ]
        body.append(cells)
    body.append(
        ["mean CI/k", "", ""]
        + [f"{np.mean([by[s, m]['relative_ci'] for s in sets]):.2%}" for m in methods]
    )
    quality = table(head, body)

    head = ["set"] + [f"{m} (s)" for m in methods]
    body = []
    for name in sets:
        cells = [name]
        for m in methods:
            seconds = by[name, m]["mean_seconds"]
            ratio = f" (×{seconds / by[name, ref]['mean_seconds']:.2f})" if ref else ""
            cells.append(f"{seconds:.2f}{ratio if m != ref else ''}")
        body.append(cells)
    return quality + "\n\n" + table(head, body)


def run_select_k(data: Path, sets, seed: int) -> list[dict]:
    from kmeans import KMeans, select_k

    rows = []
    for name in sets:
        X, truth = load(data, name)
        k = truth.shape[0]
        start = time.perf_counter()
        # each K fitted with random swap: a local optimum at the true K would
        # make every method prefer K + 1
        result = select_k(
            X,
            range(2, 2 * k + 1),
            estimator=KMeans(refine="swap"),
            n_refs=5,
            random_state=seed,
        )
        rows.append(
            {
                "set": name,
                "k": k,
                "best_k": result.best_k,
                "seconds": time.perf_counter() - start,
                "recovered": any(v == k for v in result.best_k.values()),
            }
        )
        print(f"{name:9} true K {k}: {result.best_k}", file=sys.stderr, flush=True)
    return rows


def select_k_table(rows: list[dict]) -> str:
    methods = list(rows[0]["best_k"])
    head = ["set", "true K"] + methods + ["recovered"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        chosen = ["-" if r["best_k"][m] is None else str(r["best_k"][m]) for m in methods]
        cells = [r["set"], str(r["k"]), *chosen, "yes" if r["recovered"] else "no"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    default_data = REPO.parent / "shared" / "datasets"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=default_data if default_data.is_dir() else None,
        help="folder with sipu/ and centroids/ (default: ../shared/datasets "
        "relative to the repository, if present)",
    )
    parser.add_argument("--seeds", type=int, default=20, help="seeds per set (default 20)")
    parser.add_argument(
        "--large-seeds",
        type=int,
        default=None,
        help=f"seeds for sets of more than {LARGE} points (default: --seeds)",
    )
    parser.add_argument("--sets", nargs="+", default=SETS, choices=SETS, metavar="SET")
    parser.add_argument(
        "--methods", nargs="+", default=METHODS, choices=METHODS, metavar="METHOD"
    )
    parser.add_argument(
        "--select-k",
        action="store_true",
        help="also check which K select_k chooses (S and A sets among --sets)",
    )
    parser.add_argument(
        "--only-select-k", action="store_true", help="skip the quality runs"
    )
    parser.add_argument("--output", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--table", type=Path, help="only print the tables of a JSON file written before"
    )
    args = parser.parse_args(argv)
    if args.table is not None:
        results = json.loads(args.table.read_text())
        if "quality" in results:
            print(quality_table(results["quality"]))
        if "select_k" in results:
            print()
            print(select_k_table(results["select_k"]))
        return 0
    if args.data is None or not (args.data / "sipu").is_dir():
        parser.error(
            "no data: pass --data, a folder with sipu/ and centroids/ "
            "(from https://cs.uef.fi/sipu/datasets/)"
        )
    large_seeds = args.seeds if args.large_seeds is None else args.large_seeds

    results = {}
    if not args.only_select_k:
        results["quality"] = run_quality(
            args.data, args.sets, args.methods, args.seeds, large_seeds
        )
        print(quality_table(results["quality"]))
    if args.select_k or args.only_select_k:
        chosen = [s for s in args.sets if s[0] in "sa" and s != "unbalance"]
        results["select_k"] = run_select_k(args.data, chosen, seed=0)
        print()
        print(select_k_table(results["select_k"]))
    if args.output is not None:
        args.output.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
