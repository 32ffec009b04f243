"""KMeans as a scikit-learn estimator: its base classes, exceptions, output
configuration and feature names, and inside scikit-learn's tools (pipelines,
column transformers, searches, cross-validation)."""

import pickle
import warnings

import numpy as np
import pytest
from conftest import make_blobs

import kmeans
from kmeans import KMeans

sklearn = pytest.importorskip("sklearn")

from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, clone  # noqa: E402


def test_is_a_scikit_learn_clusterer_and_transformer():
    from sklearn.base import is_clusterer
    from sklearn.utils import get_tags

    km = KMeans()
    assert isinstance(km, ClusterMixin | TransformerMixin | BaseEstimator)
    assert is_clusterer(km)
    tags = get_tags(km)
    assert tags.input_tags.sparse and tags.transformer_tags is not None
    assert not tags.target_tags.required


def test_clone_keeps_parameters():
    km = KMeans(n_clusters=3, init="random", n_init=4, random_state=7)
    copy = clone(km)
    assert copy is not km and copy.get_params() == km.get_params()
    assert not hasattr(clone(km.fit(make_blobs(50, 2, 3)[0])), "cluster_centers_")


def test_pickle_round_trip():
    X, _ = make_blobs(200, 3, 3)
    km = KMeans(3, random_state=0).fit(X)
    copy = pickle.loads(pickle.dumps(km))
    assert type(copy) is KMeans and copy.get_params() == km.get_params()
    np.testing.assert_array_equal(copy.predict(X), km.predict(X))
    np.testing.assert_array_equal(copy.cluster_centers_, km.cluster_centers_)


