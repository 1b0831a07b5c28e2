"""Avatars pulled back toward their originals, column by column (method.md §6.5).

This weakens privacy on purpose: it needs the *unshuffled* avatars (row ``i`` is the avatar
of original row ``i``) and its output is closer to the originals the lower the level.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from avatars.processors._base import ProcessorError, check_columns, is_numeric

__all__ = ["PerturbationProcessor"]


class PerturbationProcessor:
    """Move each avatar value a fraction ``perturbation_level[column]`` of the way from the
    original value (0: the original, 1: the avatar, untouched).

    Numeric and datetime columns: ``original + level * (avatar - original)``. Other columns:
    each row keeps the avatar's value with probability ``level``, the original's otherwise
    (drawn with ``numpy.random.default_rng(seed)``, created once per processor). ``dest``
    must be row-aligned with ``source``: the unshuffled avatars. ``preprocess`` does nothing.

    Example::

        p = PerturbationProcessor({"age": 0.5}, seed=0)
        closer = p.postprocess(df, unshuffled_avatars)  # ages halfway back to the originals
    """

    def __init__(
        self,
        perturbation_level: dict[str, float] | None = None,
        *,
        seed: int | None = None,
    ) -> None:
        levels = dict(perturbation_level or {})
        for column, level in levels.items():
            if (
                isinstance(level, bool)
                or not isinstance(level, int | float | np.integer | np.floating)
                or not math.isfinite(level)
                or not 0 <= level <= 1
            ):
                raise ProcessorError(
                    f"perturbation_level[{column!r}]: expected a number in [0, 1], got {level!r}"
                )
        self.perturbation_level = perturbation_level
        self.seed = seed
        self.generator = np.random.default_rng(seed)
        #: The columns to change (level 1 leaves the avatar as it is).
        self.perturbated_items = {c: float(v) for c, v in levels.items() if v != 1}

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` unchanged (a copy)."""
        return df.copy()

    def postprocess(self, source: pd.DataFrame, dest: pd.DataFrame) -> pd.DataFrame:
        """``dest`` with the chosen columns moved toward ``source``'s values, row by row."""
        if not self.perturbation_level:
            return dest.copy()
        columns = list(self.perturbation_level)
        check_columns(source, columns, argument="perturbation_level", table="source")
        check_columns(dest, columns, argument="perturbation_level", table="dest")
        if len(source) != len(dest):
            raise ProcessorError(
                f"source has {len(source)} rows and dest {len(dest)}: PerturbationProcessor "
                "needs the unshuffled avatars, row i being the avatar of original row i"
            )
        out = dest.copy()
        for column, level in self.perturbated_items.items():
            out[column] = self._perturb(source[column], dest[column], level, column)
        return out

    def _perturb(
        self, original: pd.Series, avatar: pd.Series, level: float, column: Any
    ) -> pd.Series | np.ndarray:
        kinds = {_kind(original), _kind(avatar)}
        if len(kinds) > 1:
            raise ProcessorError(
                f"perturbation_level[{column!r}]: source is {original.dtype} and dest "
                f"{avatar.dtype}; expected both numeric, both datetimes or both categorical"
            )
        if kinds == {"numeric"}:
            start = original.to_numpy(dtype="float64", na_value=np.nan)
            end = avatar.to_numpy(dtype="float64", na_value=np.nan)
            return start + level * (end - start)
        if kinds == {"datetime"}:
            start_times = original.set_axis(avatar.index)
            return start_times + (avatar - start_times) * level
        keep_avatar = self.generator.random(len(avatar)) < level
        chosen = np.where(
            keep_avatar, avatar.to_numpy(dtype=object), original.to_numpy(dtype=object)
        )
        if isinstance(avatar.dtype, pd.CategoricalDtype):
            categories = avatar.cat.categories.union(pd.Index(original.dropna().unique()))
            return pd.Series(pd.Categorical(chosen, categories=categories), index=avatar.index)
        return chosen


def _kind(series: pd.Series) -> str:
    if is_numeric(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "categorical"
