"""Filling missing values before the projection (method.md §1.3).

Missing values are imputed only to place each record in the projection; the missingness itself
is kept as an indicator variable (see :mod:`avatars.engine.preprocessing`) and avatars get
missing values back where their indicator says so.

Methods (``ImputationParameters.method``):

- ``fast_knn`` (default): for each column with missing values, the ``k`` nearest records among a
  random ``training_fraction`` of the records where that column is observed, in the
  standardized space of the columns that are never missing; continuous values are the
  neighbours' mean, categorical values their most frequent modality. A KD-tree per column keeps
  it O(n log n) and bounded in memory, for millions of rows. Octopize does not publish its
  fast_knn; this is our reading of the name and of the documented parameters (provisional).
- ``knn``: exact nan-Euclidean k-nearest-neighbour imputation over all columns
  (scikit-learn's ``KNNImputer``), quadratic in the number of rows: for small tables.
- ``mean``, ``median``: per continuous column; categorical columns get their mode.
- ``mode``: the most frequent value of every column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from avatars.engine.errors import InvalidParameterError
from avatars.engine.preprocessing import EncodedTable
from avatars.protocol.enums import ImputeMethod

#: Above this many rows fast_knn trains on a sample by default (``training_fraction=None``).
FAST_KNN_MAX_TRAINING_ROWS = 100_000
#: fast_knn reduces its predictor space to this many principal axes (KD-trees degrade beyond).
FAST_KNN_MAX_DIMENSIONS = 6
#: Categorical predictors with more modalities than this are left out of fast_knn's space.
FAST_KNN_MAX_PREDICTOR_MODALITIES = 50


@dataclass(frozen=True)
class ImputationParameters:
    """How missing values are filled; validated on construction (errors name the field)."""

    method: ImputeMethod = ImputeMethod.FAST_KNN
    k: int = 5
    training_fraction: float | None = None  # None: all rows, capped for fast_knn on big tables
    return_data_imputed: bool = False

    def __post_init__(self) -> None:
        method = self.method
        try:
            method = ImputeMethod(str(getattr(method, "value", method)).lower())
        except ValueError:
            allowed = ", ".join(m.value for m in ImputeMethod)
            raise InvalidParameterError(
                "imputation.method", f"expected one of {allowed}, got {method!r}"
            ) from None
        object.__setattr__(self, "method", method)
        k = self.k
        if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1:
            raise InvalidParameterError("imputation.k", f"expected an integer ≥ 1, got {k!r}")
        fraction = self.training_fraction
        try:
            valid = fraction is None or 0 < float(fraction) <= 1
        except (TypeError, ValueError):
            valid = False
        if not valid:
            raise InvalidParameterError(
                "imputation.training_fraction", f"expected a number in (0, 1], got {fraction!r}"
            )

    @classmethod
    def parse(cls, value: ImputationParameters | Mapping[str, Any] | None) -> ImputationParameters:
        """From the YAML/dict form ``{method, k, training_fraction, return_data_imputed}``."""
        if value is None:
            return cls()
        if isinstance(value, ImputationParameters):
            return value
        unknown = set(value) - {"method", "k", "training_fraction", "return_data_imputed"}
        if unknown:
            names = ", ".join(repr(u) for u in sorted(map(str, unknown)))
            raise InvalidParameterError(
                "imputation",
                f"unknown field(s) {names}; expected method, k, training_fraction, "
                "return_data_imputed",
            )
        raw = {k: v for k, v in value.items() if v is not None}
        return cls(
            method=raw.get("method", ImputeMethod.FAST_KNN),
            k=raw.get("k", 5),
            training_fraction=raw.get("training_fraction"),
            return_data_imputed=bool(raw.get("return_data_imputed", False)),
        )


def impute(
    table: EncodedTable,
    params: ImputationParameters,
    rng: np.random.Generator,
    n_modalities: list[int],
) -> tuple[EncodedTable, dict[str, Any]]:
    """Fill every NaN (continuous) and ``-1`` code (categorical) of ``table``.

    Returns the imputed table and a JSON-serialisable note of what was done per column.
    The missingness indicators (trailing categorical columns) never have missing values.
    """
    continuous = table.continuous.copy()
    codes = table.codes.copy()
    cont_missing = np.isnan(continuous)
    cat_missing = codes < 0
    report: dict[str, Any] = {"method": params.method.value, "columns": {}}
    if not cont_missing.any() and not cat_missing.any():
        return EncodedTable(
            continuous, codes, table.continuous_names, table.categorical_names
        ), report

    method = params.method
    if method == ImputeMethod.KNN:
        _impute_knn_exact(continuous, codes, cont_missing, cat_missing, params.k, n_modalities)
        for j in np.flatnonzero(cont_missing.any(axis=0)):
            report["columns"][table.continuous_names[j]] = "knn"
        for j in np.flatnonzero(cat_missing.any(axis=0)):
            report["columns"][table.categorical_names[j]] = "knn"
    elif method == ImputeMethod.FAST_KNN:
        report["columns"] = _impute_fast_knn(
            table, continuous, codes, cont_missing, cat_missing, params, rng, n_modalities
        )
    else:
        for j in np.flatnonzero(cont_missing.any(axis=0)):
            observed = continuous[~cont_missing[:, j], j]
            if method == ImputeMethod.MEAN:
                fill = float(np.mean(observed))
            elif method == ImputeMethod.MEDIAN:
                fill = float(np.median(observed))
            else:
                fill = _mode(observed)
            continuous[cont_missing[:, j], j] = fill
            report["columns"][table.continuous_names[j]] = method.value
        for j in np.flatnonzero(cat_missing.any(axis=0)):
            codes[cat_missing[:, j], j] = _mode_code(codes[~cat_missing[:, j], j], n_modalities[j])
            report["columns"][table.categorical_names[j]] = "mode"
    return EncodedTable(continuous, codes, table.continuous_names, table.categorical_names), report


# -- fast_knn --------------------------------------------------------------------------------
def _impute_fast_knn(
    table: EncodedTable,
    continuous: np.ndarray,
    codes: np.ndarray,
    cont_missing: np.ndarray,
    cat_missing: np.ndarray,
    params: ImputationParameters,
    rng: np.random.Generator,
    n_modalities: list[int],
) -> dict[str, str]:
    predictors = _complete_predictors(continuous, codes, cont_missing, cat_missing, n_modalities)
    if predictors is not None and predictors.shape[1] > FAST_KNN_MAX_DIMENSIONS:
        predictors = _principal_axes(predictors, FAST_KNN_MAX_DIMENSIONS, rng)
    notes: dict[str, str] = {}
    targets = [("cont", j) for j in np.flatnonzero(cont_missing.any(axis=0))] + [
        ("cat", j) for j in np.flatnonzero(cat_missing.any(axis=0))
    ]
    for kind, j in targets:
        missing = cont_missing[:, j] if kind == "cont" else cat_missing[:, j]
        name = table.continuous_names[j] if kind == "cont" else table.categorical_names[j]
        observed_rows = np.flatnonzero(~missing)
        if predictors is None or observed_rows.size < 2:
            # nothing observed to learn from: fall back to the column's central value
            if kind == "cont":
                continuous[missing, j] = float(np.mean(continuous[observed_rows, j]))
                notes[name] = "mean (no complete column to find neighbours with)"
            else:
                codes[missing, j] = _mode_code(codes[observed_rows, j], n_modalities[j])
                notes[name] = "mode (no complete column to find neighbours with)"
            continue
        fraction = params.training_fraction
        if fraction is None:
            fraction = min(1.0, FAST_KNN_MAX_TRAINING_ROWS / observed_rows.size)
        n_train = max(min(observed_rows.size, params.k + 1), round(fraction * observed_rows.size))
        train = (
            observed_rows
            if n_train >= observed_rows.size
            else np.sort(rng.choice(observed_rows, size=n_train, replace=False))
        )
        k = min(params.k, train.size)
        tree = cKDTree(predictors[train])
        query_rows = np.flatnonzero(missing)
        for start in range(0, query_rows.size, 50_000):
            rows = query_rows[start : start + 50_000]
            _, nb = tree.query(predictors[rows], k=k, workers=-1)
            nb = train[np.asarray(nb).reshape(len(rows), k)]
            if kind == "cont":
                continuous[rows, j] = continuous[nb, j].mean(axis=1)
            else:
                codes[rows, j] = _row_modes(codes[nb, j], n_modalities[j])
        notes[name] = f"fast_knn (k={k}, trained on {train.size} rows)"
    return notes


def _complete_predictors(
    continuous: np.ndarray,
    codes: np.ndarray,
    cont_missing: np.ndarray,
    cat_missing: np.ndarray,
    n_modalities: list[int],
) -> np.ndarray | None:
    """The never-missing columns, standardized (dummies scaled by 1/sqrt(share) as in FAMD)."""
    blocks = []
    for j in np.flatnonzero(~cont_missing.any(axis=0)):
        column = continuous[:, j]
        std = column.std()
        blocks.append(((column - column.mean()) / (std if std > 0 else 1.0))[:, None])
    for j in np.flatnonzero(~cat_missing.any(axis=0)):
        m = n_modalities[j]
        if m > FAST_KNN_MAX_PREDICTOR_MODALITIES:  # keeps the dummies' memory bounded
            continue
        dummies = np.zeros((codes.shape[0], m))
        dummies[np.arange(codes.shape[0]), codes[:, j]] = 1.0
        share = dummies.mean(axis=0)
        keep = share > 0
        blocks.append((dummies[:, keep] - share[keep]) / np.sqrt(share[keep]))
    if not blocks:
        return None
    return np.hstack(blocks)


def _principal_axes(matrix: np.ndarray, n_axes: int, rng: np.random.Generator) -> np.ndarray:
    """Project onto the first principal axes (eigenvectors of the Gram matrix)."""
    centered = matrix - matrix.mean(axis=0)
    gram = centered.T @ centered
    eigenvalues, eigenvectors = np.linalg.eigh(gram)
    order = np.argsort(eigenvalues)[::-1][:n_axes]
    return centered @ eigenvectors[:, order]


# -- exact knn -------------------------------------------------------------------------------
def _impute_knn_exact(
    continuous: np.ndarray,
    codes: np.ndarray,
    cont_missing: np.ndarray,
    cat_missing: np.ndarray,
    k: int,
    n_modalities: list[int],
) -> None:
    """scikit-learn's KNNImputer on standardized continuous columns plus FAMD-scaled dummies."""
    from sklearn.impute import KNNImputer

    n = continuous.shape[0]
    blocks, slices = [], []
    mean = np.nanmean(continuous, axis=0) if continuous.size else np.zeros(0)
    std = np.nanstd(continuous, axis=0) if continuous.size else np.zeros(0)
    std = np.where(std > 0, std, 1.0)
    if continuous.size:
        blocks.append((continuous - mean) / std)
    start = continuous.shape[1]
    for j, m in enumerate(n_modalities):
        dummies = np.zeros((n, m))
        ok = ~cat_missing[:, j]
        dummies[np.flatnonzero(ok), codes[ok, j]] = 1.0
        share = np.maximum(dummies[ok].mean(axis=0), 1e-12)
        scaled = (dummies - share) / np.sqrt(share)
        scaled[~ok] = np.nan
        blocks.append(scaled)
        slices.append((start, start + m, share))
        start += m
    matrix = np.hstack(blocks)
    filled = KNNImputer(n_neighbors=k).fit_transform(matrix)
    if continuous.size:
        restored = filled[:, : continuous.shape[1]] * std + mean
        continuous[cont_missing] = restored[cont_missing]
    for j, (lo, hi, share) in enumerate(slices):
        rows = cat_missing[:, j]
        if rows.any():
            dummies = filled[rows, lo:hi] * np.sqrt(share) + share
            codes[rows, j] = np.argmax(dummies, axis=1)


# -- small helpers ---------------------------------------------------------------------------
def _mode(values: np.ndarray) -> float:
    uniques, counts = np.unique(values, return_counts=True)
    return float(uniques[np.argmax(counts)])


def _mode_code(codes: np.ndarray, n_modalities: int) -> int:
    counts = np.bincount(codes[codes >= 0], minlength=n_modalities)
    return int(np.argmax(counts))


def _row_modes(neighbour_codes: np.ndarray, n_modalities: int) -> np.ndarray:
    """The most frequent code in each row (ties: the lowest code)."""
    rows = neighbour_codes.shape[0]
    counts = np.zeros((rows, n_modalities), dtype=np.int32)
    np.add.at(
        counts, (np.repeat(np.arange(rows), neighbour_codes.shape[1]), neighbour_codes.ravel()), 1
    )
    return counts.argmax(axis=1).astype(np.int32)
