"""What the privacy impact assessment says (the ``report_pia`` job's ``<table>.report.pia.docx``).

Organised as a data protection officer reads it: the context of the processing, an overview of
the three criteria of the Article 29 WP Opinion 05/2014 (singling out, linkability, inference)
with their residual risk, one section per criterion with the metrics that answer it (or why it
was not assessed), the overall residual risk, the measures taken, the limitations, and a block
to sign. The residual-risk rule (:func:`~avatars.engine.reports.risk.assess_criteria`) is
printed in the document so that the reader can check it against the tables.
"""

from __future__ import annotations

from datetime import datetime

from avatars import __version__
from avatars.engine.metric_rows import checked_metrics, failed_metrics
from avatars.engine.reports.document import (
    Bullets,
    Document,
    Heading,
    Paragraph,
    ParagraphStyle,
    Signatures,
    Status,
    Table,
)
from avatars.engine.reports.inputs import PiaContext, PreparedTable
from avatars.engine.reports.report import metrics_table
from avatars.engine.reports.risk import (
    MAIN_METRICS,
    CriterionAssessment,
    Risk,
    assess_criteria,
    overall_risk,
)
from avatars.engine.texts import (
    Language,
    context_value,
    criterion_definition,
    criterion_name,
    format_date,
    format_integer,
    metric_name,
    tr,
    warning_text,
)

_RISK_STATUS: dict[Risk, Status] = {
    "low": "pass",
    "medium": "warn",
    "high": "fail",
    "unknown": "none",
}


def risk_text(risk: Risk, language: Language) -> str:
    return tr(f"risk_{risk}", language)


def pia_document(
    table: PreparedTable, *, language: Language, context: PiaContext, created: datetime
) -> Document:
    doc = Document(
        title=tr("pia_title", language, table=table.name),
        language=language,
        created=created,
        subtitle=tr(
            "generated_on",
            language,
            date=format_date(created, language),
            engine="avatars",
            version=__version__,
        ),
    )
    doc.add(Paragraph(tr("pia_intro", language, table=table.name), "lead"))
    _context(doc, table, context, language)
    assessments = assess_criteria(table.privacy)
    _overview(doc, assessments, language)
    for assessment in assessments:
        _criterion(doc, assessment, language)
    _overall(doc, assessments, language)
    _measures(doc, table, language)
    doc.add(
        Heading(tr("limitations", language)),
        Bullets(
            (
                *((tr("limitation_provisional", language),) if _any_provisional(table) else ()),
                tr("limitation_scope", language),
            )
        ),
    )
    doc.add(
        Heading(tr("signatures", language)),
        Paragraph(tr("opinion", language)),
        Paragraph(" "),
        Signatures(
            header=(
                tr("role", language),
                tr("name", language),
                tr("date", language),
                tr("signature", language),
            ),
            roles=(
                tr("role_author", language),
                tr("role_dpo", language),
                tr("role_controller", language),
            ),
        ),
    )
    return doc


def _any_provisional(table: PreparedTable) -> bool:
    return any(r.provisional for r in table.privacy)


def _context(doc: Document, table: PreparedTable, context: PiaContext, language: Language) -> None:
    params = table.metadata.get("parameters") or {}
    records = (
        f"{_int(table.n_rows, language)} / {_int(table.n_avatar_rows, language)}"
        if table.n_rows is not None
        else "—"
    )
    pairs = [
        (tr("ctx_data_recipient", language), context_value(context.data_recipient, language)),
        (tr("ctx_data_type", language), context_value(context.data_type, language)),
        (tr("ctx_data_subject", language), context_value(context.data_subject, language)),
        (tr("ctx_sensitivity_level", language), context_value(context.sensitivity_level, language)),
        (tr("ctx_table", language), table.name),
        (tr("ctx_records", language), records),
    ]
    if params:
        method = tr(
            "ctx_method_value", language, k=params.get("k", "—"), ncp=params.get("ncp", "—")
        )
        pairs.append((tr("ctx_method", language), method))
    pairs += [
        (tr("ctx_date", language), format_date(doc.created, language)),
        (tr("ctx_targets", language), tr("ctx_targets_value", language)),
    ]
    doc.add(
        Heading(tr("context", language)),
        Table(header=("", ""), rows=tuple(pairs), widths=(2.5, 5), key_value=True),
    )


