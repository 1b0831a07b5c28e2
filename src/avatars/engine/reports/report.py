"""What the basic report says (the ``report`` job's ``report.pdf`` and the analysts' HTML).

Per table: the dataset and its columns, the parameters, every privacy metric with its target,
verdict and one-line meaning, the signal metrics, the figures and a conclusion; before the
tables, a summary a reader can stop at. Formats differ only in their figures (static PNG or
interactive), chosen by ``figure_kinds``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from avatars import __version__
from avatars.engine.metric_rows import MetricRow, checked_metrics, failed_metrics
from avatars.engine.reports.differential_privacy import differential_privacy_section
from avatars.engine.reports.document import (
    Bullets,
    Document,
    FigureRef,
    Heading,
    PageBreak,
    Paragraph,
    Status,
    Table,
)
from avatars.engine.reports.inputs import PreparedTable
from avatars.engine.texts import (
    Language,
    column_type_name,
    format_date,
    format_integer,
    format_metric_value,
    format_number,
    format_percent,
    format_target,
    metric_meaning,
    metric_name,
    tr,
    warning_text,
)
from avatars.protocol.enums import PlotKind

#: Figures of the PDF and DOCX reports (static images).
STATIC_FIGURES: tuple[PlotKind, ...] = (
    PlotKind.PROJECTION_2D,
    PlotKind.DISTRIBUTION,
    PlotKind.CORRELATION_DIFFERENCE,
    PlotKind.CONTRIBUTION,
)
#: Figures of the HTML report (interactive).
INTERACTIVE_FIGURES: tuple[PlotKind, ...] = (
    PlotKind.PROJECTION_2D,
    PlotKind.PROJECTION_3D,
    PlotKind.DISTRIBUTION,
    PlotKind.CORRELATION,
    PlotKind.CORRELATION_DIFFERENCE,
    PlotKind.CONTRIBUTION,
)

#: Columns listed in the dataset section; variables listed in the per-variable signal table.
MAX_LISTED_COLUMNS = 60
MAX_LISTED_VARIABLES = 20

_CAPTIONS = {
    PlotKind.PROJECTION_2D: "fig_2d_projection",
    PlotKind.PROJECTION_3D: "fig_3d_projection",
    PlotKind.DISTRIBUTION: "fig_distribution",
    PlotKind.CORRELATION: "fig_correlation",
    PlotKind.CORRELATION_DIFFERENCE: "fig_correlation_difference",
    PlotKind.CONTRIBUTION: "fig_contribution",
    PlotKind.AGGREGATE_STATS: "fig_aggregate_stats",
    PlotKind.METRICS_SUMMARY: "fig_metrics_summary",
}


def report_document(
    tables: Sequence[PreparedTable],
    *,
    language: Language,
    created: datetime,
    figure_kinds: Sequence[PlotKind],
    title: str | None = None,
    linked: Mapping[str, Any] | None = None,
) -> Document:
    doc = Document(
        title=title or tr("report_title", language),
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
    doc.add(Heading(tr("summary", language)), _summary_table(tables, language))
    for table in tables:
        verdict = f"{table.name} — {privacy_verdict(table, language)}"
        doc.add(Paragraph(verdict, _verdict_style(table)))
    doc.add(Heading(tr("method", language), 2), Paragraph(tr("method_text", language), "note"))
    if linked:  # a linked schema: warnings, relations, every privacy computation
        from avatars.engine.reports.linked import linked_section

        linked_section(doc, linked, language)
    for table in tables:
        doc.add(PageBreak(), Heading(tr("table_heading", language, table=table.name)))
        _dataset(doc, table, language)
        _parameters(doc, table, language)
        differential_privacy_section(
            doc, table.metadata.get("differential_privacy") or {}, language
        )
        _privacy(doc, table, language)
        _signal(doc, table, language)
        _figures(doc, table, language, figure_kinds)
        doc.add(Heading(tr("conclusion", language), 2))
        _conclusion(doc, table, language)
    return doc


# -- summary ---------------------------------------------------------------------------------
def privacy_verdict(table: PreparedTable, language: Language) -> str:
    """What passed, what did not, and the warnings, in plain words
    (:class:`~avatars.engine.metric_rows.PrivacyVerdict`); never "pass" when a target is missed
    or the avatars carry the original records' identifiers."""
    if not table.privacy:
        return tr("no_targets", language)
    return table.verdict.summary(language)


