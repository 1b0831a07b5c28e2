"""Render a :class:`~avatars.engine.reports.document.Document` as PDF with reportlab (platypus).

- Fonts: DejaVu Sans, shipped with matplotlib (a dependency of the ``report`` extra), embedded
  as subsets. The PDF standard fonts only cover Latin-1, and column names or French text may
  need more (≥, Δ, ρ, œ, narrow no-break spaces); embedding also makes the document look the
  same on every reader, which a document that gets signed should.
- Determinism: reportlab's invariant mode (fixed document id) and the document's own date as
  the PDF creation date, so that the same inputs give the same bytes.
- Navigation: headings become PDF bookmarks; tables repeat their header row across pages.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

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
from avatars.engine.reports.static import DPI

#: Static figures of a document: ``(table, plot kind) → PNG pages``.
Images = Mapping[tuple[str, str], Sequence[bytes]]

_INK = "#1f2933"
_DARK = "#243b53"
_MUTED = "#627d98"
_RULE = "#d9e2ec"
_ZEBRA = "#f5f7fa"
STATUS_COLORS = {"pass": "#1e7b34", "fail": "#b42318", "warn": "#b54708", "none": _MUTED}


@cache
def _fonts() -> tuple[str, str, str]:
    """Register DejaVu Sans (regular, bold, oblique) once; Helvetica if it cannot be found."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    try:
        import matplotlib

        root = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        faces = {
            "AvatarsSans": root / "DejaVuSans.ttf",
            "AvatarsSans-Bold": root / "DejaVuSans-Bold.ttf",
            "AvatarsSans-Oblique": root / "DejaVuSans-Oblique.ttf",
        }
        for name, path in faces.items():
            pdfmetrics.registerFont(TTFont(name, str(path)))
    except Exception:  # pragma: no cover - matplotlib without its fonts
        return "Helvetica", "Helvetica-Bold", "Helvetica-Oblique"
    addMapping("AvatarsSans", 0, 0, "AvatarsSans")
    addMapping("AvatarsSans", 1, 0, "AvatarsSans-Bold")
    addMapping("AvatarsSans", 0, 1, "AvatarsSans-Oblique")
    addMapping("AvatarsSans", 1, 1, "AvatarsSans-Bold")
    return "AvatarsSans", "AvatarsSans-Bold", "AvatarsSans-Oblique"


