"""Signal metrics of one series table: how well avatar series keep the originals' (method.md §3,
§6.2). The legacy platform reported ``pointwise_hellinger_mean/std`` and
``density_hellinger_mean/std`` per series table [V, method.md §3.3]; their formulas are not
published, so these are ours ([I], provisional), each stated here.

Both tables are aligned on the same grid of ``m`` points (normalized time, see
:mod:`~avatars.engine.timeseries.alignment`): ``O`` (originals) and ``A`` (avatars) are
``(individuals × m)`` per variable, individuals without an observed value left out. ``σ`` is
the standard deviation of all of ``O``'s values (the variable's scale), so that errors are in
units of it and comparable across variables.

- pointwise Hellinger: at each grid point ``j`` the Hellinger distance between the originals'
  and the avatars' values there (:func:`avatars.engine.signal.hellinger_continuous`: bins from
  the originals, avatars clipped to their range); mean and std over the grid points.
- density Hellinger: the Hellinger distance between all the original and all the avatar
  values of the variable (the raw points, not the grid).
- mean curve error: ``sqrt(mean_j (Ō_j − Ā_j)²) / σ`` (``Ō_j`` the mean over individuals at
  ``j``); spread error: the same on the pointwise standard deviations, and the spread ratio
  ``mean_j sd(A)_j / mean_j sd(O)_j`` (below 1: avatars vary less than originals, as weighted
  means of neighbours do).
- autocorrelation: each curve's sample autocorrelation ``r(ℓ) = Σ_j (x_j − x̄)(x_{j+ℓ} − x̄) /
  Σ_j (x_j − x̄)²`` (Box & Jenkins' estimator), averaged over individuals, for lags
  ``ℓ = 0..⌊m/2⌋`` grid steps. The *main lags* are lag 1 and the (at most
  :data:`MAIN_EXTREMA`) lags where the originals' mean autocorrelation has its largest local
  extrema in absolute value (a seasonal period shows as a peak, half of it as a trough);
  ``autocorrelation_difference`` is the largest ``|r_O(ℓ) − r_A(ℓ)|`` over them.

Table-level values (the :class:`~avatars.engine.targets.MetricValue` list) are means over the
table's variables (and the std of the variables' pointwise/density Hellinger), except
``autocorrelation_difference``, the largest over the variables. None has a published target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from avatars.engine.common import jsonable
from avatars.engine.signal import hellinger_continuous
from avatars.engine.targets import LOWER, MetricTarget, MetricValue, make_metric
from avatars.engine.timeseries.alignment import align
from avatars.engine.timeseries.data import SeriesData, SeriesTable, read_series

#: Local extrema of the original autocorrelation reported as main lags (besides lag 1).
MAIN_EXTREMA = 3

#: Histogram bins per grid point for the pointwise Hellinger distance (at most).
POINTWISE_MAX_BINS = 50

SERIES_SIGNAL_TARGETS: dict[str, MetricTarget] = {
    "pointwise_hellinger_mean": MetricTarget(None, LOWER, "utility", "distance"),
    "pointwise_hellinger_std": MetricTarget(None, LOWER, "utility", "distance"),
    "density_hellinger_mean": MetricTarget(None, LOWER, "utility", "distance"),
    "density_hellinger_std": MetricTarget(None, LOWER, "utility", "distance"),
    "mean_curve_error": MetricTarget(None, LOWER, "utility", "std"),
    "spread_error": MetricTarget(None, LOWER, "utility", "std"),
    "autocorrelation_difference": MetricTarget(None, LOWER, "utility", "correlation"),
}

_DESCRIPTIONS = {
    "pointwise_hellinger_mean": "Hellinger distance between original and avatar values at each "
    "point of the common grid, averaged over the points and the variables",
    "pointwise_hellinger_std": "spread of the pointwise Hellinger distances over the variables",
    "density_hellinger_mean": "Hellinger distance between all original and all avatar values "
    "of each series variable, averaged over the variables",
    "density_hellinger_std": "spread of the density Hellinger distances over the variables",
    "mean_curve_error": "root mean square gap between the original and avatar mean curves, in "
    "standard deviations of the variable, averaged over the variables",
    "spread_error": "root mean square gap between the original and avatar pointwise standard "
    "deviations, in standard deviations of the variable, averaged over the variables",
    "autocorrelation_difference": "largest gap between the original and avatar mean "
    "autocorrelations at the main lags, over the variables",
}


@dataclass
class CurveSummary:
    """One variable on the grid: pointwise means, standard deviations and 10/90 % quantiles of
    the originals and the avatars, and both mean autocorrelation functions."""

    grid: np.ndarray
    mean_original: np.ndarray
    mean_avatars: np.ndarray
    std_original: np.ndarray
    std_avatars: np.ndarray
    low_original: np.ndarray  # 10 % quantile
    high_original: np.ndarray  # 90 % quantile
    low_avatars: np.ndarray
    high_avatars: np.ndarray
    acf_original: np.ndarray  # lags 0..L
    acf_avatars: np.ndarray
    main_lags: list[int]
    scale: float  # σ of the originals' values
    location: float  # their mean


@dataclass
class SeriesSignalResult:
    """What :func:`series_signal_metrics` returns: table-level metrics, one row per variable,
    and the per-variable curves (also the data of the series figures)."""

    table: str
    metrics: list[MetricValue]
    variables: pd.DataFrame
    curves: dict[str, CurveSummary]
    details: dict[str, Any] = field(default_factory=dict)

    def value(self, name: str) -> float | None:
        found = next((m for m in self.metrics if m.name == name), None)
        return None if found is None else found.value

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {m.name: m.value for m in self.metrics}
        out["metrics"] = [m.to_dict() for m in self.metrics]
        details = dict(self.details)
        details["variables"] = self.variables.to_dict(orient="records")
        out["details"] = jsonable(details)
        return out


def series_signal_metrics(
    original: SeriesTable, avatars: pd.DataFrame, *, nb_points: int | None = None
) -> SeriesSignalResult:
    """Signal metrics of the avatar series table ``avatars`` (same columns as
    ``original.data``; keys may differ) against the original one (module docstring).

    ``nb_points``: the grid; default the originals' longest series (at most 1,000 points).
    Avatars may be shuffled and have another number of individuals.
    """
    original_data = read_series(
        original, pd.Index(pd.unique(original.data[original.individual_key]))
    )
    avatar_spec = SeriesTable(
        original.name, avatars, original.individual_key, original.time, original.primary_key
    )
    avatar_data = read_series(avatar_spec, pd.Index(pd.unique(avatars[original.individual_key])))
    if nb_points is None:
        nb_points = int(min(1_000, max(2, original_data.lengths.max())))
    aligned_o = align(original_data, nb_points)
    aligned_a = align(avatar_data, nb_points)
    rows, curves = [], {}
    for v, variable in enumerate(original_data.variables):
        row, summary = _variable_metrics(
            aligned_o.curves[:, v, :],
            aligned_a.curves[:, v, :],
            aligned_o.grid,
            _raw(original_data, v),
            _raw(avatar_data, v),
        )
        rows.append({"variable": variable, **row})
        curves[variable] = summary
    variables = pd.DataFrame(rows)
    metrics = [
        _metric("pointwise_hellinger_mean", _mean(variables["pointwise_hellinger_mean"])),
        _metric("pointwise_hellinger_std", _std(variables["pointwise_hellinger_mean"])),
        _metric("density_hellinger_mean", _mean(variables["density_hellinger"])),
        _metric("density_hellinger_std", _std(variables["density_hellinger"])),
        _metric("mean_curve_error", _mean(variables["mean_curve_error"])),
        _metric("spread_error", _mean(variables["spread_error"])),
        _metric("autocorrelation_difference", float(variables["autocorrelation_difference"].max())),
    ]
    details = {
        "nb_points": nb_points,
        "n_individuals": {
            "original": int((original_data.lengths > 0).sum()),
            "avatars": int((avatar_data.lengths > 0).sum()),
        },
        "length_hellinger": hellinger_continuous(
            original_data.lengths.astype(float), avatar_data.lengths.astype(float)
        )[0],
    }
    return SeriesSignalResult(original.name, metrics, variables, curves, details)


def _raw(data: SeriesData, v: int) -> np.ndarray:
    values = data.values[:, v]
    return values[~np.isnan(values)]


def _variable_metrics(
    original: np.ndarray,
    avatars: np.ndarray,
    grid: np.ndarray,
    raw_original: np.ndarray,
    raw_avatars: np.ndarray,
) -> tuple[dict[str, Any], CurveSummary]:
    o = original[~np.isnan(original).any(axis=1)]
    a = avatars[~np.isnan(avatars).any(axis=1)]
    m = len(grid)
    scale = float(o.std()) if o.size else float("nan")
    unit = scale if scale > 0 else 1.0
    pointwise = np.array(
        [hellinger_continuous(o[:, j], a[:, j], max_bins=POINTWISE_MAX_BINS)[0] for j in range(m)]
    )
    mean_o, mean_a = o.mean(axis=0), a.mean(axis=0)
    std_o, std_a = o.std(axis=0), a.std(axis=0)
    max_lag = max(1, m // 2)
    acf_o, acf_a = mean_autocorrelation(o, max_lag), mean_autocorrelation(a, max_lag)
    lags = main_lags(acf_o)
    gaps = np.abs(acf_o[lags] - acf_a[lags])
    summary = CurveSummary(
        grid=grid,
        mean_original=mean_o,
        mean_avatars=mean_a,
        std_original=std_o,
        std_avatars=std_a,
        low_original=np.quantile(o, 0.1, axis=0),
        high_original=np.quantile(o, 0.9, axis=0),
        low_avatars=np.quantile(a, 0.1, axis=0),
        high_avatars=np.quantile(a, 0.9, axis=0),
        acf_original=acf_o,
        acf_avatars=acf_a,
        main_lags=lags,
        scale=scale,
        location=float(o.mean()),
    )
    spread_o = float(std_o.mean())
    row = {
        "pointwise_hellinger_mean": float(np.nanmean(pointwise)),
        "pointwise_hellinger_std": float(np.nanstd(pointwise)),
        "density_hellinger": hellinger_continuous(raw_original, raw_avatars)[0],
        "mean_curve_error": float(np.sqrt(np.mean((mean_o - mean_a) ** 2)) / unit),
        "spread_error": float(np.sqrt(np.mean((std_o - std_a) ** 2)) / unit),
        "spread_ratio": float(std_a.mean() / spread_o) if spread_o > 0 else float("nan"),
        "autocorrelation_difference": float(gaps.max()),
        "main_lags": lags,
        "autocorrelation_original": [float(acf_o[lag]) for lag in lags],
        "autocorrelation_avatars": [float(acf_a[lag]) for lag in lags],
    }
    return row, summary


def mean_autocorrelation(curves: np.ndarray, max_lag: int) -> np.ndarray:
    """The sample autocorrelation ``r(0..max_lag)`` of each row of ``curves``, averaged over
    the rows (constant rows left out), computed by FFT with zero padding (no circular wrap)."""
    centred = curves - curves.mean(axis=1, keepdims=True)
    power = np.sum(centred * centred, axis=1)
    keep = power > 1e-12 * max(1.0, float(power.max(initial=0.0)))
    if not keep.any():
        out = np.zeros(max_lag + 1)
        out[0] = 1.0
        return out
    centred, power = centred[keep], power[keep]
    m = curves.shape[1]
    size = 1 << int(np.ceil(np.log2(2 * m)))
    spectrum = np.fft.rfft(centred, n=size, axis=1)
    covariance = np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=1)[:, : max_lag + 1]
    return np.asarray((covariance / power[:, None]).mean(axis=0))


def main_lags(acf: np.ndarray, extrema: int = MAIN_EXTREMA) -> list[int]:
    """Lag 1 and the lags of the largest local extrema (in absolute value) of ``acf`` (lags
    ``1..len−2``), sorted."""
    inner = np.arange(1, len(acf) - 1)
    if inner.size == 0:
        return [min(1, len(acf) - 1)]
    left, here, right = acf[inner - 1], acf[inner], acf[inner + 1]
    is_extremum = ((here > left) & (here >= right)) | ((here < left) & (here <= right))
    candidates = inner[is_extremum]
    strongest = candidates[np.argsort(-np.abs(acf[candidates]), kind="stable")][:extrema]
    return sorted({1, *(int(c) for c in strongest)})


def _metric(name: str, value: float) -> MetricValue:
    return make_metric(
        name, value, _DESCRIPTIONS[name], provisional=True, table=SERIES_SIGNAL_TARGETS
    )


def _mean(values: pd.Series) -> float:
    return float(np.nanmean(values.to_numpy(dtype=float))) if len(values) else float("nan")


def _std(values: pd.Series) -> float:
    return float(np.nanstd(values.to_numpy(dtype=float))) if len(values) else float("nan")
