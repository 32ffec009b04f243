"""KMeans, k_means and kmeans_plusplus on array-API arrays (kmeans/_backends/array_api.py).

Parametrised over namespaces: array-api-strict (on its CPU device and on a
simulated other device, which also checks that only the standard is used),
PyTorch and JAX on the CPU where installed, and on a CUDA GPU where there is one:
PyTorch, CuPy and JAX (they skip themselves elsewhere). NumPy is the reference:
from the same initial centres the labels and ``n_iter_`` are NumPy's and the
centres agree to rounding. Skipped as a whole without array-api-compat (the core CI leg).
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from conftest import directions, make_blobs

compat = pytest.importorskip("array_api_compat")

from kmeans import KMeans, MiniBatchKMeans, k_means, kmeans_plusplus, load  # noqa: E402
from kmeans._backends import DENSE, array_api, kind_of  # noqa: E402


def _strict(device_name):
    def make():
        xp = pytest.importorskip("array_api_strict")
        devices = {str(d): d for d in xp.__array_namespace_info__().devices()}
        key = f"array_api_strict.Device('{device_name}')"
        if key not in devices:
            pytest.skip(f"array_api_strict has no device {device_name}")
        return xp, devices[key]

    return make


def _torch(device_name):
    def make():
        torch = pytest.importorskip("torch")
        if device_name == "cuda" and not torch.cuda.is_available():
            pytest.skip("torch sees no CUDA device")
        device = torch.device(device_name, 0 if device_name == "cuda" else None)
        return compat.array_namespace(torch.zeros(1, device=device)), device

    return make


def _cupy():
    cupy = pytest.importorskip("cupy")
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception:  # CuPy without a driver raises its own errors
        count = 0
    if not count:
        pytest.skip("CuPy sees no CUDA device")
    x = cupy.zeros(1)
    return compat.array_namespace(x), compat.device(x)


def _jax(platform):
    def make():
        jax = pytest.importorskip("jax")
        jax.config.update("jax_enable_x64", True)  # float64, as NumPy
        try:
            device = jax.devices(platform)[0]
        except RuntimeError:
            pytest.skip(f"JAX has no {platform} device")
        return compat.array_namespace(jax.numpy.zeros(1)), device

    return make


# the CUDA ones skip themselves without a GPU (run them on one with -k "cuda or gpu")
NAMESPACES = {
    "strict": _strict("CPU_DEVICE"),
    "strict-device1": _strict("device1"),
    "torch-cpu": _torch("cpu"),
    "jax-cpu": _jax("cpu"),
    "torch-cuda": _torch("cuda"),
    "cupy-gpu": _cupy,
    "jax-gpu": _jax("gpu"),
}


@pytest.fixture(params=list(NAMESPACES))
def space(request):
    """(xp, device, to): ``to(a)`` puts a NumPy array on the device."""
    xp, device = NAMESPACES[request.param]()
    return xp, device, lambda a: xp.asarray(np.asarray(a), device=device)


def host(a):
    return array_api.to_numpy(a)


def assert_on(a, xp, device):
    assert compat.array_namespace(a) is xp
    assert compat.device(a) == device


@pytest.fixture
def blobs():
    return make_blobs(600, 5, 4, seed=3)[0]


def test_numpy_and_dask_keep_their_kinds(blobs):
    assert kind_of(blobs) is DENSE
    assert not array_api.is_array_api(blobs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_run_as_numpy_from_the_same_init(space, blobs, dtype):
    xp, device, to = space
    X = blobs.astype(dtype)
    init = X[[0, 1, 2, 3]]
    ref = KMeans(4, init=init, tol=0).fit(X)
    km = KMeans(4, init=init, tol=0).fit(to(X))
    assert km.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(host(km.labels_), ref.labels_)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(host(km.cluster_centers_), ref.cluster_centers_, rtol=rtol)
    assert km.inertia_ == pytest.approx(ref.inertia_, rel=rtol)
    assert host(km.cluster_centers_).dtype == dtype
    assert isinstance(km.inertia_, float) and isinstance(km.n_iter_, int)


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_seeded_inits_weights_n_init_and_tol_as_numpy(space, blobs, init):
    xp, device, to = space
    w = np.random.default_rng(0).random(len(blobs))
    params = {"n_clusters": 4, "init": init, "n_init": 3, "tol": 1e-3, "random_state": 7}
    ref = KMeans(**params).fit(blobs, sample_weight=w)
    km = KMeans(**params).fit(to(blobs), sample_weight=to(w))
    assert km.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(host(km.labels_), ref.labels_)
    np.testing.assert_allclose(host(km.cluster_centers_), ref.cluster_centers_, rtol=1e-12)
    assert km.inertia_ == pytest.approx(ref.inertia_, rel=1e-12)


def test_many_small_blocks_and_an_empty_cluster(space, blobs, monkeypatch):
    xp, device, to = space
    monkeypatch.setattr(array_api, "BLOCK_ELEMENTS", 64)  # blocks of ~10 rows
    # a centre far from every row: its cluster is empty after the first pass
    init = np.vstack([blobs[:3], [[1e3] * 5]])
    ref = KMeans(4, init=init, tol=0).fit(blobs)
    km = KMeans(4, init=init, tol=0).fit(to(blobs))
    assert km.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(host(km.labels_), ref.labels_)
    np.testing.assert_allclose(host(km.cluster_centers_), ref.cluster_centers_, rtol=1e-12)


def test_outputs_in_the_input_namespace_and_device(space, blobs):
    xp, device, to = space
    Xd = to(blobs)
    km = KMeans(4, random_state=0).fit(Xd)
    ref = KMeans(4, random_state=0).fit(blobs)
    for attribute in (km.cluster_centers_, km.labels_):
        assert_on(attribute, xp, device)
    assert km.labels_.dtype == xp.int32
    labels = km.predict(Xd)
    assert_on(labels, xp, device)
    np.testing.assert_array_equal(host(labels), ref.predict(blobs))
    distances = km.transform(Xd)
    assert_on(distances, xp, device)
    expected = ref.transform(blobs)
    np.testing.assert_allclose(host(distances), expected, rtol=1e-12, atol=1e-12)
    assert km.score(Xd) == pytest.approx(ref.score(blobs), rel=1e-12)
    assert_on(KMeans(4, random_state=0).fit_predict(Xd), xp, device)
    assert_on(KMeans(4, random_state=0).fit_transform(Xd), xp, device)
    centers, labels, inertia = k_means(Xd, 4, random_state=0)
    assert_on(centers, xp, device)
    assert_on(labels, xp, device)
    assert inertia == pytest.approx(ref.inertia_, rel=1e-12)
    centers, indices = kmeans_plusplus(Xd, 4, random_state=1)
    ref_centers, ref_indices = kmeans_plusplus(blobs, 4, random_state=1)
    assert_on(centers, xp, device)
    np.testing.assert_array_equal(host(indices), ref_indices)
    np.testing.assert_array_equal(host(centers), ref_centers)


def test_dispatch_follows_the_input_after_a_fit(space, blobs):
    # a model fitted on a device takes NumPy data (on the host), and back
    xp, device, to = space
    on_device = KMeans(4, random_state=0).fit(to(blobs))
    on_host = KMeans(4, random_state=0).fit(blobs)
    np.testing.assert_array_equal(on_device.predict(blobs), on_host.labels_)
    assert isinstance(on_device.transform(blobs), np.ndarray)
    assert on_device.score(blobs) == pytest.approx(on_host.score(blobs), rel=1e-12)
    assert "sizes" in on_device._repr_html_()
    assert_on(on_host.predict(to(blobs)), xp, device)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_callback_sees_the_numpy_numbers(space, blobs, metric):
    xp, device, to = space
    seen = {"numpy": [], "device": []}
    data = blobs if metric == "euclidean" else directions(600, 5, 4, seed=3)[0]
    for key, X in (("numpy", data), ("device", to(data))):
        KMeans(
            4, init=data[:4], metric=metric, callback=lambda i, key=key: seen[key].append(i)
        ).fit(X)
    moved = {key: [i.n_reassigned for i in infos] for key, infos in seen.items()}
    assert moved["device"] == moved["numpy"]
    np.testing.assert_allclose(
        [i.inertia for i in seen["device"]], [i.inertia for i in seen["numpy"]], rtol=1e-12
    )


def test_same_seed_same_result(space, blobs):
    xp, device, to = space
    a = KMeans(4, init="random", n_init=2, random_state=3).fit(to(blobs))
    b = KMeans(4, init="random", n_init=2, random_state=3).fit(to(blobs))
    np.testing.assert_array_equal(host(a.cluster_centers_), host(b.cluster_centers_))
    np.testing.assert_array_equal(host(a.labels_), host(b.labels_))
    assert a.inertia_ == b.inertia_


def test_integers_become_float64(space):
    xp, device, to = space
    X = np.array([[0, 0], [0, 1], [9, 9], [9, 10]])
    km = KMeans(2, init=np.array([[0.0, 0.0], [9.0, 9.0]])).fit(to(X))
    assert km.cluster_centers_.dtype == xp.float64
    np.testing.assert_array_equal(host(km.labels_), [0, 0, 1, 1])


def test_bad_inputs_say_what_is_wrong(space, blobs):
    xp, device, to = space
    bad = blobs.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        KMeans(2).fit(to(bad))
    with pytest.raises(ValueError, match="2-D"):
        KMeans(2).fit(to(blobs[:, 0]))
    with pytest.raises(ValueError, match="does not match the number of features"):
        KMeans(2, init=to(blobs[:2, :3])).fit(to(blobs))
    with pytest.raises(ValueError, match="sample_weight.shape"):
        KMeans(2).fit(to(blobs), sample_weight=to(np.ones(3)))
    with pytest.raises(ValueError, match="non-negative"):
        KMeans(2).fit(to(blobs), sample_weight=to(-np.ones(len(blobs))))
    km = KMeans(2, random_state=0).fit(to(blobs))
    with pytest.raises(ValueError, match="features"):
        km.predict(to(blobs[:, :3]))
    with pytest.raises(TypeError, match="MiniBatchKMeans does not take"):
        MiniBatchKMeans(2).fit(to(blobs))


def test_mixed_namespaces_are_refused(space, blobs):
    xp, device, to = space
    other = pytest.importorskip("array_api_strict")
    if xp is other:
        torch = pytest.importorskip("torch")
        foreign = torch.asarray
    else:
        foreign = other.asarray
    with pytest.raises(TypeError, match="from one library"):
        KMeans(2, init=foreign(blobs[:2])).fit(to(blobs))
    with pytest.raises(TypeError, match="from one library"):
        KMeans(2).fit(to(blobs), sample_weight=foreign(np.ones(len(blobs))))


def test_messages_name_the_arrays_library(space, blobs):
    # jax's namespace is jax.numpy and its arrays are of module jaxlib: the
    # messages said "numpy arrays" (which do take refine) and "jaxlib arrays"
    xp, device, to = space
    X = to(blobs)
    module = type(X).__module__.split(".")[0]
    library = {"jaxlib": "jax", "torch": "torch", "cupy": "cupy"}.get(module)
    library = library or "array_api_strict"
    assert kind_of(X).description == f"{library} arrays"
    with pytest.raises(TypeError, match=f"^refine='swap' does not accept {library} arr"):
        KMeans(2, refine="swap").fit(X)
    with pytest.raises(TypeError, match=f"^MiniBatchKMeans does not take {library} arr"):
        MiniBatchKMeans(2).fit(X)


def test_init_on_another_device_is_refused(blobs):
    xp, device1 = _strict("device1")()
    X = xp.asarray(blobs, device=device1)
    with pytest.raises(ValueError, match="move them to one device"):
        KMeans(2, init=xp.asarray(blobs[:2])).fit(X)


def test_device_without_float64_fits_float32(blobs):
    xp, device = _strict("no_float64")()
    X = xp.asarray(blobs.astype(np.float32), device=device)
    km = KMeans(4, init=blobs[:4].astype(np.float32), tol=0).fit(X)
    ref = KMeans(4, init=blobs[:4].astype(np.float32), tol=0).fit(blobs.astype(np.float32))
    assert km.cluster_centers_.dtype == xp.float32
    np.testing.assert_array_equal(host(km.labels_), ref.labels_)
    assert km.n_iter_ == ref.n_iter_


def test_save_brings_arrays_to_host_and_load_gives_numpy(space, blobs, tmp_path):
    xp, device, to = space
    km = KMeans(4, init=to(blobs[:4]), random_state=0).fit(to(blobs))
    path = tmp_path / "model.npz"
    km.save(path)
    loaded = load(path)
    assert isinstance(loaded.cluster_centers_, np.ndarray)
    np.testing.assert_array_equal(loaded.cluster_centers_, host(km.cluster_centers_))
    np.testing.assert_array_equal(loaded.labels_, host(km.labels_))
    # a loaded model predicts on device arrays (its centres are moved there) ...
    np.testing.assert_array_equal(host(loaded.predict(to(blobs))), host(km.labels_))
    # ... or is moved to a device for good
    loaded.cluster_centers_ = to(loaded.cluster_centers_)
    assert_on(loaded.predict(to(blobs)), xp, device)


def test_readme_example_runs():
    """The README's example (a plain block, not a doctest: the core CI leg has no
    array-api-strict) runs as written."""
    pytest.importorskip("array_api_strict")
    from pathlib import Path

    text = (Path(__file__).parents[1] / "README.md").read_text()
    section = text.split("## GPU and other array libraries", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md", "exec"), {})


@pytest.mark.parametrize("scale", [1e40, 1e-45])
def test_float32_data_with_weights_beyond_float32(space, scale):
    # valid float64 weights that float32 cannot hold: as on NumPy, not refused
    xp, device, to = space
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2)).astype(np.float32)
    w = rng.uniform(1, 2, 120) * scale
    reference = KMeans(3, random_state=0).fit(X, sample_weight=w)
    km = KMeans(3, random_state=0).fit(to(X), sample_weight=to(w))
    np.testing.assert_array_equal(host(km.labels_), reference.labels_)
    assert km.inertia_ == pytest.approx(reference.inertia_, rel=1e-6)


# -- metric="cosine" (#15) ----------------------------------------------------------


@pytest.fixture
def rays():
    """Rows around 4 directions in 5-D, of lengths 0.1-10."""
    return directions(600, 5, 4, seed=3)[0]


def assert_same_cosine(km, ref, rtol=1e-12):
    assert km.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(host(km.labels_), ref.labels_)
    centers = host(km.cluster_centers_)
    assert centers.dtype == ref.cluster_centers_.dtype
    np.testing.assert_allclose(centers, ref.cluster_centers_, rtol=0, atol=rtol)
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 1, atol=rtol)
    assert km.inertia_ == pytest.approx(ref.inertia_, rel=rtol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cosine_same_run_as_numpy_from_the_same_init(space, rays, dtype):
    xp, device, to = space
    X = rays.astype(dtype)
    init = X[[0, 1, 2, 3]]
    ref = KMeans(4, init=init, tol=0, metric="cosine").fit(X)
    Xd = to(X)
    km = KMeans(4, init=init, tol=0, metric="cosine").fit(Xd)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert_same_cosine(km, ref, rtol)
    for attribute in (km.cluster_centers_, km.labels_):
        assert_on(attribute, xp, device)
    labels, distances = km.predict(Xd), km.transform(Xd)
    assert_on(labels, xp, device)
    assert_on(distances, xp, device)
    assert labels.dtype == xp.int32
    np.testing.assert_array_equal(host(labels), ref.predict(X))
    assert host(distances).dtype == dtype
    np.testing.assert_allclose(host(distances), ref.transform(X), rtol=0, atol=rtol)
    w = np.arange(len(X)) % 3
    assert km.score(Xd, sample_weight=to(w)) == pytest.approx(
        ref.score(X, sample_weight=w), rel=rtol
    )
    refit = KMeans(4, init=to(init), tol=0, metric="cosine")
    assert_on(refit.fit_transform(Xd), xp, device)
    assert_on(refit.fit_predict(Xd), xp, device)


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_cosine_seeded_inits_and_weights_as_numpy(space, rays, init):
    # the same draws from the same random_state: k-means++ by the squared chord
    xp, device, to = space
    w = np.random.default_rng(0).random(len(rays))
    params = {"init": init, "tol": 1e-3, "random_state": 7, "metric": "cosine"}
    ref = KMeans(4, n_init=1, **params).fit(rays, sample_weight=w)
    km = KMeans(4, n_init=1, **params).fit(to(rays), sample_weight=to(w))
    assert_same_cosine(km, ref)
    # the best of three starts: the NumPy path's inertia (starts that reach one
    # partition tie to rounding, so which of them is kept may differ)
    ref = KMeans(4, n_init=3, **params).fit(rays, sample_weight=w)
    km = KMeans(4, n_init=3, **params).fit(to(rays), sample_weight=to(w))
    assert km.inertia_ == pytest.approx(ref.inertia_, rel=1e-12)
    again = KMeans(4, n_init=3, **params).fit(to(rays), sample_weight=to(w))
    np.testing.assert_array_equal(host(again.cluster_centers_), host(km.cluster_centers_))
    np.testing.assert_array_equal(host(again.labels_), host(km.labels_))


def test_cosine_small_blocks_and_an_empty_cluster(space, rays, monkeypatch):
    xp, device, to = space
    if compat.is_jax_namespace(xp):
        pytest.skip(
            "JAX: 60 blocks per pass, slow eager; the namespace-generic code "
            "is run on array-api-strict and PyTorch"
        )
    monkeypatch.setattr(array_api, "BLOCK_ELEMENTS", 64)  # blocks of ~10 rows
    X = rays.copy()
    X[:, 0] = np.abs(X[:, 0]) + 1  # every row has x_0 > 0
    init = np.vstack([X[:3], [[-1.0, 0, 0, 0, 0]]])  # no row's most similar centre
    ref = KMeans(4, init=init, tol=0, metric="cosine").fit(X)
    km = KMeans(4, init=init, tol=0, metric="cosine").fit(to(X))
    assert_same_cosine(km, ref)
    assert len(np.unique(ref.labels_)) == 4


def test_cosine_zero_rows_same_message_as_numpy(space, rays):
    xp, device, to = space
    X = rays.copy()
    X[[4, 300]] = 0
    fitted = KMeans(4, metric="cosine", random_state=0).fit(rays)
    for method in ("fit", "predict", "transform", "score"):
        model = KMeans(4, metric="cosine") if method == "fit" else fitted
        with pytest.raises(ValueError) as on_numpy:
            getattr(model, method)(X)
        with pytest.raises(ValueError) as on_device:
            getattr(model, method)(to(X))
        assert str(on_device.value) == str(on_numpy.value)
        assert "2 row(s) of X are all zeros (rows 4, 300)" in str(on_device.value)


@pytest.mark.parametrize("exponent", [-1000, 1000])
def test_cosine_extreme_magnitudes(space, rays, exponent):
    xp, device, to = space
    ref = KMeans(4, init=rays[:4], metric="cosine").fit(rays)
    X = to(np.ldexp(rays, exponent))
    km = KMeans(4, init=rays[:4], metric="cosine").fit(X)
    assert_same_cosine(km, ref)
    np.testing.assert_array_equal(host(km.predict(X)), ref.labels_)
    np.testing.assert_allclose(host(km.transform(X)), ref.transform(rays), atol=1e-12)


def test_cosine_minibatch_takes_numpy_only(space, rays):
    # as for the Euclidean metric: fitted on the host, it predicts device arrays
    xp, device, to = space
    with pytest.raises(TypeError, match="MiniBatchKMeans does not take"):
        MiniBatchKMeans(4, metric="cosine").fit(to(rays))
    mbk = MiniBatchKMeans(4, metric="cosine", random_state=0).fit(rays)
    labels = mbk.predict(to(rays))
    assert_on(labels, xp, device)
    np.testing.assert_array_equal(host(labels), mbk.predict(rays))
    np.testing.assert_allclose(
        host(mbk.transform(to(rays))), mbk.transform(rays), atol=1e-12
    )
    with pytest.raises(TypeError, match="MiniBatchKMeans does not take"):
        mbk.partial_fit(to(rays))


def test_cosine_save_and_load(space, rays, tmp_path):
    xp, device, to = space
    km = KMeans(4, metric="cosine", random_state=0).fit(to(rays))
    km.save(tmp_path / "model.npz")
    loaded = load(tmp_path / "model.npz")
    assert loaded.metric == "cosine"
    np.testing.assert_array_equal(loaded.cluster_centers_, host(km.cluster_centers_))
    labels = loaded.predict(to(rays))
    assert_on(labels, xp, device)
    np.testing.assert_array_equal(host(labels), host(km.labels_))


def test_cosine_device_without_float64(rays):
    xp, device = _strict("no_float64")()
    X = rays.astype(np.float32)
    ref = KMeans(4, init=X[:4], tol=0, metric="cosine").fit(X)
    km = KMeans(4, init=X[:4], tol=0, metric="cosine").fit(xp.asarray(X, device=device))
    assert km.cluster_centers_.dtype == xp.float32
    assert_same_cosine(km, ref, rtol=1e-5)


def test_jax_without_x64_fits_without_warnings():
    # JAX's default (32-bit): int64 asked of it warns on every use and is truncated,
    # so indices and counts take the namespace's default indexing dtype
    pytest.importorskip("jax")
    code = (
        "import warnings, numpy as np\n"
        "warnings.simplefilter('error')\n"
        "import jax.numpy as jnp\n"
        "from kmeans import KMeans, kmeans_plusplus\n"
        "X = jnp.asarray(np.random.default_rng(0).normal(size=(60, 2)), jnp.float32)\n"
        "km = KMeans(2, random_state=0, n_init=1, max_iter=5).fit(X)\n"
        "km.predict(X)\n"
        "kmeans_plusplus(X, 2, random_state=0)\n"
        "print(np.asarray(km.labels_).dtype)\n"
    )
    env = {**os.environ, "JAX_ENABLE_X64": "0", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "int32"


@pytest.mark.parametrize("library", ["array_api_strict", "torch"])
def test_cosine_float32_row_of_subnormal_norm_as_on_numpy(library):
    # its 1/||x|| is beyond float32: the pass keeps the wide dtype for the weights
    xp = pytest.importorskip(library)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    X[0] = [1e-40, 0, 0]
    init = X[[1, 2]]
    reference = KMeans(2, init=init, n_init=1, metric="cosine").fit(X)
    km = KMeans(2, init=xp.asarray(init), n_init=1, metric="cosine").fit(xp.asarray(X))
    np.testing.assert_array_equal(np.asarray(km.labels_), reference.labels_)
    assert float(km.inertia_) == pytest.approx(reference.inertia_, rel=1e-5)


def test_torch_tensors_that_record_gradients_are_read_as_values():
    # embeddings straight from a model: torch warned on every number read from
    # them; the fit reads them through a view without the autograd record
    torch = pytest.importorskip("torch")
    X = torch.randn(120, 3, generator=torch.Generator().manual_seed(0))
    w = torch.rand(120, generator=torch.Generator().manual_seed(1))
    reference = KMeans(3, random_state=0).fit(X, sample_weight=w)
    X.requires_grad_(True)
    w.requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        km = KMeans(3, random_state=0).fit(X, sample_weight=w)
        predicted = km.predict(X)
        km.transform(X)
        KMeans(3, init=X[:3], n_init=1).fit(X)
        kmeans_plusplus(X, 3, random_state=0)
    np.testing.assert_array_equal(np.asarray(km.labels_), np.asarray(reference.labels_))
    np.testing.assert_array_equal(np.asarray(predicted), np.asarray(reference.labels_))
    assert X.requires_grad and w.requires_grad  # the user's tensors as they were


def test_float32_products_in_full_precision_whatever_torch_says():
    # TF32 (torch's "high"/"medium", JAX's default on recent GPUs) rounds the
    # expanded distances to 10 bits; a fit runs at "highest" and restores the
    # caller's setting, also after an error
    torch = pytest.importorskip("torch")
    X = torch.asarray(make_blobs(200, 3, 3, seed=1)[0].astype(np.float32))
    seen = []
    before = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("medium")
        callback = lambda info: seen.append(torch.get_float32_matmul_precision())  # noqa: E731
        KMeans(3, random_state=0, callback=callback).fit(X)
        assert seen and set(seen) == {"highest"}
        assert torch.get_float32_matmul_precision() == "medium"

        def fails(info):
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            KMeans(3, random_state=0, callback=fails).fit(X)
        assert torch.get_float32_matmul_precision() == "medium"
        kmeans_plusplus(X, 3, random_state=0)
        assert torch.get_float32_matmul_precision() == "medium"
    finally:
        torch.set_float32_matmul_precision(before)


def test_jax_products_in_full_precision():
    jax = pytest.importorskip("jax")
    X = jax.numpy.asarray(make_blobs(200, 3, 3, seed=1)[0].astype(np.float32))
    seen = []
    callback = lambda info: seen.append(jax.config.jax_default_matmul_precision)  # noqa: E731
    KMeans(3, random_state=0, callback=callback).fit(X)
    assert seen and set(seen) == {"highest"}
    assert jax.config.jax_default_matmul_precision != "highest"


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_transform_written_block_by_block_as_numpy(space, rays, monkeypatch, metric):
    # many blocks: each written into one result (concatenated in JAX)
    xp, device, to = space
    if compat.is_jax_namespace(xp):
        pytest.skip("JAX: 60 blocks per pass, slow eager; concatenated there")
    model = KMeans(4, random_state=0, metric=metric).fit(rays)
    monkeypatch.setattr(array_api, "BLOCK_ELEMENTS", 64)  # blocks of ~10 rows
    distances = model.transform(to(rays))
    assert_on(distances, xp, device)
    expected = model.transform(rays)
    np.testing.assert_allclose(host(distances), expected, rtol=1e-12, atol=1e-12)


def test_torch_precision_restored_after_fits_that_overlap_in_threads():
    # one process-wide setting: the first fit to start sets it, the last to end
    # gives the caller's back (not a fit that ended while another still ran)
    import threading

    torch = pytest.importorskip("torch")
    X = torch.asarray(make_blobs(200, 3, 3, seed=1)[0].astype(np.float32))
    both_inside = threading.Barrier(2, timeout=60)
    seen, errors = [], []

    def fit():
        def callback(info):
            seen.append(torch.get_float32_matmul_precision())
            if len(seen) <= 2:  # the first iteration of each: both fits running
                both_inside.wait()

        try:
            KMeans(3, init=X[:3], tol=0, max_iter=3, callback=callback).fit(X)
        except Exception as exc:  # reported below, not lost in the thread
            errors.append(exc)

    before = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("medium")
        threads = [threading.Thread(target=fit) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert seen and set(seen) == {"highest"}
        assert torch.get_float32_matmul_precision() == "medium"
    finally:
        torch.set_float32_matmul_precision(before)
