"""Series signal metrics (formulas of ``timeseries/metrics.py``) and the series figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from avatars.engine.timeseries import (
    SeriesTable,
    plotly_series_figures,
    series_figure_data,
    series_signal_metrics,
)
from avatars.engine.timeseries.metrics import main_lags, mean_autocorrelation
from avatars.protocol.enums import PlotKind


def _seasonal(n: int, points: int, period: float, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(points)
    level = rng.normal(0, 1, n)
    values = level[:, None] + np.sin(2 * np.pi * t / period) + 0.2 * rng.normal(size=(n, points))
    return pd.DataFrame(
        {
            "pid": np.repeat(np.arange(n), points),
            "t": np.tile(t, n),
            "x": values.ravel() + shift,
        }
    )


def test_identical_tables_have_zero_distances() -> None:
    df = _seasonal(200, 40, 10, seed=0)
    result = series_signal_metrics(SeriesTable("s", df, "pid", "t"), df.copy())
    for name in (
        "pointwise_hellinger_mean",
        "density_hellinger_mean",
        "mean_curve_error",
        "spread_error",
        "autocorrelation_difference",
    ):
        assert result.value(name) == 0.0, name
    assert result.variables.loc[0, "spread_ratio"] == 1.0


def test_a_shift_shows_as_mean_curve_error_in_standard_deviations() -> None:
    original = _seasonal(300, 40, 10, seed=1)
    shifted = _seasonal(300, 40, 10, seed=1, shift=0.5)
    shifted["pid"] += 1000  # other keys, other individuals: only distributions are compared
    result = series_signal_metrics(SeriesTable("s", original, "pid", "t"), shifted)
    sigma = original["x"].std(ddof=0)
    assert result.value("mean_curve_error") == pytest.approx(0.5 / sigma, rel=1e-9)
    assert result.value("spread_error") == pytest.approx(0.0, abs=1e-12)
    assert result.value("autocorrelation_difference") == pytest.approx(0.0, abs=1e-12)
    assert result.value("density_hellinger_mean") > 0.1


def test_the_seasonal_period_is_a_main_lag() -> None:
    df = _seasonal(100, 60, 12, seed=2)
    result = series_signal_metrics(SeriesTable("s", df, "pid", "t"), df)
    lags = result.variables.loc[0, "main_lags"]
    assert 1 in lags and 12 in lags and 6 in lags  # the period (peak), half of it (trough)
    curve = result.curves["x"]
    assert curve.acf_original[0] == pytest.approx(1.0)


def test_autocorrelation_estimator() -> None:
    curves = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 5.0, 5.0, 5.0]])  # the constant row is left out
    acf = mean_autocorrelation(curves, 3)
    centred = np.array([-1.5, -0.5, 0.5, 1.5])
    expected = [np.sum(centred[: 4 - lag] * centred[lag:]) / np.sum(centred**2) for lag in range(4)]
    np.testing.assert_allclose(acf, expected)
    assert main_lags(np.array([1.0, 0.5, -0.2, 0.1, 0.4, 0.1])) == [1, 2, 4]


def test_results_are_json_ready() -> None:
    df = _seasonal(50, 20, 5, seed=3)
    text = json.dumps(series_signal_metrics(SeriesTable("s", df, "pid", "t"), df).to_dict())
    assert '"pointwise_hellinger_mean"' in text and '"provisional": true' in text


def test_series_figures_show_bands_and_avatars_only() -> None:
    original = _seasonal(120, 30, 10, seed=4)
    avatars = _seasonal(120, 30, 10, seed=5)
    table = SeriesTable("sensors", original, "pid", "t")
    signal = series_signal_metrics(table, avatars)
    data = series_figure_data(table, avatars, signal)
    panel = data.raw[0]
    assert len(panel.samples) == 5 and panel.elapsed.size == 60
    assert np.nanmax(panel.original.high) >= np.nanmax(panel.original.mean)
    # no original series is drawn: every sample is an avatar series
    avatar_curves = {tuple(g["x"].round(9)) for _, g in avatars.groupby("pid")}
    assert all(tuple(np.round(values, 9)) in avatar_curves for _, values in panel.samples)
    normalized = data.normalized[0]
    assert abs(np.mean(normalized.original_mean)) < 1e-9  # in sd of the original, centred
    figures = plotly_series_figures(data, language="fr")
    assert set(figures) == {PlotKind.RAW_SERIES, PlotKind.NORMALIZED_SERIES}
    raw = figures[PlotKind.RAW_SERIES]
    assert len(raw.data) == 2 * 3 + 5  # two bands with their mean, five avatar series
    assert "originaux" in {trace.name.split(":")[0] for trace in raw.data if trace.showlegend}
    again = series_figure_data(table, avatars, signal)
    assert all(
        np.array_equal(a[1], b[1]) for a, b in zip(again.raw[0].samples, panel.samples, strict=True)
    )
