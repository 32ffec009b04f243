"""The command line: ``kmeans`` or ``python -m kmeans``.

For now one job, ``demo`` (also what runs with no arguments): cluster Fisher's iris
data, shipped inside the package, and print the centres, the cluster sizes, the
inertia and how the clusters line up with the species.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def _demo(n_clusters: int, seed: int, out=sys.stdout) -> int:
    from ._datasets import load_iris
    from ._estimator import KMeans

    X, species, names = load_iris()
    start = time.perf_counter()
    model = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed).fit(X)
    elapsed = time.perf_counter() - start
    sizes = np.bincount(model.labels_, minlength=n_clusters)

    def say(line=""):
        print(line, file=out)

    say(f"Fisher's iris data: {X.shape[0]} flowers x {X.shape[1]} measurements (cm)")
    say(
        f"KMeans(n_clusters={n_clusters}, n_init=10, random_state={seed}): "
        f"{model.n_iter_} iterations, {elapsed * 1e3:.1f} ms"
    )
    say()
    width = max(len(n) for n in names)
    say(f"{'cluster':>7}  {'size':>4}  " + "  ".join(f"{n:>{width}}" for n in names))
    for k, (size, center) in enumerate(zip(sizes, model.cluster_centers_)):
        say(f"{k:>7}  {size:>4}  " + "  ".join(f"{v:>{width}.3f}" for v in center))
    say()
    say(f"inertia: {model.inertia_:.4f}")
    say()
    say("species per cluster (not used by the fit):")
    for k in range(n_clusters):
        kinds, counts = np.unique(species[model.labels_ == k], return_counts=True)
        say(f"  {k}: " + ", ".join(f"{c} {s}" for s, c in zip(kinds, counts)))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="kmeans", description="NumPy-vectorised k-means clustering."
    )
    commands = parser.add_subparsers(dest="command")
    demo = commands.add_parser(
        "demo", help="cluster the built-in iris data and print the result (default)"
    )
    demo.add_argument("-k", "--n-clusters", type=int, default=3, metavar="K")
    demo.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command in (None, "demo"):
        n_clusters = getattr(args, "n_clusters", 3)
        if not 1 <= n_clusters <= 150:
            parser.error(
                f"-k must be between 1 and 150 (the number of flowers), got {n_clusters}"
            )
        return _demo(n_clusters, getattr(args, "seed", 0))
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover
    return 2
