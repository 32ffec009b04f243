"""Cosine (spherical) k-means, metric="cosine" (#15): exact cases, agreement with a
plain NumPy reference from the same init, properties, every data kind, errors,
thread counts, save/load and the command line."""

import os
import subprocess
import sys
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_AND_HUGE, assert_scale_free, directions
from hypothesis import given, settings
from hypothesis import strategies as st

from kmeans import KMeans, MiniBatchKMeans, centroid_index, load
from kmeans._core.blocks import effective_n_threads
from kmeans._exceptions import InvalidParameterError

sparse = pytest.importorskip("scipy.sparse")

ROOT = Path(__file__).resolve().parent.parent


def reference(X, init, weights=None, max_iter=300, tol=1e-4):
    """Plain spherical k-means (Dhillon & Modha 2001) on normalised copies: the
    centres, labels, objective sum w (1 - cos) and iterations."""
    X = np.asarray(X, np.float64)
    w = np.ones(len(X)) if weights is None else np.asarray(weights, np.float64)
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    centers = init / np.linalg.norm(init, axis=1, keepdims=True)
    tol = tol * unit.var(axis=0).mean()
    labels = np.full(len(X), -1)
    for iteration in range(max_iter):  # noqa: B007 (returned)
        new_labels = np.argmax(unit @ centers.T, axis=1)
        n_changed = np.count_nonzero(new_labels != labels)
        labels = new_labels
        sums = np.zeros_like(centers)
        np.add.at(sums, labels, w[:, None] * unit)
        new = centers.copy()
        filled = np.bincount(labels, w, len(centers)) > 0
        new[filled] = sums[filled] / np.linalg.norm(sums[filled], axis=1, keepdims=True)
        shift = ((new - centers) ** 2).sum()
        centers = new
        if n_changed == 0 or shift <= tol:
            break
    cos = unit @ centers.T
    labels = np.argmax(cos, axis=1)
    return centers, labels, float(w @ (1 - cos.max(axis=1))), iteration + 1


def assert_unit(centers, dtype):
    atol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 1, atol=atol)


# -- exact cases ---------------------------------------------------------------------


def test_hand_checked_case():
    X = np.array([[3.0, 0.0], [0.0, 2.0], [-1.0, 0.0]])
    km = KMeans(2, init=np.array([[1.0, 0.0], [0.0, 1.0]]), metric="cosine").fit(X)
    # [-1, 0] is orthogonal to [0, 1] and opposite [1, 0]: it joins [0, 2], whose
    # centre becomes the bisector [-1, 1] / sqrt(2)
    assert km.labels_.tolist() == [0, 1, 1]
    h = np.sqrt(0.5)
    np.testing.assert_allclose(km.cluster_centers_, [[1, 0], [-h, h]], atol=1e-15)
    assert km.inertia_ == pytest.approx(2 - np.sqrt(2), abs=1e-15)
    assert km.score(X) == pytest.approx(-km.inertia_, abs=1e-15)
    np.testing.assert_allclose(km.transform([[0.0, 5.0]]), [[1, 1 - h]], atol=1e-15)
    assert km.predict([[7.0, 0.1], [-3.0, 2.0]]).tolist() == [0, 1]


def test_length_of_rows_does_not_matter_but_direction_does():
    X = np.array([[1.0, 0.0], [100.0, 1.0], [0.0, 0.01], [1.0, 50.0]])
    km = KMeans(2, init=X[[0, 2]], metric="cosine").fit(X)
    assert km.labels_.tolist() == [0, 0, 1, 1]
    euclid = KMeans(2, init=X[[0, 2]]).fit(X)
    assert euclid.labels_.tolist() != [0, 0, 1, 1]


def test_transform_and_score_are_the_cosine_ones(dtype):
    X, _ = directions(300, 8, 4, dtype=dtype)
    km = KMeans(4, metric="cosine", random_state=0).fit(X)
    assert km.cluster_centers_.dtype == dtype
    X64 = X.astype(np.float64)
    C = km.cluster_centers_.astype(np.float64)
    cos = (X64 @ C.T) / np.linalg.norm(X64, axis=1)[:, None] / np.linalg.norm(C, axis=1)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(km.transform(X), 1 - cos, rtol=rtol, atol=rtol)
    np.testing.assert_array_equal(km.predict(X), np.argmax(cos, axis=1))
    assert km.inertia_ == pytest.approx((1 - cos.max(axis=1)).sum(), rel=rtol)
    weights = np.arange(len(X)) % 3
    assert km.score(X, sample_weight=weights) == pytest.approx(
        -(weights @ (1 - cos.max(axis=1))), rel=rtol
    )


# -- agreement with the reference --------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_same_as_the_reference_from_the_same_init(seed, weighted):
    X, _ = directions(800, 24, 6, seed=seed)
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0, 3, len(X)) if weighted else None
    init = X[rng.choice(len(X), 6, replace=False)]
    centers, labels, inertia, n_iter = reference(X, init, weights)
    km = KMeans(6, init=init, metric="cosine").fit(X, sample_weight=weights)
    np.testing.assert_array_equal(km.labels_, labels)
    assert km.n_iter_ == n_iter
    np.testing.assert_allclose(km.cluster_centers_, centers, rtol=0, atol=1e-12)
    assert km.inertia_ == pytest.approx(inertia, rel=1e-12)


def test_float32_close_to_the_reference():
    X, _ = directions(800, 24, 6, seed=3, dtype=np.float32)
    init = X[:6]
    centers, labels, _, _ = reference(X, init.astype(np.float64))
    km = KMeans(6, init=init, metric="cosine").fit(X)
    assert np.mean(km.labels_ == labels) > 0.99
    np.testing.assert_allclose(km.cluster_centers_, centers, atol=1e-4)
    assert_unit(km.cluster_centers_, np.float32)


