"""Array API backend: :class:`~kmeans.KMeans` on PyTorch, CuPy, JAX, ... arrays.

The data kind of :mod:`kmeans._backends` for arrays of any library that follows
the Python array API standard (through ``array-api-compat``, the optional extra
``kmeans[array-api]``), computed in the input's namespace ``xp`` and on its
device. Imported only when such an array arrives.

What runs where. Everything that reads X runs on X's device, by **one
assignment kernel** (:func:`_assign`: the product of the rows ``[x - shift, 1]``
of a block by the augmented centre coefficients ``[-2 C^T; ||c||^2]``, as in
:mod:`kmeans._core.kernel`, then ``argmin`` and the minimum) and **one update**
(:func:`_moved_sums`: a one-hot product per block of the rows whose label
changed, added to and taken from per-cluster sums kept on the device, as the
NumPy path does with its scatter-add): no atomics, so the same seed on the same
device gives the same result. Blocks bound the memory: never the whole
n x k distance matrix. No array is modified in place (JAX arrays cannot be).

The host holds what is O(k d): the centres between iterations (in the shifted
frame, NumPy), the per-cluster sums brought back once per iteration (k x (d + 1)
float64), the update from them (:func:`kmeans._core.update.relocate_and_average`,
the NumPy path's own) and the stopping rule (:func:`kmeans._core.lloyd.iterate`,
which takes Python numbers). Random draws use the caller's NumPy Generator on the
host: k-means++ candidates are found by ``searchsorted`` in the device's
cumulative sums of the potentials, and only their indices come back. Sample
weights are copied to the host once per fit (O(n), not O(n d)) when given, for
the first seed and "random" init, drawn as on NumPy. Data of extreme magnitude
(beyond 2**±300 in float64) are read scaled by a power of two, as on NumPy.

metric="cosine" is :class:`CosineArrayAPIKind` (``cosine_twin``): the same run,
relocation and k-means++ on the device, reading ``1/||x||`` per row (computed
once per fit, on the device) as the NumPy path's :mod:`kmeans._core.cosine`
reads it: sums of the unit rows, unit centres, the squared chord ``2 - 2 cos``
for k-means++, ``1 - cos`` for the inertia, ``transform`` and empty clusters.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections import namedtuple
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core import cosine
from .._core.blocks import centres_shift, exact_shift
from .._core.init import greedy_indices
from .._core.lloyd import iterate
from .._core.sampling import weighted_choice
from .._core.update import relocate_and_average
from .._validation import check_enough_weighted_samples, check_random_state, detached
from . import array_library, is_array_api
from .memory import exponent_for

# Elements of the largest block temporary (rows x max(k, d + 1)): 2**24 floats
# is 64 MiB in float32, large enough for a full-speed product on a GPU.
BLOCK_ELEMENTS = 2**24

# X read divided by 2**exponent (extreme magnitudes, as in memory); metric="cosine":
# 1/||x|| per row on the device (and no exponent: nothing is scaled back)
XPData = namedtuple(
    "XPData", "X weights host_weights exponent row_scale", defaults=(0, None)
)


def array_api_compat():
    """The array-api-compat module, or an ImportError that says what to install."""
    try:
        import array_api_compat
    except ImportError:
        raise ImportError(
            "Arrays of libraries other than NumPy need array-api-compat: "
            "pip install 'kmeans-numpy[array-api]' (or pass a NumPy array)."
        ) from None
    return array_api_compat


def to_numpy(x) -> np.ndarray:
    """A NumPy copy of ``x`` (an array of any array-API library, on any device):
    the way every device array comes to the host."""
    if isinstance(x, np.ndarray):
        return x.copy()
    compat = array_api_compat()
    if compat.is_torch_array(x):
        return x.detach().cpu().numpy().copy()
    if compat.is_cupy_array(x):
        return x.get()
    if compat.is_jax_array(x):
        return np.array(x)
    return np.array(np.from_dlpack(x), copy=True)


# Fits on torch tensors running now (threads may run several): torch's float32
# matmul precision is one setting for the process, set to "highest" by the first
# to start and given back to the caller's value by the last to end.
_TORCH_PRECISION = {"lock": threading.Lock(), "running": 0, "before": None}


@contextlib.contextmanager
def _full_precision(xp):
    """float32 matrix products in full float32 precision inside, for JAX (whose
    default on recent GPUs is TF32, 10 bits of mantissa) and PyTorch (whatever
    ``torch.set_float32_matmul_precision`` says): the expanded distance
    ``||c||^2 - 2 x.c`` cancels, and TF32 rounding would move rows between
    clusters. Restored on exit."""
    compat = array_api_compat()
    if compat.is_jax_namespace(xp):
        import jax

        with jax.default_matmul_precision("highest"):  # JAX's own, per thread
            yield None
    elif compat.is_torch_namespace(xp):
        import torch

        state = _TORCH_PRECISION
        with state["lock"]:
            if not state["running"]:
                state["before"] = torch.get_float32_matmul_precision()
                torch.set_float32_matmul_precision("highest")
            state["running"] += 1
        try:
            yield None
        finally:
            with state["lock"]:
                state["running"] -= 1
                if not state["running"]:
                    torch.set_float32_matmul_precision(state["before"])
    else:
        yield None


def kind(X) -> ArrayAPIKind:
    """The data kind of X: its namespace and device."""
    compat = array_api_compat()
    return ArrayAPIKind(compat.array_namespace(X), compat.device(X))


def _blocks(n: int, width: int):
    """Bounds ``(lo, hi)`` of the fixed blocks of rows of a pass whose widest
    temporary has ``width`` columns."""
    rows = max(1, BLOCK_ELEMENTS // max(width, 1))
    return [(lo, min(lo + rows, n)) for lo in range(0, n, rows)]


@dataclass(frozen=True, eq=False)
class ArrayAPIKind:
    """The data-kind interface (see kmeans/_backends/__init__.py) for arrays of
    namespace ``xp`` on ``device``."""

    xp: Any
    device: Any
    algorithms = ("lloyd",)
    init_methods = ("k-means++", "random")

    @property
    def description(self) -> str:
        # the namespace's library: array_api_compat.torch, jax.numpy, cupy, ...
        parts = self.xp.__name__.split(".")
        wrapped = parts[0] == "array_api_compat" and len(parts) > 1
        library = parts[1] if wrapped else parts[0]
        return f"{library} arrays"

    @property
    def cosine_twin(self) -> CosineArrayAPIKind:
        """The kind for metric="cosine" (see kmeans/_backends/cosine.py)."""
        return CosineArrayAPIKind(self.xp, self.device)

    def session(self):
        """Around every use: float32 matrix products in full float32 precision
        (see :func:`_full_precision`)."""
        return _full_precision(self.xp)

    @property
    def _is_jax(self) -> bool:
        """JAX compiles every operation for each new shape (also eagerly), so
        arrays of data-dependent shapes cost a compilation each; and its arrays
        cannot be written."""
        return array_api_compat().is_jax_namespace(self.xp)

    # -- types, devices and the host ---------------------------------------------

    @property
    def has_float64(self) -> bool:
        info = self.xp.__array_namespace_info__()
        return "float64" in info.dtypes(device=self.device, kind="real floating")

    @property
    def wide(self):
        """The dtype of sums and exact distances: float64 where the device has it."""
        return self.xp.float64 if self.has_float64 else self.xp.float32

    @property
    def index(self):
        """The namespace's integer dtype for indices and counts: int32 in JAX
        without ``jax_enable_x64`` (asking it for int64 warns on every use)."""
        info = self.xp.__array_namespace_info__()
        return info.default_dtypes(device=self.device)["indexing"]

    def host_dtype(self, X) -> np.dtype:
        """The NumPy dtype of X's values."""
        return np.dtype(np.float32 if X.dtype == self.xp.float32 else np.float64)

    def to_device(self, a, dtype=None):
        """A host array (NumPy, or a list) on the device, in ``dtype``."""
        return self.xp.asarray(np.asarray(a), dtype=dtype, device=self.device)

    def from_host(self, a):
        """Fitted centres (NumPy) as arrays of X's namespace and device."""
        return self.to_device(a, self.xp.float32 if a.dtype == np.float32 else None)

    def _own(self, a, what: str):
        """``a`` as an array of this namespace and device: NumPy arrays, lists and
        numbers are moved there; arrays of other libraries are refused."""
        if is_array_api(a):
            compat = array_api_compat()
            if compat.array_namespace(a) is not self.xp:
                raise TypeError(
                    f"{what} is an array of {array_library(a)}, but X "
                    f"is one of {self.description}: pass both from one library."
                )
            if compat.device(a) != self.device:
                raise ValueError(
                    f"{what} is on device {compat.device(a)}, X on {self.device}: "
                    "move them to one device."
                )
            return detached(a)
        return self.to_device(a)

    def to_host(self, centers, what: str) -> np.ndarray:
        """Centres given by the user (init, or a callable's result) as NumPy."""
        return to_numpy(self._own(centers, what))

    # -- validation ----------------------------------------------------------------

    def check(self, X, owner: str = "KMeans", name: str = "X"):
        """X validated on its device: 2-D, not empty, finite; real floating dtypes
        kept, integers and booleans converted to float64 (float32 on a device
        without float64)."""
        xp = self.xp
        X = detached(X)
        if X.ndim != 2:
            raise ValueError(
                f"Expected a 2-D array for {name}, got {X.ndim}-D with shape "
                f"{tuple(X.shape)}: reshape it to (n_samples, n_features)."
            )
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(
                f"Found array with shape {tuple(X.shape)}, while a minimum of 1 "
                f"sample and 1 feature is required by {owner}."
            )
        if X.dtype not in (xp.float32, xp.float64):
            if xp.isdtype(X.dtype, "complex floating"):
                raise ValueError(f"Complex data not supported: {name} has dtype {X.dtype}.")
            X = xp.astype(X, self.wide)
        # by blocks: isfinite of the whole X would take more device memory than X
        finite = True
        for lo, hi in _blocks(X.shape[0], X.shape[1]):
            finite = finite & xp.all(xp.isfinite(X[lo:hi, :]))
        if not bool(finite):
            raise ValueError(f"Input {name} contains NaN or infinity.")
        return X

    def check_weights(self, sample_weight, n_samples: int, dtype):
        """Sample weights on the device, checked as on NumPy (in float64 where the
        device has it), in ``dtype`` unless that would make a weight infinite,
        zero or subnormal; None for None."""
        xp = self.xp
        if sample_weight is None:
            return None
        if isinstance(sample_weight, (int, float)):
            w = xp.full(
                (n_samples,), float(sample_weight), dtype=self.wide, device=self.device
            )
        else:
            w = self._own(sample_weight, "sample_weight")
            if w.ndim != 1:
                raise ValueError(
                    "Sample weights must be 1D array or scalar, got an array of "
                    f"shape {tuple(w.shape)}."
                )
            if w.shape[0] != n_samples:
                raise ValueError(
                    f"sample_weight.shape == {tuple(w.shape)}, expected ({n_samples},)!"
                )
            w = xp.astype(w, self.wide)
        if bool(xp.any(xp.isnan(w))):
            raise ValueError("Input sample_weight contains NaN.")
        if bool(xp.any(xp.isinf(w))):
            raise ValueError("Input sample_weight contains infinity.")
        n_negative = int(xp.sum(xp.astype(w < 0, self.index)))
        if n_negative:
            raise ValueError(
                f"sample_weight must be non-negative; found {n_negative} negative value(s)."
            )
        if not bool(xp.any(w > 0)):
            raise ValueError("Sample weights must contain at least one non-zero number.")
        info = xp.finfo(dtype)
        positive = w[w > 0]
        if float(xp.max(positive)) <= float(info.max) and float(xp.min(positive)) >= float(
            info.smallest_normal
        ):
            w = xp.astype(w, dtype)
        return w

    # -- statistics -----------------------------------------------------------------

    def _exponent(self, X, centers=None) -> int:
        """:func:`kmeans._backends.memory.magnitude_exponent` on the device."""
        xp = self.xp
        largest = max(abs(float(xp.max(X))), abs(float(xp.min(X)))) if X.shape[0] else 0.0
        if centers is not None:
            largest = max(largest, float(xp.max(xp.abs(centers))))
        return exponent_for(largest, self.host_dtype(X))

    @staticmethod
    def _times_power_of_two(a, exponent: int):
        """``a * 2**exponent``, exact: in two factors that each stay in range."""
        if not exponent:
            return a
        half = exponent // 2
        return a * math.ldexp(1.0, half) * math.ldexp(1.0, exponent - half)

    def _read_scaled(self, X, centers):
        """X and the centres divided by ``2**exponent`` where their magnitudes are
        extreme, and the exponent."""
        exponent = self._exponent(X, centers)
        scale = self._times_power_of_two
        return scale(X, -exponent), scale(centers, -exponent), exponent

    def statistics(self, X, sample_weight, needs_variance: bool, pool):
        xp = self.xp
        n, d = X.shape
        weights = self.check_weights(sample_weight, n, X.dtype)
        exponent = self._exponent(X)
        X = self._times_power_of_two(X, -exponent)
        total = xp.zeros((d,), dtype=self.wide, device=self.device)
        for lo, hi in _blocks(n, d):
            total = total + xp.sum(xp.astype(X[lo:hi, :], self.wide), axis=0)
        shift = (to_numpy(total) / n).astype(self.host_dtype(X))
        shift_dev = self.to_device(shift, X.dtype)
        square = 0.0
        for lo, hi in _blocks(n, d):
            xs = X[lo:hi, :] - shift_dev
            square += float(xp.sum(xp.astype(xs * xs, self.wide)))
        variance = square / (n * d)
        shift = exact_shift(shift, variance)
        host_weights, weight_max, n_positive = self._weight_facts(weights)
        data = XPData(X, weights, host_weights, exponent)
        return data, shift, variance, weight_max, n_positive

    @staticmethod
    def _weight_facts(weights):
        """The weights on the host (once per fit), the largest and the positive
        ones; None each without weights."""
        if weights is None:
            return None, None, None
        host_weights = to_numpy(weights)
        return host_weights, float(host_weights.max()), int(np.count_nonzero(host_weights))

    def scale_weights(self, data: XPData, exponent: int) -> XPData:
        if data.weights is None or not exponent:
            return data
        factor = math.ldexp(1.0, -exponent)  # a power of two: exact
        return data._replace(
            weights=data.weights * factor, host_weights=data.host_weights * factor
        )

    # -- the assignment kernel ---------------------------------------------------------

    def _coefficients(self, centers_dev, unit: bool = False):
        """``[-2 C^T; ||c||^2]``: rows ``[x, 1]`` times it give ``||c||^2 - 2 x.c``.
        ``unit`` (metric="cosine": unit centres, no shift): ``-2 C^T``, which the
        rows multiply as they are (:meth:`_operand`), their ``||c||^2 - 1`` taken
        as exactly 0 (:func:`kmeans._core.cosine.unit_terms`)."""
        xp = self.xp
        if unit:
            return -2 * centers_dev.T
        norms = xp.sum(centers_dev * centers_dev, axis=1)
        return xp.concat([-2 * centers_dev.T, norms[None, :]], axis=0)

    def _augmented(self, rows, shift_dev):
        """``[x - shift, 1]`` for the rows of a block."""
        xp = self.xp
        ones = xp.ones((rows.shape[0], 1), dtype=rows.dtype, device=self.device)
        return xp.concat([rows - shift_dev, ones], axis=1)

    def _operand(self, rows, shift_dev, unit: bool):
        """What :meth:`_coefficients` multiply: ``[x - shift, 1]``, or with
        ``unit`` the rows themselves (a view: no copy of the block)."""
        return rows if unit else self._augmented(rows, shift_dev)

    def _nearest(self, partial, values: bool = True):
        """The one nearest-centre reduction of the device path: the lowest
        entry of each row of ``partial`` (ties to the lowest index) and, with
        ``values``, the entry itself."""
        xp = self.xp
        labels = xp.argmin(partial, axis=1)
        return labels, (xp.min(partial, axis=1) if values else None)

    def _assign(self, xa, coef, with_sq: bool, row_terms=None):
        """The assignment kernel: nearest centre of each row of ``xa``
        (:meth:`_operand`; ties to the lowest index) and, with ``with_sq``, the
        squared distance to it (with ``row_terms`` in place of ``||x -
        shift||^2``: the spherical runs', see :func:`kmeans._core.cosine.run_terms`)."""
        xp = self.xp
        labels, best = self._nearest(xa @ coef, with_sq)
        if not with_sq:
            return labels, None
        if row_terms is None:
            body = xa[:, :-1]
            row_terms = xp.sum(body * body, axis=1)
        return labels, xp.maximum(best + row_terms, 0)

    def _one_hot(self, labels, n_clusters: int, dtype):
        xp = self.xp
        grid = xp.arange(n_clusters, dtype=labels.dtype, device=self.device)
        return xp.astype(labels[:, None] == grid[None, :], dtype)

    # -- the update ---------------------------------------------------------------------

    def _moved_sums(self, X, weights, shift_dev, sums, new, old, n_clusters: int,
                    n_moved: int):  # fmt: skip
        """``sums`` (k x (d + 1), on the device) with the ``n_moved`` rows whose
        label changed from ``old`` to ``new`` moved between clusters: one product
        per block of a (+1, -1) one-hot matrix by the rows ``[x - shift, 1]``
        times ``weights``. Fixed blocks and no atomics: the same inputs give the
        same sums."""
        xp = self.xp
        changed = new != old
        width = max(n_clusters, X.shape[1] + 1)
        if self._is_jax:
            # the moved rows first, then the unmoved ones (their one-hot rows are
            # zero), read in the pass's fixed blocks up to the last moved row: the
            # same shapes every pass, compiled once, not a new shape each pass
            moved = xp.argsort(xp.astype(~changed, xp.int8), stable=True)
            bounds = [(lo, hi) for lo, hi in _blocks(new.shape[0], width) if lo < n_moved]
        else:
            (moved,) = xp.nonzero(changed)
            bounds = _blocks(moved.shape[0], width)
        for lo, hi in bounds:
            index = moved[lo:hi]
            rows = xp.astype(
                self._augmented(xp.take(X, index, axis=0), shift_dev), self.wide
            )
            if weights is not None:
                rows = rows * xp.astype(xp.take(weights, index), self.wide)[:, None]
            delta = self._one_hot(xp.take(new, index), n_clusters, self.wide)
            delta = delta - self._one_hot(xp.take(old, index), n_clusters, self.wide)
            sums = sums + delta.T @ rows
        return sums

    def _relocate(self, data, weights, shift, centers, labels, sums, weight_sums):
        """:func:`kmeans._core.update.update_centers` with device data: empty
        clusters take the rows farthest from their centre (ties to the lower
        index, rows of zero weight never), found on the device; only those rows,
        their ``weights`` (the run's) and a few counts come to the host. With
        ``data.row_scale`` (metric="cosine") the rows of least cosine similarity."""
        xp = self.xp
        empty = np.flatnonzero(weight_sums == 0)
        if not empty.size:
            return relocate_and_average(centers, sums, weight_sums)
        X = data.X
        shift_dev = self.to_device(shift, X.dtype)
        centers_dev = self.to_device(centers, X.dtype)
        parts = []
        for lo, hi in _blocks(X.shape[0], X.shape[1]):
            own = xp.take(centers_dev, labels[lo:hi], axis=0)
            if data.row_scale is None:
                diff = X[lo:hi, :] - shift_dev - own
                parts.append(xp.sum(diff * diff, axis=1))
            else:  # 1 - cos, as kmeans/_core/update.py measures it
                dots = xp.sum(xp.astype(X[lo:hi, :] * own, self.wide), axis=1)
                parts.append(1.0 - dots * data.row_scale[lo:hi])
        dist = xp.concat(parts)
        if weights is not None:
            dist = xp.where(weights > 0, dist, xp.zeros_like(dist))
        order = xp.argsort(dist, descending=True, stable=True)[: empty.size]
        far = to_numpy(order)
        far = far[to_numpy(xp.take(dist, order)) > 0]
        far_dev = self.to_device(far, order.dtype)
        far_rows = to_numpy(xp.take(X, far_dev, axis=0)) - shift
        far_labels = to_numpy(xp.take(labels, far_dev))
        rows_left = np.zeros(len(centers), np.int64)
        counted = labels if weights is None else xp.where(weights > 0, labels, -1)
        for cluster in np.unique(far_labels):
            rows_left[cluster] = int(xp.sum(xp.astype(counted == int(cluster), self.index)))
        far_weights = None if weights is None else to_numpy(xp.take(weights, far_dev))
        return relocate_and_average(
            centers, sums, weight_sums, empty, far_rows, far_labels, far_weights, rows_left
        )

    # -- a run -------------------------------------------------------------------------

    def run(self, data: XPData, shift, centers, algorithm, *, max_iter, tol, variance,
            pool, callback):  # fmt: skip
        """One Lloyd run from ``centers`` (host, shifted frame) by the NumPy path's
        driver and stopping rule; ``algorithm`` is "lloyd". With ``data.row_scale``
        (metric="cosine") spherical, as on NumPy: the sums are of the unit rows
        (weights ``w/||x||``), each new centre is normalised."""
        xp = self.xp
        X = data.X
        n, d = X.shape
        k = centers.shape[0]
        shift_dev = self.to_device(shift, X.dtype)
        weights, row_terms = data.weights, None
        if data.row_scale is not None:
            centers = cosine.normalise(centers)
            terms = cosine.run_terms(weights, data.row_scale)
            # as on NumPy: terms beyond X's dtype (rows of subnormal norm) stay wide
            if all(bool(xp.max(a) <= xp.finfo(X.dtype).max) for a in terms):
                terms = [xp.astype(a, X.dtype) for a in terms]
            weights, row_terms = terms
        state = {
            "labels": xp.full((n,), -1, dtype=self.index, device=self.device),
            "sums": xp.zeros((k, d + 1), dtype=self.wide, device=self.device),
        }

        unit = data.row_scale is not None

        def step(centers):
            coef = self._coefficients(self.to_device(centers, X.dtype), unit)
            parts, inertia = [], 0.0  # summed on the device: no wait per block
            for lo, hi in _blocks(n, max(k, d + 1)):
                labels, best = self._assign(
                    self._operand(X[lo:hi, :], shift_dev, unit),
                    coef,
                    callback is not None,
                    None if row_terms is None else row_terms[lo:hi],
                )
                parts.append(labels)
                if best is not None:
                    w = None if weights is None else weights[lo:hi]
                    best = best if w is None else best * w
                    inertia = inertia + xp.sum(xp.astype(best, self.wide))
            new = xp.astype(xp.concat(parts), self.index)
            old = state["labels"]
            n_changed = int(xp.sum(xp.astype(new != old, self.index)))
            if n_changed:
                state["sums"] = self._moved_sums(
                    X, weights, shift_dev, state["sums"], new, old, k, n_changed
                )
            state["labels"] = new
            # O(k d) to the host, once per iteration
            sums = to_numpy(state["sums"]).astype(np.float64)
            new_centers = self._relocate(
                data, weights, shift, centers, new, sums[:, :d], sums[:, d].copy()
            )
            inertia = math.nan if callback is None else float(inertia)
            if data.row_scale is not None:
                new_centers, inertia = cosine.end_step(new_centers, centers, inertia)
            return new_centers, n_changed, inertia

        return iterate(step, centers, max_iter=max_iter, tol=tol, callback=callback)

    # -- initial centres -----------------------------------------------------------------

    def initial_centers(self, data: XPData, shift, init: str, n_clusters: int, rng, pool):
        """Initial centres (host, shifted frame): rows drawn by ``init`` (for
        metric="cosine", as unit vectors)."""
        if init == "random":
            n = data.X.shape[0]
            indices = weighted_choice(rng, data.host_weights, n, n_clusters, replace=False)
        else:
            indices = self.plusplus_indices(data, shift, n_clusters, rng)
        if data.row_scale is None:
            return self.rows(data.X, indices) - shift
        index = self.to_device(indices, self.index)
        row_scale = to_numpy(self.xp.take(data.row_scale, index))
        return cosine.scale_rows(self.rows(data.X, indices), row_scale)

    def rows(self, X, indices) -> np.ndarray:
        """Rows of X at host ``indices``, on the host."""
        xp = self.xp
        return to_numpy(xp.take(X, self.to_device(indices, self.index), axis=0))

    def _potentials(self, X, shift_dev, row_sq, w, candidates, closest, row_scale=None):
        """For each candidate (rows of the device array ``candidates``), the
        weighted sum of ``min(closest, ||x - candidate||^2)``, and those minima
        (rows x candidates), block by block. With ``row_scale`` (``1/||x||``,
        unit candidates, ``row_sq`` all 2) the squared chord ``2 - 2 cos``, as
        :func:`kmeans._core.init.kmeans_plusplus_indices` measures it."""
        xp = self.xp
        unit = row_scale is not None
        coef = self._coefficients(candidates, unit)  # cosine: -2 x.c
        potential, minima = 0.0, []
        for lo, hi in _blocks(X.shape[0], max(candidates.shape[0], X.shape[1] + 1)):
            partial = self._operand(X[lo:hi, :], shift_dev, unit) @ coef
            if row_scale is not None:
                partial = xp.astype(partial * row_scale[lo:hi, None], X.dtype)
            sq = xp.maximum(partial + row_sq[lo:hi, None], 0)
            sq = xp.minimum(sq, closest[lo:hi, None])
            weighted = sq if w is None else sq * w[lo:hi, None]
            potential = potential + xp.sum(xp.astype(weighted, self.wide), axis=0)
            minima.append(sq)
        return to_numpy(potential), xp.concat(minima, axis=0)

    def _draw(self, rng, closest, w, host_weights, n_trials: int) -> np.ndarray:
        """Candidate rows drawn in proportion to weight times ``closest``, as
        :class:`kmeans._core.sampling.CumulativeSampler` draws them: the host's
        Generator gives the targets, the device's cumulative sums the rows."""
        xp = self.xp
        weights = closest if w is None else closest * w
        cumulative = xp.cumulative_sum(xp.astype(weights, self.wide))
        total = float(cumulative[-1])
        if not total > 0:  # every row of positive weight sits on a centre
            return weighted_choice(rng, host_weights, closest.shape[0], n_trials)
        targets = self.to_device(rng.random(n_trials) * total, self.wide)
        found = xp.searchsorted(cumulative, targets, side="right")
        last = xp.searchsorted(cumulative, cumulative[-1:], side="left")
        return to_numpy(xp.minimum(found, last))

    def plusplus_indices(self, data: XPData, shift, n_clusters, rng, n_trials=None):
        """Greedy k-means++ on the device, as :func:`kmeans._core.init.
        kmeans_plusplus_indices` on the host: same draws of the Generator."""
        xp = self.xp
        X = data.X
        n = X.shape[0]
        if n_trials is None:
            n_trials = 2 + int(np.log(n_clusters))
        w = host_w = None
        if data.weights is not None:
            # only ratios matter; normalised, weight * distance^2 cannot overflow
            w = data.weights / xp.max(data.weights)
            host_w = data.host_weights / data.host_weights.max()
        shift_dev = self.to_device(shift, X.dtype)
        row_scale = data.row_scale
        if row_scale is None:
            parts = []
            for lo, hi in _blocks(n, X.shape[1]):
                xs = X[lo:hi, :] - shift_dev
                parts.append(xp.sum(xs * xs, axis=1))
            row_sq = xp.concat(parts)
        else:  # metric="cosine": unit rows, at squared chord 2 - 2 cos
            row_sq = xp.full((n,), 2.0, dtype=X.dtype, device=self.device)

        def seeds(index):
            rows = xp.take(X, index, axis=0)
            if row_scale is None:
                return rows - shift_dev
            return xp.astype(rows * xp.take(row_scale, index)[:, None], X.dtype)

        first = int(weighted_choice(rng, host_w, n))
        inf = xp.full((n,), math.inf, dtype=X.dtype, device=self.device)
        rows = seeds(self.to_device([first], self.index))
        closest = self._potentials(X, shift_dev, row_sq, None, rows, inf, row_scale)[1]

        def draw(closest):
            return self._draw(rng, closest, w, host_w, n_trials)

        def try_candidates(candidates, closest):
            rows = seeds(self.to_device(candidates, self.index))
            potentials, minima = self._potentials(
                X, shift_dev, row_sq, w, rows, closest, row_scale
            )
            return potentials, lambda best: minima[:, best]

        return greedy_indices(first, closest[:, 0], n_clusters, draw, try_candidates)

    # -- a fitted model's uses ------------------------------------------------------------

    def _centre_frame(self, centers):
        """The centres on the device in the NumPy path's frame
        (:func:`kmeans._core.blocks.centres_shift`), with their coefficients:
        every whole-array pass reads centres through this."""
        centers = self._own(centers, "cluster_centers_")
        shift = self.to_device(centres_shift(to_numpy(centers)), centers.dtype)
        shifted = centers - shift
        return shift, shifted, self._coefficients(shifted)

    def labels_inertia(self, X, centers, weights):
        """Labels (int32, on the device), exact weighted inertia and cluster sizes
        (host): :func:`kmeans._core.dense.labels_inertia` on the device."""
        xp = self.xp
        k = centers.shape[0]
        shift, shifted, coef = self._centre_frame(centers)

        def blocks():
            for lo, hi in _blocks(X.shape[0], max(k, X.shape[1] + 1)):
                # cast by blocks: astype copies, and X whole is as large as memory
                xa = self._augmented(xp.astype(X[lo:hi, :], shifted.dtype), shift)
                labels = self._assign(xa, coef, False)[0]
                diff = xp.astype(xa[:, :-1] - xp.take(shifted, labels, axis=0), self.wide)
                yield lo, hi, labels, xp.sum(diff * diff, axis=1)

        return self._labelled(blocks(), k, weights)

    def _labelled(self, blocks, n_clusters: int, weights):
        """Labels (int32, on the device), the weighted sum of the values and the
        cluster sizes (host) from ``blocks``: (lo, hi, labels, values) per block
        of rows, the values in the wide dtype."""
        xp = self.xp
        parts, total = [], 0.0
        sizes = xp.zeros((n_clusters,), dtype=self.index, device=self.device)
        for lo, hi, labels, values in blocks:
            if weights is not None:
                values = values * xp.astype(weights[lo:hi], self.wide)
            total = total + xp.sum(values)
            sizes = sizes + xp.sum(self._one_hot(labels, n_clusters, self.index), axis=0)
            parts.append(labels)
        labels = xp.astype(xp.concat(parts), xp.int32)
        return labels, float(total), to_numpy(sizes)

    def final_labels(self, data: XPData, centers, pool, out=None):
        return self.labels_inertia(data.X, self.to_device(centers), data.weights)

    def predict(self, X, centers, pool):
        X, centers, _ = self._read_scaled(X, self._own(centers, "cluster_centers_"))
        return self.labels_inertia(X, centers, None)[0]

    def score(self, X, centers, sample_weight, pool) -> float:
        weights = self.check_weights(sample_weight, X.shape[0], X.dtype)
        X, centers, exponent = self._read_scaled(X, self._own(centers, "cluster_centers_"))
        with np.errstate(over="ignore"):  # inf is the true value beyond float range
            return -float(
                np.ldexp(self.labels_inertia(X, centers, weights)[1], 2 * exponent)
            )

    def distances(self, X, centers, pool):
        """Euclidean distances to every centre, computed in float64 where the
        device has it, the nearest one from the differences (a row on a centre is
        at distance zero), returned in the centres' dtype."""
        xp = self.xp
        X, centers, exponent = self._read_scaled(X, self._own(centers, "cluster_centers_"))
        dtype = centers.dtype
        shift, shifted, coef = self._centre_frame(xp.astype(centers, self.wide))
        k = centers.shape[0]

        def blocks():
            for lo, hi in _blocks(X.shape[0], max(k, X.shape[1] + 1)):
                xa = self._augmented(xp.astype(X[lo:hi, :], self.wide), shift)
                labels, _ = self._assign(xa, coef, False)
                body = xa[:, :-1]
                sq = xp.maximum(xa @ coef + xp.sum(body * body, axis=1)[:, None], 0)
                diff = body - xp.take(shifted, labels, axis=0)
                own = xp.sum(diff * diff, axis=1)
                sq = xp.where(self._one_hot(labels, k, xp.bool), own[:, None], sq)
                distances = xp.astype(xp.sqrt(sq), dtype)
                yield lo, hi, self._times_power_of_two(distances, exponent)

        return self._stacked(blocks(), X.shape[0])

    def _stacked(self, blocks, n_rows: int):
        """One array of ``n_rows`` rows from ``blocks``, ``(lo, hi, rows)`` in
        order (at least one): a single block as it is, else each block written
        into the result as it comes (held once, not as blocks and then their
        concatenation), but in JAX, whose arrays cannot be written,
        concatenated at the end."""
        xp = self.xp
        if self._is_jax:
            return xp.concat([rows for _, _, rows in blocks], axis=0)
        blocks = iter(blocks)
        _, _, first = next(blocks)
        out = None
        for lo, hi, rows in blocks:
            if out is None:
                shape = (n_rows, first.shape[1])
                out = xp.empty(shape, dtype=first.dtype, device=self.device)
                out[: first.shape[0], :] = first
            out[lo:hi, :] = rows
        return first if out is None else out

    def kmeans_plusplus(self, X, n_clusters, sample_weight, random_state, n_trials, owner):
        """:func:`kmeans.kmeans_plusplus` on X's device: centres and indices as
        arrays of X's namespace and device."""
        X = self.check(X, owner=owner)
        if X.shape[0] < n_clusters:
            raise ValueError(
                f"n_samples={X.shape[0]} should be >= n_clusters={n_clusters}."
            )
        with self.session():
            data, shift = self.statistics(X, sample_weight, False, None)[:2]
            check_enough_weighted_samples(data.host_weights, n_clusters)
            rng = check_random_state(random_state)
            indices = self.plusplus_indices(data, shift, n_clusters, rng, n_trials)
        index = self.to_device(indices, self.index)
        return self.xp.take(X, index, axis=0), index