def test_scikit_learn_catches_our_exceptions_and_warnings():
    from sklearn.exceptions import ConvergenceWarning, NotFittedError

    with pytest.raises(NotFittedError, match="This KMeans instance is not fitted yet"):
        KMeans().predict([[0.0]])
    assert issubclass(kmeans.NotFittedError, ValueError | AttributeError)
    X = np.repeat([[0.0, 0.0], [1.0, 1.0]], 5, axis=0)
    with pytest.warns(ConvergenceWarning, match="Number of distinct clusters"):
        KMeans(3, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        KMeans(3, random_state=0).fit(X)  # silenced by scikit-learn's filter


def test_feature_names_out():
    X, _ = make_blobs(100, 2, 3)
    km = KMeans(3, random_state=0).fit(X)
    names = km.get_feature_names_out()
    assert names.dtype == object and names.tolist() == ["kmeans0", "kmeans1", "kmeans2"]
    assert km.get_feature_names_out(["x0", "x1"]).tolist() == names.tolist()
    with pytest.raises(ValueError, match="input_features should have length"):
        km.get_feature_names_out(["a"])
    with pytest.raises(kmeans.NotFittedError):
        KMeans().get_feature_names_out()


def test_set_output_pandas():
    pd = pytest.importorskip("pandas")
    X, _ = make_blobs(100, 2, 3)
    frame = pd.DataFrame(X, columns=["a", "b"], index=np.arange(100, 200))
    km = KMeans(3, random_state=0).set_output(transform="pandas")
    out = km.fit_transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert out.columns.tolist() == ["kmeans0", "kmeans1", "kmeans2"]
    assert out.index.tolist() == frame.index.tolist()
    plain = km.set_output(transform="default").transform(frame)
    assert isinstance(plain, np.ndarray)
    np.testing.assert_allclose(out.to_numpy(), plain)
    with sklearn.config_context(transform_output="pandas"):
        assert isinstance(KMeans(3, random_state=0).fit(X).transform(X), pd.DataFrame)


def test_pandas_dataframe_keeps_feature_names():
    pd = pytest.importorskip("pandas")
    X, _ = make_blobs(200, 2, 3)
    frame = pd.DataFrame(X, columns=["height", "weight"])
    km = KMeans(3, random_state=0).fit(frame)
    assert km.feature_names_in_.tolist() == ["height", "weight"]
    np.testing.assert_array_equal(km.predict(frame), km.labels_)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        km.predict(X)
    message = (
        "The feature names should match those that were passed during fit.\n"
        "Feature names unseen at fit time:\n- mass\n"
        "Feature names seen at fit time, yet now missing:\n- weight\n"
    )
    with pytest.raises(ValueError) as info:
        km.predict(frame.rename(columns={"weight": "mass"}))
    assert str(info.value) == message
    with pytest.raises(ValueError, match="must be in the same order"):
        km.transform(frame[["weight", "height"]])
    with pytest.raises(TypeError, match="Feature names are only supported if all"):
        KMeans(3).fit(pd.DataFrame(X, columns=["a", 1]))
    refit = KMeans(3, random_state=0).fit(X)
    assert not hasattr(refit, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but KMeans was fitted"):
        refit.predict(frame)


def test_lists_and_array_likes():
    X, _ = make_blobs(60, 2, 2)
    km = KMeans(2, random_state=0).fit(X.tolist())
    np.testing.assert_array_equal(km.predict(tuple(map(tuple, X))), km.labels_)


def test_pipeline_and_grid_search():
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, _ = make_blobs(600, 3, 4, seed=2)
    pipe = make_pipeline(StandardScaler(), KMeans(n_clusters=4, random_state=0))
    labels = pipe.fit_predict(X)
    assert labels.shape == (600,) and set(labels.tolist()) == {0, 1, 2, 3}
    assert pipe.transform(X).shape == (600, 4)
    search = GridSearchCV(pipe, {"kmeans__n_clusters": [2, 4, 6]}, cv=3).fit(X)
    # score is minus the inertia: more clusters always score higher
    assert search.best_params_ == {"kmeans__n_clusters": 6}


def test_grid_search_with_a_custom_scorer():
    from sklearn.metrics import silhouette_score
    from sklearn.model_selection import GridSearchCV

    def silhouette(estimator, X, y=None):
        return silhouette_score(X, estimator.predict(X))

    X, _ = make_blobs(600, 2, 4, seed=5, spread=0.5)
    search = GridSearchCV(
        KMeans(random_state=0), {"n_clusters": [2, 3, 4, 6, 8]}, scoring=silhouette, cv=3
    ).fit(X)
    assert search.best_params_ == {"n_clusters": 4}
    assert isinstance(search.best_estimator_, KMeans)


def test_cross_val_score_and_sample_weight_routing():
    from sklearn.model_selection import cross_val_score

    X, _ = make_blobs(300, 2, 3, seed=1)
    scores = cross_val_score(KMeans(3, random_state=0), X, cv=3)
    assert scores.shape == (3,) and (scores < 0).all()
    with sklearn.config_context(enable_metadata_routing=True):
        km = KMeans(3, random_state=0).set_fit_request(sample_weight=True)
        km.set_score_request(sample_weight=True)
        weights = np.ones(len(X))
        routed = cross_val_score(km, X, cv=3, params={"sample_weight": weights})
    np.testing.assert_allclose(routed, scores)


def test_column_transformer():
    pd = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer

    X, _ = make_blobs(200, 3, 3)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(kind="x")
    ct = ColumnTransformer(
        [("clusters", KMeans(3, random_state=0), ["a", "b", "c"])],
        remainder="drop",
    )
    out = ct.fit_transform(frame)
    assert out.shape == (200, 3)
    assert ct.get_feature_names_out().tolist() == [
        "clusters__kmeans0",
        "clusters__kmeans1",
        "clusters__kmeans2",
    ]
    inner = ct.named_transformers_["clusters"]
    assert inner.feature_names_in_.tolist() == ["a", "b", "c"]


def test_sparse_in_a_pipeline():
    sparse = pytest.importorskip("scipy.sparse")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    docs = ["apples and pears", "pears and plums", "cars and trucks", "trucks, vans"] * 5
    pipe = make_pipeline(TfidfVectorizer(), KMeans(2, random_state=0, n_init=5))
    labels = pipe.fit_predict(docs)
    assert sparse.issparse(pipe[0].transform(docs))
    assert labels[0] == labels[1] != labels[2] == labels[3]


def test_html_repr():
    from sklearn.pipeline import make_pipeline
    from sklearn.utils import estimator_html_repr

    km = KMeans(4, random_state=0)
    bundle = km._repr_mimebundle_()
    assert bundle["text/plain"] == "KMeans(n_clusters=4, random_state=0)"
    assert bundle["text/html"] == km._repr_html_() and "<table>" in bundle["text/html"]
    with sklearn.config_context(display="text"):
        assert "text/html" not in km._repr_mimebundle_()
    # inside a pipeline, scikit-learn's diagram shows it like its own estimators
    assert "KMeans" in estimator_html_repr(make_pipeline(km))
