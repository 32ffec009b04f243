"""Every bad input gets a clear error naming the problem; nothing the caller
passed is modified; unusual but valid arrays work."""

import re
import warnings

import numpy as np
import pytest
from conftest import make_blobs
from hypothesis import given, settings
from hypothesis import strategies as st

from kmeans import InvalidParameterError, KMeans, MiniBatchKMeans, k_means, kmeans_plusplus

X_OK = np.arange(20, dtype=float).reshape(10, 2)


@pytest.mark.parametrize(
    ("X", "error", "message"),
    [
        ([[1.0, np.nan], [2.0, 3.0]], ValueError, "Input X contains NaN."),
        ([[1.0, np.inf], [2.0, 3.0]], ValueError, "Input X contains infinity"),
        ([[1.0, -np.inf], [2.0, 3.0]], ValueError, "Input X contains infinity"),
        ([1.0, 2.0, 3.0], ValueError, "Expected 2D array, got 1D array instead"),
        (5.0, ValueError, "Expected 2D array, got 0D array instead"),
        (np.zeros((2, 2, 2)), ValueError, "Found array with dim 3, while dim <= 2"),
        (
            np.zeros((0, 3)),
            ValueError,
            r"Found array with 0 sample\(s\) \(shape=\(0, 3\)\)",
        ),
        (
            np.zeros((3, 0)),
            ValueError,
            r"Found array with 0 feature\(s\) \(shape=\(3, 0\)\)",
        ),
        ([["a", "b"], ["c", "d"]], ValueError, "could not convert string to float"),
        (np.array([[1, "x"]], dtype=object), ValueError, "could not convert string"),
        (np.array([[1 + 2j, 3]]), ValueError, "Complex data not supported"),
        (np.array([[{"a": 1}, 2]], dtype=object), TypeError, "must contain numbers"),
        (np.array([["2020-01-01"]], dtype="datetime64[D]"), TypeError, "must be numeric"),
        ([[1.0, 2.0], [3.0]], ValueError, "could not be converted to a numeric array"),
    ],
)
def test_bad_X_in_fit(X, error, message):
    with pytest.raises(error, match=message):
        KMeans(n_clusters=1).fit(X)


def test_nan_in_float32_and_overflowing_but_finite_data():
    X = np.ones((4, 2), np.float32)
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        KMeans(1).fit(X)
    # the sum overflows but every value is finite: accepted
    from kmeans._validation import check_array

    big = np.full((4, 1), np.finfo(np.float64).max / 2)
    assert check_array(big) is big


def test_sparse_input_only_where_accepted():
    sparse = pytest.importorskip("scipy.sparse")
    from kmeans._validation import check_array

    with pytest.raises(TypeError, match="dense data is required"):
        check_array(sparse.csr_matrix(X_OK))
    with pytest.raises(TypeError, match="dense data is required"):
        KMeans(2, init=sparse.csr_matrix(X_OK[:2])).fit(X_OK)


def test_sparse_input_as_csr():
    sparse = pytest.importorskip("scipy.sparse")
    from kmeans._validation import check_array

    csr = sparse.csr_matrix(X_OK)
    assert check_array(csr, accept_sparse=True) is csr  # no copy
    as_csr = check_array(sparse.csc_array(X_OK.astype(np.float32)), accept_sparse=True)
    assert as_csr.format == "csr" and as_csr.dtype == np.float32
    ints = check_array(sparse.coo_matrix(np.eye(3, dtype=int)), accept_sparse=True)
    assert ints.format == "csr" and ints.dtype == np.float64
    # duplicate entries are summed in a copy; the caller's matrix is untouched
    dup = sparse.csr_matrix(([1.0, 2.0], [0, 0], [0, 2, 2]), shape=(2, 2))
    summed = check_array(dup, accept_sparse=True)
    assert summed.nnz == 1 and summed[0, 0] == 3.0 and dup.nnz == 2


