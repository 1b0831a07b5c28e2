"""AvatarOpenDP: end-to-end ε-differentially private avatars (method.md §6.3).

``avatarize_open_dp(df, epsilon=…)`` spends ``ε`` in two parts (sequential composition):

- ``preprocess_budget_ratio · ε`` (default 30 %) on the bounds of the continuous columns,
  ``ε`` split evenly between them (:mod:`.binning`: a DP histogram of magnitudes, OpenDP's
  discrete Laplace). No bound is read from the data without budget. Each continuous column
  is then cut into ``n_bins`` equal-width bins between its DP bounds; a column with missing
  values gets one more bin for "missing". A table without continuous columns spends the
  whole ``ε`` on the synthesizer.
- the rest on MST (:mod:`.mst`): noisy one-way marginals, a DP choice of a tree of pairs,
  noisy two-way marginals, all released with OpenDP's mechanisms.

Then, post-processing only (no budget): the tree model is fitted to the noisy marginals,
``n`` records are drawn from it (``n`` = the original's rows), each bin becomes a value drawn
uniformly in it, and the table is given the original's look (types, rounding, missing values).
Missing values are a modality of their column, so no imputation is needed; with
``imputation.return_data_imputed`` the synthetic missing values are imputed among the
synthetic rows themselves (post-processing).

Treated as public — outside the guarantee and listed as such in the accounting: the table's
schema (column names and types, which columns have missing values, the number of decimals of
float columns), the labels of categorical columns (declare them with ``categories`` when they
come from a public code book; otherwise they are read from the data and appear as they are),
constant and all-missing columns (copied as they are), excluded variables (copied from the
originals), and the number of rows.

Randomness: the DP noise comes from OpenDP's cryptographically secure generator, which cannot
be seeded by design (a seeded generator would let anyone who knows the seed remove the noise):
two runs with the same seed give different avatars. ``seed`` drives the post-processing (the
draws from the model, the values within bins, the shuffle), so the statistical properties
are what the tests check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from avatars import __version__
from avatars.engine.common import ProgressCallback, Steps
from avatars.engine.dp.accounting import BudgetStep, PrivacyAccounting, note_copied_columns
from avatars.engine.dp.binning import Bins, equal_width_bins, private_bounds
from avatars.engine.dp.common import (
    METRICS_PAIRING,
    DPAugmentation,
    DPAvatarizationResult,
    attach_excluded,
    augment,
    check_epsilon,
    check_int,
    check_ratio,
    unit_of_privacy,
)
from avatars.engine.dp.mst import MSTModel, fit_mst
from avatars.engine.dp.opendp_mechanisms import import_opendp
from avatars.engine.dp.tables import ReportProjection, TablePlan, plan_table
from avatars.engine.errors import InvalidDataError, InvalidParameterError
from avatars.engine.imputation import ImputationParameters, impute
from avatars.engine.preprocessing import EncodedTable, TableEncoder, check_columns_exist
from avatars.engine.schema import ColumnType, infer_column_type
from avatars.protocol.enums import ExcludeVariablesMethod

DEFAULT_PREPROCESS_BUDGET_RATIO = 0.3
#: Bins of a continuous column (SmartNoise-Synth's default for its binned synthesizers).
DEFAULT_N_BINS = 10


def avatarize_open_dp(
    df: pd.DataFrame,
    *,
    epsilon: float,
    preprocess_budget_ratio: float = DEFAULT_PREPROCESS_BUDGET_RATIO,
    seed: int | None = None,
    column_types: Mapping[str, str | ColumnType] | None = None,
    categories: Mapping[str, Sequence[object]] | None = None,
    n_bins: int = DEFAULT_N_BINS,
    imputation: ImputationParameters | Mapping[str, Any] | None = None,
    exclude_variables: Sequence[str] | None = None,
    exclude_method: str | ExcludeVariablesMethod = ExcludeVariablesMethod.ROW_ORDER,
    data_augmentation: DPAugmentation | Mapping[str, Any] | None = None,
    ncp: int | None = None,
    column_weights: Mapping[str, float] | None = None,
    rows_per_individual: int = 1,
    unit: str | None = None,
    progress: ProgressCallback | None = None,
) -> DPAvatarizationResult:
    """ε-differentially private avatars of ``df`` (see the module docstring).

    Parameters
    ----------
    epsilon
        The privacy budget, in ``(0, 1000]``: smaller is more private and less faithful.
    preprocess_budget_ratio
        Share of ``epsilon`` in ``(0, 1)`` spent on the bounds of continuous columns.
    seed
        Drives the post-processing (draws from the model, shuffle); the DP noise is never
        seeded (see the module docstring). Drawn and reported when None.
    column_types
        Type overrides, as for :func:`~avatars.engine.avatarize`.
    categories
        ``{column: labels}``: the public label set of categorical columns (a code book).
        Labels of other categorical columns are read from the data (not covered by ε).
    n_bins
        Bins of each continuous column, in ``[2, 1000]``.
    imputation
        Only ``return_data_imputed`` (and the method used for it) applies: missing values are
        a modality of their column, imputed afterwards among the synthetic rows if asked.
    exclude_variables, exclude_method
        Columns copied from the originals (NOT covered by ε: the run is then not end-to-end
        DP): ``row_order`` (draw ``i`` gets original ``i``'s value) or
        ``coordinate_similarity`` (the nearest original in the originals' projection).
    data_augmentation
        ``{augmentation_strategy, target_column}``: more draws from the model
        (:class:`~avatars.engine.dp.common.DPAugmentation`).
    ncp, column_weights
        Of the originals' projection used by the figures and ``coordinate_similarity``
        (MST itself has no projection).
    rows_per_individual
        The guarantee is for one individual holding at most this many rows (1: one row is
        one individual); the noise grows with it. The caller must ensure the bound.
    unit
        Words for the unit of privacy in the accounting (default from
        ``rows_per_individual``), e.g. "one patient and all their visits".
    progress
        Called as ``progress(fraction, phase)``.
    """
    steps = Steps(progress)
    request = _check_request(
        df,
        epsilon=epsilon,
        preprocess_budget_ratio=preprocess_budget_ratio,
        seed=seed,
        column_types=column_types,
        categories=categories,
        n_bins=n_bins,
        imputation=imputation,
        exclude_variables=exclude_variables,
        exclude_method=exclude_method,
        data_augmentation=data_augmentation,
        column_weights=column_weights,
        rows_per_individual=rows_per_individual,
    )
    import_opendp()  # fail early with the extra's name if OpenDP is missing
    plan = request.plan
    rng_sample, rng_impute, rng_report, rng_shuffle = (
        np.random.default_rng(s) for s in np.random.SeedSequence(plan.seed).spawn(4)
    )
    data = plan.modelled(df)
    with steps.step(0.0, "preprocessing", "preprocessing"):
        encoder = _fit_encoder(data, plan, request.categories)
        encoded = encoder.encode(data)
        continuous_eps = request.epsilon_preprocessing / max(1, len(encoder.continuous_columns))
        column_bins: dict[str, Bins] = {}
        bounds_note: dict[str, dict[str, float]] = {}
        for j, column in enumerate(encoder.continuous_columns):
            bounds = private_bounds(encoded.continuous[:, j], continuous_eps, rows_per_individual)
            integer = encoder.column_types[column] == ColumnType.INT
            column_bins[column] = equal_width_bins(bounds.low, bounds.high, n_bins, integer)
            bounds_note[column] = {
                "low": bounds.low,
                "high": bounds.high,
                "epsilon": bounds.epsilon,
                "n_bins": column_bins[column].n_bins,
            }
        layout = _Layout.build(encoder, column_bins)
        codes = layout.codes(encoded)
    with steps.step(0.2, "synthesizer", "synthesizer"):
        epsilon_preprocessing = sum(b["epsilon"] for b in bounds_note.values())
        model = fit_mst(
            codes, layout.sizes, request.epsilon - epsilon_preprocessing, rows_per_individual
        )
    with steps.step(0.6, "sampling", "sampling"):

        def draw(n_rows: int) -> pd.DataFrame:
            return layout.decode(
                model.sample(n_rows, rng_sample), encoder, plan.imputation, rng_impute
            )

        base = draw(len(df))
        extra, augmentation_note = (
            augment(base, draw, request.augmentation)
            if request.augmentation is not None
            else (base.iloc[:0], None)
        )
    with steps.step(0.8, "formatting", "formatting"):
        report = ReportProjection.fit(data, encoder, plan, ncp, rng_report)
        synthetic = pd.concat([base, extra], ignore_index=True)
        coordinates = report.coordinates(synthetic, rng_report)
        if plan.exclude:
            synthetic = attach_excluded(
                synthetic,
                df,
                plan.exclude,
                plan.exclude_method,
                report.original_coordinates,
                coordinates,
            )
        for entry in plan.passed_through:  # as they are: see pass_through_reason
            column = entry["column"]
            synthetic[column] = _repeat(df[column], len(synthetic))
        synthetic = synthetic[list(df.columns)]
        unshuffled = synthetic.iloc[: len(df)].reset_index(drop=True)
        shuffled = synthetic.iloc[rng_shuffle.permutation(len(synthetic))].reset_index(drop=True)
    accounting = _accounting(request, plan, bounds_note, model, encoder, rows_per_individual, unit)
    timings = steps.seconds()
    steps.report(1.0, "done")
    metadata = _metadata(
        df, request, plan, n_bins, report.ncp, encoder, bounds_note, layout, model,
        augmentation_note, accounting, timings, len(shuffled),
    )  # fmt: skip
    return DPAvatarizationResult(
        shuffled=shuffled,
        unshuffled=unshuffled,
        original_coordinates=report.projection.coordinates_frame(report.original_coordinates),
        avatar_coordinates=report.projection.coordinates_frame(coordinates[: len(df)]),
        metadata=metadata,
        contributions=report.projection.contributions(report.ncp),
        accounting=accounting,
    )


@dataclass
class _Request:
    plan: TablePlan
    epsilon: float
    preprocess_budget_ratio: float
    categories: dict[str, pd.Index]
    augmentation: DPAugmentation | None
    has_continuous: bool

    @property
    def epsilon_preprocessing(self) -> float:
        """Nothing to bound in a table without continuous columns: all ε to MST."""
        return self.epsilon * self.preprocess_budget_ratio if self.has_continuous else 0.0


def _check_request(
    df: pd.DataFrame,
    *,
    epsilon: object,
    preprocess_budget_ratio: object,
    seed: int | None,
    column_types: Mapping[str, str | ColumnType] | None,
    categories: Mapping[str, Sequence[object]] | None,
    n_bins: object,
    imputation: ImputationParameters | Mapping[str, Any] | None,
    exclude_variables: Sequence[str] | None,
    exclude_method: str | ExcludeVariablesMethod,
    data_augmentation: DPAugmentation | Mapping[str, Any] | None,
    column_weights: Mapping[str, float] | None,
    rows_per_individual: object,
) -> _Request:
    checked_epsilon = check_epsilon(epsilon)
    ratio = check_ratio("preprocess_budget_ratio", preprocess_budget_ratio, 0.0, 1.0)
    check_int("n_bins", n_bins, 2, 1000)
    check_int("rows_per_individual", rows_per_individual, 1, 1_000_000)
    plan = plan_table(
        df,
        seed=seed,
        column_types=column_types,
        column_weights=column_weights,
        imputation=imputation,
        exclude_variables=exclude_variables,
        exclude_method=exclude_method,
    )
    declared: dict[str, pd.Index] = {}
    for column, labels in (categories or {}).items():
        check_columns_exist("categories", [column], df)
        if column in plan.left_out:
            raise InvalidParameterError(
                "categories", f"column '{column}' is excluded or passed through"
            )
        index = pd.Index(list(labels), dtype=object)
        if index.empty or index.has_duplicates:
            raise InvalidParameterError(
                "categories", f"the labels of column '{column}' must be distinct and non-empty"
            )
        unknown = df[column].dropna()[~df[column].dropna().isin(index)]
        if len(unknown):
            raise InvalidDataError(
                f"holds {unknown.iloc[0]!r}, which is not among its declared categories",
                column=column,
            )
        declared[column] = index
    augmentation = DPAugmentation.parse(data_augmentation)
    if augmentation is not None and augmentation.target_column is not None:
        check_columns_exist("data_augmentation.target_column", [augmentation.target_column], df)
    data = plan.modelled(df)
    types = {c: plan.column_types.get(c) for c in data.columns}
    has_continuous = any(
        (t.is_continuous if t is not None else _inferred_continuous(data[c]))
        for c, t in types.items()
    )
    return _Request(plan, checked_epsilon, ratio, declared, augmentation, has_continuous)


def _inferred_continuous(series: pd.Series) -> bool:
    return infer_column_type(series).is_continuous


def _fit_encoder(
    data: pd.DataFrame, plan: TablePlan, categories: dict[str, pd.Index]
) -> TableEncoder:
    encoder = TableEncoder.fit(data, plan.column_types)
    for column, labels in categories.items():
        if column not in encoder.categorical_columns:
            raise InvalidParameterError(
                "categories",
                f"column '{column}' is typed {encoder.column_types[column].value}; categories "
                "apply to categorical (category, bool) columns",
            )
        encoder.categories[column] = labels
    return encoder


@dataclass
class _Layout:
    """Every modelled column as codes ``0 … size−1`` for MST: categories or bins, then one
    code for "missing" when the column has missing values."""

    columns: list[str]
    sizes: list[int]
    bins: dict[str, Bins]
    continuous: list[str]
    categorical: list[str]
    with_missing: set[str]

    @classmethod
    def build(cls, encoder: TableEncoder, bins: dict[str, Bins]) -> _Layout:
        missing = set(encoder.missing_columns)
        columns, sizes = [], []
        for column in encoder.continuous_columns:
            columns.append(column)
            sizes.append(bins[column].n_bins + (column in missing))
        for column in encoder.categorical_columns:
            columns.append(column)
            sizes.append(len(encoder.categories[column]) + (column in missing))
        return cls(
            columns,
            sizes,
            bins,
            list(encoder.continuous_columns),
            list(encoder.categorical_columns),
            missing,
        )

    def codes(self, encoded: EncodedTable) -> np.ndarray:
        out = np.empty((encoded.n_rows, len(self.columns)), dtype=np.int64)
        for j, column in enumerate(self.continuous):
            assigned = self.bins[column].assign(encoded.continuous[:, j])
            out[:, j] = np.where(assigned < 0, self.sizes[j] - 1, assigned)
        offset = len(self.continuous)
        for j in range(len(self.categorical)):
            values = encoded.codes[:, j]
            out[:, offset + j] = np.where(values < 0, self.sizes[offset + j] - 1, values)
        return out

    def decode(
        self,
        draws: np.ndarray,
        encoder: TableEncoder,
        imputation: ImputationParameters,
        rng: np.random.Generator,
    ) -> pd.DataFrame:
        """Codes drawn from the model → a table like the original (post-processing)."""
        n = draws.shape[0]
        continuous = np.empty((n, len(self.continuous)))
        categorical = np.empty((n, len(self.categorical)), dtype=np.int32)
        missing = {}
        for j, column in enumerate(self.continuous):
            is_missing = (draws[:, j] == self.bins[column].n_bins) & (column in self.with_missing)
            in_bin = np.where(is_missing, 0, draws[:, j])
            continuous[:, j] = np.where(is_missing, np.nan, self.bins[column].sample(in_bin, rng))
            missing[column] = is_missing
        offset = len(self.continuous)
        for j, column in enumerate(self.categorical):
            size = len(encoder.categories[column])
            values = draws[:, offset + j]
            is_missing = (values == size) & (column in self.with_missing)
            categorical[:, j] = np.where(is_missing, -1, values)
            missing[column] = is_missing
        indicators = (
            np.column_stack([missing[c].astype(np.int32) for c in encoder.missing_columns])
            if encoder.missing_columns
            else np.empty((n, 0), dtype=np.int32)
        )
        table = EncodedTable(
            continuous,
            np.hstack([categorical, indicators]).astype(np.int32),
            list(encoder.continuous_columns),
            encoder.all_categorical_names,
        )
        if imputation.return_data_imputed:  # among the synthetic rows: post-processing
            table, _ = impute(table, imputation, rng, encoder.n_modalities())
        else:  # placeholders, replaced by missing values when decoding
            for j, column in enumerate(self.continuous):
                table.continuous[missing[column], j] = self.bins[column].edges[0]
            table.codes[table.codes < 0] = 0
        return encoder.decode(
            table.continuous,
            np.hstack([table.codes[:, : len(self.categorical)], indicators]),
            reinsert_missing=not imputation.return_data_imputed,
        )


def _repeat(series: pd.Series, n_rows: int) -> pd.Series:
    """A passed-through column (constant or all missing) at ``n_rows`` rows."""
    return series.iloc[np.arange(n_rows) % len(series)].reset_index(drop=True)


def _accounting(
    request: _Request,
    plan: TablePlan,
    bounds: dict[str, dict[str, float]],
    model: MSTModel,
    encoder: TableEncoder,
    rows_per_individual: int,
    unit: str | None,
) -> PrivacyAccounting:
    bounds_eps = sum(b["epsilon"] for b in bounds.values())
    steps = []
    if bounds:
        steps.append(
            BudgetStep(
                "bounds",
                f"DP bounds of {len(bounds)} continuous column(s), then "
                "equal-width bins between them",
                covered=True,
                epsilon=bounds_eps,
                mechanism="histogram of magnitudes with discrete Laplace noise (OpenDP)",
            )
        )
    for name, description, mechanism in [
        (
            "one_way_marginals",
            "the count of every value (or bin) of every column",
            "discrete Laplace (OpenDP)",
        ),
        (
            "selection",
            "the tree of pairs of columns whose joint distribution is kept",
            "report-noisy-max (OpenDP)",
        ),
        ("two_way_marginals", "the counts of the selected pairs", "discrete Laplace (OpenDP)"),
    ]:
        steps.append(
            BudgetStep(name, description, True, model.epsilon_spent.get(name, 0.0), mechanism)
        )
    steps.append(
        BudgetStep(
            "sampling",
            "fitting the tree model to the noisy counts and drawing the avatars from it",
            covered=True,
        )
    )
    not_covered = [
        "the schema (column names and types, which columns have missing values, the number "
        "of decimals of float columns)",
        "the number of rows",
    ]
    read_labels = [
        c
        for c in encoder.categorical_columns
        if c not in request.categories and encoder.column_types[c] != ColumnType.BOOL
    ]
    if read_labels:
        not_covered.append(
            "the labels of categorical column(s) "
            + ", ".join(map(repr, read_labels))
            + ", read from the data (declare them with categories to cover them)"
        )
    note_copied_columns(
        steps,
        not_covered,
        passed_through=[str(p["column"]) for p in plan.passed_through],
        excluded=plan.exclude,
        exclude_method=plan.exclude_method.value,
    )
    if request.augmentation is not None:
        steps.append(BudgetStep("augmentation", "more draws from the model", covered=True))
    return PrivacyAccounting(
        variant="open_dp",
        epsilon=request.epsilon,
        end_to_end=not plan.exclude,
        unit_of_privacy=unit_of_privacy(rows_per_individual, unit),
        rows_per_individual=rows_per_individual,
        noise_source="OpenDP's cryptographically secure generator (not seedable by design)",
        steps=steps,
        not_covered=not_covered,
    )


def _metadata(
    df: pd.DataFrame,
    request: _Request,
    plan: TablePlan,
    n_bins: int,
    ncp: int,
    encoder: TableEncoder,
    bounds_note: dict[str, dict[str, float]],
    layout: _Layout,
    model: MSTModel,
    augmentation_note: dict[str, Any] | None,
    accounting: PrivacyAccounting,
    timings: dict[str, float],
    n_avatars: int,
) -> dict[str, Any]:
    """The run's metadata: parameters as used, DP bounds, the MST tree, the accounting."""
    return {
        "engine": "avatars",
        "engine_version": __version__,
        "method": "avatar_open_dp",
        "n_rows": len(df),
        "n_columns": df.shape[1],
        "n_avatars": n_avatars,
        "parameters": {
            "epsilon": request.epsilon,
            "preprocess_budget_ratio": request.preprocess_budget_ratio,
            "n_bins": n_bins,
            "seed": plan.seed,
            "ncp": ncp,
            "column_weights": plan.column_weights,
            "categories_declared": sorted(request.categories),
            "imputation": {
                "method": plan.imputation.method.value,
                "return_data_imputed": plan.imputation.return_data_imputed,
            },
            "exclude_variables": plan.exclude,
            "exclude_method": plan.exclude_method.value,
            "rows_per_individual": accounting.rows_per_individual,
        },
        "column_types": {c: t.value for c, t in encoder.column_types.items()},
        "passed_through": plan.passed_through,
        "dp_bounds": bounds_note,
        "mst_tree": [[layout.columns[a], layout.columns[b]] for a, b in model.edges],
        "data_augmentation": augmentation_note,
        "metrics_pairing": METRICS_PAIRING,
        "differential_privacy": accounting.to_dict(),
        "timings_seconds": timings,
    }
