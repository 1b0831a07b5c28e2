"""Reading and writing tables (CSV, Parquet) with their column types.

The edge between files and the engine's mathematics: the CLI and the server's jobs read inputs
here and write results here; nothing else in the engine touches files.

CSV conventions: a header row, comma separator (``;`` and tab are detected: the separator that
splits the header into the most fields, quotes respected, and the first lines into as many),
empty fields or ``NA`` for missing values. Columns typed ``category`` are read as text so that
labels such as ``"007"`` keep their form. A text column without a declared type whose every
value is an ISO 8601 date or date-time (``2015-04-18``, ``2015-04-18 07:05:27``,
``2015-04-18T07:05:27+02:00``) is read as ``datetime`` (``datetime_tz`` when every value
carries an offset): CSV has no date type, and a date read as text would be a category with one
modality per row. Other date layouts (``18/04/2015``: day or month first?) stay text unless
declared.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd

from avatars.engine.errors import InvalidDataError, InvalidParameterError
from avatars.engine.schema import ColumnType, parse_column_type

FORMATS = ("csv", "parquet")

Source = str | os.PathLike[str] | IO[bytes] | IO[str]


def format_of(name: str | os.PathLike[str]) -> str:
    """``csv`` or ``parquet`` from a file name (``.csv .tsv .txt`` or ``.parquet .pq``)."""
    suffix = Path(str(name)).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".tsv", ".txt", ""):
        return "csv"
    raise InvalidParameterError(
        "format", f"cannot tell the format of {str(name)!r}: use .csv or .parquet"
    )


def read_table(
    source: Source,
    *,
    format: str | None = None,
    column_types: Mapping[str, str | ColumnType] | None = None,
    sep: str | None = None,
) -> pd.DataFrame:
    """Read a table and give its columns the requested types.

    ``column_types`` maps column → ``int|float|bool|category|datetime|datetime_tz``; columns
    not named keep the type pandas infers.
    """
    if format is None:
        format = format_of(source) if isinstance(source, str | os.PathLike) else "csv"
    if format not in FORMATS:
        raise InvalidParameterError(
            "format", f"expected one of {', '.join(FORMATS)}, got {format!r}"
        )
    types = {c: parse_column_type(t, c) for c, t in (column_types or {}).items()}
    if format == "parquet":
        try:
            df = pd.read_parquet(source)
        except Exception as exc:  # pyarrow raises many types for corrupt input
            raise InvalidDataError(f"cannot read the Parquet input: {exc}") from None
    else:
        df = _read_csv(source, types, sep)
        types = {**infer_text_datetimes(df, skip=types), **types}
    missing = [c for c in types if c not in df.columns]
    if missing:
        raise InvalidDataError(
            f"the file lacks column(s) {', '.join(map(repr, missing))} named in its schema"
        )
    return apply_column_types(df, types)


def _read_csv(source: Source, types: Mapping[str, ColumnType], sep: str | None) -> pd.DataFrame:
    if sep is None:
        sep, source = _detect_separator(source)
    text_columns = {c: str for c, t in types.items() if t == ColumnType.CATEGORY}
    try:
        return pd.read_csv(source, sep=sep, dtype=text_columns or None, keep_default_na=True)
    except pd.errors.EmptyDataError:
        raise InvalidDataError("the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidDataError(
            f"cannot parse the CSV input with separator {sep!r}: {exc}"
        ) from None


# ISO 8601 calendar dates with an optional time (``T`` or space) and an optional offset.
_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?"
    r"(?P<offset>\s?(?:Z|[+-]\d{2}(?::?\d{2})?))?"
)


def infer_text_datetimes(df: pd.DataFrame, skip: Collection[str] = ()) -> dict[str, ColumnType]:
    """The text columns (not in ``skip``) whose every value is an ISO 8601 date or date-time:
    ``datetime``, or ``datetime_tz`` when every value has an offset. Values that look like
    dates but do not exist (``2021-02-30``) keep the column as text."""
    found: dict[str, ColumnType] = {}
    for column in df.columns:
        series = df[column]
        if column in skip or not (
            pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)
        ):
            continue
        values = series.dropna().unique()
        offsets = 0
        for value in values:
            match = _ISO_DATETIME.fullmatch(value.strip()) if isinstance(value, str) else None
            if match is None:
                break  # most text columns stop at their first value
            offsets += match["offset"] is not None
        else:
            if len(values) == 0 or 0 < offsets < len(values):
                continue  # some local, some absolute: ambiguous, let the user declare it
            try:
                pd.to_datetime(pd.Series(values), format="ISO8601", utc=offsets > 0)
            except (TypeError, ValueError):
                continue
            found[str(column)] = ColumnType.DATETIME_TZ if offsets else ColumnType.DATETIME
    return found


#: Candidate CSV separators, in the order that wins a tie.
SEPARATORS = (",", ";", "\t")

#: Lines read to detect the separator.
_SNIFF_LINES = 20


def _detect_separator(source: Source) -> tuple[str, Source]:
    """The CSV separator of ``source`` (see :func:`detect_separator`); a stream is read into
    memory so that it can be read again."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as handle:
            head = b"".join(handle.readline() for _ in range(_SNIFF_LINES + 1))
    else:
        data = source.read()
        source = io.BytesIO(data.encode() if isinstance(data, str) else data)
        head = b"\n".join(source.getvalue().split(b"\n", _SNIFF_LINES + 1)[: _SNIFF_LINES + 1])
    return detect_separator(head.decode("utf-8", errors="replace")), source


