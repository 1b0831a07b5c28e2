"""Every judgement the MCP tools give a model: a table's columns and identifiers, parameter
advice, and a run's verdict in plain words.

The tools call nothing else for these, so that every judgement is the engine's own, the one
the CLI, the server's metrics files and the reports give:

==================  =================================================================
function            from the engine
==================  =================================================================
describe_columns    ``engine.schema.resolve_column_types``, ``engine.advice.table_summary``,
                    ``engine.schema.categorical_under_threshold``
find_identifiers    ``engine.detect_identifiers`` (e-mails, phones, national numbers, UUIDs,
                    unique text, integer sequences and codes, long numbers)
advise              ``engine.advise_parameters``: the data's shape, or with targets the
                    measured search for the k and ncp that meet them
verdict             ``engine.privacy_verdict`` (what passed, what did not, the warnings,
                    what to change), with the signal's summary
==================  =================================================================

Privacy first: nothing here returns a cell value of the table (no modes, minima, examples), only
types, counts and shares, because what a tool returns is sent to the model's provider.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from avatars.engine.advice import advise_parameters, parse_targets, table_summary
from avatars.engine.identifiers import detect_identifiers
from avatars.engine.metric_rows import (
    checked_metrics,
    failed_metrics,
    metric_rows,
    privacy_verdict,
)
from avatars.engine.schema import categorical_under_threshold, resolve_column_types
from avatars.engine.texts import tr

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
    ``[{column, kind, evidence}]``, in table order (``engine.detect_identifiers``: the evidence
    is counts and patterns, never a value)."""
    found = detect_identifiers(df, column_types=column_types, columns=columns)
    return [finding.to_dict() for finding in found]


def check_targets(targets: Mapping[str, float | str] | None) -> dict[str, str]:
    """``{metric: threshold}`` as target strings (``{"hidden_rate": 95}`` → ``"> 95"``);
    an :class:`InvalidParameterError` names a metric without a target or a bad threshold."""
    return parse_targets(targets) if targets else {}


def advise(
    df: pd.DataFrame,
    column_types: Mapping[str, str] | None = None,
    targets: Mapping[str, float | str] | None = None,
) -> dict[str, Any]:
    """Suggested ``k``, ``ncp`` and imputation for ``df``, with what they rest on: the data's
    shape, or with ``targets`` the engine's search, which measures candidates on this data
    (on a sample of a large table) and says whether every target was met."""
    wanted = check_targets(targets)
    advice = advise_parameters(df, column_types=column_types, targets=wanted or None)
    out: dict[str, Any] = {
        "k": advice["k"],
        "ncp": advice["ncp"],
        "imputation": advice["imputation"]["method"] if df.isna().any().any() else None,
        "basis": "the table's shape: k = round(0.75·√rows) within [5, 20], ncp = min(5, "
        "dimensions); not measured",
        "targets": wanted or None,
        "targets_searched": False,
    }
    search = advice.get("search")
    if search is not None:
        out.update(
            basis="measured: candidates avatarized and their privacy metrics computed on this "
            f"data ({search['rows_searched']} rows avatarized per candidate)",
            targets=search["targets"],
            targets_searched=True,
            met=search["met"],
            measured={name: _rounded(value) for name, value in search["measured"].items()},
            missed=search["missed"],
            message=search["message"],
        )
    return out


def verdict(
    privacy: Mapping[str, Any] | Sequence[Any] | None,
    signal: Mapping[str, Any] | Sequence[Any] | None,
    table: str,
) -> dict[str, Any]:
    """The privacy verdict of a run in plain words (``engine.privacy_verdict``): ``status``
    (``pass`` only when every checked privacy target is met and no warning says that the
    avatars carry the originals' identifiers, ``fail``, or ``unknown`` when none could be
    checked), ``summary`` (what passed, what did not, the warnings, then the signal's targets),
    the ``passed`` and ``failed`` (name, value, target) privacy metrics, the ``warnings`` and
    ``changes``: what to do before sharing."""
    judged = privacy_verdict(privacy).to_dict()
    signal_checked = checked_metrics(metric_rows(signal, "signal"))
    signal_met = len(signal_checked) - len(failed_metrics(signal_checked))
    signal_sentence = tr("signal_summary", "en", met=signal_met, n=len(signal_checked))
    changes = list(judged["changes"])
    if judged["status"] == "fail":
        changes.append(
            f"Do not share these avatars of {table!r} yet: change what the points above say, "
            "avatarize again and compare the runs with compare_runs."
        )
    elif judged["status"] == "unknown":
        changes.append(f"Compute the privacy metrics of {table!r} before sharing its avatars.")
    return {
        "status": judged["status"],
        "summary": f"{judged['summary']} {signal_sentence}",
        "passed": judged["passed"],
        "failed": [{**f, "value": _rounded(f["value"])} for f in judged["failed"]],
        "warnings": judged["warnings"],
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
