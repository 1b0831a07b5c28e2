"""What the web pages say about a table and a run, all computed by the engine: one module to
swap when the engine learns more.

Everything a page shows about data comes from here, and everything here comes from the engine
or from a job's result files; nothing is made up. Three parts are stand-ins for capabilities
that are being added to the engine, each marked ``PLACEHOLDER`` below with what replaces it:

- **identifiers**: today a column is flagged when :func:`avatars.engine.advice.table_summary`
  finds one distinct value per row (``probable_id``) and the column holds integers or text.
  The choices offered are the two that are safe with today's engine: leave the column out of
  the avatars, or avatarize it as an ordinary variable. (Excluding it and re-attaching it by
  row order would copy the real identifiers onto the avatars: never offered.) To swap in:
  ``avatars.engine.identifiers.detect_identifiers`` and its choices (new keys, pseudonyms).
- **advice**: :func:`avatars.engine.advice.advise_parameters`, a rule on the table's size
  that knows no privacy target (``SUPPORTS_TARGETED_ADVICE`` is False, so no page offers a
  target it would ignore). To swap in: the measured search with privacy targets.
- **verdict**: built here from the metric rows (:mod:`avatars.engine.metric_rows`) with the
  reports' own sentences (:mod:`avatars.engine.texts`). To swap in: the engine's plain-words
  verdict with what to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from avatars.engine.advice import advise_parameters
from avatars.engine.metric_rows import MetricRow, checked_metrics, failed_metrics, metric_rows
from avatars.engine.schema import ColumnType
from avatars.engine.targets import PRIVACY_TARGETS
from avatars.engine.texts import Language, format_target, metric_name, tr

#: The choices offered for a column flagged as an identifier, the safe one first.
IDENTIFIER_CHOICES = ("drop", "keep")
#: Whether :func:`advise` takes privacy targets (PLACEHOLDER: not yet).
SUPPORTS_TARGETED_ADVICE = False
#: Types a flagged column may have (decimals, dates and booleans are measurements).
_IDENTIFIER_TYPES = {ColumnType.INT.value, ColumnType.CATEGORY.value}


@dataclass(frozen=True)
class ColumnReport:
    """One column as the check page shows it."""

    name: str
    type: str  # a ColumnType value
    missing_share: float
    n_unique: int
    #: Why the column identifies people (a key of the web catalogue), or None.
    identifier: str | None = None


@dataclass(frozen=True)
class Advice:
    """Suggested parameters and where they come from."""

    k: int
    ncp: int
    imputation_method: str | None
    #: The privacy targets the advice was searched for (empty: a rule that knows none).
    targets: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TableReport:
    rows: int
    columns: list[ColumnReport]
    advice: Advice

    @property
    def identifiers(self) -> list[ColumnReport]:
        return [c for c in self.columns if c.identifier]

    @property
    def has_missing(self) -> bool:
        return any(c.missing_share > 0 for c in self.columns)


def inspect_table(df: pd.DataFrame, column_types: Mapping[str, str] | None = None) -> TableReport:
    """Types, missing shares, distinct counts, identifiers and advice for ``df``."""
    advice = advise_parameters(df, column_types=column_types or None)
    columns = []
    for stats in advice["summary"]["stats"]:
        # PLACEHOLDER identifier rule (see the module docstring).
        flagged = bool(stats["probable_id"]) and stats["type"] in _IDENTIFIER_TYPES
        columns.append(
            ColumnReport(
                name=str(stats["variable"]),
                type=str(stats["type"]),
                missing_share=float(stats["missing_share"]),
                n_unique=int(stats["n_unique"]),
                identifier="why_unique" if flagged else None,
            )
        )
    imputation = advice.get("imputation") or {}
    has_missing = bool(df.isna().any().any())
    return TableReport(
        rows=len(df),
        columns=columns,
        advice=Advice(
            k=int(advice["k"]),
            ncp=int(advice["ncp"]),
            imputation_method=str(imputation.get("method")) if has_missing else None,
        ),
    )


def targets_checked() -> dict[str, str]:
    """The privacy targets every run is checked against (name → target)."""
    return {name: spec.target for name, spec in PRIVACY_TARGETS.items() if spec.target}


def describe_targets(
    language: Language, names: Sequence[str] = ("hidden_rate", "local_cloaking")
) -> str:
    targets = targets_checked()
    return ", ".join(
        f"{metric_name(name, language)} {format_target(targets[name], language)}"
        for name in names
        if name in targets
    )


def columns_to_drop(choices: Mapping[str, str]) -> list[str]:
    """The columns left out of the avatars, from the choice made for each identifier."""
    return [column for column, choice in choices.items() if choice == "drop"]


# -- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The run's verdict in plain words: ``status`` is ``pass``, ``fail`` or ``unknown``."""

    status: str
    headline: str
    sentences: list[str]


def privacy_rows(result: Any) -> list[MetricRow]:
    return metric_rows(result, "privacy")


def signal_rows(result: Any) -> list[MetricRow]:
    return metric_rows(result, "signal")


def verdict(
    table: str,
    privacy: Sequence[MetricRow],
    signal: Sequence[MetricRow],
    language: Language,
) -> Verdict:
    """PLACEHOLDER until the engine's own verdict lands: the reports' conclusion, from the
    privacy rows that have a target, and the signal summary."""
    checked = checked_metrics(privacy)
    failed = failed_metrics(privacy)
    sentences: list[str] = []
    if not checked:
        status = "unknown"
        sentences.append(tr("conclusion_unknown", language, table=table))
    elif failed:
        status = "fail"
        names = ", ".join(metric_name(row.name, language) for row in failed)
        sentences.append(
            tr("targets_failed", language, failed=len(failed), n=len(checked), names=names)
        )
        sentences.append(tr("conclusion_fail", language, table=table, names=names))
    else:
        status = "pass"
        sentences.append(tr("all_targets_met", language, n=len(checked)))
        sentences.append(tr("conclusion_pass", language, table=table))
    signal_checked = checked_metrics(signal)
    if signal_checked:
        met = sum(1 for row in signal_checked if row.passed)
        sentences.append(tr("signal_summary", language, met=met, n=len(signal_checked)))
    return Verdict(status=status, headline=f"verdict_{status}", sentences=sentences)