def test_integer_weights_act_as_repeated_rows():
    X, _ = directions(200, 6, 3, seed=4)
    counts = np.arange(len(X)) % 3
    init = X[[0, 1, 2]]
    weighted = KMeans(3, init=init, metric="cosine").fit(X, sample_weight=counts)
    repeated = KMeans(3, init=init, metric="cosine").fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(
        weighted.cluster_centers_, repeated.cluster_centers_, atol=1e-13
    )
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-12)


def test_empty_cluster_goes_to_the_least_similar_row():
    X = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.0, -1.0]])
    # centre 2 is the most similar centre of no row; [0, -1] goes to centre 0
    # (cos 0), the least similar row to its own centre: centre 2 moves onto it
    init = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.05]])
    km = KMeans(3, init=init, metric="cosine", max_iter=1).fit(X)
    np.testing.assert_allclose(km.cluster_centers_[2], [0, -1], atol=1e-15)
    assert km.labels_.tolist() == [0, 0, 1, 2]


# -- properties -------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**20), k=st.integers(1, 6), use_float32=st.booleans())
def test_centres_of_unit_norm_and_objective_non_increasing(seed, k, use_float32):
    dtype = np.float32 if use_float32 else np.float64
    X, _ = directions(150, 5, 4, seed=seed, dtype=dtype)
    history = []
    km = KMeans(
        k,
        metric="cosine",
        random_state=seed,
        tol=0,
        callback=lambda info: history.append(info.inertia),
    ).fit(X)
    assert_unit(km.cluster_centers_, dtype)
    history.append(km.inertia_)
    slack = 1e-5 if use_float32 else 1e-10
    for before, after in zip(history, history[1:]):
        assert after <= before * (1 + slack) + slack
    assert 0 <= km.inertia_ <= 2 * len(X)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**20),
    k=st.integers(2, 7),
    zero_weights=st.booleans(),
    use_float32=st.booleans(),
)
def test_swap_property_never_worse_and_at_a_fixed_point(seed, k, zero_weights, use_float32):
    # from the same best start, the aimed swap trials and their final Lloyd run
    # never raise the objective; the result is a fixed point (predict gives the
    # labels) with unit centres; the trials stop by their own rules
    dtype = np.float32 if use_float32 else np.float64
    X, _ = directions(120, 5, 4, seed=seed, dtype=dtype)
    weights = np.random.default_rng(seed).integers(0 if zero_weights else 1, 3, len(X))
    plain = KMeans(k, metric="cosine", random_state=seed).fit(X, sample_weight=weights)
    swap = KMeans(k, metric="cosine", random_state=seed, refine="swap")
    swap.fit(X, sample_weight=weights)
    slack = 1e-5 if use_float32 else 1e-10
    assert swap.inertia_ <= plain.inertia_ * (1 + slack) + slack
    assert_unit(swap.cluster_centers_, dtype)
    np.testing.assert_array_equal(swap.predict(X), swap.labels_)
    assert 0 <= swap.n_swaps_ <= swap.n_swap_trials_ <= 6 * k
    # each ordered pair of centres is tried at most once between kept trials
    assert swap.n_swap_trials_ <= (swap.n_swaps_ + 1) * k * (k - 1)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**20),
    scales=st.lists(st.floats(1e-3, 1e3), min_size=150, max_size=150),
)
def test_invariant_to_each_rows_positive_scale(seed, scales):
    X, _ = directions(150, 5, 4, seed=seed)
    scaled = X * np.array(scales)[:, None]
    one = KMeans(4, metric="cosine", random_state=seed).fit(X)
    other = KMeans(4, metric="cosine", random_state=seed).fit(scaled)
    np.testing.assert_array_equal(one.labels_, other.labels_)
    assert one.n_iter_ == other.n_iter_
    np.testing.assert_allclose(one.cluster_centers_, other.cluster_centers_, atol=1e-12)
    assert one.inertia_ == pytest.approx(other.inertia_, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(one.transform(X), other.transform(scaled), atol=1e-12)


def test_power_of_two_scales():
    # every product scales exactly: the same draws, labels and iterations (the
    # centres differ by the rounding of their norms only)
    X, _ = directions(300, 8, 4, seed=5)
    exponents = np.random.default_rng(5).integers(-40, 40, len(X))
    a = KMeans(4, metric="cosine", random_state=0).fit(X)
    b = KMeans(4, metric="cosine", random_state=0).fit(np.ldexp(X, exponents[:, None]))
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=0, atol=1e-15)


def test_kmeans_plus_plus_recovers_the_directions():
    metrics = pytest.importorskip("sklearn.metrics")
    adjusted_rand_score = metrics.adjusted_rand_score

    X, truth = directions(1000, 32, 8, seed=6)
    km = KMeans(8, metric="cosine", n_init=3, random_state=0).fit(X)
    assert adjusted_rand_score(truth, km.labels_) > 0.99


def test_extreme_magnitudes():
    X, _ = directions(200, 6, 3, seed=7)
    a = KMeans(3, metric="cosine", random_state=0).fit(X)
    for exponent in (-1000, 1000):
        b = KMeans(3, metric="cosine", random_state=0).fit(np.ldexp(X, exponent))
        np.testing.assert_array_equal(a.labels_, b.labels_)
        np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, atol=1e-14)
        assert b.inertia_ == pytest.approx(a.inertia_, rel=1e-12)


