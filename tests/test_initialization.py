"""k-means++ and random initialisation."""

import numpy as np
import pytest
from conftest import make_blobs

from kmeans import kmeans_plusplus


def test_kmeans_plusplus_returns_distinct_data_rows(dtype):
    X, _ = make_blobs(2000, 3, 10, seed=4, dtype=dtype)
    centers, indices = kmeans_plusplus(X, 10, random_state=0)
    assert centers.shape == (10, 3) and centers.dtype == dtype
    assert indices.shape == (10,) and len(set(indices.tolist())) == 10
    np.testing.assert_array_equal(centers, X[indices])


def test_kmeans_plusplus_finds_every_well_separated_cluster():
    # 25 tight, far-apart blobs: D^2 seeding with local trials hits each one
    grid = np.array([[i, j] for i in range(5) for j in range(5)], float) * 100
    rng = np.random.default_rng(0)
    X = np.repeat(grid, 40, axis=0) + rng.standard_normal((1000, 2))
    for seed in range(10):
        _, indices = kmeans_plusplus(X, 25, random_state=seed)
        assert sorted((indices // 40).tolist()) == list(range(25))


def test_kmeans_plusplus_is_reproducible_and_seed_dependent():
    X, _ = make_blobs(1000, 2, 8)
    a = kmeans_plusplus(X, 8, random_state=1)[1]
    b = kmeans_plusplus(X, 8, random_state=1)[1]
    c = kmeans_plusplus(X, 8, random_state=2)[1]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_zero_weight_rows_are_never_seeds(init):
    from kmeans._core.init import INIT_METHODS

    X, _ = make_blobs(600, 2, 6, seed=6)
    weight = np.zeros(len(X))
    allowed = np.arange(0, 600, 7)
    weight[allowed] = 1.0
    shift = X.mean(axis=0)
    for seed in range(20):
        rng = np.random.default_rng(seed)
        indices = INIT_METHODS[init](X, shift, weight, 6, rng, None)
        assert np.isin(indices, allowed).all()
        assert len(set(indices.tolist())) == 6
    _, indices = kmeans_plusplus(X, 6, sample_weight=weight, random_state=0)
    assert np.isin(indices, allowed).all()


def test_kmeans_plusplus_with_duplicates_still_returns_k_rows():
    X = np.array([[0.0, 0.0]] * 6 + [[5.0, 5.0]] * 6)
    weight = np.r_[np.ones(6), np.zeros(5), 1.0]
    centers, indices = kmeans_plusplus(X, 4, sample_weight=weight, random_state=0)
    assert centers.shape == (4, 2)
    assert weight[indices].min() > 0


def test_first_seed_follows_the_weights():
    X = np.arange(10.0)[:, None]
    weight = np.r_[np.zeros(9), 1.0]
    for seed in range(5):
        _, indices = kmeans_plusplus(X, 1, sample_weight=weight, random_state=seed)
        assert indices.tolist() == [9]


def test_random_init_picks_distinct_rows():
    from kmeans._core.init import random_indices

    X = np.arange(20.0).reshape(10, 2)
    for seed in range(10):
        indices = random_indices(X, 0, None, 10, np.random.default_rng(seed), None)
        assert sorted(indices.tolist()) == list(range(10))


def test_n_local_trials():
    X, _ = make_blobs(500, 2, 5)
    one = kmeans_plusplus(X, 5, random_state=0, n_local_trials=1)[1]
    assert len(set(one.tolist())) == 5
