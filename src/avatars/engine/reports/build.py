"""The report builders: inputs in, document bytes (or text) out. No file or network I/O, and
no file names: :func:`build_report` keys each document by what it is (:class:`ReportPart`),
and the server names the files.

Every builder accepts :class:`TableReportInput` or an already :class:`PreparedTable` (see
:func:`prepare_table`): a job that writes several documents prepares its tables once and the
figures' data are computed once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from avatars.engine.figures import PlotlyJs, plotly_figures
from avatars.engine.reports import static
from avatars.engine.reports.document import Document
from avatars.engine.reports.html import render_html
from avatars.engine.reports.inputs import PiaContext, PreparedTable, TableReportInput, prepare_table
from avatars.engine.reports.pdf import render_pdf
from avatars.engine.reports.pia import pia_document
from avatars.engine.reports.report import INTERACTIVE_FIGURES, STATIC_FIGURES, report_document
from avatars.engine.reports.word import render_docx
from avatars.engine.texts import check_language, tr
from avatars.protocol.enums import OutputFormat, PlotKind, ReportType

TableLike = TableReportInput | PreparedTable

#: Variables whose distribution a report shows unless told otherwise: a document with hundreds
#: of panels helps no reader, and each panel costs drawing time.
MAX_REPORT_DISTRIBUTIONS = 60


@dataclass(frozen=True)
class ReportPart:
    """What one document of a report job is: the basic report (``pdf`` or ``docx``), the
    analysts' interactive report (``html``), or the privacy impact assessment of one table
    (``pia``, ``docx``)."""

    kind: Literal["basic", "html", "pia"]
    format: Literal["pdf", "docx", "html"]
    table: str | None = None  # the table a PIA assesses

    @classmethod
    def basic(cls, output_format: Literal["pdf", "docx"]) -> ReportPart:
        return cls("basic", output_format)

    @classmethod
    def html(cls) -> ReportPart:
        return cls("html", "html")

    @classmethod
    def pia(cls, table: str) -> ReportPart:
        return cls("pia", "docx", table)


def _prepared(
    tables: Sequence[TableLike] | TableLike, max_distribution_plots: int | None
) -> list[PreparedTable]:
    items = [tables] if isinstance(tables, TableReportInput | PreparedTable) else list(tables)
    if not items:
        raise ValueError("a report needs at least one table")
    limit = MAX_REPORT_DISTRIBUTIONS if max_distribution_plots is None else max_distribution_plots
    return [
        t if isinstance(t, PreparedTable) else prepare_table(t, max_distribution_plots=limit)
        for t in items
    ]


def _created(created: datetime | None) -> datetime:
    """The document's date: given (reproducible output) or now, in UTC, to the second."""
    moment = created or datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(microsecond=0)


def _title(title: str | None, display_name: str | None, language: Any) -> str | None:
    if title:
        return title
    if display_name:
        return f"{tr('report_title', language)} — {display_name}"
    return None


def static_images(
    document: Document, tables: Sequence[PreparedTable]
) -> dict[tuple[str, str], list[bytes]]:
    """The PNG pages of every figure the document references."""
    with static.collector_paused():
        return _static_images(document, {t.name: t for t in tables})


def _static_images(
    document: Document, by_name: dict[str, PreparedTable]
) -> dict[tuple[str, str], list[bytes]]:
    images: dict[tuple[str, str], list[bytes]] = {}
    for ref in document.figure_refs():
        data = by_name[ref.table].figures
        if data is None:
            continue
        kind = PlotKind(ref.kind)
        if kind == PlotKind.PROJECTION_2D:
            pages = [static.projection_png(data, document.language)]
        elif kind == PlotKind.DISTRIBUTION:
            pages = static.distribution_pngs(data, document.language)
        elif kind == PlotKind.CORRELATION_DIFFERENCE:
            pages = [static.correlation_difference_png(data, document.language)]
        elif kind == PlotKind.CONTRIBUTION:
            pages = [static.contribution_png(data, document.language)]
        else:  # pragma: no cover - STATIC_FIGURES lists only the kinds above
            continue
        images[(ref.table, ref.kind)] = pages
    return images


def build_pdf_report(
    tables: Sequence[TableLike] | TableLike,
    *,
    language: str = "en",
    title: str | None = None,
    display_name: str | None = None,
    created: datetime | None = None,
    max_distribution_plots: int | None = None,
    linked: Mapping[str, Any] | None = None,
) -> bytes:
    """``report.pdf``: for each table the dataset, parameters, privacy metrics (value, target,
    verdict, meaning), signal metrics, figures and a conclusion, after a summary."""
    return _basic_report(
        tables, "pdf", language, title, display_name, created, max_distribution_plots, linked
    )


def build_docx_report(
    tables: Sequence[TableLike] | TableLike,
    *,
    language: str = "en",
    title: str | None = None,
    display_name: str | None = None,
    created: datetime | None = None,
    max_distribution_plots: int | None = None,
    linked: Mapping[str, Any] | None = None,
) -> bytes:
    """The same report as :func:`build_pdf_report`, as DOCX (the YAML's ``output_format: docx``)."""
    return _basic_report(
        tables, "docx", language, title, display_name, created, max_distribution_plots, linked
    )


def _basic_report(
    tables: Sequence[TableLike] | TableLike,
    output_format: Literal["pdf", "docx"],
    language: str,
    title: str | None,
    display_name: str | None,
    created: datetime | None,
    max_distribution_plots: int | None,
    linked: Mapping[str, Any] | None = None,
) -> bytes:
    lang = check_language(language)
    prepared = _prepared(tables, max_distribution_plots)
    document = report_document(
        prepared,
        language=lang,
        created=_created(created),
        figure_kinds=STATIC_FIGURES,
        title=_title(title, display_name, lang),
        linked=linked,
    )
    images = static_images(document, prepared)
    return render_pdf(document, images) if output_format == "pdf" else render_docx(document, images)


