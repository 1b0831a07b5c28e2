"""What a table learns of its neighbours before it is avatarized (method.md §6.1, §2.12).

- **Children summaries** (``to_top_enriched``): for each link ``parent → child``, each parent
  row gets its number of children ``n`` — as ``log(1 + n)``: fan-outs are skewed, the log keeps
  a few large families from dominating the projection, and its decimals survive the
  avatarization's rounding, so avatar parents can be ranked by it without ties — and summaries
  of their variables: the mean of each numeric variable, the share of the most frequent
  modalities of each categorical one (at most :data:`MAX_MODALITIES` per variable,
  :data:`MAX_SUMMARIES` per link). Datetimes are not summarized. Means of a parent without
  children are missing (the avatarization models that with its missingness indicator).
- **Parent context** (``to_bottom``): each child row gets the modelled (non-excluded) own
  variables of each of its parents, and the number of children of that parent in its own
  table (its siblings and itself).

Both are *specifications fitted on the originals* (which columns, which modalities) applied
to any set of tables whose keys agree: the originals before avatarization, and the linked
avatars when the privacy and signal metrics rebuild the same views.

Column names use the separator ``::``, which keeps them apart from the tables' own columns
(a clash is refused): ``<child>::<foreign key>::log_count``,
``<child>::<foreign key>::mean::<col>``, ``<child>::<foreign key>::share::<col>=<modality>``,
``<foreign key>::<parent column>`` and ``<foreign key>::<child>::log_count``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from avatars.engine import ColumnType, InvalidDataError
from avatars.engine.multitable.schema import Link, TableGraph

SEPARATOR = "::"

#: Modalities of a categorical child variable summarized as shares (the most frequent first).
MAX_MODALITIES = 3

#: Summary columns per link besides the count: a wide child table must not swamp the parent's
#: own variables in its projection (each enriched column weighs as much as an own column).
MAX_SUMMARIES = 12


def count_column(link: Link) -> str:
    """The parent's number of children of this link, as ``log(1 + n)`` (see the docstring)."""
    return f"{link.child}{SEPARATOR}{link.foreign_key}{SEPARATOR}log_count"


def context_column(link: Link, column: str) -> str:
    return f"{link.foreign_key}{SEPARATOR}{column}"


def context_count_column(link: Link) -> str:
    """The parent's number of children, as its children see it."""
    return f"{link.foreign_key}{SEPARATOR}{link.child}{SEPARATOR}log_count"


@dataclass(frozen=True)
class ChildrenSummary:
    """The summaries of one link's children, fitted on the original child table."""

    link: Link
    means: tuple[str, ...]
    shares: tuple[tuple[str, object], ...]  # (column, modality)

    @property
    def count_name(self) -> str:
        return count_column(self.link)

    def names(self) -> list[str]:
        prefix = f"{self.link.child}{SEPARATOR}{self.link.foreign_key}{SEPARATOR}"
        return (
            [self.count_name]
            + [f"{prefix}mean{SEPARATOR}{c}" for c in self.means]
            + [f"{prefix}share{SEPARATOR}{c}={m}" for c, m in self.shares]
        )

    @classmethod
    def fit(cls, graph: TableGraph, link: Link, *, summaries: bool = True) -> ChildrenSummary:
        if not summaries:
            return cls(link, (), ())
        child = graph.tables[link.child].data
        types = graph.column_types[link.child]
        means: list[str] = []
        shares: list[tuple[str, object]] = []
        for column in graph.modelled_columns(link.child):
            ctype = types[column]
            if ctype in (ColumnType.INT, ColumnType.FLOAT):
                means.append(column)
            elif ctype in (ColumnType.CATEGORY, ColumnType.BOOL):
                counts = child[column].value_counts(dropna=True)
                if len(counts) < 2:
                    continue
                # most frequent first, ties by text: deterministic whatever the row order
                ranked = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
                kept = ranked[: min(MAX_MODALITIES, len(ranked) - 1)]
                shares.extend((column, modality) for modality, _ in kept)
        budget = MAX_SUMMARIES
        means = means[:budget]
        shares = shares[: max(0, budget - len(means))]
        return cls(link, tuple(means), tuple(shares))

    def apply(self, parent_keys: pd.Series, child: pd.DataFrame) -> pd.DataFrame:
        """The summaries, one row per value of ``parent_keys`` (in its order)."""
        fk = child[self.link.foreign_key]
        index = pd.Index(parent_keys)
        position = index.get_indexer(fk)
        if (position < 0).any():
            raise InvalidDataError(
                f"{int((position < 0).sum())} row(s) of '{self.link.child}' point to no row of "
                f"'{self.link.parent}'",
                column=self.link.foreign_key,
            )
        n = len(index)
        names = self.names()
        out = np.full((n, len(names)), np.nan)
        out[:, 0] = np.log1p(np.bincount(position, minlength=n))
        column = 1
        with np.errstate(invalid="ignore", divide="ignore"):
            for name in self.means:
                values = pd.to_numeric(child[name], errors="coerce").to_numpy(dtype=np.float64)
                seen = ~np.isnan(values)
                total = np.bincount(position[seen], weights=values[seen], minlength=n)
                observed = np.bincount(position[seen], minlength=n)
                out[:, column] = np.where(observed > 0, total / np.maximum(observed, 1), np.nan)
                column += 1
            for name, modality in self.shares:
                series = child[name]
                seen = series.notna().to_numpy()
                hit = (series == modality).to_numpy(dtype=bool) & seen
                observed = np.bincount(position[seen], minlength=n)
                matches = np.bincount(position[hit], minlength=n)
                out[:, column] = np.where(observed > 0, matches / np.maximum(observed, 1), np.nan)
                column += 1
        return pd.DataFrame(out, columns=names)


def parent_context(
    graph: TableGraph, link: Link, tables: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """The parent's modelled variables and its number of children, one row per child row
    (``tables`` holds the parent and the child with matching keys)."""
    parent = tables[link.parent]
    child = tables[link.child]
    columns = graph.modelled_columns(link.parent)
    position = pd.Index(parent[link.parent_key]).get_indexer(child[link.foreign_key])
    if (position < 0).any():
        raise InvalidDataError(
            f"{int((position < 0).sum())} row(s) of '{link.child}' point to no row of "
            f"'{link.parent}'",
            column=link.foreign_key,
        )
    context = parent[columns].iloc[position].reset_index(drop=True)
    context.columns = [context_column(link, c) for c in columns]
    siblings = np.bincount(position, minlength=len(parent)).astype(np.float64)
    context[context_count_column(link)] = np.log1p(siblings[position])
    return context


def context_types(graph: TableGraph, link: Link) -> dict[str, ColumnType]:
    types = {
        context_column(link, c): graph.column_types[link.parent][c]
        for c in graph.modelled_columns(link.parent)
    }
    types[context_count_column(link)] = ColumnType.FLOAT
    return types


def carries_signal(series: pd.Series) -> bool:
    """An enrichment column is kept when it varies (a constant or all-missing column has
    nothing to say, and the avatarization refuses it)."""
    observed = series.dropna()
    return observed.nunique() > 1 or (0 < len(observed) < len(series))
