"""AvatarFastDP: latent-space differential privacy — NOT end-to-end (method.md §6.3).

``avatarize_fast_dp(df, epsilon=…)``:

1. prepare and project the table exactly as :func:`~avatars.engine.avatarize` does
   (typing, imputation, missingness indicators, FAMD/PCA/MCA fitted on the data) and keep
   the first ``ncp`` coordinates of every record — **no noise: outside the guarantee**;
2. clip each kept coordinate to its ``[p, 100 − p]`` percentiles (``p = bounds_percentile``;
   ``0``: the minimum and maximum) and rescale the box to ``[−1, 1]^ncp`` — **the percentiles
   are read from the data: outside the guarantee**;
3. release a model of the clipped points (:mod:`.latent`: ``gaussian``, ``gmm`` or
   ``histogram``) and, when the table has continuous columns, a histogram of each
   (:class:`DPMarginals`), ``ε/2`` each (all of ``ε`` to the model without continuous
   columns) — **ε-DP given steps 1-2**;
4. draw ``n`` latent points from it;
5. map the points back to the variables through the projection. Continuous variables: the
   remaining axes get independent normal coordinates with their own variance (the
   projection's eigenvalues, step 1) so that they keep the variability ``ncp`` axes do not
   carry, then the exact inverse of the full projection, clipped to the original column's
   range (read from the data: outside the guarantee), then mapped by rank onto the
   released histogram of their column (the latent model's ranks, the released
   distribution). Categorical variables (missingness
   indicators included): the inverse of the ``ncp`` released axes gives a score per
   modality; the value is drawn with probabilities proportional to its positive part (as
   avatars draw from their neighbours' shares). Measured on WBCD and AIDS, the extra axes
   help continuous variables (mean Hellinger 0.088 → 0.066 on AIDS) and harm categorical
   ones (0.054 → 0.14 on WBCD), hence the split.

The DP statement of step 3 holds for the released model *given* the projection, the box
and the ranges; these are computed from every record without noise, so one record can
change them: the avatars as a whole are not differentially private, and the accounting,
the metadata and the report say so.

One ``seed`` drives everything (imputation, noise, draws, shuffle): a run is reproducible
byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from avatars import __version__
from avatars.engine.avatarization import DEFAULT_NCP
from avatars.engine.common import ProgressCallback, Steps
from avatars.engine.dp.accounting import BudgetStep, PrivacyAccounting, note_copied_columns
from avatars.engine.dp.common import (
    METRICS_PAIRING,
    DPAugmentation,
    DPAvatarizationResult,
    attach_excluded,
    augment,
    check_epsilon,
    check_int,
    unit_of_privacy,
)
from avatars.engine.dp.latent import LatentModel, fit_latent
from avatars.engine.dp.tables import TablePlan, plan_table
from avatars.engine.errors import InvalidParameterError
from avatars.engine.imputation import ImputationParameters, impute
from avatars.engine.preprocessing import EncodedTable, TableEncoder, check_columns_exist
from avatars.engine.projection import Projection
from avatars.engine.schema import ColumnType
from avatars.protocol.enums import ExcludeVariablesMethod, FastDPMechanism, ImputeMethod

DEFAULT_MECHANISM = FastDPMechanism.GAUSSIAN
DEFAULT_GMM_N_COMPONENTS = 5
DEFAULT_HISTOGRAM_N_BINS = 10
DEFAULT_BOUNDS_PERCENTILE = 5.0


def avatarize_fast_dp(
    df: pd.DataFrame,
    *,
    epsilon: float,
    mechanism: str | FastDPMechanism = DEFAULT_MECHANISM,
    gmm_n_components: int = DEFAULT_GMM_N_COMPONENTS,
    histogram_n_bins: int = DEFAULT_HISTOGRAM_N_BINS,
    bounds_percentile: float = DEFAULT_BOUNDS_PERCENTILE,
    ncp: int | None = None,
    seed: int | None = None,
    column_types: Mapping[str, str | ColumnType] | None = None,
    column_weights: Mapping[str, float] | None = None,
    imputation: ImputationParameters | Mapping[str, Any] | None = None,
    exclude_variables: Sequence[str] | None = None,
    exclude_method: str | ExcludeVariablesMethod = ExcludeVariablesMethod.ROW_ORDER,
    data_augmentation: DPAugmentation | Mapping[str, Any] | None = None,
    rows_per_individual: int = 1,
    unit: str | None = None,
    progress: ProgressCallback | None = None,
) -> DPAvatarizationResult:
    """Avatars drawn from a DP model of the projected records (see the module docstring).

    Parameters
    ----------
    epsilon
        Budget of the latent model, in ``(0, 1000]``.
    mechanism
        ``gaussian`` (default), ``gmm`` or ``histogram`` (:mod:`avatars.engine.dp.latent`).
    gmm_n_components
        Components of ``gmm``, in ``[1, 100]``.
    histogram_n_bins
        Bins per dimension of ``histogram``, in ``[2, 1000]``.
    bounds_percentile
        ``p`` in ``[0, 50)``: each latent coordinate is clipped to its ``[p, 100 − p]``
        percentiles before the release.
    ncp
        Latent dimensions released by the mechanism, ``1 ≤ ncp ≤`` rank; default 5.
    seed, column_types, column_weights, imputation, exclude_variables, exclude_method
        As for :func:`~avatars.engine.avatarize` (``coordinate_similarity`` uses the
        projected coordinates).
    data_augmentation
        ``{augmentation_strategy, target_column}``: more draws from the model.
    rows_per_individual, unit
        As for :func:`~avatars.engine.dp.avatarize_open_dp`.
    progress
        Called as ``progress(fraction, phase)``.
    """
    steps = Steps(progress)
    checked_epsilon = check_epsilon(epsilon)
    request = _check_request(
        df,
        mechanism=mechanism,
        gmm_n_components=gmm_n_components,
        histogram_n_bins=histogram_n_bins,
        bounds_percentile=bounds_percentile,
        seed=seed,
        column_types=column_types,
        column_weights=column_weights,
        imputation=imputation,
        exclude_variables=exclude_variables,
        exclude_method=exclude_method,
        data_augmentation=data_augmentation,
        rows_per_individual=rows_per_individual,
    )
    plan = request.plan
    rng_impute, rng_noise, rng_sample, rng_shuffle = (
        np.random.default_rng(s) for s in np.random.SeedSequence(plan.seed).spawn(4)
    )
    data = plan.modelled(df)
    with steps.step(0.0, "preprocessing", "preprocessing"):
        encoder = TableEncoder.fit(data, plan.column_types)
        n_modalities = encoder.n_modalities()
        prepared, imputation_report = impute(
            encoder.encode(data), plan.imputation, rng_impute, n_modalities
        )
    with steps.step(0.2, "projection", "projection"):
        projection = Projection.fit(prepared, n_modalities, plan.column_weights)
        ncp = projection.check_ncp(DEFAULT_NCP if ncp is None else ncp, default=ncp is None)
        coordinates = projection.transform(prepared, ncp)
        box = _Box.of(coordinates, request.bounds_percentile)
    with steps.step(0.4, "latent model", "latent_model"):
        budget = _Budget.split(checked_epsilon, len(projection.continuous_names))
        marginals = (
            DPMarginals.release(
                encoder.encode(data).continuous,
                budget.marginals,
                rng_noise,
                rows_per_individual=rows_per_individual,
            )
            if budget.marginals
            else None
        )
        model = fit_latent(
            box.scale(coordinates),
            request.mechanism,
            budget.latent,
            rng_noise,
            rows_per_individual=rows_per_individual,
            n_components=gmm_n_components,
            n_bins=histogram_n_bins,
        )
    with steps.step(0.6, "sampling", "sampling"):
        reconstruction = _Reconstruction(
            encoder, projection, ncp, prepared, plan.imputation, marginals
        )
        latent_draws: list[np.ndarray] = []

        def draw(n_rows: int) -> pd.DataFrame:
            table, latent = reconstruction.draw(model, box, n_rows, rng_sample)
            latent_draws.append(latent)
            return table

        base = draw(len(df))
        extra, augmentation_note = (
            augment(base, draw, request.augmentation)
            if request.augmentation is not None
            else (base.iloc[:0], None)
        )
    with steps.step(0.8, "formatting", "formatting"):
        synthetic = pd.concat([base, extra], ignore_index=True)
        latent_all = np.vstack(latent_draws)
        # the rows kept by the augmentation are a subset of the extra draws: re-project them
        synthetic_coordinates = (
            latent_all
            if len(latent_all) == len(synthetic)
            else reconstruction.coordinates(synthetic)
        )
        if plan.exclude:
            synthetic = attach_excluded(
                synthetic,
                df,
                plan.exclude,
                plan.exclude_method,
                coordinates,
                synthetic_coordinates,
            )
        for entry in plan.passed_through:
            column = entry["column"]
            synthetic[column] = df[column].iloc[np.arange(len(synthetic)) % len(df)].values
        synthetic = synthetic[list(df.columns)]
        unshuffled = synthetic.iloc[: len(df)].reset_index(drop=True)
        shuffled = synthetic.iloc[rng_shuffle.permutation(len(synthetic))].reset_index(drop=True)
    accounting = _accounting(request, plan, budget, rows_per_individual, unit)
    timings = steps.seconds()
    steps.report(1.0, "done")
    metadata = _metadata(
        df, request, plan, checked_epsilon, gmm_n_components, histogram_n_bins, ncp, encoder,
        imputation_report, projection, box, augmentation_note, accounting, timings,
        len(shuffled),
    )  # fmt: skip
    return DPAvatarizationResult(
        shuffled=shuffled,
        unshuffled=unshuffled,
        original_coordinates=projection.coordinates_frame(coordinates),
        avatar_coordinates=projection.coordinates_frame(synthetic_coordinates[: len(df)]),
        metadata=metadata,
        imputed_original=(
            encoder.decode(prepared.continuous, prepared.codes, reinsert_missing=False)
            if plan.imputation.return_data_imputed
            else None
        ),
        contributions=projection.contributions(ncp),
        accounting=accounting,
    )


@dataclass
class _Request:
    plan: TablePlan
    mechanism: FastDPMechanism
    bounds_percentile: float
    augmentation: DPAugmentation | None


def _check_request(
    df: pd.DataFrame,
    *,
    mechanism: object,
    gmm_n_components: object,
    histogram_n_bins: object,
    bounds_percentile: object,
    seed: int | None,
    column_types: Mapping[str, str | ColumnType] | None,
    column_weights: Mapping[str, float] | None,
    imputation: ImputationParameters | Mapping[str, Any] | None,
    exclude_variables: Sequence[str] | None,
    exclude_method: str | ExcludeVariablesMethod,
    data_augmentation: DPAugmentation | Mapping[str, Any] | None,
    rows_per_individual: object,
) -> _Request:
    try:
        checked_mechanism = FastDPMechanism(str(getattr(mechanism, "value", mechanism)))
    except ValueError:
        allowed = ", ".join(m.value for m in FastDPMechanism)
        raise InvalidParameterError(
            "mechanism", f"expected one of {allowed}, got {mechanism!r}"
        ) from None
    check_int("gmm_n_components", gmm_n_components, 1, 100)
    check_int("histogram_n_bins", histogram_n_bins, 2, 1000)
    check_int("rows_per_individual", rows_per_individual, 1, 1_000_000)
    valid = isinstance(bounds_percentile, int | float) and not isinstance(bounds_percentile, bool)
    percentile = float(bounds_percentile) if valid else float("nan")  # type: ignore[arg-type]
    if not 0 <= percentile < 50:
        raise InvalidParameterError(
            "bounds_percentile", f"expected a number in [0, 50), got {bounds_percentile!r}"
        )
    plan = plan_table(
        df,
        seed=seed,
        column_types=column_types,
        column_weights=column_weights,
        imputation=imputation,
        exclude_variables=exclude_variables,
        exclude_method=exclude_method,
    )
    augmentation = DPAugmentation.parse(data_augmentation)
    if augmentation is not None and augmentation.target_column is not None:
        check_columns_exist("data_augmentation.target_column", [augmentation.target_column], df)
    return _Request(plan, checked_mechanism, percentile, augmentation)


@dataclass
class _Box:
    """The clipping box of the latent coordinates and its map to ``[−1, 1]^D``."""

    low: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, coordinates: np.ndarray, percentile: float) -> _Box:
        low = np.percentile(coordinates, percentile, axis=0)
        high = np.percentile(coordinates, 100.0 - percentile, axis=0)
        # a degenerate axis (all records equal on it) gets a unit-width box
        flat = high - low <= 1e-12 * np.maximum(1.0, np.abs(low))
        return cls(np.where(flat, low - 0.5, low), np.where(flat, high + 0.5, high))

    def scale(self, coordinates: np.ndarray) -> np.ndarray:
        clipped = np.clip(coordinates, self.low, self.high)
        return 2.0 * (clipped - self.low) / (self.high - self.low) - 1.0

    def unscale(self, points: np.ndarray) -> np.ndarray:
        return self.low + (points + 1.0) / 2.0 * (self.high - self.low)


@dataclass
class _Reconstruction:
    """From latent points back to tables like the original (steps 4-5 of the module)."""

    encoder: TableEncoder
    projection: Projection
    ncp: int
    prepared: EncodedTable
    imputation: ImputationParameters
    marginals: DPMarginals | None = None

    def __post_init__(self) -> None:
        continuous = self.prepared.continuous
        self.low = continuous.min(axis=0) if continuous.size else np.zeros(0)
        self.high = continuous.max(axis=0) if continuous.size else np.zeros(0)

    def draw(
        self, model: LatentModel, box: _Box, n_rows: int, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """``n_rows`` avatars and their latent coordinates (the first ``ncp`` axes)."""
        projection = self.projection
        latent = box.unscale(model.sample(n_rows, rng))
        rest = rng.standard_normal((n_rows, projection.rank - self.ncp)) * np.sqrt(
            projection.eigenvalues[self.ncp :]
        )
        # coordinates = Z · axes · s (Projection.transform), axes orthonormal: Z = C axesᵀ / s
        axes = projection.axes / projection.coordinate_scale
        scaled = latent @ axes[:, : self.ncp].T
        # continuous variables: all the axes; categorical ones: the released axes only
        scaled_full = scaled + rest @ axes[:, self.ncp :].T
        n_continuous = len(projection.continuous_names)
        continuous = projection.mean + scaled_full[:, :n_continuous] / projection.continuous_scale
        continuous = np.clip(continuous, self.low, self.high)
        if self.marginals is not None:
            continuous = self.marginals.calibrate(continuous)
        codes = np.empty((n_rows, len(projection.shares)), dtype=np.int32)
        start = n_continuous
        for j, (shares, scale) in enumerate(
            zip(projection.shares, projection.categorical_scale, strict=True)
        ):
            block = scaled[:, start : start + len(shares)]
            start += len(shares)
            with np.errstate(divide="ignore", invalid="ignore"):
                indicators = np.where(scale > 0, block / np.where(scale > 0, scale, 1.0), 0.0)
            codes[:, j] = _draw_modalities(indicators + shares, rng)
        avatars = self.encoder.decode(
            continuous, codes, reinsert_missing=not self.imputation.return_data_imputed
        )
        return avatars, latent

    def coordinates(self, table: pd.DataFrame) -> np.ndarray:
        """Latent coordinates of decoded avatars (their values, their missingness)."""
        encoded = self.encoder.encode(table)
        mean = ImputationParameters(method=ImputeMethod.MEAN)
        filled, _ = impute(encoded, mean, np.random.default_rng(0), self.encoder.n_modalities())
        return self.projection.transform(filled, self.ncp)


#: Share of ε spent on the marginals of the continuous columns (the rest on the latent model).
MARGINALS_SHARE = 0.5
#: An integer column spanning at most this many values gets one bin per value.
MAX_INTEGER_BINS = 50
#: Bins of the marginal of any other continuous column.
FLOAT_BINS = 20


@dataclass(frozen=True)
class _Budget:
    total: float
    latent: float
    marginals: float  # 0.0 when the table has no continuous column

    @classmethod
    def split(cls, epsilon: float, n_continuous: int) -> _Budget:
        if n_continuous == 0:
            return cls(epsilon, epsilon, 0.0)
        marginals = epsilon * MARGINALS_SHARE
        return cls(epsilon, epsilon - marginals, marginals)


@dataclass
class DPMarginals:
    """DP histograms of the continuous columns, and the rank-preserving map that gives drawn
    values these distributions.

    Why: the latent model (a Gaussian, a GMM or a product of histograms) and the projection
    back cannot reproduce skewed or discrete columns (WBCD's scores are mostly 1): measured,
    that reconstruction error dominates the mean Hellinger distance (0.27 on WBCD at any ε
    with ``gaussian``), so the release's noise made no visible difference. Releasing each
    column's histogram (Laplace, L1 sensitivity ``2m`` per column: replacing one
    individual's ``m`` rows moves at most ``2m`` counts; ``2mC`` for ``C`` columns) and mapping
    the ``i``-th smallest drawn value to the ``(i + ½)/n`` quantile of the released histogram
    keeps the dependence the latent model carries (the ranks) and gives each column a
    distribution whose accuracy follows ε. The bins' range is the column's minimum and
    maximum, which FastDP already reads without noise (outside the guarantee).
    """

    edges: list[np.ndarray]  # per column: bin edges (B + 1)
    probabilities: list[np.ndarray]  # per column: released shares (B)
    integer: list[bool]  # per column: one bin per integer value

    @classmethod
    def release(
        cls,
        continuous: np.ndarray,
        epsilon: float,
        rng: np.random.Generator,
        *,
        rows_per_individual: int = 1,
    ) -> DPMarginals:
        """``continuous``: the encoded continuous columns, NaN where missing."""
        n_columns = continuous.shape[1]
        scale = 2.0 * rows_per_individual * n_columns / epsilon
        edges, probabilities, integer = [], [], []
        for j in range(n_columns):
            values = continuous[:, j][np.isfinite(continuous[:, j])]
            low = float(values.min()) if values.size else 0.0
            high = float(values.max()) if values.size else 1.0
            whole = bool(values.size) and bool(np.all(values == np.round(values)))
            if whole and high - low + 1 <= MAX_INTEGER_BINS:
                column_edges = np.arange(low - 0.5, high + 1.0, 1.0)
            else:
                whole = False
                column_edges = np.linspace(low, high if high > low else low + 1.0, FLOAT_BINS + 1)
            counts, _ = np.histogram(values, bins=column_edges)
            noisy = np.clip(counts + rng.laplace(0.0, scale, size=counts.shape), 0.0, None)
            total = noisy.sum()
            shares = noisy / total if total > 0 else np.full(len(counts), 1.0 / len(counts))
            edges.append(column_edges)
            probabilities.append(shares)
            integer.append(whole)
        return cls(edges, probabilities, integer)

    def calibrate(self, continuous: np.ndarray) -> np.ndarray:
        """The drawn values, each column mapped by rank onto its released distribution."""
        out = np.array(continuous, dtype=np.float64, copy=True)
        n = out.shape[0]
        if n == 0:
            return out
        quantiles = (np.arange(n) + 0.5) / n
        for j, (edges, shares, whole) in enumerate(
            zip(self.edges, self.probabilities, self.integer, strict=True)
        ):
            cumulative = np.cumsum(shares)
            cumulative[-1] = 1.0
            bins = np.minimum(np.searchsorted(cumulative, quantiles, side="right"), len(shares) - 1)
            if whole:
                values = (edges[bins] + edges[bins + 1]) / 2.0
            else:
                start = cumulative[bins] - shares[bins]
                with np.errstate(divide="ignore", invalid="ignore"):
                    within = np.where(shares[bins] > 0, (quantiles - start) / shares[bins], 0.5)
                within = np.clip(within, 0.0, 1.0)
                values = edges[bins] + within * (edges[bins + 1] - edges[bins])
            order = np.argsort(out[:, j], kind="stable")
            out[order, j] = values
        return out


def _draw_modalities(indicators: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A modality per row, with probabilities ∝ the positive part of the reconstructed
    indicators (the largest when none is positive)."""
    weights = np.clip(indicators, 0.0, None)
    totals = weights.sum(axis=1, keepdims=True)
    fallback = indicators.argmax(axis=1)
    probabilities = weights / np.where(totals > 0, totals, 1.0)
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative[:, -1] = 1.0
    drawn = (cumulative < rng.random((indicators.shape[0], 1))).sum(axis=1)
    return np.where(totals[:, 0] > 0, drawn, fallback).astype(np.int32)


def _accounting(
    request: _Request,
    plan: TablePlan,
    budget: _Budget,
    rows_per_individual: int,
    unit: str | None,
) -> PrivacyAccounting:
    percentile = request.bounds_percentile
    marginals = (
        [
            BudgetStep(
                "marginals",
                "a histogram of each continuous column (one bin per integer for integer "
                f"columns spanning at most {MAX_INTEGER_BINS} values, else {FLOAT_BINS} "
                "equal-width bins of the column's range), to give the avatars' continuous "
                "columns these distributions (a rank-preserving map)",
                covered=True,
                epsilon=budget.marginals,
                mechanism="Laplace mechanism on counts (numpy, seeded)",
            )
        ]
        if budget.marginals
        else []
    )
    steps = [
        BudgetStep(
            "projection",
            "typing, imputation and the projection (means, standard deviations, modality "
            "shares, axes) fitted on the original records",
            covered=False,
        ),
        BudgetStep(
            "latent_bounds",
            f"the [{percentile:g}, {100 - percentile:g}] percentiles of each latent "
            "coordinate, to clip the records before the release",
            covered=False,
        ),
        BudgetStep(
            "latent_model",
            f"the {request.mechanism.value} model of the clipped latent records",
            covered=True,
            epsilon=budget.latent,
            mechanism="Laplace mechanism on sums and counts (numpy, seeded)",
        ),
        *marginals,
        BudgetStep(
            "reconstruction",
            "draws from the model mapped back through the projection, the remaining axes "
            "with the projection's own variances, values clipped to each column's range",
            covered=False,
        ),
    ]
    not_covered = [
        "the projection fitted on the original records (means, standard deviations, "
        "modality shares, axes and their variances)",
        "the clipping box of the latent coordinates (percentiles of the records)",
        "the minimum and maximum of each continuous column",
        "the schema and the labels of categorical columns",
        "the number of rows",
    ]
    note_copied_columns(
        steps,
        not_covered,
        passed_through=[str(p["column"]) for p in plan.passed_through],
        excluded=plan.exclude,
        exclude_method=plan.exclude_method.value,
    )
    return PrivacyAccounting(
        variant="fast_dp",
        epsilon=budget.total,
        end_to_end=False,
        unit_of_privacy=unit_of_privacy(rows_per_individual, unit),
        rows_per_individual=rows_per_individual,
        noise_source="numpy's PCG64 generator seeded by the run's seed",
        steps=steps,
        not_covered=not_covered,
    )


def _metadata(
    df: pd.DataFrame,
    request: _Request,
    plan: TablePlan,
    checked_epsilon: float,
    gmm_n_components: int,
    histogram_n_bins: int,
    ncp: int,
    encoder: TableEncoder,
    imputation_report: dict[str, Any],
    projection: Projection,
    box: _Box,
    augmentation_note: dict[str, Any] | None,
    accounting: PrivacyAccounting,
    timings: dict[str, float],
    n_avatars: int,
) -> dict[str, Any]:
    """The run's metadata: parameters as used, projection, latent box, the accounting."""
    return {
        "engine": "avatars",
        "engine_version": __version__,
        "method": "avatar_fast_dp",
        "n_rows": len(df),
        "n_columns": df.shape[1],
        "n_avatars": n_avatars,
        "parameters": {
            "epsilon": checked_epsilon,
            "mechanism": request.mechanism.value,
            "gmm_n_components": gmm_n_components,
            "histogram_n_bins": histogram_n_bins,
            "bounds_percentile": request.bounds_percentile,
            "ncp": ncp,
            "seed": plan.seed,
            "column_weights": plan.column_weights,
            "imputation": {
                "method": plan.imputation.method.value,
                "k": plan.imputation.k,
                "training_fraction": plan.imputation.training_fraction,
                "return_data_imputed": plan.imputation.return_data_imputed,
            },
            "exclude_variables": plan.exclude,
            "exclude_method": plan.exclude_method.value,
            "rows_per_individual": accounting.rows_per_individual,
        },
        "column_types": {c: t.value for c, t in encoder.column_types.items()},
        "passed_through": plan.passed_through,
        "missing_indicators": encoder.indicator_names,
        "imputation": imputation_report,
        "projection": {
            "kind": projection.kind.value,
            "dimensions": projection.n_dimensions,
            "rank": projection.rank,
            "explained_variance_ratio": [
                float(v) for v in projection.explained_variance_ratio[:ncp]
            ],
        },
        "latent_box": {"low": box.low.tolist(), "high": box.high.tolist()},
        "data_augmentation": augmentation_note,
        "metrics_pairing": METRICS_PAIRING,
        "differential_privacy": accounting.to_dict(),
        "timings_seconds": timings,
    }
