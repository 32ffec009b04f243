"""Basic interoperability with scikit-learn's tools (the full conformance suite
comes with the drop-in issue)."""

import numpy as np
import pytest
from conftest import make_blobs

from kmeans import KMeans

pytest.importorskip("sklearn")


def test_clone_keeps_parameters():
    from sklearn.base import clone

    km = KMeans(n_clusters=3, init="random", n_init=4, random_state=7)
    copy = clone(km)
    assert copy is not km and copy.get_params() == km.get_params()


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


def test_estimator_type_is_clusterer():
    from sklearn.base import is_clusterer

    assert is_clusterer(KMeans())


def test_pandas_dataframe_keeps_feature_names():
    pd = pytest.importorskip("pandas")
    X, _ = make_blobs(200, 2, 3)
    frame = pd.DataFrame(X, columns=["height", "weight"])
    km = KMeans(3, random_state=0).fit(frame)
    assert km.feature_names_in_.tolist() == ["height", "weight"]
    np.testing.assert_array_equal(km.predict(frame), km.labels_)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        km.predict(X)
    with pytest.raises(ValueError, match="feature names should match"):
        km.predict(frame.rename(columns={"weight": "mass"}))
    refit = KMeans(3, random_state=0).fit(X)
    assert not hasattr(refit, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but KMeans was fitted"):
        refit.predict(frame)
