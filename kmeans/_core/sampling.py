"""Weighted random draws of rows: every random choice of a row in the library.

Seeds, reassigned and swapped centres, k-means++ candidates and minibatches are
all drawn here, with probability proportional to a weight (a sample weight, or a
weight times a squared distance). A row of zero weight is never drawn.
"""

from __future__ import annotations

import numpy as np


def weighted_choice(rng, weights, n_samples: int, size=None, replace: bool = True):
    """``size`` rows of ``n_samples`` (one index for None) in proportion to
    ``weights`` (uniform for None), through ``Generator.choice``."""
    # Always with explicit probabilities: Generator.choice draws differently
    # without them, and equal weights must give the same seeds as no weights.
    if weights is None:
        p = np.full(n_samples, 1.0 / n_samples)
    else:
        p = weights / weights.sum(dtype=np.float64)
    return rng.choice(n_samples, size=size, replace=replace, p=p)


class CumulativeSampler:
    """Draws with replacement in proportion to ``weights``, from their cumulative
    sums computed once: a draw costs O(size log n), not O(n). ``total`` is the
    summed weight (a sampler of total zero cannot draw)."""

    def __init__(self, weights):
        self.cumulative = np.cumsum(weights, dtype=np.float64)
        self.total = self.cumulative[-1]
        # a target rounded up to the total goes to the last row of positive weight
        self.last = int(np.searchsorted(self.cumulative, self.total, side="left"))

    def __call__(self, rng, size=None):
        """``size`` indices (one int for None)."""
        targets = rng.random(size) * self.total
        # side="right": never a row of zero weight
        indices = np.searchsorted(self.cumulative, targets, side="right")
        if size is None:
            return min(int(indices), self.last)
        return np.minimum(indices, self.last, out=indices)
