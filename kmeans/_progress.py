"""What a fit reports while it runs: the per-iteration record, progress (a tqdm
bar or plain lines) and the user's callback.

The algorithms call one hook after each iteration; :class:`FitMonitor` is that hook,
so that reporting and early stopping share one place and the hot loop stays free of
them. The estimator passes it only when someone listens (``verbose`` or a
``callback``): the per-iteration inertia is not free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["FitMonitor", "IterationInfo"]


@dataclass(frozen=True)
class IterationInfo:
    """What :class:`~kmeans.KMeans` passes to its ``callback`` after each iteration.

    Attributes
    ----------
    run : int
        Index of the run (``0 .. n_init - 1``).
    iteration : int
        Index of the iteration within the run, from 0.
    inertia : float
        Weighted sum of squared distances of the samples to the centres they were
        assigned to in this iteration, i.e. to the centres *before* the update
        (``metric="cosine"``: of ``1 - cos``).
        NaN for ``algorithm="elkan"`` and ``"hamerly"``, whose bounds spare the
        distances it needs.
    center_shift : float
        Summed squared movement of the centres in this iteration (what ``tol``,
        scaled by the mean feature variance, of the unit rows for
        ``metric="cosine"``, is compared with).
    n_reassigned : int
        Number of samples whose label changed; at iteration 0 every sample counts.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans import KMeans
    >>> X = np.array([[0.0], [1.0], [10.0], [11.0]])
    >>> seen = []
    >>> km = KMeans(2, init=np.array([[0.0], [1.0]]), callback=seen.append).fit(X)
    >>> [(info.iteration, round(info.inertia, 2), info.n_reassigned) for info in seen]
    [(0, 181.0, 4), (1, 21.56, 1), (2, 1.0, 0)]

    Returning True stops the fit; the result is still consistent:

    >>> def stop_after_two(info):
    ...     return info.iteration == 1
    >>> km = KMeans(2, init=np.array([[0.0], [1.0]]), callback=stop_after_two).fit(X)
    >>> km.n_iter_, km.inertia_, km.labels_.tolist()
    (2, 1.0, [0, 0, 1, 1])
    """

    run: int
    iteration: int
    inertia: float
    center_shift: float
    n_reassigned: int


def _tqdm():
    """tqdm's notebook-or-terminal bar, or None when tqdm is not installed."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


class FitMonitor:
    """The per-iteration hook of one fit (``scale``: the runs read the data
    divided by ``2**scale``; ``weight_exponent``: the weights divided by
    ``2**weight_exponent``).

    It reports progress when ``verbose`` (a tqdm bar over the runs at
    ``verbose=1`` when tqdm is installed, otherwise one plain line per iteration)
    and calls ``callback``; once the callback returns True, :attr:`stopped` is
    True and the hook tells the run to stop.
    """

    def __init__(
        self,
        n_init: int,
        verbose: int,
        callback: Callable[[IterationInfo], object] | None,
        scale: int = 0,
        weight_exponent: int = 0,
    ):
        self.n_init = n_init
        # the runs see data divided by 2**scale (squared distances by 4**scale)
        # and weights by 2**weight_exponent: the inertia reported is the user's
        self.scale = scale
        self.weight_exponent = weight_exponent
        self.callback = callback
        self.stopped = False
        self.active = bool(verbose) or callback is not None
        self._run = -1
        tqdm = _tqdm() if verbose == 1 else None
        self._lines = bool(verbose) and tqdm is None
        self._bar = None
        if tqdm is not None:
            self._bar = tqdm(total=n_init, unit="run", desc="KMeans", leave=True)

    def start_init(self, run: int) -> None:
        """Called before the initial centres of ``run`` are chosen."""
        self._run = run
        if self._bar is not None:
            self._bar.set_description(f"KMeans run {run + 1}/{self.n_init}: init")

    def start_iterations(self, run: int) -> None:
        """Called once the initial centres of ``run`` are chosen."""
        if self._lines:
            print(f"Initialization complete (run {run + 1} of {self.n_init}).")
        if self._bar is not None:
            self._bar.set_description(f"KMeans run {run + 1}/{self.n_init}")

    def __call__(
        self, *, iteration: int, inertia: float, center_shift: float, n_reassigned: int
    ) -> bool:
        with np.errstate(over="ignore"):
            inertia = np.ldexp(inertia, 2 * self.scale + self.weight_exponent)
            center_shift = np.ldexp(center_shift, 2 * self.scale)
        info = IterationInfo(
            self._run, iteration, float(inertia), float(center_shift), int(n_reassigned)
        )
        known = "" if np.isnan(info.inertia) else f", inertia {inertia:.6g}"
        if self._lines:
            print(f"Iteration {iteration}{known}, {n_reassigned} labels changed.")
        if self._bar is not None:
            self._bar.set_postfix_str(
                f"iter {iteration}{known}, moved {n_reassigned}", refresh=False
            )
            self._bar.update(0)  # redraws at most every mininterval
        if self.callback is not None and self.callback(info):
            self.stopped = True
        return self.stopped

    def end_run(self, n_iter: int, stop_reason: str) -> None:
        """Called when a run has stopped."""
        if self._lines:
            print(f"Stopped at iteration {n_iter - 1}: {stop_reason}.")
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        """End the progress bar, if any."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
