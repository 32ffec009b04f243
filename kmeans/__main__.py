"""``python -m kmeans``: the command line (see :mod:`kmeans._cli`)."""

from kmeans._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