@pytest.mark.parametrize("scale", TINY_AND_HUGE)
@pytest.mark.parametrize("cls", [KMeans, MiniBatchKMeans])
@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_rows_of_any_norm_read_as_their_directions(kind, cls, scale):
    # #15: next to ||c||^2 = 1, -2 x.c was lost to rounding below norms of 1e-15
    # (hundreds of 3000 rows mislabelled at 1e-16, one cluster at 1e-18)
    X, _ = directions(1500, 12, 5, seed=17)
    make = np.asarray if kind == "dense" else sparse.csr_array
    one = cls(5, metric="cosine", random_state=0).fit(make(X))
    other = cls(5, metric="cosine", random_state=0).fit(make(X * scale))
    assert_scale_free(one, other, scale)
    np.testing.assert_array_equal(other.predict(make(X * scale)), one.labels_)
    assert other.score(make(X * scale)) == pytest.approx(one.score(make(X)), rel=1e-12)
    np.testing.assert_allclose(
        other.transform(make(X * scale)), one.transform(make(X)), rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("scale", [2.0**-40, 1e-9])
def test_float32_rows_of_any_norm_read_as_their_directions(scale):
    # float32 centres have ||c||^2 = 1 to 1e-7: 1 - 2 x.c lost rows below ~1e-7
    X, _ = directions(1500, 12, 5, seed=18, dtype=np.float32)
    one = KMeans(5, metric="cosine", random_state=0).fit(X)
    other = KMeans(5, metric="cosine", random_state=0).fit(X * np.float32(scale))
    assert_scale_free(one, other, scale, atol=1e-6)


def test_every_array_library_reads_rows_of_any_norm(space):
    X, _ = directions(600, 8, 4, seed=19)
    one = KMeans(4, metric="cosine", random_state=0).fit(space.to(X))
    for scale in TINY_AND_HUGE:
        other = KMeans(4, metric="cosine", random_state=0).fit(space.to(X * scale))
        assert_scale_free(one, other, scale, space.host)
        np.testing.assert_allclose(
            space.host(other.transform(space.to(X * scale))),
            space.host(one.transform(space.to(X))),
            rtol=0,
            atol=1e-12,
        )


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**20),
    exponent=st.floats(-250, 250),
    power_of_two=st.booleans(),
)
def test_invariant_to_a_scale_of_any_magnitude(seed, exponent, power_of_two):
    X, _ = directions(150, 5, 4, seed=seed)
    scale = 2.0 ** round(exponent * 3.32) if power_of_two else 10.0**exponent
    one = KMeans(4, metric="cosine", random_state=seed).fit(X)
    other = KMeans(4, metric="cosine", random_state=seed).fit(X * scale)
    assert_scale_free(one, other, scale)
    np.testing.assert_allclose(one.transform(X), other.transform(X * scale), atol=1e-12)


def exact_directions(dtype, seed=23):
    """directions() rounded to multiples of 1/16 (no row of zeros): every row times
    any power of two that keeps its largest entry finite stays exact, down into
    the subnormal numbers."""
    X, _ = directions(400, 6, 4, seed=seed)
    X = np.round(X * 16) / 16
    X[~X.any(axis=1), 0] = 1.0
    return X.astype(dtype)


# per-row powers of two, from rows of subnormal entries to rows of entries near
# the dtype's largest number
EXTREME_EXPONENTS = {np.float64: (-1060, 1010), np.float32: (-140, 118)}
# a row of 8s times this power of two: entries of 2**1023 (2**127), a norm
# beyond the dtype's largest number
BEYOND_EXPONENT = {np.float64: 1020, np.float32: 124}


def far_rows(dtype, seed=3):
    """exact_directions() and the same rows, each times its own power of two;
    row 4, of 8s, with a norm beyond the dtype's largest number."""
    X = exact_directions(dtype)
    X[4] = 8
    low, high = EXTREME_EXPONENTS[dtype]
    exponents = np.random.default_rng(seed).integers(low, high, len(X))
    exponents[:5] = low, high, 0, low, BEYOND_EXPONENT[dtype]
    far = np.ldexp(X, exponents[:, None]).astype(dtype)
    assert np.isfinite(far).all()
    return X, far


@pytest.mark.parametrize("refine", [None, "swap"])
@pytest.mark.parametrize("make", [np.asarray, sparse.csr_array])
def test_rows_of_extreme_norms_side_by_side(make, dtype, refine):
    # a fit once divided X by a single power of two taken from its largest value:
    # rows of norm 1e-310 beside rows of norm 1 gave NaN centres (1/||x|| = inf),
    # rows of 1e-300 beside 1e300 were called rows of zeros, float32 rows of 1e-28
    # beside one of 1e13 were mislabelled (their products lost to subnormals)
    X, far = far_rows(dtype)
    far = make(far)
    one = KMeans(4, metric="cosine", random_state=0, refine=refine).fit(make(X))
    other = KMeans(4, metric="cosine", random_state=0, refine=refine).fit(far)
    np.testing.assert_array_equal(other.labels_, one.labels_)
    assert other.n_iter_ == one.n_iter_
    atol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(other.cluster_centers_, one.cluster_centers_, atol=atol)
    assert other.inertia_ == pytest.approx(one.inertia_, rel=atol)
    np.testing.assert_array_equal(one.predict(far), one.labels_)
    np.testing.assert_allclose(one.transform(far), one.transform(make(X)), atol=atol)
    assert one.score(far) == pytest.approx(one.score(make(X)), rel=atol)


