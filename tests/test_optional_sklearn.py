"""scikit-learn is optional: ``import kmeans`` does not import it, and without it
KMeans works on the package's own minimal protocol. Each test runs a fresh
interpreter; scikit-learn is hidden from it by an import that fails."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HIDE_SKLEARN = "import sys; sys.modules['sklearn'] = None  # import sklearn fails\n"


def _run(code: str, hide_sklearn: bool = False) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", HIDE_SKLEARN * hide_sklearn + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_kmeans_imports_neither_sklearn_nor_scipy():
    out = _run(
        """
        import sys
        import kmeans
        print(sorted(m for m in ("sklearn", "scipy", "pandas") if m in sys.modules))
        kmeans.kmeans_plusplus([[0.0], [1.0]], 1, random_state=0)
        print("sklearn" in sys.modules)
        """
    )
    assert out.split("\n")[:2] == ["[]", "False"]


def test_kmeans_without_sklearn():
    out = _run(
        """
        import pickle, warnings
        import numpy as np
        import kmeans
        from kmeans import KMeans

        X = np.array([[0.0, 0], [0, 1], [10, 10], [10, 11]])
        km = KMeans(2, random_state=0)
        assert repr(km) == "KMeans(n_clusters=2, random_state=0)"
        try:
            km.predict(X)
        except ValueError as exc:
            assert isinstance(exc, AttributeError) and "not fitted" in str(exc)
        labels = km.fit(X).predict(X)
        assert labels[0] == labels[1] != labels[2] == labels[3]
        assert km.transform(X).shape == (4, 2) and km.score(X) == -km.inertia_
        assert km.get_feature_names_out().tolist() == ["kmeans0", "kmeans1"]
        assert km.set_params(n_clusters=3).get_params()["n_clusters"] == 3
        assert pickle.loads(pickle.dumps(km)).cluster_centers_.shape == (2, 2)
        assert "text/html" in km._repr_mimebundle_()
        assert not hasattr(km, "set_output")  # scikit-learn's output configuration
        assert issubclass(kmeans.ConvergenceWarning, UserWarning)
        mixin = next(c for c in type(km).__mro__ if c.__name__ == "ClusterMixin")
        print(mixin.__module__)  # the stand-in
        """,
        hide_sklearn=True,
    )
    assert out.strip() == "kmeans._compat"
