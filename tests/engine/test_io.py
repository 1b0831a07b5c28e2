"""Reading tables: CSV text that is a date becomes a datetime column, nothing else does."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from avatars.engine import avatarize
from avatars.engine.errors import InvalidDataError
from avatars.engine.io import detect_separator, inspect_table, read_table, table_to_bytes

CSV = """\
visit_day,visit_time,stamp,mixed,not_a_date,french_date,label,number
2021-03-01,2021-03-01 08:15:00,2021-03-01T08:15:00+02:00,2021-03-01 08:15Z,2021-02-30,01/03/2021,a,1
2021-03-02,2021-03-02T09:30:12.5,2021-03-02T09:30:00Z,2021-03-02,2021-03-02,02/03/2021,b,2
,,,,,,,3
"""


def test_iso_dates_and_date_times_are_read_as_datetimes() -> None:
    df = read_table(io.StringIO(CSV))
    assert pd.api.types.is_datetime64_dtype(df["visit_day"])
    assert pd.api.types.is_datetime64_dtype(df["visit_time"])
    assert df["visit_day"].isna().sum() == 1  # a missing value stays missing
    assert df["visit_time"].iloc[1] == pd.Timestamp("2021-03-02 09:30:12.500")
    # every value with an offset: an absolute instant, in UTC
    assert isinstance(df["stamp"].dtype, pd.DatetimeTZDtype)
    assert df["stamp"].iloc[0] == pd.Timestamp("2021-03-01 06:15:00", tz="UTC")


def test_text_that_is_not_surely_a_date_stays_text() -> None:
    df = read_table(io.StringIO(CSV))
    for column in ("mixed", "not_a_date", "french_date", "label"):
        assert not pd.api.types.is_datetime64_any_dtype(df[column]), column
    assert df["not_a_date"].iloc[0] == "2021-02-30"


def test_a_declared_type_wins_over_the_inference() -> None:
    df = read_table(io.StringIO(CSV), column_types={"visit_day": "category"})
    assert df["visit_day"].iloc[0] == "2021-03-01"
    with pytest.raises(InvalidDataError, match="not_a_date"):
        read_table(io.StringIO(CSV), column_types={"not_a_date": "datetime"})


def test_dates_in_a_csv_round_trip_through_the_avatarization() -> None:
    rng = np.random.default_rng(0)
    n = 60
    original = pd.DataFrame(
        {
            "signed": (pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D")),
            "started": pd.Timestamp("2019-05-01 08:00")
            + pd.to_timedelta(rng.integers(0, 10**7, n), "s"),
            "amount": rng.normal(100, 10, n).round(2),
        }
    )
    text = table_to_bytes(original).decode()
    table = read_table(io.StringIO(text))
    result = avatarize(table, k=5, seed=1)
    written = table_to_bytes(result.shuffled).decode().splitlines()
    assert written[0] == "signed,started,amount"
    signed, started, _ = written[1].split(",")
    # dates stay dates, date-times stay date-times
    assert len(signed) == len("2020-01-01") and len(started) == len("2019-05-01 08:00:00")
    assert table["signed"].min() <= pd.Timestamp(signed) <= table["signed"].max()


@pytest.mark.parametrize(
    ("head", "separator"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ('"weight, kg";"height, cm";"age, years"\n1;2;3\n', ";"),  # quotes respected
        ("a;b\n1,5;2\n", ";"),  # a decimal comma in the data
        ("a\tb\n1\t2", "\t"),
        ("single\n1\n", ","),
    ],
)
def test_the_separator_is_the_one_that_splits_the_lines_consistently(head, separator) -> None:
    assert detect_separator(head) == separator


def test_the_layout_says_how_a_file_is_read(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('"weight, kg";"age"\n1;2\n')
    layout = inspect_table(path)
    assert layout.columns == ["weight, kg", "age"] and layout.separator == ";"
    assert layout.describe() == "CSV with separator ';', detected from its first lines"
    assert read_table(path).columns.tolist() == layout.columns