def _int(value: int | None, language: Language) -> str:
    return "—" if value is None else format_integer(value, language)


def _overview(doc: Document, assessments: list[CriterionAssessment], language: Language) -> None:
    rows = []
    for a in assessments:
        checked = checked_metrics(a.metrics)
        passed = len(checked) - len(failed_metrics(checked))
        rows.append(
            (
                criterion_name(a.criterion, language).capitalize(),
                ", ".join(metric_name(m.name, language) for m in a.metrics)
                or tr("not_assessed", language),
                f"{passed} / {len(checked)}" if checked else "—",
                risk_text(a.risk, language),
            )
        )
    doc.add(
        Heading(tr("criteria_overview", language)),
        Table(
            header=(
                tr("criterion", language),
                tr("metrics_col", language),
                tr("result", language),
                tr("residual_risk", language),
            ),
            rows=tuple(rows),
            widths=(1.6, 4.2, 1.0, 1.3),
            numeric=frozenset({2}),
            status=tuple(_RISK_STATUS[a.risk] for a in assessments),
            status_column=3,
        ),
    )
    main = ", ".join(
        metric_name(name, language) for names in MAIN_METRICS.values() for name in names
    )
    doc.add(Paragraph(tr("risk_rule", language, main=main), "note"))


def _criterion(doc: Document, assessment: CriterionAssessment, language: Language) -> None:
    criterion = assessment.criterion
    doc.add(
        Heading(criterion_name(criterion, language).capitalize()),
        Paragraph(
            f"{tr('criterion_definition', language)} — {criterion_definition(criterion, language)}"
        ),
    )
    if assessment.metrics:
        doc.add(metrics_table(assessment.metrics, language))
    else:
        doc.add(Paragraph(tr(f"not_assessed_{criterion}", language), "note"))
    statement = tr(
        "risk_statement",
        language,
        criterion=criterion_name(criterion, language),
        risk=risk_text(assessment.risk, language).lower(),
    )
    doc.add(Paragraph(statement, _style(_RISK_STATUS[assessment.risk])))


def _style(status: Status) -> ParagraphStyle:
    return "note" if status == "none" else status


def _overall(doc: Document, assessments: list[CriterionAssessment], language: Language) -> None:
    risk = overall_risk(assessments)
    doc.add(Heading(tr("overall_residual_risk", language)))
    if risk == "unknown":
        doc.add(Paragraph(tr("overall_none", language), "fail"))
        return
    doc.add(
        Paragraph(
            tr("overall_statement", language, risk=risk_text(risk, language).lower()),
            _style(_RISK_STATUS[risk]),
        )
    )
    unassessed = [criterion_name(a.criterion, language) for a in assessments if a.risk == "unknown"]
    if unassessed:
        doc.add(Paragraph(tr("overall_unassessed", language, names=", ".join(unassessed)), "warn"))


def _measures(doc: Document, table: PreparedTable, language: Language) -> None:
    params = table.metadata.get("parameters") or {}
    items = []
    if params.get("k") is not None:
        items.append(tr("measure_avatar", language, k=params["k"]))
    items.append(tr("measure_shuffle", language))
    if table.privacy:
        items.append(tr("measure_metrics", language))
    items.append(tr("measure_unshuffled", language))
    excluded = params.get("exclude_variables") or []
    if excluded:
        items.append(
            tr(
                "measure_excluded",
                language,
                names=", ".join(map(str, excluded)),
                method=params.get("exclude_method", ""),
            )
        )
    if params.get("keys"):
        items.append(tr("measure_keys", language, names=", ".join(map(str, params["keys"]))))
    if params.get("pseudonymized"):
        names = ", ".join(map(str, params["pseudonymized"]))
        items.append(tr("measure_pseudonymized", language, names=names))
    warnings = (
        table.verdict.warnings if table.privacy else tuple(table.metadata.get("warnings") or [])
    )
    items.extend(warning_text(w, language) for w in warnings)
    doc.add(Heading(tr("measures", language)), Bullets(tuple(items)))
