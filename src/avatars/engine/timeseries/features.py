"""Series tables as columns of the individual table, and avatar columns back as series.

:class:`SeriesEncoder` is fitted on the individuals' keys and their series tables. For each
series table it aligns the series (:mod:`~avatars.engine.timeseries.alignment`), projects each
variable (:mod:`~avatars.engine.timeseries.projection`) and gives one row of *features* per
individual, in the individual table's order:

- the time frame: ``<table>.n_points`` (int), ``<table>.start``, ``<table>.duration`` (times as in
  the table; datetimes in seconds since the table's earliest time);
- per series variable ``v``: ``<table>.<v>.fpc1 … fpc<nf>`` (FPCA scores) or
  ``<table>.<v>.t1 … t<m>`` (flattened grid values).

These columns join the individual table, which is avatarized as usual: each avatar's features
are the weighted means of its neighbours' (method.md §1.9), so an avatar's series *and* its
length and time range come from its neighbours, never from its original alone.
:meth:`SeriesEncoder.decode` rebuilds the avatar series from the avatar features.

Weights in the projection (``column_weights`` of the avatarization, :attr:`column_weights`).
The avatarization standardizes every column; left alone, the fifth FPCA score (a few % of the
variance) would count as much as the first. Each series variable gets a total weight
``W`` (``SeriesParameters.weight``; default: its number of FPCA components, 1 for flatten)
shared by its features in proportion to their variance, ``ω_k = W λ_k / Σ_l λ_l``, so that
its part of the squared distance between two individuals is
``W · Σ_k (ξ_ik − ξ_jk)² / Σ_l λ_l``: the L² distance between their curves (within the kept
components), scaled by the variable's variance. ``W`` says how many ordinary
variables the series counts for; its scale (a temperature in °C or a pressure in Pa) plays no
part. Time-frame columns have weight 1.

Missing features (individuals without series, or without any observed value of a variable) are
imputed by the avatarization and may come back missing in an avatar, through its missingness
indicators: an avatar whose ``n_points`` is missing has no series in that table; one whose
first feature of a variable is missing has that variable missing at every point. The
indicators of a variable's other features are drawn independently: a missing one in a present
block is read as the originals' mean of that feature (0 for an FPCA score), and a missing
start or duration in a present frame as the originals' mean (counted in ``decode_notes``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from avatars.engine.errors import InvalidParameterError
from avatars.engine.timeseries.alignment import (
    MAX_SPECIFIED_POINTS,
    AlignedSeries,
    align,
    grid_length,
    unalign,
)
from avatars.engine.timeseries.data import (
    NANOSECONDS,
    SeriesData,
    SeriesDataError,
    SeriesTable,
    TimeFormat,
    TimeKind,
    read_series,
)
from avatars.engine.timeseries.projection import CurveProjection
from avatars.protocol.enums import AlignmentMethod, ProjectionType, UnalignmentMethod

#: FPCA components per series variable unless ``nf`` is given (protocol/parameters.py).
DEFAULT_NF = 5

#: Decimals that rebuilt values are settled to before their final rounding (see _variable_column).
SETTLE_DECIMALS = 9

#: Alignment when neither ``method`` nor ``nb_points`` is given: keep the longest series' points.
DEFAULT_ALIGNMENT = AlignmentMethod.MAX


@dataclass(frozen=True)
class SeriesParameters:
    """Parameters of one series table (the YAML's ``time_series`` entry; ``None``: default).

    ``projection_type`` (``fpca``/``flatten``), ``nf`` (FPCA components per variable, ``≥ 1``;
    not used by ``flatten``), ``nb_points`` and ``method`` (the grid: ``nb_points`` alone means
    ``specified``; neither means ``max``), ``unalignment`` (``uniform``/``skip``), ``weight``
    (total projection weight of each series variable, ``> 0``; default: its number of
    features for FPCA, 1 for flatten — see the module docstring), ``residual_noise`` (FPCA:
    add the residual noise model of :mod:`~avatars.engine.timeseries.projection` to the
    rebuilt curves; default True; an engine option, not in the protocol).
    """

    projection_type: ProjectionType | str | None = None
    nf: int | None = None
    nb_points: int | None = None
    method: AlignmentMethod | str | None = None
    unalignment: UnalignmentMethod | str | None = None
    weight: float | None = None
    residual_noise: bool | None = None


@dataclass(frozen=True)
class ResolvedParameters:
    """:class:`SeriesParameters` checked, defaults filled (except the grid's derived length)."""

    projection_type: ProjectionType
    nf: int
    nb_points: int | None
    method: AlignmentMethod
    unalignment: UnalignmentMethod
    weight: float | None
    residual_noise: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "projection_type": self.projection_type.value,
            "nf": self.nf,
            "nb_points": self.nb_points,
            "method": self.method.value,
            "unalignment": self.unalignment.value,
            "weight": self.weight,
            "residual_noise": self.residual_noise,
        }


def resolve_parameters(
    table: str, parameters: SeriesParameters | Mapping[str, Any] | None
) -> ResolvedParameters:
    """Check one table's parameters; errors name the parameter as ``time_series_<name>``."""
    if parameters is None:
        parameters = SeriesParameters()
    elif isinstance(parameters, Mapping):
        unknown = sorted(set(parameters) - set(SeriesParameters.__dataclass_fields__))
        if unknown:
            raise InvalidParameterError(
                "time_series", f"table '{table}': unknown parameter(s) {', '.join(unknown)}"
            )
        parameters = SeriesParameters(**parameters)
    projection_type = _enum(
        ProjectionType, parameters.projection_type, ProjectionType.FPCA, table, "projection_type"
    )
    unalignment = _enum(
        UnalignmentMethod, parameters.unalignment, UnalignmentMethod.UNIFORM, table, "unalignment"
    )
    nf = _integer(parameters.nf, DEFAULT_NF, 1, None, table, "nf")
    nb_points = (
        None
        if parameters.nb_points is None
        else _integer(parameters.nb_points, 0, 2, MAX_SPECIFIED_POINTS, table, "nb_points")
    )
    default_method = AlignmentMethod.SPECIFIED if nb_points is not None else DEFAULT_ALIGNMENT
    method = _enum(AlignmentMethod, parameters.method, default_method, table, "method")
    if method == AlignmentMethod.SPECIFIED and nb_points is None:
        raise InvalidParameterError(
            "time_series_nb_points",
            f"table '{table}': nb_points is required with the 'specified' alignment method",
        )
    if method != AlignmentMethod.SPECIFIED and nb_points is not None:
        raise InvalidParameterError(
            "time_series_nb_points",
            f"table '{table}': nb_points={nb_points} is only used with the 'specified' "
            f"alignment method, got method '{method.value}'",
        )
    if projection_type == ProjectionType.FPCA and nb_points is not None and nf > nb_points:
        raise InvalidParameterError(
            "time_series_nf",
            f"table '{table}': nf={nf} components need a grid of at least {nf} points, "
            f"got nb_points={nb_points}",
        )
    weight = parameters.weight
    if weight is not None:
        number = (
            float(weight)
            if isinstance(weight, int | float) and not isinstance(weight, bool)
            else float("nan")
        )
        if not np.isfinite(number) or number <= 0:
            raise InvalidParameterError(
                "time_series_weight", f"table '{table}': expected a number > 0, got {weight!r}"
            )
        weight = number
    noise = parameters.residual_noise
    if noise is not None and not isinstance(noise, bool | np.bool_):
        raise InvalidParameterError(
            "time_series_residual_noise", f"table '{table}': expected true or false, got {noise!r}"
        )
    residual_noise = projection_type == ProjectionType.FPCA and noise is not False
    return ResolvedParameters(
        projection_type, nf, nb_points, method, unalignment, weight, residual_noise
    )


def _enum(enum: type[StrEnum], value: object, default: Any, table: str, name: str) -> Any:
    if value is None:
        return default
    try:
        return enum(str(getattr(value, "value", value)))
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise InvalidParameterError(
            f"time_series_{name}", f"table '{table}': expected one of {allowed}, got {value!r}"
        ) from None


def _integer(value: object, default: int, low: int, high: int | None, table: str, name: str) -> int:
    if value is None:
        return default
    if not isinstance(value, int | np.integer) or isinstance(value, bool):
        raise InvalidParameterError(
            f"time_series_{name}", f"table '{table}': expected an integer, got {value!r}"
        )
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"≥ {low}"
        raise InvalidParameterError(
            f"time_series_{name}", f"table '{table}': must be {bound}, got {value}"
        )
    return int(value)


# =============================================================================================
# the encoder
# =============================================================================================
@dataclass
class FittedSeriesTable:
    """What the encoder keeps of one series table."""

    name: str
    individual_key: str
    time: str
    primary_key: str | None
    columns: list[str]  # the original column order
    variables: list[str]
    variable_dtypes: list[str]
    integer_variables: list[bool]
    decimals: list[int]
    time_format: TimeFormat
    parameters: ResolvedParameters
    nb_points: int
    nb_points_capped: bool
    projections: list[CurveProjection]
    aligned: AlignedSeries  # the originals on the grid (for the metrics: SENSITIVE)
    frame_columns: list[str]
    feature_columns: list[list[str]]  # per variable

    @property
    def grid(self) -> np.ndarray:
        return self.aligned.grid

    def align(
        self, df: pd.DataFrame, keys: pd.Series | pd.Index
    ) -> tuple[SeriesData, AlignedSeries]:
        """Any table shaped like this one (e.g. the avatar series) on this table's grid."""
        spec = SeriesTable(self.name, df, self.individual_key, self.time, self.primary_key)
        data = read_series(spec, keys)
        return data, align(data, self.nb_points)

    def metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "parameters": self.parameters.to_dict(),
            "nb_points": self.nb_points,
            "variables": {},
            "time": {"column": self.time, "kind": self.time_format.kind.value},
        }
        if self.nb_points_capped:
            out["nb_points_capped"] = True
        for variable, projection, names in zip(
            self.variables, self.projections, self.feature_columns, strict=True
        ):
            entry: dict[str, Any] = {
                "features": names,
                "explained_variance_ratio": [float(r) for r in projection.explained_variance_ratio],
            }
            if (
                projection.kind == ProjectionType.FPCA
                and projection.n_features < projection.requested
            ):
                entry["nf_lowered_to_rank"] = projection.n_features
            out["variables"][variable] = entry
        return out


