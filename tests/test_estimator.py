"""KMeans and k_means: exact results on hand-checkable cases, the estimator API,
dtypes, inits, n_init, warnings and input handling."""

import numpy as np
import pytest
import scipy.sparse
from conftest import make_blobs

from kmeans import ConvergenceWarning, KMeans, NotFittedError, k_means, kmeans_plusplus

# The classic walkthrough: 30 unlabelled points in two groups.
WALKTHROUGH = np.array(
    [
        [1.0, 1.0], [1.5, 2.0], [3.0, 4.0], [2.0, 1.5], [1.2, 3.1],
        [2.5, 2.2], [0.8, 1.9], [3.2, 2.9], [1.9, 0.7], [2.8, 3.6],
        [0.5, 2.5], [2.2, 3.3], [1.1, 0.4], [3.5, 1.8], [2.6, 0.9],
        [7.0, 8.0], [8.5, 7.2], [6.2, 9.1], [9.0, 8.8], [7.7, 6.5],
        [8.1, 9.5], [6.8, 7.4], [9.4, 7.9], [7.3, 9.9], [8.8, 6.1],
        [6.5, 8.3], [9.9, 9.2], [7.9, 8.6], [8.4, 10.0], [6.9, 6.8],
    ]
)  # fmt: skip
WALKTHROUGH_GROUP = np.repeat([0, 1], 15)


@pytest.mark.parametrize("seed", range(40))
def test_walkthrough_two_groups_from_any_seed(seed):
    km = KMeans(n_clusters=2, init="random", n_init=1, random_state=seed).fit(WALKTHROUGH)
    first = km.labels_[0]
    assert np.array_equal(km.labels_ == first, WALKTHROUGH_GROUP == 0)
    expected = np.array([WALKTHROUGH[:15].mean(0), WALKTHROUGH[15:].mean(0)])
    np.testing.assert_allclose(
        km.cluster_centers_[[first, 1 - first]], expected, rtol=1e-12
    )


def test_weighted_toy_case_exact(dtype, space):
    # worked by hand: cluster 0 = {(0,0) x3, (.5,0) x1}, cluster 1 = {(.5,1), (1,1) x3}
    X = space.to(np.array([[0, 0], [0.5, 0], [0.5, 1], [1, 1]], dtype=dtype))
    init = np.array([[0, 0], [1, 1]], dtype=dtype)
    km = KMeans(n_clusters=2, init=init).fit(X, sample_weight=[3, 1, 1, 3])
    assert space.host(km.labels_).tolist() == [0, 0, 1, 1]
    assert space.host(km.labels_).dtype == np.int32
    np.testing.assert_array_equal(space.host(km.cluster_centers_), [[0.125, 0], [0.875, 1]])
    assert space.host(km.cluster_centers_).dtype == dtype
    assert km.inertia_ == 0.375
    assert km.n_iter_ == 2


def test_one_dimensional_exact(space):
    centers, labels, inertia, n_iter = k_means(
        space.to([[0.0], [1.0], [10.0], [11.0]]), 2, init=np.array([[0.0], [10.0]]),
        return_n_iter=True,
    )  # fmt: skip
    assert space.host(centers).ravel().tolist() == [0.5, 10.5]
    assert space.host(labels).tolist() == [0, 0, 1, 1]
    assert (inertia, n_iter) == (1.0, 2)


def test_empty_cluster_takes_the_farthest_point(space):
    # Worked by hand. Iteration 1: 0 -> c0; 1, 2, 10 -> c1; c2 (at 100) is empty and
    # takes the point farthest from its own centre, 10 (squared distance 81), which
    # leaves c1 = 1.5. Iteration 2: 10 moves to c2, but no centre moves, so the run
    # stops on the tolerance test (as scikit-learn's does).
    X = space.to(np.array([[0.0], [1.0], [2.0], [10.0]]))
    km = KMeans(n_clusters=3, init=np.array([[0.0], [1.0], [100.0]])).fit(X)
    assert space.host(km.cluster_centers_).ravel().tolist() == [0.0, 1.5, 10.0]
    assert space.host(km.labels_).tolist() == [0, 1, 1, 2]
    assert km.inertia_ == 0.5
    assert km.n_iter_ == 2
    assert not np.isnan(space.host(km.cluster_centers_)).any()


