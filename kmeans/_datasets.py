"""Small datasets shipped inside the package (see ``data/README.md``)."""

from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = ["load_iris"]


def load_iris() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Fisher's iris data: 150 flowers, 4 measurements (cm), 3 species.

    Returns
    -------
    X : ndarray of shape (150, 4), float64
        Sepal length, sepal width, petal length and petal width.
    species : ndarray of shape (150,), str
        The species of each flower (not used by clustering).
    feature_names : list of str
        The names of the columns of X.

    Examples
    --------
    >>> from kmeans._datasets import load_iris
    >>> X, species, names = load_iris()
    >>> X.shape, names[0], sorted(set(species.tolist()))
    ((150, 4), 'sepal_length', ['setosa', 'versicolor', 'virginica'])
    """
    text = resources.files("kmeans").joinpath("data", "iris.csv").read_text("utf-8")
    header, *rows = text.strip().splitlines()
    fields = [row.split(",") for row in rows]
    X = np.array([[float(v) for v in f[:4]] for f in fields])
    species = np.array([f[4] for f in fields])
    return X, species, header.split(",")[:4]
