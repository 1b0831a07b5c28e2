"""Advised k and ncp for every table of a multi-table avatarization.

Rule (ours, measured in ``docs/multitable.md``): the single-table advisor's
``k = round(0.75·√n)`` (:func:`avatars.engine.advise_parameters`), clipped to [10, 20] instead
of [5, 20], and below the table's number of rows; ``ncp`` is left to the default (5, or fewer
dimensions). Tables are advised on their own rows: a child table's k counts its rows. An
independent table (no link uses it, no series table) is not enriched: it keeps the single-table
clip [5, 20].

A table with series tables (``time_series`` links) gets the larger of that k and the k of
:func:`avatars.engine.timeseries.advise_time_series` (the smallest k whose measured hidden rate
on the table joined with its series features reaches 92 %: series make individuals far more
distinct than a few columns), and each series table its advised ``nb_points`` and ``nf``
(``"time_series"``; no ``k``: a series table is avatarized with its individual table).

Why a floor of 10: enrichment adds columns (children summaries, parent variables), which makes
small tables' records more distinct. On the synthetic schema's 80 hospitals (4 own columns, 9
enrichment columns), the hidden rate over seeds 0, 1, 2 was 85.0 / 96.3 / 92.5 % at the
single-table advice k = 7, and 92.5 / 96.3 / 93.8 % at k = 10 (95-96 % at k = 15 or 20).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from avatars.engine.multitable.schema import Link, Table, TableGraph, validate_tables
from avatars.engine.timeseries.advice import advise_time_series

K_MIN, K_MAX = 10, 20

#: An independent table (no link, no series) has no enrichment column: it gets the
#: single-table advisor's floor (:func:`avatars.engine.advise_parameters`).
K_MIN_INDEPENDENT = 5


def advised_k(n_rows: int, k_min: int = K_MIN) -> int:
    """``round(0.75·√n)`` clipped to [k_min, K_MAX] and to [2, n − 1]."""
    k = int(np.clip(round(0.75 * np.sqrt(n_rows)), k_min, K_MAX))
    return max(2, min(k, n_rows - 1))


def advise_tables(
    tables: Sequence[Table],
    links: Sequence[Link],
    *,
    graph: TableGraph | None = None,
    names: Collection[str] | None = None,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """``{table: {"k": ..., "ncp": ..., "n_rows": ..., "individual_level": ...}}``, plus
    ``"time_series"`` (and ``"hidden_rate"`` of the search) for tables with series and for
    series tables (module docstring).

    ``graph``: an already validated graph of the same tables (skips the validation);
    ``names``: advise only these tables (default: all); ``seed``: of the series search.
    """
    graph = graph or validate_tables(tables, links)
    wanted = set(graph.order) | set(graph.series) if names is None else set(names)
    advice: dict[str, dict[str, Any]] = {}
    for name in graph.order:
        if name not in wanted and not any(s.name in wanted for s in graph.series_of(name)):
            continue
        table = graph.tables[name]
        n = len(table.data)
        entry: dict[str, Any] = {
            "k": advised_k(n, K_MIN_INDEPENDENT if graph.is_independent(name) else K_MIN),
            "ncp": None,
            "n_rows": n,
            "individual_level": graph.individual_level[name],
        }
        members = graph.series_of(name)
        if members:
            key = graph.primary_key(name)
            own = graph.own_columns(name)
            found = advise_time_series(
                table.data[[key, *own]].reset_index(drop=True),
                [series.spec() for series in members],
                individual_key=key,
                seed=seed,
                column_types=graph.column_types[name],
                imputation=table.parameters.imputation,
            )
            entry["k"] = max(entry["k"], int(found["k"]))
            entry["hidden_rate"] = found["hidden_rate"]
            for series in members:
                advice[series.name] = {
                    "k": None,
                    "ncp": None,
                    "n_rows": len(series.table.data),
                    "individual_level": False,
                    "individual_table": name,
                    "time_series": found["series"][series.name],
                }
        if name in wanted:
            advice[name] = entry
    return {name: advice[name] for name in [*graph.order, *graph.series] if name in advice}
