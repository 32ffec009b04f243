"""Reading data files (the command line's input), in-process."""

import os
import threading

import numpy as np
import pytest

from kmeans._io import DataError, read_table


def test_npy_is_memory_mapped_not_copied(tmp_path):
    X = np.arange(12.0).reshape(6, 2)
    np.save(tmp_path / "x.npy", X)
    read, names = read_table(str(tmp_path / "x.npy"))
    assert isinstance(read, np.memmap) and not read.flags.writeable
    assert names is None
    np.testing.assert_array_equal(read, X)


@pytest.mark.parametrize(
    "text, expected_names",
    [
        ("a,b\n1,2\n3,4\n", ["a", "b"]),
        ('"a","b"\n"1","2"\n3,4\n', ["a", "b"]),
        ("1\t2\n3\t4\n", None),
        ("\n1 2\n\n3 4\n", None),
        ("\ufeffa;b\n1;2\n3;4\n", ["a", "b"]),
    ],
)
def test_text_formats(tmp_path, text, expected_names):
    (tmp_path / "d.txt").write_text(text, encoding="utf-8")
    X, names = read_table(str(tmp_path / "d.txt"))
    np.testing.assert_array_equal(X, [[1.0, 2.0], [3.0, 4.0]])
    assert names == expected_names


def test_columns_by_name_and_number(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,c\n1,x,3\n4,y,6\n")
    X, names = read_table(str(tmp_path / "d.csv"), "c,1")
    np.testing.assert_array_equal(X, [[3.0, 1.0], [6.0, 4.0]])
    assert names == ["c", "a"]
    np.save(tmp_path / "x.npy", np.arange(6.0).reshape(2, 3))
    X, _ = read_table(str(tmp_path / "x.npy"), "3")
    np.testing.assert_array_equal(X, [[2.0], [5.0]])


def test_npz_with_x_or_one_array(tmp_path):
    np.savez(tmp_path / "a.npz", X=np.ones((2, 2)), other=np.zeros(3))
    assert read_table(str(tmp_path / "a.npz"))[0].shape == (2, 2)
    np.savez(tmp_path / "b.npz", data=np.ones((3, 1)))
    assert read_table(str(tmp_path / "b.npz"))[0].shape == (3, 1)


def test_inf_in_text(tmp_path):
    (tmp_path / "d.csv").write_text("1,2\n3,inf\n")
    with pytest.raises(DataError, match=r"d.csv, line 2, column 2: infinite value"):
        read_table(str(tmp_path / "d.csv"))


def test_npz_with_no_or_several_arrays(tmp_path):
    np.savez(tmp_path / "empty.npz")
    with pytest.raises(DataError, match=r"empty.npz holds no arrays$"):
        read_table(str(tmp_path / "empty.npz"))
    np.savez(tmp_path / "two.npz", a=np.ones((2, 2)), b=np.ones((2, 2)))
    with pytest.raises(DataError, match=r"holds several arrays \(a, b\)"):
        read_table(str(tmp_path / "two.npz"))


def test_npz_of_a_sparse_matrix_is_named_so(tmp_path):
    sparse = pytest.importorskip("scipy.sparse")
    sparse.save_npz(tmp_path / "s.npz", sparse.eye(3, format="csr"))
    with pytest.raises(DataError, match=r"s.npz is a SciPy sparse matrix \(scipy.sparse"):
        read_table(str(tmp_path / "s.npz"))


def test_comment_lines_are_skipped(tmp_path):
    (tmp_path / "d.csv").write_text("# exported 2024\na,b\n1,2\n# a note\n\n3,4\n")
    X, names = read_table(str(tmp_path / "d.csv"))
    np.testing.assert_array_equal(X, [[1.0, 2.0], [3.0, 4.0]])
    assert names == ["a", "b"]
    (tmp_path / "e.csv").write_text("# note\n1,2\n# x\n3,zz\n")
    with pytest.raises(DataError, match=r"e.csv: column 2 is not numeric \(line 4 has"):
        read_table(str(tmp_path / "e.csv"))


def test_a_column_is_used_once(tmp_path):
    (tmp_path / "d.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="--columns: '1' is column 1, listed already"):
        read_table(str(tmp_path / "d.csv"), "a,1")


def test_pipes_and_standard_input(tmp_path, monkeypatch):
    import io
    import sys

    data = {"t": b"a,b\n1,2\n3,4\n"}
    f = io.BytesIO()
    np.save(f, np.ones((2, 2)))
    data["npy"] = f.getvalue()
    for kind, raw in data.items():
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
        X, _ = read_table("-")
        assert X.shape == (2, 2), kind
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(data["t"],))
    writer.start()
    X, names = read_table(str(fifo))  # read once: a pipe cannot be read twice
    writer.join()
    assert names == ["a", "b"] and X.shape == (2, 2)


def _damaged_npz(tmp_path, how: str) -> str:
    """An .npz archive damaged in one way: cut short, a flipped byte in a stored
    member (bad CRC), corrupted deflate data, or a member that is not a .npy file."""
    import zipfile

    path = tmp_path / "d.npz"
    if how == "not .npy":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("X.npy", b"hello")
        return str(path)
    X = np.random.default_rng(0).normal(size=(500, 4))
    (np.savez_compressed if how == "deflate" else np.savez)(path, X=X)
    data = bytearray(path.read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2]
    elif how == "crc":
        data[100] ^= 0xFF
    else:
        for i in range(200, 2000, 7):
            data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    return str(path)


@pytest.mark.parametrize("how", ["truncated", "crc", "deflate", "not .npy"])
def test_a_damaged_npz_is_a_data_error(tmp_path, how):
    path = _damaged_npz(tmp_path, how)
    with pytest.raises(DataError, match=r"d.npz: not a usable .npz archive \(.+\)$"):
        read_table(path)


def test_digits_grouped_by_underscores_are_not_numbers(tmp_path):
    # float("1_000") is 1000.0 but np.loadtxt refuses it: the cell is named
    (tmp_path / "d.csv").write_text("a,b\n1,2\n1_000,3\n")
    with pytest.raises(DataError, match=r"column 1 \('a'\) is not numeric \(line 3"):
        read_table(str(tmp_path / "d.csv"))


def test_digits_of_other_scripts_are_not_numbers(tmp_path):
    # float("４") is 4.0 but np.loadtxt refuses it: the cell is named
    (tmp_path / "d.csv").write_text("a,b\n1,2\n3,\uff14\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"column 2 \('b'\) is not numeric \(line 3"):
        read_table(str(tmp_path / "d.csv"))
