"""Pass targets of the metrics and the :class:`MetricValue` record shared by privacy and signal.

Privacy targets are the legacy platform's ``PrivacyMetricsTargets`` strings, identical in every
recorded output (method.md §2.0 targets table), and ours for the metrics the legacy platform
did not have (:data:`NEW_PRIVACY_TARGETS`: exact copies of unique records, identifiers kept in
row order, membership with a holdout). Signal: the legacy platform had target *fields*
but no value was ever recorded for ``hellinger_mean`` or the correlation difference (§3.1-3.2);
the 2026 documentation gives "> 70" for the 0-100 preservation scores (§3.1-3.2, [D]), which is
what ``hellinger_score`` and ``correlation_score`` are checked against.

A target string is ``"<op> <number>"`` with ``op`` among ``>``, ``>=``, ``<``, ``<=``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

Direction = Literal["higher_is_better", "lower_is_better"]
Criterion = Literal["singling_out", "linkability", "inference", "utility"]

HIGHER: Direction = "higher_is_better"
LOWER: Direction = "lower_is_better"


@dataclass(frozen=True)
class MetricTarget:
    """What a metric should reach, in which direction, and which risk it measures."""

    target: str | None
    direction: Direction
    criterion: Criterion
    unit: str


#: method.md §2.0: the legacy targets (all "higher = safer"); criteria after the EDPB/WP29 grouping.
PRIVACY_TARGETS: dict[str, MetricTarget] = {
    "hidden_rate": MetricTarget("> 90", HIGHER, "singling_out", "%"),
    "local_cloaking": MetricTarget("> 5", HIGHER, "singling_out", "avatars"),
    "distance_to_closest": MetricTarget("> 0.2", HIGHER, "singling_out", "distance"),
    "closest_distances_ratio": MetricTarget("> 0.3", HIGHER, "singling_out", "ratio"),
    "column_direct_match_protection": MetricTarget("> 50", HIGHER, "singling_out", "%"),
    "categorical_hidden_rate": MetricTarget("> 90", HIGHER, "singling_out", "%"),
    "row_direct_match_protection": MetricTarget("> 90", HIGHER, "singling_out", "%"),
    "correlation_protection_rate": MetricTarget("> 95", HIGHER, "linkability", "%"),
    "inference_continuous": MetricTarget("> 10", HIGHER, "inference", "%"),
    "inference_categorical": MetricTarget("> 10", HIGHER, "inference", "%"),
    "closest_rate": MetricTarget("> 90", HIGHER, "singling_out", "%"),
    # ours (issue 15), see NEW_PRIVACY_TARGETS
    "unique_copy_share": MetricTarget("< 1", LOWER, "singling_out", "%"),
    "unique_copy_share_known": MetricTarget("< 1", LOWER, "linkability", "%"),
    "identifier_protection": MetricTarget("> 99", HIGHER, "singling_out", "%"),
    "dcr_share": MetricTarget("< 60", LOWER, "inference", "%"),
    "membership_inference_auc": MetricTarget("< 0.6", LOWER, "inference", "AUC"),
}

#: The metrics we added to the legacy table, and why their targets are what they are:
#:
#: - ``unique_copy_share`` (< 1 %): avatars identical, on every compared column, to an original
#:   record that is unique in the original data. Such a copy discloses that individual's whole
#:   record; a copy of a record many individuals share discloses nobody. Fewer than 1 avatar
#:   in 100 (0 on continuous data, where exact copies do not happen by chance).
#: - ``unique_copy_share_known`` (< 1 %): the same on the quasi-identifiers (``known_variables``):
#:   an attacker who knows them finds the one avatar that matches a unique individual.
#: - ``identifier_protection`` (> 99 %): 100 − the largest share, over the original's
#:   identifier columns, of avatars that carry their own original's identifier (re-attached by
#:   row order: 0 %). 99 tolerates coincidences of new keys with old ones (1/n per avatar).
#: - ``dcr_share`` (< 60 %): with a holdout, the share of avatars closer to a training record
#:   than to a holdout record (50 % when the avatars are no closer to the records they were
#:   made from than to new ones; MOSTLY AI's QA report, sdmetrics' DCROverfittingProtection).
#:   60 leaves room for the sampling noise of holdouts of a few hundred records (±5 points).
#: - ``membership_inference_auc`` (< 0.6): AUC of an attacker who says "member" when a record
#:   is close to an avatar (0.5: a coin toss; anonymeter and the membership-inference
#:   literature call an AUC above 0.6 a measurable leak).
NEW_PRIVACY_TARGETS: tuple[str, ...] = (
    "unique_copy_share",
    "unique_copy_share_known",
    "identifier_protection",
    "dcr_share",
    "membership_inference_auc",
)

#: method.md §3.1-3.2: distances have no recorded target; the 0-100 scores target "> 70" [D 2026].
SIGNAL_TARGETS: dict[str, MetricTarget] = {
    "hellinger_mean": MetricTarget(None, LOWER, "utility", "distance"),
    "hellinger_std": MetricTarget(None, LOWER, "utility", "distance"),
    "correlation_difference_mean": MetricTarget(None, LOWER, "utility", "correlation"),
    "hellinger_score": MetricTarget("> 70", HIGHER, "utility", "score"),
    "correlation_score": MetricTarget("> 70", HIGHER, "utility", "score"),
}

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


def parse_target(target: str) -> tuple[str, float]:
    """``"> 90"`` → ``(">", 90.0)``."""
    text = target.strip()
    for symbol in (">=", "<=", ">", "<"):  # two-character operators first
        if text.startswith(symbol):
            return symbol, float(text[len(symbol) :].strip())
    raise ValueError(f"not a target: {target!r} (expected e.g. '> 90')")


def meets_target(value: float | None, target: str | None) -> bool | None:
    """Whether ``value`` satisfies ``target``; None when either is missing or not a number."""
    if target is None or value is None:
        return None
    number = float(value)
    if math.isnan(number):
        return None
    symbol, threshold = parse_target(target)
    return bool(_OPERATORS[symbol](number, threshold))


@dataclass
class MetricValue:
    """One reported metric: its value, how to read it, and whether it passes its target.

    ``provisional`` is True when the definition is our reading of an unpublished formula
    (method.md tags [U]/[I]): the value is "Avatar-compatible (provisional)".
    """

    name: str
    value: float | None
    unit: str
    direction: Direction
    target: str | None
    passed: bool | None
    description: str
    provisional: bool
    criterion: Criterion

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["value"] = _json_number(self.value)
        return out


def make_metric(
    name: str,
    value: float | None,
    description: str,
    *,
    provisional: bool = False,
    table: dict[str, MetricTarget] | None = None,
) -> MetricValue:
    """A :class:`MetricValue` with the unit, direction, target and criterion of ``name``."""
    spec = (table if table is not None else {**PRIVACY_TARGETS, **SIGNAL_TARGETS})[name]
    number = _json_number(value)
    return MetricValue(
        name=name,
        value=number,
        unit=spec.unit,
        direction=spec.direction,
        target=spec.target,
        passed=meets_target(number, spec.target),
        description=description,
        provisional=provisional,
        criterion=spec.criterion,
    )


def _json_number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) or math.isinf(number) else number
