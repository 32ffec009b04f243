"""Whole fits of this package against scikit-learn, alternating, from the same
initial centres: the ratio of the times, for comparing two checkouts.

Run it once per checkout (``PYTHONPATH=<checkout>``) with the same arguments:

    PYTHONPATH=. python benchmarks/ab_fit.py 1000000 2 8     # W1's shape, 10 iterations
    PYTHONPATH=. python benchmarks/ab_fit.py 500000 32 100 --algorithm auto --clustered

Without ``--clustered`` the rows are standard normal noise and both libraries run
``--max-iter`` iterations (tol=0), against scikit-learn's Lloyd. With it they are
unit blobs around k centres drawn in [-10, 10]^d, the fits run to convergence
(tol=1e-4), against the faster of scikit-learn's Lloyd and Elkan in each round.
The initial centres are k distinct random rows. Thread counts: set
KMEANS_NUM_THREADS and OMP_NUM_THREADS.
"""

import argparse
import time

import numpy as np
from sklearn.cluster import KMeans as SKLearnKMeans

from kmeans import KMeans


def seconds(fit) -> tuple[float, object]:
    start = time.perf_counter()
    model = fit()
    return time.perf_counter() - start, model


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_samples", type=int)
    parser.add_argument("n_features", type=int)
    parser.add_argument("n_clusters", type=int)
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--algorithm", default="lloyd")
    parser.add_argument("--max-iter", type=int, default=None, help="10, or 300 clustered")
    parser.add_argument("--clustered", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    n, d, k = args.n_samples, args.n_features, args.n_clusters
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    if args.clustered:
        X += rng.uniform(-10, 10, (k, d))[rng.integers(k, size=n)]
    X = X.astype(args.dtype)
    init = X[rng.choice(n, k, replace=False)].copy()
    max_iter = args.max_iter or (300 if args.clustered else 10)
    tol = 1e-4 if args.clustered else 0.0
    params = {"n_clusters": k, "init": init, "n_init": 1, "max_iter": max_iter, "tol": tol}
    theirs_algorithms = ("lloyd", "elkan") if args.clustered else ("lloyd",)

    def ours():
        return KMeans(algorithm=args.algorithm, **params).fit(X)

    def theirs():
        runs = [
            seconds(lambda a=a: SKLearnKMeans(algorithm=a, **params).fit(X))
            for a in theirs_algorithms
        ]
        return min(runs, key=lambda run: run[0])

    ours(), theirs()  # warm up
    ratios = []
    for _ in range(args.rounds):
        ours_seconds, model = seconds(ours)
        theirs_seconds, reference = theirs()
        ratios.append(ours_seconds / theirs_seconds)
    print(
        f"{n}x{d} k={k} {args.dtype} {args.algorithm}: ratio to scikit-learn "
        f"{np.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}), "
        f"ours {ours_seconds / model.n_iter_ * 1e3:.1f} ms an iteration, "
        f"n_iter {model.n_iter_}/{reference.n_iter_}, "
        f"inertia ratio {model.inertia_ / reference.inertia_:.9f}"
    )


if __name__ == "__main__":
    main()
