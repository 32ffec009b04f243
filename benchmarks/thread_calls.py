"""How long a NumPy call must last for two threads to run it faster than one.

Each thread runs the same call on its own arrays (8 x n values), over and over;
the two threads together are timed against the same calls run one after the
other. Between two calls a thread needs the GIL, so short calls wait on each
other: this is what sizes the blocks of rows (``kmeans/_core/blocks.py``).

    python benchmarks/thread_calls.py            # about 20 seconds
"""

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def calls(n_values: int, rng: np.random.Generator) -> dict:
    """The calls timed, each on fresh arrays of 8 x ``n_values``."""
    values = np.abs(rng.standard_normal((8, n_values)))
    keys = values.view(np.int64).copy()
    out = np.empty(n_values, np.int64)
    return {
        "bitwise_and, in place": lambda: np.bitwise_and(keys, -8, out=keys),
        "minimum.reduce, axis 0": lambda: np.minimum.reduce(keys, axis=0, out=out),
        "add, in place": lambda: np.add(values, 1.0, out=values),
    }


def median_seconds(func, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4096,16384,65536", help="n, comma-separated")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"{'values':>10}  {'call':<24} {'us a call':>9}  two threads / one")
    with ThreadPoolExecutor(2) as pool:
        for n_values in (int(size) for size in args.sizes.split(",")):
            per_thread = [calls(n_values, rng), calls(n_values, rng)]
            repeats = max(3_000_000 // n_values, 10)
            for name in per_thread[0]:

                def task(thread, per_thread=per_thread, name=name, repeats=repeats):
                    call = per_thread[thread][name]
                    for _ in range(repeats):
                        call()

                one = median_seconds(lambda: [task(0), task(1)], args.rounds)
                two = median_seconds(lambda: list(pool.map(task, (0, 1))), args.rounds)
                per_call = one / (2 * repeats) * 1e6
                print(f"{8 * n_values:>10}  {name:<24} {per_call:>9.1f}  {one / two:.2f}x")


if __name__ == "__main__":
    main()
