"""The block kernels: fixed partitions, exact agreement with direct computation,
and results that are bit-identical whatever the number of threads."""

import numpy as np
import pytest
from conftest import make_blobs
from hypothesis import given, settings
from hypothesis import strategies as st

from kmeans import KMeans, kmeans_plusplus
from kmeans._core import kernel, update
from kmeans._core.blocks import (
    _BLOCK_BYTES,
    _MAX_BLOCK_ROWS,
    _MIN_BLOCK_ROWS,
    RowBlocks,
    blas_threads,
    column_mean,
    effective_n_threads,
    thread_pool,
)
from kmeans._core.dense import distances, labels_inertia
from kmeans._core.kernel import Float32Screen, augmented_coefficients


@pytest.mark.parametrize("n_samples", [1, 255, 256, 257, 100_000, 1_000_003])
@pytest.mark.parametrize(("width", "n_features"), [(1, 1), (8, 2), (256, 64), (10, 784)])
def test_row_blocks_cover_every_row_once(n_samples, width, n_features):
    blocks = RowBlocks(n_samples, width, n_features, 8, None)
    assert _MIN_BLOCK_ROWS <= blocks.block_rows <= _MAX_BLOCK_ROWS
    assert len(blocks.partitions) <= 32
    rows = [
        (lo, hi)
        for start, stop in blocks.partitions
        for lo, hi in blocks.blocks(start, stop)
    ]
    assert rows[0][0] == 0 and rows[-1][1] == n_samples
    assert all(a[1] == b[0] for a, b in zip(rows, rows[1:]))
    assert all(0 < hi - lo <= blocks.block_rows for lo, hi in rows)


def test_partitions_do_not_depend_on_the_pool():
    with thread_pool(3) as pool:
        assert (
            RowBlocks(500_000, 8, 2, 8, pool).partitions
            == RowBlocks(500_000, 8, 2, 8, None).partitions
        )


def test_block_working_set_is_bounded():
    for width, n_features, itemsize in [(256, 64, 4), (8, 2, 8), (10, 784, 8)]:
        blocks = RowBlocks(10**7, width, n_features, itemsize, None)
        assert blocks.block_rows * (width + n_features) * itemsize <= _BLOCK_BYTES


def test_labels_inertia_and_distances_are_exact(dtype):
    X, _ = make_blobs(40_000, 3, 7, seed=5, dtype=dtype)
    centers = X[:7].copy()
    weight = np.linspace(0.1, 2.0, len(X)).astype(dtype)
    exact = ((X.astype(float)[:, None] - centers.astype(float)) ** 2).sum(-1)
    with thread_pool(2) as pool:
        labels, inertia = labels_inertia(X, centers, weight, pool)
        dist = distances(X, centers, pool)
    np.testing.assert_array_equal(labels, exact.argmin(axis=1))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert inertia == pytest.approx(exact.min(axis=1) @ weight, rel=rtol)
    # distances are computed in float64 whatever the dtype, then rounded once
    np.testing.assert_allclose(dist, np.sqrt(exact), rtol=1e-6, atol=1e-6)


def test_column_mean_accumulates_in_float64():
    X = np.full((100_000, 2), 1e4, np.float32)
    X[::2] += 0.5
    with thread_pool(2) as pool:
        mean = column_mean(X, pool)
    assert mean.dtype == np.float32
    np.testing.assert_array_equal(mean, np.float32(1e4 + 0.25))


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_bit_identical_whatever_the_thread_count(init, dtype, monkeypatch):
    # several partitions (n >> block rows) and empty-cluster-prone random init
    X, _ = make_blobs(120_000, 4, 12, seed=8, spread=3.0, dtype=dtype)
    weight = np.random.default_rng(1).uniform(0.5, 1.5, len(X)).astype(dtype)
    results = []
    for n_threads in (1, 2, 3, 5):
        monkeypatch.setenv("KMEANS_NUM_THREADS", str(n_threads))
        assert effective_n_threads() == n_threads
        km = KMeans(12, init=init, n_init=2, random_state=3, max_iter=30).fit(
            X, sample_weight=weight
        )
        results.append(km)
        seeds, _ = kmeans_plusplus(X, 12, random_state=3)
        results[-1].seeds = seeds
    for other in results[1:]:
        np.testing.assert_array_equal(other.cluster_centers_, results[0].cluster_centers_)
        np.testing.assert_array_equal(other.labels_, results[0].labels_)
        np.testing.assert_array_equal(other.seeds, results[0].seeds)
        assert other.inertia_ == results[0].inertia_
        assert other.n_iter_ == results[0].n_iter_
        np.testing.assert_array_equal(
            other.transform(X[:1000]), results[0].transform(X[:1000])
        )


