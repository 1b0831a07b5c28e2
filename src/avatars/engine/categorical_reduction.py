"""Categorical reduction (``use_categorical_reduction``, method.md §1.5): categorical variables
of many modalities enter the projection as a few numbers instead of one column per modality.

Why: in the FAMD (:mod:`avatars.engine.projection`) a categorical variable of ``m`` modalities
spans ``m − 1`` dimensions of inertia up to 1 each. A 200-modality ``city`` column brings 199
axes of nearly equal inertia: the first ``ncp`` axes the neighbour search uses are then mostly
directions of single cities, and the records' neighbours are chosen at random with respect to
everything else. The official documentation converts categorical variables "into 20 dimensions"
(cat2vec) and recommends it when a table has more than 20 modalities; its algorithm is not
published, so this is our reading [U], in the spirit of cat2vec (a modality is known by the
company it keeps):

1. every categorical data variable ``v`` of more than :data:`REDUCTION_DIMENSIONS` modalities is
   reduced; the *context* of a record is its other variables as the FAMD scales them
   (standardized continuous values, one-hot of the categoricals that are not reduced);
2. modality ``m`` of ``v`` is embedded as the mean context of its ``n_m`` records, shrunk
   towards the overall mean for rare modalities (empirical Bayes):
   ``e_m = Σ_{i: v_i = m} c_i / (n_m + λ)``, ``λ =`` :data:`SHRINKAGE`;
3. the embeddings are reduced by a PCA weighted by the modality counts to
   ``d = min(20, m − 1, rank)`` dimensions ``s_1 ≥ … ≥ s_d`` (variances);
4. in the projection ``v`` is replaced by ``d`` continuous columns (its records' embedding),
   dimension ``i`` weighted ``ω_v · s_i / Σ s``: the block's total inertia is ``ω_v``, that of one
   variable, and its geometry is the embedding's.

Modalities with the same context land on the same point, so records of similar cities are
neighbours. Only the neighbour search (and the avatars' coordinates) use the reduced space: the
avatars' categorical values are still drawn from their neighbours' modalities (§1.9), so every
modality stays a real one. A variable with no context (the table has nothing else) is not
reduced, and :meth:`CategoricalReduction.summary` says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from avatars.engine.preprocessing import MISSING_INDICATOR_PREFIX, EncodedTable
from avatars.engine.projection import Projection, ProjectionKind

#: Variables of more modalities than this are reduced, to at most this many dimensions.
REDUCTION_DIMENSIONS = 20
#: λ of the shrinkage of a modality's mean context: a modality of ``λ`` records is pulled half
#: way to the overall mean.
SHRINKAGE = 5.0


@dataclass
class ReducedVariable:
    name: str
    position: int  # its column in ``EncodedTable.codes``
    embedding: np.ndarray  # (m, d): each modality's point
    variances: np.ndarray  # (d,) s_i
    columns: list[str]  # the names of its d continuous columns


@dataclass
class CategoricalReduction:
    """Fitted on the originals' imputed encoded table; see the module docstring."""

    variables: list[ReducedVariable] = field(default_factory=list)
    not_reduced: dict[str, str] = field(default_factory=dict)  # name -> why

    @classmethod
    def fit(
        cls,
        table: EncodedTable,
        n_modalities: list[int],
        *,
        max_dimensions: int = REDUCTION_DIMENSIONS,
        shrinkage: float = SHRINKAGE,
    ) -> CategoricalReduction:
        reduction = cls()
        candidates = [
            j
            for j, (name, m) in enumerate(zip(table.categorical_names, n_modalities, strict=True))
            if m > max_dimensions and not name.startswith(MISSING_INDICATOR_PREFIX)
        ]
        if not candidates:
            return reduction
        context = _context(table, n_modalities, set(candidates))
        taken = set(table.continuous_names) | set(table.categorical_names)
        for j in candidates:
            name = table.categorical_names[j]
            if context.shape[1] == 0:
                reduction.not_reduced[name] = "no other variable to learn its modalities from"
                continue
            embedding, variances = _embed(
                table.codes[:, j], n_modalities[j], context, max_dimensions, shrinkage
            )
            if embedding.shape[1] == 0:
                reduction.not_reduced[name] = "its modalities do not differ on the other variables"
                continue
            columns = []
            for i in range(embedding.shape[1]):
                column = f"{name} [reduced {i + 1}]"
                while column in taken:
                    column += "'"
                taken.add(column)
                columns.append(column)
            reduction.variables.append(ReducedVariable(name, j, embedding, variances, columns))
        return reduction

    @property
    def is_empty(self) -> bool:
        return not self.variables

    def apply(self, table: EncodedTable) -> EncodedTable:
        """``table`` with each reduced variable's codes replaced by its embedding columns."""
        if self.is_empty:
            return table
        positions = {v.position for v in self.variables}
        blocks = [table.continuous]
        names = list(table.continuous_names)
        for variable in self.variables:
            codes = table.codes[:, variable.position]
            values = np.zeros((len(codes), variable.embedding.shape[1]))
            present = codes >= 0  # an unseen modality sits at the centre
            values[present] = variable.embedding[codes[present]]
            blocks.append(values)
            names += variable.columns
        keep = [j for j in range(table.codes.shape[1]) if j not in positions]
        return EncodedTable(
            np.hstack(blocks) if blocks else np.zeros((table.n_rows, 0)),
            table.codes[:, keep],
            names,
            [table.categorical_names[j] for j in keep],
        )

    def n_modalities(self, n_modalities: list[int]) -> list[int]:
        positions = {v.position for v in self.variables}
        return [m for j, m in enumerate(n_modalities) if j not in positions]

    def weights(self, column_weights: Mapping[str, float] | None) -> dict[str, float]:
        """The projection's column weights: dimension ``i`` of ``v`` gets ``ω_v s_i / Σ s``."""
        weights = dict(column_weights or {})
        for variable in self.variables:
            total = float(variable.variances.sum())
            omega = weights.get(variable.name, 1.0)
            for column, s in zip(variable.columns, variable.variances, strict=True):
                weights[column] = omega * float(s) / total
        return weights

    def summary(self) -> dict[str, Any]:
        return {
            "reduced": {
                v.name: {"modalities": int(v.embedding.shape[0]), "dimensions": len(v.columns)}
                for v in self.variables
            },
            "not_reduced": dict(self.not_reduced),
            "max_dimensions": REDUCTION_DIMENSIONS,
        }


