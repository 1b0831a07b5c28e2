"""Numeric columns with few distinct values avatarized as categories (method.md §1.2)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from avatars.processors._base import (
    ProcessorError,
    check_columns,
    check_fitted,
    check_int,
    check_name,
    check_new_columns,
    is_numeric,
)

__all__ = ["ToCategoricalProcessor"]

#: How a missing value may read once it went through a text file.
_MISSING_TEXT = frozenset({"", "nan", "NaN", "<NA>", "None", "NaT", "null"})


class ToCategoricalProcessor:
    """Model numeric columns with at most ``to_categorical_threshold`` distinct values as
    categories, so that avatars only take values seen in the original.

    ``preprocess`` casts those columns (integers or floats, not booleans; missing values are
    not counted) to ``object``. With ``keep_continuous=True`` it also appends a numeric copy of
    each, named ``<column><continuous_suffix>``. ``postprocess`` casts them back to their
    original dtype (values that came back as text, e.g. ``"7"`` from a CSV, are parsed); with
    ``keep_continuous=True``, rows whose category is ``category`` (the modality a
    :class:`GroupModalitiesProcessor` merged rare values into) take the value of the numeric
    copy, and the copies are dropped.

    Example::

        p = ToCategoricalProcessor(to_categorical_threshold=10)
        avatars = p.postprocess(df, avatarize(p.preprocess(df)))
    """

    def __init__(
        self,
        to_categorical_threshold: int,
        *,
        keep_continuous: bool = False,
        continuous_suffix: str = "__cont",
        category: str = "other",
    ) -> None:
        self.to_categorical_threshold = check_int(
            to_categorical_threshold, argument="to_categorical_threshold", minimum=1
        )
        self.keep_continuous = bool(keep_continuous)
        check_name(continuous_suffix, argument="continuous_suffix")
        self.continuous_suffix = continuous_suffix
        self.category = category
        self.variables: list[Any] = []
        self.continuous_variables: list[Any] = []
        self._dtypes: dict[Any, Any] = {}
        self._fitted = False

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with the numeric columns of few distinct values as ``object`` columns."""
        self.variables = [
            c
            for c in df.columns
            if is_numeric(df[c]) and df[c].nunique() <= self.to_categorical_threshold
        ]
        self._dtypes = {c: df[c].dtype for c in self.variables}
        out = df.copy()
        self.continuous_variables = []
        if self.keep_continuous:
            self.continuous_variables = [f"{c}{self.continuous_suffix}" for c in self.variables]
            check_new_columns(
                df, [("continuous_suffix", name) for name in self.continuous_variables], table="df"
            )
            for column, copy in zip(self.variables, self.continuous_variables, strict=True):
                out[copy] = df[column]
        for column in self.variables:
            out[column] = df[column].astype("object")
        self._fitted = True
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """``dest`` with the converted columns back to their numeric dtype (``source``'s when
        it has the column), the continuous copies merged in and dropped."""
        check_fitted(self._fitted, self)
        check_columns(dest, self.variables, argument="converted columns", table="dest")
        check_columns(
            dest, self.continuous_variables, argument="continuous_suffix copies", table="dest"
        )
        out = dest.copy()
        copies: dict[Any, Any] = dict(zip(self.variables, self.continuous_variables, strict=False))
        for column in self.variables:
            values = dest[column]
            copy = copies.get(column)
            if copy is not None:
                grouped = (values == self.category).to_numpy(dtype=bool, na_value=False)
                values = values.astype("object").where(~grouped, dest[copy])
            dtype = source[column].dtype if column in source.columns else self._dtypes[column]
            out[column] = _to_numeric(values, dtype, column)
        return out.drop(columns=self.continuous_variables)


def _to_numeric(values: pd.Series, dtype: Any, column: Any) -> pd.Series:
    texts = values.astype("object")
    missing_text = texts.map(lambda v: isinstance(v, str) and v.strip() in _MISSING_TEXT)
    parsed = pd.to_numeric(texts.where(~missing_text.astype(bool), None), errors="coerce")
    unparsed = parsed.isna() & values.notna() & ~missing_text.astype(bool)
    if unparsed.any():
        bad = list(dict.fromkeys(values[unparsed].tolist()))[:5]
        raise ProcessorError(
            f"column {column!r} of dest: cannot turn {_listing(bad)} back into numbers "
            f"(dtype {dtype}); a modality merged by GroupModalitiesProcessor needs "
            "keep_continuous=True"
        )
    if pd.api.types.is_integer_dtype(dtype):
        numbers = parsed.to_numpy(dtype="float64", na_value=np.nan)
        fractional = ~np.isnan(numbers) & (numbers != np.round(numbers))
        if fractional.any():
            raise ProcessorError(
                f"column {column!r} of dest: {float(numbers[fractional][0])!r} is not an integer, "
                f"expected values of dtype {dtype}"
            )
        if np.isnan(numbers).any() and isinstance(dtype, np.dtype):
            dtype = np.dtype("float64")  # as pandas does: numpy integers cannot hold a NaN
    return parsed.astype(dtype)


def _listing(values: list[Any]) -> str:
    return ", ".join(repr(v) for v in values)
