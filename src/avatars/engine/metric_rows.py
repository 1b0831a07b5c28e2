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
