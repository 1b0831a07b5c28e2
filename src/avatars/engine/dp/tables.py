"""The table side of the DP variants: which columns are modelled, their encoding, and the
originals' projection that the report's figures (and ``coordinate_similarity``) use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from avatars.engine.avatarization import DEFAULT_NCP
from avatars.engine.errors import InvalidDataError, InvalidParameterError
from avatars.engine.imputation import ImputationParameters, impute
from avatars.engine.preprocessing import (
    TableEncoder,
    check_column_weights,
    check_columns_exist,
    passed_through,
    validate_table,
)
from avatars.engine.projection import Projection
from avatars.engine.schema import ColumnType, parse_column_type
from avatars.protocol.enums import ExcludeVariablesMethod


@dataclass
class TablePlan:
    """The checked table-level parameters shared by both DP variants."""

    exclude: list[str]
    exclude_method: ExcludeVariablesMethod
    passed_through: list[dict[str, str]]
    column_types: dict[str, ColumnType]  # of the modelled columns
    column_weights: dict[str, float]
    imputation: ImputationParameters
    seed: int

    @property
    def left_out(self) -> list[str]:
        return [*self.exclude, *(p["column"] for p in self.passed_through)]

    def modelled(self, df: pd.DataFrame) -> pd.DataFrame:
        return df.drop(columns=self.left_out) if self.left_out else df


def plan_table(
    df: pd.DataFrame,
    *,
    seed: int | None,
    column_types: Mapping[str, str | ColumnType] | None,
    column_weights: Mapping[str, float] | None,
    imputation: ImputationParameters | Mapping[str, Any] | None,
    exclude_variables: Sequence[str] | None,
    exclude_method: str | ExcludeVariablesMethod,
) -> TablePlan:
    """Check what both variants accept about the table (errors name the parameter)."""
    validate_table(df)
    exclude = check_columns_exist("exclude_variables", exclude_variables, df)
    try:
        method = ExcludeVariablesMethod(str(getattr(exclude_method, "value", exclude_method)))
    except ValueError:
        allowed = ", ".join(m.value for m in ExcludeVariablesMethod)
        raise InvalidParameterError(
            "exclude_method", f"expected one of {allowed}, got {exclude_method!r}"
        ) from None
    if column_types:
        check_columns_exist("column_types", list(column_types), df)
    declared = {c: parse_column_type(t, c) for c, t in (column_types or {}).items()}
    weights = check_column_weights(column_weights, df)
    excluded_weighted = [c for c in weights if c in exclude]
    if excluded_weighted:
        raise InvalidParameterError(
            "column_weights", f"column(s) {', '.join(map(repr, excluded_weighted))} are excluded"
        )
    passed = passed_through(df, [c for c in df.columns if c not in exclude])
    if len(exclude) + len(passed) >= df.shape[1]:
        raise InvalidDataError(
            "nothing to synthesize: every column is excluded or carries no information "
            "(constant or missing everywhere)"
        )
    if seed is None:  # drawn, and reported in the metadata so that the sampling can be replayed
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise InvalidParameterError("seed", f"expected an integer ≥ 0, got {seed!r}")
    left_out = set(exclude) | {p["column"] for p in passed}
    return TablePlan(
        exclude=exclude,
        exclude_method=method,
        passed_through=passed,
        column_types={c: t for c, t in declared.items() if c not in left_out},
        column_weights={c: w for c, w in weights.items() if c not in left_out},
        imputation=ImputationParameters.parse(imputation),
        seed=int(seed),
    )


@dataclass
class ReportProjection:
    """The originals' projection (as for k-avatars): coordinates for the figures and for
    ``coordinate_similarity``, contributions of the variables."""

    encoder: TableEncoder
    projection: Projection
    ncp: int
    original_coordinates: np.ndarray
    imputation: ImputationParameters

    @classmethod
    def fit(
        cls,
        data: pd.DataFrame,
        encoder: TableEncoder,
        plan: TablePlan,
        ncp: int | None,
        rng: np.random.Generator,
    ) -> ReportProjection:
        n_modalities = encoder.n_modalities()
        prepared, _ = impute(encoder.encode(data), plan.imputation, rng, n_modalities)
        projection = Projection.fit(prepared, n_modalities, plan.column_weights)
        checked = projection.check_ncp(DEFAULT_NCP if ncp is None else ncp, default=ncp is None)
        coordinates = projection.transform(prepared, checked)
        return cls(encoder, projection, checked, coordinates, plan.imputation)

    def coordinates(self, table: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """Coordinates of synthetic rows (their missing values imputed among themselves)."""
        encoded = self.encoder.encode(table)
        filled, _ = impute(encoded, self.imputation, rng, self.encoder.n_modalities())
        return self.projection.transform(filled, self.ncp)