@dataclass
class SeriesEncoder:
    """Series tables as feature columns of the individual table (module docstring).

    Build with :meth:`fit`; ``features`` (one row per individual, in the order of the keys it
    was fitted on), ``column_types`` and ``column_weights`` go to the avatarization;
    :meth:`decode` turns avatar features into avatar series tables.
    """

    tables: list[FittedSeriesTable]
    features: pd.DataFrame
    column_types: dict[str, str]
    column_weights: dict[str, float]
    frame_means: dict[str, float] = field(default_factory=dict)
    feature_means: dict[str, float] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        individual_keys: pd.Series | pd.Index | Sequence[Any],
        series_tables: Sequence[SeriesTable],
        parameters: Mapping[str, SeriesParameters | Mapping[str, Any]] | None = None,
    ) -> SeriesEncoder:
        """Fit on the individuals' keys (the individual table's primary key, in its row order)
        and their series tables; ``parameters`` by series table name (missing: defaults)."""
        keys = pd.Index(individual_keys)
        _check_tables(series_tables, parameters)
        fitted, blocks = [], []
        types: dict[str, str] = {}
        weights: dict[str, float] = {}
        for spec in series_tables:
            params = resolve_parameters(spec.name, (parameters or {}).get(spec.name))
            table, block, table_weights = _fit_table(spec, keys, params)
            fitted.append(table)
            blocks.append(block)
            types.update({table.frame_columns[0]: "int"})
            types.update({c: "float" for c in block.columns if c != table.frame_columns[0]})
            weights.update(table_weights)
        features = pd.concat(blocks, axis=1) if blocks else pd.DataFrame(index=range(len(keys)))
        return cls(
            tables=fitted,
            features=features,
            column_types=types,
            column_weights=weights,
            frame_means={
                c: float(np.nanmean(features[c])) if features[c].notna().any() else 0.0
                for t in fitted
                for c in t.frame_columns
            },
            feature_means={
                c: float(np.nanmean(features[c])) if features[c].notna().any() else 0.0
                for t in fitted
                for names in t.feature_columns
                for c in names
            },
        )

    def table(self, name: str) -> FittedSeriesTable:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    def metadata(self) -> dict[str, Any]:
        return {t.name: t.metadata() for t in self.tables}

    def encode(
        self,
        tables: Mapping[str, pd.DataFrame],
        individual_keys: pd.Series | pd.Index | Sequence[Any],
    ) -> pd.DataFrame:
        """Feature rows of other tables shaped like the fitted ones (e.g. the avatar series:
        ``{name: table}``), one per key of ``individual_keys``, on the fitted grids and
        projections: the columns of :attr:`features`. Datetime starts are measured from the
        fitted table's origin, so that both sides share one time axis. This is how the avatar
        series an attacker sees are compared with the originals' (privacy metrics)."""
        keys = pd.Index(individual_keys)
        blocks = []
        for table in self.tables:
            data, aligned = table.align(tables[table.name], keys)
            shift = 0.0
            if data.time_format.kind == TimeKind.DATETIME:
                shift = (data.time_format.origin_ns - table.time_format.origin_ns) / NANOSECONDS
            n_col, start_col, duration_col = table.frame_columns
            columns: dict[str, np.ndarray] = {
                n_col: aligned.n_points,
                start_col: aligned.start + shift,
                duration_col: aligned.duration,
            }
            for v, (projection, names) in enumerate(
                zip(table.projections, table.feature_columns, strict=True)
            ):
                if names:
                    scores = projection.transform(aligned.curves[:, v, :])
                    columns.update({name: scores[:, k] for k, name in enumerate(names)})
            blocks.append(pd.DataFrame(columns))
        if not blocks:
            return pd.DataFrame(index=range(len(keys)))
        return pd.concat(blocks, axis=1)[list(self.features.columns)]

    def decode(
        self,
        avatar_features: pd.DataFrame,
        avatar_keys: pd.Series | pd.Index | Sequence[Any],
        *,
        seed: int,
    ) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, int]]]:
        """Avatar series tables from the avatars' feature columns (row ``r`` of
        ``avatar_features`` is the avatar whose key is ``avatar_keys[r]``); ``seed`` drives the
        residual noise (one independent stream per series table).

        Returns the tables by name — the original columns in their order, rows by avatar then
        time, the primary key (if any) renumbered ``0..n−1`` — and, per table, the counts of
        the decoding rules of the module docstring (``decode_notes``).
        """
        keys = pd.Index(avatar_keys)
        if len(keys) != len(avatar_features):
            raise ValueError(
                f"{len(keys)} avatar keys for {len(avatar_features)} rows of avatar features"
            )
        missing_columns = [c for c in self.features.columns if c not in avatar_features.columns]
        if missing_columns:
            raise ValueError(f"avatar features lack column(s) {missing_columns[:5]}")
        tables, notes = {}, {}
        streams = np.random.SeedSequence(seed).spawn(len(self.tables))
        for table, stream in zip(self.tables, streams, strict=True):
            tables[table.name], notes[table.name] = self._decode_table(
                table, avatar_features, keys, np.random.default_rng(stream)
            )
        return tables, notes

    def _decode_table(
        self,
        table: FittedSeriesTable,
        features: pd.DataFrame,
        keys: pd.Index,
        rng: np.random.Generator,
    ) -> tuple[pd.DataFrame, dict[str, int]]:
        n_col, start_col, duration_col = table.frame_columns
        n_points = features[n_col].to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~np.isnan(n_points)
        start = features[start_col].to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        duration = features[duration_col].to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        notes = {"avatars_without_series": int((~present).sum()), "frame_values_filled": 0}
        for values, column in ((start, start_col), (duration, duration_col)):
            gap = present & np.isnan(values)
            values[gap] = self.frame_means[column]
            notes["frame_values_filled"] += int(gap.sum())
        duration = np.maximum(duration, 0.0)
        m = table.nb_points
        curves = np.full((len(features), len(table.variables), m), np.nan)
        notes["variables_missing"] = 0
        notes["feature_values_filled"] = 0
        for v, (projection, names) in enumerate(
            zip(table.projections, table.feature_columns, strict=True)
        ):
            if not names:  # a variable without variance: its curve is the mean curve
                curves[:, v, :] = projection.mean
                continue
            block = features[names].to_numpy(dtype=np.float64, na_value=np.nan)
            has_variable = ~np.isnan(block[:, 0])
            gaps = np.isnan(block) & has_variable[:, None]
            notes["feature_values_filled"] += int(gaps.sum())
            means = np.array([self.feature_means[c] for c in names])
            block = np.where(gaps, means[None, :], block)
            rebuilt = projection.inverse_transform(np.nan_to_num(block))
            if table.parameters.residual_noise:
                rebuilt += projection.residual_noise(len(rebuilt), rng)
            rebuilt[~has_variable] = np.nan
            notes["variables_missing"] += int((present & ~has_variable).sum())
            curves[:, v, :] = rebuilt
        n_points = np.where(present, n_points, np.nan)
        long = unalign(
            curves,
            n_points,
            start,
            duration,
            table.parameters.unalignment,
            time_quantum=table.time_format.quantum,
        )
        return _series_frame(table, keys, long.owner, long.times, long.values), notes


