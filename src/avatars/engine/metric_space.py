"""The space in which privacy metrics compare originals and avatars (method.md §2.0).

Both tables are typed like the original, their missing values imputed (each table on its own,
with the same method), and projected with a FAMD/PCA/MCA fitted on the originals; the metrics
use the first ``ncp`` coordinates. As in the paper's metric code (``SecurityMetrics``), the
missingness indicators that the avatarization adds are *not* part of this space: records are
compared on their values. Excluded variables are left out unless the caller keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from avatars.engine.categorical_reduction import SearchProjection, fit_projection
from avatars.engine.errors import InvalidDataError
from avatars.engine.imputation import ImputationParameters, impute
from avatars.engine.preprocessing import (
    EncodedTable,
    TableEncoder,
    check_column_weights,
    check_columns_exist,
    validate_table,
)
from avatars.engine.schema import ColumnType

#: Default number of dimensions of the metric space: min(5, the table's dimensions) (§2.0).
DEFAULT_METRICS_NCP = 5


@dataclass
class MetricSpace:
    """Originals and avatars encoded, imputed and projected with the originals' projection."""

    encoder: TableEncoder
    projection: SearchProjection
    original: EncodedTable  # imputed, without missingness indicators
    avatars: EncodedTable
    ncp: int
    original_coordinates: np.ndarray  # (n, ncp)
    avatar_coordinates: np.ndarray  # (n_avatars, ncp)
    imputation: ImputationParameters = field(default_factory=ImputationParameters)

    @property
    def n_modalities(self) -> list[int]:
        return self.encoder.n_modalities()[: len(self.encoder.categorical_columns)]

    def embed(self, table: pd.DataFrame, seed: int) -> tuple[EncodedTable, np.ndarray]:
        """Another table with the original's columns (a holdout) in this space: encoded like
        the originals (a modality the originals lack counts as missing), imputed with the
        space's method on its own, projected on the originals' axes; ``(encoded, coordinates)``.
        ``seed`` feeds the imputation."""
        params = self.imputation
        encoded, _ = impute(
            self.encoder.encode(table[self.encoder.columns]),
            params,
            np.random.default_rng(seed),
            self.n_modalities,
        )
        return encoded, self.projection.transform(encoded, self.ncp)

    @classmethod
    def fit(
        cls,
        original: pd.DataFrame,
        avatars: pd.DataFrame,
        *,
        ncp: int | None = None,
        column_types: Mapping[str, str | ColumnType] | None = None,
        column_weights: Mapping[str, float] | None = None,
        imputation: ImputationParameters | Mapping[str, Any] | None = None,
        exclude_variables: Sequence[str] | None = None,
        seed: int | None = None,
        parameter_prefix: str = "",
        categorical_reduction: bool = False,
    ) -> MetricSpace:
        validate_table(original)
        validate_table(avatars)
        exclude = check_columns_exist(
            f"{parameter_prefix}exclude_variables", exclude_variables, original
        )
        missing = [c for c in original.columns if c not in avatars.columns]
        if missing:
            raise InvalidDataError(
                f"the avatars lack column(s) {', '.join(map(repr, missing))} of the original table"
            )
        if column_types:
            check_columns_exist(f"{parameter_prefix}column_types", list(column_types), original)
        weights = check_column_weights(column_weights, original)
        params = ImputationParameters.parse(imputation)
        keep = [c for c in original.columns if c not in exclude]
        types = {c: t for c, t in (column_types or {}).items() if c in keep}
        encoder = TableEncoder.fit(original[keep], types)
        # the metric space has no missingness indicators: see the module docstring
        encoder.missing_columns = []
        n_modalities = encoder.n_modalities()
        streams = np.random.SeedSequence(0 if seed is None else seed).spawn(2)
        orig, _ = impute(
            encoder.encode(original[keep]), params, np.random.default_rng(streams[0]), n_modalities
        )
        avat, _ = impute(
            encoder.encode(avatars[keep]), params, np.random.default_rng(streams[1]), n_modalities
        )
        projection = fit_projection(
            orig, n_modalities, weights, categorical_reduction=categorical_reduction
        )
        ncp = projection.check_ncp(
            DEFAULT_METRICS_NCP if ncp is None else ncp,
            f"{parameter_prefix}ncp",
            default=ncp is None,
        )
        return cls(
            encoder=encoder,
            projection=projection,
            original=orig,
            avatars=avat,
            ncp=ncp,
            original_coordinates=projection.transform(orig, ncp),
            avatar_coordinates=projection.transform(avat, ncp),
            imputation=params,
        )
