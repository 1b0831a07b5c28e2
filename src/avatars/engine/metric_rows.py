"""Metrics results as rows to print: what the figures' metrics summary and the reports show.

Reads the metrics jobs' results (``<table>.privacy.json``, ``<table>.signal.json``, or the
engine's ``to_dict()``). The engine's output carries a ``metrics`` list (name, value, unit,
direction, target, passed, description, provisional, criterion) next to the flat legacy fields.
A result that has only the flat fields (an older file, another producer) is read too: targets,
units and criteria then come from :mod:`avatars.engine.targets`, so what is printed never
depends on which producer wrote the JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from avatars.engine.targets import PRIVACY_TARGETS, SIGNAL_TARGETS, MetricTarget, meets_target
from avatars.engine.texts import (
    Language,
    format_metric_value,
    format_target,
    metric_name,
    tr,
    warning_text,
)

#: Metrics whose definition is published (method.md §2.1-2.4); the others are provisional.
_PUBLISHED_DEFINITIONS = frozenset(
    {"hidden_rate", "local_cloaking", "distance_to_closest", "closest_distances_ratio"}
)


@dataclass(frozen=True)
class MetricRow:
    """One metric as the reports print it."""

    name: str
    value: float | None
    unit: str
    direction: str
    target: str | None
    passed: bool | None
    provisional: bool
    criterion: str
    description: str


def unwrap_result(result: Mapping[str, Any] | Sequence[Any] | None) -> dict[str, Any]:
    """A metrics result as one dict: the official client's files may hold a one-element list."""
    if result is None:
        return {}
    if isinstance(result, Mapping):
        return dict(result)
    return dict(result[0]) if result else {}


def metric_rows(
    result: Mapping[str, Any] | Sequence[Any] | None, kind: Literal["privacy", "signal"]
) -> list[MetricRow]:
    """The metrics of a privacy or signal result, in the producer's order.

    Metrics that were not computed (value None, e.g. inference without a target) are left out:
    the PIA says "not assessed" for their criterion instead of printing an empty row.
    """
    data = unwrap_result(result)
    table = PRIVACY_TARGETS if kind == "privacy" else SIGNAL_TARGETS
    rows: list[MetricRow] = []
    listed = data.get("metrics")
    if isinstance(listed, list) and listed:
        for item in listed:
            if not isinstance(item, Mapping) or item.get("value") is None:
                continue
            rows.append(_row_from_dict(item, table))
        return rows
    for name, spec in table.items():  # flat legacy fields only
        value = _number(data.get(name))
        if value is None:
            continue
        rows.append(_row(name, value, spec, description=""))
    return rows


def _row_from_dict(item: Mapping[str, Any], table: Mapping[str, MetricTarget]) -> MetricRow:
    name = str(item.get("name", ""))
    spec = table.get(name)
    value = _number(item.get("value"))
    target = item.get("target", spec.target if spec else None)
    passed = item.get("passed")
    if passed is None and target is not None:
        passed = meets_target(value, target)
    return MetricRow(
        name=name,
        value=value,
        unit=str(item.get("unit") or (spec.unit if spec else "")),
        direction=str(item.get("direction") or (spec.direction if spec else "")),
        target=target,
        passed=passed,
        provisional=bool(item.get("provisional", False)),
        criterion=str(item.get("criterion") or (spec.criterion if spec else "")),
        description=str(item.get("description") or ""),
    )


def _row(name: str, value: float, spec: MetricTarget, description: str) -> MetricRow:
    return MetricRow(
        name=name,
        value=value,
        unit=spec.unit,
        direction=spec.direction,
        target=spec.target,
        passed=meets_target(value, spec.target),
        provisional=name not in _PUBLISHED_DEFINITIONS,
        criterion=spec.criterion,
        description=description,
    )


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


# -- verdicts ----------------------------------------------------------------------------------
def failed_metrics(rows: Sequence[MetricRow]) -> list[MetricRow]:
    return [row for row in rows if row.passed is False]


def checked_metrics(rows: Sequence[MetricRow]) -> list[MetricRow]:
    """Metrics that have a target and a value, so pass or fail."""
    return [row for row in rows if row.passed is not None]


# -- the privacy verdict, in words -------------------------------------------------------------
#: Warnings that make the verdict fail: the avatars carry identifiers of the original records.
BLOCKING_WARNINGS = frozenset({"identifier_original_order", "identifier_original_values"})

#: What to change when a metric misses its target (texts.py keys ``change_<key>``).
_CHANGES: dict[str, str] = {
    "hidden_rate": "more_neighbours",
    "local_cloaking": "more_neighbours",
    "distance_to_closest": "more_neighbours",
    "closest_distances_ratio": "more_neighbours",
    "closest_rate": "more_neighbours",
    "categorical_hidden_rate": "more_neighbours",
    "row_direct_match_protection": "copies",
    "unique_copy_share": "copies",
    "unique_copy_share_known": "known_copies",
    "column_direct_match_protection": "unique_values",
    "correlation_protection_rate": "known_copies",
    "inference_continuous": "inference",
    "inference_categorical": "inference",
    "identifier_protection": "identifiers",
    "dcr_share": "membership",
    "membership_inference_auc": "membership",
}