@pytest.mark.parametrize(
    "data, error, match",
    [
        (np.array([[np.nan, 1.0]]), ValueError, "Input X contains NaN"),
        (np.array([[np.inf, 1.0]]), ValueError, "Input X contains infinity"),
        (np.array([[1j, 1.0]]), ValueError, "Complex data not supported"),
        (np.zeros((0, 2)), ValueError, r"Found array with 0 sample\(s\)"),
    ],
)
def test_bad_sparse_input(data, error, match):
    sparse = pytest.importorskip("scipy.sparse")
    from kmeans._validation import check_array

    with pytest.raises(error, match=match):
        check_array(sparse.csr_matrix(data), accept_sparse=True)
    if hasattr(sparse, "coo_array"):  # sparse arrays may be 1-D
        with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
            check_array(sparse.coo_array(np.ones(3)), accept_sparse=True)


def test_fewer_samples_than_clusters():
    with pytest.raises(
        ValueError, match=re.escape("n_samples=10 should be >= n_clusters=11.")
    ):
        KMeans(11).fit(X_OK)


@pytest.mark.parametrize("method", ["predict", "transform", "score"])
def test_wrong_number_of_features(method):
    km = KMeans(2, random_state=0).fit(X_OK)
    msg = "X has 3 features, but KMeans is expecting 2 features as input."
    with pytest.raises(ValueError, match=re.escape(msg)):
        getattr(km, method)(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        getattr(km, method)(np.array([[np.nan, 1.0]]))


@pytest.mark.parametrize(
    ("init", "message"),
    [
        (np.zeros((3, 2)), "The shape of the initial centers (3, 2) does not match the "
         "number of clusters 2."),
        (np.zeros((2, 3)), "The shape of the initial centers (2, 3) does not match the "
         "number of features of the data 2."),
        (np.zeros(2), "Expected 2D array, got 1D array instead"),
        (np.array([[0.0, np.nan], [1.0, 1.0]]), "Input init contains NaN."),
    ],
)  # fmt: skip
def test_bad_init_array(init, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        KMeans(2, init=init).fit(X_OK)


def test_bad_callable_init_output():
    with pytest.raises(
        ValueError, match=re.escape("initial centers (3, 2) does not match")
    ):
        KMeans(2, init=lambda X, k, random_state: X[:3]).fit(X_OK)


@pytest.mark.parametrize(
    ("weight", "error", "message"),
    [
        (np.ones(9), ValueError, "sample_weight.shape == (9,), expected (10,)!"),
        (np.ones((10, 1)), ValueError, "Sample weights must be 1D array or scalar"),
        (np.zeros(10), ValueError, "Sample weights must contain at least one non-zero"),
        (-np.ones(10), ValueError, "sample_weight must be non-negative; found 10 negative"),
        (np.r_[np.nan, np.ones(9)], ValueError, "Input sample_weight contains NaN."),
        (np.r_[np.inf, np.ones(9)], ValueError, "Input sample_weight contains infinity."),
        (np.array(["a"] * 10), TypeError, "sample_weight must be numeric"),
    ],
)
def test_bad_sample_weight(weight, error, message):
    with pytest.raises(error, match=re.escape(message)):
        KMeans(2, random_state=0).fit(X_OK, sample_weight=weight)
    km = KMeans(2, random_state=0).fit(X_OK)
    with pytest.raises(error, match=re.escape(message)):
        km.score(X_OK, sample_weight=weight)


def test_too_few_weighted_samples_for_seeding():
    w = np.r_[1.0, 1.0, np.zeros(8)]
    with pytest.raises(ValueError, match="Only 2 sample.*fewer than n_clusters=3"):
        KMeans(3, random_state=0).fit(X_OK, sample_weight=w)
    # an explicit init needs no seeding
    KMeans(3, init=X_OK[:3]).fit(X_OK, sample_weight=w)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_clusters": 0}, "The 'n_clusters' parameter of KMeans must be an int in the "
         "range [1, inf). Got 0 instead."),
        ({"n_clusters": 2.0}, "The 'n_clusters' parameter of KMeans must be an int"),
        ({"n_clusters": "3"}, "The 'n_clusters' parameter of KMeans must be an int"),
        ({"max_iter": 0}, "The 'max_iter' parameter of KMeans must be an int in the range "
         "[1, inf). Got 0 instead."),
        ({"tol": -1.0}, "The 'tol' parameter of KMeans must be a float in the range "
         "[0, inf). Got -1.0 instead."),
        ({"tol": "small"}, "The 'tol' parameter of KMeans must be a float"),
        ({"n_init": 0}, "The 'n_init' parameter of KMeans must be an int in the range "
         "[1, inf). Got 0 instead."),
        ({"n_init": "many"}, "The 'n_init' parameter of KMeans must be a str among "
         "{'auto'}. Got 'many' instead."),
        ({"init": "kmeans++"}, "The 'init' parameter of KMeans must be a str among "
         "{'k-means++', 'k-means||', 'random'}. Got 'kmeans++' instead."),
        ({"init": 3}, "The 'init' parameter of KMeans must be a str among"),
        ({"algorithm": "fast"}, "The 'algorithm' parameter of KMeans must be a str among "
         "{'auto', 'elkan', 'hamerly', 'lloyd'}. Got 'fast' instead."),
        ({"verbose": -1}, "The 'verbose' parameter of KMeans must be an int"),
        ({"copy_x": "yes"}, "The 'copy_x' parameter of KMeans must be a bool"),
        ({"random_state": -1}, "The 'random_state' parameter must be a non-negative int"),
        ({"random_state": "seed"}, "The 'random_state' parameter must be an int"),
    ],
)  # fmt: skip
def test_invalid_parameters(params, message):
    with pytest.raises(InvalidParameterError, match=re.escape(message)) as info:
        KMeans(**{"n_clusters": 2, **params}).fit(X_OK)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