def build_html_report(
    tables: Sequence[TableLike] | TableLike,
    *,
    language: str = "en",
    title: str | None = None,
    display_name: str | None = None,
    created: datetime | None = None,
    max_distribution_plots: int | None = None,
    plotlyjs: PlotlyJs = "inline",
    linked: Mapping[str, Any] | None = None,
) -> str:
    """The analysts' report: the PDF's content with interactive figures (2-D and 3-D
    projections, distributions, associations and their difference, contributions), in one
    HTML file that works offline (plotly.js inlined once)."""
    lang = check_language(language)
    prepared = _prepared(tables, max_distribution_plots)
    document = report_document(
        prepared,
        language=lang,
        created=_created(created),
        figure_kinds=INTERACTIVE_FIGURES,
        title=_title(title, display_name, lang),
        linked=linked,
    )
    wanted = {(ref.table, ref.kind) for ref in document.figure_refs()}
    figures: dict[tuple[str, str], Any] = {}
    for table in prepared:
        if table.figures is None:
            continue
        drawn = plotly_figures(table.figures, language=lang)
        figures.update({(table.name, k): f for k, f in drawn.items() if (table.name, k) in wanted})
    return render_html(document, figures, plotlyjs=plotlyjs)


def build_pia_docx(
    table: TableLike,
    *,
    language: str = "en",
    context: PiaContext | Mapping[str, Any] | None = None,
    created: datetime | None = None,
) -> bytes:
    """``<table>.report.pia.docx``: the privacy impact assessment of one table, organised by
    the three criteria (singling out, linkability, inference) with their residual risk.

    ``context`` is a :class:`PiaContext` or the YAML's ``pia_metadata`` dict.
    """
    lang = check_language(language)
    if not isinstance(context, PiaContext):
        context = PiaContext.from_metadata(context)
    prepared = table if isinstance(table, PreparedTable) else prepare_table(table, figures=False)
    document = pia_document(prepared, language=lang, context=context, created=_created(created))
    return render_docx(document)


def build_report(
    *,
    report_type: ReportType | Literal["basic", "pia"] = "basic",
    output_format: OutputFormat | Literal["pdf", "docx"] = "pdf",
    language: str = "en",
    display_name: str | None = None,
    tables: Mapping[str, Mapping[str, Any] | TableReportInput] | Sequence[TableReportInput],
    pia_metadata: Mapping[str, Any] | PiaContext | None = None,
    created: datetime | None = None,
    max_distribution_plots: int | None = None,
    with_html: bool = False,
    plotlyjs: PlotlyJs = "inline",
    linked: Mapping[str, Any] | None = None,
) -> dict[ReportPart, bytes]:
    """The documents of one report job, keyed by what they are (:class:`ReportPart`).

    - basic, pdf:  ``{ReportPart.basic("pdf"): ...}``
    - basic, docx: ``{ReportPart.basic("docx"): ...}``
    - pia:         ``{ReportPart.pia(table): ...}``, one per table, in table order

    With ``with_html`` a basic report also holds ``ReportPart.html()`` last: the analysts'
    interactive report, built from the same prepared figure data.

    ``linked``: a linked schema's warnings, relations and privacy computations
    (:mod:`avatars.engine.reports.linked`), shown in the basic and HTML reports.

    ``tables`` maps a table name to a :class:`TableReportInput` or to a dict of its fields
    (``original``, ``avatars``, ``privacy``, ``signal``, ``avatarization`` (or
    ``run_metadata``), ``original_coordinates``, ``avatar_coordinates``, ``contributions``).
    The HTML report is not part of the ``report`` result — the official client would save it
    under the PDF's name — see :func:`build_html_report`.
    """
    inputs: Sequence[TableLike] = _inputs(tables)
    if report_type == "pia":
        return {
            ReportPart.pia(t.name): build_pia_docx(
                t, language=language, context=pia_metadata, created=created
            )
            for t in inputs
        }
    if report_type != "basic":
        raise ValueError(f"report_type must be 'basic' or 'pia', got {report_type!r}")
    if output_format not in ("pdf", "docx"):
        raise ValueError(f"output_format must be 'pdf' or 'docx', got {output_format!r}")
    basic_format: Literal["pdf", "docx"] = "pdf" if output_format == "pdf" else "docx"
    inputs = _prepared(inputs, max_distribution_plots)  # figure data once for every document
    builder = build_pdf_report if output_format == "pdf" else build_docx_report
    data = builder(
        inputs, language=language, display_name=display_name, created=created, linked=linked
    )
    documents = {ReportPart.basic(basic_format): data}
    if with_html:
        html = build_html_report(
            inputs,
            language=language,
            display_name=display_name,
            created=created,
            plotlyjs=plotlyjs,
            linked=linked,
        )
        documents[ReportPart.html()] = html.encode("utf-8")
    return documents


_INPUT_FIELDS = {
    "original",
    "avatars",
    "privacy",
    "signal",
    "avatarization",
    "original_coordinates",
    "avatar_coordinates",
    "contributions",
}


def _inputs(
    tables: Mapping[str, Mapping[str, Any] | TableReportInput] | Sequence[TableReportInput],
) -> list[TableReportInput]:
    if not isinstance(tables, Mapping):
        return list(tables)
    out = []
    for name, value in tables.items():
        if isinstance(value, TableReportInput):
            out.append(value)
            continue
        fields = {k: v for k, v in value.items() if k in _INPUT_FIELDS}
        if "avatarization" not in fields and "run_metadata" in value:
            fields["avatarization"] = value["run_metadata"]
        out.append(TableReportInput(name=str(name), **fields))
    return out
