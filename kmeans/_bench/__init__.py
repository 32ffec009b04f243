"""Side-by-side comparison of k-means implementations (``kmeans bench``).

Every method gets the same data, the same initial centres, the same iteration
budget and the same stopping rule; the final inertia of each is recomputed here,
in float64, from the centres it returned. Every measurement runs in a fresh
process (:mod:`.worker`), after a warm-up, and the methods take turns over
``--repeat`` rounds (:mod:`.driver`): on a shared machine the absolute times drift,
and the median ratio to scikit-learn, with its spread over the rounds, is the figure
to read. Peers that are not installed are skipped with a note. Results go to JSON
and, with matplotlib, to a PNG chart (:mod:`.report`).

``--minibatch`` compares MiniBatchKMeans with scikit-learn's instead; ``--memmap``
measures the memory of MiniBatchKMeans on memory-mapped files of growing size.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sys
import tempfile

from .driver import Bench
from .report import chart, markdown_table, minibatch_table
from .runners import FULL_METHODS, METHODS, MINIBATCH_METHODS
from .workloads import MEMMAP_SIZES_MIB

__all__ = ["Bench", "main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def _count(low: int, high: int):
    """An argparse type: an integer in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not in [{low}, {high}]")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kmeans bench", description="Compare k-means implementations.")
    add = parser.add_argument
    add("--quick", action="store_true", help="sizes / 20, for a smoke run")
    add("--methods", default=",".join(FULL_METHODS), help="comma-separated")
    add("--repeat", type=_count(1, 100), default=3, help="rounds, methods in turn (3)")
    add("--iterations", type=_count(1, 10_000), default=10, help="per-iteration fits (10)")
    add("--no-scaling", action="store_true", help="skip the cost against n")
    add("--threads", type=_count(1, 4096), help="hold every library to N threads")
    add("-o", "--output", default="bench", help="prefix of the .json and .png (bench)")
    add("--json", metavar="PATH", help="where to write the JSON (OUTPUT.json)")
    add("--chart", metavar="PATH", help="where to draw the chart (OUTPUT.png)")
    add("--minibatch", action="store_true", help="MiniBatchKMeans against scikit-learn's")
    add("--batch-size", type=_count(1, 2**24), default=1024, help="rows per minibatch")
    add("--passes", type=_count(1, 1000), default=3, help="passes over the minibatch data")
    add("--memmap", action="store_true", help="memory of MiniBatchKMeans on .npy files")
    mib = _count(1, 2**20)  # up to 1 TiB
    sizes = lambda text: [mib(size) for size in text.split(",")]  # noqa: E731
    add("--sizes", type=sizes, default=MEMMAP_SIZES_MIB, help="--memmap files in MiB")
    return parser


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """Reject what would fail minutes later (nothing is written before); return the
    methods."""
    if args.minibatch and args.memmap:
        parser.error("--minibatch and --memmap are separate runs: choose one")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        parser.error(f"unknown method(s) {unknown}; choose from {list(METHODS)}")
    args.json = args.json or f"{args.output}.json"
    args.chart = args.chart or f"{args.output}.png"
    for path in (args.json, args.chart):
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            parser.error(f"cannot write {path}: {folder} is not a writable folder")
    if args.memmap:
        # the files are written one at a time in the temporary folder, then deleted
        folder = tempfile.gettempdir()
        free = shutil.disk_usage(folder).free // 2**20
        if max(args.sizes) > free:
            parser.error(f"--sizes {max(args.sizes)}: {folder} has {free} MiB free")
    return methods


def main(argv: list[str] | None = None) -> int:
    """Run ``kmeans bench`` with the arguments ``argv``; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    methods = _check(parser, args)
    bench = Bench(methods, args.quick, args.repeat, args.iterations, not args.no_scaling,
                  args.passes, args.batch_size, threads=args.threads,
                  log=functools.partial(print, flush=True))  # fmt: skip
    table = ""
    if args.memmap:
        # scikit-learn's draws cost O(n) each, so it runs only when asked:
        # --methods kmeans-minibatch,sklearn-minibatch
        chosen = [m for m in MINIBATCH_METHODS if m in methods]
        bench.methods = chosen or ["kmeans-minibatch"]
        results = bench.run_memmap(args.sizes)
    elif args.minibatch:
        bench.methods = None
        results = bench.run_minibatch()
        table = minibatch_table(results)
    else:
        results = bench.run()
        table = markdown_table(results)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=2)
    drew = "per_iteration" in results and chart(results, args.chart)
    print(f"\n{table}\nwrote {args.json}" + (f" and {args.chart}" if drew else ""))
    if "per_iteration" in results and not drew:
        print("(no chart: matplotlib is not installed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
