"""Input and parameter validation.

Everything a user passes in goes through one of these functions once, at the
public boundary; the computational modules assume validated input.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _exceptions
from ._core.blocks import is_sparse
from ._exceptions import InvalidParameterError

__all__ = [
    "check_array",
    "check_dask_array",
    "is_dask_array",
    "is_sparse",
    "check_is_fitted",
    "check_random_state",
    "check_sample_weight",
    "validate_bool",
    "validate_int",
    "validate_options",
    "validate_real",
]

_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def is_dask_array(X) -> bool:
    """Whether X is a dask array (told without importing dask)."""
    return type(X).__module__.startswith("dask.array") and hasattr(X, "chunks")


def check_array(
    X, *, owner: str = "KMeans", name: str = "X", accept_sparse: bool = False
) -> np.ndarray:
    """Validate a data matrix and return it as a 2-D float array.

    float32 and float64 arrays are returned as they are (no copy, whatever their
    memory layout); every other numeric type is converted to float64. With
    ``accept_sparse``, scipy.sparse matrices and arrays are returned in CSR form
    (see :func:`_check_sparse`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data.
    owner : str, default="KMeans"
        Name of the estimator or function, for error messages.
    name : str, default="X"
        Name of the argument, for error messages.

    Returns
    -------
    X : ndarray or CSR matrix of shape (n_samples, n_features), float32 or float64
        The validated data. It may be the caller's array itself: never write to it.

    Raises
    ------
    TypeError
        For sparse matrices unless ``accept_sparse``, and for data that is not
        numbers.
    ValueError
        For complex data, strings, a wrong number of dimensions, no samples or
        no features, and NaN or infinite values.
    """
    if is_sparse(X):
        if not accept_sparse:
            raise TypeError(
                f"Sparse data was passed to {owner}, but dense data is required: "
                f"convert {name} to a dense array with {name}.toarray()."
            )
        return _check_sparse(X, owner, name)
    _refuse_masked(X, name)
    if isinstance(X, np.ndarray) and not isinstance(X, np.matrix):
        array = X  # memory maps and other subclasses too: read, never written
    else:
        # np.matrix keeps two dimensions under every operation, which the
        # computations do not expect: asarray views the same numbers as an ndarray
        array = _as_array(_missing_as_nan(X, name), name)

    kind = array.dtype.kind
    if kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {array.dtype}.")
    if kind == "V":  # fields of a record, not strings
        raise TypeError(
            f"{name} must be numeric, got the structured dtype {array.dtype}: convert "
            "it with numpy.lib.recfunctions.structured_to_unstructured."
        )
    if kind in "US":
        raise ValueError(
            f"{name} contains non-numeric data (dtype {array.dtype}): "
            "could not convert string to float."
        )
    if kind == "O":
        try:
            array = array.astype(np.float64)
        except TypeError as exc:
            raise TypeError(
                f"{name} must contain numbers only; found elements of another type: {exc}"
            ) from exc
        except ValueError as exc:
            raise _object_error(array, name, exc) from None
        except OverflowError:  # Python ints beyond float64: 10**400
            raise ValueError(
                f"Input {name} contains infinity or a value too large for "
                f"{np.dtype(np.float64)!r}."
            ) from None
    elif kind == "M" or kind == "m":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}.")
    elif array.dtype not in _FLOAT_DTYPES:
        # integers, booleans and float16 compute in float64
        array = array.astype(np.float64)

    if array.ndim != 2:
        raise _dimension_error(array, name, owner)
    _check_not_empty(array.shape, owner)
    _check_finite(array, name)
    return array


def _check_sparse(X, owner: str, name: str):
    """A scipy.sparse X as CSR with float32 or float64 values, sorted out.

    CSR in float32/float64 with no duplicate entries is returned as it is; any
    other format (CSC, COO, ...) is converted to CSR once, other value types to
    float64, and duplicate entries are summed in a copy: each of these copies the
    stored values (never the zeros). Matrices stay matrices, arrays stay arrays.
    """
    if X.ndim != 2:
        raise _dimension_error(X, name, owner)
    _check_numeric_dtype(X.dtype, name)
    X = X.tocsr()
    if X.dtype not in _FLOAT_DTYPES:
        X = X.astype(np.float64)
    _check_not_empty(X.shape, owner)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    _check_finite(X.data, name)
    return X


def check_dask_array(X, owner: str = "KMeans", name: str = "X"):
    """Validate a 2-D dask array and return it as float32/float64 in whole rows.

    The checks of :func:`check_array` that need no values, with its messages; the
    values (NaN, infinity) are checked by the passes that read them.
    """
    if X.ndim != 2:
        raise _dimension_error(X, name, owner)
    if any(np.isnan(size) for sizes in X.chunks for size in sizes):
        raise ValueError(
            f"{name} has unknown chunk sizes (NaN in {name}.chunks), which {owner} "
            f"needs to split the work by rows: call {name}.compute_chunk_sizes() "
            "first, or build the array with known chunks."
        )
    _check_not_empty(X.shape, owner)
    _check_numeric_dtype(X.dtype, name)
    meta = getattr(X, "_meta", None)
    if meta is not None and not isinstance(meta, np.ndarray):
        raise TypeError(
            f"{owner} takes dask arrays of NumPy chunks; {name}'s chunks are "
            f"{type(meta).__module__}.{type(meta).__name__}: make them dense "
            f"({name}.map_blocks(lambda b: b.toarray())) or pass a SciPy sparse "
            "matrix in memory."
        )
    if X.dtype not in _FLOAT_DTYPES:
        X = X.astype(np.float64)
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})  # whole rows: a distance needs every feature
    return X


def _check_numeric_dtype(dtype, name: str) -> None:
    if dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {dtype}.")
    if dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {dtype}.")


def _dimension_error(X, name: str, owner: str) -> ValueError:
    if X.ndim < 2:
        return ValueError(
            f"Expected 2D array, got {X.ndim}D array instead: {name} has shape "
            f"{X.shape}. Reshape your data either using array.reshape(-1, 1) if "
            "your data has a single feature or array.reshape(1, -1) if it contains a "
            "single sample."
        )
    return ValueError(
        f"Found array with dim {X.ndim}, while dim <= 2 is required by {owner}."
    )


def _check_not_empty(shape, owner: str) -> None:
    n_samples, n_features = shape
    if n_samples == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={shape}) while a minimum of 1 "
            f"is required by {owner}."
        )
    if n_features == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={shape}) while a minimum of 1 "
            f"is required by {owner}."
        )


def _refuse_masked(value, name: str) -> None:
    """A masked array's mask would be ignored (NumPy computes on the hidden values
    as well): refuse it rather than compute silently on them."""
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(
            f"{name} is a masked array (numpy.ma), which is not supported: the mask "
            f"would be ignored. Drop the masked rows or fill them ({name}.filled(...)) "
            "and pass a plain array."
        )


_RAGGED = "rows of different lengths (a ragged nested sequence)"


def detached(a):
    """``a`` without its autograd record: a PyTorch tensor that records
    gradients is read through a view that does not (a fit is not
    differentiable; its ``__array__`` refuses, and torch warns on every number
    read from it). Anything else as it is."""
    return a.detach() if getattr(a, "requires_grad", False) else a


def _as_array(value, name: str) -> np.ndarray:
    """``np.asarray(value)``, with an error that names the argument (ragged lists);
    a tensor that records gradients through :func:`detached`."""
    try:
        return np.asarray(detached(value))
    except (TypeError, ValueError) as exc:
        # NumPy's text for ragged input is a paragraph on "inhomogeneous" shapes
        what = _RAGGED if "inhomogeneous" in str(exc) else str(exc)
        raise ValueError(
            f"{name} could not be converted to a numeric array: {what}."
        ) from None


def _object_error(array: np.ndarray, name: str, exc: ValueError) -> ValueError:
    """The error for an object array that does not convert to float: strings, or
    sequences in the cells (a ragged list kept as objects)."""
    if any(isinstance(v, str) for v in array.flat):
        return ValueError(f"{name} contains non-numeric data: {exc}.")
    return ValueError(f"{name} could not be converted to a numeric array: {_RAGGED}.")


def _missing_as_nan(X, name: str = "X"):
    """pandas columns with missing values (``pd.NA``): as float arrays with NaN, so
    that they are reported as missing values, not as non-numbers."""
    if hasattr(X, "dtypes") and hasattr(X, "to_numpy"):
        _refuse_datetime_columns(X, name)
        try:
            return X.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            return X  # non-numeric columns: reported by the checks below
    return X


def _refuse_datetime_columns(X, name: str) -> None:
    """pandas converts dates and durations to floats (nanoseconds) without a word:
    refuse them, as NumPy datetime64 arrays are."""
    dtypes = X.dtypes
    columns = dtypes.items() if hasattr(dtypes, "items") else [(None, dtypes)]
    for column, dtype in columns:
        if getattr(dtype, "kind", None) in ("M", "m"):
            where = "" if column is None else f" in column {column!r}"
            raise TypeError(
                f"{name} must be numeric, got dtype {dtype}{where}: convert dates and "
                "durations to numbers first."
            )


def _check_finite(array: np.ndarray, name: str) -> None:
    # A finite sum proves every entry finite without an n-sized boolean temporary;
    # only when it is not (NaN, inf or overflow) look closer.
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(array.sum(dtype=np.float64)):
            return
    if np.isnan(array).any():
        raise ValueError(f"Input {name} contains NaN.")
    if np.isinf(array).any():
        raise ValueError(
            f"Input {name} contains infinity or a value too large for {array.dtype!r}."
        )


def check_sample_weight(sample_weight, n_samples: int, dtype) -> np.ndarray | None:
    """Validate sample weights.

    Returns None for unit weights (``sample_weight=None``) so that the hot loops can
    skip the multiplication, otherwise a new 1-D array (never the caller's array)
    of ``dtype``, or of float64 when weights valid in float64 would be infinite,
    zero or subnormal in ``dtype`` (float32: 1.2e-38 to 3.4e38).
    """
    if sample_weight is None:
        return None
    _refuse_masked(sample_weight, "sample_weight")
    if isinstance(sample_weight, numbers.Real) and not _finite_real(sample_weight):
        if sample_weight == sample_weight:  # not NaN (said below, as in an array)
            raise ValueError(
                "Input sample_weight contains infinity or a value too large for "
                f"{np.dtype(np.float64)!r}."
            )
    if isinstance(sample_weight, numbers.Number):
        raw = np.full(n_samples, sample_weight)
    else:
        raw = _as_array(sample_weight, "sample_weight")
        _check_weight_layout(raw, n_samples)
    if raw.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must be a number, got {sample_weight!r}.")
    # checked as given (float64 at least), not as cast to X's dtype: finite weights
    # beyond float32's range, or below it, are valid
    weights = np.array(raw, dtype=np.promote_types(raw.dtype, np.float64), copy=True)
    _check_weight_summary(*weight_summary(weights))
    # kept in float64 where the cast would make a weight infinite, zero or
    # subnormal (imprecise): fit scales them into range (an exact power of two)
    info = np.finfo(dtype)
    nonzero = weights[weights > 0]
    if nonzero.max() <= info.max and nonzero.min() >= info.tiny:
        weights = weights.astype(dtype, copy=False)
    return weights


def _check_weight_layout(raw, n_samples: int) -> None:
    """The checks of an array of weights that need no values (NumPy or dask)."""
    if raw.dtype.kind not in "biuf":
        raise TypeError(
            f"sample_weight must be numeric, got an array of dtype {raw.dtype}."
        )
    if raw.ndim != 1:
        raise ValueError(
            f"Sample weights must be 1D array or scalar, got an array of shape {raw.shape}."
        )
    if raw.shape[0] != n_samples:
        raise ValueError(f"sample_weight.shape == {raw.shape}, expected ({n_samples},)!")


def weight_summary(weights: np.ndarray) -> tuple:
    """(NaN found, infinity found, number of negative and of non-zero values,
    float64 sum) of (a chunk of) weights, for :func:`_check_weight_summary`."""
    with np.errstate(over="ignore", invalid="ignore"):  # reported by the check
        total = float(weights.sum(dtype=np.float64))
    nan, inf = bool(np.isnan(weights).any()), bool(np.isinf(weights).any())
    return (
        nan,
        inf,
        int(np.count_nonzero(weights < 0)),
        int(np.count_nonzero(weights)),
        total,
    )


def _check_weight_summary(nan, inf, n_negative, n_nonzero, total) -> None:
    """Raise for bad weights, from their :func:`weight_summary` (chunks' summed)."""
    if nan:
        raise ValueError("Input sample_weight contains NaN.")
    if inf:
        raise ValueError("Input sample_weight contains infinity.")
    if n_negative:
        raise ValueError(
            f"sample_weight must be non-negative; found {n_negative} negative value(s)."
        )
    if not n_nonzero:
        raise ValueError("Sample weights must contain at least one non-zero number.")
    if not np.isfinite(total):
        raise ValueError(
            "sample_weight is too large: its sum overflows. Divide the weights by a "
            "common factor (only their ratios matter for the centres)."
        )


def check_random_state(seed) -> np.random.Generator:
    """Turn ``seed`` into a :class:`numpy.random.Generator`.

    None gives fresh OS entropy; an int seeds a new generator; a Generator is
    used as it is; a legacy :class:`~numpy.random.RandomState` seeds a new
    generator from one draw, so that it too makes results reproducible.
    """
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(np.iinfo(np.int32).max))
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if seed < 0:
            raise InvalidParameterError(
                f"The 'random_state' parameter must be a non-negative int, a "
                f"numpy.random.Generator, a numpy.random.RandomState or None. Got {seed!r} "
                "instead."
            )
        return np.random.default_rng(int(seed))
    raise InvalidParameterError(
        "The 'random_state' parameter must be an int, a numpy.random.Generator, a "
        f"numpy.random.RandomState or None. Got {seed!r} instead."
    )


def _range_text(low, high, closed: str) -> str:
    left = "[" if closed in ("both", "left") else "("
    right = "]" if closed in ("both", "right") else ")"
    return (
        f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
    )


def validate_int(value, name: str, owner: str, *, low=None, high=None) -> int:
    """Check that a parameter is an int in ``[low, high]`` and return it as int."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or ((low is not None and value < low) or (high is not None and value > high))
    ):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be an int in the range "
            f"{_range_text(low, high, 'both' if high is not None else 'left')}. "
            f"Got {value!r} instead."
        )
    return int(value)


def validate_real(value, name: str, owner: str, *, low=None) -> float:
    """Check that a parameter is a real number ``>= low`` and return it as float."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not _finite_real(value)
        or (low is not None and value < low)
    ):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a float in the range "
            f"{_range_text(low, None, 'left')}. Got {value!r} instead."
        )
    return float(value)


