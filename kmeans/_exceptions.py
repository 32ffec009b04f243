"""Exception and warning classes raised by :mod:`kmeans`."""

__all__ = [
    "ConvergenceWarning",
    "InvalidParameterError",
    "ModelFileError",
    "NotFittedError",
]


class NotFittedError(ValueError, AttributeError):
    """Raised when a method that needs a fitted model is called before ``fit``.

    It subclasses both :class:`ValueError` and :class:`AttributeError`, as
    scikit-learn's exception of the same name does, so ``except ValueError`` and
    ``except AttributeError`` catch it.
    """


class InvalidParameterError(ValueError, TypeError):
    """Raised at fit time when an estimator parameter has a bad type or value.

    It subclasses both :class:`ValueError` and :class:`TypeError` so that callers
    can catch it as either, whatever was wrong with the parameter.
    """


class ConvergenceWarning(UserWarning):
    """Warns that a fit found fewer distinct clusters than were asked for."""


class ModelFileError(ValueError):
    """Raised by :func:`kmeans.load` for a file that is not a saved model.

    That is: a file of another kind, a damaged one, or one written by a newer
    version of :mod:`kmeans` in a format this version cannot read.
    """
