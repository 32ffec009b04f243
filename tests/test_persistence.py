"""Safe save/load: round trips, and clear errors for files that are not models."""

import json
import os
import pickle

import numpy as np
import pytest
from conftest import make_blobs

import kmeans
from kmeans import KMeans, ModelFileError, load


def _arrays(path):
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _rewrite_metadata(src, dst, **changes):
    arrays = _arrays(src)
    meta = json.loads(str(arrays["kmeans_metadata"][()]))
    meta.update(changes)
    arrays["kmeans_metadata"] = np.array(json.dumps(meta))
    with open(dst, "wb") as f:
        np.savez(f, **arrays)


@pytest.fixture
def model_file(tmp_path):
    X, _ = make_blobs(300, 3, 4)
    km = KMeans(4, random_state=0).fit(X)
    path = tmp_path / "model.npz"
    km.save(path)
    return path, km, X


def test_round_trip_predicts_the_same_labels(tmp_path, dtype):
    X, _ = make_blobs(500, 5, 6, dtype=dtype)
    km = KMeans(6, n_init=3, init="random", max_iter=50, tol=1e-3, random_state=7).fit(X)
    path = tmp_path / "km"  # used as given: no ".npz" added
    km.save(path)
    assert os.listdir(tmp_path) == ["km"]
    loaded = load(path)
    assert type(loaded) is KMeans
    assert loaded.get_params() == km.get_params()
    assert loaded.cluster_centers_.dtype == dtype
    np.testing.assert_array_equal(loaded.cluster_centers_, km.cluster_centers_)
    np.testing.assert_array_equal(loaded.labels_, km.labels_)
    assert loaded.labels_.dtype == np.int32
    assert (loaded.inertia_, loaded.n_iter_, loaded.n_features_in_) == (
        km.inertia_, km.n_iter_, km.n_features_in_,
    )  # fmt: skip
    new, _ = make_blobs(1000, 5, 6, seed=1, dtype=dtype)
    np.testing.assert_array_equal(loaded.predict(new), km.predict(new))
    np.testing.assert_array_equal(loaded.transform(new), km.transform(new))


def test_array_init_feature_names_and_unfitted(tmp_path):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(make_blobs(100, 2, 2)[0], columns=["a", "b"])
    init = np.array([[0.0, 0.0], [1.0, 1.0]])
    km = KMeans(2, init=init, random_state=np.int64(3)).fit(X)
    km.save(tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.init, init)
    assert loaded.random_state == 3 and type(loaded.random_state) is int
    assert loaded.feature_names_in_.tolist() == ["a", "b"]
    np.testing.assert_array_equal(loaded.predict(X), km.predict(X))

    KMeans(5, tol=0.0).save(tmp_path / "unfitted.npz")
    unfitted = load(tmp_path / "unfitted.npz")
    assert repr(unfitted) == "KMeans(n_clusters=5, tol=0.0)"
    assert not hasattr(unfitted, "cluster_centers_")


def test_unsaveable_parameters_are_left_out_with_a_warning(tmp_path):
    X, _ = make_blobs(50, 2, 2)
    km = KMeans(2, random_state=np.random.default_rng(0), callback=print).fit(X)
    with pytest.warns(UserWarning, match="Not saved.*: callback, random_state"):
        km.save(tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    assert loaded.callback is None and loaded.random_state is None
    np.testing.assert_array_equal(loaded.predict(X), km.labels_)


def test_save_replaces_an_existing_file_and_leaves_no_temporary(model_file):
    path, km, X = model_file
    KMeans(2, random_state=0).fit(X).save(path)
    assert load(path).n_clusters == 2
    assert os.listdir(path.parent) == ["model.npz"]


def test_pickle_still_works(model_file):
    _, km, X = model_file
    again = pickle.loads(pickle.dumps(km))
    np.testing.assert_array_equal(again.predict(X), km.labels_)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"label\n0\n1\n", "not a kmeans model file, or a damaged one"),
        (b"", "not a kmeans model file, or a damaged one"),
        ("pickle", "not a kmeans model file, or a damaged one"),
        ("npy", "not a kmeans model file: it holds one bare array"),
        ("npz", "an .npz archive without 'kmeans_metadata'"),
        ("truncated", "not a kmeans model file, or a damaged one"),
    ],
)
def test_foreign_and_damaged_files(tmp_path, model_file, content, message):
    path = tmp_path / "bad.npz"
    marker = tmp_path / "code-ran"
    if content == "pickle":
        path.write_bytes(pickle.dumps(_Evil(str(marker))))
    elif content == "npy":
        with open(path, "wb") as f:
            np.save(f, np.zeros(3))
    elif content == "npz":
        with open(path, "wb") as f:
            np.savez(f, X=np.zeros(3))
    elif content == "truncated":
        good = model_file[0].read_bytes()
        path.write_bytes(good[: len(good) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message) as info:
        load(path)
    assert str(info.value).startswith(str(path))
    assert not marker.exists()  # loading never runs code from the file


def test_other_format_newer_version_and_inconsistent_content(tmp_path, model_file):
    good = model_file[0]
    _rewrite_metadata(good, tmp_path / "other.npz", format="something-else")
    with pytest.raises(ModelFileError, match="format is not 'kmeans-model'"):
        load(tmp_path / "other.npz")
    _rewrite_metadata(good, tmp_path / "new.npz", format_version=99, kmeans_version="9.0")
    msg = (
        f"written by kmeans 9.0 in model format 99; this kmeans ({kmeans.__version__}) "
        "reads format 1 and older: upgrade kmeans to load it"
    )
    with pytest.raises(ModelFileError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        load(tmp_path / "new.npz")
    _rewrite_metadata(good, tmp_path / "k.npz", params={"n_clusters": 5})
    with pytest.raises(ModelFileError, match="damaged: centres of shape"):
        load(tmp_path / "k.npz")


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        load("no/such/model.npz")
