"""Reports of an avatarization: the PDF report, the privacy impact assessment (DOCX) and the
analysts' self-contained HTML report, in English and French.

- :func:`build_pdf_report` → the basic report as PDF (``report`` job); :func:`build_docx_report`
  for ``output_format: docx``
- :func:`build_pia_docx` → the privacy impact assessment of one table (DOCX)
- :func:`build_html_report` → the analysts' report, interactive figures, works offline
- :func:`build_report` → the documents of one report job, keyed by what they are
  (:class:`~avatars.engine.reports.build.ReportPart`); the server names their files

Modules: ``inputs`` (what a report is built from), ``risk`` (the PIA's residual-risk rules),
``report`` and ``pia`` (what the documents say, as a format-neutral ``document``), ``pdf`` /
``word`` / ``html`` (renderers), ``static`` (matplotlib PNGs of the figures), ``build`` (the
entry points). Below this package: :mod:`avatars.engine.figures` (the figures' data and plotly
drawings), :mod:`avatars.engine.metric_rows` (reading the metrics results) and
:mod:`avatars.engine.texts` (every string in both languages), which the figures share.

The builders import reportlab, python-docx, matplotlib and plotly (the ``report`` extra) only
when called: importing this package stays cheap for a server that may never build a report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from avatars.engine.reports.inputs import PiaContext, PreparedTable, TableReportInput, prepare_table

if TYPE_CHECKING:
    from avatars.engine.reports.build import (
        ReportPart,
        build_docx_report,
        build_html_report,
        build_pdf_report,
        build_pia_docx,
        build_report,
    )

__all__ = [
    "PiaContext",
    "PreparedTable",
    "ReportPart",
    "TableReportInput",
    "build_docx_report",
    "build_html_report",
    "build_pdf_report",
    "build_pia_docx",
    "build_report",
    "prepare_table",
]

_BUILDERS = {
    "build_docx_report",
    "build_html_report",
    "build_pdf_report",
    "build_pia_docx",
    "build_report",
    "ReportPart",
}


def __getattr__(name: str) -> Any:
    """The builders, imported on first use (PEP 562)."""
    if name in _BUILDERS:
        from avatars.engine.reports import build

        return getattr(build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