@dataclass(frozen=True, eq=False)
class CosineArrayAPIKind(ArrayAPIKind):
    """The data kind for metric="cosine" on arrays of namespace ``xp`` on
    ``device`` (see kmeans/_backends/cosine.py): spherical k-means, computed
    there as the Euclidean kind computes (its run, relocation and k-means++
    read ``XPData.row_scale``), with the NumPy path's rules
    (:mod:`kmeans._core.cosine`). X is neither normalised nor copied: its
    ``1/||x||`` are computed once per fit, on the device; a row of zeros is
    refused with the NumPy path's error. No shift; data of extreme magnitude
    are read scaled, and nothing is scaled back (cosines do not change)."""

    @property
    def description(self) -> str:
        return f"{super().description} with metric='cosine'"

    @property
    def cosine_twin(self):
        return self

    def _inverse_norms(self, X):
        """``1/||x||`` of every row (see :meth:`_norms`)."""
        return 1.0 / self._norms(X)[0]

    def _norms(self, X):
        """``||x||`` of every row, on the device (float64 where it has it), and
        the same on the host where some were measured there (else None); the
        NumPy path's :class:`~kmeans._core.cosine.ZeroRowError` for zero rows.
        Rows whose squares underflow or overflow are measured on the host by
        :func:`kmeans._core.cosine.row_norms` (only those rows come back), and
        then told zero or not there: a device that flushes subnormal numbers to
        zero (XLA) would call a norm of 1e-320 zero."""
        xp = self.xp
        parts = []
        # squares beyond the range are measured again below (NumPy-backed
        # namespaces would warn)
        with np.errstate(over="ignore", under="ignore"):
            for lo, hi in _blocks(X.shape[0], X.shape[1]):
                rows = xp.astype(X[lo:hi, :], self.wide)
                parts.append(xp.sqrt(xp.sum(rows * rows, axis=1)))
        norms = xp.concat(parts)
        unsure = ~((norms > 0) & (norms < math.inf))
        host = None
        if bool(xp.any(unsure)):
            (index,) = xp.nonzero(unsure)
            host = to_numpy(norms).astype(np.float64)
            host[to_numpy(index)] = cosine.row_norms(
                to_numpy(xp.take(X, index, axis=0)), None
            )
            zero = np.flatnonzero(host == 0)
            if zero.size:
                raise cosine.zero_rows_error(zero.size, zero)
            return self.to_device(host, self.wide), host
        (zero,) = xp.nonzero(norms == 0)
        n_zero = zero.shape[0]
        if n_zero:
            raise cosine.zero_rows_error(n_zero, to_numpy(zero[: min(n_zero, 5)]))
        return norms, None

    def _readable(self, X):
        """X as the NumPy path reads it (:func:`kmeans._core.cosine.readable`:
        divided by a power of two, or each row by its own, where norms are
        extreme), and its ``1/||x||``."""
        xp = self.xp
        norms, host = self._norms(X)
        if not X.shape[0]:
            return X, 1.0 / norms
        if host is None:  # no norm beyond the squares' range: both ends read as is
            span = [math.frexp(float(f(norms)))[1] for f in (xp.min, xp.max)]
        else:
            span = [int(f(cosine.norm_exponents(host))) for f in (np.min, np.max)]
        how = cosine.rescaling(*span, self.host_dtype(X))
        if how is None:
            return X, 1.0 / norms
        if how is cosine.EACH_ROW:
            exponents = cosine.norm_exponents(to_numpy(norms) if host is None else host)
        else:
            exponents = np.full(X.shape[0], how)
        try:
            # each row times two exact powers of two that each stay in range
            half = exponents // 2
            scaled = X
            for part in (-half, half - exponents):
                factor = np.ldexp(1.0, part).astype(self.host_dtype(X))
                scaled = scaled * xp.expand_dims(self.to_device(factor, X.dtype), axis=1)
            return scaled, self._inverse_norms(scaled)
        except cosine.ZeroRowError:
            # a device that flushes subnormal numbers to zero (XLA) lost rows that
            # are not zeros (measured on the host above): scaled on the host
            scaled = self.to_device(cosine.per_row_scaled(to_numpy(X), exponents), X.dtype)
            return scaled, self._inverse_norms(scaled)

    def statistics(self, X, sample_weight, needs_variance: bool, pool):
        xp = self.xp
        n, d = X.shape
        weights = self.check_weights(sample_weight, n, X.dtype)
        X, row_scale = self._readable(X)
        total = xp.zeros((d,), dtype=self.wide, device=self.device)
        for lo, hi in _blocks(n, d):
            rows = xp.astype(X[lo:hi, :], self.wide) * row_scale[lo:hi, None]
            total = total + xp.sum(rows, axis=0)
        variance = cosine.variance_of_units(to_numpy(total).astype(np.float64), n)
        host_weights, weight_max, n_positive = self._weight_facts(weights)
        data = XPData(X, weights, host_weights, 0, row_scale)
        shift = np.zeros(d, self.host_dtype(X))
        return data, shift, variance, weight_max, n_positive

    def _partials(self, X, centers):
        """Per block of rows: its bounds and ``-2 x.c`` for every unit centre (in
        float64 where the device has it): :func:`kmeans._core.cosine.unit_terms`."""
        xp = self.xp
        centers = xp.astype(self._own(centers, "cluster_centers_"), self.wide)
        neg2_t = -2 * centers.T
        for lo, hi in _blocks(X.shape[0], max(centers.shape[0], X.shape[1])):
            yield lo, hi, xp.astype(X[lo:hi, :], self.wide) @ neg2_t

    def _labels_inertia(self, X, centers, weights, row_scale):
        """Labels (int32, on the device) of the most similar centres, ``sum w (1 -
        cos)`` and cluster sizes (host): :func:`kmeans._core.cosine.labels_inertia`
        on the device."""
        xp = self.xp

        def blocks():
            for lo, hi, partial in self._partials(X, centers):
                labels, best = self._nearest(partial)
                yield lo, hi, labels, cosine.dissimilarity(best, row_scale[lo:hi], xp)

        return self._labelled(blocks(), centers.shape[0], weights)

    def final_labels(self, data: XPData, centers, pool, out=None):
        return self._labels_inertia(data.X, centers, data.weights, data.row_scale)

    def predict(self, X, centers, pool):
        X, row_scale = self._readable(X)
        return self._labels_inertia(X, centers, None, row_scale)[0]

    def score(self, X, centers, sample_weight, pool) -> float:
        weights = self.check_weights(sample_weight, X.shape[0], X.dtype)
        X, row_scale = self._readable(X)
        return -self._labels_inertia(X, centers, weights, row_scale)[1]

    def distances(self, X, centers, pool):
        """``1 - cos`` to every centre, computed in float64 where the device has
        it, returned in the centres' dtype."""
        xp = self.xp
        X, row_scale = self._readable(X)
        centers = self._own(centers, "cluster_centers_")
        dtype = centers.dtype

        def blocks():
            for lo, hi, partial in self._partials(X, centers):
                distances = cosine.dissimilarity(partial, row_scale[lo:hi, None], xp)
                yield lo, hi, xp.astype(distances, dtype)

        return self._stacked(blocks(), X.shape[0])
