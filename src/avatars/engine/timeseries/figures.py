"""Figures comparing original and avatar series (``PlotKind.RAW_SERIES`` and
``NORMALIZED_SERIES``), in the two steps of :mod:`avatars.engine.figures`: first the numbers a
figure shows (:func:`series_figure_data`, small whatever the table size), then their plotly
drawing (:func:`plotly_series_figures`).

- raw series: each variable in its own unit against the time elapsed since the series' start
  (the table's time unit; seconds for datetimes); the originals' and the avatars' mean and
  10-90 % band per time bin (:data:`RAW_BINS` equal bins up to the originals' longest span),
  and a few avatar series drawn at random (seeded) to show what one looks like. No original
  series is drawn: a figure is an output, and an original curve is a record.
- normalized series: on the common grid (normalized time 0-1), values in standard deviations
  of the original variable, ``(x − mean) / σ``: mean curve ± one pointwise standard deviation
  for both sets, every variable on one scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from avatars.engine.figures import AVATAR_COLOR, ORIGINAL_COLOR
from avatars.engine.texts import Language, check_language
from avatars.engine.timeseries.data import SeriesTable, TimeKind, read_series
from avatars.engine.timeseries.metrics import SeriesSignalResult
from avatars.protocol.enums import PlotKind

#: Time bins of the raw-series bands.
RAW_BINS = 60
#: Avatar series drawn in the raw-series figure.
SAMPLE_AVATARS = 5
#: Seed of that draw (the same inputs always give the same figure).
SAMPLE_SEED = 0

_LABELS: dict[str, tuple[str, str]] = {
    "originals": ("originals", "originaux"),
    "avatars": ("avatars", "avatars"),
    "mean": ("mean", "moyenne"),
    "band": ("10-90 % band", "bande 10-90 %"),
    "sd": ("mean ± 1 sd", "moyenne ± 1 écart-type"),
    "avatar_example": ("avatar series", "série d'avatar"),
    "elapsed": ("time since the series' start", "temps depuis le début de la série"),
    "elapsed_seconds": (
        "time since the series' start (s)",
        "temps depuis le début de la série (s)",
    ),
    "normalized_time": ("normalized time", "temps normalisé"),
    "raw_title": (
        "{table}: series, originals vs avatars",
        "{table} : séries, originaux et avatars",
    ),
    "normalized_title": (
        "{table}: normalized series (in sd of the original)",
        "{table} : séries normalisées (en écarts-types de l'original)",
    ),
}


def _label(key: str, language: Language, **values: object) -> str:
    english, french = _LABELS[key]
    text = english if language == "en" else french
    return text.format(**values) if values else text


@dataclass
class Band:
    """Mean and 10/90 % quantiles at each abscissa (NaN where there is no value)."""

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass
class RawSeriesPanel:
    variable: str
    elapsed: np.ndarray  # bin centres
    original: Band
    avatars: Band
    samples: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (elapsed, x)


@dataclass
class NormalizedSeriesPanel:
    variable: str
    grid: np.ndarray
    original_mean: np.ndarray
    original_std: np.ndarray
    avatar_mean: np.ndarray
    avatar_std: np.ndarray


@dataclass
class SeriesFigureData:
    """What the series figures of one table show."""

    table: str
    elapsed_in_seconds: bool
    raw: list[RawSeriesPanel]
    normalized: list[NormalizedSeriesPanel]


def series_figure_data(
    original: SeriesTable, avatars: pd.DataFrame, signal: SeriesSignalResult
) -> SeriesFigureData:
    """The data of both series figures of one table; ``signal`` is the table's
    :func:`~avatars.engine.timeseries.metrics.series_signal_metrics` result (its curves)."""
    original_data = read_series(
        original, pd.Index(pd.unique(original.data[original.individual_key]))
    )
    avatar_spec = SeriesTable(
        original.name, avatars, original.individual_key, original.time, original.primary_key
    )
    avatar_data = read_series(avatar_spec, pd.Index(pd.unique(avatars[original.individual_key])))
    elapsed_o = _elapsed(original_data.times, original_data.offsets)
    elapsed_a = _elapsed(avatar_data.times, avatar_data.offsets)
    top = float(elapsed_o.max()) if elapsed_o.size else 1.0
    edges = np.linspace(0.0, top if top > 0 else 1.0, RAW_BINS + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    rng = np.random.default_rng(SAMPLE_SEED)
    present = np.flatnonzero(avatar_data.lengths > 0)
    chosen = np.sort(rng.choice(present, min(SAMPLE_AVATARS, len(present)), replace=False))
    raw, normalized = [], []
    for v, variable in enumerate(original_data.variables):
        samples = []
        for i in chosen:
            rows = slice(avatar_data.offsets[i], avatar_data.offsets[i + 1])
            samples.append((elapsed_a[rows], avatar_data.values[rows, v]))
        raw.append(
            RawSeriesPanel(
                variable=variable,
                elapsed=centres,
                original=_band(elapsed_o, original_data.values[:, v], edges),
                avatars=_band(elapsed_a, avatar_data.values[:, v], edges),
                samples=samples,
            )
        )
        curve = signal.curves[variable]
        unit = curve.scale if curve.scale > 0 else 1.0
        normalized.append(
            NormalizedSeriesPanel(
                variable=variable,
                grid=curve.grid,
                original_mean=(curve.mean_original - curve.location) / unit,
                original_std=curve.std_original / unit,
                avatar_mean=(curve.mean_avatars - curve.location) / unit,
                avatar_std=curve.std_avatars / unit,
            )
        )
    return SeriesFigureData(
        table=original.name,
        elapsed_in_seconds=original_data.time_format.kind == TimeKind.DATETIME,
        raw=raw,
        normalized=normalized,
    )


def _elapsed(times: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    lengths = np.diff(offsets)
    starts = np.repeat(times[offsets[:-1][lengths > 0]], lengths[lengths > 0])
    return times - starts


def _band(elapsed: np.ndarray, values: np.ndarray, edges: np.ndarray) -> Band:
    keep = ~np.isnan(values)
    bins = np.clip(np.searchsorted(edges, elapsed[keep], side="right") - 1, 0, len(edges) - 2)
    frame = pd.DataFrame({"bin": bins, "x": values[keep]}).groupby("bin")["x"]
    index = np.arange(len(edges) - 1)
    return Band(
        mean=frame.mean().reindex(index).to_numpy(dtype=float),
        low=frame.quantile(0.1).reindex(index).to_numpy(dtype=float),
        high=frame.quantile(0.9).reindex(index).to_numpy(dtype=float),
    )


# -- drawing ---------------------------------------------------------------------------------
def plotly_series_figures(data: SeriesFigureData, *, language: str = "en") -> dict[PlotKind, Any]:
    """``{RAW_SERIES: figure, NORMALIZED_SERIES: figure}``, plotly figures with one row of
    panels per series variable."""
    lang = check_language(language)
    return {
        PlotKind.RAW_SERIES: _raw_figure(data, lang),
        PlotKind.NORMALIZED_SERIES: _normalized_figure(data, lang),
    }


def _layout(title: str, rows: int) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0.01, "xanchor": "left"},
        "template": "plotly_white",
        "font": {"family": "Helvetica, Arial, sans-serif", "size": 12},
        "margin": {"l": 60, "r": 30, "t": 70, "b": 50},
        "height": 120 + 260 * rows,
    }


def _band_traces(
    x: np.ndarray, low: np.ndarray, high: np.ndarray, color: str, name: str, group: str
) -> list[Any]:
    import plotly.graph_objects as go

    return [
        go.Scatter(
            x=x,
            y=high,
            mode="lines",
            line={"width": 0},
            showlegend=False,
            legendgroup=group,
            hoverinfo="skip",
        ),
        go.Scatter(
            x=x,
            y=low,
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=_transparent(color),
            name=name,
            legendgroup=group,
            showlegend=False,
            hoverinfo="skip",
        ),
    ]


def _transparent(color: str, alpha: float = 0.2) -> str:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _raw_figure(data: SeriesFigureData, language: Language) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = len(data.raw)
    figure = make_subplots(
        rows=rows, cols=1, subplot_titles=[p.variable for p in data.raw], vertical_spacing=0.08
    )
    for row, panel in enumerate(data.raw, start=1):
        first = row == 1
        for band, color, who in (
            (panel.original, ORIGINAL_COLOR, "originals"),
            (panel.avatars, AVATAR_COLOR, "avatars"),
        ):
            for trace in _band_traces(panel.elapsed, band.low, band.high, color, who, who):
                figure.add_trace(trace, row=row, col=1)
            figure.add_trace(
                go.Scatter(
                    x=panel.elapsed,
                    y=band.mean,
                    mode="lines",
                    line={"color": color, "width": 2},
                    name=f"{_label(who, language)}: {_label('mean', language)} "
                    f"({_label('band', language)})",
                    legendgroup=who,
                    showlegend=first,
                ),
                row=row,
                col=1,
            )
        for index, (elapsed, values) in enumerate(panel.samples):
            figure.add_trace(
                go.Scatter(
                    x=elapsed,
                    y=values,
                    mode="lines",
                    line={"color": AVATAR_COLOR, "width": 1, "dash": "dot"},
                    opacity=0.7,
                    name=_label("avatar_example", language),
                    legendgroup="samples",
                    showlegend=first and index == 0,
                ),
                row=row,
                col=1,
            )
    axis = "elapsed_seconds" if data.elapsed_in_seconds else "elapsed"
    figure.update_xaxes(title_text=_label(axis, language), row=rows, col=1)
    figure.update_layout(**_layout(_label("raw_title", language, table=data.table), rows))
    return figure


def _normalized_figure(data: SeriesFigureData, language: Language) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = len(data.normalized)
    figure = make_subplots(
        rows=rows,
        cols=1,
        subplot_titles=[p.variable for p in data.normalized],
        vertical_spacing=0.08,
    )
    for row, panel in enumerate(data.normalized, start=1):
        for mean, std, color, who in (
            (panel.original_mean, panel.original_std, ORIGINAL_COLOR, "originals"),
            (panel.avatar_mean, panel.avatar_std, AVATAR_COLOR, "avatars"),
        ):
            for trace in _band_traces(panel.grid, mean - std, mean + std, color, who, who):
                figure.add_trace(trace, row=row, col=1)
            figure.add_trace(
                go.Scatter(
                    x=panel.grid,
                    y=mean,
                    mode="lines",
                    line={"color": color, "width": 2},
                    name=f"{_label(who, language)}: {_label('sd', language)}",
                    legendgroup=who,
                    showlegend=row == 1,
                ),
                row=row,
                col=1,
            )
    figure.update_xaxes(title_text=_label("normalized_time", language), row=rows, col=1)
    figure.update_layout(**_layout(_label("normalized_title", language, table=data.table), rows))
    return figure
