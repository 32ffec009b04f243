"""Cosine k-means on mixtures of von Mises-Fisher distributions (issue #15).

Each mixture has ground truth: ``k`` mean directions drawn uniformly on the
sphere in ``d`` dimensions, unequal concentrations (kappa) and unequal cluster
sizes, and rows of random lengths (cosine k-means must ignore them). Compared,
with the same seeds and the same number of starts (``--n-init``) each, unless
``--their-n-init`` gives scikit-learn and faiss another number:

- ours: ``KMeans(metric="cosine")`` on the rows as they are (k-means++ starts);
- ours-swap: the same with ``refine="swap"`` (split-and-merge trials after the
  best start, until ``k`` in a row were rejected; their time is included);
- scikit-learn: ``KMeans`` on L2-normalised rows (k-means++ starts; normalising
  not timed);
- faiss (when importable): ``faiss.Kmeans(spherical=True)`` on normalised rows:
  its own seeding (random rows), ``nredo`` = the starts, 300 iterations at most
  (it stops when the objective no longer changes), no subsampling
  (``max_points_per_centroid`` = n; faiss subsamples to 256 k rows by default);
- with ``--random-init``, also ours and scikit-learn with ``init="random"``
  (rows drawn uniformly, as faiss seeds), in a second table.

ARI is sklearn.metrics.adjusted_rand_score against the truth; the objective is
``sum (1 - cos)`` of the labels with each cluster's normalised mean as centre
(the best centres for those labels), so every method is measured alike, and
relative to that of the true labels; times are to convergence, in the same
process, one after the other. Run from the repository root::

    python benchmarks/cosine.py

It writes ``benchmarks/cosine_results/<date>-n<starts>[-m<mixtures>-s<seeds>]
[-t<threads>].json`` and prints Markdown tables (mean and spread over seeds).
``--per-iteration`` times instead one Lloyd iteration of ours and of
scikit-learn's from the same initial centres, the rest of a fit, and each
method's iterations to convergence (``<date>-per-iteration...json``): where a
whole fit's time goes.
``--threads 1`` runs every method on one thread: stable times on a shared
machine.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import platform
import sys
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
    """The fitted labels, the seconds the fit took and its iterations (None
    where the method does not say)."""
    start = time.perf_counter()
    fitted = fit()
    seconds = time.perf_counter() - start
    if isinstance(fitted, np.ndarray):
        return fitted, seconds, None
    return fitted.labels_, seconds, int(fitted.n_iter_)


def limit_threads(n_threads: int) -> None:
    """Every method on ``n_threads`` threads: ours (KMEANS_NUM_THREADS), the
    OpenMP and BLAS pools of scikit-learn and NumPy (threadpoolctl), faiss's."""
    from threadpoolctl import threadpool_limits

    os.environ["KMEANS_NUM_THREADS"] = str(n_threads)
    threadpool_limits(n_threads)
    if faiss is not None:
        faiss.omp_set_num_threads(n_threads)


def objective(unit, labels, k) -> float:
    """``sum (1 - cos)`` of unit rows to their cluster's normalised mean."""
    sums = np.zeros((k, unit.shape[1]))
    np.add.at(sums, labels, unit.astype(np.float64))
    return float(len(unit) - np.linalg.norm(sums, axis=1).sum())


def run_one(X, k, seed, n_init=1, their_n_init=None, random_init=False):
    """Every method's labels and seconds; scikit-learn and faiss make
    ``their_n_init`` starts (default ``n_init``)."""
    their_n_init = n_init if their_n_init is None else their_n_init

    def ours(refine=None, init="k-means++"):
        km = KMeans(
            k, metric="cosine", n_init=n_init, random_state=seed, refine=refine, init=init
        )
        return km.fit(X)

    def theirs(init="k-means++"):
        km = SKKMeans(k, n_init=their_n_init, random_state=seed, init=init)
        return km.fit(unit)

    results = {"ours": timed(ours), "ours-swap": timed(lambda: ours("swap"))}
    if random_init:
        results["ours-random"] = timed(lambda: ours(init="random"))
    unit = normalize(X)
    results["sklearn"] = timed(theirs)
    if random_init:
        results["sklearn-random"] = timed(lambda: theirs("random"))
    if faiss is not None:

        def fit_faiss():
            km = faiss.Kmeans(
                X.shape[1], k, niter=300, spherical=True, seed=seed, nredo=their_n_init,
                max_points_per_centroid=len(X), verbose=False,
            )  # fmt: skip
            km.train(np.ascontiguousarray(unit, dtype=np.float32))
            return km.index.search(np.ascontiguousarray(unit, np.float32), 1)[1].ravel()

        results["faiss"] = timed(fit_faiss)
    return results


