"""Every judgement the MCP tools give a model: a table's columns and identifiers, parameter
advice, and a run's verdict in plain words.

The tools call nothing else for these, so that sharper judges replace the ones below in one
place. What each function uses today, and what is meant to replace it:

==================  ==========================================  ================================
function            today (the engine on ``main``)              to swap in
==================  ==========================================  ================================
describe_columns    ``engine.schema.resolve_column_types``,     (unchanged)
                    ``engine.advice.table_summary``,
                    ``engine.schema.categorical_under_threshold``
find_identifiers    ``table_summary``'s ``probable_id`` (one    ``engine.detect_identifiers``
                    distinct value per row)                     (``IdentifierFinding.to_dict``)
advise              ``engine.advice.advise_parameters`` (rules  ``advise_parameters(targets=...,
                    on the table's shape; targets are checked   exclude_variables=...)``, the
                    for names only, not searched)               measured search
verdict             ``engine.metric_rows`` and ``engine.texts``  ``engine.privacy_verdict(...)
                    (the reports' verdict sentences)            .to_dict()``
==================  ==========================================  ================================

Privacy first: nothing here returns a cell value of the table (no modes, minima, examples), only
types, counts and shares, because what a tool returns is sent to the model's provider.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from avatars.engine.advice import advise_parameters, table_summary
from avatars.engine.errors import InvalidParameterError
from avatars.engine.metric_rows import checked_metrics, failed_metrics, metric_rows
from avatars.engine.schema import categorical_under_threshold, resolve_column_types
from avatars.engine.targets import PRIVACY_TARGETS, parse_target
from avatars.engine.texts import metric_name, tr

#: The metrics a model is shown first: the paper's two privacy measures and the two signal
#: scores (the others are in ``get_metrics``).
KEY_METRICS = ("hidden_rate", "local_cloaking", "hellinger_mean", "correlation_difference_mean")

#: Columns listed one by one in a description; wider tables are summarized beyond that.
MAX_LISTED_COLUMNS = 100


def describe_columns(
    df: pd.DataFrame, column_types: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Rows, and per column: its type, missing values, distinct values and flags
    (``identifier``, ``constant``, ``suggest_category``); no cell value."""
    types = resolve_column_types(df, column_types)
    summary = table_summary(df, column_types=types)
    identifiers = {f["column"]: f for f in find_identifiers(df, column_types)}
    few_valued = set(categorical_under_threshold(df)) - set(column_types or {})
    columns = [
        {
            "name": record["variable"],
            "type": record["type"],
            "missing": record["n_missing"],
            "missing_share": record["missing_share"],
            "distinct": record["n_unique"],
            "identifier": record["variable"] in identifiers,
            "constant": record["is_constant"],
            "suggest_category": record["variable"] in few_valued
            and record["variable"] not in identifiers,
        }
        for record in summary
    ]
    return {
        "rows": len(df),
        "columns": len(df.columns),
        "missing_cells": int(df.isna().sum().sum()),
        "identifiers": list(identifiers.values()),
        "constant_columns": [c["name"] for c in columns if c["constant"]],
        "suggested_categories": sorted(c["name"] for c in columns if c["suggest_category"]),
        "column_details": columns[:MAX_LISTED_COLUMNS],
        "column_details_truncated": len(columns) > MAX_LISTED_COLUMNS,
    }


def find_identifiers(
    df: pd.DataFrame,
    column_types: Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
) -> list[dict[str, str]]:
    """The columns (of ``columns``, default all) that identify rows:
    ``[{column, kind, evidence}]``, in table order."""
    summary = table_summary(df, column_types=resolve_column_types(df, column_types))
    wanted = set(df.columns if columns is None else columns)
    return [
        {
            "column": record["variable"],
            "kind": "unique_values",
            "evidence": f"one distinct value per row ({record['n_unique']} rows)",
        }
        for record in summary
        if record["probable_id"] and record["variable"] in wanted
    ]


