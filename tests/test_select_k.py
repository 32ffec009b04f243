"""select_k: each method recovers K on well-separated blobs, says so when there
is no answer, reuses its fits, is reproducible and checks its inputs."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmeans import KMeans, SelectKResult, select_k
from kmeans._selection import silhouette_score


def _blobs(k, seed=0, n_per=60):
    """k blobs of spread 1 on a circle, 4k apart: clearly separated."""
    rng = np.random.default_rng(seed)
    angle = 2 * np.pi * np.arange(k) / k
    centres = np.c_[np.cos(angle), np.sin(angle)] * 4 * k
    return np.concatenate([rng.normal(c, 1.0, (n_per, 2)) for c in centres])


@pytest.mark.parametrize("k_true", [3, 5, 7])
def test_recovers_k_on_separated_blobs(k_true):
    X = _blobs(k_true, seed=k_true)
    result = select_k(X, range(2, 2 * k_true + 1), n_refs=4, random_state=0)
    assert result.best_k == dict.fromkeys(
        ["elbow", "silhouette", "gap", "calinski_harabasz"], k_true
    )


def test_gap_rules_on_clusters_of_clusters():
    # seven blobs on a 4 x 2 grid: at K = 2 the two rows already stand out
    rng = np.random.default_rng(7)
    grid = np.array([[i % 4, i // 4] for i in range(7)], float) * 12
    X = np.concatenate([rng.normal(c, 1.0, (60, 2)) for c in grid])
    kwargs = {"method": "gap", "n_refs": 4, "random_state": 0}
    assert select_k(X, range(2, 15), **kwargs).best_k == {"gap": 2}
    assert select_k(X, range(2, 15), gap_rule="global", **kwargs).best_k == {"gap": 7}


def test_no_clear_knee_without_clusters():
    X = np.random.default_rng(1).uniform(size=(1500, 2))
    result = select_k(X, range(2, 13), method="elbow", random_state=0)
    assert result.best_k == {"elbow": None}
    assert np.nanmax(result.scores["elbow"]) < 2.0


def test_gap_rule_on_a_single_gaussian_says_one():
    X = np.random.default_rng(2).normal(size=(400, 2))
    result = select_k(X, range(1, 6), method="gap", n_refs=5, random_state=0)
    assert result.best_k == {"gap": 1}
    assert result.gap_se.shape == (5,) and np.all(result.gap_se > 0)


def test_cosine_silhouette_is_that_of_the_directions():
    # rows of very different norms around 3 directions: the silhouette of a
    # cosine fit reads the unit rows (the raw rows' distances mostly measure norm)
    rng = np.random.default_rng(5)
    means = rng.standard_normal((3, 6))
    X = means[rng.integers(3, size=150)] + 0.1 * rng.standard_normal((150, 6))
    X *= 10.0 ** rng.uniform(-3, 3, size=(150, 1))
    result = select_k(
        X, [2, 3, 4], method="silhouette", sample_size=150,
        estimator=KMeans(metric="cosine"), random_state=0,
    )  # fmt: skip
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    for i, k in enumerate(result.k_values):
        labels = result.estimator(k).labels_
        assert result.scores["silhouette"][i] == pytest.approx(
            silhouette_score(unit, labels), rel=1e-10
        )
    assert result.best_k["silhouette"] == 3


def test_scores_agree_with_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    X = _blobs(4, seed=3, n_per=40)
    result = select_k(
        X, [2, 4, 6], method=["silhouette", "calinski_harabasz"], random_state=0
    )
    for i, k in enumerate(result.k_values):
        labels = result.estimator(k).labels_
        assert result.scores["silhouette"][i] == pytest.approx(
            metrics.silhouette_score(X, labels), rel=1e-10
        )
        assert result.scores["calinski_harabasz"][i] == pytest.approx(
            metrics.calinski_harabasz_score(X, labels), rel=1e-10
        )


def test_one_fit_per_k_and_template_parameters(monkeypatch):
    X = _blobs(3)
    fits = []
    original = KMeans.fit
    monkeypatch.setattr(
        KMeans,
        "fit",
        lambda self, *a, **kw: fits.append(self.n_clusters) or original(self, *a, **kw),
    )
    template = KMeans(n_init=3, refine="swap", refine_iter=10, random_state=5)
    result = select_k(
        X,
        [2, 3, 4],
        method=["elbow", "silhouette", "calinski_harabasz"],
        estimator=template,
    )
    assert fits == [2, 3, 4]  # three methods, one fit per K
    est = result.estimator(3)
    assert (est.n_init, est.refine, est.random_state) == (3, "swap", 5)
    assert isinstance(result, SelectKResult)
    assert result.inertia.tolist() == [e.inertia_ for e in result.estimators]


def test_reproducible_with_random_state():
    X = _blobs(4, seed=9)
    a = select_k(X, range(2, 8), n_refs=3, random_state=7)
    b = select_k(X, range(2, 8), n_refs=3, random_state=7)
    assert a.best_k == b.best_k
    for name in a.scores:
        np.testing.assert_array_equal(a.scores[name], b.scores[name])


def test_silhouette_on_a_sample_for_large_n():
    X = _blobs(3, n_per=1000)
    result = select_k(X, [2, 3, 4], method="silhouette", sample_size=300, random_state=0)
    assert result.best_k == {"silhouette": 3}


def test_plot_marks_the_chosen_k():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    result = select_k(_blobs(3), range(2, 7), n_refs=2, random_state=0)
    axes = result.plot()
    assert len(axes) == 4
    assert axes[1].get_title() == "silhouette: K = 3"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"k_range": []}, ValueError, "k_range must hold numbers of clusters between 1"),
        (
            {"k_range": [0, 2]},
            ValueError,
            "k_range must hold numbers of clusters between 1",
        ),
        ({"k_range": [2, 500]}, ValueError, "and n_samples=180"),
        ({"k_range": ["a"]}, ValueError, "k_range must be an iterable of ints"),
        (
            {"k_range": [2, 2.5]},
            ValueError,
            "k_range must be an iterable of ints. Got 2.5.",
        ),
        (
            {"k_range": [2.0, 3]},
            ValueError,
            "k_range must be an iterable of ints. Got 2.0.",
        ),
        (
            {"k_range": [True, 3]},
            ValueError,
            "k_range must be an iterable of ints. Got True.",
        ),
        ({"k_range": 3}, ValueError, "k_range must be an iterable of ints. Got 3 instead."),
        ({"method": "bic"}, ValueError, "method must be 'all', one of"),
        ({"estimator": "km"}, TypeError, "estimator must be a KMeans instance"),
        ({"n_refs": 0}, ValueError, "'n_refs' parameter of select_k must be an int"),
        ({"gap_rule": "max"}, ValueError, "'gap_rule' parameter of select_k must be a str"),
    ],
)
def test_bad_inputs(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        select_k(_blobs(3), **{"k_range": [2, 3], **kwargs})


def test_unknown_k_in_result():
    result = select_k(_blobs(3), [2, 3], method="elbow", random_state=0)
    with pytest.raises(ValueError, match=re.escape("k=5 was not tried; tried [2, 3]")):
        result.estimator(5)


@settings(max_examples=30, deadline=None)
@given(ks=st.lists(st.integers(-(10**6), 10**6), max_size=500))
def test_k_range_errors_stay_short(ks):
    # a long range with values outside [1, n_samples]: named briefly, not listed whole
    ks = [*ks, 0, *range(2, 400)]
    with pytest.raises(ValueError) as info:
        select_k(_blobs(3), k_range=ks)
    message = str(info.value)
    assert message.startswith("k_range must hold numbers of clusters between 1 and")
    assert len(message) < 200 and "\n" not in message


def test_numpy_integers_are_ints():
    result = select_k(_blobs(3), np.arange(2, 4), method="elbow", random_state=0)
    assert result.k_values.tolist() == [2, 3]


def test_plot_keeps_its_labels_inside_the_figure():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    axes = select_k(_blobs(3), [2, 3], method="elbow", random_state=0).plot()
    figure = np.atleast_1d(axes)[0].figure
    assert type(figure.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
    plt.close(figure)