def _styles() -> dict[str, Any]:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_LEFT, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    regular, bold, _ = _fonts()
    base = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=13, textColor=_INK)

    def style(name: str, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(name, parent=base, **kw)

    return {
        "title": style(
            "title", fontName=bold, fontSize=19, leading=24, textColor=_DARK, spaceAfter=4
        ),
        "subtitle": style("subtitle", fontSize=9, textColor=colors.HexColor(_MUTED), spaceAfter=12),
        "h1": style(
            "h1",
            fontName=bold,
            fontSize=15,
            leading=19,
            textColor=_DARK,
            spaceBefore=10,
            spaceAfter=6,
            keepWithNext=1,
        ),
        "h2": style(
            "h2",
            fontName=bold,
            fontSize=12,
            leading=16,
            textColor=_DARK,
            spaceBefore=10,
            spaceAfter=4,
            keepWithNext=1,
        ),
        "h3": style(
            "h3",
            fontName=bold,
            fontSize=10,
            leading=13,
            textColor=_DARK,
            spaceBefore=6,
            spaceAfter=3,
            keepWithNext=1,
        ),
        "body": style("body2", spaceAfter=6),
        "lead": style("lead", fontSize=10.5, leading=15, spaceAfter=8),
        "note": style(
            "note", fontSize=8, leading=10.5, textColor=colors.HexColor(_MUTED), spaceAfter=6
        ),
        "pass": style(
            "pass", fontName=bold, textColor=colors.HexColor(STATUS_COLORS["pass"]), spaceAfter=6
        ),
        "fail": style(
            "fail", fontName=bold, textColor=colors.HexColor(STATUS_COLORS["fail"]), spaceAfter=6
        ),
        "warn": style(
            "warn", fontName=bold, textColor=colors.HexColor(STATUS_COLORS["warn"]), spaceAfter=6
        ),
        "caption": style(
            "caption",
            fontSize=8,
            leading=10,
            textColor=colors.HexColor(_MUTED),
            spaceBefore=2,
            spaceAfter=10,
        ),
        "cell": style("cell", fontSize=8, leading=10, alignment=TA_LEFT),
        "cell_num": style("cell_num", fontSize=8, leading=10, alignment=TA_RIGHT),
        "cell_head": style(
            "cell_head", fontName=bold, fontSize=8, leading=10, textColor=colors.white
        ),
        "cell_head_num": style(
            "cell_head_num",
            fontName=bold,
            fontSize=8,
            leading=10,
            textColor=colors.white,
            alignment=TA_RIGHT,
        ),
        "cell_key": style("cell_key", fontName=bold, fontSize=8.5, leading=11),
        "cell_value": style("cell_value", fontSize=8.5, leading=11),
        "bullet": style("bullet", spaceAfter=3),
    }


def render_pdf(document: Document, images: Images) -> bytes:
    """The document as PDF bytes; ``images`` hold the static figures its FigureRefs name."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm
    from reportlab.platypus import SimpleDocTemplate

    styles = _styles()
    buffer = io.BytesIO()
    created = document.created.strftime("D:%Y%m%d%H%M%S+00'00'")

    class _Template(SimpleDocTemplate):
        def afterFlowable(self, flowable: Any) -> None:
            level = getattr(flowable, "_outline_level", None)
            if level is not None:
                key = flowable._outline_key
                self.canv.bookmarkPage(key)
                self.canv.addOutlineEntry(
                    flowable.getPlainText(), key, level=level, closed=level > 0
                )

    template = _Template(
        buffer,
        pagesize=A4,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=1.8 * cm,
        bottomMargin=1.8 * cm,
        title=document.title,
        author="avatars",
        subject=document.subtitle,
        creator=f"avatars {__version__}",
        producer=f"avatars {__version__} (reportlab)",
        lang=document.language,
        invariant=True,
    )
    width = template.width
    height = template.height
    regular = _fonts()[0]

    def decorate(canvas: Any, doc: Any) -> None:
        canvas.setDateFormatter(lambda *_: created)
        canvas.saveState()
        canvas.setFont(regular, 7.5)
        canvas.setFillColorRGB(0.38, 0.49, 0.6)
        canvas.drawString(2 * cm, 1.1 * cm, _clip(document.title, 110))
        canvas.drawRightString(A4[0] - 2 * cm, 1.1 * cm, str(doc.page))
        canvas.restoreState()

    story = _story(document, images, styles, width, height)
    template.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _story(
    document: Document, images: Images, styles: dict[str, Any], width: float, height: float
) -> list[Any]:
    from reportlab.platypus import PageBreak as RLPageBreak
    from reportlab.platypus import Paragraph as RLParagraph
    from reportlab.platypus import Spacer

    story: list[Any] = [
        RLParagraph(escape(document.title), styles["title"]),
        RLParagraph(escape(document.subtitle), styles["subtitle"]),
    ]
    headings = 0
    for block in document.blocks:
        if isinstance(block, Heading):
            flowable = RLParagraph(escape(block.text), styles[f"h{min(block.level, 3)}"])
            flowable._outline_level = min(block.level, 3) - 1
            flowable._outline_key = f"h{headings}"
            headings += 1
            story.append(flowable)
        elif isinstance(block, Paragraph):
            story.append(RLParagraph(escape(block.text), styles[block.style]))
        elif isinstance(block, Bullets):
            story.extend(
                RLParagraph(escape(item), styles["bullet"], bulletText="•") for item in block.items
            )
        elif isinstance(block, Table):
            story += [_table(block, styles, width), Spacer(1, 6)]
        elif isinstance(block, FigureRef):
            story.extend(_figure(block, images, styles, width, height))
        elif isinstance(block, PageBreak):
            story.append(RLPageBreak())
        elif isinstance(block, Signatures):
            story.append(_signatures(block, styles, width))
    return story


def _table(block: Table, styles: dict[str, Any], width: float) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph as RLParagraph
    from reportlab.platypus import Table as RLTable
    from reportlab.platypus import TableStyle

    n = len(block.header)
    weights = block.widths or (1.0,) * n
    widths = [width * w / sum(weights) for w in weights]
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor(_RULE)),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    data: list[list[Any]] = []
    if block.key_value:
        for key, value in block.rows:
            data.append(
                [
                    RLParagraph(escape(key), styles["cell_key"]),
                    RLParagraph(escape(value), styles["cell_value"]),
                ]
            )
        commands.append(("BACKGROUND", (0, 0), (0, -1), colors.HexColor(_ZEBRA)))
        table = RLTable(data, colWidths=widths, hAlign="LEFT")
        table.setStyle(TableStyle(commands))
        return table
    data.append(
        [
            RLParagraph(escape(h), styles["cell_head_num" if c in block.numeric else "cell_head"])
            for c, h in enumerate(block.header)
        ]
    )
    for r, row in enumerate(block.rows):
        cells = []
        for c, cell in enumerate(row):
            text = escape(cell)
            if block.status is not None and c == block.status_column and block.status[r]:
                color = STATUS_COLORS[block.status[r] or "none"]
                text = f'<font color="{color}"><b>{text}</b></font>'
            cells.append(RLParagraph(text, styles["cell_num" if c in block.numeric else "cell"]))
        data.append(cells)
    commands += [
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(_DARK)),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor(_ZEBRA)]),
    ]
    table = RLTable(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(commands))
    return table


def _figure(
    block: FigureRef, images: Images, styles: dict[str, Any], width: float, height: float
) -> list[Any]:
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image, KeepTogether
    from reportlab.platypus import Paragraph as RLParagraph

    pngs = list(images.get((block.table, block.kind), ()))
    out = []
    for i, png in enumerate(pngs):
        pixels_w, pixels_h = ImageReader(io.BytesIO(png)).getSize()
        # the size the figure was drawn for (static.WIDTH is the text width), shrunk to fit
        scale = min(72 / DPI, width / pixels_w, (height - 60) / pixels_h)
        w, h = pixels_w * scale, pixels_h * scale
        parts: list[Any] = [Image(io.BytesIO(png), width=w, height=h)]
        if i == len(pngs) - 1:
            parts.append(RLParagraph(escape(block.caption), styles["caption"]))
        out.append(KeepTogether(parts))
    return out


def _signatures(block: Signatures, styles: dict[str, Any], width: float) -> Any:
    from reportlab.lib import colors
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph as RLParagraph
    from reportlab.platypus import Table as RLTable
    from reportlab.platypus import TableStyle

    data = [[RLParagraph(escape(h), styles["cell_head"]) for h in block.header]]
    data += [[RLParagraph(escape(role), styles["cell_key"]), "", "", ""] for role in block.roles]
    weights = (2.2, 2.2, 1.2, 2.4)
    table = RLTable(
        data,
        colWidths=[width * w / sum(weights) for w in weights],
        rowHeights=[None] + [1.6 * cm] * len(block.roles),
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(_DARK)),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor(_MUTED)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table
