"""Reports of an avatarization: the PDF report, the privacy impact assessment (DOCX) and the
analysts' self-contained HTML report, in English and French.

- :func:`build_pdf_report` → ``report.pdf`` (``report`` job, basic); :func:`build_docx_report`
  for ``output_format: docx``
- :func:`build_pia_docx` → ``<table>.report.pia.docx`` (``report_pia`` job), one per table
- :func:`build_html_report` → ``report.html``, interactive figures, works offline
- :func:`build_report` → the ``report`` result files of one job, as the server writes them

Modules: ``inputs`` (what a report is built from), ``metrics`` (reading the metrics results,
residual-risk rules), ``text`` (every string in both languages), ``report`` and ``pia`` (what
the documents say, as a format-neutral ``document``), ``pdf`` / ``word`` / ``html`` (renderers),
``static`` (matplotlib PNGs of the figures), ``build`` (the entry points).

The builders import reportlab, python-docx, matplotlib and plotly (the ``report`` extra) only
when called: importing this package stays cheap for a server that may never build a report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from avatars.engine.reports.inputs import PiaContext, PreparedTable, TableReportInput, prepare_table

if TYPE_CHECKING:
    from avatars.engine.reports.build import (
        build_docx_report,
        build_html_report,
        build_pdf_report,
        build_pia_docx,
        build_report,
        pia_file_name,
    )

__all__ = [
    "PiaContext",
    "PreparedTable",
    "TableReportInput",
    "build_docx_report",
    "build_html_report",
    "build_pdf_report",
    "build_pia_docx",
    "build_report",
    "pia_file_name",
    "prepare_table",
]

_BUILDERS = {
    "build_docx_report",
    "build_html_report",
    "build_pdf_report",
    "build_pia_docx",
    "build_report",
    "pia_file_name",
}


def __getattr__(name: str) -> Any:
    """The builders, imported on first use (PEP 562)."""
    if name in _BUILDERS:
        from avatars.engine.reports import build

        return getattr(build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
