"""The command line: ``kmeans`` or ``python -m kmeans``.

kmeans fit DATA
    Cluster a CSV/TSV, ``.npy`` or ``.npz`` file; write the labels, the centres,
    a JSON summary, the model (and with ``--plot`` a PNG). ``--minibatch`` uses
    MiniBatchKMeans, which reads a memory-mapped ``.npy`` one minibatch at a time.
kmeans predict MODEL DATA
    Labels of new data with a saved model.
kmeans demo
    Cluster Fisher's iris data, shipped inside the package, and draw it (also
    what runs with no arguments).
kmeans bench [--quick ...]
    The comparison with other k-means libraries (:mod:`kmeans._bench`).

Errors are one line on stderr and a non-zero exit status (2 for a bad command
line, 1 for a problem with a file or the data), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

_PLOT_EXTRA = 'pip install "kmeans[plot]"'


class CommandError(Exception):
    """A problem the user can fix; the message is one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # one line instead of argparse's usage block
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _seed(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return int(text)


def _n_init(text: str):
    return "auto" if text == "auto" else _positive_int(text)


def _say(line: str = "", out=None) -> None:
    print(line, file=out or sys.stdout)


# -- files ---------------------------------------------------------------------


def _check_new(paths, force: bool) -> None:
    """Refuse to overwrite files unless --force."""
    if force:
        return
    for path in paths:
        if path.exists():
            raise CommandError(
                f"{path} already exists; use --force to overwrite it or -o to "
                "write elsewhere"
            )


def _writable_dir(directory: Path) -> None:
    """Create ``directory`` if needed and check that files can be written in it."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise CommandError(
            f"cannot write to the output directory {directory}: {exc.strerror or exc}"
        ) from exc


def _need_matplotlib(what: str) -> None:
    try:
        import matplotlib
    except ImportError:
        raise CommandError(f"{what} needs matplotlib: {_PLOT_EXTRA}") from None
    matplotlib.use("Agg")  # files only: no window, works without a display


def _save_plot(model, X, path: Path, names=None, title: str | None = None) -> None:
    import matplotlib.pyplot as plt

    from . import plot

    ax = plot.clusters(model, X, feature_names=names)
    if title:
        ax.set_title(title)
    ax.figure.savefig(path, dpi=120)
    plt.close(ax.figure)


# -- fit -----------------------------------------------------------------------


def _init_arg(args):
    """The init parameter: a method name, or centres read from a file."""
    from ._io import read_table

    if args.init in ("k-means++", "random"):
        return args.init
    if not Path(args.init).exists():
        raise CommandError(
            f"--init {args.init}: neither k-means++, random nor an existing file"
        )
    centers, _ = read_table(args.init)
    return np.asarray(centers, dtype=np.float64)


def _fit(args) -> int:
    from ._estimator import KMeans
    from ._io import read_table

    if args.minibatch and args.algorithm is not None:
        raise CommandError("--algorithm does not apply to --minibatch")
    if args.batch_size is not None and not args.minibatch:
        raise CommandError("--batch-size needs --minibatch")
    data = Path(args.data)
    outdir = Path(args.output)
    stem = data.stem
    # labels of array input stay binary: a million-row CSV is slow to write and read
    labels_suffix = "npy" if data.suffix.lower() in (".npy", ".npz") else "csv"
    targets = {
        "labels": outdir / f"{stem}-labels.{labels_suffix}",
        "centers": outdir / f"{stem}-centers.csv",
        "summary": outdir / f"{stem}-summary.json",
        "model": outdir / f"{stem}-model.npz",
    }
    if args.plot:
        _need_matplotlib("--plot")
        targets["plot"] = outdir / f"{stem}-clusters.png"
    _check_new(targets.values(), args.force)

    # the defaults of each estimator
    if args.max_iter is None:
        args.max_iter = 100 if args.minibatch else 300
    if args.tol is None:
        args.tol = 0.0 if args.minibatch else 1e-4
    if args.batch_size is None:
        args.batch_size = 1024
    if args.algorithm is None:
        args.algorithm = "lloyd"
    X, names = read_table(args.data, args.columns)
    n_rows, n_columns = X.shape
    init = _init_arg(args)
    n_clusters = args.n_clusters
    if not isinstance(init, str):
        if n_clusters is None:
            n_clusters = init.shape[0]
        if init.shape != (n_clusters, n_columns):
            raise CommandError(
                f"--init {args.init}: {init.shape[0]} centres of {init.shape[1]} columns; "
                f"expected {n_clusters} of {n_columns}, like the data"
            )
    default = " (the default)" if n_clusters is None else ""
    n_clusters = 8 if n_clusters is None else n_clusters
    if n_clusters > n_rows:
        raise CommandError(
            f"-k {n_clusters}{default} is more than the {n_rows} rows of {args.data}"
        )
    _writable_dir(outdir)

    # without --seed, draw one and report it, so that the run can be repeated
    seed = args.seed
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**31)
    common = {
        "init": init,
        "n_init": args.n_init,
        "max_iter": args.max_iter,
        "tol": args.tol,
        "random_state": seed,
        "verbose": int(args.verbose),
    }
    if args.minibatch:
        from ._minibatch import MiniBatchKMeans

        # X is read one minibatch at a time: a memory-mapped .npy is never loaded
        model = MiniBatchKMeans(n_clusters, batch_size=args.batch_size, **common)
    else:
        model = KMeans(n_clusters, algorithm=args.algorithm, **common)
    start = time.perf_counter()
    model.fit(X)
    elapsed = time.perf_counter() - start
    sizes = np.bincount(model.labels_, minlength=n_clusters)

    labels_path = targets["labels"]
    if labels_path.suffix == ".npy":
        np.save(labels_path, model.labels_)
    else:
        np.savetxt(labels_path, model.labels_, fmt="%d", header="label", comments="")
    header = ",".join(names or (f"x{j}" for j in range(n_columns)))
    # %.17g: the centres read back are the same numbers
    np.savetxt(
        targets["centers"],
        model.cluster_centers_,
        fmt="%.17g",
        delimiter=",",
        header=header,
        comments="",
    )
    model.save(targets["model"])
    if args.plot:
        _save_plot(model, X, targets["plot"], names)
    from . import __version__

    summary = {
        "kmeans_version": __version__,
        "data": str(data),
        "n_samples": n_rows,
        "n_features": n_columns,
        "columns": names,
        "n_clusters": n_clusters,
        "sizes": sizes.tolist(),
        "inertia": model.inertia_,
        "n_iter": model.n_iter_,
        "fit_seconds": round(elapsed, 6),
        "parameters": {
            "n_clusters": n_clusters,
            "init": args.init,
            "n_init": args.n_init,
            "max_iter": args.max_iter,
            "tol": args.tol,
            "random_state": seed,
        },
        "outputs": {key: str(path) for key, path in targets.items()},
    }
    if args.minibatch:
        summary["n_steps"] = model.n_steps_
        summary["parameters"].update(minibatch=True, batch_size=args.batch_size)
    else:
        summary["parameters"]["algorithm"] = args.algorithm
    with open(targets["summary"], "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")

    _say(
        f"{data.name}: {n_rows} rows x {n_columns} columns -> {n_clusters} "
        f"cluster{'s' if n_clusters != 1 else ''} "
        f"in {_progress_text(model)}, {_duration(elapsed)} (seed {seed})"
    )
    _say(f"cluster sizes: {', '.join(map(str, sizes))}")
    _say(f"inertia: {model.inertia_:.6g}")
    _say(f"wrote {', '.join(str(p) for p in targets.values())}")
    return 0


def _progress_text(model) -> str:
    if hasattr(model, "n_steps_"):
        return f"{model.n_steps_} minibatches ({model.n_iter_} passes)"
    return f"{model.n_iter_} iterations"


def _duration(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


# -- predict -------------------------------------------------------------------


def _predict(args) -> int:
    from ._io import read_table
    from ._persistence import load

    output = Path(args.output) if args.output else None
    if output is not None:
        _check_new([output], args.force)
    try:
        model = load(args.model)
    except OSError as exc:
        raise CommandError(f"cannot read {args.model}: {exc.strerror or exc}") from exc
    if not hasattr(model, "cluster_centers_"):
        raise CommandError(f"{args.model} holds a model that was never fitted")
    X, _ = read_table(args.data, args.columns)
    if X.shape[1] != model.n_features_in_:
        raise CommandError(
            f"the model was fitted on {model.n_features_in_} columns; {args.data} has "
            f"{X.shape[1]} (choose them with --columns)"
        )
    labels = model.predict(X)
    if output is None:
        sys.stdout.write("\n".join(map(str, labels.tolist())) + "\n")
        return 0
    try:
        if output.suffix == ".npy":
            np.save(output, labels)
        else:
            np.savetxt(output, labels, fmt="%d", header="label", comments="")
    except OSError as exc:
        raise CommandError(f"cannot write {output}: {exc.strerror or exc}") from exc
    _say(f"wrote {labels.size} labels to {output}")
    return 0


# -- demo ----------------------------------------------------------------------


def _demo(args) -> int:
    from ._datasets import load_iris
    from ._estimator import KMeans

    n_clusters, seed = args.n_clusters, args.seed
    X, species, names = load_iris()
    start = time.perf_counter()
    model = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed).fit(X)
    elapsed = time.perf_counter() - start
    sizes = np.bincount(model.labels_, minlength=n_clusters)

    _say(f"Fisher's iris data: {X.shape[0]} flowers x {X.shape[1]} measurements (cm)")
    _say(
        f"KMeans(n_clusters={n_clusters}, n_init=10, random_state={seed}): "
        f"{model.n_iter_} iterations, {elapsed * 1e3:.1f} ms"
    )
    _say()
    width = max(len(n) for n in names)
    _say(f"{'cluster':>7}  {'size':>4}  " + "  ".join(f"{n:>{width}}" for n in names))
    for k, (size, center) in enumerate(zip(sizes, model.cluster_centers_)):
        _say(f"{k:>7}  {size:>4}  " + "  ".join(f"{v:>{width}.3f}" for v in center))
    _say()
    _say(f"inertia: {model.inertia_:.4f}")
    _say()
    _say("species per cluster (not used by the fit):")
    for k in range(n_clusters):
        kinds, counts = np.unique(species[model.labels_ == k], return_counts=True)
        _say(f"  {k}: " + ", ".join(f"{c} {s}" for s, c in zip(kinds, counts)))
    _say()
    _demo_picture(model, X, args)
    return 0


def _demo_picture(model, X, args) -> None:
    """Draw the demo's clusters to a PNG if matplotlib is there; else say why not."""
    outdir = Path(args.output or ".")
    path = outdir / "iris-clusters.png"
    try:
        _need_matplotlib("the picture")
    except CommandError:
        _say(f"picture: none, as matplotlib is not installed ({_PLOT_EXTRA})")
        return
    if path.exists() and not args.force:
        _say(f"picture: kept the existing {path} (--force replaces it)")
        return
    try:
        _writable_dir(outdir)
    except CommandError as exc:
        if args.output:  # asked for this directory: an error
            raise
        _say(f"picture: none, {exc}")
        return
    k = model.n_clusters
    title = f"Fisher's iris data in {k} clusters (PCA projection)"
    _save_plot(model, X, path, title=title)
    _say(f"picture: {path} (the clusters on the first two principal components)")


# -- main ----------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    from . import __version__
    from ._backends.memory import DENSE

    parser = _Parser(prog="kmeans", description="NumPy-vectorised k-means clustering.")
    parser.add_argument("--version", action="version", version=f"kmeans {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    fit = commands.add_parser(
        "fit",
        help="cluster a data file; write labels, centres, a summary and the model",
        description="Cluster DATA: CSV/TSV text (header detected), .npy (memory-mapped) "
        "or .npz. Writes DATA-labels.csv (.npy for array input), DATA-centers.csv, "
        "DATA-summary.json and DATA-model.npz into OUTDIR.",
    )
    fit.add_argument("data", metavar="DATA")
    fit.add_argument(
        "-k",
        "--n-clusters",
        type=_positive_int,
        metavar="K",
        help="number of clusters (default 8, or the rows of an --init file)",
    )
    fit.add_argument(
        "--init",
        default="k-means++",
        metavar="METHOD|FILE",
        help="k-means++ (default), random, or a file of initial centres",
    )
    fit.add_argument(
        "--n-init",
        type=_n_init,
        default="auto",
        metavar="N",
        help="runs from different initial centres; the best is kept (default auto)",
    )
    fit.add_argument(
        "--max-iter",
        type=_positive_int,
        metavar="N",
        help="iterations (default 300); with --minibatch, passes over the data (100)",
    )
    fit.add_argument(
        "--tol", type=float, metavar="TOL", help="default 1e-4; with --minibatch, 0"
    )
    fit.add_argument(
        "--seed",
        type=_seed,
        metavar="S",
        help="random seed (default: drawn, and reported so that the run can be repeated)",
    )
    fit.add_argument(
        "--algorithm",
        choices=sorted(DENSE.algorithms),
        help="default lloyd (not --minibatch)",
    )
    fit.add_argument(
        "--minibatch",
        action="store_true",
        help="MiniBatchKMeans: reads DATA one minibatch at a time (a .npy is "
        "memory-mapped, so it may be larger than memory)",
    )
    fit.add_argument(
        "--batch-size",
        type=_positive_int,
        metavar="N",
        help="rows per minibatch, with --minibatch (default 1024)",
    )
    fit.add_argument(
        "--columns",
        metavar="LIST",
        help="comma-separated column names or numbers (from 1) to use",
    )
    fit.add_argument(
        "-o",
        "--output",
        default=".",
        metavar="OUTDIR",
        help="directory for the outputs (default: here)",
    )
    fit.add_argument("--plot", action="store_true", help="also draw DATA-clusters.png")
    fit.add_argument("--force", action="store_true", help="overwrite existing outputs")
    fit.add_argument("-v", "--verbose", action="store_true", help="show progress")

    predict = commands.add_parser(
        "predict",
        help="labels of new data with a saved model",
        description="Print the label of each row of DATA (one per line), or write them "
        "to FILE (.csv, or .npy).",
    )
    predict.add_argument("model", metavar="MODEL")
    predict.add_argument("data", metavar="DATA")
    predict.add_argument("-o", "--output", metavar="FILE")
    predict.add_argument("--columns", metavar="LIST")
    predict.add_argument("--force", action="store_true", help="overwrite FILE")

    demo = commands.add_parser(
        "demo", help="cluster the built-in iris data and draw it (default)"
    )
    demo.add_argument("-k", "--n-clusters", type=int, default=3, metavar="K")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "-o",
        "--output",
        metavar="OUTDIR",
        help="where to write iris-clusters.png (default: here)",
    )
    demo.add_argument("--force", action="store_true", help="overwrite the picture")

    # parsed by the harness itself (see main); listed here for --help
    commands.add_parser(
        "bench", help="compare with scikit-learn, faiss and SciPy (kmeans bench --help)"
    )
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"kmeans: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        from ._bench import main as bench

        return bench(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    command = args.command or "demo"
    if command == "demo":
        if args.command is None:  # no arguments: the demo's defaults
            args = parser.parse_args(["demo"])
        if not 1 <= args.n_clusters <= 150:
            parser.error(
                f"-k must be between 1 and 150 (the number of flowers), "
                f"got {args.n_clusters}"
            )
    jobs = {"fit": _fit, "predict": _predict, "demo": _demo}
    from ._exceptions import ModelFileError
    from ._io import DataError

    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        try:
            return jobs[command](args)
        except (CommandError, DataError, ModelFileError) as exc:
            message = str(exc)
        except MemoryError:
            message = "out of memory"
        except KeyboardInterrupt:
            print(f"kmeans {command}: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # e.g. `kmeans predict ... | head`
            # as Python's documentation advises: no second error when exiting
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    print(f"kmeans {command}: error: {message}", file=sys.stderr)
    return 1
