"""centroid_index on pairs of centroid sets counted by hand."""

import re

import numpy as np
import pytest

from kmeans import centroid_index

TRUTH = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [30.0, 0.0]])


@pytest.mark.parametrize(
    "found, expected",
    [
        (TRUTH, 0),
        (TRUTH[::-1] + 0.4, 0),  # order and small offsets do not matter
        ([[0, 0], [1, 0], [20, 0], [30, 0]], 1),  # two centres at 0, none at 10
        ([[0, 0], [1, 0], [2, 0], [30, 0]], 2),  # three at 0: 10 and 20 missed
        ([[0, 0], [1, 0], [29, 0], [30, 0]], 2),
        ([[15, 0], [15, 1], [15, 2], [15, 3]], 3),  # everything on one spot
    ],
)
def test_by_hand(found, expected, dtype):
    found = np.asarray(found, dtype=dtype)
    assert centroid_index(found, TRUTH) == expected
    assert centroid_index(TRUTH, found) == expected  # symmetric


def test_sets_of_different_sizes():
    # every true centroid is someone's nearest one way; two are orphans the other
    assert centroid_index([[0, 0], [30, 0]], TRUTH) == 2
    assert centroid_index(TRUTH[:3], TRUTH) == 1


def test_ties_go_to_the_first_centroid():
    # [5, 0] is as near to 0 as to 10: it maps to 0, leaving 10 an orphan
    assert centroid_index([[0, 0], [5, 0]], [[0, 0], [10, 0]]) == 1


def test_random_sets_agree_with_a_plain_count():
    rng = np.random.default_rng(0)
    for _ in range(20):
        A, B = rng.normal(size=(7, 3)), rng.normal(size=(9, 3))

        def orphans(P, Q):
            nearest = [int(np.argmin(((Q - p) ** 2).sum(1))) for p in P]
            return len(Q) - len(set(nearest))

        assert centroid_index(A, B) == max(orphans(A, B), orphans(B, A))


def test_bad_inputs():
    with pytest.raises(ValueError, match=re.escape("same number of features")):
        centroid_index(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Expected 2D array"):
        centroid_index([1.0, 2.0], TRUTH)
    with pytest.raises(ValueError, match="Input B contains NaN"):
        centroid_index(TRUTH, [[np.nan, 0.0]])
