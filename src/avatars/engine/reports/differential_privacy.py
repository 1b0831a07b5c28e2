"""The report's differential-privacy section: the guarantee in plain words, ε per step, what
the guarantee does not cover, the unit of privacy (from the run's
:class:`~avatars.engine.dp.PrivacyAccounting`, ``metadata["differential_privacy"]``).

A FastDP run is said to be NOT differentially private end to end in its first sentence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from avatars.engine.reports.document import Bullets, Document, Heading, Paragraph, Table
from avatars.engine.texts import Language, format_number, tr


def differential_privacy_section(
    doc: Document, accounting: Mapping[str, Any], language: Language
) -> None:
    """Add the section for one table's DP run (nothing when ``accounting`` is empty)."""
    if not accounting:
        return
    epsilon = _epsilon(accounting.get("epsilon"), language)
    unit = str(accounting.get("unit_of_privacy") or "")
    end_to_end = bool(accounting.get("end_to_end"))
    if accounting.get("variant") == "fast_dp":
        lead, style = tr("dp_fast", language, epsilon=epsilon, unit=unit), "warn"
    elif end_to_end:
        lead, style = tr("dp_open", language, epsilon=epsilon, unit=unit), "pass"
    else:
        lead, style = tr("dp_open_not_end_to_end", language, epsilon=epsilon, unit=unit), "warn"
    doc.add(Heading(tr("dp_heading", language), 2), Paragraph(lead, style))  # type: ignore[arg-type]
    steps = [s for s in accounting.get("steps") or [] if isinstance(s, Mapping)]
    if steps:
        rows = tuple(
            (
                str(step.get("step", "")),
                str(step.get("description", "")),
                tr("dp_yes" if step.get("covered") else "dp_no", language),
                _epsilon(step.get("epsilon"), language),
            )
            for step in steps
        )
        doc.add(
            Heading(tr("dp_budget", language), 3),
            Table(
                header=(tr("dp_step", language), "", tr("dp_covered", language), "ε"),
                rows=rows,
                widths=(1.2, 4.0, 1.0, 0.8),
                numeric=frozenset({3}),
                status=tuple("pass" if s.get("covered") else "warn" for s in steps),
                status_column=2,
            ),
            Paragraph(
                tr(
                    "dp_epsilon_spent",
                    language,
                    spent=_epsilon(accounting.get("epsilon_spent"), language),
                    epsilon=epsilon,
                ),
                "note",
            ),
        )
    not_covered = [str(item) for item in accounting.get("not_covered") or []]
    if not_covered:
        doc.add(Heading(tr("dp_not_covered", language), 3), Bullets(tuple(not_covered)))
    statement = accounting.get("statement")
    if statement:
        doc.add(Paragraph(str(statement), "note"))
    doc.add(Paragraph(tr("dp_pairing", language), "note"))


def _epsilon(value: Any, language: Language) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "—"
    return format_number(float(value), language, 4 if value < 0.01 else 2)
