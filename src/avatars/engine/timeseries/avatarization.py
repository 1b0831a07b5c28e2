"""Avatars of individuals with their series: ``avatarize_time_series`` (method.md §6.2).

1. the series tables become feature columns of the individual table
   (:class:`~avatars.engine.timeseries.features.SeriesEncoder`: alignment, FPCA or
   flattening, time frames);
2. the joined table — the individual's own columns and its series features, its key left
   out — is avatarized by :func:`avatars.engine.avatarize` with the encoder's column types and
   weights (the user's weights win for the columns they name);
3. the avatars are shuffled and given new keys ``0..n−1`` in that shuffled order (no original
   key survives);
4. the avatar series are rebuilt from the avatars' features and attached to those keys.

Privacy is measured on the joined tables (:func:`time_series_privacy_metrics`): an avatar must
not single out its original by its own columns *or* its series. Signal is measured per series
table (:func:`~avatars.engine.timeseries.metrics.series_signal_metrics`) and on the individual
table (:func:`avatars.engine.signal_metrics`).

Randomness: one ``seed`` split by ``numpy.random.SeedSequence`` into the avatarization's seed,
the shuffle's stream and the residual noise's seed; the same seed and inputs give
byte-identical outputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from avatars.engine.avatarization import AvatarizationResult, avatarize
from avatars.engine.common import ProgressCallback
from avatars.engine.errors import InvalidDataError, InvalidParameterError
from avatars.engine.imputation import ImputationParameters
from avatars.engine.preprocessing import validate_table
from avatars.engine.privacy import PrivacyMetricsResult, privacy_metrics
from avatars.engine.schema import ColumnType
from avatars.engine.timeseries.data import SeriesTable
from avatars.engine.timeseries.features import SeriesEncoder, SeriesParameters
from avatars.engine.timeseries.metrics import SeriesSignalResult, series_signal_metrics
from avatars.protocol.enums import ExcludeVariablesMethod


@dataclass
class TimeSeriesAvatarizationResult:
    """What :func:`avatarize_time_series` returns.

    ``individuals`` (the avatar individual table, shuffled, key ``0..n−1``) and ``series`` (the
    avatar series tables, by name, keyed by those keys) are the deliverable.
    ``original_joined`` and ``avatars_joined`` (row ``i`` = avatar of original ``i``, key
    columns left out) are SENSITIVE, for the privacy metrics only.
    """

    individuals: pd.DataFrame
    series: dict[str, pd.DataFrame]
    original_joined: pd.DataFrame
    avatars_joined: pd.DataFrame
    encoder: SeriesEncoder
    avatarization: AvatarizationResult
    column_types: dict[str, str | ColumnType]
    column_weights: dict[str, float]
    metadata: dict[str, Any] = field(default_factory=dict)


def avatarize_time_series(
    individuals: pd.DataFrame,
    series_tables: Sequence[SeriesTable],
    *,
    individual_key: str,
    k: int,
    ncp: int | None = None,
    seed: int | None = None,
    series_parameters: Mapping[str, SeriesParameters | Mapping[str, Any]] | None = None,
    column_types: Mapping[str, str | ColumnType] | None = None,
    column_weights: Mapping[str, float] | None = None,
    imputation: ImputationParameters | Mapping[str, Any] | None = None,
    exclude_variables: Sequence[str] | None = None,
    exclude_method: str | ExcludeVariablesMethod = ExcludeVariablesMethod.ROW_ORDER,
    categorical_assignment: str = "draw",
    progress: ProgressCallback | None = None,
) -> TimeSeriesAvatarizationResult:
    """Avatarize an individual table together with its series tables (module docstring).

    Parameters
    ----------
    individuals
        The individual table; ``individual_key`` is its primary key (unique, no missing value).
    series_tables
        Its series tables (:class:`~avatars.engine.timeseries.data.SeriesTable`), each with a
        foreign key into ``individual_key`` and a time column.
    k, ncp, seed, column_types, column_weights, imputation, exclude_variables, exclude_method,
    categorical_assignment
        As for :func:`avatars.engine.avatarize`, on the joined table: ``column_types`` and
        ``column_weights`` may also name series features (``<table>.<variable>.fpc1``, ...);
        ``exclude_variables`` names columns of the individual table.
    series_parameters
        :class:`~avatars.engine.timeseries.features.SeriesParameters` by series table name.
    progress
        Called as ``progress(fraction, phase)``.
    """
    report = progress or (lambda fraction, phase: None)
    keys = _check_individuals(individuals, individual_key)
    if seed is None:  # drawn, and reported in the metadata so that the run can be replayed
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise InvalidParameterError("seed", f"expected an integer ≥ 0, got {seed!r}")
    avatarize_state, shuffle_state, noise_state = np.random.SeedSequence(int(seed)).spawn(3)
    report(0.0, "series features")
    encoder = SeriesEncoder.fit(keys, series_tables, series_parameters)
    own = individuals.drop(columns=[individual_key]).reset_index(drop=True)
    clash = [c for c in encoder.features.columns if c in own.columns]
    if clash:
        raise InvalidDataError(
            f"the individual table already has column(s) {', '.join(map(repr, clash))}, the "
            "names of series features: rename them"
        )
    joined = pd.concat([own, encoder.features], axis=1)
    types: dict[str, str | ColumnType] = {**encoder.column_types, **(column_types or {})}
    weights = {**encoder.column_weights, **(column_weights or {})}
    report(0.1, "avatarization")
    avatarization = avatarize(
        joined,
        k=k,
        ncp=ncp,
        seed=int(avatarize_state.generate_state(1)[0]),
        column_types=types,
        column_weights=weights,
        imputation=imputation,
        exclude_variables=exclude_variables,
        exclude_method=exclude_method,
        categorical_assignment=categorical_assignment,
        progress=lambda fraction, phase: report(0.1 + 0.7 * fraction, phase),
    )
    report(0.8, "series reconstruction")
    avatars_joined = avatarization.unshuffled
    order = np.random.default_rng(shuffle_state).permutation(len(avatars_joined))
    shuffled = avatars_joined.iloc[order].reset_index(drop=True)
    new_keys = pd.Index(np.arange(len(shuffled), dtype=np.int64))
    series, notes = encoder.decode(
        shuffled[list(encoder.features.columns)],
        new_keys,
        seed=int(noise_state.generate_state(1)[0]),
    )
    avatar_individuals = shuffled[list(own.columns)].copy()
    avatar_individuals.insert(
        list(individuals.columns).index(individual_key), individual_key, new_keys.to_numpy()
    )
    report(1.0, "done")
    return TimeSeriesAvatarizationResult(
        individuals=avatar_individuals,
        series=series,
        original_joined=joined,
        avatars_joined=avatars_joined,
        encoder=encoder,
        avatarization=avatarization,
        column_types=types,
        column_weights=weights,
        metadata={
            "seed": int(seed),
            "individual_key": individual_key,
            "avatarization": avatarization.metadata,
            "series": encoder.metadata(),
            "decoding": notes,
        },
    )


def time_series_privacy_metrics(
    result: TimeSeriesAvatarizationResult,
    *,
    ncp: int | None = None,
    seed: int | None = None,
    imputation: ImputationParameters | Mapping[str, Any] | None = None,
    **options: Any,
) -> PrivacyMetricsResult:
    """:func:`avatars.engine.privacy_metrics` on the joined tables (individual columns and
    series features), in the space of the avatarization: its column types and weights, and its
    ``ncp``, imputation and excluded variables unless others are given. ``options`` go to
    ``privacy_metrics`` as they are."""
    used = result.metadata["avatarization"]["parameters"]
    options.setdefault("exclude_variables", used["exclude_variables"] or None)
    return privacy_metrics(
        result.original_joined,
        result.avatars_joined,
        ncp=used["ncp"] if ncp is None else ncp,
        seed=seed,
        column_types=result.column_types,
        column_weights=result.column_weights,
        imputation=used["imputation"] if imputation is None else imputation,
        **options,
    )


def time_series_signal_metrics(
    series_tables: Sequence[SeriesTable], result: TimeSeriesAvatarizationResult
) -> dict[str, SeriesSignalResult]:
    """:func:`~avatars.engine.timeseries.metrics.series_signal_metrics` of every series table,
    on the grid of its alignment."""
    return {
        spec.name: series_signal_metrics(
            spec, result.series[spec.name], nb_points=result.encoder.table(spec.name).nb_points
        )
        for spec in series_tables
    }


def _check_individuals(individuals: pd.DataFrame, key: str) -> pd.Index:
    validate_table(individuals)
    if key not in individuals.columns:
        shown = ", ".join(repr(c) for c in list(individuals.columns)[:20])
        raise InvalidParameterError(
            "individual_key", f"column {key!r} is not in the individual table (it has {shown})"
        )
    values = individuals[key]
    if values.isna().any():
        raise InvalidDataError(
            f"{int(values.isna().sum())} individual(s) have no key (missing value)", column=key
        )
    if values.duplicated().any():
        duplicated = values[values.duplicated()]
        shown = ", ".join(repr(v) for v in pd.unique(duplicated)[:3])
        raise InvalidDataError(
            f"the individual key must be unique: {duplicated.nunique()} value(s) are repeated "
            f"(e.g. {shown})",
            column=key,
        )
    return pd.Index(values)