def _finite_real(value) -> bool:
    """Whether a real number is finite as a float (a Python int beyond float64,
    10**400, is not: np.isfinite would raise a TypeError on it)."""
    try:
        return bool(np.isfinite(float(value)))
    except OverflowError:
        return False


def validate_bool(value, name: str, owner: str) -> bool:
    """Check that a parameter is a bool (NumPy's too) and return it as bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a bool. Got {value!r} instead."
        )
    return bool(value)


def validate_options(value, name: str, owner: str, options) -> str:
    """Check that a parameter is one of the strings in ``options``."""
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(o) for o in sorted(options))
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a str among {{{listed}}}. "
            f"Got {value!r} instead."
        )
    return str(value)


def check_is_fitted(estimator, attribute: str = "cluster_centers_") -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has been fitted."""
    if not hasattr(estimator, attribute):
        # scikit-learn's kind when installed (see _exceptions.__getattr__)
        raise _exceptions.NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' "
            "with appropriate arguments before using this estimator."
        )


def check_enough_weighted_samples(sample_weight, n_clusters: int) -> None:
    """Seeding needs at least ``n_clusters`` rows of positive weight."""
    if sample_weight is not None:
        n_positive = int(np.count_nonzero(sample_weight))
        if n_positive < n_clusters:
            raise ValueError(
                f"Only {n_positive} sample(s) have a non-zero weight, fewer than "
                f"n_clusters={n_clusters}: k-means++ and random initialisation "
                "need at least n_clusters of them."
            )


def check_centres_reach(centers: np.ndarray, what: str = "init") -> None:
    """Given initial centres must have squared norms their dtype can hold (in the
    frame where the passes read them): beyond, every distance to them is
    infinite and the sums go to ``inf - inf``."""
    with np.errstate(over="ignore"):
        sq = np.einsum("ij,ij->i", centers, centers)
    if not np.isfinite(sq).all():
        raise ValueError(
            f"{what} has centres too far from the data for squared distances in "
            f"{centers.dtype} (largest |value| {float(np.abs(centers).max()):.3g})."
        )