def test_kmeans_plusplus_bad_input():
    with pytest.raises(ValueError, match="n_samples=10 should be >= n_clusters=11"):
        kmeans_plusplus(X_OK, 11)
    with pytest.raises(InvalidParameterError, match="'n_local_trials' parameter"):
        kmeans_plusplus(X_OK, 2, n_local_trials=0)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        kmeans_plusplus([[np.nan]], 1)


def test_callers_arrays_are_never_modified(dtype):
    X, _ = make_blobs(500, 3, 4, dtype=dtype)
    init = X[:4].copy()
    weight = np.linspace(0.5, 2, 500)
    copies = X.copy(), init.copy(), weight.copy()
    km = KMeans(4, init=init).fit(X, sample_weight=weight)
    KMeans(4, random_state=0).fit(X, sample_weight=weight)
    km.score(X, sample_weight=weight)
    km.transform(X)
    kmeans_plusplus(X, 4, sample_weight=weight, random_state=0)
    for original, after in zip(copies, (X, init, weight)):
        np.testing.assert_array_equal(original, after)
    assert km.cluster_centers_ is not init


def test_unusual_layouts_give_the_same_result(tmp_path):
    X, _ = make_blobs(3000, 4, 5, seed=2)
    expected = KMeans(5, random_state=0).fit(X)
    readonly = X.copy()
    readonly.flags.writeable = False
    np.save(tmp_path / "X.npy", X)
    memmap = np.load(tmp_path / "X.npy", mmap_mode="r")
    wide = np.zeros((3000, 8))
    wide[:, ::2] = X
    variants = {
        "read-only": readonly,
        "memmap": memmap,
        "fortran": np.asfortranarray(X),
        "strided": wide[:, ::2],
        "negative-stride": X[::-1].copy()[::-1],
    }
    for name, variant in variants.items():
        km = KMeans(5, random_state=0).fit(variant)
        np.testing.assert_array_equal(km.cluster_centers_, expected.cluster_centers_, name)
        np.testing.assert_array_equal(km.labels_, expected.labels_, name)
        np.testing.assert_array_equal(km.predict(variant), expected.labels_, name)


