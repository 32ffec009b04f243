"""Saving and loading models in a file that cannot run code when it is read.

A model file is an ``.npz`` archive written by NumPy and read back with
``allow_pickle=False``: plain arrays plus one JSON text (``kmeans_metadata``) that
names the format and its version, the library version, the class, the parameters
and the fitted scalars. Unlike a pickle, loading one only ever builds arrays,
numbers and strings.
"""

from __future__ import annotations

import errno
import json
import math
import numbers
import os
import secrets
import zipfile
from pathlib import Path

import numpy as np

from ._backends import is_array_api, to_numpy
from ._exceptions import InvalidParameterError, ModelFileError, warn
from ._validation import check_random_state, is_dask_array, validate_int, validate_real
from ._version import __version__

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "read", "save"]

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
    "n_swap_trials_": int,  # refine="swap"
    "n_swaps_": int,
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

    params, arrays, not_saved = {}, {}, []
    for name, value in model.get_params(deep=False).items():
        if is_array_api(value):  # an init on a device: saved from the host
            value = to_numpy(value)
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
                value = getattr(model, name)
                if is_dask_array(value):  # labels_ of a fit on Dask, kept by the workers
                    value = value.compute()
                arrays[name] = to_numpy(value)  # device: to host
        names = getattr(model, "feature_names_in_", None)
        if names is not None:
            arrays["feature_names_in_"] = np.asarray(names, dtype=str)
    arrays[_METADATA] = np.array(json.dumps(metadata))

    # Written beside the target and renamed into place, so that a crash or a full
    # disk never leaves a half-written model where a good one was.
    _check_path(path)
    path = Path(path)
    if path.is_dir():  # else said of the temporary file, renamed onto the folder
        raise IsADirectoryError(errno.EISDIR, "Is a directory", os.fspath(path))
    fd, tmp = _temporary_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _check_path(path) -> None:
    """A path is a str or path-like: open() would take an int as a file descriptor
    (and close it), bytes are not what Path takes."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or a path-like object, got {type(path).__name__}."
        )


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A new file in ``path``'s folder, open for writing: its descriptor and name.

    Created with mode 0o666 less the umask, as ``open`` creates files (mkstemp's
    0o600 would make models private where every other output is not).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(path.parent, f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
        except FileNotFoundError:
            # said of the folder: the temporary file's name would only confuse
            raise FileNotFoundError(
                errno.ENOENT, "No such directory", os.fspath(path.parent)
            ) from None


def read(path: str | os.PathLike, classes: dict):
    """The model in the file at ``path``, of one of ``classes`` (by name); see
    :func:`kmeans.load`."""
    _check_path(path)
    with open(path, "rb") as f:  # missing or unreadable: the OSError says it best
        try:
            return _read(f, classes)
        except ModelFileError as exc:
            raise ModelFileError(f"{os.fspath(path)}: {exc}") from exc.__cause__
        except _DAMAGED as exc:
            # not numpy's text: for a pickle it advises loading it unsafely
            raise ModelFileError(
                f"{os.fspath(path)}: not a kmeans model file, or a damaged one"
            ) from exc


def _read(f, classes: dict):
    archive = np.load(f, allow_pickle=False)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ModelFileError("not a kmeans model file: it holds one bare array")
    with archive:
        if _METADATA not in archive.files:
            raise ModelFileError(
                f"not a kmeans model file: an .npz archive without {_METADATA!r}"
            )
        meta = json.loads(str(_member(archive, _METADATA, "U", ())[()]))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
            raise ModelFileError(f"not a kmeans model file: format is not {FORMAT_NAME!r}")
        version = meta.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
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
            params[name] = _member(archive, _PARAM + name, "biuf", None)
        unknown = set(params) - set(cls._get_param_names())
        if unknown:
            raise ModelFileError(f"damaged: unknown parameters {sorted(unknown)}")
        model = cls(**params)
        _validate(model)
        if meta["fitted"]:
            _set_fitted(model, meta["attributes"], archive)
    return model


def _validate(model) -> None:
    """The parameters read, checked by the estimator's own rules (those of fit)."""
    try:
        model._validate_params()
        check_random_state(model.random_state)
    except InvalidParameterError as exc:
        raise ModelFileError(f"damaged: {exc}") from None


