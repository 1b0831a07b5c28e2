"""Per-table parameters of the YAML's parameter documents, with their ranges.

Ranges are checked here, where parameters enter (the server parsing a resource set, the SDK
building one, the CLI reading its options), so that a bad value gets the same message
everywhere and before any work: ``k`` must be an integer ≥ 2, and so on. What can only be
checked against the data (``k`` below the number of rows, column names) is the engine's.

| parameter                         | range                                  | default            |
|-----------------------------------|----------------------------------------|--------------------|
| ``k``                             | integer ≥ 2 (and < rows, checked later)| required           |
| ``ncp``                           | integer ≥ 1                            | 5                  |
| ``column_weights``                | number > 0 per column                  | 1                  |
| ``imputation.k``                  | integer ≥ 1                            | 5                  |
| ``imputation.training_fraction``  | number in (0, 1]                       | all rows           |
| ``epsilon`` (DP)                  | number in (0, 1000]                    | required           |
| ``rows_per_individual`` (DP)      | integer in [1, 10000]                  | 1                  |
| ``preprocess_budget_ratio``       | number in (0, 1)                       | 0.3                |
| ``gmm_n_components``              | integer in [1, 100]                    | 5                  |
| ``histogram_n_bins``              | integer in [2, 1000]                   | 10                 |
| ``bounds_percentile``             | number in [0, 50)                      | 5.0                |
| ``quantile_threshold``            | integer in [0, 100]                    | 5                  |
| ``time_series.projection.nf``     | integer ≥ 1                            | 5                  |
| ``time_series.alignment.nb_points``| integer ≥ 2                           | from the method    |
| augmentation multiplier           | number > 1                             |                    |
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from avatars.protocol.enums import (
    AlignmentMethod,
    AugmentationStrategy,
    ExcludeVariablesMethod,
    FastDPMechanism,
    ImputeMethod,
    ProjectionType,
    ResultFormat,
    UnalignmentMethod,
)

__all__ = [
    "AvatarizationFastDPParameters",
    "AvatarizationOpenDPParameters",
    "AvatarizationParameters",
    "DataAugmentation",
    "ExcludeVariables",
    "Imputation",
    "InterRecordRangeDifferenceParameters",
    "PrivacyMetricsParameters",
    "ProcessorParameters",
    "RelativeDifferenceParameters",
    "ResultsSpec",
    "SignalMetricsParameters",
    "TimeSeriesAlignment",
    "TimeSeriesParameters",
    "TimeSeriesProjection",
]

MIN_K = 2
MAX_EPSILON = 1000.0


class _Spec(BaseModel):
    # Unknown fields are kept: a newer client's additions survive a round trip.
    model_config = ConfigDict(extra="allow", populate_by_name=True)


PositiveInt = Annotated[int, Field(ge=1, strict=True)]
ColumnWeights = dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]]


class Imputation(_Spec):
    method: ImputeMethod | None = None
    k: PositiveInt | None = None
    training_fraction: Annotated[float, Field(gt=0, le=1)] | None = None
    return_data_imputed: bool | None = None


class ExcludeVariables(_Spec):
    """Columns kept out of the avatarization and re-attached afterwards.

    The official client always writes ``replacement_strategy`` (``row_order`` by default), so a
    ``row_order`` there may be nobody's choice. ``explicit_replacement_strategy: true`` (written
    by this platform's SDK when the caller names ``row_order``) says it was chosen: only then may
    an identifier column get its original values back by row order (reported as a warning).
    ``coordinate_similarity`` is never a default, so it is a choice without the marker.
    """

    variable_names: list[str] = Field(default_factory=list)
    replacement_strategy: ExcludeVariablesMethod | None = None
    explicit_replacement_strategy: bool | None = None


class DataAugmentation(_Spec):
    """More avatars than originals (method.md §6.4): a multiplier of the table, ``minority``,
    ``not_majority``, or ``{modality: ratio}`` on ``target_column``."""

    augmentation_strategy: float | AugmentationStrategy | dict[str, float]
    target_column: str | None = None
    should_anonymize_original_table: bool | None = True
    exclude_variables: ExcludeVariables | None = None

    @field_validator("augmentation_strategy", mode="before")
    @classmethod
    def _strategy(cls, value: Any) -> Any:
        """One message for the three accepted forms (rather than one per form)."""
        expected = "expected a multiplier > 1, 'minority', 'not_majority' or {modality: ratio}"
        if isinstance(value, bool):
            raise ValueError(f"{expected}, got {value!r}")
        if isinstance(value, int | float):
            if not math.isfinite(value) or value <= 1:
                raise ValueError(f"a multiplier must be a number > 1, got {value}")
            return float(value)
        if isinstance(value, str):
            try:
                return AugmentationStrategy(value)
            except ValueError:
                raise ValueError(f"{expected}, got {value!r}") from None
        if isinstance(value, dict):
            ratios = {}
            for modality, ratio in value.items():
                valid = isinstance(ratio, int | float) and not isinstance(ratio, bool)
                if not valid or not math.isfinite(ratio) or ratio <= 0:
                    raise ValueError(
                        f"the ratio of modality {modality!r} must be > 0, got {ratio!r}"
                    )
                ratios[str(modality)] = float(ratio)
            return ratios
        raise ValueError(f"{expected}, got {value!r}")

    @model_validator(mode="after")
    def _target(self) -> DataAugmentation:
        needs_target = not isinstance(self.augmentation_strategy, float | int)
        if needs_target and not self.target_column:
            raise ValueError(
                "target_column is required with a minority, not_majority or per-modality strategy"
            )
        return self


class InterRecordRangeDifferenceParameters(_Spec):
    """Server-side processor: start/end columns of an individual's successive records kept
    consistent (records sorted by the start)."""

    id_variable: str
    target_start_variable: str
    target_end_variable: str

    @model_validator(mode="after")
    def _different(self) -> InterRecordRangeDifferenceParameters:
        if self.target_start_variable == self.target_end_variable:
            raise ValueError("target_start_variable and target_end_variable must be different")
        return self


class RelativeDifferenceParameters(_Spec):
    """Server-side processor: ``target`` expressed relative to the sum of ``references``."""

    target: str
    references: Annotated[list[str], Field(min_length=1)]
    scaling_unit: PositiveInt | None = None


ProcessorParameters = InterRecordRangeDifferenceParameters | RelativeDifferenceParameters


def _parse_processor(value: Any) -> Any:
    """The client writes processors without a type tag: tell them apart by their fields."""
    if not isinstance(value, dict):
        return value
    if "id_variable" in value or "target_start_variable" in value:
        return InterRecordRangeDifferenceParameters.model_validate(value)
    if "references" in value or "target" in value:
        return RelativeDifferenceParameters.model_validate(value)
    raise ValueError(
        "a processor is either {id_variable, target_start_variable, target_end_variable} "
        "(InterRecordRangeDifferenceParameters) or {target, references, scaling_unit} "
        f"(RelativeDifferenceParameters); got fields {sorted(value)}"
    )


class _CommonAvatarization(_Spec):
    ncp: PositiveInt | None = None
    use_categorical_reduction: bool | None = None
    column_weights: ColumnWeights | None = None
    exclude_variables: ExcludeVariables | None = None
    imputation: Imputation | None = None
    data_augmentation: DataAugmentation | None = None
    avatarization_processors_parameters: list[ProcessorParameters] | None = None

    @field_validator("avatarization_processors_parameters", mode="before")
    @classmethod
    def _processors(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [_parse_processor(item) for item in value]
        return value


class AvatarizationParameters(_CommonAvatarization):
    k: Annotated[int, Field(ge=MIN_K, strict=True)]


def epsilon_problem(value: object) -> str | None:
    """Why ``value`` is not a privacy budget ε, or ``None`` when it is one: a finite number in
    ``(0, 1000]``. The engine (``avatars.engine.dp.check_epsilon``) says it in the same words,
    so the server, the SDK and the CLI refuse a bad ε alike."""
    number = (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    )
    if math.isfinite(number) and 0 < number <= MAX_EPSILON:
        return None
    return (
        f"expected a number in (0, {MAX_EPSILON:g}] (smaller is more private; ε ≤ 0 offers "
        f"nothing to spend, ε > {MAX_EPSILON:g} no privacy), got {value!r}"
    )


class _DifferentialPrivacy(_CommonAvatarization):
    epsilon: float
    #: This platform's extension: the most rows one individual holds in the table (a patient's
    #: several stays, say). The unit of privacy is then the individual with all their rows, and
    #: the noise grows with it. Declared by the user, not checked: the table names no
    #: individual. Unset: one row per individual.
    rows_per_individual: Annotated[int, Field(ge=1, le=10_000, strict=True)] | None = None

    @field_validator("epsilon", mode="before")
    @classmethod
    def _epsilon(cls, value: Any) -> Any:
        problem = epsilon_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class AvatarizationOpenDPParameters(_DifferentialPrivacy):
    """End-to-end ε-differentially private avatarization (method.md §6.3)."""

    preprocess_budget_ratio: Annotated[float, Field(gt=0, lt=1)] | None = None


class AvatarizationFastDPParameters(_DifferentialPrivacy):
    """Latent-space DP (not end-to-end, method.md §6.3)."""

    mechanism: FastDPMechanism | None = None
    gmm_n_components: Annotated[int, Field(ge=1, le=100, strict=True)] | None = None
    histogram_n_bins: Annotated[int, Field(ge=2, le=1000, strict=True)] | None = None
    bounds_percentile: Annotated[float, Field(ge=0, lt=50)] | None = None


class TimeSeriesProjection(_Spec):
    projection_type: ProjectionType | None = None
    nf: PositiveInt | None = None


class TimeSeriesAlignment(_Spec):
    nb_points: Annotated[int, Field(ge=2, strict=True)] | None = None
    method: AlignmentMethod | None = None
    unalignment: UnalignmentMethod | None = None

    @model_validator(mode="after")
    def _specified(self) -> TimeSeriesAlignment:
        if self.method == AlignmentMethod.SPECIFIED and self.nb_points is None:
            raise ValueError("nb_points is required with the 'specified' alignment method")
        return self


class TimeSeriesParameters(_Spec):
    projection: TimeSeriesProjection | None = None
    alignment: TimeSeriesAlignment | None = None
    exclude_variables: ExcludeVariables | None = None


class PrivacyMetricsParameters(_Spec):
    ncp: PositiveInt | None = None
    use_categorical_reduction: bool | None = None
    known_variables: list[str] | None = None
    target: str | None = None
    quantile_threshold: Annotated[int, Field(ge=0, le=100)] | None = None
    imputation: Imputation | None = None
    exclude_variables: ExcludeVariables | None = None
    column_weights: ColumnWeights | None = None

    @model_validator(mode="after")
    def _target_not_known(self) -> PrivacyMetricsParameters:
        if self.target is not None and self.target in (self.known_variables or []):
            raise ValueError(f"target {self.target!r} must not be one of the known_variables")
        return self


class SignalMetricsParameters(_Spec):
    ncp: PositiveInt | None = None
    use_categorical_reduction: bool | None = None
    imputation: Imputation | None = None
    column_weights: ColumnWeights | None = None
    exclude_variables: ExcludeVariables | None = None


class ResultsSpec(_Spec):
    """Where and how a job writes its results."""

    volume: str | None = None
    path: str | None = None
    format: ResultFormat | None = None
    name_template: str | None = None
    max_distribution_plots: Annotated[int, Field(ge=0)] | None = None