def per_iteration(X, k, seed, repeats=7, iterations=(2, 12)):
    """Seconds per Lloyd iteration and fixed seconds per fit, ours
    (``metric="cosine"`` on X) and scikit-learn's (on the unit rows), from the
    same initial centres (k unit rows drawn uniformly), ``tol=0``: the medians
    of ``repeats`` fits of each of ``iterations`` iterations give the cost of
    one more iteration and, by extrapolation to none, the rest of a fit; and
    each method's iterations to convergence from its own k-means++ start."""
    unit = normalize(X)
    init = unit[np.random.default_rng(seed).choice(len(X), k, replace=False)]
    makers = {
        "ours": (X, lambda it, **kw: KMeans(k, metric="cosine", max_iter=it, **kw)),
        "sklearn": (unit, lambda it, **kw: SKKMeans(k, max_iter=it, **kw)),
    }
    result = {}
    for name, (data, make) in makers.items():
        seconds, done = [], []
        for n_iter in iterations:
            estimator = make(n_iter, init=init, n_init=1, tol=0)
            fits = [timed(functools.partial(estimator.fit, data)) for _ in range(repeats)]
            seconds.append(float(np.median([f[1] for f in fits])))
            done.append(fits[0][2])
        per = (seconds[1] - seconds[0]) / (done[1] - done[0])
        own = make(300, random_state=seed).fit(data).n_iter_
        result[name] = {
            "per_iteration": per,
            "fixed": seconds[0] - per * done[0],
            "iterations": done,
            "to_convergence": int(own),
        }
    return result


