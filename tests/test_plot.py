"""kmeans.plot, rendered to PNG with the Agg backend; and the numbers behind it."""

import sys
import warnings

import numpy as np
import pytest
from conftest import make_blobs

from kmeans import KMeans, plot
from kmeans._selection import silhouette_score

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def assert_not_blank(fig, path):
    fig.savefig(path, dpi=80)
    pixels = plt.imread(path)[..., :3]
    assert pixels.std() > 0.05, "the image is (nearly) one colour"
    # several distinct colours, not just axes on white
    assert len(np.unique(pixels.reshape(-1, 3).round(2), axis=0)) > 20


@pytest.mark.parametrize("n_features", [1, 2, 5])
def test_clusters_png(tmp_path, n_features):
    X, _ = make_blobs(600, n_features, 4)
    km = KMeans(4, random_state=0).fit(X)
    ax = plot.clusters(km, X)
    assert ax.get_title().startswith("KMeans: 4 clusters, 600 samples")
    if n_features > 2:
        assert "PCA projection" in ax.get_title()
        assert ax.get_xlabel().startswith("principal component 1 (")
    assert_not_blank(ax.figure, tmp_path / f"clusters-{n_features}d.png")


def test_clusters_samples_large_data_and_uses_feature_names(tmp_path):
    pd = pytest.importorskip("pandas")
    X, _ = make_blobs(30_000, 2, 3)
    frame = pd.DataFrame(X, columns=["width", "height"])
    km = KMeans(3, random_state=0).fit(frame)
    fig, ax = plt.subplots()
    assert plot.clusters(km, frame, ax=ax, max_points=1000) is ax
    assert "1000 of 30000 samples" in ax.get_title()
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("width", "height")
    assert_not_blank(fig, tmp_path / "large.png")


@pytest.mark.parametrize("n_features", [2, 5])
def test_cosine_clusters_draw_the_unit_rows_with_their_centres(tmp_path, n_features):
    # the raw rows were drawn beside the unit centres: every centre landed near
    # the origin, far from its rows, and rows of norm 1e300 overflowed the PCA
    rng = np.random.default_rng(1)
    means = rng.standard_normal((3, n_features))
    truth = rng.integers(3, size=300)
    X = means[truth] + 0.05 * rng.standard_normal((300, n_features))
    X *= 10.0 ** rng.uniform(-300, 300, size=(300, 1))
    km = KMeans(3, metric="cosine", random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot.clusters(km, X)
    assert "unit rows" in ax.get_title()
    points, centres = _scatters(ax)
    assert np.isfinite(points).all() and np.isfinite(centres).all()
    for j in range(3):
        # each centre is drawn among its own rows: nearer their mean than the others'
        means2 = [points[km.labels_ == i].mean(axis=0) for i in range(3)]
        gaps = [np.linalg.norm(centres[j] - m) for m in means2]
        assert int(np.argmin(gaps)) == j
    assert_not_blank(ax.figure, tmp_path / "cosine.png")


@pytest.mark.parametrize("n_features", [1, 2, 5])
def test_clusters_of_one_row(n_features):
    # one row has one principal component: the second axis was out of range
    X = np.arange(1.0, n_features + 1)[None, :]
    ax = plot.clusters(KMeans(1).fit(X), X)
    assert _scatters(ax)[0].shape == (1, 2)


def _scatters(ax):
    """The offsets of the samples and of the centres drawn (the two scatters)."""
    from matplotlib.collections import PathCollection

    points, centres = (c for c in ax.collections if isinstance(c, PathCollection))
    return np.asarray(points.get_offsets()), np.asarray(centres.get_offsets())


def test_clusters_cells_are_the_predicted_regions():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [4.0, 0.0], [4.0, 1.0]])
    km = KMeans(2, init=np.array([[0.0, 0.5], [4.0, 0.5]])).fit(X)
    ax = plot.clusters(km, X)
    cells = ax.images[0].get_array()
    # left of x = 2 is cluster 0, right of it cluster 1
    assert cells[:, 0].tolist() == [0] * cells.shape[0]
    assert cells[:, -1].tolist() == [1] * cells.shape[0]


