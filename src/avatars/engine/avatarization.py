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

Identifier columns (:mod:`avatars.engine.identifiers`) are refused unless the caller says, for
each, what to do (:class:`~avatars.engine.errors.IdentifierColumnsError` names them and the
choices): drop it (the caller leaves it out of ``df``), declare it a key (``keys``: the avatars
get new keys, never the original ones), pseudonymize it (``pseudonymize``), or exclude it with
an explicit per-column method (``exclude_methods``). Whatever keeps the original association
— any re-attachment by row order, and identifier values copied from the nearest originals — is
recorded in ``metadata["warnings"]`` (see :data:`WARNING_CODES`), which the privacy metrics and
the reports repeat.

Randomness comes from one ``seed`` through independent streams (``numpy.random.SeedSequence``):
imputation, weights, categorical draws, the shuffle. The same seed and input give byte-identical
outputs. Without a seed one is drawn and reported in the metadata, so any run can be replayed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from avatars import __version__
from avatars.engine.categorical_reduction import (
    SearchProjection,
    fit_projection,
    reduction_summary,
)
from avatars.engine.common import ProgressCallback, Steps
from avatars.engine.errors import (
    IdentifierColumnsError,
    InvalidDataError,
    InvalidParameterError,
)
from avatars.engine.identifiers import detect_identifiers
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
from avatars.engine.pseudonymization import (
    PseudonymizationSpec,
    derangement,
    pseudonymize_values,
)
from avatars.engine.schema import ColumnType, parse_column_type
from avatars.protocol.enums import ExcludeVariablesMethod

#: Projected dimensions used for the neighbour search unless ``ncp`` is given (method.md §4).
DEFAULT_NCP = 5

#: Records per chunk when building avatars (memory O(CHUNK_ROWS × k × columns)).
CHUNK_ROWS = 20_000

#: How excluded columns come back (``row_order`` is SENSITIVE: avatar i gets original i's value).
ExcludeMethod = ExcludeVariablesMethod