def test_empty_clusters_relocated_in_index_order_to_farthest_points(space):
    X = space.to(np.array([[0.0], [0.0], [4.0], [9.0]]))
    # clusters 1 and 2 start empty; they take 9 then 4 (farthest first)
    km = KMeans(n_clusters=3, init=np.array([[0.0], [-50.0], [-60.0]]), max_iter=1)
    km.fit(X)
    np.testing.assert_array_equal(space.host(km.cluster_centers_).ravel(), [0.0, 9.0, 4.0])


def test_tol_stops_before_strict_convergence(space):
    X, _ = make_blobs(2000, 2, 5, seed=3, spread=3.0)
    init = X[:5]
    X = space.to(X)
    strict = KMeans(5, init=init, tol=0).fit(X)
    loose = KMeans(5, init=init, tol=1e-2).fit(X)
    assert loose.n_iter_ < strict.n_iter_
    # after an early stop the labels are still those of the final centres
    np.testing.assert_array_equal(space.host(loose.labels_), space.host(loose.predict(X)))


def test_max_iter_caps_iterations(space):
    X, _ = make_blobs(2000, 2, 5, seed=3, spread=3.0)
    km = KMeans(5, init=X[:5], tol=0, max_iter=2).fit(space.to(X))
    assert km.n_iter_ == 2
    np.testing.assert_array_equal(
        space.host(km.labels_), space.host(km.predict(space.to(X)))
    )


def test_fitted_attributes_and_methods_agree(dtype, space):
    X, _ = make_blobs(500, 3, 4, seed=1, dtype=dtype)
    Xs, host = space.to(X), space.host
    km = KMeans(4, random_state=0).fit(Xs)
    centers, labels = host(km.cluster_centers_), host(km.labels_)
    assert centers.shape == (4, 3)
    assert centers.dtype == dtype
    assert km.n_features_in_ == 3
    assert not hasattr(km, "feature_names_in_")
    assert isinstance(km.inertia_, float) and isinstance(km.n_iter_, int)
    np.testing.assert_array_equal(host(km.predict(Xs)), labels)
    np.testing.assert_array_equal(host(KMeans(4, random_state=0).fit_predict(Xs)), labels)
    # one code path on NumPy: equal to the bit; on a device, summed in another order
    assert km.score(Xs) == pytest.approx(
        -km.inertia_, rel=0 if space.name == "numpy" else 1e-12
    )
    D = host(km.transform(Xs))
    assert D.shape == (500, 4) and D.dtype == dtype
    np.testing.assert_array_equal(D.argmin(axis=1), labels)
    direct = np.sqrt(((X[:, None, :].astype(float) - centers) ** 2).sum(-1))
    np.testing.assert_allclose(D, direct, rtol=1e-6 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(host(KMeans(4, random_state=0).fit_transform(Xs)), D)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert km.inertia_ == pytest.approx((direct.min(axis=1) ** 2).sum(), rel=rtol)


def test_score_is_weighted(space):
    X = space.to(np.array([[0.0], [2.0], [10.0]]))
    km = KMeans(2, init=np.array([[1.0], [10.0]])).fit(X)
    assert km.score(X) == -2.0
    assert km.score(X, sample_weight=[1, 3, 5]) == -4.0
    assert km.score(space.to([[5.0]])) == -16.0


@pytest.mark.parametrize("kind", ["int64", "int8", "bool", "float16", "list"])
def test_other_numeric_types_become_float64(kind):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [0, 0], [1, 1]])
    X = X.tolist() if kind == "list" else X.astype(kind)
    km = KMeans(2, random_state=0, n_init=3).fit(X)
    assert km.cluster_centers_.dtype == np.float64


