"""A small, format-neutral document model: what a report says, separate from how a format
draws it.

The report and PIA builders (:mod:`.report`, :mod:`.pia`) produce a :class:`Document` made of
the blocks below; :mod:`.pdf`, :mod:`.word` and :mod:`.html` render any document. So the PDF,
the DOCX and the HTML report cannot drift apart in content, and a new format is one renderer.
Figures are referenced (:class:`FigureRef`), not embedded: each renderer draws them in its own
medium (PNG for PDF/DOCX, interactive plotly for HTML).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from avatars.engine.texts import Language

Status = Literal["pass", "fail", "warn", "none"]
ParagraphStyle = Literal["body", "lead", "note", "pass", "fail", "warn"]


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1  # 1: section (a table, a criterion), 2: subsection, 3: minor


@dataclass(frozen=True)
class Paragraph:
    text: str
    style: ParagraphStyle = "body"


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table of plain strings.

    ``widths`` are relative column widths; ``numeric`` columns are right-aligned; when
    ``status`` is given, the cell of ``status_column`` in each row is coloured by its status;
    ``key_value`` tables (parameter lists) have a bold first column and no header row.
    """

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...] | None = None
    numeric: frozenset[int] = frozenset()
    status: tuple[Status | None, ...] | None = None
    status_column: int | None = None
    key_value: bool = False


@dataclass(frozen=True)
class FigureRef:
    """A figure of one table, drawn by the renderer (a static format may draw several images,
    e.g. one page of distribution panels per 12 variables)."""

    table: str
    kind: str
    caption: str


@dataclass(frozen=True)
class PageBreak:
    pass


@dataclass(frozen=True)
class Signatures:
    """Rows to be filled in by hand: one per role, with empty name, date and signature cells."""

    header: tuple[str, ...]
    roles: tuple[str, ...]


Block = Heading | Paragraph | Bullets | Table | FigureRef | PageBreak | Signatures


@dataclass
class Document:
    title: str
    language: Language
    created: datetime
    subtitle: str = ""
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def figure_refs(self) -> list[FigureRef]:
        return [b for b in self.blocks if isinstance(b, FigureRef)]