# -- fitting one table -------------------------------------------------------------------------
def _check_tables(
    series_tables: Sequence[SeriesTable],
    parameters: Mapping[str, SeriesParameters | Mapping[str, Any]] | None,
) -> None:
    names = [t.name for t in series_tables]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InvalidParameterError(
            "series_tables", f"series table name(s) used twice: {', '.join(duplicated)}"
        )
    unknown = sorted(set(parameters or {}) - set(names))
    if unknown:
        raise InvalidParameterError(
            "time_series",
            f"parameters given for unknown series table(s) {', '.join(unknown)}; "
            f"the series tables are {', '.join(names) or 'none'}",
        )


def _fit_table(
    spec: SeriesTable, keys: pd.Index, params: ResolvedParameters
) -> tuple[FittedSeriesTable, pd.DataFrame, dict[str, float]]:
    data = read_series(spec, keys)
    nb_points, capped = grid_length(data.lengths, params.method, params.nb_points)
    if params.projection_type == ProjectionType.FPCA and params.nf > nb_points:
        raise InvalidParameterError(
            "time_series_nf",
            f"table '{spec.name}': nf={params.nf} components need a grid of at least "
            f"{params.nf} points, got {nb_points} ({params.method.value} length)",
        )
    aligned = align(data, nb_points)
    prefix = spec.name
    frame_columns = [f"{prefix}.n_points", f"{prefix}.start", f"{prefix}.duration"]
    columns: dict[str, np.ndarray] = {
        frame_columns[0]: aligned.n_points,
        frame_columns[1]: aligned.start,
        frame_columns[2]: aligned.duration,
    }
    weights: dict[str, float] = {}
    projections, feature_columns = [], []
    for v, variable in enumerate(data.variables):
        curves = aligned.curves[:, v, :]
        if np.isnan(curves).all():
            raise SeriesDataError(spec.name, variable, "every value is missing; drop the column")
        projection = CurveProjection.fit(curves, aligned.grid, params.projection_type, params.nf)
        tag = "fpc" if params.projection_type == ProjectionType.FPCA else "t"
        names = [f"{prefix}.{variable}.{tag}{k + 1}" for k in range(projection.n_features)]
        scores = projection.transform(curves)
        for k, name in enumerate(names):
            columns[name] = scores[:, k]
        total = float(projection.eigenvalues.sum())
        block_weight = (
            params.weight if params.weight is not None else _default_weight(params, projection)
        )
        for k, name in enumerate(names):
            share = float(projection.eigenvalues[k]) / total if total > 0 else 1.0 / len(names)
            weights[name] = max(block_weight * share, 1e-12)
        projections.append(projection)
        feature_columns.append(names)
    block = pd.DataFrame(columns)
    fitted = FittedSeriesTable(
        name=spec.name,
        individual_key=spec.individual_key,
        time=spec.time,
        primary_key=spec.primary_key,
        columns=[str(c) for c in spec.data.columns],
        variables=data.variables,
        variable_dtypes=[str(spec.data[c].dtype) for c in data.variables],
        integer_variables=data.integer_variables,
        decimals=data.decimals,
        time_format=data.time_format,
        parameters=params,
        nb_points=nb_points,
        nb_points_capped=capped,
        projections=projections,
        aligned=aligned,
        frame_columns=frame_columns,
        feature_columns=feature_columns,
    )
    return fitted, block, weights


