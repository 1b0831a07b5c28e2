"""Render a :class:`~avatars.engine.reports.document.Document` as one self-contained HTML file.

For analysts: the figures are interactive plotly charts (zoom, hover, toggle a set). The file
opens offline and makes no network request: plotly.js is inlined once in the ``<head>`` for
all the figures, the CSS is inline, there are no fonts, images or scripts to fetch. Element ids
are derived from the table and plot kind, so the same inputs give the same text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from avatars.engine.figures import PlotlyJs, figure_div, html_document, plotly_js_script
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

#: Interactive figures of a document: ``(table, plot kind) → plotly Figure or HTML fragment``.
Figures = Mapping[tuple[str, str], Any]

REPORT_CSS = """
main { max-width: 1180px; margin: 0 auto; }
header.report { border-bottom: 3px solid #243b53; margin-bottom: 18px; }
header.report p { color: #627d98; margin-top: 0; }
nav.toc { background: #f5f7fa; padding: 8px 16px; margin-bottom: 20px; font-size: 14px; }
nav.toc a { margin-right: 14px; color: #243b53; }
h1.table { border-top: 1px solid #d9e2ec; padding-top: 18px; margin-top: 36px; }
p.lead { font-size: 16px; }
p.pass, td .pass { color: #1e7b34; font-weight: bold; }
p.fail, td .fail { color: #b42318; font-weight: bold; }
p.warn, td .warn { color: #b54708; font-weight: bold; }
td .none { color: #627d98; }
table.keyvalue td:first-child { font-weight: bold; background: #f5f7fa; }
figure { margin: 16px 0 28px; }
figcaption { color: #627d98; font-size: 13px; }
table.signatures td { height: 48px; min-width: 140px; border: 1px solid #9fb3c8; }
"""


def render_html(document: Document, figures: Figures, *, plotlyjs: PlotlyJs = "inline") -> str:
    """The document as an HTML page; ``figures`` hold the interactive figures its FigureRefs
    name. ``plotlyjs="cdn"`` makes a small file that needs the network."""
    needs_js = any(not isinstance(f, str) for f in figures.values())
    head = f"<style>{REPORT_CSS}</style>\n" + (plotly_js_script(plotlyjs) if needs_js else "")
    parts = [
        '<main>\n<header class="report">',
        f"<h1>{html.escape(document.title)}</h1>",
        f"<p>{html.escape(document.subtitle)}</p>",
        "</header>",
        _toc(document),
    ]
    anchors = _Anchors()
    for block in document.blocks:
        if isinstance(block, Heading):
            level = min(block.level, 3)
            css = ' class="table"' if level == 1 else ""
            anchor = anchors.make(block.text) if level == 1 else ""
            id_attr = f' id="{anchor}"' if anchor else ""
            parts.append(f"<h{level + 1}{css}{id_attr}>{html.escape(block.text)}</h{level + 1}>")
        elif isinstance(block, Paragraph):
            parts.append(f'<p class="{block.style}">{html.escape(block.text)}</p>')
        elif isinstance(block, Bullets):
            items = "".join(f"<li>{html.escape(item)}</li>" for item in block.items)
            parts.append(f"<ul>{items}</ul>")
        elif isinstance(block, Table):
            parts.append(_table(block))
        elif isinstance(block, FigureRef):
            parts.append(_figure(block, figures, anchors.make(f"fig-{block.table}-{block.kind}")))
        elif isinstance(block, PageBreak):
            continue
        elif isinstance(block, Signatures):
            parts.append(_signatures(block))
    parts.append("</main>")
    return html_document(document.title, "\n".join(parts), head=head, language=document.language)


class _Anchors:
    """Stable, unique ids for the top-level headings (the table of contents links to them)."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def make(self, text: str) -> str:
        base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
        count = self.seen.get(base, 0)
        self.seen[base] = count + 1
        return base if count == 0 else f"{base}-{count}"


def _toc(document: Document) -> str:
    anchors = _Anchors()
    links = [
        f'<a href="#{anchors.make(b.text)}">{html.escape(b.text)}</a>'
        for b in document.blocks
        if isinstance(b, Heading) and b.level == 1
    ]
    return f'<nav class="toc">{"".join(links)}</nav>' if len(links) > 1 else ""


def _table(block: Table) -> str:
    if block.key_value:
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in block.rows
        )
        return f'<table class="avatars keyvalue"><tbody>{rows}</tbody></table>'
    head = "".join(f"<th>{html.escape(h)}</th>" for h in block.header)
    body = []
    for r, row in enumerate(block.rows):
        cells = []
        for c, text in enumerate(row):
            content = html.escape(text)
            status = (
                block.status[r] if block.status is not None and c == block.status_column else None
            )
            if status:
                content = f'<span class="{status}">{content}</span>'
            css = ' class="num"' if c in block.numeric else ""
            cells.append(f"<td{css}>{content}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<table class="avatars"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _figure(block: FigureRef, figures: Figures, element_id: str) -> str:
    figure = figures.get((block.table, block.kind))
    if figure is None:
        return ""
    content = figure if isinstance(figure, str) else figure_div(figure, element_id)
    return f"<figure>{content}<figcaption>{html.escape(block.caption)}</figcaption></figure>"


def _signatures(block: Signatures) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in block.header)
    rows = "".join(
        f"<tr><td>{html.escape(role)}</td>{'<td></td>' * (len(block.header) - 1)}</tr>"
        for role in block.roles
    )
    return (
        f'<table class="avatars signatures"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
