"""The YAML's per-table parameters (``avatars.protocol.parameters``) as engine arguments.

One place translates each parameter the official client's ``set_parameters`` writes, for the
standard job (:func:`avatarization_options`), the privacy metrics (:func:`privacy_options`)
and the signal metrics (:func:`signal_options`):

- ``k``, ``ncp``, ``column_weights``: ``avatarize(k=, ncp=, column_weights=)``;
- ``use_categorical_reduction``: ``categorical_reduction=``;
- ``imputation.{method, k, training_fraction, return_data_imputed}``: ``imputation={...}``;
- ``exclude_variables.{variable_names, replacement_strategy}``: ``exclude_variables=``,
  ``exclude_method=``;
- ``data_augmentation``: :func:`avatars.engine.augmentation.augment`;
- ``avatarization_processors_parameters``: :mod:`avatars.server.jobs.embedded_processors`;
- privacy ``known_variables``, ``target``, ``quantile_threshold``: ``privacy_metrics(...)``.

A metrics document's own ``ncp``, ``column_weights``, ``imputation`` and
``use_categorical_reduction`` win; what it leaves out comes from the avatarization's parameters
(the client writes the same values in both). The exclusion is the metrics document's only:
the client writes it there unless ``use_excluded_variables_in_metrics``, whose point is that
the metrics then measure the excluded variables too (and it writes no metrics document when
nothing else is set).
The signal metrics compare distributions and correlations variable by variable, with no
projection: only the exclusion applies to them; the other fields are recorded as unused.
"""

from __future__ import annotations

from typing import Any

from avatars.protocol.enums import ExcludeVariablesMethod

#: Fields of a signal metrics document that the signal metrics do not use (no projection).
SIGNAL_UNUSED = ("ncp", "use_categorical_reduction", "imputation", "column_weights")


def exclusion(params: Any) -> tuple[list[str] | None, str]:
    """``(excluded columns or None, method)``; the client's default method is ``row_order``."""
    exclude = getattr(params, "exclude_variables", None)
    if exclude is None or not exclude.variable_names:
        return None, ExcludeVariablesMethod.ROW_ORDER.value
    method = exclude.replacement_strategy or ExcludeVariablesMethod.ROW_ORDER
    return list(exclude.variable_names), str(getattr(method, "value", method))


def imputation(params: Any) -> dict[str, Any] | None:
    """``{"method", "k", "training_fraction", "return_data_imputed"}`` as given (None: the
    engine's defaults)."""
    value = getattr(params, "imputation", None)
    if value is None:
        return None
    fields = value.model_dump(mode="json", exclude_none=True)
    known = {"method", "k", "training_fraction", "return_data_imputed"}
    return {k: v for k, v in fields.items() if k in known} or None


def avatarization_options(params: Any) -> dict[str, Any]:
    """The keyword arguments of ``avatarize`` (and ``augment``) but the data, ``k``, the
    seed, the column types and what a table's schema says (keys, pseudonymization)."""
    exclude, method = exclusion(params)
    return {
        "ncp": params.ncp,
        "column_weights": params.column_weights,
        "imputation": imputation(params),
        "exclude_variables": exclude,
        "exclude_method": method,
        "categorical_reduction": bool(params.use_categorical_reduction),
    }


def _pick(params: Any, fallback: Any, name: str) -> Any:
    value = getattr(params, name, None) if params is not None else None
    if value is None and fallback is not None:
        value = getattr(fallback, name, None)
    return value


def privacy_options(params: Any, standard: Any) -> dict[str, Any]:
    """The keyword arguments of ``privacy_metrics`` from the privacy document's parameters of
    the table (``params``) and the avatarization's (``standard``), either may be None."""
    exclude, _method = exclusion(params)
    return {
        "ncp": _pick(params, standard, "ncp"),
        "column_weights": _pick(params, standard, "column_weights"),
        "imputation": imputation(params) or imputation(standard),
        "known_variables": getattr(params, "known_variables", None),
        "target": getattr(params, "target", None),
        "quantile_threshold": getattr(params, "quantile_threshold", None),
        "exclude_variables": exclude,
        "categorical_reduction": bool(_pick(params, standard, "use_categorical_reduction")),
    }


def signal_options(params: Any, standard: Any) -> tuple[dict[str, Any], list[str]]:
    """``(keyword arguments of signal_metrics, fields given but unused)``."""
    exclude, _method = exclusion(params)
    unused = [name for name in SIGNAL_UNUSED if getattr(params, name, None) is not None]
    return {"exclude_variables": exclude}, unused