@pytest.mark.parametrize("make", [np.asarray, sparse.csr_array])
def test_minibatch_rows_of_extreme_norms(make, dtype):
    # MiniBatchKMeans read rows unscaled: a float32 row whose norm passed
    # float32's largest number became a row of zeros, and a zero centre
    X = exact_directions(dtype, seed=24)
    low, high = EXTREME_EXPONENTS[dtype]
    exponents = np.random.default_rng(4).integers(low, high, len(X))
    far = make(np.ldexp(X, exponents[:, None]).astype(dtype))
    params = {"metric": "cosine", "random_state": 0, "batch_size": 64}
    one = MiniBatchKMeans(4, **params).fit(make(X))
    other = MiniBatchKMeans(4, **params).fit(far)
    np.testing.assert_array_equal(other.labels_, one.labels_)
    atol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(other.cluster_centers_, one.cluster_centers_, atol=atol)
    assert_unit(other.cluster_centers_, dtype)
    partial = MiniBatchKMeans(4, **params).partial_fit(far).partial_fit(far)
    assert np.isfinite(partial.cluster_centers_).all()
    assert_unit(partial.cluster_centers_, dtype)


@pytest.mark.parametrize("exponent", [-170, 200])
def test_initial_centres_beyond_the_datas_dtype(exponent):
    # a float64 init of 1e60 cast to float32 data became inf, then NaN centres:
    # the fit started from other centres, silently
    X = exact_directions(np.float32)
    init = np.eye(4, 6)
    one = KMeans(4, metric="cosine", init=init).fit(X)
    other = KMeans(4, metric="cosine", init=np.ldexp(init, exponent)).fit(X)
    np.testing.assert_array_equal(other.labels_, one.labels_)
    np.testing.assert_array_equal(other.cluster_centers_, one.cluster_centers_)
    mini = MiniBatchKMeans(4, metric="cosine", init=np.ldexp(init, exponent), n_init=1)
    assert np.isfinite(mini.fit(X).cluster_centers_).all()


def test_initial_centre_of_a_norm_beyond_float64():
    # its norm is inf in float64: its direction must still be read
    X = exact_directions(np.float64)
    init = np.eye(4, 6)
    init[0] = 8
    one = KMeans(4, metric="cosine", init=init).fit(X)
    far = init.copy()
    far[0] = np.ldexp(8.0, 1020)
    other = KMeans(4, metric="cosine", init=far).fit(X)
    np.testing.assert_array_equal(other.labels_, one.labels_)
    np.testing.assert_array_equal(other.cluster_centers_, one.cluster_centers_)


def test_every_array_library_reads_rows_of_extreme_norms(space, dtype):
    # the device path divided X by one power of two, as memory did: rows of
    # norm 1e-300 beside 1e300 were called zero
    X, far = far_rows(dtype)
    one = KMeans(4, metric="cosine", random_state=0).fit(space.to(X))
    other = KMeans(4, metric="cosine", random_state=0).fit(space.to(far))
    np.testing.assert_array_equal(space.host(other.labels_), space.host(one.labels_))
    atol = 1e-6 if dtype == np.float32 else 1e-14
    centres = [space.host(m.cluster_centers_) for m in (one, other)]
    np.testing.assert_allclose(*centres, atol=atol)
    labels = space.host(one.labels_)
    np.testing.assert_array_equal(space.host(one.predict(space.to(far))), labels)
    np.testing.assert_allclose(
        space.host(one.transform(space.to(far))),
        space.host(one.transform(space.to(X))),
        atol=atol,
    )


def test_jax_reads_rows_of_subnormal_norm(dtype):
    # XLA flushes subnormal numbers to zero: a row of norm 1e-42 (float32) or
    # 1e-320 (float64), measured on the host, was then called zero on the device
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)  # float64, as NumPy
    tiny = np.finfo(dtype).smallest_subnormal * 64
    X = np.array([[tiny, 0], [0, 1], [1, 1], [1, 0.9]], dtype)
    one = KMeans(2, metric="cosine", random_state=0).fit(X)
    other = KMeans(2, metric="cosine", random_state=0).fit(jax.numpy.asarray(X))
    np.testing.assert_array_equal(np.asarray(other.labels_), one.labels_)
    got = one.predict(jax.numpy.asarray(X))
    np.testing.assert_array_equal(np.asarray(got), one.labels_)
    X, far = far_rows(dtype)
    one = KMeans(4, metric="cosine", random_state=0).fit(jax.numpy.asarray(X))
    other = KMeans(4, metric="cosine", random_state=0).fit(jax.numpy.asarray(far))
    np.testing.assert_array_equal(np.asarray(other.labels_), np.asarray(one.labels_))


def test_dask_reads_rows_of_extreme_norms(dtype):
    # a dask fit of such rows raised a TypeError from inside its statistics
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    X, far = far_rows(dtype)
    one = KMeans(4, metric="cosine", random_state=0).fit(X)
    with dask.config.set(scheduler="synchronous"):
        other = KMeans(4, metric="cosine", init=one.cluster_centers_)
        other.fit(da.from_array(far, chunks=150))
        labels = other.labels_.compute()
        np.testing.assert_array_equal(labels, one.labels_)
        atol = 1e-6 if dtype == np.float32 else 1e-14
        np.testing.assert_allclose(other.cluster_centers_, one.cluster_centers_, atol=atol)
        np.testing.assert_array_equal(one.predict(da.from_array(far, chunks=150)), labels)


