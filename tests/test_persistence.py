"""Safe save/load: round trips, and clear errors for files that are not models."""

import io
import json
import os
import pickle
import re
import zipfile

import numpy as np
import pytest
from conftest import make_blobs
from hypothesis import given, settings
from hypothesis import strategies as st

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
    with pytest.raises(ModelFileError, match=r"'cluster_centers_' is an array of shape"):
        load(tmp_path / "k.npz")


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        load("no/such/model.npz")


def _replace_members(src, dst, **members):
    """Copy the archive ``src`` to ``dst`` with members replaced by raw .npy bytes."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for info in old.infolist():
            name = info.filename[: -len(".npy")]
            new.writestr(info.filename, members.pop(name, None) or old.read(info))
        for name, raw in members.items():
            new.writestr(name + ".npy", raw)


def _npy_bytes(array=None, *, header=None, data=b""):
    """An .npy member: of ``array``, or a ``header`` dict followed by ``data``."""
    f = io.BytesIO()
    if array is not None:
        np.save(f, array)
    else:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(data)
    return f.getvalue()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_iter": -1}, "The 'max_iter' parameter of KMeans must be an int"),
        ({"algorithm": "fast"}, "The 'algorithm' parameter of KMeans must be a str"),
        ({"init": "kmeans++"}, "The 'init' parameter of KMeans must be a str"),
        ({"tol": "small"}, "The 'tol' parameter of KMeans must be a float"),
        ({"n_clusters": 4.0}, "The 'n_clusters' parameter of KMeans must be an int"),
        ({"random_state": -1}, "The 'random_state' parameter must be a non-negative"),
        ({"copy_x": 1}, "The 'copy_x' parameter of KMeans must be a bool"),
    ],
)
def test_parameters_read_are_checked_by_the_estimators_rules(
    tmp_path, model_file, changes, message
):
    good, km, _ = model_file
    params = {**json.loads(str(_arrays(good)["kmeans_metadata"][()]))["params"], **changes}
    _rewrite_metadata(good, tmp_path / "bad.npz", params=params)
    with pytest.raises(ModelFileError, match=f"bad.npz: damaged: {re.escape(message)}"):
        load(tmp_path / "bad.npz")


_JSON_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(), st.text()
)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(KMeans().get_params())), value=_JSON_VALUES)
def test_a_loaded_model_is_one_the_estimator_accepts(tmp_path_factory, name, value):
    # whatever a parameter holds in the file: refused, or valid for fit
    tmp = tmp_path_factory.mktemp("m")
    km = KMeans(2, random_state=0).fit(X_SMALL)
    km.save(tmp / "good.npz")
    params = {**km.get_params(), name: value}
    params.pop("callback")
    _rewrite_metadata(tmp / "good.npz", tmp / "edited.npz", params=params)
    try:
        loaded = load(tmp / "edited.npz")
    except ModelFileError:
        return
    loaded._validate_params()  # what fit checks (not fitted: n_init may be 10**20)
    assert loaded.predict(X_SMALL).shape == (X_SMALL.shape[0],)


X_SMALL = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0]])


@pytest.mark.parametrize(
    ("member", "array", "message"),
    [
        ("cluster_centers_", np.full((4, 3), np.nan), "holds NaN or infinite values"),
        ("cluster_centers_", np.full((4, 3), np.inf), "holds NaN or infinite values"),
        ("cluster_centers_", np.ones((4, 2)), "expected (4, 3) of kind 'f'"),
        ("cluster_centers_", np.ones((4, 3), np.int64), "expected (4, 3) of kind 'f'"),
        ("cluster_centers_", np.ones((4, 3), np.float16), "dtype float16"),
        ("labels_", np.full(300, 4), "are not labels of 4 clusters"),
        ("labels_", np.zeros((300, 1), np.int64), "are not labels of 4 clusters"),
        ("feature_names_in_", np.array(["a", "b"]), "expected (3,) of kind 'U'"),
    ],
)
def test_fitted_arrays_are_checked(tmp_path, model_file, member, array, message):
    _replace_members(model_file[0], tmp_path / "bad.npz", **{member: _npy_bytes(array)})
    with pytest.raises(ModelFileError, match=re.escape(message)):
        load(tmp_path / "bad.npz")


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_swap_counts_are_kept(tmp_path, metric):
    X, _ = make_blobs(300, 3, 6, seed=1)
    km = KMeans(6, metric=metric, refine="swap", random_state=0).fit(X)
    km.save(tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    assert (loaded.n_swap_trials_, loaded.n_swaps_) == (km.n_swap_trials_, km.n_swaps_)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cosine_centres_must_be_unit_vectors(tmp_path, dtype):
    # predict and transform read cosines off x.c, true only against unit centres
    X = np.random.default_rng(0).standard_normal((50, 3)).astype(dtype)
    km = KMeans(2, metric="cosine", random_state=0).fit(X)
    km.save(tmp_path / "good.npz")
    assert load(tmp_path / "good.npz").predict(X).tolist() == km.labels_.tolist()
    longer = _npy_bytes(km.cluster_centers_ * dtype(1.01))
    _replace_members(tmp_path / "good.npz", tmp_path / "bad.npz", cluster_centers_=longer)
    with pytest.raises(ModelFileError, match="metric='cosine' with 'cluster_centers_' not"):
        load(tmp_path / "bad.npz")


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"n_features_in_": "3"}, "The 'n_features_in_' parameter of KMeans must be"),
        ({"n_features_in_": 2}, "expected (4, 2) of kind 'f'"),
        ({"inertia_": None}, "The 'inertia_' parameter of KMeans must be a float"),
        ({"n_iter_": -1}, "The 'n_iter_' parameter of KMeans must be an int"),
    ],
)
def test_fitted_scalars_are_checked(tmp_path, model_file, attributes, message):
    good = model_file[0]
    meta = json.loads(str(_arrays(good)["kmeans_metadata"][()]))
    _rewrite_metadata(
        good, tmp_path / "bad.npz", attributes={**meta["attributes"], **attributes}
    )
    with pytest.raises(ModelFileError, match=re.escape(message)):
        load(tmp_path / "bad.npz")


@pytest.mark.parametrize("member", ["cluster_centers_", "labels_", "kmeans_metadata"])
def test_a_forged_npy_header_is_refused_before_allocating(tmp_path, model_file, member):
    # the header says what np.load allocates: 8 TB here (400 MB of text), on 64 bytes
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**12, 1)}
    if member == "labels_":
        header.update(descr="<i8", shape=(10**12,))
    elif member == "kmeans_metadata":
        header.update(descr="<U100000000", shape=())  # 400 MB
    forged = _npy_bytes(header=header, data=bytes(64))
    _replace_members(model_file[0], tmp_path / "bad.npz", **{member: forged})
    with pytest.raises(ModelFileError, match=f"damaged: '{member}'"):
        load(tmp_path / "bad.npz")


def test_save_into_a_missing_folder_names_the_folder(tmp_path, model_file):
    missing = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError) as info:
        model_file[1].save(missing / "m.npz")
    assert info.value.filename == str(missing)
    assert str(missing) in str(info.value) and ".tmp" not in str(info.value)


def test_model_files_get_the_mode_of_other_files(tmp_path, model_file):
    # 0o666 less the umask, as open() creates files; mkstemp's 0o600 was private
    (tmp_path / "other.txt").write_text("")
    mode = os.stat(tmp_path / "other.txt").st_mode & 0o777
    assert os.stat(model_file[0]).st_mode & 0o777 == mode


@pytest.mark.parametrize(
    "init",
    [
        [[0, 0, 0], [5, 5, 5], [10, 0, 0], [0, 10, 0]],  # a list of ints
        np.array([[0, 0, 0], [5, 5, 5], [10, 0, 0], [0, 10, 0]], dtype=np.int32),
        np.array([[0, 0, 0], [5, 5, 5], [10, 0, 0], [0, 10, 0]], dtype=np.float32),
    ],
)
def test_a_model_fitted_from_integer_initial_centres_loads_back(tmp_path, init):
    # the init array is saved as given: integers too, which load called damaged
    X, _ = make_blobs(300, 3, 4)
    km = KMeans(4, init=init).fit(X)
    km.save(tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.init, np.asarray(init))
    np.testing.assert_array_equal(loaded.predict(X), km.labels_)


def test_minibatch_counts_are_checked(tmp_path):
    X, _ = make_blobs(300, 3, 4)
    kmeans.MiniBatchKMeans(4, random_state=0).fit(X).save(tmp_path / "m.npz")
    counts = _npy_bytes(np.array([1.0, -1.0, 2.0, 3.0]))
    _replace_members(tmp_path / "m.npz", tmp_path / "bad.npz", _counts=counts)
    with pytest.raises(ModelFileError, match="damaged: '_counts' holds negative values"):
        load(tmp_path / "bad.npz")


def test_a_boolean_format_version_is_damaged(tmp_path, model_file):
    _rewrite_metadata(model_file[0], tmp_path / "bad.npz", format_version=True)
    with pytest.raises(ModelFileError, match="damaged: bad format_version True"):
        load(tmp_path / "bad.npz")


@pytest.mark.parametrize("path", [0, 3, None, 1.5, b"model.npz"])
def test_a_path_that_is_not_a_path_is_refused(model_file, path):
    # open(0) would read standard input and close it: never a file descriptor
    with pytest.raises(TypeError, match="path must be a str or a path-like object"):
        load(path)
    with pytest.raises(TypeError, match="path must be a str or a path-like object"):
        model_file[1].save(path)


def test_save_onto_a_folder_names_the_folder(tmp_path, model_file):
    with pytest.raises(IsADirectoryError) as info:
        model_file[1].save(tmp_path)
    assert info.value.filename == str(tmp_path) and ".tmp" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