@dataclass
class ReducedProjection:
    """A :class:`~avatars.engine.projection.Projection` of the reduced table: the same queries
    on tables encoded like the original (reduced on the way)."""

    reduction: CategoricalReduction
    projection: Projection

    @classmethod
    def fit(
        cls,
        table: EncodedTable,
        n_modalities: list[int],
        column_weights: Mapping[str, float] | None = None,
    ) -> ReducedProjection:
        reduction = CategoricalReduction.fit(table, n_modalities)
        projection = Projection.fit(
            reduction.apply(table),
            reduction.n_modalities(n_modalities),
            reduction.weights(column_weights),
        )
        return cls(reduction, projection)

    @property
    def kind(self) -> ProjectionKind:
        return self.projection.kind

    @property
    def n_dimensions(self) -> int:
        return self.projection.n_dimensions

    @property
    def rank(self) -> int:
        return self.projection.rank

    @property
    def explained_variance_ratio(self) -> np.ndarray:
        return self.projection.explained_variance_ratio

    def check_ncp(self, ncp: object, parameter: str = "ncp", *, default: bool = False) -> int:
        return self.projection.check_ncp(ncp, parameter, default=default)

    def transform(self, table: EncodedTable, n_components: int | None = None) -> np.ndarray:
        return self.projection.transform(self.reduction.apply(table), n_components)

    def coordinates_frame(self, coordinates: np.ndarray) -> pd.DataFrame:
        return self.projection.coordinates_frame(coordinates)

    def contributions(self, n_components: int | None = None) -> pd.DataFrame:
        """Per original variable: a reduced variable's dimensions are summed back into it."""
        frame = self.projection.contributions(n_components)
        owner = {c: v.name for v in self.reduction.variables for c in v.columns}
        return frame.groupby(lambda name: owner.get(name, name), sort=False).sum()


#: What fits the search space of an avatarization or of the privacy metrics.
SearchProjection = Projection | ReducedProjection


def fit_projection(
    table: EncodedTable,
    n_modalities: list[int],
    column_weights: Mapping[str, float] | None = None,
    *,
    categorical_reduction: bool = False,
) -> SearchProjection:
    if categorical_reduction:
        return ReducedProjection.fit(table, n_modalities, column_weights)
    return Projection.fit(table, n_modalities, column_weights)


def reduction_summary(projection: SearchProjection) -> dict[str, Any] | None:
    if isinstance(projection, ReducedProjection):
        return projection.reduction.summary()
    return None


def _context(table: EncodedTable, n_modalities: list[int], reduced: set[int]) -> np.ndarray:
    """The records' other variables as the FAMD scales them (unweighted)."""
    blocks = []
    if table.continuous.shape[1]:
        cont = table.continuous
        std = cont.std(axis=0)
        blocks.append((cont - cont.mean(axis=0)) / np.where(std > 0, std, 1.0))
    n = table.n_rows
    for j, m in enumerate(n_modalities):
        if j in reduced:
            continue
        codes = table.codes[:, j]
        shares = np.bincount(codes[codes >= 0], minlength=m) / max(n, 1)
        dummies = np.zeros((n, m))
        present = np.flatnonzero(codes >= 0)
        dummies[present, codes[present]] = 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(shares > 0, 1.0 / np.sqrt(shares), 0.0)
        blocks.append((dummies - shares) * scale)
    return np.hstack(blocks) if blocks else np.zeros((n, 0))


def _embed(
    codes: np.ndarray, m: int, context: np.ndarray, max_dimensions: int, shrinkage: float
) -> tuple[np.ndarray, np.ndarray]:
    """Steps 2-3 of the module docstring: ``(embedding (m, d), variances (d,))``."""
    present = codes >= 0
    counts = np.bincount(codes[present], minlength=m).astype(np.float64)
    sums = np.zeros((m, context.shape[1]))
    np.add.at(sums, codes[present], context[present])
    means = sums / (counts + shrinkage)[:, None]
    weights = counts / max(counts.sum(), 1.0)
    centre = weights @ means
    scaled = (means - centre) * np.sqrt(weights)[:, None]
    _, singular, vt = np.linalg.svd(scaled, full_matrices=False)
    variances = singular**2
    top = variances[0] if variances.size else 0.0
    rank = int(np.sum(variances > 1e-10 * max(top, np.finfo(float).tiny)))
    d = min(max_dimensions, m - 1, rank)
    vt = vt[:d]
    # sign convention of the projection: the largest loading of each axis is positive
    signs = np.sign(vt[np.arange(d), np.argmax(np.abs(vt), axis=1)])
    signs[signs == 0] = 1.0
    vt = vt * signs[:, None]
    return (means - centre) @ vt.T, variances[:d]