def test_float32_small_weights_of_long_rows_are_not_lost():
    # w / ||x|| of a row of norm 2**39 with weight 1e-34 underflowed to zero in
    # float32: its cluster looked empty and was moved
    X = np.array([[1, 0.05], [1, -0.05], [0.05, 1], [-0.05, 1], [1, 1]], np.float32)
    w = np.array([1, 1, 1e-34, 1e-34, 1])
    init = np.array([[1.0, 0.0], [0.0, 1.0]])
    one = KMeans(2, metric="cosine", init=init).fit(X, sample_weight=w)
    far = X.copy()
    far[2:4] *= np.float32(2.0**39)
    other = KMeans(2, metric="cosine", init=init).fit(far, sample_weight=w)
    np.testing.assert_array_equal(other.labels_, [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(other.labels_, one.labels_)
    np.testing.assert_allclose(other.cluster_centers_, one.cluster_centers_, atol=1e-6)


# -- data kinds ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csr_matrix", "csr_array", "csc_matrix"])
def test_sparse_same_as_dense(fmt, dtype):
    X, _ = directions(500, 20, 5, seed=8, dtype=dtype)
    X[np.random.default_rng(8).random(X.shape) < 0.6] = 0
    X = X[np.abs(X).sum(axis=1) > 0]
    S = getattr(sparse, fmt)(X)
    dense = KMeans(5, metric="cosine", random_state=1).fit(X)
    fitted = KMeans(5, metric="cosine", random_state=1).fit(S)
    np.testing.assert_array_equal(dense.labels_, fitted.labels_)
    assert dense.n_iter_ == fitted.n_iter_
    atol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(dense.cluster_centers_, fitted.cluster_centers_, atol=atol)
    np.testing.assert_allclose(dense.transform(X), fitted.transform(S), atol=atol)
    assert dense.score(X) == pytest.approx(fitted.score(S), rel=1e-5)


def test_sparse_is_never_made_dense():
    X = sparse.random(20_000, 4_000, density=0.001, format="csr", random_state=0)
    X = X[np.diff(X.indptr) > 0]
    tracemalloc.start()
    try:
        km = KMeans(8, metric="cosine", random_state=0, max_iter=5).fit(X)
        km.transform(X)
        km.score(X)
        MiniBatchKMeans(8, metric="cosine", random_state=0, max_iter=1).fit(X)
        # the swap's cosines to the own centres once gathered (rows x features)
        # centres: the size of X made dense (610 MiB here)
        KMeans(8, metric="cosine", random_state=0, refine="swap").fit(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_minibatch(dtype):
    metrics = pytest.importorskip("sklearn.metrics")
    adjusted_rand_score = metrics.adjusted_rand_score

    X, truth = directions(6000, 16, 6, seed=9, dtype=dtype)
    km = MiniBatchKMeans(6, metric="cosine", random_state=0, batch_size=512).fit(X)
    assert km.cluster_centers_.dtype == dtype
    assert_unit(km.cluster_centers_, dtype)
    assert adjusted_rand_score(truth, km.labels_) > 0.95
    full = KMeans(6, metric="cosine", random_state=0).fit(X)
    assert km.inertia_ <= 1.02 * full.inertia_
    assert km.score(X) == pytest.approx(-km.inertia_, rel=1e-5)
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    scaled = X * np.random.default_rng(0).uniform(0.5, 2, (len(X), 1)).astype(dtype)
    other = MiniBatchKMeans(6, metric="cosine", random_state=0, batch_size=512).fit(scaled)
    np.testing.assert_allclose(km.cluster_centers_, other.cluster_centers_, atol=1e-4)


def test_minibatch_partial_fit_and_sparse():
    X, _ = directions(2000, 10, 4, seed=10)
    init = X[:4]
    dense = MiniBatchKMeans(4, metric="cosine", init=init)
    fitted = MiniBatchKMeans(4, metric="cosine", init=init)
    for lo in range(0, len(X), 500):
        dense.partial_fit(X[lo : lo + 500])
        fitted.partial_fit(sparse.csr_array(X[lo : lo + 500]))
    assert_unit(dense.cluster_centers_, np.float64)
    np.testing.assert_allclose(dense.cluster_centers_, fitted.cluster_centers_, atol=1e-12)
    np.testing.assert_array_equal(dense.labels_, fitted.labels_)
    # the first step: the normalised sum of each centre's unit rows
    one = MiniBatchKMeans(4, metric="cosine", init=init).partial_fit(X[:500])
    unit = X[:500] / np.linalg.norm(X[:500], axis=1, keepdims=True)
    labels = np.argmax(unit @ (init / np.linalg.norm(init, axis=1, keepdims=True)).T, 1)
    j = np.argmax(np.bincount(labels))
    cj = unit[labels == j].sum(axis=0)  # the initial centre has seen no weight yet
    np.testing.assert_allclose(one.cluster_centers_[j], cj / np.linalg.norm(cj), atol=1e-13)


def test_dask_arrays_same_as_numpy():
    # more in tests/test_dask.py (test_cosine_*)
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    X, _ = directions(500, 6, 3, seed=15)
    init = X[:3]
    expected = KMeans(3, init=init, metric="cosine").fit(X)
    with dask.config.set(scheduler="synchronous"):
        got = KMeans(3, init=init, metric="cosine").fit(da.from_array(X, chunks=150))
        np.testing.assert_array_equal(got.labels_.compute(), expected.labels_)
        assert got.n_iter_ == expected.n_iter_
        np.testing.assert_allclose(
            got.cluster_centers_, expected.cluster_centers_, atol=1e-12
        )
        assert got.inertia_ == pytest.approx(expected.inertia_, rel=1e-12)


def test_every_array_library_same_as_numpy(space):
    # the array API path (more in tests/test_array_api.py, test_cosine_*)
    X, _ = directions(400, 6, 3, seed=16)
    init = X[:3]
    expected = KMeans(3, init=init, metric="cosine").fit(X)
    km = KMeans(3, init=init, metric="cosine").fit(space.to(X))
    np.testing.assert_array_equal(space.host(km.labels_), expected.labels_)
    assert km.n_iter_ == expected.n_iter_
    np.testing.assert_allclose(
        space.host(km.cluster_centers_), expected.cluster_centers_, atol=1e-12
    )
    assert km.inertia_ == pytest.approx(expected.inertia_, rel=1e-12)
    np.testing.assert_allclose(
        space.host(km.transform(space.to(X))), expected.transform(X), atol=1e-12
    )


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [KMeans, MiniBatchKMeans])
def test_metric_typo(cls):
    with pytest.raises(
        InvalidParameterError,
        match="'metric' parameter of .* among {'cosine', 'euclidean'}",
    ):
        cls(2, metric="cosin").fit(np.eye(3))


@pytest.mark.parametrize("make", [np.asarray, sparse.csr_array])
def test_zero_rows_are_refused(make):
    X = make(np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match=r"1 row\(s\) of X are all zeros \(rows 1\)"):
        KMeans(2, metric="cosine").fit(X)
    with pytest.raises(ValueError, match="zeros"):
        MiniBatchKMeans(2, metric="cosine", random_state=0).fit(X)
    km = KMeans(2, metric="cosine", random_state=0).fit(make(np.eye(2)))
    for method in (km.predict, km.transform, km.score):
        with pytest.raises(ValueError, match="all zeros"):
            method(X)


@pytest.mark.parametrize("seed", [0, 1])
def test_minibatch_refuses_zero_rows_whatever_it_draws(seed):
    # only the rows of the init subsample and of the batches drawn were read: a
    # zero row passed or not by the seed, and was named by its place in the
    # subsample
    X = np.random.default_rng(0).standard_normal((2000, 4))
    X[[7, 1234]] = 0
    mini = MiniBatchKMeans(
        3, metric="cosine", random_state=seed, batch_size=100, max_iter=1,
        compute_labels=False, init_size=20,
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"2 row\(s\) of X are all zeros \(rows 7, 1234\)"):
        mini.fit(X)
    with pytest.raises(ValueError, match=r"\(rows 7, 1234\)"):
        MiniBatchKMeans(3, metric="cosine", random_state=seed).partial_fit(X)


@pytest.mark.parametrize("cls", [KMeans, MiniBatchKMeans])
def test_metric_changed_after_fit_is_refused(tmp_path, cls):
    # predict read Euclidean centres as unit ones (labels wrong, 1 - cos clamped
    # to 0), and partial_fit went on from unit centres under another metric
    X = np.array([[1.0, 0], [1, 0.2], [0, 9], [0, 11]])
    model = cls(2, init=np.array([[1.0, 0], [0, 10]]), n_init=1).fit(X)
    model.set_params(metric="cosine")
    for method in (model.predict, model.transform, model.score):
        with pytest.raises(ValueError, match="fitted with metric='euclidean', but its"):
            method(X)
    with pytest.raises(ValueError, match="fit it again, or set metric back"):
        model.save(tmp_path / "m.npz")
    if cls is MiniBatchKMeans:
        with pytest.raises(ValueError, match="fitted with metric='euclidean'"):
            model.partial_fit(X)
    model.set_params(metric="euclidean").save(tmp_path / "m.npz")
    np.testing.assert_array_equal(load(tmp_path / "m.npz").predict(X), model.labels_)
    refit = model.set_params(metric="cosine").fit(X)
    np.testing.assert_array_equal(refit.predict(X), refit.labels_)


def test_zero_initial_centre_is_refused():
    with pytest.raises(ValueError, match="initial centres of non-zero norm"):
        KMeans(2, metric="cosine", init=np.array([[1.0, 0.0], [0.0, 0.0]])).fit(np.eye(2))


@pytest.mark.parametrize("algorithm", ["elkan", "hamerly"])
def test_pruned_algorithms_fall_back_to_lloyd(algorithm):
    X, _ = directions(300, 8, 4, seed=11)
    with pytest.warns(RuntimeWarning, match="metric='cosine'; using 'lloyd'"):
        pruned = KMeans(4, metric="cosine", algorithm=algorithm, random_state=0).fit(X)
    lloyd = KMeans(4, metric="cosine", algorithm="lloyd", random_state=0).fit(X)
    np.testing.assert_array_equal(pruned.cluster_centers_, lloyd.cluster_centers_)


# -- refine="swap": split-and-merge trials -------------------------------------------


def noisy_directions(n_samples, n_features, n_clusters, spread, seed):
    """Rows around random directions, far apart but each row far from its own
    (cosine about 0.55 at spread 1.5), clusters of unequal sizes, rows of
    log-normal lengths: their labels and the true directions."""
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((n_clusters, n_features))
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    sizes = rng.dirichlet(np.full(n_clusters, 2.0))
    labels = rng.choice(n_clusters, size=n_samples, p=sizes)
    X = means[labels] + spread * rng.standard_normal((n_samples, n_features)) / np.sqrt(
        n_features
    )
    return X * rng.lognormal(0, 1, (n_samples, 1)), labels, means


def test_swap_splits_the_cluster_that_holds_two():
    rng = np.random.default_rng(0)
    truth = np.repeat(np.arange(3), 50)
    theta = np.deg2rad([0, 120, 240])[truth] + rng.normal(0, 0.15, truth.size)
    X = np.c_[np.cos(theta), np.sin(theta)] * rng.uniform(0.5, 5, (truth.size, 1))
    # a Lloyd fixed point: two centres share the cluster at 0 degrees, the third
    # sits at 180 degrees, between the two others (cosine 0.5 to both)
    stuck = np.array([[np.cos(0.1), np.sin(0.1)], [np.cos(-0.1), np.sin(-0.1)], [-1, 0]])
    plain = KMeans(3, metric="cosine", init=stuck).fit(X)
    swap = KMeans(3, metric="cosine", init=stuck, refine="swap", random_state=0).fit(X)
    assert len(set(zip(plain.labels_, truth))) == 4  # two clusters merged, one split
    assert len(set(zip(swap.labels_, truth))) == 3  # the truth, up to the numbering
    # the first trial (merge one of the centres at 0 degrees, split the cluster at
    # 180) is kept; under refine_iter="auto" the trials stop after k rejected in
    # a row
    assert swap.n_swaps_ == 1 and swap.n_swap_trials_ == 1 + 3
    assert swap.inertia_ < plain.inertia_
    angles = np.rad2deg(np.arctan2(*swap.cluster_centers_.T[::-1])) % 360
    np.testing.assert_allclose(np.sort(angles), [0, 120, 240], atol=5)
    # an explicit number of trials: no early stop, but each pair is tried once
    # since the last kept trial (3 x 2 pairs)
    options = {"metric": "cosine", "init": stuck, "refine": "swap", "random_state": 0}
    for seed in range(5):  # the power iteration's start: the halves' order
        more = KMeans(3, **{**options, "random_state": seed}, refine_iter=50).fit(X)
        assert more.n_swaps_ == 1 and more.n_swap_trials_ == 1 + 3 * 2
        assert len(set(zip(more.labels_, truth))) == 3
    assert KMeans(3, **options, refine_iter=1).fit(X).n_swap_trials_ == 1


def test_swap_tries_the_pair_of_highest_estimate_first(monkeypatch):
    # a trial's estimate: the split's gain less the merge's cost, both with no
    # row moving (the triangle inequality: gains and costs are >= 0)
    from kmeans._core import cosine_swap

    X, _, _ = noisy_directions(600, 8, 5, 0.8, 3)
    centers = KMeans(5, metric="cosine", random_state=0).fit(X).cluster_centers_
    scale = 1 / np.linalg.norm(X, axis=1)
    state = cosine_swap._Sphere(X, None, scale, centers, None)
    costs = state.merge_costs()
    for a in range(5):
        merged = [
            np.linalg.norm(state.sums[a]) + np.linalg.norm(state.sums[b])
            - np.linalg.norm(state.sums[a] + state.sums[b])
            for b in range(5) if b != a
        ]  # fmt: skip
        assert costs[a] == pytest.approx(min(merged), rel=1e-9)
    rng = np.random.default_rng(7)
    cuts = [state.split(c, rng) for c in range(5)]
    gains = np.array([gain for _, gain in cuts])
    assert (gains >= 0).all() and (costs >= 0).all()
    for halves, _ in cuts:
        np.testing.assert_allclose(np.linalg.norm(halves, axis=1), 1)
    estimate = gains[None, :] - costs[:, None]
    np.fill_diagonal(estimate, -np.inf)
    tried = []
    monkeypatch.setattr(
        cosine_swap._Sphere, "trial", lambda self, a, c, halves: tried.append((a, c))
    )
    swap = cosine_swap.spherical_swap(
        X, None, scale, centers, np.random.default_rng(7), max_trials=None, patience=4
    )
    assert swap.n_trials == 4 and swap.n_accepted == 0
    best = np.argsort(-estimate, axis=None, kind="stable")[:4]
    assert tried == [divmod(int(i), 5) for i in best]


@pytest.mark.parametrize("seed", range(4))
def test_swap_never_raises_the_objective(seed):
    X, _, _ = noisy_directions(3000, 64, 12, 1.5, seed)
    plain = KMeans(12, metric="cosine", random_state=seed).fit(X)
    swap = KMeans(12, metric="cosine", random_state=seed, refine="swap").fit(X)
    assert swap.inertia_ <= plain.inertia_
    assert 12 <= swap.n_swap_trials_ <= 6 * 12  # k rejected in a row end them
    assert_unit(swap.cluster_centers_, np.float64)
    np.testing.assert_array_equal(swap.predict(X), swap.labels_)
    assert swap.score(X) == pytest.approx(-swap.inertia_, rel=1e-12)


def test_swap_finds_the_directions_lloyd_misses():
    X, _, means = noisy_directions(3000, 64, 12, 1.5, 1)
    plain = KMeans(12, metric="cosine", random_state=1).fit(X)
    swap = KMeans(12, metric="cosine", random_state=1, refine="swap").fit(X)
    assert centroid_index(plain.cluster_centers_, means) >= 2
    assert centroid_index(swap.cluster_centers_, means) == 0
    assert swap.inertia_ < plain.inertia_ * 0.97


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_swap_sparse_same_as_dense(dtype):
    X, _, _ = noisy_directions(2000, 32, 8, 1.5, 5)
    X = X.astype(dtype)
    X[np.random.default_rng(0).random(X.shape) < 0.3] = 0
    weights = np.random.default_rng(1).integers(0, 3, len(X)).astype(dtype)
    dense = KMeans(8, metric="cosine", random_state=0, refine="swap")
    dense.fit(X, sample_weight=weights)
    csr = KMeans(8, metric="cosine", random_state=0, refine="swap")
    csr.fit(sparse.csr_array(X), sample_weight=weights)
    assert dense.n_swaps_ == csr.n_swaps_
    np.testing.assert_array_equal(dense.labels_, csr.labels_)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    assert dense.inertia_ == pytest.approx(csr.inertia_, rel=rtol)


# -- threads, persistence, command line ---------------------------------------------------


@pytest.mark.parametrize(
    "kind", ["dense", "sparse", "minibatch", "dense-swap", "sparse-swap"]
)
def test_same_bits_whatever_the_thread_count(monkeypatch, kind):
    X, _ = directions(30_000, 16, 12, seed=12)
    if kind.startswith("sparse"):
        X[np.random.default_rng(0).random(X.shape) < 0.5] = 0
        X = sparse.csr_array(X[np.abs(X).sum(axis=1) > 0])
    weights = np.random.default_rng(1).uniform(0.5, 2, X.shape[0])
    results = []
    for n_threads in (1, 2, 3):
        monkeypatch.setenv("KMEANS_NUM_THREADS", str(n_threads))
        assert effective_n_threads() == n_threads
        if kind == "minibatch":
            est = MiniBatchKMeans(12, metric="cosine", random_state=3, batch_size=4096)
        else:
            refine = "swap" if kind.endswith("swap") else None
            est = KMeans(
                12, metric="cosine", n_init=2, random_state=3, max_iter=30, refine=refine
            )
        results.append(est.fit(X, sample_weight=weights))
    for other in results[1:]:
        np.testing.assert_array_equal(results[0].cluster_centers_, other.cluster_centers_)
        np.testing.assert_array_equal(results[0].labels_, other.labels_)
        assert results[0].inertia_ == other.inertia_


@pytest.mark.parametrize("cls", [KMeans, MiniBatchKMeans])
def test_save_and_load(tmp_path, cls):
    X, _ = directions(300, 8, 4, seed=13)
    km = cls(4, metric="cosine", random_state=0).fit(X)
    km.save(tmp_path / "model.npz")
    loaded = load(tmp_path / "model.npz")
    assert loaded.metric == "cosine"
    np.testing.assert_array_equal(loaded.predict(X), km.predict(X))
    np.testing.assert_array_equal(loaded.transform(X), km.transform(X))


def test_command_line(tmp_path):
    X, _ = directions(120, 3, 3, seed=14)
    np.savetxt(tmp_path / "rows.csv", X, delimiter=",", header="a,b,c", comments="")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "kmeans", "fit", "rows.csv", "-k", "3", "--seed", "0"]
    result = subprocess.run(
        [*command, "--metric", "cosine", "-o", "out"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    model = load(tmp_path / "out" / "rows-model.npz")
    assert model.metric == "cosine"
    assert_unit(model.cluster_centers_, np.float64)
    bad = subprocess.run(
        [*command, "--metric", "cos"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert bad.returncode == 2 and "invalid choice: 'cos'" in bad.stderr


@pytest.mark.parametrize("kind", ["dense", "csr"])
@pytest.mark.parametrize("Estimator", [KMeans, MiniBatchKMeans])
def test_float32_rows_of_subnormal_norm(kind, Estimator):
    # 1/||x|| of such a row is beyond float32: its weight in the sums of unit rows
    # overflowed (inf, then NaN sums and other labels than float64's, with warnings)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    X[0] = [1e-40, 0, 0]
    init = X[[1, 2]].astype(np.float64)
    data = {"dense": X, "csr": sparse.csr_array(X)}[kind]
    options = {"init": init, "metric": "cosine", "max_iter": 50}
    if Estimator is KMeans:
        options["n_init"] = 1
    else:
        options.update(batch_size=60, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model = Estimator(2, **options).fit(data)
    reference = Estimator(2, **options).fit(X.astype(np.float64))
    np.testing.assert_array_equal(model.labels_, reference.labels_)
    np.testing.assert_allclose(
        model.cluster_centers_, reference.cluster_centers_, atol=1e-5
    )
    assert model.inertia_ == pytest.approx(reference.inertia_, rel=1e-5)


def _tfidf_like(n_samples, n_features, seed=0):
    """CSR rows of a large vocabulary, none of zeros."""
    X = sparse.random(n_samples, n_features, density=5e-4, format="csr", random_state=seed)
    rows = np.arange(n_samples)
    extra = sparse.csr_matrix((np.ones(n_samples), (rows, rows % 50)), X.shape)
    return (X + extra).tocsr()


def test_sparse_empty_cluster_and_reassignment_stay_sparse():
    # relocating an empty cluster gathered each block's own centres, dense
    # (block x features: 1.3 GB at 20,000 x 10,000); MiniBatchKMeans made the
    # reassigned batch rows dense
    X = _tfidf_like(20_000, 20_000)
    init = X[:8].toarray()
    init[7] = init[0]  # a tie: centre 7 gets no row in the first pass
    tracemalloc.start()
    try:
        KMeans(8, metric="cosine", init=init, max_iter=3).fit(X)
        mini = MiniBatchKMeans(8, metric="cosine", random_state=0, batch_size=4096)
        mini.set_params(reassignment_ratio=0.5, max_iter=1).fit(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 60 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_sparse_partition_sums_are_bounded(monkeypatch):
    # every partition keeps (k, d + 1) float64 sums: for a large vocabulary the
    # number of partitions is cut to keep them within a budget, with the same
    # result whatever the threads
    from kmeans._core import update

    assert update.sum_partitions(100, 100_000, 32) == 3
    assert update.sum_partitions(8, 100, 32) == 32
    monkeypatch.setattr(update, "_PARTITION_SUMS_BYTES", 1)
    X, _ = directions(3000, 12, 4, seed=31)
    X[np.abs(X) < 2] = 0
    X = X[np.abs(X).sum(axis=1) > 0]
    dense = KMeans(4, metric="cosine", random_state=0).fit(X)
    for threads in ("1", "2"):
        monkeypatch.setenv("KMEANS_NUM_THREADS", threads)
        got = KMeans(4, metric="cosine", random_state=0).fit(sparse.csr_array(X))
        np.testing.assert_array_equal(got.labels_, dense.labels_)
        np.testing.assert_allclose(got.cluster_centers_, dense.cluster_centers_, atol=1e-12)
