"""Rare modalities merged into one, to keep the one-hot dimension of a table down."""

from __future__ import annotations

from typing import Any

import pandas as pd

from avatars.processors._base import (
    ProcessorError,
    check_columns,
    check_int,
    is_numeric,
)

__all__ = ["GroupModalitiesProcessor"]


class GroupModalitiesProcessor:
    """Replace the modalities seen at most ``threshold`` times by ``new_category``.

    Give either ``variable_thresholds`` (``{column: threshold}``) or both ``min_unique`` and
    ``global_threshold``: the latter applies ``global_threshold`` to every categorical column
    (not integers, floats or datetimes) with at least ``min_unique`` distinct modalities. A
    modality with ``count <= threshold`` rows becomes ``new_category``; the others, and
    missing values, stay on their rows. ``postprocess`` returns ``dest`` as it is: the merged
    modalities cannot be told apart again.

    Example::

        p = GroupModalitiesProcessor(min_unique=10, global_threshold=5)
        avatars = avatarize(p.preprocess(df))  # modalities seen <= 5 times read "other"
    """

    def __init__(
        self,
        *,
        variable_thresholds: dict[str, int] | None = None,
        min_unique: int | None = None,
        global_threshold: int | None = None,
        new_category: str = "other",
    ) -> None:
        if (min_unique is None) != (global_threshold is None):
            raise ProcessorError(
                "min_unique and global_threshold go together: got "
                f"min_unique={min_unique!r}, global_threshold={global_threshold!r}"
            )
        if (variable_thresholds is None) == (global_threshold is None):
            raise ProcessorError(
                "give either variable_thresholds or (min_unique, global_threshold), not "
                f"{'both' if variable_thresholds is not None else 'neither'}"
            )
        if variable_thresholds is not None:
            if not isinstance(variable_thresholds, dict) or not variable_thresholds:
                raise ProcessorError(
                    "variable_thresholds: expected a non-empty {column: threshold} dict, "
                    f"got {variable_thresholds!r}"
                )
            for column, threshold in variable_thresholds.items():
                check_int(threshold, argument=f"variable_thresholds[{column!r}]", minimum=0)
        else:
            check_int(min_unique, argument="min_unique", minimum=1)
            check_int(global_threshold, argument="global_threshold", minimum=0)
        self.variable_thresholds = variable_thresholds
        self.min_unique = min_unique
        self.global_threshold = global_threshold
        self.new_category = new_category
        #: ``{column: threshold}`` the last preprocess applied.
        self.thresholds: dict[Any, int] = {}

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with its rare modalities replaced by ``new_category``."""
        if self.variable_thresholds is not None:
            check_columns(
                df, list(self.variable_thresholds), argument="variable_thresholds", table="df"
            )
            self.thresholds = dict(self.variable_thresholds)
        else:
            assert self.global_threshold is not None and self.min_unique is not None
            self.thresholds = {
                c: self.global_threshold
                for c in df.columns
                if _is_categorical(df[c]) and df[c].nunique() >= self.min_unique
            }
        out = df.copy()
        for column, threshold in self.thresholds.items():
            out[column] = _group(df[column], threshold, self.new_category)
        return out

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """``dest`` unchanged (a copy)."""
        return dest.copy()


def _is_categorical(series: pd.Series) -> bool:
    return not is_numeric(series) and not pd.api.types.is_datetime64_any_dtype(series)


def _group(values: pd.Series, threshold: int, new_category: Any) -> pd.Series:
    counts = values.value_counts(dropna=True)
    rare = counts.index[counts <= threshold]
    if len(rare) == 0:
        return values
    is_rare = values.isin(rare) & values.notna()
    if isinstance(values.dtype, pd.CategoricalDtype):
        if new_category not in values.cat.categories:
            values = values.cat.add_categories([new_category])
        grouped = values.where(~is_rare, new_category)
        return grouped.cat.remove_unused_categories()
    return values.where(~is_rare, new_category)
