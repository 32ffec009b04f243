"""Exception and warning classes raised by :mod:`kmeans`.

:class:`NotFittedError` and :class:`ConvergenceWarning` derive from scikit-learn's
classes when it is installed: they are defined in :mod:`kmeans._compat` and
imported from there on first use, so that importing this module does not import
scikit-learn (0.7 s).
"""

# and, through __getattr__ below, ConvergenceWarning and NotFittedError
__all__ = ["InvalidParameterError", "ModelFileError"]


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


def __getattr__(name):
    if name in ("ConvergenceWarning", "NotFittedError"):
        from . import _compat

        return getattr(_compat, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
