"""Compare kmeans with scikit-learn, faiss and SciPy side by side.

    python benchmarks/compare.py            # full sizes (several minutes)
    python benchmarks/compare.py --quick    # sizes / 20, a smoke run

Same as ``kmeans bench``; see ``kmeans/_bench/`` for what is measured and how.
"""

from kmeans._bench import main

if __name__ == "__main__":
    raise SystemExit(main())
