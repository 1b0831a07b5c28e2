"""The residual-risk rules of the privacy impact assessment: each criterion of the Article 29
Working Party (singling out, linkability, inference) gets a risk from its metrics' verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from avatars.engine.metric_rows import MetricRow, checked_metrics, failed_metrics

Risk = Literal["low", "medium", "high", "unknown"]

#: The three criteria of the Article 29 WP Opinion 05/2014, in the order a PIA presents them.
CRITERIA: tuple[str, ...] = ("singling_out", "linkability", "inference")

#: Metrics whose failure alone makes a criterion's residual risk high (method.md §2.0 mapping:
#: singling out → hidden rate, linkability → correlation protection rate, inference → inference).
MAIN_METRICS: dict[str, tuple[str, ...]] = {
    "singling_out": ("hidden_rate",),
    "linkability": ("correlation_protection_rate",),
    "inference": ("inference_continuous", "inference_categorical"),
}

_RISK_ORDER: dict[Risk, int] = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True)
class CriterionAssessment:
    criterion: str
    metrics: list[MetricRow]
    risk: Risk


def assess_criteria(rows: Sequence[MetricRow]) -> list[CriterionAssessment]:
    """The residual risk of each criterion from its metrics' verdicts.

    low: every checked metric passes; high: a main metric (:data:`MAIN_METRICS`) fails, or more
    than half of the checked metrics do; medium: otherwise; unknown: nothing was checked.
    The rule is deliberately simple so that a reader can re-derive it from the tables.
    """
    out = []
    for criterion in CRITERIA:
        metrics = [row for row in rows if row.criterion == criterion]
        checked = checked_metrics(metrics)
        failed = failed_metrics(checked)
        risk: Risk
        if not checked:
            risk = "unknown"
        elif not failed:
            risk = "low"
        elif any(row.name in MAIN_METRICS[criterion] for row in failed) or 2 * len(failed) > len(
            checked
        ):
            risk = "high"
        else:
            risk = "medium"
        out.append(CriterionAssessment(criterion, metrics, risk))
    return out


def overall_risk(assessments: Sequence[CriterionAssessment]) -> Risk:
    """The worst risk of the assessed criteria; unknown when none was assessed."""
    known = [a.risk for a in assessments if a.risk != "unknown"]
    if not known:
        return "unknown"
    return max(known, key=lambda risk: _RISK_ORDER[risk])
