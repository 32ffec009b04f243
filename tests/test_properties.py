"""Properties of Lloyd's k-means, checked on generated data (hypothesis)."""

import os
import warnings
from unittest import mock

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kmeans import KMeans
from kmeans._core import update

# KMEANS_HYPOTHESIS_EXAMPLES=2000 for a longer hunt than CI's
SETTINGS = settings(
    max_examples=int(os.environ.get("KMEANS_HYPOTHESIS_EXAMPLES", 60)), deadline=None
)


@st.composite
def generic_problems(draw, max_samples=60, max_features=4, max_clusters=5):
    """Continuous random data (no exact distance ties) and k distinct initial rows."""
    seed = draw(st.integers(0, 2**32 - 1))
    n_clusters = draw(st.integers(1, max_clusters))
    n_samples = draw(st.integers(n_clusters, max_samples))
    n_features = draw(st.integers(1, max_features))
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-5, 5, size=(n_clusters, n_features))
    X = centers[rng.integers(n_clusters, size=n_samples)]
    X = X + rng.standard_normal((n_samples, n_features))
    init = X[rng.choice(n_samples, n_clusters, replace=False)].copy()
    return X, init, rng


@st.composite
def adversarial_problems(draw):
    """Small arrays with duplicates, ties, zeros and wide ranges of values."""
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    n_samples = draw(st.integers(1, 25))
    n_features = draw(st.integers(1, 3))
    values = st.one_of(
        st.integers(-3, 3).map(float),
        st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False, width=32),
    )
    X = draw(hnp.arrays(dtype, (n_samples, n_features), elements=values))
    n_clusters = draw(st.integers(1, n_samples))
    seed = draw(st.integers(0, 1000))
    return X, n_clusters, seed


def _fit(X, init, sample_weight=None, **params):
    """KMeans from a fixed init; repeated rows legitimately warn of duplicates."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return KMeans(len(init), init=init, **params).fit(X, sample_weight=sample_weight)


@SETTINGS
@given(adversarial_problems(), st.sampled_from(["k-means++", "random"]))
def test_labels_equal_predict_and_inertia_is_consistent(problem, init):
    X, n_clusters, seed = problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicates legitimately warn
        km = KMeans(n_clusters, init=init, random_state=seed, n_init=2).fit(X)
    assert np.isfinite(km.cluster_centers_).all()
    np.testing.assert_array_equal(km.labels_, km.predict(X))
    assert km.inertia_ >= 0
    assert km.score(X) == -km.inertia_
    exact = ((X.astype(float)[:, None] - km.cluster_centers_.astype(float)) ** 2).sum(-1)
    # every label is a nearest centre, up to the rounding of the data's dtype
    eps = np.finfo(X.dtype).eps
    scale = (X.astype(float) ** 2).sum(1) + (km.cluster_centers_.astype(float) ** 2).sum(
        1
    ).max()
    chosen = exact[np.arange(len(X)), km.labels_]
    assert (chosen <= exact.min(1) + 64 * eps * scale).all()


@SETTINGS
@given(generic_problems())
def test_inertia_never_increases(problem):
    X, init, _ = problem
    inertias = [_fit(X, init, max_iter=n_iter, tol=0).inertia_ for n_iter in range(1, 8)]
    for before, after in zip(inertias, inertias[1:]):
        assert after <= before * (1 + 1e-12) + 1e-12


@SETTINGS
@given(generic_problems())
def test_permuting_rows_permutes_labels_only(problem):
    X, init, rng = problem
    order = rng.permutation(len(X))
    a = _fit(X, init, tol=0)
    b = _fit(X[order], init, tol=0)
    np.testing.assert_array_equal(b.labels_, a.labels_[order])
    np.testing.assert_allclose(b.cluster_centers_, a.cluster_centers_, rtol=1e-9, atol=1e-9)
    assert b.n_iter_ == a.n_iter_


@SETTINGS
@given(
    generic_problems(),
    st.floats(-1e3, 1e3, allow_nan=False),
    st.sampled_from([0.25, 0.5, 2.0, 8.0]),
)
def test_translation_and_scaling_move_the_centers_alike(problem, offset, factor):
    X, init, _ = problem
    base = _fit(X, init, tol=0)
    moved = _fit(X + offset, init + offset, tol=0)
    np.testing.assert_array_equal(moved.labels_, base.labels_)
    np.testing.assert_allclose(
        moved.cluster_centers_, base.cluster_centers_ + offset, rtol=1e-9, atol=1e-9
    )
    # scaling by a power of two is exact in floating point: so is the result
    scaled = _fit(X * factor, init * factor, tol=0)
    np.testing.assert_array_equal(scaled.labels_, base.labels_)
    np.testing.assert_array_equal(scaled.cluster_centers_, base.cluster_centers_ * factor)
    assert scaled.inertia_ == base.inertia_ * factor**2


@SETTINGS
@given(generic_problems(), st.data())
def test_integer_weights_equal_repeated_rows(problem, data):
    # Exact while no cluster empties: an emptied cluster takes a whole weighted row,
    # where in the repeated data it takes one copy (see test_lloyd.py).
    X, _, rng = problem
    n_clusters = data.draw(st.integers(1, 4))
    weight = np.array(
        data.draw(st.lists(st.integers(0, 4), min_size=len(X), max_size=len(X)))
    )
    positive = np.flatnonzero(weight)
    assume(len(positive) >= n_clusters)
    init = X[rng.choice(positive, n_clusters, replace=False)]
    with mock.patch.object(
        update, "farthest_candidates", wraps=update.farthest_candidates
    ) as spy:
        weighted = _fit(X, init, weight, tol=0)
        repeated = _fit(np.repeat(X, weight, axis=0), init, tol=0)
    assume(spy.call_count == 0)
    np.testing.assert_allclose(
        weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-9, atol=1e-9
    )
    assert np.isclose(weighted.inertia_, repeated.inertia_, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(np.repeat(weighted.labels_, weight), repeated.labels_)
    # n_iter_ may differ by one: whether a centre "did not move" (shift <= tol=0)
    # depends on how the mean of w copies rounds next to w times one row.
