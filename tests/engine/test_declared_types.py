"""Columns declared ``category`` whose values are dates or numbers: retyped by their nature,
with a note (the official client declares every text column ``category``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from avatars.engine import avatarize
from avatars.engine.schema import reconcile_declared_types
from avatars.protocol.enums import ColumnType

EPL = Path(__file__).resolve().parents[1] / "data" / "examples" / "epl.csv"


def test_epl_dates_declared_category_are_datetimes() -> None:
    df = pd.read_csv(EPL)
    declared = {
        "position": "category",
        "career_start_date": "category",
        "club_signing_date": "category",
    }
    table, types, notes = reconcile_declared_types(df, declared)
    assert types["career_start_date"] == ColumnType.DATETIME
    assert types["position"] == ColumnType.CATEGORY
    assert [n["column"] for n in notes] == ["career_start_date", "club_signing_date"]
    assert "572 distinct values are all dates" in notes[0]["reason"]
    assert df["career_start_date"].dtype != table["career_start_date"].dtype  # a copy changed
    result = avatarize(table, k=10, seed=0, column_types=types)
    dates = result.shuffled["career_start_date"]
    assert dates.notna().all()
    assert dates.min() >= table["career_start_date"].min()


def test_numbers_of_one_value_per_row_are_measurements_and_text_stays_category() -> None:
    df = pd.DataFrame(
        {
            "amount": [f"{i * 1.5:.1f}" for i in range(100)],
            "name": [f"person {i}" for i in range(100)],
            "zip": [f"{75000 + i % 10}" for i in range(100)],  # 10 codes: categories
            "day": [f"2024-01-{1 + i % 5:02d}" for i in range(100)],  # 5 dates: categories
        }
    )
    table, types, notes = reconcile_declared_types(df, dict.fromkeys(df.columns, "category"))
    assert types["amount"] == ColumnType.FLOAT and table["amount"].iloc[3] == 4.5
    assert types["name"] == types["zip"] == types["day"] == ColumnType.CATEGORY
    assert [n["column"] for n in notes] == ["amount"]
    unchanged, _, none = reconcile_declared_types(df[["name", "zip"]], None)
    assert none == [] and unchanged is not None