def test_float32_stays_float32_everywhere(space):
    X = space.to(make_blobs(300, 4, 3, dtype=np.float32)[0])
    km = KMeans(3, random_state=0).fit(X)
    assert space.host(km.cluster_centers_).dtype == np.float32
    assert space.host(km.transform(X)).dtype == np.float32
    centers, _ = kmeans_plusplus(X, 3, random_state=0)
    assert space.host(centers).dtype == np.float32


def test_float32_far_from_origin_clusters_correctly(space):
    # mean 1e4, spread 1: the expanded distance loses everything without centring
    rng = np.random.default_rng(0)
    truth = rng.integers(3, size=3000)
    offsets = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    X = (1e4 + offsets[truth] + 0.5 * rng.standard_normal((3000, 2))).astype(np.float32)
    km = KMeans(3, random_state=0, n_init=5).fit(space.to(X))
    # the clustering is the true one, up to a renaming of the labels
    pairs = set(zip(truth.tolist(), space.host(km.labels_).tolist()))
    assert len(pairs) == 3
    expected = np.array([X[truth == j].astype(np.float64).mean(0) for j in range(3)])
    mapping = dict(pairs)
    np.testing.assert_allclose(
        space.host(km.cluster_centers_)[[mapping[j] for j in range(3)]], expected, rtol=1e-6
    )
    reference = sum(((X[truth == j] - expected[j]) ** 2).sum() for j in range(3))
    assert km.inertia_ > 0
    assert km.inertia_ == pytest.approx(reference, rel=1e-3)


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_same_random_state_same_result(init, space):
    X, _ = make_blobs(3000, 5, 6, seed=7)
    a = KMeans(6, init=init, random_state=42).fit(space.to(X))
    b = KMeans(6, init=init, random_state=42).fit(space.to(X))
    np.testing.assert_array_equal(
        space.host(a.cluster_centers_), space.host(b.cluster_centers_)
    )
    np.testing.assert_array_equal(space.host(a.labels_), space.host(b.labels_))
    assert a.inertia_ == b.inertia_
    gen = KMeans(6, init=init, random_state=np.random.default_rng(3)).fit(X)
    gen2 = KMeans(6, init=init, random_state=np.random.default_rng(3)).fit(X)
    np.testing.assert_array_equal(gen.cluster_centers_, gen2.cluster_centers_)
    rs = KMeans(6, init=init, random_state=np.random.RandomState(3)).fit(X)
    rs2 = KMeans(6, init=init, random_state=np.random.RandomState(3)).fit(X)
    np.testing.assert_array_equal(rs.cluster_centers_, rs2.cluster_centers_)


def test_n_init_keeps_the_best_run(space):
    X = space.to(make_blobs(2000, 2, 10, seed=11, spread=1.5)[0])
    runs = [
        KMeans(10, init="random", n_init=1, random_state=np.random.default_rng(s)).fit(X)
        for s in range(5)
    ]
    best = KMeans(10, init="random", n_init=8, random_state=0).fit(X)
    assert best.inertia_ <= min(r.inertia_ for r in runs) * 1.05
    # n_init=8 is at least as good as its own first run
    one = KMeans(10, init="random", n_init=1, random_state=0).fit(X)
    assert best.inertia_ <= one.inertia_


