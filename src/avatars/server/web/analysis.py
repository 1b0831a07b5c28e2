"""What the engine says about a table and a run, as the web pages show it.

Everything a page shows about data comes from here, and everything here comes from the engine
or from a job's result files; nothing is made up:

- **identifiers**: :func:`avatars.engine.identifiers.detect_identifiers`, each flagged column
  with its kind of evidence. A flagged column is never avatarized; the page offers the three
  safe things to do with it (:data:`IDENTIFIER_CHOICES`): leave it out of the avatars, declare
  it the table's key (the avatars get new pseudonymous keys), or replace it by pseudonyms
  (FAKER, a keyed SHA-256 digest, a random UUID). Excluding it and re-attaching it by row order
  would copy the real identifiers onto the avatars: never offered. The choice reaches the job
  through the resource set (:func:`avatars.server.web.runs.start_run`).
- **advice**: :func:`avatars.engine.advice.advise_parameters` on the columns that will be
  avatarized: the shape rules when the check page opens; the measured search for a privacy
  target when the person asks for one is an advice job (a job worker avatarizes candidates on
  a sample of at most ``SEARCH_MAX_ROWS`` rows: seconds to a minute), never this process;
  :func:`check_target` checks the target before the job is made, :func:`advised` reads the
  job's result back into the check page's report.
- **verdict**: :func:`avatars.engine.metric_rows.privacy_verdict` on the privacy result:
  ``pass`` only when every checked target holds and no warning says that the avatars carry
  identifiers; what passed, what did not, the warnings and what to change, in plain words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from avatars.engine.advice import (
    SEARCHABLE_METRICS,
    advise_parameters,
    parse_targets,
    table_summary,
)
from avatars.engine.identifiers import IdentifierKind, detect_identifiers
from avatars.engine.metric_rows import (
    MetricRow,
    checked_metrics,
    metric_rows,
    privacy_verdict,
)
from avatars.engine.targets import PRIVACY_TARGETS
from avatars.engine.texts import (
    Language,
    format_metric_value,
    format_target,
    metric_name,
    tr,
)
from avatars.protocol.enums import PiiType, PseudonymizationStrategy
from avatars.server.web.i18n import translate

#: What a person may do with a column flagged as an identifier, the safe default first:
#: leave it out, declare it the table's key, or replace it by pseudonyms of one strategy.
IDENTIFIER_CHOICES: tuple[str, ...] = (
    "drop",
    "key",
    PseudonymizationStrategy.FAKER.value,
    PseudonymizationStrategy.HASH_SHA256.value,
    PseudonymizationStrategy.UUID4.value,
)
#: The choices that pseudonymize.
PSEUDONYM_CHOICES = frozenset(IDENTIFIER_CHOICES[2:])
#: The kind of fake a FAKER pseudonym imitates, from the evidence that flagged the column.
_PII_OF_KIND = {
    IdentifierKind.EMAIL: PiiType.EMAIL,
    IdentifierKind.PHONE: PiiType.PHONE,
    IdentifierKind.NATIONAL_NUMBER: PiiType.SSN,
}
#: Privacy metrics a person may give a target for on the check page (those the search
#: measures), the most common first.
ADVICE_METRICS: tuple[str, ...] = tuple(
    name
    for name in (
        "hidden_rate",
        "local_cloaking",
        "unique_copy_share",
        "dcr_share",
        "distance_to_closest",
    )
    if name in SEARCHABLE_METRICS
)


@dataclass(frozen=True)
class ColumnReport:
    """One column as the check page shows it."""

    name: str
    type: str  # a ColumnType value
    missing_share: float
    n_unique: int
    #: Why the column identifies people (a key of the web catalogue), or None.
    identifier: str | None = None
    #: The engine's own words for that evidence (English), when it gives them.
    evidence: str | None = None
    #: The fake a FAKER pseudonym of this column imitates.
    pii_type: str = PiiType.FREE_TEXT.value


@dataclass(frozen=True)
class Advice:
    """Suggested parameters and where they come from."""

    k: int
    ncp: int
    imputation_method: str | None
    #: The privacy targets the advice was searched for (empty: the shape rules).
    targets: Mapping[str, str] = field(default_factory=dict)
    #: Whether the suggested parameters met every target (None: no target).
    met: bool | None = None
    #: What was measured for the suggestion: ``(metric, value, unit, target)``.
    measured: tuple[tuple[str, float | None, str, str], ...] = ()
    rows_searched: int | None = None


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
    """Types, missing shares, distinct counts, identifiers and advice for ``df``; the advice
    leaves the identifiers out (whatever is chosen for them, they are not avatarized)."""
    findings = {f.column: f for f in detect_identifiers(df, column_types=column_types or None)}
    advice = advise_parameters(
        df, column_types=column_types or None, exclude_variables=list(findings) or None
    )
    summary = {str(s["variable"]): s for s in table_summary(df, column_types=column_types or None)}
    columns = []
    for name in map(str, df.columns):
        finding = findings.get(name)
        stats = summary[name]
        columns.append(
            ColumnReport(
                name=name,
                type=str(stats["type"]),
                missing_share=float(stats["missing_share"]),
                n_unique=int(stats["n_unique"]),
                identifier=f"why_{finding.kind.value}" if finding else None,
                evidence=finding.evidence if finding else None,
                pii_type=(
                    _PII_OF_KIND.get(finding.kind, PiiType.FREE_TEXT)
                    if finding
                    else PiiType.FREE_TEXT
                ).value,
            )
        )
    has_missing = any(c.missing_share > 0 for c in columns)
    return TableReport(rows=len(df), columns=columns, advice=_advice(advice, has_missing))


def _advice(advice: Mapping[str, Any], has_missing: bool) -> Advice:
    imputation = advice.get("imputation") or {}
    search = advice.get("search")
    if not isinstance(search, Mapping):
        return Advice(
            k=int(advice["k"]),
            ncp=int(advice["ncp"]),
            imputation_method=str(imputation.get("method")) if has_missing else None,
        )
    targets = {str(n): str(t) for n, t in (search.get("targets") or {}).items()}
    measured = search.get("measured") or {}
    return Advice(
        k=int(advice["k"]),
        ncp=int(advice["ncp"]),
        imputation_method=str(imputation.get("method")) if has_missing else None,
        targets=targets,
        met=bool(search.get("met")),
        measured=tuple(
            (name, _number(measured.get(name)), PRIVACY_TARGETS[name].unit, target)
            for name, target in targets.items()
            if name in PRIVACY_TARGETS
        ),
        rows_searched=int(search.get("rows_searched") or 0) or None,
    )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def check_target(metric: str, threshold: float) -> dict[str, float]:
    """The advice document's ``targets`` for ``metric``'s target ``threshold`` (compared as
    the metric's default target is: ``hidden_rate`` 95 means "> 95"), checked as the advice
    job will read it. Raises the engine's :class:`InvalidParameterError` naming the field."""
    from avatars.engine.errors import InvalidParameterError

    if metric not in ADVICE_METRICS:
        raise InvalidParameterError(
            "target_metric", f"expected one of {', '.join(ADVICE_METRICS)}, got {metric!r}"
        )
    targets = {metric: threshold}
    parse_targets(targets)
    return targets


def advised(report: TableReport, advice: Mapping[str, Any]) -> TableReport:
    """The check page's ``report`` with the parameters of an advice job's result (``advice``:
    the table's entry of ``advice.json``, :func:`advise_parameters`' output)."""
    return replace(report, advice=_advice(advice, report.has_missing))


def describe_advice(advice: Advice, language: Language) -> list[str]:
    """The advice in plain words: what was searched, what the suggestion measured."""
    if not advice.targets:
        return []
    wanted = describe_wanted(advice.targets, language)
    measured = ", ".join(
        f"{metric_name(name, language)} {format_metric_value(value, unit, language)}"
        for name, value, unit, _target in advice.measured
    )
    key = "advice_target_met" if advice.met else "advice_target_missed"
    return [translate(key, language, targets=wanted, k=advice.k, ncp=advice.ncp, measured=measured)]


def target_strings(targets: Mapping[str, float | str]) -> dict[str, str]:
    """``{metric: target string}`` of an advice document's ``targets`` (``{"hidden_rate":
    85}`` → ``{"hidden_rate": "> 85"}``); empty when they do not parse."""
    from avatars.engine.errors import AvatarsEngineError

    try:
        return parse_targets(targets) if targets else {}
    except AvatarsEngineError:
        return {}


def describe_wanted(targets: Mapping[str, str], language: Language) -> str:
    """Targets (``{metric: target string}``) in plain words: "Hidden rate > 85"."""
    return ", ".join(
        f"{metric_name(name, language)} {format_target(target, language)}"
        for name, target in targets.items()
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


@dataclass(frozen=True)
class IdentifierPlan:
    """What the run does with the flagged columns: the YAML's key column and pseudonyms, and
    the columns left out of the table it uploads."""

    drop: list[str]
    key: str | None
    #: ``{column: the schema's pseudonymization strategy object}``
    pseudonymize: dict[str, dict[str, Any]]

    @property
    def not_avatarized(self) -> list[str]:
        return [*self.drop, *([self.key] if self.key else []), *self.pseudonymize]


def identifier_plan(choices: Mapping[str, str], report: TableReport) -> IdentifierPlan:
    """The plan of ``choices`` (``{column: choice}``, each among :data:`IDENTIFIER_CHOICES`);
    a ValueError names a column that is not flagged, an unknown choice or a second key."""
    flagged = {c.name: c for c in report.identifiers}
    drop, keys, pseudonymize = [], [], {}
    for column, choice in choices.items():
        if column not in flagged or choice not in IDENTIFIER_CHOICES:
            raise ValueError(f"no choice {choice!r} for column {column!r}")
        if choice == "drop":
            drop.append(column)
        elif choice == "key":
            keys.append(column)
        elif choice == PseudonymizationStrategy.FAKER.value:
            pseudonymize[column] = {"kind": choice, "pii_type": flagged[column].pii_type}
        else:
            pseudonymize[column] = {"kind": choice}
    if len(keys) > 1:
        raise ValueError(
            f"only one column can be the table's key, got {', '.join(map(repr, keys))}: "
            "leave out or pseudonymize the others"
        )
    if keys and pseudonymize:
        # A table with a key runs through the linked-tables jobs, which do not pseudonymize.
        raise ValueError(
            f"the key {keys[0]!r} and the pseudonymized {', '.join(map(repr, pseudonymize))} "
            "cannot go together on this platform yet: leave one of them out"
        )
    return IdentifierPlan(drop=drop, key=keys[0] if keys else None, pseudonymize=pseudonymize)


def columns_to_drop(choices: Mapping[str, str]) -> list[str]:
    """The columns left out of the avatars, from the choice made for each identifier."""
    return [column for column, choice in choices.items() if choice == "drop"]


# -- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The run's verdict in plain words: ``status`` is ``pass`` (every privacy target holds),
    ``fail`` or ``unknown``; ``changes``: what to change, one sentence per cause."""

    status: str
    headline: str
    sentences: list[str]
    changes: list[str] = field(default_factory=list)


def privacy_rows(result: Any) -> list[MetricRow]:
    return metric_rows(result, "privacy")


def signal_rows(result: Any) -> list[MetricRow]:
    return metric_rows(result, "signal")


def verdict(privacy_result: Any, signal: Sequence[MetricRow], language: Language) -> Verdict:
    """The verdict of a run: the engine's privacy verdict (what passed with its target, what
    did not, the warnings), then how much of the signal was kept."""
    found = privacy_verdict(privacy_result) if privacy_result is not None else None
    status = str(found.status) if found is not None else "unknown"
    sentences = [found.summary(language)] if found is not None else []
    if found is None:
        sentences.append(translate("verdict_no_privacy", language))
    signal_checked = checked_metrics(signal)
    if signal_checked:
        met = sum(1 for row in signal_checked if row.passed)
        sentences.append(tr("signal_summary", language, met=met, n=len(signal_checked)))
    changes = found.changes(language) if found is not None and status != "pass" else []
    changes = [_for_the_web(change, language) for change in changes]
    return Verdict(
        status=status, headline=f"verdict_{status}", sentences=sentences, changes=changes
    )


#: The engine's changes that name the command line's ``avatars advise``: said the web's way.
_WEB_CHANGES = ("more_neighbours", "copies", "membership")


def _for_the_web(change: str, language: Language) -> str:
    """``change`` (one of the engine's "what to change" sentences), with the check page's
    advice instead of a command a person of the web pages does not type."""
    for key in _WEB_CHANGES:
        if change == tr(f"change_{key}", language):
            return translate(f"web_change_{key}", language)
    return change
