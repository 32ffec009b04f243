"""Saving and loading models in a file that cannot run code when it is read.

A model file is an ``.npz`` archive written by NumPy and read back with
``allow_pickle=False``: plain arrays plus one JSON text (``kmeans_metadata``) that
names the format and its version, the library version, the class, the parameters
and the fitted scalars. Unlike a pickle, loading one only ever builds arrays,
numbers and strings.
"""

from __future__ import annotations

import json
import numbers
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ._exceptions import ModelFileError, warn

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load", "save"]

FORMAT_NAME = "kmeans-model"
# Bump when a reader of the previous version could not read the new files.
FORMAT_VERSION = 1
_METADATA = "kmeans_metadata"
_PARAM = "param."  # array-valued parameters, e.g. an array init
# Fitted attributes saved when the model has them (MiniBatchKMeans has no labels_
# with compute_labels=False, no n_iter_ after partial_fit alone; its per-centre
# counts, frame and reassignment clock let partial_fit go on after loading).
_FITTED_SCALARS = {
    "inertia_": float,
    "n_iter_": int,
    "n_steps_": int,
    "n_features_in_": int,
    "_n_since_last_reassign": int,
}
_FITTED_ARRAYS = ("cluster_centers_", "labels_", "_counts", "_shift")
# What reading a file that is not a model, or a truncated one, raises along the way.
_DAMAGED = (ValueError, TypeError, OSError, EOFError, KeyError, zipfile.BadZipFile)


def _json_param(value):
    """``(json_value, True)`` when ``value`` survives JSON unchanged, else ``(None,
    False)``. NumPy scalars become Python numbers."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, str)):
        return value, True
    if isinstance(value, numbers.Integral):
        return int(value), True
    if isinstance(value, numbers.Real) and np.isfinite(value):
        return float(value), True
    return None, False


def save(model, path: str | os.PathLike) -> None:
    """Write ``model`` to ``path`` (see :meth:`kmeans.KMeans.save`)."""
    from . import __version__

    params, arrays, not_saved = {}, {}, []
    for name, value in model.get_params(deep=False).items():
        if isinstance(value, (np.ndarray, list, tuple)):
            arrays[_PARAM + name] = np.asarray(value)
            continue
        value, ok = _json_param(value)
        if ok:
            params[name] = value
        else:
            not_saved.append(name)
    if not_saved:
        warn(
            f"Not saved, as no safe file format can hold them: {', '.join(not_saved)}. "
            "The loaded model will have their default values.",
            UserWarning,
        )
    fitted = hasattr(model, "cluster_centers_")
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "kmeans_version": __version__,
        "class": type(model).__name__,
        "params": params,
        "array_params": sorted(name[len(_PARAM) :] for name in arrays),
        "not_saved": not_saved,
        "fitted": fitted,
    }
    if fitted:
        metadata["attributes"] = {
            name: kind(getattr(model, name))
            for name, kind in _FITTED_SCALARS.items()
            if hasattr(model, name)
        }
        for name in _FITTED_ARRAYS:
            if hasattr(model, name):
                arrays[name] = getattr(model, name)
        names = getattr(model, "feature_names_in_", None)
        if names is not None:
            arrays["feature_names_in_"] = np.asarray(names, dtype=str)
    arrays[_METADATA] = np.array(json.dumps(metadata))

    # Written beside the target and renamed into place, so that a crash or a full
    # disk never leaves a half-written model where a good one was.
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


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
    FileNotFoundError, PermissionError
        When the file cannot be opened.
    ModelFileError
        When it is not a model file, is damaged, or was written in a newer format
        than this version of :mod:`kmeans` reads.

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
    with open(path, "rb") as f:  # missing or unreadable: the OSError says it best
        try:
            return _read(f)
        except ModelFileError as exc:
            raise ModelFileError(f"{os.fspath(path)}: {exc}") from exc.__cause__
        except _DAMAGED as exc:
            # not numpy's text: for a pickle it advises loading it unsafely
            raise ModelFileError(
                f"{os.fspath(path)}: not a kmeans model file, or a damaged one"
            ) from exc


def _read(f):
    from . import __version__
    from ._estimator import KMeans
    from ._minibatch import MiniBatchKMeans

    classes = {"KMeans": KMeans, "MiniBatchKMeans": MiniBatchKMeans}
    archive = np.load(f, allow_pickle=False)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ModelFileError("not a kmeans model file: it holds one bare array")
    with archive:
        if _METADATA not in archive.files:
            raise ModelFileError(
                f"not a kmeans model file: an .npz archive without {_METADATA!r}"
            )
        meta = json.loads(str(archive[_METADATA][()]))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
            raise ModelFileError(f"not a kmeans model file: format is not {FORMAT_NAME!r}")
        version = meta.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise ModelFileError(f"damaged: bad format_version {version!r}")
        if version > FORMAT_VERSION:
            raise ModelFileError(
                f"written by kmeans {meta.get('kmeans_version')} in model format "
                f"{version}; this kmeans ({__version__}) reads format {FORMAT_VERSION} "
                "and older: upgrade kmeans to load it"
            )
        cls = classes.get(meta.get("class"))
        if cls is None:
            raise ModelFileError(f"unknown model class {meta.get('class')!r}")
        params = dict(meta["params"])
        for name in meta["array_params"]:
            params[name] = archive[_PARAM + name]
        unknown = set(params) - set(cls._get_param_names())
        if unknown:
            raise ModelFileError(f"damaged: unknown parameters {sorted(unknown)}")
        model = cls(**params)
        if meta["fitted"]:
            _set_fitted(model, meta["attributes"], archive)
    return model


def _set_fitted(model, attributes: dict, archive) -> None:
    """Set the fitted attributes, checking that they fit together."""
    centers = archive["cluster_centers_"]
    labels = archive["labels_"] if "labels_" in archive.files else np.zeros(0, np.int32)
    n_features = attributes["n_features_in_"]
    if (
        centers.dtype not in (np.float32, np.float64)
        or centers.shape != (model.n_clusters, n_features)
        or labels.ndim != 1
        or labels.dtype.kind not in "iu"
        or (labels.size and not 0 <= labels.min() <= labels.max() < model.n_clusters)
    ):
        raise ModelFileError(
            f"damaged: centres of shape {centers.shape} and dtype {centers.dtype}, "
            f"labels of shape {labels.shape} and dtype {labels.dtype} do not fit "
            f"n_clusters={model.n_clusters} and {n_features} features"
        )
    model.cluster_centers_ = centers
    if "labels_" in archive.files:
        model.labels_ = labels.astype(np.int32, copy=False)
    for name, kind in _FITTED_SCALARS.items():
        if name in attributes:
            setattr(model, name, kind(attributes[name]))
    for name in ("_counts", "_shift"):
        if name in archive.files:
            setattr(model, name, archive[name])
    if "feature_names_in_" in archive.files:
        model.feature_names_in_ = archive["feature_names_in_"].astype(object)
