"""Reading a model file back into its estimator (the format: kmeans/_persistence.py)."""

from __future__ import annotations

import os

from ._estimator import KMeans
from ._minibatch import MiniBatchKMeans
from ._persistence import read

__all__ = ["load"]


def load(path: str | os.PathLike):
    """Read a model written by :meth:`KMeans.save`.

    The file is read with ``allow_pickle=False``: loading it cannot run code.

    Parameters
    ----------
    path : str or path-like
        The model file.

    Returns
    -------
    model : KMeans
        The model, fitted if it was fitted when saved. It predicts exactly the
        labels the saved model predicted.

    Raises
    ------
    TypeError
        When ``path`` is not a str or path-like (an int would be taken by
        ``open`` as a file descriptor).
    FileNotFoundError, PermissionError
        When the file cannot be opened.
    ModelFileError
        When it is not a model file, is damaged (parameters that the estimator
        would refuse, fitted arrays of the wrong shape or dtype, NaN or infinite
        centres, array headers larger than their data), or was written in a newer
        format than this version of :mod:`kmeans` reads. The message is one line.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> import kmeans
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0]])
    >>> km = kmeans.KMeans(n_clusters=2, random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> km.save(path)
    >>> loaded = kmeans.load(path)
    >>> loaded
    KMeans(n_clusters=2, random_state=0)
    >>> bool(np.array_equal(loaded.predict(X), km.predict(X)))
    True
    """
    return read(path, {"KMeans": KMeans, "MiniBatchKMeans": MiniBatchKMeans})
