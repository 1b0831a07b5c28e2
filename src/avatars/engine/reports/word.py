"""Render a :class:`~avatars.engine.reports.document.Document` as DOCX with python-docx.

A PIA is a document people edit, comment and sign, hence Word rather than PDF. Built-in styles
(Title, Heading 1-3, List Bullet, Caption) are used so that Word's navigation pane and table of
contents work and an organisation's template can restyle the document. Determinism: the core
properties carry the document's date, and the ZIP entries get that date too (python-docx stamps
them with the current time), so the same inputs give the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from avatars import __version__
from avatars.engine.reports.document import (
    Bullets,
    Document,
    FigureRef,
    Heading,
    PageBreak,
    Paragraph,
    Signatures,
    Table,
)

Images = Mapping[tuple[str, str], Sequence[bytes]]

_STATUS_RGB = {"pass": "1E7B34", "fail": "B42318", "warn": "B54708", "none": "627D98"}
_HEADER_FILL = "243B53"
_KEY_FILL = "F5F7FA"
#: Text width of an A4 page with 2 cm margins, in cm.
_TEXT_WIDTH_CM = 17.0


def render_docx(document: Document, images: Images | None = None) -> bytes:
    """The document as DOCX bytes; ``images`` hold the static figures its FigureRefs name."""
    from docx import Document as new_docx
    from docx.shared import Cm, Pt, RGBColor

    docx = new_docx()
    section = docx.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.0))
    section.top_margin = section.bottom_margin = Cm(1.8)
    normal = docx.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(10)

    docx.add_heading(document.title, level=0)
    subtitle = docx.add_paragraph().add_run(document.subtitle)
    subtitle.font.size = Pt(9)
    subtitle.font.color.rgb = RGBColor.from_string("627D98")

    for block in document.blocks:
        if isinstance(block, Heading):
            docx.add_heading(block.text, level=min(block.level, 3))
        elif isinstance(block, Paragraph):
            _paragraph(docx, block)
        elif isinstance(block, Bullets):
            for item in block.items:
                docx.add_paragraph(item, style="List Bullet")
        elif isinstance(block, Table):
            _table(docx, block)
        elif isinstance(block, FigureRef):
            pngs = list((images or {}).get((block.table, block.kind), ()))
            for png in pngs:
                docx.add_picture(io.BytesIO(png), width=Cm(_TEXT_WIDTH_CM - 0.5))
            if pngs:
                docx.add_paragraph(block.caption, style="Caption")
        elif isinstance(block, PageBreak):
            docx.add_page_break()
        elif isinstance(block, Signatures):
            _signatures(docx, block)

    core = docx.core_properties
    core.title = document.title
    core.subject = document.subtitle
    core.author = core.last_modified_by = "avatars"
    core.comments = f"avatars {__version__}"
    core.language = document.language
    core.created = core.modified = core.last_printed = document.created.replace(tzinfo=None)
    core.revision = 1
    buffer = io.BytesIO()
    docx.save(buffer)
    return _with_fixed_dates(buffer.getvalue(), document.created)


def _paragraph(docx: Any, block: Paragraph) -> None:
    from docx.shared import Pt, RGBColor

    paragraph = docx.add_paragraph()
    run = paragraph.add_run(block.text)
    if block.style == "lead":
        run.font.size = Pt(11)
    elif block.style == "note":
        run.font.size = Pt(8)
        run.italic = True
        run.font.color.rgb = RGBColor.from_string(_STATUS_RGB["none"])
    elif block.style in ("pass", "fail", "warn"):
        run.bold = True
        run.font.color.rgb = RGBColor.from_string(_STATUS_RGB[block.style])


def _shade(cell: Any, fill: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)


def _set_cell(
    cell: Any,
    text: str,
    *,
    bold: bool = False,
    color: str | None = None,
    right: bool = False,
    size: float = 8.5,
) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    paragraph = cell.paragraphs[0]
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.bold = bold
    if color:
        run.font.color.rgb = RGBColor.from_string(color)
    if right:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _widths(table: Any, weights: Sequence[float]) -> None:
    from docx.shared import Cm

    table.autofit = False
    total = sum(weights)
    for row in table.rows:
        for cell, weight in zip(row.cells, weights, strict=False):
            cell.width = Cm(_TEXT_WIDTH_CM * weight / total)


def _table(docx: Any, block: Table) -> None:
    n = len(block.header)
    weights = block.widths or (1.0,) * n
    if block.key_value:
        table = docx.add_table(rows=len(block.rows), cols=2, style="Table Grid")
        for (key, value), row in zip(block.rows, table.rows, strict=True):
            _set_cell(row.cells[0], key, bold=True)
            _shade(row.cells[0], _KEY_FILL)
            _set_cell(row.cells[1], value)
        _widths(table, weights)
        docx.add_paragraph()
        return
    table = docx.add_table(rows=len(block.rows) + 1, cols=n, style="Table Grid")
    for c, text in enumerate(block.header):
        cell = table.rows[0].cells[c]
        _set_cell(cell, text, bold=True, color="FFFFFF")
        _shade(cell, _HEADER_FILL)
    _repeat_header(table.rows[0])
    for r, values in enumerate(block.rows):
        for c, text in enumerate(values):
            status = (
                block.status[r] if block.status is not None and c == block.status_column else None
            )
            _set_cell(
                table.rows[r + 1].cells[c],
                text,
                bold=status is not None,
                color=_STATUS_RGB[status] if status else None,
                right=c in block.numeric,
            )
    _widths(table, weights)
    docx.add_paragraph()


def _repeat_header(row: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(header)


def _signatures(docx: Any, block: Signatures) -> None:
    from docx.shared import Cm

    table = docx.add_table(rows=len(block.roles) + 1, cols=len(block.header), style="Table Grid")
    for c, text in enumerate(block.header):
        cell = table.rows[0].cells[c]
        _set_cell(cell, text, bold=True, color="FFFFFF")
        _shade(cell, _HEADER_FILL)
    for role, row in zip(block.roles, table.rows[1:], strict=True):
        row.height = Cm(1.8)
        _set_cell(row.cells[0], role, bold=True)
    _widths(table, (2.2, 2.2, 1.2, 2.4))


def _with_fixed_dates(data: bytes, moment: datetime) -> bytes:
    """The same ZIP with every entry dated ``moment`` (ZIP dates start in 1980)."""
    stamp = max(moment.replace(tzinfo=None), datetime(1980, 1, 1)).timetuple()[:6]
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()