@pytest.mark.parametrize(
    ("init", "n_init", "expected"),
    [("k-means++", "auto", 1), ("random", "auto", 10), ("random", 3, 3)],
)
def test_n_init_auto(init, n_init, expected, monkeypatch):
    from kmeans._backends.memory import DENSE

    calls = []
    original = DENSE.algorithms["lloyd"]
    monkeypatch.setitem(
        DENSE.algorithms, "lloyd", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    X, _ = make_blobs(200, 2, 3)
    KMeans(3, init=init, n_init=n_init, random_state=0).fit(X)
    assert len(calls) == expected


def test_callable_init_gets_data_k_and_generator():
    seen = {}

    def first_rows(X, n_clusters, random_state):
        seen.update(shape=X.shape, k=n_clusters, rng=random_state)
        return X[:n_clusters]

    X, _ = make_blobs(100, 2, 3)
    km = KMeans(3, init=first_rows, n_init=1).fit(X)
    assert seen["shape"] == (100, 2) and seen["k"] == 3
    assert isinstance(seen["rng"], np.random.Generator)
    np.testing.assert_array_equal(
        km.cluster_centers_, KMeans(3, init=X[:3]).fit(X).cluster_centers_
    )


def test_array_init_with_n_init_warns_and_runs_once():
    X, _ = make_blobs(100, 2, 3)
    with pytest.warns(RuntimeWarning, match="performing only one init in KMeans instead "
                      "of n_init=5"):  # fmt: skip
        KMeans(3, init=X[:3], n_init=5).fit(X)


def test_fewer_distinct_points_than_clusters_warns_and_returns_k_centers():
    X = np.array([[0.0, 0.0]] * 5 + [[1.0, 1.0]] * 5)
    with pytest.warns(ConvergenceWarning, match=r"Number of distinct clusters \(2\) "
                      r"found smaller than n_clusters \(3\)"):  # fmt: skip
        km = KMeans(3, random_state=0).fit(X)
    assert km.cluster_centers_.shape == (3, 2)
    assert np.isfinite(km.cluster_centers_).all()
    assert km.inertia_ == 0.0


def test_zero_weight_points_do_not_pull_centers():
    X = np.array([[0.0], [1.0], [100.0], [10.0], [11.0]])
    w = np.array([1, 1, 0, 1, 1])
    km = KMeans(2, random_state=0, n_init=5).fit(X, sample_weight=w)
    assert sorted(km.cluster_centers_.ravel().tolist()) == [0.5, 10.5]
    assert km.inertia_ == 1.0


def test_scalar_sample_weight_scales_inertia_only():
    X, _ = make_blobs(300, 2, 3)
    a = KMeans(3, random_state=0).fit(X)
    b = KMeans(3, random_state=0).fit(X, sample_weight=2.0)
    np.testing.assert_allclose(b.cluster_centers_, a.cluster_centers_, rtol=1e-12)
    assert b.inertia_ == pytest.approx(2 * a.inertia_, rel=1e-12)


def test_verbose_reports_iterations_and_why_it_stopped(capsys):
    X, _ = make_blobs(300, 2, 3)
    KMeans(3, random_state=0, verbose=2).fit(X)
    out = capsys.readouterr().out
    assert "Initialization complete" in out
    assert "Iteration 0, inertia" in out
    assert "converged: no label changed" in out


def test_k_means_function_matches_estimator():
    X, _ = make_blobs(400, 3, 4)
    centers, labels, inertia = k_means(X, 4, random_state=0)
    km = KMeans(4, random_state=0).fit(X)
    np.testing.assert_array_equal(centers, km.cluster_centers_)
    np.testing.assert_array_equal(labels, km.labels_)
    assert inertia == km.inertia_


def test_params_repr_and_refit():
    km = KMeans()
    assert repr(km) == "KMeans()"
    assert km.get_params() == {
        "algorithm": "auto", "callback": None, "copy_x": True, "init": "k-means++",
        "max_iter": 300, "metric": "euclidean", "n_clusters": 8, "n_init": "auto",
        "random_state": None,
        "refine": None, "refine_iter": "auto", "refine_time": None, "tol": 1e-4,
        "verbose": 0,
    }  # fmt: skip
    assert km.set_params(n_clusters=3, random_state=0) is km
    assert repr(km) == "KMeans(n_clusters=3, random_state=0)"
    with pytest.raises(ValueError, match="Invalid parameter 'bogus' for estimator KMeans"):
        km.set_params(bogus=1)
    # __init__ and set_params store; they never validate
    KMeans(n_clusters=-1, init="nonsense", max_iter=0).set_params(tol=-5)
    X, _ = make_blobs(100, 2, 3)
    km.fit(X)
    assert km.cluster_centers_.shape == (3, 2)
    km.set_params(n_clusters=2).fit(X[:, :1])
    assert km.cluster_centers_.shape == (2, 1) and km.n_features_in_ == 1


def test_not_fitted():
    with pytest.raises(NotFittedError, match="This KMeans instance is not fitted yet"):
        KMeans().predict([[1.0]])
    for method in ("transform", "score"):
        with pytest.raises(NotFittedError):
            getattr(KMeans(), method)([[1.0]])
    assert issubclass(NotFittedError, ValueError)
    assert issubclass(NotFittedError, AttributeError)


def test_pickle_round_trip():
    import pickle

    X, _ = make_blobs(200, 2, 3)
    km = KMeans(3, random_state=0).fit(X)
    again = pickle.loads(pickle.dumps(km))
    np.testing.assert_array_equal(again.predict(X), km.predict(X))
    assert repr(again) == repr(km)


class _Shouty:
    def __call__(self, info):
        return False

    def __repr__(self):
        return "<script>alert('x')</script>"


def test_html_repr_unfitted_and_fitted():
    km = KMeans(3, random_state=0, callback=_Shouty())
    page = km._repr_html_()
    assert "<strong>KMeans</strong> (not fitted)" in page
    assert "<tr><td>n_clusters</td><td><b>3</b></td></tr>" in page  # not the default
    assert "<tr><td>max_iter</td><td>300</td></tr>" in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "Fitted" not in page
    X, _ = make_blobs(300, 2, 3)
    km.fit(X)
    page = km._repr_html_()
    sizes = ", ".join(map(str, np.bincount(km.labels_)))
    assert "<strong>KMeans</strong> (fitted)" in page
    assert f"<tr><td>sizes</td><td>{sizes}</td></tr>" in page
    assert f"<tr><td>inertia</td><td>{km.inertia_:.6g}</td></tr>" in page
    assert f"<tr><td>iterations</td><td>{km.n_iter_}</td></tr>" in page
    assert "<tr><td>clusters</td><td>3</td></tr>" in page


def test_html_repr_shortens_many_sizes():
    X, _ = make_blobs(400, 2, 30)
    page = KMeans(30, random_state=0).fit(X)._repr_html_()
    assert ", ... (smallest " in page


@pytest.mark.parametrize("estimator", ["KMeans", "MiniBatchKMeans"])
@pytest.mark.parametrize("call", ["fit", "fit_predict", "fit_transform"])
def test_warnings_point_at_the_callers_line(estimator, call):
    import kmeans

    X, _ = make_blobs(300, 2, 3)
    model = getattr(kmeans, estimator)(3, init=X[:3], n_init=4)
    with pytest.warns(RuntimeWarning, match="Explicit initial") as record:
        getattr(model, call)(X)
    assert {w.filename for w in record} == {__file__}
    duplicates = np.repeat(X[:2], 50, axis=0)
    with pytest.warns(ConvergenceWarning, match="distinct clusters") as record:
        KMeans(3, n_init=1, random_state=0).fit_predict(duplicates)
    assert record[0].filename == __file__


def test_partial_fit_warning_points_at_the_callers_line():
    from kmeans import MiniBatchKMeans

    X, _ = make_blobs(300, 2, 3)
    with pytest.warns(RuntimeWarning, match="init_size") as record:
        MiniBatchKMeans(3, init_size=2, random_state=0).partial_fit(X)
    assert record[0].filename == __file__


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
def test_transform_of_the_centres_has_a_zero_diagonal(dtype, sparse):
    # scikit-learn's test of transform: each centre is at distance 0 from itself
    X, _ = make_blobs(500, 6, 4, seed=3)
    X = (X + 1e3).astype(dtype)  # far from the origin: the expanded form rounds
    km = KMeans(4, random_state=0).fit(X)
    centers = km.cluster_centers_
    distances = km.transform(scipy.sparse.csr_matrix(centers) if sparse else centers)
    if not sparse:
        np.testing.assert_array_equal(np.diag(distances), 0)
    off = distances[~np.eye(4, dtype=bool)]
    assert (off > 0).all()