def _screen_case(case, rng):
    """Rows [x, 1] and centres for the float32 screen, and the rows that must be
    ambiguous (None: some may be)."""
    n_features, n_clusters = 70, 150
    centers = rng.standard_normal((n_clusters, n_features))
    x = rng.standard_normal((600, n_features))
    must = None
    if case == "far from the origin":  # no shift: the bound is wide, ties many
        x += 1e4
        centers += 1e4
    elif case == "tiny":  # float32 underflows: every row falls back
        x *= 1e-30
        centers *= 1e-30
        must = np.arange(len(x))
    elif case == "beyond float32":
        must = np.array([3, 100, 599])
        x[must, 5] = 1e39
    elif case == "overflowing sums":  # inputs in range, partial sums beyond
        centers[:] = 0
        centers[0, :32], centers[0, 32:64] = -5e9, 5e9
        centers[0, 63] += 3e7  # the true nearest, unless its +inf goes unseen
        centers[1, 0] = 1e7
        centers[2:, 64:] = rng.standard_normal((n_clusters - 2, 6)) * 1e9
        must = np.arange(8)
        x[must] = 0
        x[must, :64] = 3e28
        x[must, 64] = must
    elif case == "exact ties":  # small integers, a duplicated centre
        x = rng.integers(-2, 3, x.shape).astype(float)
        centers = rng.integers(-2, 3, centers.shape).astype(float)
        centers[7] = centers[3]
        must = np.arange(20)
        x[must] = centers[3]
    rows = np.hstack([x, np.ones((len(x), 1))])
    return rows, centers, must


@pytest.mark.parametrize(
    "case",
    [
        "normal",
        "far from the origin",
        "tiny",
        "beyond float32",
        "overflowing sums",
        "exact ties",
    ],
)
def test_float32_screen_gives_the_float64_labels(case):
    rows, centers, must = _screen_case(case, np.random.default_rng(4))
    coef = augmented_coefficients(centers, np.float64)
    screen = Float32Screen.for_coefficients(coef)
    assert screen is not None
    with thread_pool(1):
        expected = np.matmul(rows, coef).argmin(axis=1)
    dots = np.empty((len(rows), len(centers)), np.float32)
    # no warning escapes (overflow, inf - inf); underflow is silent by default
    with np.errstate(all="raise", under="ignore"):
        labels, n_ambiguous = screen.labels(rows, dots)
    np.testing.assert_array_equal(labels, expected)
    if case == "normal":
        assert n_ambiguous <= 2
    if must is not None:
        assert n_ambiguous >= len(must) > 0


def test_float32_screen_labels_whatever_the_blas_threads():
    rows, centers, _ = _screen_case("exact ties", np.random.default_rng(5))
    rows[:300] += np.random.default_rng(6).standard_normal((300, rows.shape[1])) * 1e-7
    rows[:, -1] = 1
    screen = Float32Screen.for_coefficients(augmented_coefficients(centers, np.float64))
    dots = np.empty((len(rows), len(centers)), np.float32)
    results = []
    for n_threads in (1, 2, 3):
        with thread_pool(n_threads) as pool, blas_threads(pool):
            results.append(screen.labels(rows, dots)[0])
    for labels in results[1:]:
        np.testing.assert_array_equal(labels, results[0])


