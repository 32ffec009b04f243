"""Reading data files for the command line: CSV/TSV text, ``.npy`` and ``.npz``.

Every problem with a file becomes a :class:`DataError` whose message is one line
that says where it is (file, line, column). ``.npy`` files are memory-mapped: the
estimator reads them block by block without copying them.
"""

from __future__ import annotations

import csv
import io
import sys
import warnings
import zipfile
import zlib
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
        semicolons or spaces, with or without a header row; lines that start with
        ``#`` are comments. ``-`` reads standard input (any of these kinds, told
        from its first bytes), as do pipes such as ``/dev/stdin``.
    columns : str or None
        Comma-separated names (with a header) or 1-based numbers of the columns
        to use, each once; None uses all.

    Returns
    -------
    X : ndarray of shape (n_rows, n_columns)
        float64, or the ``.npy``'s own float dtype (a read-only memory map).
    names : list of str or None
        The names of the columns from the header, if there was one.
    """
    if path == "-":
        source, suffix, path = _stdin(), None, "standard input"
    else:
        source, suffix = path, Path(path).suffix.lower()
    if suffix is None and isinstance(source, io.BytesIO):
        suffix = ".npz" if source.getvalue()[:4] == b"PK\x03\x04" else ".npy"
    if suffix in (".npy", ".npz"):
        X = _read_npy(source, path) if suffix == ".npy" else _read_npz(source, path)
        if columns is not None:
            X = X[:, _column_indices(columns, X.shape[1], None, path)]
        _check_array_values(X, path)
        return X, None
    return _read_text(source, path, columns)


def _stdin():
    """Standard input, read whole: BytesIO for a .npy or .npz, else StringIO."""
    data = sys.stdin.buffer.read()
    if data[:6] == b"\x93NUMPY" or data[:4] == b"PK\x03\x04":
        return io.BytesIO(data)
    try:
        return io.StringIO(data.decode("utf-8-sig"), newline="")
    except UnicodeDecodeError:
        raise DataError(
            "cannot read standard input: not UTF-8 text, nor a .npy or .npz file"
        ) from None


def _open_error(path: str, exc: OSError) -> DataError:
    return DataError(f"cannot read {path}: {exc.strerror or exc}")


def _read_npy(source, path: str) -> np.ndarray:
    try:
        mmap = "r" if isinstance(source, str) else None
        X = np.load(source, mmap_mode=mmap, allow_pickle=False)
    except OSError as exc:
        raise _open_error(path, exc) from exc
    except ValueError as exc:
        raise DataError(f"cannot read {path}: not a usable .npy array ({exc})") from exc
    return _check_array_shape(X, path)


def _read_npz(source, path: str) -> np.ndarray:
    try:
        with np.load(source, allow_pickle=False) as archive:
            names = archive.files
            if "kmeans_metadata" in names:
                raise DataError(f"{path} is a saved kmeans model, not data")
            if not names:
                raise DataError(f"{path} holds no arrays")
            if {"indices", "indptr", "format", "shape", "data"} <= set(names):
                raise DataError(
                    f"{path} is a SciPy sparse matrix (scipy.sparse.save_npz): the "
                    "command line reads dense data; fit it from Python, where "
                    "KMeans takes sparse matrices"
                )
            if len(names) != 1 and "X" not in names:
                listed = ", ".join(names) or "none"
                raise DataError(
                    f"{path} holds several arrays ({listed}): name the data 'X' "
                    "or save it alone"
                )
            X = archive["X" if "X" in names else names[0]]
    except OSError as exc:
        raise _open_error(path, exc) from exc
    except (ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        # a truncated or corrupted archive (zipfile's and zlib's errors) included
        raise DataError(f"cannot read {path}: not a usable .npz archive ({exc})") from exc
    if not isinstance(X, np.ndarray):  # a member that is not a .npy file: its bytes
        raise DataError(
            f"cannot read {path}: not a usable .npz archive (its array is not in "
            ".npy format)"
        )
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
        if indices.count(indices[-1]) > 1:
            raise DataError(
                f"--columns: {token!r} is column {indices[-1] + 1}, listed already"
            )
    return indices


def _is_number(text: str) -> bool:
    """Whether ``text`` is a number as np.loadtxt reads them: Python's float()
    also takes digits grouped by underscores ("1_000") and digits of other
    scripts ("４", "١"), which loadtxt does not."""
    if "_" in text or not text.isascii():
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return [field.strip() for field in next(csv.reader([line], delimiter=delimiter))]


def _text_stream(source, path: str):
    """The text of ``source`` as a seekable stream (it is read twice when a cell is
    bad): a regular file opened, a pipe read whole."""
    if not isinstance(source, str):
        return source
    try:
        f = open(source, encoding="utf-8-sig", newline="")
        if f.seekable():
            return f
        with f:
            return io.StringIO(f.read(), newline="")
    except OSError as exc:
        raise _open_error(path, exc) from exc
    except UnicodeDecodeError as exc:
        raise _not_text(path) from exc


def _not_text(path: str) -> DataError:
    return DataError(f"cannot read {path}: not UTF-8 text, nor a .npy or .npz file")


def _data_lines(f):
    """The lines that hold data (or the header): not blank, not ``#`` comments."""
    for line in f:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield line


def _read_text(source, path: str, columns: str | None):
    with _text_stream(source, path) as f:
        try:
            first = next(_data_lines(f), "")
        except UnicodeDecodeError as exc:
            raise _not_text(path) from exc
        except OSError as exc:
            raise _open_error(path, exc) from exc
        if not first:
            raise DataError(f"{path} is empty")
        return _parse_text(f, path, first, columns)


def _parse_text(f, path: str, first: str, columns: str | None):
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
        f.seek(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": said below
            X = np.loadtxt(
                _data_lines(f),
                dtype=np.float64,
                delimiter=delimiter,
                comments=None,
                skiprows=int(has_header),
                ndmin=2,
                **options,
            )
    except (ValueError, UnicodeDecodeError):
        X = None  # find the cell at fault, with its line number, the slow way
    if X is None or not np.isfinite(X).all():
        f.seek(0)
        _find_bad_cell(f, path, delimiter, has_header, n_columns, usecols, names)
        raise DataError(f"cannot read {path} as a table of numbers")
    if X.shape[0] == 0:
        raise DataError(f"{path} has a header but no data rows")
    return X, None if names is None else [names[i] for i in usecols]


def _find_bad_cell(f, path, delimiter, has_header, n_columns, usecols, names) -> None:
    """Raise a DataError for the first cell that is not a finite number."""

    def column(i: int) -> str:
        return f"column {i + 1}" + (f" ({names[i]!r})" if names else "")

    header_seen = not has_header
    for number, line in enumerate(f, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not header_seen:
            header_seen = True
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