def test_predict_with_another_float_dtype():
    X, _ = make_blobs(300, 2, 3)
    km = KMeans(3, random_state=0).fit(X)
    np.testing.assert_array_equal(km.predict(X.astype(np.float32)), km.labels_)
    km32 = KMeans(3, random_state=0).fit(X.astype(np.float32))
    np.testing.assert_array_equal(km32.predict(X), km32.labels_)


def test_k_means_function_validates_too():
    with pytest.raises(InvalidParameterError, match="'n_clusters' parameter"):
        k_means(X_OK, 0)


def test_more_bad_sample_weights():
    X = np.arange(60.0).reshape(30, 2)
    with pytest.raises(ValueError, match="its sum overflows"):
        KMeans(2, random_state=0).fit(X, sample_weight=np.full(30, 1e307))
    # huge but summable weights: seeding uses their ratios only
    huge = KMeans(2, random_state=0).fit(X_OK, sample_weight=np.full(10, 1e307))
    unit = KMeans(2, random_state=0).fit(X_OK)
    np.testing.assert_allclose(huge.cluster_centers_, unit.cluster_centers_)
    with pytest.raises(ValueError, match="sample_weight could not be converted"):
        KMeans(2, random_state=0).fit(X_OK, sample_weight=[1, [2]] + [1] * 8)
    # a boolean is a number, as in scikit-learn
    assert KMeans(2, random_state=0).fit(X_OK, sample_weight=True).inertia_ > 0


def test_pandas_missing_values_are_reported_as_nan():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": pd.array([1, None, 3], dtype="Int64"), "b": [1, 2, 3]})
    with pytest.raises(ValueError, match="Input X contains NaN"):
        KMeans(1).fit(frame)
    ok = pd.DataFrame({"a": pd.array([1, 2, 3], dtype="Int64"), "b": [1.0, 2.0, 3.0]})
    assert KMeans(1).fit(ok).cluster_centers_.tolist() == [[2.0, 2.0]]
    with pytest.raises(ValueError, match="could not convert string to float"):
        KMeans(1).fit(pd.DataFrame({"a": ["x", "y"]}))


def test_float32_inertia_does_not_overflow():
    X = np.array([[1e19, 0], [-1e19, 0], [0, 1], [0, 2]], dtype=np.float32)
    km = KMeans(2, init=np.array([[1e19, 0], [0, 1.5]], np.float32)).fit(X)
    assert np.isfinite(km.inertia_)


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_np_matrix_is_used_as_the_array_it_holds():
    from kmeans import MiniBatchKMeans

    X, _ = make_blobs(200, 2, 3)
    for cls in (KMeans, MiniBatchKMeans):
        expected = cls(3, random_state=0).fit(X)
        km = cls(3, random_state=0).fit(np.matrix(X))
        np.testing.assert_array_equal(km.cluster_centers_, expected.cluster_centers_)
        np.testing.assert_array_equal(km.predict(np.matrix(X)), expected.labels_)
        np.testing.assert_array_equal(km.transform(np.matrix(X)), expected.transform(X))
        assert km.score(np.matrix(X)) == expected.score(X)
    centers, _ = kmeans_plusplus(np.matrix(X), 3, random_state=0)
    assert type(centers) is np.ndarray
    np.testing.assert_array_equal(centers, kmeans_plusplus(X, 3, random_state=0)[0])


def _masked():
    return np.ma.masked_array(X_OK, mask=X_OK > 15)