def check_targets(targets: Mapping[str, float | str] | None) -> dict[str, str]:
    """``{metric: threshold}`` as target strings (``{"hidden_rate": 95}`` → ``"> 95"``);
    an :class:`InvalidParameterError` names a metric without a target or a bad threshold."""
    out: dict[str, str] = {}
    for name, target in (targets or {}).items():
        spec = PRIVACY_TARGETS.get(name)
        if spec is None or spec.target is None:
            raise InvalidParameterError(
                "targets", f"no target on {name!r}; targets can name {', '.join(PRIVACY_TARGETS)}"
            )
        if isinstance(target, bool) or not isinstance(target, int | float | str):
            raise InvalidParameterError(f"targets.{name}", f"expected a number, got {target!r}")
        if isinstance(target, str):
            try:
                parse_target(target)
            except ValueError:
                raise InvalidParameterError(
                    f"targets.{name}", f"expected e.g. '> 90' or a number, got {target!r}"
                ) from None
            out[name] = target.strip()
        else:
            out[name] = f"{parse_target(spec.target)[0]} {float(target):g}"
    return out


def advise(
    df: pd.DataFrame,
    column_types: Mapping[str, str] | None = None,
    targets: Mapping[str, float | str] | None = None,
) -> dict[str, Any]:
    """Suggested ``k``, ``ncp`` and imputation for ``df``, with what they rest on."""
    wanted = check_targets(targets)
    advice = advise_parameters(df, column_types=column_types)
    out: dict[str, Any] = {
        "k": advice["k"],
        "ncp": advice["ncp"],
        "imputation": advice["imputation"]["method"] if df.isna().any().any() else None,
        "basis": "the table's shape: k = round(0.75·√rows) within [5, 20], ncp = min(5, "
        "dimensions); not measured",
        "targets": wanted or None,
        "targets_searched": False,
    }
    if wanted:
        out["note"] = (
            "This advisor does not measure targets yet: avatarize with these parameters and "
            "read the verdict; if a target is missed, raise k and avatarize again."
        )
    return out


def verdict(
    privacy: Mapping[str, Any] | Sequence[Any] | None,
    signal: Mapping[str, Any] | Sequence[Any] | None,
    table: str,
) -> dict[str, Any]:
    """The privacy verdict of a run in plain words: ``status`` (``pass`` when every checked
    privacy target is met, ``fail``, or ``unknown`` when none could be checked), ``summary``
    (the privacy targets and the signal's, in sentences), the ``passed`` and ``failed``
    (name, value, target) privacy metrics, and ``changes``: what to do before sharing."""
    rows = metric_rows(privacy, "privacy")
    checked = checked_metrics(rows)
    failed = failed_metrics(checked)
    signal_checked = checked_metrics(metric_rows(signal, "signal"))
    signal_met = len(signal_checked) - len(failed_metrics(signal_checked))
    if not checked:
        status, sentence = "unknown", tr("no_targets", "en")
    elif failed:
        status = "fail"
        names = ", ".join(metric_name(r.name, "en") for r in failed)
        sentence = tr("targets_failed", "en", failed=len(failed), n=len(checked), names=names)
    else:
        status, sentence = "pass", tr("all_targets_met", "en", n=len(checked))
    signal_sentence = tr("signal_summary", "en", met=signal_met, n=len(signal_checked))
    changes = []
    if failed:
        changes.append(
            f"Do not share these avatars of {table!r} yet: raise k (each avatar then mixes more "
            "neighbours), avatarize again and compare the runs with compare_runs."
        )
    elif not checked:
        changes.append(f"Compute the privacy metrics of {table!r} before sharing its avatars.")
    return {
        "status": status,
        "summary": f"{sentence} {signal_sentence}",
        "passed": [r.name for r in checked if r.passed],
        "failed": [
            {"name": r.name, "value": _rounded(r.value), "target": r.target} for r in failed
        ],
        "changes": changes,
    }


def key_metrics(
    privacy: Mapping[str, Any] | Sequence[Any] | None,
    signal: Mapping[str, Any] | Sequence[Any] | None,
) -> dict[str, float | None]:
    """The values of :data:`KEY_METRICS` (None when not computed)."""
    values = {r.name: r.value for r in metric_rows(privacy, "privacy")}
    values.update({r.name: r.value for r in metric_rows(signal, "signal")})
    return {name: _rounded(values.get(name)) for name in KEY_METRICS}


def metric_list(
    result: Mapping[str, Any] | Sequence[Any] | None, kind: str
) -> list[dict[str, Any]]:
    """Every metric of a privacy or signal result: name, value, unit, target, passed and
    what it measures."""
    return [
        {
            "name": r.name,
            "value": _rounded(r.value),
            "unit": r.unit,
            "target": r.target,
            "passed": r.passed,
            "meaning": r.description,
        }
        for r in metric_rows(result, "privacy" if kind == "privacy" else "signal")
    ]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
