"""Datetimes as seconds since the epoch, and back (method.md §1.2)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from avatars.processors._base import ProcessorError, check_columns, check_fitted, is_numeric

__all__ = ["DatetimeProcessor"]

_SECOND = pd.Timedelta(seconds=1)


class DatetimeProcessor:
    """Turn every datetime column into float seconds since 1970-01-01 (UTC), and back.

    ``preprocess`` finds the datetime columns (naive or time-zone aware) and replaces them by
    their seconds since the epoch (missing values become NaN). ``postprocess`` turns those
    columns of ``dest`` back into datetimes rounded to the second, with the original column's
    dtype (resolution and time zone); NaN becomes NaT. Other columns are left alone.

    Example::

        p = DatetimeProcessor()
        avatars = p.postprocess(df, avatarize(p.preprocess(df)))
    """

    def __init__(self) -> None:
        self.datetime_variables: list[Any] = []
        self._dtypes: dict[Any, Any] = {}
        self._fitted = False

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with its datetime columns as float seconds since the epoch."""
        out = df.copy()
        self.datetime_variables = [
            c
            for c in df.columns
            if pd.api.types.is_datetime64_any_dtype(df[c])  # naive and tz-aware
        ]
        self._dtypes = {c: df[c].dtype for c in self.datetime_variables}
        for column in self.datetime_variables:
            values = df[column]
            epoch = pd.Timestamp(0, tz="UTC") if values.dt.tz is not None else pd.Timestamp(0)
            out[column] = ((values - epoch) / _SECOND).astype("float64")
        self._fitted = True
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """``dest`` with the columns preprocess converted back to datetimes (to the second).

        The dtype is the one ``source`` has for the column (else the one seen by preprocess).
        """
        check_fitted(self._fitted, self)
        check_columns(dest, self.datetime_variables, argument="datetime columns", table="dest")
        out = dest.copy()
        for column in self.datetime_variables:
            dtype = self._dtypes[column]
            if column in source.columns and pd.api.types.is_datetime64_any_dtype(source[column]):
                dtype = source[column].dtype
            out[column] = _from_seconds(dest[column], dtype, column)
        return out


def _from_seconds(values: pd.Series, dtype: Any, column: Any) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype(dtype)  # already datetimes: nothing to undo but the dtype
    if not is_numeric(values):
        raise ProcessorError(
            f"column {column!r} of dest must hold seconds since the epoch (numbers), "
            f"got dtype {values.dtype}"
        )
    seconds = values.to_numpy(dtype="float64", na_value=np.nan)
    missing = np.isnan(seconds)
    # beyond datetime64[s]'s range (about ±2.9e11 years) the conversion would wrap around
    if np.any(np.abs(seconds[~missing]) > 2**62):
        raise ProcessorError(f"column {column!r} of dest has values too large for a datetime")
    whole = np.where(missing, 0, np.rint(seconds)).astype("int64")
    as_utc = pd.Series(
        np.where(missing, np.datetime64("NaT", "s"), whole.astype("datetime64[s]")),
        index=values.index,
    )
    tz = getattr(dtype, "tz", None)
    try:
        if tz is not None:
            return as_utc.dt.tz_localize("UTC").dt.tz_convert(tz).astype(dtype)
        return as_utc.astype(dtype)
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime) as exc:
        raise ProcessorError(
            f"column {column!r} of dest has dates outside the range of its dtype {dtype}: {exc}"
        ) from exc