def per_iteration_summary(records) -> str:
    """Markdown table: per mixture, ms per iteration (median over seeds), their
    ratio (median, min-max), the fixed ms per fit and the mean iterations to
    convergence from k-means++."""
    head = (
        "| d | k | n | seeds | ms/iteration ours | ms/iteration sklearn | ours/sklearn |"
        " fixed ms ours | fixed ms sklearn | iterations ours | iterations sklearn |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for d, k, n, rows in _mixture_rows(records):
        ours = [r["ours"]["per_iteration"] * 1e3 for r in rows]
        theirs = [r["sklearn"]["per_iteration"] * 1e3 for r in rows]
        ratio = np.array(ours) / np.array(theirs)
        line = f"| {d} | {k} | {n} | {len(rows)} | {np.median(ours):.3f} |"
        line += f" {np.median(theirs):.3f} | {np.median(ratio):.2f}x"
        line += f" ({ratio.min():.2f}-{ratio.max():.2f}) |"
        for m in ("ours", "sklearn"):
            line += f" {np.median([r[m]['fixed'] * 1e3 for r in rows]):.1f} |"
        for m in ("ours", "sklearn"):
            line += f" {np.mean([r[m]['to_convergence'] for r in rows]):.1f} |"
        lines.append(line)
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the first mixture only")
    parser.add_argument(
        "--n-init", type=int, default=1, help="starts of every method (default 1)"
    )
    parser.add_argument(
        "--their-n-init",
        type=int,
        default=None,
        help="starts of scikit-learn and faiss (default: --n-init); e.g. "
        "--n-init 1 --their-n-init 10 weighs one start of ours against ten of theirs",
    )
    parser.add_argument(
        "--mixtures", type=int, default=len(MIXTURES), help="the first N mixtures"
    )
    parser.add_argument(
        "--seeds", type=int, default=len(SEEDS), help="the first N seeds (default 5)"
    )
    parser.add_argument(
        "--random-init",
        action="store_true",
        help='also ours and scikit-learn with init="random" (a second table)',
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads of every method (default: each library's own choice); 1 "
        "gives stable times on a shared machine, where OpenMP's spinning "
        "threads (scikit-learn, faiss) lose most to other processes",
    )
    parser.add_argument(
        "--per-iteration",
        action="store_true",
        help="time one Lloyd iteration of ours and scikit-learn's from the same "
        "centres, and the rest of a fit, instead of whole fits",
    )
    args = parser.parse_args(argv)
    if args.threads is not None:
        limit_threads(args.threads)
    mixtures = MIXTURES[: 1 if args.quick else args.mixtures]
    seeds = SEEDS[: args.seeds]
    records = []
    for d, k, n, kappa_range in mixtures:
        for seed in seeds:
            X, truth, kappas, counts = vmf_mixture(d, k, n, kappa_range, seed)
            if args.per_iteration:
                record = {"d": d, "k": k, "n": n, "seed": seed}
                records.append({**record, **per_iteration(X, k, seed)})
                print(json.dumps(records[-1]), flush=True)
                continue
            results = run_one(X, k, seed, args.n_init, args.their_n_init, args.random_init)
            record = {"d": d, "k": k, "n": n, "seed": seed, "n_init": args.n_init}
            record["their_n_init"] = args.their_n_init or args.n_init
            record["kappa"] = [float(kappas.min()), float(kappas.max())]
            record["sizes"] = [int(counts.min()), int(counts.max())]
            unit = normalize(X)
            record["truth_objective"] = objective(unit, truth, k)
            for name, (labels, seconds, n_iter) in results.items():
                record[name] = {
                    "ari": float(adjusted_rand_score(truth, labels)),
                    "objective": objective(unit, labels, k),
                    "seconds": seconds,
                    "n_iter": n_iter,  # of the best start; ours-swap: its last run
                }
            records.append(record)
            print(json.dumps(record), flush=True)
    if args.per_iteration:
        print(per_iteration_summary(records))
    else:
        print(summary(records))
        print()
        print(objective_summary(records))
    if args.random_init:
        print()
        print(summary(records, RANDOM_METHODS, RANDOM_RATIOS))
    out = Path(__file__).parent / "cosine_results"
    out.mkdir(exist_ok=True)
    name = f"{datetime.date.today().isoformat()}-n{args.n_init}"
    if args.per_iteration:
        name = f"{datetime.date.today().isoformat()}-per-iteration"
    if args.their_n_init is not None and args.their_n_init != args.n_init:
        name += f"-p{args.their_n_init}"
    if len(mixtures) < len(MIXTURES) or len(seeds) < len(SEEDS):
        name += f"-m{len(mixtures)}-s{len(seeds)}"
    if args.random_init:
        name += "-r"
    if args.threads is not None:
        name += f"-t{args.threads}"
    path = out / f"{name}.json"
    meta = {
        "kmeans": kmeans.__version__,
        "numpy": np.__version__,
        "faiss": getattr(faiss, "__version__", None),
        "machine": platform.platform(),
        "seeds": seeds,
        "threads": args.threads,
        "command": "python benchmarks/cosine.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    path.write_text(json.dumps({"meta": meta, "runs": records}, indent=1) + "\n")
    print(f"written {path}")


def _spread(values, fmt):
    values = np.asarray(values)
    low, high = fmt.format(values.min()), fmt.format(values.max())
    return f"{fmt.format(values.mean())} ({low}-{high})"


METHODS = ("ours", "ours-swap", "sklearn", "faiss")
RATIOS = [(m, o) for m in ("ours", "ours-swap") for o in ("sklearn", "faiss")]
# --random-init's table: every method seeded by rows drawn uniformly
RANDOM_METHODS = ("ours-random", "sklearn-random", "faiss", "sklearn")
RANDOM_RATIOS = [("ours-random", o) for o in ("sklearn", "sklearn-random", "faiss")]


def _mixture_rows(records):
    keys = sorted({(r["d"], r["k"], r["n"]) for r in records})
    for d, k, n in keys:
        yield d, k, n, [r for r in records if (r["d"], r["k"], r["n"]) == (d, k, n)]


def summary(records, methods=METHODS, ratios=RATIOS) -> str:
    """Markdown table: per mixture, mean ARI (min-max over seeds) of ``methods``
    and the time ratios ``ratios`` (median, min-max)."""
    names = [m for m in methods if m in records[0]]
    ratios = [(m, o) for m, o in ratios if m in names and o in names]
    head = "| d | k | n | seeds | kappa | sizes |" + "".join(f" ARI {m} |" for m in names)
    head += "".join(f" time {m}/{o} |" for m, o in ratios)
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for d, k, n, rows in _mixture_rows(records):
        kappa = (
            f"{min(r['kappa'][0] for r in rows):.0f}-{max(r['kappa'][1] for r in rows):.0f}"
        )
        sizes = f"{min(r['sizes'][0] for r in rows)}-{max(r['sizes'][1] for r in rows)}"
        line = f"| {d} | {k} | {n} | {len(rows)} | {kappa} | {sizes} |"
        for m in names:
            line += f" {_spread([r[m]['ari'] for r in rows], '{:.3f}')} |"
        for m, other in ratios:
            values = [r[m]["seconds"] / r[other]["seconds"] for r in rows]
            line += f" {np.median(values):.2f}x ({min(values):.2f}-{max(values):.2f}) |"
        lines.append(line)
    return "\n".join(lines)


def objective_summary(records) -> str:
    """Markdown table: per mixture, the objective of each method's labels over
    that of the true labels, mean (min-max over seeds)."""
    every = METHODS + ("ours-random", "sklearn-random")
    names = [m for m in every if m in records[0] and "objective" in records[0][m]]
    head = "| d | k |" + "".join(f" objective/truth {m} |" for m in names)
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for d, k, _, rows in _mixture_rows(records):
        line = f"| {d} | {k} |"
        for m in names:
            values = [r[m]["objective"] / r["truth_objective"] for r in rows]
            line += f" {_spread(values, '{:.4f}')} |"
        lines.append(line)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
