"""Advised k and ncp for every table of a multi-table avatarization.

Rule (ours, measured in ``docs/multitable.md``): the single-table advisor's
``k = round(0.75·√n)`` clipped to [5, 20] (:func:`avatars.engine.advise_parameters`), and
below the table's number of rows; ``ncp`` is left to the default (5, or fewer dimensions).
Tables are advised on their own rows: a child table's k counts its rows, not its parents'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from avatars.engine.multitable.schema import Link, Table, TableGraph, validate_tables

K_MIN, K_MAX = 5, 20


def advised_k(n_rows: int) -> int:
    """``round(0.75·√n)`` clipped to [K_MIN, K_MAX] and to [2, n − 1]."""
    k = int(np.clip(round(0.75 * np.sqrt(n_rows)), K_MIN, K_MAX))
    return max(2, min(k, n_rows - 1))


def advise_tables(
    tables: Sequence[Table], links: Sequence[Link], *, graph: TableGraph | None = None
) -> dict[str, dict[str, Any]]:
    """``{table: {"k": ..., "ncp": ..., "n_rows": ..., "individual_level": ...}}``.

    ``graph``: an already validated graph of the same tables (skips the validation).
    """
    graph = graph or validate_tables(tables, links)
    advice: dict[str, dict[str, Any]] = {}
    for name in graph.order:
        n = len(graph.tables[name].data)
        advice[name] = {
            "k": advised_k(n),
            "ncp": None,
            "n_rows": n,
            "individual_level": graph.individual_level[name],
        }
    return advice