VerdictStatus = Literal["pass", "fail", "unknown"]


@dataclass(frozen=True)
class PrivacyVerdict:
    """The privacy verdict of one table: ``pass`` only when every checked target is met and
    no warning says that the avatars carry the original records' identifiers; ``fail`` when a
    target is missed or such a warning is present; ``unknown`` when nothing could be checked.
    Other warnings (columns re-attached by row order) are stated without failing the verdict.
    """

    status: VerdictStatus
    passed: tuple[MetricRow, ...]
    failed: tuple[MetricRow, ...]
    warnings: tuple[dict[str, Any], ...]

    @property
    def blocking_warnings(self) -> list[dict[str, Any]]:
        return [w for w in self.warnings if w.get("code") in BLOCKING_WARNINGS]

    def summary(self, language: Language = "en") -> str:
        """What passed, what did not, and the warnings, in plain words."""
        parts = []
        if self.status == "unknown":
            parts.append(tr("verdict_unknown", language))
        elif self.status == "pass":
            parts.append(
                tr(
                    "verdict_all_met",
                    language,
                    n=len(self.passed),
                    names=self._names(self.passed, language),
                )
            )
        else:
            if self.failed:
                missed = ", ".join(_described(row, language) for row in self.failed)
                parts.append(
                    tr(
                        "verdict_missed",
                        language,
                        failed=len(self.failed),
                        n=len(self.failed) + len(self.passed),
                        missed=missed,
                    )
                )
            else:
                parts.append(tr("verdict_identifiers", language))
            if self.passed:
                parts.append(tr("verdict_met", language, names=self._names(self.passed, language)))
        for warning in self.warnings:
            parts.append(warning_text(warning, language))
        return " ".join(parts)

    def changes(self, language: Language = "en") -> list[str]:
        """What to change, one sentence per cause, most urgent first (identifiers)."""
        keys = []
        if self.blocking_warnings:
            keys.append("identifiers")
        for row in self.failed:
            key = _CHANGES.get(row.name, "more_neighbours")
            if key not in keys:
                keys.append(key)
        return [tr(f"change_{key}", language) for key in keys]

    def to_dict(self, language: Language = "en") -> dict[str, Any]:
        """JSON: ``status``, ``passed`` (names), ``failed`` (name, value, target), ``warnings``,
        ``summary`` and ``changes`` (sentences in ``language``)."""
        return {
            "status": self.status,
            "passed": [row.name for row in self.passed],
            "failed": [
                {"name": row.name, "value": row.value, "target": row.target} for row in self.failed
            ],
            "warnings": [dict(w) for w in self.warnings],
            "summary": self.summary(language),
            "changes": self.changes(language),
        }

    @staticmethod
    def _names(rows: Sequence[MetricRow], language: Language) -> str:
        return ", ".join(metric_name(row.name, language) for row in rows)


def privacy_verdict(
    result: Mapping[str, Any] | Sequence[Any] | None,
    warnings: Sequence[Mapping[str, Any]] | None = None,
) -> PrivacyVerdict:
    """The verdict of a privacy result (its ``to_dict()``/JSON), of its ``metrics`` list, or
    of :class:`MetricRow` rows; ``warnings`` default to the result's ``metadata.warnings`` (an
    avatarization's warnings can be added: they are merged)."""
    rows: list[MetricRow]
    found: list[Mapping[str, Any]] = []
    if isinstance(result, Sequence) and result and isinstance(result[0], MetricRow):
        rows = list(result)
    elif (
        isinstance(result, Sequence)
        and result
        and isinstance(result[0], Mapping)
        and "name" in result[0]
    ):
        rows = metric_rows({"metrics": list(result)}, "privacy")
    else:
        data = unwrap_result(result)
        rows = metric_rows(data, "privacy")
        found = list((data.get("metadata") or {}).get("warnings") or [])
    merged = merge_warnings([*found, *(warnings or [])])
    checked = checked_metrics(rows)
    failed = failed_metrics(checked)
    passed = [row for row in checked if row.passed]
    status: VerdictStatus
    if failed or any(w.get("code") in BLOCKING_WARNINGS for w in merged):
        status = "fail"
    elif checked:
        status = "pass"
    else:
        status = "unknown"
    return PrivacyVerdict(status, tuple(passed), tuple(failed), tuple(merged))


def merge_warnings(warnings: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One warning per code, with the union of their columns (in first-seen order) and the
    first message; warnings without a code are kept as they are."""
    merged: dict[str, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for warning in warnings:
        code = warning.get("code")
        if not code:
            out.append(dict(warning))
            continue
        if code not in merged:
            merged[code] = {**warning, "columns": list(warning.get("columns") or [])}
            out.append(merged[code])
            continue
        columns = merged[code]["columns"]
        columns += [c for c in warning.get("columns") or [] if c not in columns]
    return out


def _described(row: MetricRow, language: Language) -> str:
    """``hidden rate 85.20 % (target > 90)``."""
    value = format_metric_value(row.value, row.unit, language)
    target = format_target(row.target, language)
    return tr(
        "verdict_metric", language, name=metric_name(row.name, language), value=value, target=target
    )
