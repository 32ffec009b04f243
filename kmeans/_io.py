"""Reading data files for the command line: CSV/TSV text, ``.npy`` and ``.npz``.

Every problem with a file becomes a :class:`DataError` whose message is one line
that says where it is (file, line, column). ``.npy`` files are memory-mapped: the
estimator reads them block by block without copying them.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np

__all__ = ["DataError", "read_table"]

# Cells that mean "no value" in the CSV files people export (R, pandas, Excel).
_MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "-"}
# Rows checked at a time for NaN in a (memory-mapped) array: bounded temporaries.
_CHECK_ROWS = 65536


class DataError(Exception):
    """A data file that cannot be used; the message is one line."""


def read_table(path: str, columns: str | None = None):
    """Read a data file into a 2-D float array.

    Parameters
    ----------
    path : str
        A ``.npy`` file (memory-mapped), an ``.npz`` archive holding one array or
        an array named ``X``, or a text file of numbers separated by commas, tabs,
        semicolons or spaces, with or without a header row.
    columns : str or None
        Comma-separated names (with a header) or 1-based numbers of the columns
        to use; None uses all.

    Returns
    -------
    X : ndarray of shape (n_rows, n_columns)
        float64, or the ``.npy``'s own float dtype (a read-only memory map).
    names : list of str or None
        The names of the columns from the header, if there was one.
    """
    suffix = Path(path).suffix.lower()
    if suffix in (".npy", ".npz"):
        X = _read_npy(path) if suffix == ".npy" else _read_npz(path)
        if columns is not None:
            X = X[:, _column_indices(columns, X.shape[1], None, path)]
        _check_array_values(X, path)
        return X, None
    return _read_text(path, columns)


def _open_error(path: str, exc: OSError) -> DataError:
    return DataError(f"cannot read {path}: {exc.strerror or exc}")


def _read_npy(path: str) -> np.ndarray:
    try:
        X = np.load(path, mmap_mode="r", allow_pickle=False)
    except OSError as exc:
        raise _open_error(path, exc) from exc
    except ValueError as exc:
        raise DataError(f"cannot read {path}: not a usable .npy array ({exc})") from exc
    return _check_array_shape(X, path)


def _read_npz(path: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = archive.files
            if "kmeans_metadata" in names:
                raise DataError(f"{path} is a saved kmeans model, not data")
            if not names:
                raise DataError(f"{path} holds no arrays")
            if len(names) != 1 and "X" not in names:
                listed = ", ".join(names) or "none"
                raise DataError(
                    f"{path} holds several arrays ({listed}): name the data 'X' "
                    "or save it alone"
                )
            X = archive["X" if "X" in names else names[0]]
    except OSError as exc:
        raise _open_error(path, exc) from exc
    except ValueError as exc:
        raise DataError(f"cannot read {path}: not a usable .npz archive ({exc})") from exc
    return _check_array_shape(X, path)


def _check_array_shape(X: np.ndarray, path: str) -> np.ndarray:
    if X.dtype.kind not in "biuf":
        raise DataError(f"{path} holds {X.dtype} values, not numbers")
    if X.ndim != 2:
        raise DataError(
            f"{path} holds an array of shape {X.shape}; expected rows x columns "
            "(2-D; reshape(-1, 1) makes a column of a 1-D array)"
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"{path} holds no data (shape {X.shape})")
    return X


def _check_array_values(X: np.ndarray, path: str) -> None:
    if X.dtype.kind != "f":
        return
    for lo in range(0, X.shape[0], _CHECK_ROWS):
        block = X[lo : lo + _CHECK_ROWS]
        bad = ~np.isfinite(block)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            what = "missing value (NaN)" if np.isnan(block[row, col]) else "infinite value"
            raise DataError(
                f"{path}: {what} at row {lo + row}, column {col} (counting from 0)"
            )


def _column_indices(columns: str, n_columns: int, names, path: str) -> list[int]:
    """0-based indices of the columns named or numbered (from 1) in ``columns``."""
    indices = []
    for token in (t.strip() for t in columns.split(",")):
        if names is not None and token in names:
            indices.append(names.index(token))
        elif token.isdigit() and 1 <= int(token) <= n_columns:
            indices.append(int(token) - 1)
        else:
            known = f"columns: {', '.join(names)}" if names else f"{n_columns} columns"
            raise DataError(f"--columns: no column {token!r} in {path} ({known})")
    return indices


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return [field.strip() for field in next(csv.reader([line], delimiter=delimiter))]


def _read_text(path: str, columns: str | None):
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            n_skipped, first = 0, ""
            for first in f:  # the first line that is not blank
                if first.strip():
                    break
                n_skipped += 1
    except OSError as exc:
        raise _open_error(path, exc) from exc
    except UnicodeDecodeError as exc:
        raise DataError(
            f"cannot read {path}: not UTF-8 text, nor a .npy or .npz file"
        ) from exc
    if not first.strip():
        raise DataError(f"{path} is empty")
    delimiter = next((d for d in ("\t", ",", ";") if d in first), None)
    fields = _split(first, delimiter)
    # a header is a first line with a cell that is not a number
    has_header = any(cell and not _is_number(cell) for cell in fields)
    names = fields if has_header else None
    n_columns = len(fields)
    usecols = (
        list(range(n_columns))
        if columns is None
        else _column_indices(columns, n_columns, names, path)
    )
    # loadtxt ignores the fields beyond usecols: give it none when all are used, so
    # that a row with a field too many is caught
    options = {"quotechar": '"'} if delimiter else {}
    if columns is not None:
        options["usecols"] = usecols
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": said below
            X = np.loadtxt(
                path,
                dtype=np.float64,
                delimiter=delimiter,
                comments=None,
                skiprows=n_skipped + has_header,
                ndmin=2,
                encoding="utf-8-sig",
                **options,
            )
    except ValueError:
        X = None  # find the cell at fault, with its line number, the slow way
    if X is None or not np.isfinite(X).all():
        _find_bad_cell(path, delimiter, n_skipped + has_header, n_columns, usecols, names)
        raise DataError(f"cannot read {path} as a table of numbers")  # pragma: no cover
    if X.shape[0] == 0:
        raise DataError(f"{path} has a header but no data rows")
    return X, None if names is None else [names[i] for i in usecols]


def _find_bad_cell(path, delimiter, n_skip, n_columns, usecols, names) -> None:
    """Raise a DataError for the first cell that is not a finite number."""

    def column(i: int) -> str:
        return f"column {i + 1}" + (f" ({names[i]!r})" if names else "")

    with open(path, encoding="utf-8-sig", newline="") as f:
        for number, line in enumerate(f, start=1):
            if number <= n_skip or not line.strip():
                continue
            fields = _split(line, delimiter)
            if len(fields) != n_columns:
                raise DataError(
                    f"{path}, line {number}: {len(fields)} fields, expected {n_columns}"
                )
            for i in usecols:
                cell = fields[i]
                if cell.lower() in _MISSING:
                    raise DataError(f"{path}, line {number}, {column(i)}: missing value")
                if not _is_number(cell):
                    raise DataError(
                        f"{path}: {column(i)} is not numeric (line {number} has "
                        f"{cell[:40]!r}); choose the numeric columns with --columns"
                    )
                if not np.isfinite(float(cell)):
                    raise DataError(f"{path}, line {number}, {column(i)}: infinite value")
