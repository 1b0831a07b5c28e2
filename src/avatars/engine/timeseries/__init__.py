"""Avatars of individuals with their measurement series (method.md §6.2, issue 18).

A *series table* (one row per individual and time point, a foreign key to the individual
table, a time column, numeric series variables) is a child of its *individual table* with the
link method ``time_series``. The series are avatarized together with their individuals:

1. alignment (:mod:`.alignment`): each individual's series on a common grid of ``nb_points``
   in normalized time (``specified``, or the ``max``/``min``/``mean`` length), its length,
   start and duration kept apart as its *time frame*;
2. projection (:mod:`.projection`): per series variable, a functional PCA keeping ``nf``
   scores (our numpy FPCA, formula in the module) or the flattened grid values;
3. the features join the individual table (:mod:`.features`, :class:`SeriesEncoder`), which is
   avatarized by :func:`avatars.engine.avatarize` — so an avatar's series, length and time
   range are weighted means of its neighbours', never its original's own;
4. the avatar series are rebuilt from the avatar features (FPCA: plus noise drawn from the
   originals' residual model, so that they are not smoother than real measurements) and
   mapped back to timestamps (``uniform`` or ``skip``).

Entry points:

- :func:`avatarize_time_series` — the whole run on pandas tables, one seed;
- :class:`SeriesEncoder` — steps 1-2 and 4 alone, for a caller that avatarizes the individual
  table itself (the multi-table engine): ``SeriesEncoder.fit(keys, tables, parameters)``, join
  ``encoder.features`` with ``encoder.column_types``/``column_weights``, then
  ``encoder.decode(avatar_features, avatar_keys, seed=...)``;
- :func:`time_series_privacy_metrics` (privacy on the joined individual level) and
  :func:`series_signal_metrics` / :func:`time_series_signal_metrics` (signal per series table);
- :func:`series_figure_data` and :func:`plotly_series_figures` (RAW_SERIES, NORMALIZED_SERIES);
- :func:`advise_time_series` — advised ``k``, ``ncp``, ``nf`` and ``nb_points``;
- :func:`generate_seasonal_series` — a seeded test set with known seasonal shapes.

Bad input raises :class:`SeriesDataError` (an :class:`~avatars.engine.InvalidDataError`)
naming the table, the column and the number of individuals concerned, or
:class:`~avatars.engine.InvalidParameterError` naming the parameter (``time_series_nf``, ...).
No I/O anywhere.
"""

from avatars.engine.timeseries.advice import advise_time_series
from avatars.engine.timeseries.alignment import AlignedSeries, align, grid_length, unalign
from avatars.engine.timeseries.avatarization import (
    TimeSeriesAvatarizationResult,
    avatarize_time_series,
    time_series_privacy_metrics,
    time_series_signal_metrics,
)
from avatars.engine.timeseries.data import SeriesData, SeriesDataError, SeriesTable, read_series
from avatars.engine.timeseries.features import (
    FittedSeriesTable,
    SeriesEncoder,
    SeriesParameters,
    resolve_parameters,
)
from avatars.engine.timeseries.figures import (
    SeriesFigureData,
    plotly_series_figures,
    series_figure_data,
)
from avatars.engine.timeseries.metrics import SeriesSignalResult, series_signal_metrics
from avatars.engine.timeseries.projection import CurveProjection
from avatars.engine.timeseries.synthetic import generate_seasonal_series

__all__ = [
    "AlignedSeries",
    "CurveProjection",
    "FittedSeriesTable",
    "SeriesData",
    "SeriesDataError",
    "SeriesEncoder",
    "SeriesFigureData",
    "SeriesParameters",
    "SeriesSignalResult",
    "SeriesTable",
    "TimeSeriesAvatarizationResult",
    "advise_time_series",
    "align",
    "avatarize_time_series",
    "generate_seasonal_series",
    "grid_length",
    "plotly_series_figures",
    "read_series",
    "resolve_parameters",
    "series_figure_data",
    "series_signal_metrics",
    "time_series_privacy_metrics",
    "time_series_signal_metrics",
    "unalign",
]