def _verdict_style(table: PreparedTable) -> Any:
    status = table.verdict.status if table.privacy else "unknown"
    return {"pass": "pass", "fail": "fail"}.get(status, "note")


def _summary_table(tables: Sequence[PreparedTable], language: Language) -> Table:
    rows, status = [], []
    for table in tables:
        checked = checked_metrics(table.privacy)
        failed = failed_metrics(checked)
        signal_checked = checked_metrics(table.signal)
        signal_met = len(signal_checked) - len(failed_metrics(signal_checked))
        rows.append(
            (
                table.name,
                format_integer(table.n_rows, language) if table.n_rows is not None else "—",
                f"{len(checked) - len(failed)} / {len(checked)}" if checked else "—",
                f"{signal_met} / {len(signal_checked)}" if signal_checked else "—",
            )
        )
        status.append(_status(None if not checked else table.verdict.status == "pass"))
    header = (
        tr("ctx_table", language),
        tr("rows", language),
        tr("privacy_metrics", language),
        tr("signal_metrics", language),
    )
    return Table(
        header=header,
        rows=tuple(rows),
        widths=(3, 1.2, 2, 2),
        numeric=frozenset({1, 2, 3}),
        status=tuple(status),
        status_column=2,
    )


def _status(passed: bool | None) -> Status:
    return "none" if passed is None else ("pass" if passed else "fail")


# -- dataset and parameters ------------------------------------------------------------------
def _dataset(doc: Document, table: PreparedTable, language: Language) -> None:
    doc.add(Heading(tr("dataset", language), 2))
    if not table.columns:
        doc.add(Paragraph(tr("not_available", language), "note"))
        return
    types = [c.type for c in table.columns]
    numeric = sum(t in ("int", "float") for t in types)
    dates = sum(t.startswith("datetime") for t in types)
    pairs = [
        (tr("rows", language), _int(table.n_rows, language)),
        (tr("avatar_rows", language), _int(table.n_avatar_rows, language)),
        (tr("n_columns", language), _int(len(table.columns), language)),
        (tr("numeric_columns", language), _int(numeric, language)),
        (tr("categorical_columns", language), _int(len(types) - numeric - dates, language)),
    ]
    if dates:
        pairs.append((tr("datetime_columns", language), _int(dates, language)))
    pairs.append(
        (tr("missing_cells", language), format_percent(table.missing_percent, language, 2))
    )
    doc.add(_key_values(pairs))
    listed = table.columns[:MAX_LISTED_COLUMNS]
    doc.add(
        Heading(tr("columns", language), 3),
        Table(
            header=(
                tr("column", language),
                tr("type", language),
                tr("missing", language),
                tr("distinct", language),
            ),
            rows=tuple(
                (
                    c.name,
                    column_type_name(c.type, language),
                    format_percent(c.missing_percent, language, 1),
                    _int(c.distinct, language),
                )
                for c in listed
            ),
            widths=(3, 1.6, 1.2, 1.4),
            numeric=frozenset({2, 3}),
        ),
    )
    if len(table.columns) > len(listed):
        doc.add(
            Paragraph(
                tr("columns_truncated", language, shown=len(listed), total=len(table.columns)),
                "note",
            )
        )


def _int(value: int | None, language: Language) -> str:
    return "—" if value is None else format_integer(value, language)


def _key_values(pairs: Sequence[tuple[str, str]]) -> Table:
    return Table(header=("", ""), rows=tuple(pairs), widths=(3, 4), key_value=True)