def test_convergence_png(tmp_path):
    X, _ = make_blobs(2000, 2, 6, spread=2.0)
    records = []
    km = KMeans(6, random_state=0, callback=records.append).fit(X)
    fig = plot.convergence(records)
    top, bottom = fig.axes
    np.testing.assert_array_equal(top.lines[0].get_ydata(), [r.inertia for r in records])
    assert bottom.lines[0].get_ydata().tolist() == [r.n_reassigned for r in records]
    assert len(records) == km.n_iter_ and top.get_title() == "Convergence"
    assert_not_blank(fig, tmp_path / "convergence.png")

    records = []
    KMeans(6, init="random", n_init=3, random_state=0, callback=records.append).fit(X)
    fig = plot.convergence(records)
    assert len(fig.axes[0].lines) == 3
    assert fig.axes[0].get_title() == "Convergence of 3 runs"
    assert_not_blank(fig, tmp_path / "convergence-runs.png")


def test_convergence_of_a_pruned_fit_says_the_inertia_is_not_computed(tmp_path):
    X, _ = make_blobs(2000, 2, 6, spread=2.0)
    records = []
    KMeans(6, random_state=0, algorithm="hamerly", callback=records.append).fit(X)
    fig = plot.convergence(records)
    assert "inertia not computed" in fig.axes[0].texts[0].get_text()
    assert_not_blank(fig, tmp_path / "convergence-hamerly.png")


def test_convergence_rejects_what_it_cannot_draw():
    with pytest.raises(TypeError, match="not a model: records = "):
        plot.convergence(KMeans())
    with pytest.raises(TypeError, match="a non-empty sequence of the IterationInfo"):
        plot.convergence([])


def test_choose_k_png(tmp_path):
    X, _ = make_blobs(1500, 2, 4, seed=3, spread=0.5)
    fig = plot.choose_k(X, range(1, 9), random_state=0, sample_size=500)
    left, right = fig.axes
    assert left.lines[0].get_xdata().tolist() == list(range(1, 9))
    assert right.get_title() == "Silhouette (best: K = 4)"
    assert_not_blank(fig, tmp_path / "choose-k.png")


def test_silhouette_matches_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(2)
    X = rng.normal(size=(500, 4))
    labels = rng.integers(5, size=500)
    labels[0] = 7  # a cluster of one scores 0
    ours = silhouette_score(X, labels)
    assert ours == pytest.approx(metrics.silhouette_score(X, labels), rel=1e-12)
    # on a sample: the coefficient within the sample
    sampled = silhouette_score(X, labels, sample_size=100, random_state=0)
    assert -1 <= sampled <= 1 and sampled != ours
    assert np.isnan(silhouette_score(X, np.zeros(500, int)))


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    X, _ = make_blobs(50, 2, 2)
    km = KMeans(2, random_state=0).fit(X)
    with pytest.raises(ImportError, match=r'pip install "kmeans-numpy\[plot\]"'):
        plot.clusters(km, X)


def test_legend_maps_colours_to_clusters_and_centres_are_neutral():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from kmeans import KMeans, plot

    X = np.random.default_rng(0).normal(size=(60, 2))
    ax = plot.clusters(KMeans(3, random_state=0).fit(X), X)
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [
        "centres", "cluster 0", "cluster 1", "cluster 2"
    ]  # fmt: skip
    assert legend.legend_handles[0].get_markerfacecolor() == "white"
    plt.close(ax.figure)
    ax = plot.clusters(KMeans(2, random_state=0).fit(X[:, :1]), X[:, :1])
    assert "jitter" in ax.get_ylabel()  # the vertical axis says what it is
    plt.close(ax.figure)