def detect_separator(head: str) -> str:
    """The separator (comma, semicolon or tab) of a CSV text starting with ``head``.

    Each candidate splits the lines with quotes respected (``"weight, kg";"age"`` has two
    fields with ``;``); the winner gives the header the most fields among the candidates that
    split every complete line of ``head`` into as many. A header that none splits is one column
    (comma).
    """
    lines = head.splitlines(keepends=True)
    if len(lines) > 1 and not lines[-1].endswith(("\n", "\r")):
        lines = lines[:-1]  # cut in the middle of a line
    best, best_score = ",", (False, 1)
    for sep in SEPARATORS:
        counts = [len(row) for row in csv.reader(lines, delimiter=sep) if row]
        if not counts:
            continue
        score = (all(c == counts[0] for c in counts), counts[0])
        if counts[0] > 1 and score > best_score:
            best, best_score = sep, score
    return best


@dataclass(frozen=True)
class TableLayout:
    """How a table file is read: its format, columns and, for CSV, the separator."""

    format: str
    columns: list[str]
    separator: str | None = None  # CSV only
    separator_detected: bool = False

    def describe(self) -> str:
        """``CSV with separator ';', detected from its first lines``, ``Parquet``."""
        if self.format != "csv":
            return "Parquet"
        shown = {"\t": "tab"}.get(self.separator or ",", repr(self.separator))
        how = ", detected from its first lines" if self.separator_detected else ""
        return f"CSV with separator {shown}{how}"


def inspect_table(
    source: str | os.PathLike[str], *, format: str | None = None, sep: str | None = None
) -> TableLayout:
    """The layout of a table file without reading its rows: format, column names and, for CSV,
    the separator that :func:`read_table` uses (``sep``, or the detected one)."""
    format = format or format_of(source)
    if format == "parquet":
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(source).names
        except Exception as exc:  # pyarrow raises many types for corrupt input
            raise InvalidDataError(f"cannot read the Parquet input: {exc}") from None
        return TableLayout("parquet", [str(n) for n in names])
    detected = sep is None
    if sep is None:
        sep, _ = _detect_separator(source)
    try:
        header = pd.read_csv(source, sep=sep, nrows=0)
    except pd.errors.EmptyDataError:
        raise InvalidDataError("the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidDataError(
            f"cannot parse the CSV input with separator {sep!r}: {exc}"
        ) from None
    return TableLayout("csv", [str(c) for c in header.columns], sep, detected)


def apply_column_types(df: pd.DataFrame, types: Mapping[str, ColumnType]) -> pd.DataFrame:
    """Cast columns to the pandas dtypes of their platform types (errors name the column)."""
    df = df.copy()
    for column, ctype in types.items():
        series = df[column]
        try:
            if ctype == ColumnType.INT:
                numbers = pd.to_numeric(series, errors="raise")
                if numbers.isna().any():
                    df[column] = numbers.astype("Float64").round().astype("Int64")
                elif (numbers != numbers.round()).any():
                    raise ValueError("has non-integer values")
                else:
                    df[column] = numbers.astype("int64")
            elif ctype == ColumnType.FLOAT:
                df[column] = pd.to_numeric(series, errors="raise").astype("float64")
            elif ctype == ColumnType.BOOL:
                df[column] = _to_bool(series)
            elif ctype == ColumnType.CATEGORY:
                pass  # any hashable values are modalities; CSV input was already read as text
            elif ctype == ColumnType.DATETIME:
                parsed = pd.to_datetime(series, errors="raise", format="mixed")
                if isinstance(parsed.dtype, pd.DatetimeTZDtype):
                    parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
                df[column] = parsed
            elif ctype == ColumnType.DATETIME_TZ:
                df[column] = pd.to_datetime(series, errors="raise", utc=True, format="mixed")
        except (TypeError, ValueError) as exc:
            raise InvalidDataError(
                f"cannot be read as {ctype.value}: {exc}", column=column
            ) from None
    return df


_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n"}


def _to_bool(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series

    def parse(value: Any) -> Any:
        if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
            return pd.NA
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{value!r} is not a boolean")

    parsed = series.map(parse)
    return parsed.astype("boolean") if parsed.isna().any() else parsed.astype(bool)


def write_table(
    df: pd.DataFrame, target: str | os.PathLike[str] | IO[bytes], format: str = "csv"
) -> None:
    """Write a table: CSV (UTF-8, header, no index, empty fields for missing) or Parquet."""
    if format == "parquet":
        df.to_parquet(target, index=False)
    elif format == "csv":
        df.to_csv(target, index=False)
    else:
        raise InvalidParameterError(
            "format", f"expected one of {', '.join(FORMATS)}, got {format!r}"
        )


def table_to_bytes(df: pd.DataFrame, format: str = "csv") -> bytes:
    buffer = io.BytesIO()
    write_table(df, buffer, format)
    return buffer.getvalue()