def _parameters(doc: Document, table: PreparedTable, language: Language) -> None:
    doc.add(Heading(tr("parameters", language), 2))
    meta = table.metadata
    params: Mapping[str, Any] = meta.get("parameters") or {}
    pairs: list[tuple[str, str]] = []
    if params:
        pairs += [
            (tr("param_k", language), str(params.get("k", "—"))),
            (tr("param_ncp", language), str(params.get("ncp", "—"))),
            (tr("param_seed", language), str(params.get("seed", "—"))),
        ]
        projection = meta.get("projection") or {}
        if projection.get("kind"):
            pairs.append((tr("param_projection", language), str(projection["kind"]).upper()))
        ratios = projection.get("explained_variance_ratio") or []
        if ratios:
            explained = format_percent(100 * sum(ratios), language, 1)
            pairs.append((tr("param_explained", language), explained))
        imputation = params.get("imputation") or {}
        if imputation.get("method"):
            pairs.append((tr("param_imputation", language), _imputation(imputation)))
        pairs.append(
            (tr("param_assignment", language), str(params.get("categorical_assignment", "—")))
        )
        pairs.append((tr("param_exclude", language), _exclusions(params, language)))
        if params.get("keys"):
            pairs.append((tr("param_keys", language), ", ".join(map(str, params["keys"]))))
        pseudonymized = params.get("pseudonymized") or {}
        if pseudonymized:
            shown = ", ".join(f"{c} ({_strategy(spec)})" for c, spec in pseudonymized.items())
            pairs.append((tr("param_pseudonymized", language), shown))
        weights = params.get("column_weights") or {}
        if weights:
            pairs.append(
                (
                    tr("param_weights", language),
                    ", ".join(f"{c}: {format_number(w, language, 2)}" for c, w in weights.items()),
                )
            )
        seconds = (meta.get("timings_seconds") or {}).get("total")
        if seconds is not None:
            pairs.append(
                (tr("param_duration", language), f"{format_number(seconds, language, 2)} s")
            )
    privacy = table.privacy_parameters
    if privacy:
        if privacy.get("ncp") is not None:
            pairs.append((tr("param_metric_ncp", language), str(privacy["ncp"])))
        known = privacy.get("known_variables") or []
        pairs.append((tr("param_known", language), ", ".join(known) or tr("none", language)))
        pairs.append(
            (tr("param_target", language), str(privacy.get("target") or tr("none", language)))
        )
    if not pairs:
        doc.add(Paragraph(tr("parameters_unknown", language), "note"))
        return
    doc.add(_key_values(pairs))
    warnings = table.verdict.warnings if table.privacy else tuple(meta.get("warnings") or [])
    if warnings:
        doc.add(
            Heading(tr("warnings", language), 3),
            Bullets(tuple(warning_text(w, language) for w in warnings)),
        )


def _exclusions(params: Mapping[str, Any], language: Language) -> str:
    """Excluded columns with each one's method (per column when the run says so)."""
    excluded = params.get("exclude_variables") or []
    if not excluded:
        return tr("none", language)
    methods = params.get("exclude_methods") or {}
    default = params.get("exclude_method", "")
    return ", ".join(f"{c} ({methods.get(c, default)})" for c in map(str, excluded))


def _strategy(spec: Any) -> str:
    if not isinstance(spec, Mapping):
        return str(spec)
    kind = str(spec.get("kind", ""))
    return f"{kind}:{spec['pii_type']}" if spec.get("pii_type") else kind


def _imputation(imputation: Mapping[str, Any]) -> str:
    text = str(imputation["method"])
    if imputation.get("method") in ("knn", "fast_knn") and imputation.get("k"):
        text += f" (k = {imputation['k']})"
    return text


# -- metrics ---------------------------------------------------------------------------------
def metrics_table(rows: Sequence[MetricRow], language: Language) -> Table:
    """Metric, value, target, verdict and meaning; provisional metrics marked ``*``."""
    return Table(
        header=(
            tr("metric", language),
            tr("value", language),
            tr("target", language),
            tr("result", language),
            tr("meaning", language),
        ),
        rows=tuple(
            (
                metric_name(r.name, language) + (" *" if r.provisional else ""),
                format_metric_value(r.value, r.unit, language),
                format_target(r.target, language),
                verdict_text(r, language),
                metric_meaning(r.name, language, r.description),
            )
            for r in rows
        ),
        widths=(2.2, 1.1, 0.95, 1.15, 4.3),
        numeric=frozenset({1, 2}),
        status=tuple(_status(r.passed) for r in rows),
        status_column=3,
    )


