"""Exception and warning classes raised by :mod:`kmeans`, and :func:`warn`, which
raises warnings at the user's line.

:class:`NotFittedError` and :class:`ConvergenceWarning` derive from scikit-learn's
classes when it is installed: they are defined in :mod:`kmeans._compat` and
imported from there on first use, so that importing this module does not import
scikit-learn (0.7 s).
"""

import os
import sys
import warnings

# and, through __getattr__ below, ConvergenceWarning and NotFittedError
__all__ = ["DISTRIBUTION", "InvalidParameterError", "ModelFileError", "install_hint"]

# The name on PyPI ("kmeans" there is an unrelated package); the import name is kmeans.
DISTRIBUTION = "kmeans-numpy"

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
# scikit-learn's set_output wraps fit_transform and transform
_WRAPPERS = (os.path.join("sklearn", "utils", "_set_output.py"),)


class InvalidParameterError(ValueError, TypeError):
    """Raised at fit time when an estimator parameter has a bad type or value.

    It subclasses both :class:`ValueError` and :class:`TypeError` so that callers
    can catch it as either, whatever was wrong with the parameter.
    """


class ModelFileError(ValueError):
    """Raised by :func:`kmeans.load` for a file that is not a saved model.

    That is: a file of another kind, a damaged one, or one written by a newer
    version of :mod:`kmeans` in a format this version cannot read.
    """


def install_hint(extra: str) -> str:
    """How to install an optional extra, from PyPI and from a clone of the
    repository, for the messages that say it is missing."""
    return f'pip install "{DISTRIBUTION}[{extra}]" (in a clone: pip install ".[{extra}]")'


def warn(message: str, category: type[Warning]) -> None:
    """:func:`warnings.warn`, attributed to the user's line: the first caller
    outside this package (and scikit-learn's output wrappers), however deep in
    it the warning arises (fit, fit_predict, fit_transform and partial_fit call
    one another, so that no fixed ``stacklevel`` is right for all)."""
    frame = sys._getframe(1)
    level = 2  # that of warn's caller
    while frame is not None:
        filename = frame.f_code.co_filename
        inside = filename.startswith(_PACKAGE_DIR) or filename.endswith(_WRAPPERS)
        if not inside:
            break
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


def __getattr__(name):
    if name in ("ConvergenceWarning", "NotFittedError"):
        from . import _compat

        return getattr(_compat, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
