"""Cosine k-means on mixtures of von Mises-Fisher distributions (issue #15).

Each mixture has ground truth: ``k`` mean directions drawn uniformly on the
sphere in ``d`` dimensions, unequal concentrations (kappa) and unequal cluster
sizes, and rows of random lengths (cosine k-means must ignore them). Compared,
with the same seeds and one k-means++ start each:

- ours: ``KMeans(metric="cosine")`` on the rows as they are;
- scikit-learn: ``KMeans`` on L2-normalised rows (normalising not timed);
- faiss (when importable): ``faiss.Kmeans(spherical=True)`` on normalised rows,
  300 iterations at most, no subsampling.

ARI is sklearn.metrics.adjusted_rand_score against the truth; times are to
convergence, in the same process, one after the other. Run from the repository
root::

    python benchmarks/cosine.py

It writes ``benchmarks/cosine_results/<date>.json`` and prints a Markdown table
(mean and spread over seeds).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import time
from pathlib import Path

import numpy as np
from scipy.stats import vonmises_fisher
from sklearn.cluster import KMeans as SKKMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import normalize

import kmeans
from kmeans import KMeans

try:
    import faiss
except ImportError:  # optional
    faiss = None

# (n_features, n_clusters, n_samples, kappa range as multiples of n_features)
MIXTURES = [
    (64, 10, 5_000, (0.3, 1.5)),
    (128, 30, 10_000, (0.3, 1.5)),
    (384, 50, 10_000, (0.2, 1.0)),
    (768, 100, 20_000, (0.15, 0.8)),
]
SEEDS = [0, 1, 2, 3, 4]


def vmf_mixture(d, k, n, kappa_range, seed, dtype=np.float32):
    """Rows of a vMF mixture of random lengths, and their true labels."""
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((k, d))
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    kappas = d * rng.uniform(*kappa_range, size=k)
    sizes = rng.dirichlet(np.full(k, 2.0))  # unequal sizes
    counts = np.maximum(rng.multinomial(n - 5 * k, sizes), 0) + 5
    X = np.concatenate(
        [
            vonmises_fisher(means[j], kappas[j]).rvs(counts[j], random_state=rng)
            for j in range(k)
        ]
    )
    labels = np.repeat(np.arange(k), counts)
    order = rng.permutation(len(X))
    X = X[order] * rng.lognormal(0, 1, size=(len(X), 1))
    return X.astype(dtype), labels[order], kappas, counts


def timed(fit):
    start = time.perf_counter()
    labels = fit()
    return labels, time.perf_counter() - start


def run_one(X, k, seed, n_init=1):
    ours_labels, ours = timed(
        lambda: KMeans(k, metric="cosine", n_init=n_init, random_state=seed).fit(X).labels_
    )
    unit = normalize(X)
    results = {"ours": (ours_labels, ours)}
    results["sklearn"] = timed(
        lambda: SKKMeans(k, n_init=n_init, random_state=seed).fit(unit).labels_
    )
    if faiss is not None:

        def fit_faiss():
            km = faiss.Kmeans(
                X.shape[1], k, niter=300, spherical=True, seed=seed, nredo=n_init,
                max_points_per_centroid=len(X), verbose=False,
            )  # fmt: skip
            km.train(np.ascontiguousarray(unit, dtype=np.float32))
            return km.index.search(np.ascontiguousarray(unit, np.float32), 1)[1].ravel()

        results["faiss"] = timed(fit_faiss)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the first mixture only")
    parser.add_argument(
        "--n-init", type=int, default=1, help="starts of every method (default 1)"
    )
    parser.add_argument(
        "--mixtures", type=int, default=len(MIXTURES), help="the first N mixtures"
    )
    args = parser.parse_args(argv)
    mixtures = MIXTURES[: 1 if args.quick else args.mixtures]
    records = []
    for d, k, n, kappa_range in mixtures:
        for seed in SEEDS:
            X, truth, kappas, counts = vmf_mixture(d, k, n, kappa_range, seed)
            results = run_one(X, k, seed, args.n_init)
            record = {"d": d, "k": k, "n": n, "seed": seed, "n_init": args.n_init}
            record["kappa"] = [float(kappas.min()), float(kappas.max())]
            record["sizes"] = [int(counts.min()), int(counts.max())]
            for name, (labels, seconds) in results.items():
                record[name] = {
                    "ari": float(adjusted_rand_score(truth, labels)),
                    "seconds": seconds,
                }
            records.append(record)
            print(json.dumps(record), flush=True)
    table = summary(records)
    print(table)
    out = Path(__file__).parent / "cosine_results"
    out.mkdir(exist_ok=True)
    path = out / f"{datetime.date.today().isoformat()}.json"
    meta = {
        "kmeans": kmeans.__version__,
        "numpy": np.__version__,
        "faiss": getattr(faiss, "__version__", None),
        "machine": platform.platform(),
        "seeds": SEEDS,
    }
    path.write_text(json.dumps({"meta": meta, "runs": records}, indent=1) + "\n")
    print(f"written {path}")


def _spread(values, fmt):
    values = np.asarray(values)
    low, high = fmt.format(values.min()), fmt.format(values.max())
    return f"{fmt.format(values.mean())} ({low}-{high})"


def summary(records) -> str:
    """Markdown table: per mixture, mean ARI (min-max over seeds) and time
    ratios (median, min-max)."""
    names = [m for m in ("ours", "sklearn", "faiss") if m in records[0]]
    head = "| d | k | n | kappa | sizes |" + "".join(f" ARI {m} |" for m in names)
    head += " time ours/sklearn |" + (" time ours/faiss |" if "faiss" in names else "")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    keys = sorted({(r["d"], r["k"], r["n"]) for r in records})
    for d, k, n in keys:
        rows = [r for r in records if (r["d"], r["k"], r["n"]) == (d, k, n)]
        kappa = (
            f"{min(r['kappa'][0] for r in rows):.0f}-{max(r['kappa'][1] for r in rows):.0f}"
        )
        sizes = f"{min(r['sizes'][0] for r in rows)}-{max(r['sizes'][1] for r in rows)}"
        line = f"| {d} | {k} | {n} | {kappa} | {sizes} |"
        for m in names:
            line += f" {_spread([r[m]['ari'] for r in rows], '{:.3f}')} |"
        for other in names[1:]:
            ratios = [r["ours"]["seconds"] / r[other]["seconds"] for r in rows]
            line += f" {np.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) |"
        lines.append(line)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