def verdict_text(row: MetricRow, language: Language) -> str:
    if row.passed is None:
        return tr("verdict_none", language)
    return tr("verdict_pass" if row.passed else "verdict_fail", language)


def _privacy(doc: Document, table: PreparedTable, language: Language) -> None:
    doc.add(Heading(tr("privacy_metrics", language), 2))
    if not table.privacy:
        doc.add(Paragraph(tr("no_privacy_metrics", language), "note"))
        return
    doc.add(metrics_table(table.privacy, language))
    if any(r.provisional for r in table.privacy):
        doc.add(Paragraph(tr("provisional_note", language), "note"))


def _signal(doc: Document, table: PreparedTable, language: Language) -> None:
    doc.add(Heading(tr("signal_metrics", language), 2))
    if not table.signal:
        doc.add(Paragraph(tr("no_signal_metrics", language), "note"))
        return
    doc.add(metrics_table(table.signal, language))
    variables = [v for v in table.signal_variables if v.get("hellinger") is not None]
    if not variables:
        return
    variables.sort(key=lambda v: -float(v["hellinger"]))
    listed = variables[:MAX_LISTED_VARIABLES]
    doc.add(
        Heading(tr("variables_signal", language), 3),
        Table(
            header=(
                tr("column", language),
                tr("hellinger_col", language),
                tr("missing_original", language),
                tr("missing_avatars", language),
            ),
            rows=tuple(
                (
                    str(v.get("variable")),
                    format_number(float(v["hellinger"]), language, 3),
                    _percent(v.get("missing_original"), language),
                    _percent(v.get("missing_avatars"), language),
                )
                for v in listed
            ),
            widths=(3, 1.5, 1.5, 1.5),
            numeric=frozenset({1, 2, 3}),
        ),
    )
    if len(variables) > len(listed):
        doc.add(
            Paragraph(
                tr("variables_truncated", language, shown=len(listed), total=len(variables)),
                "note",
            )
        )


def _percent(value: Any, language: Language) -> str:
    """A share the signal metrics report in % (0-100)."""
    return "—" if value is None else format_percent(float(value), language, 1)


# -- figures and conclusion ------------------------------------------------------------------
def _figures(
    doc: Document, table: PreparedTable, language: Language, kinds: Sequence[PlotKind]
) -> None:
    if table.figures is None:
        return
    available = set(table.figures.available_kinds())
    wanted = [kind for kind in kinds if kind in available]
    if not wanted:
        return
    doc.add(Heading(tr("figures", language), 2))
    data = table.figures
    for kind in wanted:
        caption = tr(_CAPTIONS[kind], language)
        shown = None
        if kind == PlotKind.DISTRIBUTION:
            shown = len(data.distributions)
        elif kind in (PlotKind.CORRELATION, PlotKind.CORRELATION_DIFFERENCE):
            assert data.association_original is not None
            shown = len(data.association_original)
        if shown is not None and shown < data.n_variables:
            caption += " " + tr("heatmap_truncated", language, shown=shown, total=data.n_variables)
        doc.add(FigureRef(table.name, kind.value, caption))


def _conclusion(doc: Document, table: PreparedTable, language: Language) -> None:
    """The verdict in words, then what to change (one item per cause)."""
    verdict = table.verdict
    if not table.privacy or verdict.status == "unknown":
        doc.add(Paragraph(tr("conclusion_unknown", language, table=table.name), "note"))
        return
    if verdict.status == "pass":
        doc.add(Paragraph(tr("conclusion_pass", language, table=table.name), "pass"))
        if verdict.warnings:
            doc.add(Paragraph(verdict.summary(language), "warn"))
        return
    doc.add(Paragraph(verdict.summary(language), "fail"))
    changes = verdict.changes(language)
    if changes:
        doc.add(Heading(tr("what_to_change", language), 3), Bullets(tuple(changes)))