def _default_weight(params: ResolvedParameters, projection: CurveProjection) -> float:
    if params.projection_type == ProjectionType.FPCA:
        return float(max(1, projection.n_features))
    return 1.0


# -- decoding --------------------------------------------------------------------------------
def _series_frame(
    table: FittedSeriesTable,
    keys: pd.Index,
    owner: np.ndarray,
    times: np.ndarray,
    values: np.ndarray,
) -> pd.DataFrame:
    columns: dict[str, Any] = {}
    for column in table.columns:
        if column == table.primary_key:
            columns[column] = pd.Series(np.arange(len(owner), dtype=np.int64))
        elif column == table.individual_key:
            columns[column] = pd.Series(keys[owner], dtype=keys.dtype)
        elif column == table.time:
            columns[column] = table.time_format.to_column(times)
        else:
            v = table.variables.index(column)
            columns[column] = _variable_column(
                values[:, v],
                table.variable_dtypes[v],
                table.integer_variables[v],
                table.decimals[v],
            )
    return pd.DataFrame(columns)


def _variable_column(values: np.ndarray, dtype: str, is_integer: bool, decimals: int) -> pd.Series:
    """Avatar values typed and rounded like the original column. They are first rounded to
    :data:`SETTLE_DECIMALS` decimals: a curve rebuilt as ``μ + Σ ξ φ`` carries float noise of
    ~1e-15 from point to point, which would send values on a rounding tie (x.5) both ways
    within one series."""
    values = np.round(values, SETTLE_DECIMALS)
    if dtype == "bool" or dtype == "boolean":
        rounded = np.clip(np.rint(values), 0, 1)
        if np.isnan(rounded).any():
            return pd.Series(rounded, dtype="Float64").astype("boolean")
        return pd.Series(rounded.astype(bool))
    if is_integer:
        rounded = np.rint(values)
        if np.isnan(rounded).any() or not dtype.startswith(("int", "uint")):
            return pd.Series(rounded, dtype="Float64").astype("Int64")
        return pd.Series(rounded.astype(np.dtype(dtype)))
    return pd.Series(np.round(values, decimals))