def _member(archive, name: str, kinds: str, shape) -> np.ndarray:
    """The array ``name`` of the archive, its .npy header checked before the array
    is allocated: a dtype of one of ``kinds`` (no objects), the ``shape`` expected
    (None: any), and a size that the member's bytes can hold."""
    if name not in archive.files:
        raise ModelFileError(f"damaged: no {name!r} array")
    info = archive.zip.getinfo(name + ".npy")
    with archive.zip.open(info) as member:
        major, minor = np.lib.format.read_magic(member)
        if (major, minor) == (1, 0):
            found, _, dtype = np.lib.format.read_array_header_1_0(member)
        elif (major, minor) == (2, 0):
            found, _, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise ModelFileError(f"damaged: {name!r} in .npy format {major}.{minor}")
        header_size = member.tell()
    if dtype.hasobject or dtype.kind not in kinds or (shape is not None and found != shape):
        expected = "" if shape is None else f" {shape}"
        raise ModelFileError(
            f"damaged: {name!r} is an array of shape {found} and dtype {dtype}; "
            f"expected{expected} of kind {kinds!r}"
        )
    # The header's shape is what np.load allocates: it must be what the member
    # holds, and the member no larger than compressed data can expand to (deflate:
    # 1032 to 1 at most), so that a forged header cannot exhaust memory.
    nbytes = math.prod(found) * dtype.itemsize
    if nbytes != info.file_size - header_size or info.file_size > 1032 * max(
        info.compress_size, 1
    ):
        raise ModelFileError(
            f"damaged: {name!r} declares shape {found} of {dtype}, which its "
            f"{info.compress_size} stored bytes do not hold"
        )
    return archive[name]


def _fitted_scalars(attributes: dict, owner: str) -> dict:
    """The fitted scalars read, checked (ints are ints, the inertia a finite float)."""
    if not isinstance(attributes, dict) or "n_features_in_" not in attributes:
        raise ModelFileError("damaged: no fitted attributes")
    values = {}
    try:
        for name, kind in _FITTED_SCALARS.items():
            if name not in attributes:
                continue
            value = attributes[name]
            if kind is float:
                values[name] = validate_real(value, name, owner, low=0)
            else:
                low = 1 if name == "n_features_in_" else 0
                values[name] = validate_int(value, name, owner, low=low)
    except InvalidParameterError as exc:
        raise ModelFileError(f"damaged: {exc}") from None
    return values


def _set_fitted(model, attributes: dict, archive) -> None:
    """Set the fitted attributes, checking that they fit together."""
    scalars = _fitted_scalars(attributes, type(model).__name__)
    k, d = model.n_clusters, scalars["n_features_in_"]
    centers = _member(archive, "cluster_centers_", "f", (k, d))
    if centers.dtype not in (np.float32, np.float64):
        raise ModelFileError(f"damaged: 'cluster_centers_' of dtype {centers.dtype}")
    if not np.isfinite(centers).all():
        raise ModelFileError("damaged: 'cluster_centers_' holds NaN or infinite values")
    if getattr(model, "metric", "euclidean") == "cosine":
        # predict and transform read cosines off x.c: only against unit centres
        norms = np.linalg.norm(centers.astype(np.float64), axis=1)
        if not np.all(np.abs(norms - 1) <= (1e-4 if centers.dtype == np.float32 else 1e-9)):
            raise ModelFileError(
                "damaged: metric='cosine' with 'cluster_centers_' not of unit norm "
                f"(norms {norms.min():.6g} to {norms.max():.6g})"
            )
    if "labels_" in archive.files:
        labels = _member(archive, "labels_", "iu", None)
        if labels.ndim != 1 or (labels.size and not 0 <= labels.min() <= labels.max() < k):
            raise ModelFileError(
                f"damaged: 'labels_' of shape {labels.shape} are not labels of {k} clusters"
            )
        model.labels_ = labels.astype(np.int32, copy=False)
    init = model.init
    # an init given as integers (a list of ints, say) is saved as integers
    if isinstance(init, np.ndarray) and (
        init.shape != (k, d) or init.dtype.kind not in "biuf" or not np.isfinite(init).all()
    ):
        raise ModelFileError(
            f"damaged: the init array of shape {init.shape} is not {k} finite centres "
            f"of {d} features"
        )
    model.cluster_centers_ = centers
    model._fitted_metric = getattr(model, "metric", "euclidean")
    for name, value in scalars.items():
        setattr(model, name, value)
    for name, shape in (("_counts", (k,)), ("_shift", (d,))):
        if name in archive.files:
            value = _member(archive, name, "f", shape)
            if not np.isfinite(value).all():
                raise ModelFileError(f"damaged: {name!r} holds NaN or infinite values")
            if name == "_counts" and (value < 0).any():  # weights seen per centre
                raise ModelFileError("damaged: '_counts' holds negative values")
            setattr(model, name, value)
    if "feature_names_in_" in archive.files:
        names = _member(archive, "feature_names_in_", "U", (d,))
        model.feature_names_in_ = names.astype(object)