def test_float32_screen_only_where_it_pays_and_holds():
    rng = np.random.default_rng(0)
    # the width is that of the rows [x, 1]
    wide = rng.standard_normal((Float32Screen.MIN_CLUSTERS, Float32Screen.MIN_WIDTH - 1))
    assert Float32Screen.for_coefficients(augmented_coefficients(wide, np.float64))
    assert Float32Screen.for_coefficients(augmented_coefficients(wide, np.float32)) is None
    assert Float32Screen.for_coefficients(augmented_coefficients(wide[1:], float)) is None
    narrow = wide[:, 1:]
    assert Float32Screen.for_coefficients(augmented_coefficients(narrow, float)) is None
    wide[0, 0] = 1e20  # ||c||^2 beyond float32's range
    assert Float32Screen.for_coefficients(augmented_coefficients(wide, float)) is None


@pytest.mark.parametrize("value", ["zero", "0", "-2"])
def test_bad_thread_count_setting(value, monkeypatch):
    monkeypatch.setenv("KMEANS_NUM_THREADS", value)
    with pytest.raises(ValueError, match="KMEANS_NUM_THREADS must be"):
        effective_n_threads()


# --- the column layout (narrow data, few centres) ---------------------------------

# blocks of distances (centres by rows) drawn from a few levels: ties, and zeros
DISTANCE_GRIDS = {
    "n_clusters": st.integers(1, 24),
    "n_rows": st.integers(1, 40),
    "dtype": st.sampled_from([np.float32, np.float64]),
    "levels": st.integers(1, 6),
    "seed": st.integers(0, 2**32 - 1),
}


@settings(max_examples=200, deadline=None)
@given(**DISTANCE_GRIDS)
def test_nearest_columns_is_argmin_with_ties_to_the_lowest_index(
    n_clusters, n_rows, dtype, levels, seed
):
    rng = np.random.default_rng(seed)
    # few distinct values: many exact ties, and zeros; far apart in float64's last
    # bits, so that only ties can tell the index from the value
    values = rng.uniform(0, 1e3, levels).round(6).astype(dtype)
    values[0] = 0
    dist = rng.choice(values, size=(n_clusters, n_rows))
    expected_labels = dist.argmin(axis=0)
    expected_sq = dist.min(axis=0)
    labels, nearest_sq = kernel.nearest_columns(dist.copy(), values=True)
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_array_equal(nearest_sq, expected_sq)


