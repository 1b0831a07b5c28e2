"""The links an advice job of type ``tables_links`` proposes (``Runner.advise_links``).

The advice file holds one entry per table, ``{"table_name": t, "advice": {...}}``: a parent's
entry lists the links it is advised to start (``links``: ``{field, to: {table, field}, method,
confidence}``, declared on the parent as in the schema), a child's entry the foreign keys that
could not be given one parent (``unlinked_foreign_keys``: ``{field, candidate_tables}``). The
names are the official client 1.30's (``avatars.links_advice``), so notebooks read the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from avatars.protocol.enums import LinkMethod

__all__ = ["AdvisedLink", "TablesLinksAdvice", "UnlinkedForeignKey", "parse_tables_links_advice"]


@dataclass(frozen=True)
class AdvisedLink:
    """``parent_table.parent_field`` (its primary key) → ``child_table.child_field``.

    ``confidence``: ``high`` (one possible parent, or the names match), ``medium`` (the foreign
    key's name contains the parent's), ``low`` (a weak name match).
    """

    parent_table: str
    parent_field: str
    child_table: str
    child_field: str
    method: LinkMethod
    confidence: str


@dataclass(frozen=True)
class UnlinkedForeignKey:
    """A foreign key the advisor could not give one parent; ``candidate_tables`` could be."""

    table: str
    field: str
    candidate_tables: list[str] = dataclasses.field(default_factory=list)


@dataclass(frozen=True)
class TablesLinksAdvice:
    links: list[AdvisedLink] = dataclasses.field(default_factory=list)
    unlinked_foreign_keys: list[UnlinkedForeignKey] = dataclasses.field(default_factory=list)


def parse_tables_links_advice(documents: Iterable[Any]) -> TablesLinksAdvice:
    """The advice of every table, from the advice files' contents (each a list of entries,
    or one entry)."""
    advice = TablesLinksAdvice()
    for document in documents:
        for entry in document if isinstance(document, list) else [document]:
            if not isinstance(entry, dict):
                continue
            table = str(entry.get("table_name", ""))
            found = entry.get("advice") or {}
            for link in found.get("links") or []:
                advice.links.append(
                    AdvisedLink(
                        parent_table=table,
                        parent_field=str(link["field"]),
                        child_table=str(link["to"]["table"]),
                        child_field=str(link["to"]["field"]),
                        method=LinkMethod(link["method"]),
                        confidence=str(link["confidence"]),
                    )
                )
            for key in found.get("unlinked_foreign_keys") or []:
                advice.unlinked_foreign_keys.append(
                    UnlinkedForeignKey(
                        table=table,
                        field=str(key["field"]),
                        candidate_tables=[str(t) for t in key.get("candidate_tables") or []],
                    )
                )
    return advice