@pytest.mark.parametrize(
    "call",
    [
        lambda: KMeans(2).fit(_masked()),
        lambda: k_means(_masked(), 2),
        lambda: kmeans_plusplus(_masked(), 2),
        lambda: KMeans(2).fit(X_OK, sample_weight=np.ma.masked_array(np.ones(10))),
        lambda: KMeans(2, random_state=0).fit(X_OK).predict(_masked()),
        lambda: KMeans(2, random_state=0).fit(X_OK).transform(_masked()),
        lambda: KMeans(2, random_state=0).fit(X_OK).score(_masked()),
        lambda: KMeans(2, random_state=0).fit(X_OK).fit_predict(_masked()),
        lambda: __import__("kmeans").MiniBatchKMeans(2).fit(_masked()),
        lambda: __import__("kmeans").MiniBatchKMeans(2).partial_fit(_masked()),
        lambda: (
            __import__("kmeans")
            .MiniBatchKMeans(2, random_state=0)
            .partial_fit(X_OK)
            .partial_fit(_masked())
        ),
    ],
)
def test_masked_arrays_are_refused_everywhere(call):
    # the mask would be ignored: the hidden values would be clustered silently
    with pytest.raises(TypeError, match=r"is a masked array \(numpy.ma\), which is not"):
        call()


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.array([[1, "x"]], dtype=object), "X contains non-numeric data: could not "
         "convert string to float: 'x'."),
        (np.array([[1.0, 2.0], [3.0]], dtype=object), "X could not be converted to a "
         "numeric array: rows of different lengths (a ragged nested sequence)."),
        ([[1.0, 2.0], [3.0]], "X could not be converted to a numeric array: rows of "
         "different lengths (a ragged nested sequence)."),
    ],
)  # fmt: skip
def test_conversion_messages_say_it_once(X, message):
    with pytest.raises(ValueError) as info:
        KMeans(1).fit(X)
    assert str(info.value) == message


@settings(max_examples=25, deadline=None)
@given(exponent=st.integers(-1000, 1015))
def test_float32_data_with_weights_beyond_float32s_range(exponent):
    # valid float64 weights, infinite or zero once cast to float32: the centres
    # depend on their ratios only (a power of two: the same to the bit)
    from kmeans import MiniBatchKMeans

    X = np.arange(20, dtype=np.float32).reshape(10, 2) % 7
    unit = np.linspace(1.0, 2.0, 10)
    weights = np.ldexp(unit, exponent)
    for cls in (KMeans, MiniBatchKMeans):
        expected = cls(2, random_state=0).fit(X, sample_weight=unit)
        km = cls(2, random_state=0).fit(X, sample_weight=weights)
        np.testing.assert_array_equal(km.cluster_centers_, expected.cluster_centers_)
        assert km.cluster_centers_.dtype == np.float32
        assert np.isfinite(km.score(X, sample_weight=weights))
    np.testing.assert_array_equal(
        kmeans_plusplus(X, 2, sample_weight=weights, random_state=0)[1],
        kmeans_plusplus(X, 2, sample_weight=unit, random_state=0)[1],
    )


def _frame_with(column):
    pd = pytest.importorskip("pandas")
    values = {
        "datetime": pd.date_range("2020-01-01", periods=3),
        "datetime with a zone": pd.date_range("2020-01-01", periods=3, tz="UTC"),
        "timedelta": pd.to_timedelta([1, 2, 3], unit="s"),
    }[column]
    return pd.DataFrame({"when": values, "b": [1.0, 2.0, 3.0]})


@pytest.mark.filterwarnings("ignore:X has feature names:UserWarning")
@pytest.mark.parametrize("column", ["datetime", "datetime with a zone", "timedelta"])
@pytest.mark.parametrize("where", ["fit", "predict", "init"])
def test_pandas_dates_and_durations_are_refused_like_numpys(column, where):
    # pandas would convert them to nanoseconds without a word
    frame = _frame_with(column)
    message = r"must be numeric, got dtype (datetime|timedelta)64.* in column 'when'"
    with pytest.raises(TypeError, match=message):
        if where == "fit":
            KMeans(1).fit(frame)
        elif where == "predict":
            KMeans(1).fit(np.ones((3, 2))).predict(frame)
        else:
            KMeans(3, init=frame).fit(np.ones((3, 2)))


def test_a_structured_array_is_not_called_strings():
    X = np.zeros(3, dtype=[("a", float), ("b", float)])
    with pytest.raises(TypeError, match="got the structured dtype .*structured_to_unstr"):
        KMeans(1).fit(X)


