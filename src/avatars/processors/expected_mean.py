"""Avatars shifted (and optionally scaled) to the original's mean and standard deviation."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from avatars.processors._base import (
    ProcessorError,
    check_columns,
    check_fitted,
    check_names,
    check_numeric,
)

__all__ = ["ExpectedMeanProcessor"]


class ExpectedMeanProcessor:
    """Give ``target_variables`` the original's mean (and std) in each group.

    ``preprocess`` records, for each group of ``groupby_variables`` (all rows when None;
    missing values form a group of their own), the mean and sample standard deviation of each
    target, and returns ``df`` unchanged. ``postprocess`` shifts each target within each group
    of ``dest`` to the recorded mean: ``x + (mean_original - mean_dest)``; with
    ``same_std=True`` it also scales the deviations:
    ``mean_original + (x - mean_dest) * std_original / std_dest``. A group whose std cannot be
    matched (one row, or all values equal) is only shifted, with a warning; a group of
    ``dest`` absent from the original is left unchanged, with a warning. The order of values
    within a group is kept.

    This improves one-column statistics at some cost to multi-column relations and privacy.

    Example::

        p = ExpectedMeanProcessor(["weight"], groupby_variables=["sex"])
        avatars = p.postprocess(df, avatarize(p.preprocess(df)))
    """

    def __init__(
        self,
        target_variables: list[str],
        *,
        groupby_variables: list[str] | None = None,
        same_std: bool = False,
    ) -> None:
        self.target_variables = check_names(target_variables, argument="target_variables")
        self.groupby_variables = (
            None
            if groupby_variables is None
            else check_names(groupby_variables, argument="groupby_variables")
        )
        overlap = set(self.target_variables) & set(self.groupby_variables or [])
        if overlap:
            raise ProcessorError(f"groupby_variables: {sorted(overlap)} are also target_variables")
        self.same_std = bool(same_std)
        #: ``{group key: {target: (mean, std)}}`` learnt by preprocess.
        self.properties: dict[Any, dict[str, tuple[float, float]]] = {}
        self._fitted = False

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """Record the means and stds of the targets; return ``df`` unchanged (a copy)."""
        self._check(df, "df")
        groups = self._groups(df)
        self.properties = {
            key: {t: _moments(_floats(df, t)[positions]) for t in self.target_variables}
            for key, positions in groups.items()
        }
        self._fitted = True
        return df.copy()

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """``dest`` with each target moved to the recorded mean (and std) of its group."""
        check_fitted(self._fitted, self)
        self._check(dest, "dest")
        groups = self._groups(dest)
        unknown = [key for key in groups if key not in self.properties]
        not_scaled: dict[str, list[Any]] = {t: [] for t in self.target_variables}
        out = dest.copy()
        for target in self.target_variables:
            values = _floats(dest, target)
            moved = values.copy()
            for key, positions in groups.items():
                if key not in self.properties:
                    continue
                ref_mean, ref_std = self.properties[key][target]
                group = values[positions]
                mean, std = _moments(group)
                if not np.isfinite(ref_mean) or not np.isfinite(mean):
                    continue  # nothing to match, or nothing to move
                if self.same_std and std > 0 and np.isfinite(ref_std):
                    moved[positions] = ref_mean + (group - mean) * (ref_std / std)
                else:
                    if self.same_std:
                        not_scaled[target].append(key)
                    moved[positions] = group + (ref_mean - mean)
            out[target] = moved
        for target, keys in not_scaled.items():
            if keys:
                warnings.warn(
                    f"ExpectedMeanProcessor: {target!r} only shifted to the original mean, its "
                    f"std cannot be matched (one row, all values equal, or one original row) "
                    f"in groups {keys[:5]}",
                    stacklevel=2,
                )
        if unknown:
            warnings.warn(
                f"ExpectedMeanProcessor: groups {unknown[:5]} of dest are not in the original "
                "table; their values are left unchanged",
                stacklevel=2,
            )
        return out

    def _check(self, df: pd.DataFrame, table: str) -> None:
        check_columns(df, self.target_variables, argument="target_variables", table=table)
        check_columns(df, self.groupby_variables or [], argument="groupby_variables", table=table)
        check_numeric(df, self.target_variables, argument="target_variables", table=table)

    def _groups(self, df: pd.DataFrame) -> dict[tuple[Any, ...], np.ndarray]:
        """``{group key: row positions}``; the key of all rows is ``()`` without groupby."""
        if not self.groupby_variables:
            return {(): np.arange(len(df))}
        grouped = df.groupby(self.groupby_variables, dropna=False, sort=False, observed=True)
        return {_key(key): np.asarray(positions) for key, positions in grouped.indices.items()}


def _key(key: Any) -> tuple[Any, ...]:
    """A hashable group key where every missing value is the same (NaN != NaN)."""
    parts = key if isinstance(key, tuple) else (key,)
    return tuple(None if pd.isna(p) else p for p in parts)


def _floats(df: pd.DataFrame, column: str) -> np.ndarray:
    return df[column].to_numpy(dtype="float64", na_value=np.nan)


def _moments(numbers: np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1, as pandas) of the non-missing values."""
    numbers = numbers[~np.isnan(numbers)]
    if len(numbers) == 0:
        return float("nan"), float("nan")
    std = float(np.std(numbers, ddof=1)) if len(numbers) > 1 else float("nan")
    return float(np.mean(numbers)), std