@settings(max_examples=200, deadline=None)
@given(**DISTANCE_GRIDS)
def test_nearest_columns_runner_up_is_rounded_down(n_clusters, n_rows, dtype, levels, seed):
    # Hamerly's lower bound: the second smallest (a tie with the nearest counts),
    # never above it; float64 rounded down by the index bits at most
    rng = np.random.default_rng(seed)
    values = rng.uniform(-1e-3, 1e3, levels).astype(dtype)
    values[0] = 0
    dist = rng.choice(values, size=(n_clusters, n_rows))
    labels, nearest_sq, second_sq = kernel.nearest_columns(dist.copy(), second=True)
    clamped = np.maximum(dist, 0)
    np.testing.assert_array_equal(labels, clamped.argmin(axis=0))
    np.testing.assert_array_equal(nearest_sq, clamped.min(axis=0))
    if n_clusters == 1:
        assert np.isinf(second_sq).all()
        return
    expected = np.sort(clamped, axis=0)[1]
    assert second_sq.dtype == dtype and (second_sq <= expected).all()
    bits = max((n_clusters - 1).bit_length(), 1)
    slack = 0.0 if dtype == np.float32 else 2.0 ** (bits - 52)
    assert (second_sq >= expected * (1 - slack)).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nearest_columns_near_ties_and_float32_bits(dtype):
    # float32 keeps every bit: neighbours one ulp apart keep their order; float64
    # gives up its last ceil(log2 k) bits, so one ulp counts as a tie (lowest
    # index) but a relative gap of 2**-40 does not
    base = dtype(7.25)
    up = np.nextafter(base, dtype(np.inf))
    dist = np.array([[up, base, base], [base, up, base]], dtype)
    labels, _ = kernel.nearest_columns(dist.copy())
    np.testing.assert_array_equal(labels, [1, 0, 0] if dtype == np.float32 else [0, 0, 0])
    far = dtype(base * (1 + 2.0**-40)) if dtype == np.float64 else np.nextafter(up, 9)
    dist = np.array([[far, base], [base, far]], dtype)
    np.testing.assert_array_equal(kernel.nearest_columns(dist)[0], [1, 0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nearest_columns_clamps_distances_rounded_below_zero(dtype):
    dist = np.array(
        [[3.0, -1e-30, 0.0, -0.0, 2.0], [-2e-6, -3e-30, -0.0, 0.0, 1e-30]], dtype
    )
    labels, nearest_sq = kernel.nearest_columns(dist.copy())
    # clamped: the first three columns tie at zero (lowest index), -0.0 is zero
    np.testing.assert_array_equal(labels, [1, 0, 0, 0, 1])
    assert (nearest_sq >= 0).all()
    np.testing.assert_array_equal(nearest_sq, np.maximum(dist.min(axis=0), 0))


def _row_layout_only(monkeypatch):
    monkeypatch.setattr(kernel, "COLUMN_MAX_CLUSTERS", 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(("n_features", "n_clusters"), [(1, 3), (2, 8), (3, 20), (8, 24)])
def test_column_layout_gives_the_row_layout_fit(
    dtype, weighted, n_features, n_clusters, monkeypatch
):
    assert kernel.by_columns(n_features, n_clusters)
    X, truth = make_blobs(3000, n_features, n_clusters, seed=n_clusters, dtype=dtype)
    w = np.random.default_rng(1).uniform(0.5, 2, len(X)) if weighted else None
    init = np.stack([X[truth == j][0] for j in range(n_clusters)])

    def fit():
        return KMeans(n_clusters, init=init, n_init=1, algorithm="lloyd").fit(
            X, sample_weight=w
        )

    columns = fit()
    labels = columns.predict(X)
    with monkeypatch.context() as patch:
        _row_layout_only(patch)
        assert not kernel.by_columns(n_features, n_clusters)
        rows = fit()
        np.testing.assert_array_equal(labels, rows.predict(X))
    np.testing.assert_array_equal(columns.labels_, rows.labels_)
    assert columns.n_iter_ == rows.n_iter_
    np.testing.assert_allclose(columns.cluster_centers_, rows.cluster_centers_, rtol=1e-12)
    np.testing.assert_allclose(columns.inertia_, rows.inertia_, rtol=1e-12)


def test_column_layout_on_integer_grid_ties():
    # every row of the grid is equidistant from two or four centres: exact ties,
    # which must go to the lowest index as argmin sends them
    grid = np.stack(np.meshgrid(np.arange(-4, 5), np.arange(-4, 5)), -1).reshape(-1, 2)
    centers = np.array([[-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]])
    labels, _ = labels_inertia(grid.astype(float), centers, None, None)
    exact = ((grid[:, None, :] - centers[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(labels, exact.argmin(axis=1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(
    n_clusters=st.sampled_from([1, 3, 64, 65, 100]),
    n_rows=st.integers(0, 1200),
    n_features=st.sampled_from([1, 3, 4, 32, 256]),
    weighted=st.booleans(),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=50, deadline=None)
def test_move_rows_adds_and_takes_every_row(
    dtype, n_clusters, n_rows, n_features, weighted, seed
):
    # small integers: every sum is exact, whatever the order or the path (bincounts
    # up to 3 features; a sparse product for many rows; else a dense one-hot
    # product up to 64 clusters, add.at and subtract.at beyond)
    rng = np.random.default_rng(seed)
    rows = rng.integers(-50, 50, (n_rows, n_features)).astype(dtype)
    weights = rng.integers(0, 4, n_rows).astype(dtype) if weighted else None
    w = np.ones(n_rows) if weights is None else weights
    new = rng.integers(0, n_clusters, n_rows)
    old = rng.integers(-1, n_clusters, n_rows)  # -1: not assigned yet
    start = rng.integers(-1000, 1000, (n_clusters, n_features + 1)).astype(np.float64)
    expected = start.copy()
    for row, weight, j, i in zip(rows, w, new, old):
        expected[j] += np.append(row * weight, weight)
        if i >= 0:
            expected[i] -= np.append(row * weight, weight)
    sums = start.copy()
    update.move_rows(sums, rows, new, old, weights)
    np.testing.assert_array_equal(sums, expected)
    sums = start.copy()
    update.move_rows(sums, rows, new, weights=weights)
    expected = start.copy()
    np.add.at(expected, new, np.column_stack([rows * w[:, None], w]))
    np.testing.assert_array_equal(sums, expected)


@pytest.mark.parametrize("n_rows", [86, 3000])
@pytest.mark.parametrize(("n_clusters", "n_features"), [(5, 2), (5, 5), (40, 8), (100, 5)])
def test_move_rows_gives_the_same_bits_in_either_memory_layout(
    n_clusters, n_features, n_rows
):
    # Lloyd hands C-ordered rows, the bounds' column layout F-ordered ones: the
    # sums, hence the centres, must not depend on it (3,000 rows: the sparse
    # product at 40 and 100 clusters)
    rng = np.random.default_rng(n_features)
    rows = rng.standard_normal((n_rows, n_features)) * 10
    weights = rng.random(n_rows)
    new, old = rng.integers(0, n_clusters, (2, n_rows))
    by_rows, by_columns = np.zeros((2, n_clusters, n_features + 1))
    update.move_rows(by_rows, np.ascontiguousarray(rows), new, old, weights)
    update.move_rows(by_columns, np.asfortranarray(rows), new, old, weights)
    np.testing.assert_array_equal(by_rows, by_columns)


def test_centres_first_product_is_argmin_on_ties_and_signs():
    # integer rows of 256 features against duplicated and mirrored centres: exact
    # products, exact ties (to the lowest index), -0.0 and negative entries
    rng = np.random.default_rng(0)
    centers = rng.integers(-3, 4, (6, 256)).astype(float)
    centers = np.concatenate([centers, centers[::-1], -centers, np.zeros((1, 256))])
    centers[-1, 0] = -0.0
    X = np.concatenate([centers, rng.integers(-3, 4, (500, 256)).astype(float)])
    assert kernel.by_centres(256, len(centers), np.float64)
    assert not kernel.by_centres(256, len(centers), np.float32)
    labels, _ = labels_inertia(X, centers, None, None)
    exact = ((X[:, None, :] - centers[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(labels, exact.argmin(axis=1))
    neg2_t, c_sq = kernel.centre_terms(centers)
    out = np.empty((len(X), len(centers)))
    first = kernel.partial_sq(X, neg2_t, c_sq, out=out.copy(), centres_first=True)
    np.testing.assert_array_equal(first, kernel.partial_sq(X, neg2_t, c_sq, out=out))


@pytest.mark.parametrize(
    ("n_features", "n_clusters"),
    [(300, 8), (40, 80)],  # centres first and one-hot update; add.at update
)
def test_wide_shapes_bit_identical_whatever_the_thread_count(
    n_features, n_clusters, monkeypatch
):
    X, _ = make_blobs(20_000, n_features, n_clusters, seed=2, spread=4.0)
    fits = []
    for n_threads in (1, 3):
        monkeypatch.setenv("KMEANS_NUM_THREADS", str(n_threads))
        fits.append(
            KMeans(n_clusters, init="random", n_init=1, random_state=0, max_iter=20).fit(X)
        )
    np.testing.assert_array_equal(fits[0].cluster_centers_, fits[1].cluster_centers_)
    np.testing.assert_array_equal(fits[0].labels_, fits[1].labels_)
    assert fits[0].inertia_ == fits[1].inertia_ and fits[0].n_iter_ == fits[1].n_iter_


def test_centres_first_gives_the_row_layout_fit(monkeypatch):
    X, truth = make_blobs(4000, 300, 10, seed=5)
    init = np.stack([X[truth == j][0] for j in range(10)]) + 0.5

    def fit():
        return KMeans(10, init=init, n_init=1, algorithm="lloyd").fit(X)

    first = fit()
    monkeypatch.setattr(kernel, "CENTRES_FIRST_MAX_CLUSTERS", 0)
    rows = fit()
    np.testing.assert_array_equal(first.labels_, rows.labels_)
    assert first.n_iter_ == rows.n_iter_
    np.testing.assert_allclose(first.cluster_centers_, rows.cluster_centers_, rtol=1e-12)