@pytest.mark.parametrize("sign", [1, -1])
def test_python_ints_beyond_float64(sign):
    huge = sign * 10**400
    with pytest.raises(ValueError, match="Input X contains infinity or a value too large"):
        KMeans(1).fit([[huge, 0.0], [1.0, 2.0]])
    with pytest.raises(ValueError, match="Input init contains infinity or a value too"):
        KMeans(2, init=[[huge, 0], [1, 2]]).fit(X_OK)
    with pytest.raises(ValueError, match="Input sample_weight contains infinity"):
        KMeans(2).fit(X_OK, sample_weight=huge)


@pytest.mark.parametrize(
    ("estimator", "param"),
    [("KMeans", "tol"), ("KMeans", "refine_time"), ("MiniBatchKMeans", "tol"),
     ("MiniBatchKMeans", "reassignment_ratio")],
)  # fmt: skip
def test_float_parameters_given_a_python_int_beyond_float64(estimator, param):
    import kmeans

    cls = getattr(kmeans, estimator)
    params = {param: 10**400, **({"refine": "swap"} if param == "refine_time" else {})}
    message = f"The '{param}' parameter of {estimator} must be a float in the range"
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        cls(2, **params).fit(X_OK)


@pytest.mark.parametrize("Estimator", [KMeans, MiniBatchKMeans])
@pytest.mark.parametrize(
    ("dtype", "far", "fits"),
    [(np.float64, 1e308, False), (np.float64, 1e160, False), (np.float64, 1e150, True),
     (np.float32, 1e20, False), (np.float32, 1e15, True)],
)  # fmt: skip
def test_initial_centres_beyond_reach_of_squared_distances(Estimator, dtype, far, fits):
    # their squared norms overflowed: inf - inf in the sums, NaN centres
    # (MiniBatchKMeans) or numpy's overflow warnings (KMeans)
    X = np.random.default_rng(0).normal(size=(100, 2)).astype(dtype)
    init = np.array([[0, 0], [1, 1], [far, 0]], dtype)
    model = Estimator(3, init=init, n_init=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        if not fits:
            with pytest.raises(ValueError, match="too far from the data for squared"):
                model.fit(X)
            return
        model.fit(X)
    assert np.isfinite(model.cluster_centers_).all()
    assert np.bincount(model.labels_, minlength=3).min() > 0


@pytest.mark.parametrize("Estimator", [KMeans, MiniBatchKMeans])
def test_far_initial_centres_are_directions_with_the_cosine_metric(Estimator):
    # only directions matter there: a long init centre is not out of reach
    X = np.random.default_rng(0).normal(size=(60, 2))
    unit = np.array([[1.0, 0], [0, 1], [-1, 0]])
    fitted = [
        Estimator(3, init=init, n_init=1, metric="cosine", random_state=0).fit(X)
        for init in (unit, unit * [[1], [1], [1e308]])
    ]
    np.testing.assert_array_equal(fitted[0].labels_, fitted[1].labels_)
    np.testing.assert_array_equal(fitted[0].cluster_centers_, fitted[1].cluster_centers_)


@pytest.mark.parametrize("Estimator", [KMeans, MiniBatchKMeans])
def test_torch_init_and_weights_that_record_gradients_with_numpy_data(Estimator):
    # np.asarray refuses such tensors ("Can't call numpy() on Tensor that requires
    # grad"); the same tensors without gradients were accepted
    torch = pytest.importorskip("torch")
    X = np.random.default_rng(0).normal(size=(60, 2))
    w = np.random.default_rng(1).uniform(0.5, 2, 60)
    reference = Estimator(3, init=X[:3], n_init=1, random_state=0).fit(X, sample_weight=w)
    init = torch.tensor(X[:3], requires_grad=True)
    weights = torch.tensor(w, requires_grad=True)
    model = Estimator(3, init=init, n_init=1, random_state=0).fit(X, sample_weight=weights)
    np.testing.assert_array_equal(model.labels_, reference.labels_)
    np.testing.assert_array_equal(model.cluster_centers_, reference.cluster_centers_)
    assert init.requires_grad and weights.requires_grad