#: ``metadata["warnings"]`` codes: outputs that keep a link to the original records.
#: ``original_order``: excluded columns re-attached by row order (avatar i has original i's
#: value); ``identifier_original_order``: the same for identifier columns — a direct
#: re-identification key; ``identifier_original_values``: identifier columns re-attached by
#: coordinate similarity — the avatars carry real identifiers of the originals nearest to them.
ORIGINAL_ORDER = "original_order"
IDENTIFIER_ORIGINAL_ORDER = "identifier_original_order"
IDENTIFIER_ORIGINAL_VALUES = "identifier_original_values"
WARNING_CODES = (ORIGINAL_ORDER, IDENTIFIER_ORIGINAL_ORDER, IDENTIFIER_ORIGINAL_VALUES)


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
    exclude_methods: Mapping[str, str | ExcludeMethod] | None = None,
    keys: Sequence[str] | None = None,
    pseudonymize: Mapping[str, Any] | None = None,
    pseudonymization_secret: bytes | str | None = None,
    not_identifiers: Sequence[str] | None = None,
    categorical_assignment: str | CategoricalAssignment = CategoricalAssignment.DRAW,
    categorical_reduction: bool = False,
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
        (SENSITIVE: avatar ``i`` gets original ``i``'s value; reported in the warnings) or
        ``coordinate_similarity`` (the value of the original record nearest to the avatar in
        the projected space). ``exclude_method`` is the default of every excluded column that
        is not an identifier: an excluded identifier column is refused unless
        ``exclude_methods`` names its method.
    exclude_methods
        The method chosen *explicitly* for each column, ``{column: method}``; its columns are
        excluded (listed in ``exclude_variables`` or not). The only way to re-attach an
        identifier column's original values, and then a warning says so.
    keys
        Columns declared keys: kept out of the avatarization, and the avatars get new keys —
        for an integer column the integers after the largest original key, in the order of
        the shuffled avatars; random UUIDs for any other — never an original key.
    pseudonymize
        ``{column: strategy}`` (``"FAKER:EMAIL"``, ``"HASH_SHA256"``, ``"UUID4"``, a mapping
        or strategy object: :meth:`PseudonymizationSpec.parse`): kept out of the avatarization
        and replaced by pseudonyms (:mod:`avatars.engine.pseudonymization`), consistent within
        the column. The pseudonyms are dealt to the avatars in an order independent of the
        originals': a pseudonym never rides on the avatar of its own record, where whoever
        holds the secret (or replays the seed) would link the two.
    pseudonymization_secret
        The key of ``HASH_SHA256`` (HMAC-SHA256); required when a column uses it. Never
        reported in the metadata.
    not_identifiers
        Columns the caller declares not to be identifiers (the detection's false alarms): they
        are avatarized like any variable.
    categorical_assignment
        ``draw`` (default, as the published avatars) or ``argmax``.
    categorical_reduction
        ``use_categorical_reduction``: categorical variables of more than 20 modalities enter
        the neighbour search as an embedding of at most 20 dimensions
        (:mod:`avatars.engine.categorical_reduction`); their avatar values are still drawn
        from the neighbours' modalities.
    progress
        Called as ``progress(fraction, phase)``; it may raise to abort the run.
    """
    # Long only by its docstring (every parameter documented where it is used) and its step
    # blocks; the work is in _check_request, _synthesize and the re-attachment helpers.
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
        exclude_methods=exclude_methods,
        keys=keys,
        pseudonymize=pseudonymize,
        pseudonymization_secret=pseudonymization_secret,
        not_identifiers=not_identifiers,
        categorical_assignment=categorical_assignment,
    )
    # spawn(n) gives child i the same stream whatever n: older streams are unchanged
    streams = np.random.SeedSequence(request.seed).spawn(7)
    rng_impute, rng_weights, rng_draw, rng_shuffle, rng_missing, rng_keys, rng_deal = (
        np.random.default_rng(s) for s in streams
    )
    with steps.step(0.0, "preprocessing", "preprocessing"):
        data = df.drop(columns=request.left_out) if request.left_out else df
        encoder = TableEncoder.fit(data, request.column_types)
        n_modalities = encoder.n_modalities()
        prepared, imputation_report = impute(
            encoder.encode(data), request.imputation, rng_impute, n_modalities
        )
    with steps.step(0.1, "projection", "projection"):
        if not isinstance(categorical_reduction, bool):
            raise InvalidParameterError(
                "use_categorical_reduction",
                f"expected true or false, got {categorical_reduction!r}",
            )
        projection = fit_projection(
            prepared,
            n_modalities,
            request.column_weights,
            categorical_reduction=categorical_reduction,
        )
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
            n_indicators=len(encoder.missing_columns),
            rng_missing=rng_missing,
        )
        del distances, neighbors
    with steps.step(0.9, "formatting", "formatting"):
        avatars, avatar_coordinates = _decode_avatars(
            encoder, projection, ncp, avatar_cont, avatar_codes, request.imputation
        )
        if request.exclude:
            avatars = _attach_excluded(
                avatars, df, request.exclude_methods, coordinates, avatar_coordinates
            )
        for column in request.passed_through_names:  # as they are: see pass_through_reason
            avatars[column] = df[column].reset_index(drop=True)
        order = rng_shuffle.permutation(len(df))
        for column in request.keys:
            avatars[column] = _new_keys(df[column], order, rng_keys)
        for column, spec in request.pseudonymized.items():
            pseudonyms = pseudonymize_values(
                df[column].reset_index(drop=True),
                spec,
                seed=request.seed,
                secret=request.secret,
            )
            avatars[column] = pseudonyms.iloc[derangement(len(df), rng_deal)].to_numpy()
        avatars = avatars[list(df.columns)]
        shuffled = avatars.iloc[order].reset_index(drop=True)
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
    exclude_methods: dict[str, ExcludeMethod]  # every excluded column's method
    explicit_methods: list[str]  # the excluded columns whose method the caller chose
    keys: list[str]
    pseudonymized: dict[str, PseudonymizationSpec]
    secret: bytes | str | None
    not_identifiers: list[str]
    warnings: list[dict[str, Any]]

    @property
    def passed_through_names(self) -> list[str]:
        return [entry["column"] for entry in self.passed_through]

    @property
    def left_out(self) -> list[str]:
        """The columns that the projection and the synthesis do not see."""
        return [*self.exclude, *self.keys, *self.pseudonymized, *self.passed_through_names]


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
    exclude_methods: Mapping[str, str | ExcludeMethod] | None,
    keys: Sequence[str] | None,
    pseudonymize: Mapping[str, Any] | None,
    pseudonymization_secret: bytes | str | None,
    not_identifiers: Sequence[str] | None,
    categorical_assignment: str | CategoricalAssignment,
) -> _Request:
    validate_table(df)
    checked_k = _check_k(k, len(df))
    method: ExcludeMethod = _parse_enum(ExcludeMethod, exclude_method, "exclude_method")
    explicit = {
        str(c): _parse_enum(ExcludeMethod, m, f"exclude_methods.{c}")
        for c, m in _check_mapping("exclude_methods", exclude_methods, df).items()
    }
    exclude = check_columns_exist("exclude_variables", exclude_variables, df)
    exclude += [c for c in explicit if c not in exclude]
    roles = _check_roles(df, exclude, keys, pseudonymize, not_identifiers)
    pseudonymized = {
        str(c): PseudonymizationSpec.parse(spec, str(c))
        for c, spec in _check_mapping("pseudonymize", pseudonymize, df).items()
    }
    hashed = [c for c, spec in pseudonymized.items() if spec.strategy == "HASH_SHA256"]
    if hashed and not pseudonymization_secret:
        column = hashed[0]
        raise InvalidParameterError(
            "pseudonymization_secret",
            f"column '{column}' is pseudonymized with HASH_SHA256, a keyed hash "
            "(HMAC-SHA256): give the secret that keys it",
        )
    assignment: CategoricalAssignment = _parse_enum(
        CategoricalAssignment, categorical_assignment, "categorical_assignment"
    )
    if column_types:
        check_columns_exist("column_types", list(column_types), df)
    declared = {c: parse_column_type(t, c) for c, t in (column_types or {}).items()}
    weights = check_column_weights(column_weights, df)
    params = ImputationParameters.parse(imputation)
    replaced = [*roles["keys"], *pseudonymized]
    if len(exclude) + len(replaced) == df.shape[1]:
        raise InvalidParameterError(
            "exclude_variables", "excludes every column; nothing is left to avatarize"
        )
    excluded_weighted = [c for c in weights if c in exclude or c in replaced]
    if excluded_weighted:
        raise InvalidParameterError(
            "column_weights",
            f"column(s) {', '.join(map(repr, excluded_weighted))} are not avatarized "
            "(excluded, keys or pseudonymized)",
        )
    warnings = _identifier_check(df, declared, exclude, explicit, replaced, roles["not_ids"])
    passed = passed_through(df, [c for c in df.columns if c not in exclude and c not in replaced])
    if len(exclude) + len(replaced) + len(passed) == df.shape[1]:
        shown = ", ".join(f"'{p['column']}' ({p['reason'].replace('_', ' ')})" for p in passed)
        raise InvalidDataError(
            f"nothing to avatarize: every column is excluded or carries no information: {shown}"
        )
    if seed is None:  # drawn, and reported in the metadata so that the run can be replayed
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    left_out = set(exclude) | set(replaced) | {p["column"] for p in passed}
    methods = {c: explicit.get(c, method) for c in exclude}
    warnings += _row_order_warning(methods, warnings)
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
        exclude_methods=methods,
        explicit_methods=[c for c in exclude if c in explicit],
        keys=roles["keys"],
        pseudonymized=pseudonymized,
        secret=pseudonymization_secret,
        not_identifiers=roles["not_ids"],
        warnings=warnings,
    )


def _check_mapping(parameter: str, value: Mapping[str, Any] | None, df: pd.DataFrame) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidParameterError(parameter, f"expected a mapping column → value, got {value!r}")
    check_columns_exist(parameter, list(value), df)
    return dict(value)


def _check_roles(
    df: pd.DataFrame,
    exclude: list[str],
    keys: Sequence[str] | None,
    pseudonymize: Mapping[str, Any] | None,
    not_identifiers: Sequence[str] | None,
) -> dict[str, list[str]]:
    """The key and not-identifier columns, checked; a column given two roles is an error."""
    key_columns = check_columns_exist("keys", keys, df)
    not_ids = check_columns_exist("not_identifiers", not_identifiers, df)
    pseudonymized = list(pseudonymize or {})
    roles = {
        "exclude_variables": exclude,
        "keys": key_columns,
        "pseudonymize": pseudonymized,
        "not_identifiers": not_ids,
    }
    seen: dict[str, str] = {}
    for role, columns in roles.items():
        for column in columns:
            if column in seen and not (
                role == "not_identifiers" and seen[column] == "exclude_variables"
            ):
                raise InvalidParameterError(
                    role, f"column '{column}' is also in {seen[column]}: give it one treatment"
                )
            seen.setdefault(column, role)
    return {"keys": key_columns, "not_ids": not_ids}


def _identifier_check(
    df: pd.DataFrame,
    declared: Mapping[str, ColumnType],
    exclude: list[str],
    explicit: Mapping[str, ExcludeMethod],
    replaced: list[str],
    not_ids: list[str],
) -> list[dict[str, Any]]:
    """Refuse identifier columns nobody said what to do with (:class:`IdentifierColumnsError`);
    return the warnings of those re-attached by an explicit method."""
    candidates = [c for c in df.columns if c not in replaced and c not in not_ids]
    findings = detect_identifiers(df, column_types=declared, columns=candidates)
    refused = [f for f in findings if f.column not in explicit]
    if refused:
        raise IdentifierColumnsError([f.to_dict() for f in refused])
    warnings = []
    for code, method, text in (
        (
            IDENTIFIER_ORIGINAL_ORDER,
            ExcludeMethod.ROW_ORDER,
            "identifier column(s) re-attached by row order: each avatar carries the identifier "
            "of its original record, a direct re-identification key",
        ),
        (
            IDENTIFIER_ORIGINAL_VALUES,
            ExcludeMethod.COORDINATE_SIMILARITY,
            "identifier column(s) re-attached by coordinate similarity: the avatars carry the "
            "real identifiers of the original records nearest to them",
        ),
    ):
        columns = [f.column for f in findings if explicit.get(f.column) == method]
        if columns:
            warnings.append(_warning(code, columns, text))
    return warnings


def _row_order_warning(
    methods: Mapping[str, ExcludeMethod], identifier_warnings: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The warning for the other columns re-attached by row order (if any)."""
    flagged = {c for w in identifier_warnings for c in w["columns"]}
    columns = [c for c, m in methods.items() if m == ExcludeMethod.ROW_ORDER and c not in flagged]
    if not columns:
        return []
    text = (
        "excluded column(s) re-attached by row order: each avatar carries the value of its "
        "original record, so these columns keep the original association"
    )
    return [_warning(ORIGINAL_ORDER, columns, text)]


def _warning(code: str, columns: list[str], text: str) -> dict[str, Any]:
    names = ", ".join(f"'{c}'" for c in columns)
    return {"code": code, "columns": list(columns), "message": f"{text}: {names}"}


def _decode_avatars(
    encoder: TableEncoder,
    projection: SearchProjection,
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
    projection: SearchProjection,
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
            "exclude_methods": {c: m.value for c, m in request.exclude_methods.items()},
            "explicit_exclude_methods": request.explicit_methods,
            "keys": request.keys,
            "pseudonymized": {c: s.to_dict() for c, s in request.pseudonymized.items()},
            "not_identifiers": request.not_identifiers,
            "categorical_assignment": request.assignment.value,
            "use_categorical_reduction": reduction_summary(projection) is not None,
        },
        "warnings": request.warnings,
        "not_avatarized": not_avatarized(request),
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
            "categorical_reduction": reduction_summary(projection),
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
    *,
    n_indicators: int = 0,
    rng_missing: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The avatars' continuous values and categorical codes (§1.9). The last ``n_indicators``
    code columns are missingness indicators: see :func:`_calibrate_missingness`."""
    n, k = neighbors.shape
    cont = prepared.continuous
    codes = prepared.codes
    avatar_cont = np.empty_like(cont)
    avatar_codes = np.empty_like(codes)
    first_indicator = codes.shape[1] - n_indicators
    missing_share = np.empty((n, n_indicators))
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
            for i in range(n_indicators):
                v = first_indicator + i
                missing_share[start:stop, i] = (w * (codes[nb, v] == 1)).sum(axis=1)
        report(0.6 + 0.3 * stop / n, "avatars")
    if n_indicators:
        assert rng_missing is not None
        observed_rates = (codes[:, first_indicator:] == 1).mean(axis=0)
        avatar_codes[:, first_indicator:] = _calibrate_missingness(
            missing_share, observed_rates, rng_missing
        )
    return avatar_cont, avatar_codes


def _calibrate_missingness(
    share: np.ndarray, rates: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Missingness indicators that reproduce each column's missing rate.

    Drawing each avatar's indicator from its neighbours' weighted share ``p_i = Σ_j w_ij
    1[neighbour j missing]`` under-produces missing values: a record with a missing value is
    often the only one among its neighbours (measured: 17 % missing in a clinical table, 14 %
    in its avatars). So each column gets exactly ``m = round(n · rate)`` missing avatars, drawn
    without replacement with probabilities proportional to ``p_i`` (Gumbel top-m:
    ``argtop_m(log p_i + G_i)``, ``G_i`` i.i.d. Gumbel; ``log p_i ≥ −745`` for a float, so
    ``G_i − 10⁴`` ranks the others below); avatars whose neighbours all have the
    value come last, in random order, only when fewer than ``m`` avatars have ``p_i > 0``.
    """
    n, columns = share.shape
    out = np.zeros((n, columns), dtype=np.int32)
    for c in range(columns):
        m = round(n * float(rates[c]))
        gumbel = rng.gumbel(size=n)
        with np.errstate(divide="ignore"):
            keys = np.where(share[:, c] > 0, np.log(share[:, c]) + gumbel, gumbel - 1e4)
        if m:
            out[np.argpartition(-keys, m - 1)[:m], c] = 1
    return out


# -- excluded variables ----------------------------------------------------------------------
def _attach_excluded(
    avatars: pd.DataFrame,
    original: pd.DataFrame,
    methods: Mapping[str, ExcludeMethod],
    original_coordinates: np.ndarray,
    avatar_coordinates: np.ndarray,
) -> pd.DataFrame:
    """Each excluded column's values by its method: row order (avatar ``i`` gets original
    ``i``'s value) or coordinate similarity (the value of the original nearest to the avatar)."""
    avatars = avatars.copy()
    sources: dict[ExcludeMethod, np.ndarray] = {}
    for column, method in methods.items():
        if method not in sources:
            if method == ExcludeMethod.ROW_ORDER:
                sources[method] = np.arange(len(original))
            else:
                tree = build_tree(original_coordinates)
                _, nearest = tree.query(avatar_coordinates, k=1, workers=-1)
                sources[method] = np.asarray(nearest)
        avatars[column] = original[column].iloc[sources[method]].reset_index(drop=True)
    return avatars


def _new_keys(column: pd.Series, order: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """New keys for the avatars of a key column, none equal to an original key: for an integer
    column, the integers after the largest original key, ``m + 1 .. m + n``, in the order of
    the shuffled avatars (row ``r`` of the deliverable gets ``m + 1 + r``), so that no avatar
    key can be mistaken for, or joined to, an original one; else random UUIDs (version 4,
    drawn from ``rng``)."""
    n = len(column)
    observed = column.dropna()
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    values = observed.to_numpy(dtype=np.float64) if numeric else np.empty(0)
    if numeric and bool(np.all(np.mod(values, 1) == 0)):
        start = int(values.max()) + 1 if len(values) else 1
        keys = np.empty(n, dtype=np.int64)
        keys[order] = np.arange(start, start + n)
        return keys
    return np.array(
        [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)], dtype=object
    )


def not_avatarized(request: _Request) -> dict[str, list[str]]:
    """The columns the avatarization did not synthesize, by treatment: what the metrics must
    leave out of their space (see :func:`metrics_exclusions`)."""
    return {
        "excluded": list(request.exclude),
        "keys": list(request.keys),
        "pseudonymized": list(request.pseudonymized),
        "passed_through": request.passed_through_names,
    }


def metrics_exclusions(metadata: Mapping[str, Any]) -> list[str]:
    """The columns to give the metrics as ``exclude_variables`` after an avatarization with
    this ``metadata``: the excluded columns, the keys and the pseudonymized ones (their avatar
    values are new or re-attached, not synthesized). Passed-through columns need not be listed:
    the metrics leave them out themselves."""
    parts = metadata.get("not_avatarized") or {}
    if not parts:  # metadata of an older run: only exclusions existed
        return list((metadata.get("parameters") or {}).get("exclude_variables") or [])
    return [*parts.get("excluded", []), *parts.get("keys", []), *parts.get("pseudonymized", [])]


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
