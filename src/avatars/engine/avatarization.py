"""The avatar method for one table (method.md §1): ``avatarize``.

For every original record ``i`` (§1.12):

1. project the prepared table (imputed, with missingness indicators) with FAMD/PCA/MCA and
   keep the first ``ncp`` coordinates;
2. find the ``k`` nearest *other* records ``φ_i(1..k)`` in that space (Euclidean, exact);
3. draw random weights (§1.8)::

       P_ij = E_ij · 2^(−σ_i(j)) / d_ij ,   w_ij = P_ij / Σ_l P_il
       E_ij ~ Exponential(1) i.i.d.;  σ_i a uniformly random permutation of {0..k−1}
       d_ij the distance to the j-th neighbour, guarded: d ← max(d, ε), ε = 1e-9 · median(d > 0)

4. build the avatar (§1.9): each continuous value is the ``w``-weighted mean of the neighbours'
   original (imputed) values; each categorical value — missingness indicators included — is
   drawn with probabilities equal to the neighbours' weighted shares (or their argmax, as an
   option);
5. put missing values back where the avatar's indicator says so, restore types and rounding,
   re-attach excluded variables, and shuffle the rows for the deliverable (§1.10-1.11).

Columns that carry no information — constant, or missing in every row — pass through unchanged:
left out of the projection and copied to the avatars as they are (a constant stays that
constant, missing stays missing), and listed in ``metadata["passed_through"]`` as
``{"column", "reason"}`` (:func:`~avatars.engine.preprocessing.pass_through_reason`).

Randomness comes from one ``seed`` through independent streams (``numpy.random.SeedSequence``):
imputation, weights, categorical draws, the shuffle. The same seed and input give byte-identical
outputs. Without a seed one is drawn and reported in the metadata, so any run can be replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from avatars import __version__
from avatars.engine.common import ProgressCallback, Steps
from avatars.engine.errors import InvalidDataError, InvalidParameterError
from avatars.engine.imputation import ImputationParameters, impute
from avatars.engine.neighbors import build_tree, nearest_other_neighbors
from avatars.engine.preprocessing import (
    EncodedTable,
    TableEncoder,
    check_column_weights,
    check_columns_exist,
    passed_through,
    validate_table,
)
from avatars.engine.projection import Projection
from avatars.engine.schema import ColumnType, parse_column_type
from avatars.protocol.enums import ExcludeVariablesMethod

#: Projected dimensions used for the neighbour search unless ``ncp`` is given (method.md §4).
DEFAULT_NCP = 5

#: Records per chunk when building avatars (memory O(CHUNK_ROWS × k × columns)).
CHUNK_ROWS = 20_000

#: How excluded columns come back (``row_order`` is SENSITIVE: avatar i gets original i's value).
ExcludeMethod = ExcludeVariablesMethod


class CategoricalAssignment(StrEnum):
    DRAW = "draw"  # drawn from the neighbours' weighted shares (the published avatars)
    ARGMAX = "argmax"  # the modality with the largest weighted share


@dataclass
class AvatarizationResult:
    """What :func:`avatarize` returns.

    ``unshuffled`` row ``i`` is the avatar of original row ``i``: it is SENSITIVE (the link to
    the original is obvious) and only meant for privacy metrics. ``shuffled`` holds the same
    rows in random order: the deliverable.
    """

    shuffled: pd.DataFrame
    unshuffled: pd.DataFrame
    original_coordinates: pd.DataFrame
    avatar_coordinates: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)
    imputed_original: pd.DataFrame | None = None  # with return_data_imputed
    #: contribution (%) of each variable to each of the first ``ncp`` axes (for figures)
    contributions: pd.DataFrame | None = None


def avatarize(
    df: pd.DataFrame,
    *,
    k: int,
    ncp: int | None = None,
    seed: int | None = None,
    column_types: Mapping[str, str | ColumnType] | None = None,
    column_weights: Mapping[str, float] | None = None,
    imputation: ImputationParameters | Mapping[str, Any] | None = None,
    exclude_variables: Sequence[str] | None = None,
    exclude_method: str | ExcludeMethod = ExcludeMethod.ROW_ORDER,
    categorical_assignment: str | CategoricalAssignment = CategoricalAssignment.DRAW,
    progress: ProgressCallback | None = None,
) -> AvatarizationResult:
    """Avatarize ``df``: one synthetic record per original record (see the module docstring).

    Parameters
    ----------
    df
        The original table. Column types come from the dtypes unless ``column_types`` names
        them (``int``, ``float``, ``bool``, ``category``, ``datetime``, ``datetime_tz``).
    k
        Number of neighbours of each record, ``2 ≤ k < number of rows``.
    ncp
        Number of projected dimensions for the neighbour search, ``1 ≤ ncp ≤`` the table's
        dimensions after one-hot encoding. Default: 5 (the documented default), or all the
        dimensions of a table that has fewer.
    seed
        Makes the run reproducible byte for byte; drawn at random (and reported) when None.
    column_weights
        Weight > 0 of a column in the projection (default 1): larger separates records more on it.
    imputation
        ``{"method": "fast_knn"|"knn"|"mean"|"median"|"mode", "k", "training_fraction",
        "return_data_imputed"}``; with ``return_data_imputed`` the avatars keep imputed values
        instead of getting missing values back.
    exclude_variables, exclude_method
        Columns kept out of the avatarization and re-attached afterwards: by ``row_order``
        (SENSITIVE: avatar ``i`` gets original ``i``'s value) or ``coordinate_similarity``
        (the value of the original record nearest to the avatar in the projected space).
    categorical_assignment
        ``draw`` (default, as the published avatars) or ``argmax``.
    progress
        Called as ``progress(fraction, phase)``; it may raise to abort the run.
    """
    steps = Steps(progress)
    request = _check_request(
        df,
        k=k,
        seed=seed,
        column_types=column_types,
        column_weights=column_weights,
        imputation=imputation,
        exclude_variables=exclude_variables,
        exclude_method=exclude_method,
        categorical_assignment=categorical_assignment,
    )
    streams = np.random.SeedSequence(request.seed).spawn(4)
    rng_impute, rng_weights, rng_draw, rng_shuffle = (np.random.default_rng(s) for s in streams)
    with steps.step(0.0, "preprocessing", "preprocessing"):
        data = df.drop(columns=request.left_out) if request.left_out else df
        encoder = TableEncoder.fit(data, request.column_types)
        n_modalities = encoder.n_modalities()
        prepared, imputation_report = impute(
            encoder.encode(data), request.imputation, rng_impute, n_modalities
        )
    with steps.step(0.1, "projection", "projection"):
        projection = Projection.fit(prepared, n_modalities, request.column_weights)
        ncp = projection.check_ncp(DEFAULT_NCP if ncp is None else ncp, default=ncp is None)
        coordinates = projection.transform(prepared, ncp)
    with steps.step(0.2, "neighbors", "neighbors"):
        distances, neighbors = nearest_other_neighbors(coordinates, request.k)
    with steps.step(0.6, "avatars", "avatars"):
        epsilon = _distance_guard(distances)
        avatar_cont, avatar_codes = _synthesize(
            prepared,
            distances,
            neighbors,
            n_modalities,
            epsilon,
            request.assignment,
            rng_weights,
            rng_draw,
            steps.report,
        )
        del distances, neighbors
    with steps.step(0.9, "formatting", "formatting"):
        avatars, avatar_coordinates = _decode_avatars(
            encoder, projection, ncp, avatar_cont, avatar_codes, request.imputation
        )
        if request.exclude:
            avatars = _attach_excluded(
                avatars,
                df,
                request.exclude,
                request.exclude_method,
                coordinates,
                avatar_coordinates,
            )
        for column in request.passed_through_names:  # as they are: see pass_through_reason
            avatars[column] = df[column].reset_index(drop=True)
        avatars = avatars[list(df.columns)]
        shuffled = avatars.iloc[rng_shuffle.permutation(len(df))].reset_index(drop=True)
    timings = steps.seconds()
    steps.report(1.0, "done")
    return AvatarizationResult(
        shuffled=shuffled,
        unshuffled=avatars,
        original_coordinates=projection.coordinates_frame(coordinates),
        avatar_coordinates=projection.coordinates_frame(avatar_coordinates),
        metadata=_metadata(
            df, request, encoder, projection, ncp, imputation_report, epsilon, timings
        ),
        imputed_original=(
            encoder.decode(prepared.continuous, prepared.codes, reinsert_missing=False)
            if request.imputation.return_data_imputed
            else None
        ),
        contributions=projection.contributions(ncp),
    )


@dataclass
class _Request:
    """The parameters of :func:`avatarize`, checked (errors name the parameter)."""

    k: int
    seed: int
    column_types: dict[str, ColumnType]  # of the avatarized columns
    column_weights: dict[str, float]
    imputation: ImputationParameters
    exclude: list[str]
    exclude_method: ExcludeMethod
    assignment: CategoricalAssignment
    passed_through: list[dict[str, str]]  # constant or all-missing columns, copied as they are

    @property
    def passed_through_names(self) -> list[str]:
        return [entry["column"] for entry in self.passed_through]

    @property
    def left_out(self) -> list[str]:
        """The columns that the projection and the synthesis do not see."""
        return [*self.exclude, *self.passed_through_names]


def _check_request(
    df: pd.DataFrame,
    *,
    k: object,
    seed: int | None,
    column_types: Mapping[str, str | ColumnType] | None,
    column_weights: Mapping[str, float] | None,
    imputation: ImputationParameters | Mapping[str, Any] | None,
    exclude_variables: Sequence[str] | None,
    exclude_method: str | ExcludeMethod,
    categorical_assignment: str | CategoricalAssignment,
) -> _Request:
    validate_table(df)
    checked_k = _check_k(k, len(df))
    exclude = check_columns_exist("exclude_variables", exclude_variables, df)
    method: ExcludeMethod = _parse_enum(ExcludeMethod, exclude_method, "exclude_method")
    assignment: CategoricalAssignment = _parse_enum(
        CategoricalAssignment, categorical_assignment, "categorical_assignment"
    )
    if column_types:
        check_columns_exist("column_types", list(column_types), df)
    declared = {c: parse_column_type(t, c) for c, t in (column_types or {}).items()}
    weights = check_column_weights(column_weights, df)
    params = ImputationParameters.parse(imputation)
    if len(exclude) == df.shape[1]:
        raise InvalidParameterError(
            "exclude_variables", "excludes every column; nothing is left to avatarize"
        )
    excluded_weighted = [c for c in weights if c in exclude]
    if excluded_weighted:
        raise InvalidParameterError(
            "column_weights", f"column(s) {', '.join(map(repr, excluded_weighted))} are excluded"
        )
    passed = passed_through(df, [c for c in df.columns if c not in exclude])
    if len(exclude) + len(passed) == df.shape[1]:
        shown = ", ".join(f"'{p['column']}' ({p['reason'].replace('_', ' ')})" for p in passed)
        raise InvalidDataError(
            f"nothing to avatarize: every column is excluded or carries no information: {shown}"
        )
    if seed is None:  # drawn, and reported in the metadata so that the run can be replayed
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    left_out = set(exclude) | {p["column"] for p in passed}
    return _Request(
        k=checked_k,
        seed=_check_seed(seed),
        column_types={c: t for c, t in declared.items() if c not in left_out},
        column_weights=weights,
        imputation=params,
        exclude=exclude,
        exclude_method=method,
        assignment=assignment,
        passed_through=passed,
    )


def _decode_avatars(
    encoder: TableEncoder,
    projection: Projection,
    ncp: int,
    avatar_cont: np.ndarray,
    avatar_codes: np.ndarray,
    imputation: ImputationParameters,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The avatars as a table like the original (§1.10: rounding, types, missing values put
    back unless ``return_data_imputed``), and their coordinates in the originals' projection:
    of their rounded values and their own missingness indicators."""
    avatars_imputed = encoder.decode(avatar_cont, avatar_codes, reinsert_missing=False)
    avatars = (
        avatars_imputed
        if imputation.return_data_imputed
        else encoder.decode(avatar_cont, avatar_codes, reinsert_missing=True)
    )
    avatar_encoded = encoder.encode(avatars_imputed)
    n_data = len(encoder.categorical_columns)
    avatar_encoded.codes[:, n_data:] = avatar_codes[:, n_data:]
    return avatars, projection.transform(avatar_encoded, ncp)


def _metadata(
    df: pd.DataFrame,
    request: _Request,
    encoder: TableEncoder,
    projection: Projection,
    ncp: int,
    imputation_report: dict[str, Any],
    epsilon: float,
    timings: dict[str, float],
) -> dict[str, Any]:
    """The avatarization's metadata: engine, parameters as used (the seed drawn when none
    was given), column types, projection, distance guard and timings."""
    params = request.imputation
    return {
        "engine": "avatars",
        "engine_version": __version__,
        "method": "avatar",
        "n_rows": len(df),
        "n_columns": df.shape[1],
        "parameters": {
            "k": request.k,
            "ncp": ncp,
            "seed": request.seed,
            "column_weights": request.column_weights,
            "imputation": {
                "method": params.method.value,
                "k": params.k,
                "training_fraction": params.training_fraction,
                "return_data_imputed": params.return_data_imputed,
            },
            "exclude_variables": request.exclude,
            "exclude_method": request.exclude_method.value,
            "categorical_assignment": request.assignment.value,
        },
        "column_types": {c: t.value for c, t in encoder.column_types.items()},
        "passed_through": request.passed_through,
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
        "distance_guard": epsilon,
        "timings_seconds": timings,
    }


# -- the core: weights and synthesis ---------------------------------------------------------
def avatar_weights(distances: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
    """Normalized weights ``E · 2^(−σ) / d`` of method.md §1.8 for a block of records."""
    rows, k = distances.shape
    exponential = rng.exponential(size=(rows, k))
    # argsort of i.i.d. uniforms: a uniformly random permutation per row
    sigma = rng.random((rows, k)).argsort(axis=1)
    raw = np.ldexp(exponential / np.maximum(distances, epsilon), -sigma)
    return raw / raw.sum(axis=1, keepdims=True)


def _distance_guard(distances: np.ndarray) -> float:
    """ε = 1e-9 · median of the non-zero neighbour distances (method.md §1.7)."""
    positive = distances[distances > 0]
    if positive.size == 0:
        return 1e-12
    return float(1e-9 * np.median(positive))


def _synthesize(
    prepared: EncodedTable,
    distances: np.ndarray,
    neighbors: np.ndarray,
    n_modalities: list[int],
    epsilon: float,
    assignment: CategoricalAssignment,
    rng_weights: np.random.Generator,
    rng_draw: np.random.Generator,
    report: Callable[[float, str], None],
) -> tuple[np.ndarray, np.ndarray]:
    n, k = neighbors.shape
    cont = prepared.continuous
    codes = prepared.codes
    avatar_cont = np.empty_like(cont)
    avatar_codes = np.empty_like(codes)
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        nb = neighbors[start:stop]
        w = avatar_weights(distances[start:stop], epsilon, rng_weights)
        if cont.shape[1]:
            acc = np.zeros((stop - start, cont.shape[1]))
            for j in range(k):  # Σ_j w_ij x_φ(j): one neighbour rank at a time, O(chunk × p)
                acc += w[:, j : j + 1] * cont[nb[:, j]]
            avatar_cont[start:stop] = acc
        if codes.shape[1]:
            if assignment == CategoricalAssignment.DRAW:
                cumulative = np.cumsum(w, axis=1)
                cumulative[:, -1] = 1.0  # guard against rounding below 1
                u = rng_draw.random((stop - start, codes.shape[1]))
                for v in range(codes.shape[1]):
                    # drawing neighbour j with probability w_ij and taking its modality draws
                    # modality m with probability Σ_j w_ij 1[x_φ(j) = m]
                    picked = (cumulative < u[:, v : v + 1]).sum(axis=1)
                    avatar_codes[start:stop, v] = codes[nb[np.arange(stop - start), picked], v]
            else:
                rows = np.repeat(np.arange(stop - start), k)
                for v, m in enumerate(n_modalities):
                    shares = np.zeros((stop - start, m))
                    np.add.at(shares, (rows, codes[nb, v].ravel()), w.ravel())
                    avatar_codes[start:stop, v] = shares.argmax(axis=1)
        report(0.6 + 0.3 * stop / n, "avatars")
    return avatar_cont, avatar_codes


# -- excluded variables ----------------------------------------------------------------------
def _attach_excluded(
    avatars: pd.DataFrame,
    original: pd.DataFrame,
    exclude: list[str],
    method: ExcludeMethod,
    original_coordinates: np.ndarray,
    avatar_coordinates: np.ndarray,
) -> pd.DataFrame:
    avatars = avatars.copy()
    if method == ExcludeMethod.ROW_ORDER:
        source_rows = np.arange(len(original))
    else:
        tree = build_tree(original_coordinates)
        _, source_rows = tree.query(avatar_coordinates, k=1, workers=-1)
    for column in exclude:
        avatars[column] = original[column].iloc[np.asarray(source_rows)].reset_index(drop=True)
    return avatars


# -- validation helpers ----------------------------------------------------------------------
def _check_k(k: object, n: int) -> int:
    if not isinstance(k, int | np.integer) or isinstance(k, bool):
        raise InvalidParameterError("k", f"expected an integer, got {k!r}")
    if not 2 <= k < n:
        raise InvalidParameterError(
            "k", f"must satisfy 2 ≤ k < number of rows, got k={k} for a table of {n} rows"
        )
    return int(k)


def _check_seed(seed: object) -> int:
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise InvalidParameterError("seed", f"expected an integer ≥ 0, got {seed!r}")
    return int(seed)


def _parse_enum(enum: type[StrEnum], value: object, parameter: str) -> Any:
    try:
        return enum(str(getattr(value, "value", value)))
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise InvalidParameterError(
            parameter, f"expected one of {allowed}, got {value!r}"
        ) from None
