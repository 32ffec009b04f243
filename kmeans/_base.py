"""The estimator protocol: parameters from ``__init__``, ``get_params``,
``set_params`` and a repr that shows the parameters that differ from the defaults;
and the table that shows a model in a notebook.

:class:`BaseEstimator` follows scikit-learn's conventions without depending on
scikit-learn: it is what estimators derive from when scikit-learn is not installed
(see :mod:`kmeans._compat`). :class:`NotebookReprMixin` is used either way.
"""

from __future__ import annotations

import html
import inspect
import sys


class BaseEstimator:
    """Parameters are the keyword arguments of ``__init__``, stored unchanged."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )

    def get_params(self, deep: bool = True) -> dict:
        """Get the parameters of this estimator.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of parameters that are estimators.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            params[name] = value
        return params

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Values are checked when ``fit`` is called, not here.

        Parameters
        ----------
        **params : dict
            Parameter names and their new values; ``name__sub`` sets ``sub`` on
            the estimator held in parameter ``name``.

        Returns
        -------
        self : estimator instance
        """
        valid = self._get_param_names()
        nested: dict[str, dict] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                    f"Valid parameters are: {valid!r}."
                )
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        shown = []
        for name, value, is_default in _params_vs_defaults(self):
            if not is_default:
                text = repr(value)
                if len(text) > 60:
                    text = text[:57] + "..."
                shown.append(f"{name}={text}")
        return f"{type(self).__name__}({', '.join(shown)})"


class NotebookReprMixin:
    """How a model shows itself in a notebook: a table of its parameters and, once
    fitted, of what the fit found.

    It comes before scikit-learn's ``BaseEstimator`` among the bases, so that this
    table, not scikit-learn's diagram, shows a model on its own; scikit-learn's
    diagram still shows it inside a pipeline. ``sklearn.set_config(display="text")``
    turns the table off, as it turns off the diagrams.
    """

    def _repr_mimebundle_(self, **kwargs) -> dict:
        # Jupyter asks for this before _repr_html_, and scikit-learn defines it
        bundle = {"text/plain": repr(self)}
        sklearn = sys.modules.get("sklearn")  # its settings exist only once imported
        if sklearn is None or sklearn.get_config().get("display") != "text":
            bundle["text/html"] = self._repr_html_()
        return bundle

    def _repr_html_(self) -> str:
        """A table of the parameters (non-defaults in bold) and, once fitted, of
        what the fit found (:meth:`_fitted_summary`), for notebooks."""
        rows = []
        for name, value, is_default in _params_vs_defaults(self):
            text = _short(repr(value))
            if not is_default:
                text = f"<b>{text}</b>"
            rows.append(f"<tr><td>{html.escape(name)}</td><td>{text}</td></tr>")
        summary = self._fitted_summary()
        state = "fitted" if summary else "not fitted"
        if summary:
            rows.append('<tr><th colspan="2" style="text-align:left">Fitted</th></tr>')
            rows.extend(
                f"<tr><td>{html.escape(name)}</td><td>{_short(text)}</td></tr>"
                for name, text in summary
            )
        return (
            f"<div><strong>{html.escape(type(self).__name__)}</strong> ({state})"
            '<table><tr><th colspan="2" style="text-align:left">Parameters</th></tr>'
            + "".join(rows)
            + "</table></div>"
        )

    def _fitted_summary(self) -> list[tuple[str, str]]:
        """(name, text) rows describing the fit; empty when not fitted."""
        return []


def _params_vs_defaults(estimator):
    """``(name, value, is_default)`` for each parameter, sorted by name."""
    defaults = {
        name: p.default
        for name, p in inspect.signature(type(estimator).__init__).parameters.items()
    }
    for name in estimator._get_param_names():
        value = getattr(estimator, name)
        default = defaults.get(name, inspect.Parameter.empty)
        yield name, value, _same_value(value, default)


def _short(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters and escaped for HTML."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return html.escape(text)


def _same_value(value, default) -> bool:
    if value is default:
        return True
    if type(value) is not type(default):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # arrays compare elementwise
        return False
