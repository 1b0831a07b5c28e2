"""What a report is built from, in the shapes the report job can read back from storage.

A report job has: the original table, the standard job's shuffled avatars and projections
(CSV), ``run_metadata.<job>.json`` (the avatarization metadata, possibly wrapped by the server
under ``"engine"``) and the metrics jobs' ``<table>.privacy.json`` / ``<table>.signal.json``.
Everything but the name is optional: a missing piece removes the sections that need it and
the report says what was not available, rather than failing the job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from avatars.engine.metric_rows import (
    MetricRow,
    PrivacyVerdict,
    metric_rows,
    privacy_verdict,
    unwrap_result,
)
from avatars.engine.schema import infer_column_type

if TYPE_CHECKING:  # figures is imported when figures are asked for (plotting is costly)
    from avatars.engine.figures import FigureData


@dataclass
class TableReportInput:
    """One table of a report.

    ``avatars`` are the shuffled avatars (the deliverable); ``privacy`` and ``signal`` the
    metrics results as their ``to_dict()`` / JSON files; ``avatarization`` the avatarization
    metadata (``AvatarizationResult.metadata``, or the server's ``run_metadata`` that holds it
    under ``"engine"``); the coordinates are the standard job's projections, in any row order;
    ``contributions`` the projection's variable contributions (``AvatarizationResult.
    contributions`` or its ``to_dict()``; when absent, those saved in the run metadata under
    ``"contributions"`` are used, and without either the contribution figure is left out).
    """

    name: str
    original: pd.DataFrame | None = None
    avatars: pd.DataFrame | None = None
    privacy: Mapping[str, Any] | Sequence[Any] | None = None
    signal: Mapping[str, Any] | Sequence[Any] | None = None
    avatarization: Mapping[str, Any] | None = None
    original_coordinates: pd.DataFrame | None = None
    avatar_coordinates: pd.DataFrame | None = None
    contributions: pd.DataFrame | Mapping[str, Any] | None = None

    @property
    def contributions_or_saved(self) -> pd.DataFrame | Mapping[str, Any] | None:
        """``contributions``, else the ones a standard job saved in its run metadata
        (``"contributions"``: ``DataFrame.to_dict()``, beside or inside ``"engine"``)."""
        if self.contributions is not None:
            return self.contributions
        saved = (self.avatarization or {}).get("contributions")
        return saved if saved is not None else self.engine_metadata.get("contributions")

    @property
    def engine_metadata(self) -> dict[str, Any]:
        """The engine's avatarization metadata, unwrapped from the server's run metadata."""
        metadata = dict(self.avatarization or {})
        engine = metadata.get("engine")
        return dict(engine) if isinstance(engine, Mapping) else metadata


@dataclass(frozen=True)
class PiaContext:
    """The context of the privacy impact assessment: the YAML's ``pia_metadata``.

    Values are the platform's codes (``contractual_thirdparty``, ``health``, ``patients``,
    ``Very High``...) or free text; None means unknown.
    """

    data_recipient: str | None = None
    data_type: str | None = None
    data_subject: str | None = None
    sensitivity_level: str | None = None

    @classmethod
    def from_metadata(cls, pia_metadata: Mapping[str, Any] | None) -> PiaContext:
        """From the YAML's ``pia_metadata`` (``datarecipient``, ``data_type``, ``datasubject``,
        ``sensitivity_level``; the underscored spellings are accepted too)."""
        meta = dict(pia_metadata or {})

        def pick(*keys: str) -> str | None:
            for key in keys:
                if meta.get(key) not in (None, ""):
                    return str(meta[key])
            return None

        return cls(
            data_recipient=pick("datarecipient", "data_recipient"),
            data_type=pick("data_type", "datatype"),
            data_subject=pick("datasubject", "data_subject"),
            sensitivity_level=pick("sensitivity_level", "sensitivitylevel"),
        )


@dataclass(frozen=True)
class ColumnSummary:
    name: str
    type: str
    missing_percent: float
    distinct: int


@dataclass
class PreparedTable:
    """A table's report input with everything derived from it once, for every format."""

    input: TableReportInput
    privacy: list[MetricRow]
    signal: list[MetricRow]
    figures: FigureData | None
    columns: list[ColumnSummary] = field(default_factory=list)
    n_rows: int | None = None
    n_avatar_rows: int | None = None

    @property
    def name(self) -> str:
        return self.input.name

    @property
    def metadata(self) -> dict[str, Any]:
        return self.input.engine_metadata

    @property
    def verdict(self) -> PrivacyVerdict:
        """The privacy verdict, with the avatarization's warnings and the metrics' own."""
        return privacy_verdict(unwrap_result(self.input.privacy), self.metadata.get("warnings"))

    @property
    def privacy_parameters(self) -> dict[str, Any]:
        return dict(unwrap_result(self.input.privacy).get("parameters") or {})

    @property
    def signal_variables(self) -> list[dict[str, Any]]:
        details = unwrap_result(self.input.signal).get("details") or {}
        return [dict(v) for v in details.get("variables") or [] if isinstance(v, Mapping)]

    @property
    def missing_percent(self) -> float | None:
        if self.input.original is None or self.input.original.size == 0:
            return None
        return 100.0 * float(self.input.original.isna().to_numpy().mean())


def prepare_table(
    table: TableReportInput, *, max_distribution_plots: int | None = None, figures: bool = True
) -> PreparedTable:
    """Read the metrics, summarise the columns and (unless ``figures`` is False: the PIA has
    none) reduce the tables for the figures."""
    from avatars.engine.figures import prepare_figure_data

    metadata = table.engine_metadata
    column_types = metadata.get("column_types") or {}
    figure_data = None
    if figures and table.original is not None and table.avatars is not None:
        ratios = (metadata.get("projection") or {}).get("explained_variance_ratio")
        figure_data = prepare_figure_data(
            table.original,
            table.avatars,
            original_coordinates=table.original_coordinates,
            avatar_coordinates=table.avatar_coordinates,
            contributions=table.contributions_or_saved,
            privacy=table.privacy,
            signal=table.signal,
            column_types=column_types,
            max_distribution_plots=max_distribution_plots,
            explained_variance=ratios,
        )
    columns = []
    if table.original is not None:
        types = column_type_names(table.original, column_types)
        n = len(table.original)
        for column in table.original.columns:
            series = table.original[column]
            missing = 100.0 * float(series.isna().sum()) / n if n else math.nan
            columns.append(
                ColumnSummary(str(column), types[str(column)], missing, series.nunique())
            )
    n_rows = len(table.original) if table.original is not None else metadata.get("n_rows")
    return PreparedTable(
        input=table,
        privacy=metric_rows(table.privacy, "privacy"),
        signal=metric_rows(table.signal, "signal"),
        figures=figure_data,
        columns=columns,
        n_rows=n_rows,
        n_avatar_rows=len(table.avatars) if table.avatars is not None else None,
    )


def column_type_names(original: pd.DataFrame, column_types: Mapping[str, Any]) -> dict[str, str]:
    """Each column's type name: the avatarization's when it gave one, else from the dtype."""
    return {
        str(c): str(column_types.get(str(c)) or infer_column_type(original[c]).value)
        for c in original.columns
    }
