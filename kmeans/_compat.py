"""scikit-learn's base classes when it is installed, this package's own otherwise.

This is the arrangement of libraries whose scikit-learn support is optional
(LightGBM and XGBoost, for instance). With scikit-learn installed, :class:`KMeans`
*is* a scikit-learn estimator: an instance of ``ClusterMixin``,
``TransformerMixin`` and ``BaseEstimator``, so that scikit-learn's conformance
checks, HTML diagrams, metadata routing and ``set_output`` apply to it as to its
own estimators; and :class:`NotFittedError` and :class:`ConvergenceWarning` derive
from scikit-learn's, so that ``except`` clauses and warning filters written for
scikit-learn catch ours. Without scikit-learn, the minimal protocol of
:mod:`kmeans._base` (``get_params``, ``set_params``, repr) is all a model needs.

Importing scikit-learn takes 1-3 s, so ``import kmeans`` does not import this
module: the classes built on it are imported when first used (see
``kmeans/__init__.py`` and ``kmeans/_exceptions.py``). The environment variable
``KMEANS_SKLEARN=0``, read once when this module is first imported, makes the
package use its own classes even where scikit-learn is installed: the command
line sets it, as it never hands an estimator to scikit-learn. Models are the same
either way (a saved model loads in both).
"""

from __future__ import annotations

import os

try:
    if os.environ.get("KMEANS_SKLEARN") == "0":
        raise ImportError("scikit-learn not wanted (KMEANS_SKLEARN=0)")
    from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
    from sklearn.exceptions import ConvergenceWarning as _ConvergenceWarningBase
    from sklearn.exceptions import NotFittedError as _NotFittedErrorBase
except ImportError:
    SKLEARN_INSTALLED = False

    from ._base import BaseEstimator

    class ClusterMixin:
        """Stand-in for scikit-learn's mixin: the estimator has its own methods."""

    class TransformerMixin:
        """Stand-in for scikit-learn's mixin: the estimator has its own methods."""

    class _NotFittedErrorBase(ValueError, AttributeError):
        pass

    _ConvergenceWarningBase = UserWarning
else:
    SKLEARN_INSTALLED = True

__all__ = [
    "SKLEARN_INSTALLED",
    "BaseEstimator",
    "ClusterMixin",
    "ConvergenceWarning",
    "NotFittedError",
    "TransformerMixin",
]


class NotFittedError(_NotFittedErrorBase):
    """Raised when a method that needs a fitted model is called before ``fit``.

    It subclasses both :class:`ValueError` and :class:`AttributeError`, as
    scikit-learn's exception of the same name does, and scikit-learn's exception
    itself when scikit-learn is installed, so that
    ``except sklearn.exceptions.NotFittedError`` catches it.
    """


class ConvergenceWarning(_ConvergenceWarningBase):
    """Warns that a fit found fewer distinct clusters than were asked for.

    A :class:`UserWarning`, and scikit-learn's ``ConvergenceWarning`` when
    scikit-learn is installed, so that its warning filters apply.
    """
