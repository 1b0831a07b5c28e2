"""Parameter advice and a per-column summary of a table (method.md §6.7, the ``advice`` job).

Octopize does not publish its advisor's rules; these are ours, stated so a user can check them:

- ``k``: ``round(0.75·√n)`` clipped to [5, 20] (and below the number of rows). The paper used
  ``k = 20`` on tables of 683 and 2,139 rows; its WBCD sweep shows utility stable up to
  k ≈ 100 and degrading beyond, while privacy grows with k (method.md §5.3). Small tables get
  fewer neighbours so that each avatar stays a local model.
- ``ncp``: 5 (the documented default), or fewer when the table has fewer dimensions.
- imputation (only when values are missing): exact ``knn`` up to 20,000 rows, ``fast_knn``
  above, with ``k = 5`` and a training sample of at most 100,000 rows.

The summary lists, per column, its type, missing and distinct counts and shares, central
values and flags a user should look at: ``probable_id`` (one distinct value per row),
``is_constant``, ``is_skewed`` (|skewness| > 1), ``has_rare_modalities`` (a modality held by
fewer than 1 % of the rows or fewer than 5 rows).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from avatars.engine.preprocessing import validate_table
from avatars.engine.schema import ColumnType, resolve_column_types

KNN_MAX_ROWS = 20_000


def advise_parameters(
    df: pd.DataFrame, *, column_types: Mapping[str, str | ColumnType] | None = None
) -> dict[str, Any]:
    """Suggested avatarization parameters for ``df`` and its per-column summary (JSON-ready)."""
    validate_table(df)
    types = resolve_column_types(df, column_types)
    n = len(df)
    k = int(np.clip(round(0.75 * np.sqrt(n)), 5, 20))
    k = max(2, min(k, n - 1))
    dimensions = 0
    for column, ctype in types.items():
        if ctype.is_continuous:
            dimensions += 1
        else:
            dimensions += max(1, int(df[column].nunique(dropna=True)) - 1)
    has_missing = bool(df.isna().any().any())
    dimensions += int(df.isna().any().sum())  # missingness indicators
    ncp = max(1, min(5, dimensions, n - 1))
    imputation: dict[str, Any] = {
        "method": ("knn" if n <= KNN_MAX_ROWS else "fast_knn") if has_missing else "fast_knn",
        "k": 5,
        "training_fraction": round(min(1.0, 100_000 / n), 4),
        "return_data_imputed": False,
    }
    return {
        "k": k,
        "ncp": ncp,
        "use_categorical_reduction": False,
        "imputation": imputation,
        "summary": {"stats": table_summary(df, column_types=types)},
    }


def table_summary(
    df: pd.DataFrame, *, column_types: Mapping[str, str | ColumnType] | None = None
) -> list[dict[str, Any]]:
    """One record per column (accepted by ``pd.DataFrame(records)``)."""
    types = resolve_column_types(df, column_types)
    n = len(df)
    records = []
    for column in df.columns:
        series = df[column]
        ctype = types[column]
        observed = series.dropna()
        n_missing = int(n - len(observed))
        n_unique = int(observed.nunique())
        record: dict[str, Any] = {
            "variable": str(column),
            "type": ctype.value,
            "n_missing": n_missing,
            "missing_share": round(n_missing / n, 6) if n else 0.0,
            "n_unique": n_unique,
            "unique_share": round(n_unique / n, 6) if n else 0.0,
            "mean": None,
            "median": None,
            "std": None,
            "min": None,
            "max": None,
            "mode": None,
            "is_constant": n_unique <= 1,
            "probable_id": n >= 10 and n_unique == n,
            "is_skewed": False,
            "has_rare_modalities": False,
        }
        if len(observed):
            mode = observed.mode(dropna=True)
            record["mode"] = _plain(mode.iloc[0]) if len(mode) else None
        if ctype in (ColumnType.INT, ColumnType.FLOAT) and len(observed):
            values = pd.to_numeric(observed, errors="coerce").astype(float)
            record.update(
                mean=float(values.mean()),
                median=float(values.median()),
                std=float(values.std(ddof=0)),
                min=float(values.min()),
                max=float(values.max()),
                is_skewed=bool(abs(values.skew()) > 1) if len(values) > 2 else False,
            )
        elif ctype in (ColumnType.DATETIME, ColumnType.DATETIME_TZ) and len(observed):
            stamps = pd.to_datetime(observed, utc=ctype == ColumnType.DATETIME_TZ)
            record.update(min=stamps.min().isoformat(), max=stamps.max().isoformat())
        elif len(observed):
            counts = observed.value_counts()
            threshold = max(5, 0.01 * n)
            record["has_rare_modalities"] = bool((counts < threshold).any())
        records.append(record)
    return records


def _plain(value: Any) -> Any:
    """JSON-friendly scalar."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value
