"""Server-side ("embedded") processors: ``avatarization_processors_parameters`` (method.md §6.5).

The official client lists them in ``set_parameters(processors=[...])``; the server applies them
in list order to the original table before the avatarization, and in reverse order to the
avatars after it, so that the avatars have the original's columns. Both reuse the client-side
processors of :mod:`avatars.processors` (pure pandas):

- :class:`~avatars.protocol.parameters.RelativeDifferenceParameters` ``(target, references,
  scaling_unit)``: ``target`` is avatarized as ``(target − Σ references) / scaling_unit`` and
  rebuilt as ``difference · scaling_unit + Σ references`` on each avatar — e.g. a total kept
  equal to the sum of its parts, a later age kept above an earlier one;
- :class:`~avatars.protocol.parameters.InterRecordRangeDifferenceParameters` ``(id_variable,
  target_start_variable, target_end_variable)``: an individual's records, sorted by their start,
  are avatarized as the individual's first start, each record's range ``end − start`` and its
  gap to the previous record's end; the avatars' starts and ends are rebuilt per avatar
  individual (``id_variable`` as the avatarization gives it) in row order, so ranges and gaps
  that are never negative in the originals stay so (their avatar values are weighted means of
  them).

A processor naming a column the table lacks, or values it cannot take (missing, non-numeric),
fails the job with the processor and the column named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from avatars.processors import (
    InterRecordRangeDifferenceProcessor,
    ProcessorError,
    RelativeDifferenceProcessor,
)
from avatars.protocol.parameters import (
    InterRecordRangeDifferenceParameters,
    RelativeDifferenceParameters,
)


class EmbeddedProcessorError(ValueError):
    """A processor that cannot run on this table: the message names it and the column."""


@dataclass
class _Applied:
    label: str
    processor: Any
    source: pd.DataFrame  # the table the processor preprocessed (its postprocess's source)


def _label(position: int, params: Any) -> str:
    return f"avatarization_processors_parameters[{position}] ({type(params).__name__})"


def _free_name(df: pd.DataFrame, wanted: str) -> str:
    name = wanted
    while name in df.columns:
        name += "_"
    return name


def _build(params: Any, df: pd.DataFrame) -> Any:
    if isinstance(params, RelativeDifferenceParameters):
        return RelativeDifferenceProcessor(
            target=params.target,
            references=list(params.references),
            scaling_unit=params.scaling_unit,
        )
    if isinstance(params, InterRecordRangeDifferenceParameters):
        start = params.target_start_variable
        return InterRecordRangeDifferenceProcessor(
            id_variable=params.id_variable,
            target_start_variable=start,
            target_end_variable=params.target_end_variable,
            sort_by_variable=start,
            new_first_variable=_free_name(df, f"{start}__first"),
            new_range_variable=_free_name(df, f"{start}__range"),
            new_difference_variable=_free_name(df, f"{start}__gap"),
        )
    raise EmbeddedProcessorError(f"unknown processor parameters {type(params).__name__}")


class EmbeddedProcessors:
    """The processors of one table, applied around its avatarization."""

    def __init__(self, parameters: Sequence[Any] | None) -> None:
        self.parameters = list(parameters or [])
        self._applied: list[_Applied] = []

    def __bool__(self) -> bool:
        return bool(self.parameters)

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` transformed by every processor, in list order."""
        self._applied = []
        current = df
        for position, params in enumerate(self.parameters):
            label = _label(position, params)
            try:
                processor = _build(params, current)
                transformed = processor.preprocess(current)
            except (ProcessorError, ValueError, KeyError) as exc:
                raise EmbeddedProcessorError(f"{label}: {exc}") from exc
            self._applied.append(_Applied(label, processor, current))
            current = transformed
        return current

    def postprocess(self, avatars: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
        """The avatars brought back to the original's ``columns``, in reverse order."""
        current = avatars
        for applied in reversed(self._applied):
            try:
                current = applied.processor.postprocess(applied.source, current)
            except (ProcessorError, ValueError, KeyError) as exc:
                raise EmbeddedProcessorError(f"{applied.label} (on the avatars): {exc}") from exc
        original = self._applied[0].source if self._applied else None
        return _restore_dtypes(current[list(columns)], original)

    def types_after(self, types: dict[str, Any], df: pd.DataFrame) -> dict[str, Any]:
        """Column types for the preprocessed table: the original's, new columns inferred."""
        return {c: t for c, t in types.items() if c in df.columns}

    def describe(self) -> list[dict[str, Any]]:
        return [
            {"processor": type(p).__name__, **p.model_dump(mode="json", exclude_none=True)}
            for p in self.parameters
        ]


def _restore_dtypes(avatars: pd.DataFrame, original: pd.DataFrame | None) -> pd.DataFrame:
    """Rebuilt integer columns as integers again (a sum of integers computed in floats)."""
    if original is None:
        return avatars
    out = avatars.copy()
    for column in out.columns:
        dtype = original[column].dtype if column in original.columns else None
        values = out[column]
        if (
            dtype is not None
            and pd.api.types.is_integer_dtype(dtype)
            and pd.api.types.is_float_dtype(values.dtype)
            and not values.isna().any()
        ):
            out[column] = values.round().astype(dtype)
    return out
