"""The resource-set YAML a :class:`~avatars.runner.Runner` sends (protocol.md §4).

:class:`RunnerConfig` holds what the Runner's calls said (tables, columns, parameters,
reports) and writes it as the official client does, document for document and key for key:
the same text that ``octopize.avatar`` 1.20's ``Runner.get_yaml()`` returns for the same
calls, apart from the ``client_version`` annotation. That matters beyond looks: a set built
by either SDK is stored and re-read by the other (``create_runner_from_id``).

Deliberate differences from the official client, all bug fixes:

- timezone-aware columns are typed ``datetime_tz`` (the official matcher tests ``datetime``
  first and never gets there);
- the schema documents are rebuilt on every call, so a table added after a first
  ``get_yaml()`` is not silently left out;
- ``seed=0`` is written (the official client drops a zero seed from the standard document,
  so the server draws a random one and the run cannot be replayed);
- ``delete_table`` also removes the links to and from the table (the official client leaves
  them, and its next YAML names a table that is not there).

Multi-table runs (``primary_key``, ``foreign_keys``, ``time_series_time`` columns, links declared
on the parent table) and time-series parameters (the ``time_series`` map of the three parameter
documents) are written as the official client writes them, key for key (compared with the
official clients 1.20 and 1.30 in ``tests/interop/scripts/yaml_linked_scenarios.py``).

Each table's parameters are validated when they are set, by the builders below
(:func:`avatarization_block`, :func:`privacy_metrics_block`, ...) with the models of
:mod:`avatars.protocol.parameters`; the whole set is validated again with
:func:`avatars.protocol.documents.parse_resource_set` before it leaves, so a problem is
reported here, naming the field, rather than by the server.
"""

from __future__ import annotations

import dataclasses
import numbers
import operator
import warnings
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from avatars import __version__
from avatars.constants import RESULTS_VOLUME_NAME, VOLUME_NAME
from avatars.protocol.documents import (
    AdviceDocument,
    AvatarizationDocument,
    MetadataDocument,
    PrivacyMetricsDocument,
    ReportDocument,
    SchemaDocument,
    SignalMetricsDocument,
    parse_resource_set,
)
from avatars.protocol.enums import (
    AdviceType,
    AlignmentMethod,
    AugmentationStrategy,
    ColumnType,
    DataRecipient,
    DataSubject,
    DataType,
    ExcludeVariablesMethod,
    ImputeMethod,
    LinkMethod,
    OutputFormat,
    ProjectionType,
    ReportLanguage,
    ReportType,
    SensitivityLevel,
)
from avatars.protocol.errors import ParameterError, validate_parameters
from avatars.protocol.parameters import (
    MIN_K,
    AvatarizationFastDPParameters,
    AvatarizationOpenDPParameters,
    AvatarizationParameters,
    DataAugmentation,
    ExcludeVariables,
    Imputation,
    PrivacyMetricsParameters,
    SignalMetricsParameters,
    TimeSeriesAlignment,
    TimeSeriesParameters,
    TimeSeriesProjection,
)
from avatars.protocol.schema import PseudonymizationSpec

__all__ = [
    "UNSUPPORTED_PARAMETERS",
    "RunnerConfig",
    "TableEntry",
    "avatarization_block",
    "check_columns",
    "check_key_columns",
    "differential_privacy_block",
    "exclude_block",
    "imputation_block",
    "plain_number",
    "privacy_metrics_block",
    "signal_metrics_block",
    "time_series_block",
]

SCHEMA_NAME = "schema"
AVATAR_SCHEMA_NAME = "schema_avatarized"
STANDARD = "standard"
PRIVACY = "privacy_metrics"
SIGNAL = "signal_metrics"
REPORT = "report"
DEFAULT_EXCLUDE_METHOD = ExcludeVariablesMethod.ROW_ORDER


def _plain(value: Any) -> Any:
    """Enums as their values, recursively, so the YAML holds plain strings."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _drop_none(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None}


@dataclass
class TableEntry:
    """One table of the schema."""

    name: str
    file: str
    avatar_file: str | None = None
    columns: list[dict[str, Any]] = field(default_factory=list)
    individual_level: bool | None = None
    links: list[dict[str, Any]] = field(default_factory=list)
    #: records of the same population kept out of the avatarization (membership metrics)
    holdout_file: str | None = None

    def column_types(self) -> dict[str, str]:
        return {c["field"]: c["type"] for c in self.columns if c.get("type")}

    def set_pseudonymization(self, strategies: dict[str, dict[str, Any]]) -> None:
        """Give each named column its ``pseudonymization`` (adding the column when the table
        lists no such column yet), as the official client 1.30 does."""
        for column in self.columns:
            if column["field"] in strategies:
                column["pseudonymization"] = strategies[column["field"]]
        listed = {c["field"] for c in self.columns}
        self.columns += [
            {"field": name, "pseudonymization": strategy}
            for name, strategy in strategies.items()
            if name not in listed
        ]

    def set_not_identifiers(self, names: list[str]) -> None:
        """Declare the named columns not to identify anyone (``identifier: false``, adding
        the column when the table lists no such column yet): the platform's identifier
        detection flagged them wrongly, and they are avatarized as variables."""
        for column in self.columns:
            if column["field"] in names:
                column["identifier"] = False
        listed = {c["field"] for c in self.columns}
        self.columns += [
            {"field": name, "identifier": False} for name in names if name not in listed
        ]

    def to_schema(self) -> dict[str, Any]:
        return _drop_none(
            {
                "name": self.name,
                "data": {"volume": VOLUME_NAME, "file": self.file},
                "individual_level": self.individual_level,
                "holdout_data": (
                    {"volume": VOLUME_NAME, "file": self.holdout_file}
                    if self.holdout_file
                    else None
                ),
                "columns": [_drop_none(c) for c in self.columns] or None,
                "links": self.links or None,
            }
        )

    def to_avatar_schema(self) -> dict[str, Any]:
        data = (
            {"volume": VOLUME_NAME, "file": self.avatar_file}
            if self.avatar_file
            else {"auto": True}
        )
        return {"name": self.name, "avatars_data": data}


# -- per-table parameters ---------------------------------------------------------------------
# ``Runner.set_parameters`` takes the official client's keywords; each builder below takes
# those of one concern, validates them with the protocol's model (so a bad value gets the very
# words the server would use for it in a YAML, under the keyword the user typed), and returns
# the block the official client writes for them, ``None`` when it writes none. What is written
# is the user's values as given (numpy scalars made plain), not the model's dump: the YAML stays
# byte-identical to the official client's.

M = TypeVar("M", bound=BaseModel)

#: Parameters of the official ``set_parameters`` that this platform's engine cannot run yet.
UNSUPPORTED_PARAMETERS: dict[str, str] = {}

K2_WARNING = (
    "You have set k = 2, which is the minimum allowed value. With such a low k, each "
    "synthesized record closely mirrors only 2 original records, significantly reducing "
    "privacy protection."
)
EXCLUDE_REPLACEMENT_STRATEGY_DEPRECATED = (
    "The 'exclude_replacement_strategy' parameter is deprecated; use "
    "'exclude_variable_method' instead."
)
#: Warnings of a builder point at the caller of ``set_parameters`` (builder, set_parameters,
#: caller).
_WARN_STACKLEVEL = 3


def plain_number(value: Any) -> Any:
    """A numpy integer as a Python ``int`` (``operator.index``), a numpy float as a ``float``;
    anything else unchanged, for the model to judge (a ``bool`` stays a ``bool``)."""
    if value is None or isinstance(value, bool) or type(value) in (int, float):
        return value
    if isinstance(value, numbers.Integral):
        return operator.index(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def _names(value: Any) -> Any:
    """A list of column names as a list (a tuple, a pandas Index...); a string is left for
    the model to refuse, not split into letters."""
    if value is None or isinstance(value, str | bytes | dict):
        return value
    try:
        return list(value)
    except TypeError:
        return value


def _validated(model: type[M], values: dict[str, Any], keywords: dict[str, str] | None = None) -> M:
    """``validate_parameters``, with each problem named by the keyword that set the field."""
    try:
        return validate_parameters(model, values)
    except ParameterError as exc:
        if not keywords:
            raise
        renamed = []
        for field_name, problem in exc.issues:
            head, dot, rest = field_name.partition(".")
            renamed.append((keywords.get(head, head) + dot + rest, problem))
        raise ParameterError(renamed) from None


def _refuse(**values: Any) -> None:
    for name, value in values.items():
        if value is not None:
            raise ValueError(
                f"{name}: {UNSUPPORTED_PARAMETERS[name]} is not supported by this platform's "
                "engine yet"
            )


# Placeholders of the groups this platform's engine cannot run yet: each refuses its keywords
# when set. A group's builder replaces its placeholder once the engine runs it
# (AvatarizationOpenDPParameters, TimeSeriesParameters, DataAugmentation,
# ProcessorParameters, the schema's pseudonymization are modelled in avatars.protocol).


#: The YAML mapping of each DP keyword of ``set_parameters``.
DP_MAPPINGS = {
    "open_dp_epsilon": "avatarization_open_dp",
    "fast_dp_epsilon": "avatarization_fast_dp",
}


def differential_privacy_block(
    k: int | None,
    open_dp_epsilon: float | None,
    fast_dp_epsilon: float | None,
    ncp: int | None,
    use_categorical_reduction: bool | None,
    column_weights: dict[str, float] | None,
    *,
    exclude: dict[str, Any] | None,
    imputation: dict[str, Any] | None,
    data_augmentation: dict[str, Any] | None = None,
    processors: list[dict[str, Any]] | None = None,
    rows_per_individual: int | None = None,
) -> tuple[str, dict[str, Any]] | None:
    """``(mapping, block)`` of a differentially private avatarization
    (``avatarization_open_dp`` or ``avatarization_fast_dp``), ``None`` without an epsilon.

    As the official client writes it: ``epsilon`` (FastDP also ``mechanism: gaussian``),
    then ``ncp``, ``column_weights``, the exclusion and the imputation; then this platform's
    ``rows_per_individual``. ``k`` and an epsilon are exclusive, and so are the two epsilons;
    an epsilon out of ``(0, 1000]`` is refused in the server's words (the official client
    drops a 0 silently).
    """
    given = {
        name: plain_number(value)
        for name, value in (
            ("open_dp_epsilon", open_dp_epsilon),
            ("fast_dp_epsilon", fast_dp_epsilon),
        )
        if value is not None
    }
    if not given:
        if rows_per_individual is not None:
            raise ValueError(
                "dp_rows_per_individual: it bounds a differential-privacy guarantee; give "
                "open_dp_epsilon or fast_dp_epsilon with it"
            )
        return None
    if len(given) > 1:
        raise ValueError(
            "open_dp_epsilon and fast_dp_epsilon are exclusive: choose OpenDP (end-to-end "
            "differential privacy) or FastDP (latent-space, not end to end)"
        )
    ((keyword, epsilon),) = given.items()
    if k is not None:
        raise ValueError(
            f"k and {keyword} are exclusive: k sets the avatar method's neighbourhood, "
            f"{keyword} a differential-privacy budget; give one (remove k for "
            f"{DP_MAPPINGS[keyword]})"
        )
    if use_categorical_reduction:
        raise ValueError(
            "use_categorical_reduction: categorical reduction is not supported by this "
            "platform's engine yet (leave it unset or False)"
        )
    weights = _weights(column_weights)
    block = _drop_none(
        {
            "epsilon": epsilon,
            "mechanism": "gaussian" if keyword == "fast_dp_epsilon" else None,
            "ncp": plain_number(ncp),
            "use_categorical_reduction": use_categorical_reduction,
            "column_weights": dict(weights) if weights else None,
            "exclude_variables": exclude,
            "imputation": imputation,
            "data_augmentation": data_augmentation,
            "rows_per_individual": plain_number(rows_per_individual),
        }
    )
    if processors:
        raise ValueError(
            f"processors: avatarization processors do not run with {keyword} (differentially "
            "private avatars); apply them before or after"
        )
    model = (
        AvatarizationOpenDPParameters
        if keyword == "open_dp_epsilon"
        else AvatarizationFastDPParameters
    )
    _validated(model, block, {"epsilon": keyword, "rows_per_individual": "dp_rows_per_individual"})
    return DP_MAPPINGS[keyword], block


def time_series_block(
    nf: int | None,
    projection_type: ProjectionType | str | None,
    nb_points: int | None,
    method: AlignmentMethod | str | None,
    *,
    exclude: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """The table's ``time_series`` mapping (a series table: projection and alignment), or
    ``None`` when no ``time_series_*`` keyword is set. As the official client writes it: a
    ``projection`` when ``nf`` or the type is set, an ``alignment`` when ``nb_points`` or the
    method is set, each with its unset field as an explicit ``null``, and the exclusion."""
    nf = plain_number(nf)
    nb_points = plain_number(nb_points)
    # a 0 is refused by name (the official client drops it silently)
    if nf is not None:
        _validated(TimeSeriesProjection, {"nf": nf}, {"nf": "time_series_nf"})
    if nb_points is not None:
        _validated(
            TimeSeriesAlignment, {"nb_points": nb_points}, {"nb_points": "time_series_nb_points"}
        )
    if not (nf or projection_type or nb_points or method):
        return None
    projection = alignment = None
    if projection_type or nf:
        checked = _validated(
            TimeSeriesProjection,
            {"projection_type": projection_type, "nf": nf},
            {"projection_type": "time_series_projection_type", "nf": "time_series_nf"},
        )
        kind = checked.projection_type.value if checked.projection_type is not None else None
        projection = {"projection_type": kind, "nf": nf}
    if nb_points or method:
        checked_alignment = _validated(
            TimeSeriesAlignment,
            {"nb_points": nb_points, "method": method},
            {"nb_points": "time_series_nb_points", "method": "time_series_method"},
        )
        way = checked_alignment.method
        alignment = {"nb_points": nb_points, "method": way.value if way is not None else None}
    block = _drop_none(
        {"projection": projection, "alignment": alignment, "exclude_variables": exclude}
    )
    _validated(TimeSeriesParameters, block)
    return block


def data_augmentation_parameters(
    strategy: Any, target_column: Any, should_anonymize_original_table: Any
) -> dict[str, Any] | None:
    """The ``data_augmentation`` mapping, or ``None`` without a strategy, as the official
    client writes it (unset fields left out)."""
    if target_column and strategy is None:
        raise ValueError(
            "data_augmentation_target_column: a data_augmentation_strategy is needed with it"
        )
    if isinstance(strategy, str | dict) and not target_column:
        raise ValueError(
            f"data_augmentation_target_column: required with the strategy {strategy!r}"
        )
    if not strategy:
        return None
    if isinstance(strategy, AugmentationStrategy):
        strategy = strategy.value
    elif isinstance(strategy, dict):
        strategy = {str(k): plain_number(v) for k, v in strategy.items()}
    else:
        strategy = plain_number(strategy)
    block = _drop_none(
        {
            "augmentation_strategy": strategy,
            "target_column": target_column,
            "should_anonymize_original_table": should_anonymize_original_table,
        }
    )
    _validated(
        DataAugmentation,
        block,
        {
            "augmentation_strategy": "data_augmentation_strategy",
            "target_column": "data_augmentation_target_column",
            "should_anonymize_original_table": "data_augmentation_should_anonymize_original_table",
        },
    )
    return block


def processors_parameters(processors: Any) -> list[dict[str, Any]] | None:
    """The ``avatarization_processors_parameters`` list: each processor's fields (unset ones
    left out), without a type tag, as the official client writes them."""
    if processors is None:
        return None
    if not isinstance(processors, list | tuple):
        raise ValueError(f"processors: expected a list of processor parameters, got {processors!r}")
    out = []
    for position, processor in enumerate(processors):
        if isinstance(processor, BaseModel):
            fields = processor.model_dump(mode="json", exclude_none=True)
        elif dataclasses.is_dataclass(processor) and not isinstance(processor, type):
            fields = _drop_none(dataclasses.asdict(processor))
        elif isinstance(processor, dict):
            fields = _drop_none(dict(processor))
        else:
            raise ValueError(
                f"processors[{position}]: expected InterRecordRangeDifferenceParameters or "
                f"RelativeDifferenceParameters, got {type(processor).__name__}"
            )
        out.append(fields)
    _validated(
        AvatarizationParameters,
        {"k": MIN_K, "avatarization_processors_parameters": out},
        {"avatarization_processors_parameters": "processors"},
    )
    return out or None


#: A strategy given by name, with its one argument after a colon (``"FAKER:EMAIL"``).
_STRATEGY_ARGUMENT = {"FAKER": "pii_type", "CONSTANT": "value", "SPECIFIC_ID": "pattern"}


def not_identifier_names(not_identifiers: Any, pseudonymized: Collection[str]) -> list[str]:
    """The column names of ``set_parameters(not_identifiers=...)``, checked: a list of names,
    none of them also given a pseudonymization strategy (a column cannot be both)."""
    if not_identifiers is None:
        return []
    if isinstance(not_identifiers, str) or not isinstance(not_identifiers, list | tuple | set):
        raise ValueError(
            f"not_identifiers: expected a list of column names, got {not_identifiers!r}"
        )
    names = []
    for name in not_identifiers:
        if not isinstance(name, str) or not name:
            raise ValueError(f"not_identifiers: expected a column name, got {name!r}")
        names.append(name)
    both = [n for n in names if n in pseudonymized]
    if both:
        raise ValueError(
            f"not_identifiers: {', '.join(map(repr, both))} also in pseudonymized_columns; "
            "a column is either pseudonymized (it identifies people) or declared not to "
            "identify anyone, not both"
        )
    return names


def pseudonymization_parameters(pseudonymized_columns: Any) -> dict[str, dict[str, Any]] | None:
    """``{column: strategy mapping}`` as the YAML's ``pseudonymization`` of each column (the
    official client 1.30's form, ``{kind: FAKER, pii_type: EMAIL, ...}``), ``None`` when not
    set. A strategy is an object of the official client's ``avatar_yaml`` or of
    :mod:`avatars.protocol.schema` (``FakeDataStrategy(pii_type=PiiType.EMAIL)``,
    ``HashSha256Strategy()``, ``Uuid4Strategy()``...), a mapping with ``kind``, or a name
    (``"HASH_SHA256"``, ``"UUID4"``, ``"FAKER:EMAIL"``, ``"CONSTANT:REDACTED"``)."""
    if pseudonymized_columns is None:
        return None
    if not isinstance(pseudonymized_columns, dict):
        raise ValueError(
            "pseudonymized_columns: expected {column: strategy}, got "
            f"{type(pseudonymized_columns).__name__}"
        )
    adapter: TypeAdapter[Any] = TypeAdapter(PseudonymizationSpec)
    out = {}
    for column, strategy in pseudonymized_columns.items():
        where = f"pseudonymized_columns[{column!r}]"
        fields = _strategy_fields(strategy, where)
        try:
            checked = adapter.validate_python(fields)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'][1:])) or 'kind'}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(f"{where}: {problems} (got {fields!r})") from None
        out[str(column)] = checked.model_dump(mode="json")
    return out


def _strategy_fields(strategy: Any, where: str) -> dict[str, Any]:
    """A strategy as the mapping of its fields (see :func:`pseudonymization_parameters`)."""
    if isinstance(strategy, Enum):
        strategy = strategy.value
    if isinstance(strategy, str):
        name, _, argument = strategy.strip().partition(":")
        fields: dict[str, Any] = {"kind": name.strip().upper()}
        if argument:
            key = _STRATEGY_ARGUMENT.get(fields["kind"])
            if key is None:
                raise ValueError(f"{where}: {fields['kind']} takes no argument, got {strategy!r}")
            fields[key] = argument.strip() if key == "pii_type" else argument
        return fields
    if hasattr(strategy, "model_dump"):
        return dict(strategy.model_dump(mode="json"))
    if dataclasses.is_dataclass(strategy) and not isinstance(strategy, type):
        fields = {f.name: _plain(getattr(strategy, f.name)) for f in dataclasses.fields(strategy)}
        # the official client's strategy classes carry their kind in the class, not a field
        fields.setdefault("kind", _official_kind(type(strategy).__name__))
        return {k: v for k, v in fields.items() if v is not None}
    if isinstance(strategy, dict):
        return {str(k): _plain(v) for k, v in strategy.items()}
    raise ValueError(
        f"{where}: expected a strategy object (FakeDataStrategy, HashSha256Strategy, "
        f"Uuid4Strategy...), a mapping with 'kind' or a name, got {strategy!r}"
    )


def _official_kind(class_name: str) -> str:
    names = {
        "FakeDataStrategy": "FAKER",
        "HashSha256Strategy": "HASH_SHA256",
        "Uuid4Strategy": "UUID4",
        "ConstantStrategy": "CONSTANT",
        "IntegerStrategy": "INTEGER",
        "SpecificIdStrategy": "SPECIFIC_ID",
    }
    return names.get(class_name, class_name)


def imputation_block(
    method: ImputeMethod | str | None,
    k: int | None,
    training_fraction: float | None,
    return_data_imputed: bool | None,
) -> dict[str, Any] | None:
    """The ``imputation`` mapping, or ``None`` when no imputation parameter is set.

    Unset fields stay as explicit ``null``s, as the official client writes them.
    """
    k = plain_number(k)
    training_fraction = plain_number(training_fraction)
    imputation = _validated(
        Imputation,
        {
            "method": method,
            "k": k,
            "training_fraction": training_fraction,
            "return_data_imputed": return_data_imputed,
        },
        {
            "method": "imputation_method",
            "k": "imputation_k",
            "training_fraction": "imputation_training_fraction",
            "return_data_imputed": "imputation_return_data_imputed",
        },
    )
    if not (method or k or training_fraction):
        return None
    return {
        "method": imputation.method.value if imputation.method is not None else None,
        "k": k,
        "training_fraction": training_fraction,
        "return_data_imputed": bool(return_data_imputed),
    }


def exclude_block(
    names: list[str] | None,
    method: ExcludeVariablesMethod | str | None,
    deprecated_strategy: ExcludeVariablesMethod | str | None = None,
) -> dict[str, Any] | None:
    """The ``exclude_variables`` mapping (``None`` without variable names).

    ``deprecated_strategy`` is the official client's former ``exclude_replacement_strategy``,
    used (with a ``DeprecationWarning``) when ``method`` is not given.
    """
    if method is None and deprecated_strategy is not None:
        warnings.warn(
            EXCLUDE_REPLACEMENT_STRATEGY_DEPRECATED,
            DeprecationWarning,
            stacklevel=_WARN_STACKLEVEL,
        )
        method = deprecated_strategy
    names = _names(names)
    exclude = _validated(
        ExcludeVariables,
        {"variable_names": names if names is not None else [], "replacement_strategy": method},
        {
            "variable_names": "exclude_variable_names",
            "replacement_strategy": "exclude_variable_method",
        },
    )
    if not names:
        return None
    block: dict[str, Any] = {
        "variable_names": list(names),
        "replacement_strategy": (exclude.replacement_strategy or DEFAULT_EXCLUDE_METHOD).value,
    }
    if method is not None and block["replacement_strategy"] == DEFAULT_EXCLUDE_METHOD.value:
        # The caller chose row_order: say so, since the official client writes it when nobody
        # chose (any other method is a choice by itself, and its YAML stays the official
        # client's). Only a chosen row_order may re-attach an identifier column's original
        # values, and the results then say that the link is kept.
        block["explicit_replacement_strategy"] = True
    return block


def _weights(column_weights: Any) -> Any:
    if not isinstance(column_weights, dict):
        return column_weights
    return {column: plain_number(weight) for column, weight in column_weights.items()}


def avatarization_block(
    k: int | None,
    ncp: int | None,
    use_categorical_reduction: bool | None,
    column_weights: dict[str, float] | None,
    *,
    exclude: dict[str, Any] | None,
    imputation: dict[str, Any] | None,
    data_augmentation: dict[str, Any] | None = None,
    processors: list[dict[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """The table's ``avatarization`` mapping (``None`` without ``k``: metrics only, whose
    builders check ``ncp`` and ``column_weights`` then). Warns when ``k`` is 2."""
    k = plain_number(k)
    if k is None:
        return None
    weights = _weights(column_weights)
    block = _drop_none(
        {
            "k": k,
            "ncp": plain_number(ncp),
            "use_categorical_reduction": use_categorical_reduction,
            "column_weights": dict(weights) if weights else None,
            "exclude_variables": exclude,
            "imputation": imputation,
            "data_augmentation": data_augmentation,
            "avatarization_processors_parameters": processors,
        }
    )
    _validated(AvatarizationParameters, block)
    if k == 2:
        warnings.warn(K2_WARNING, stacklevel=_WARN_STACKLEVEL)
    return block


def privacy_metrics_block(
    *,
    ncp: int | None,
    use_categorical_reduction: bool | None,
    known_variables: list[str] | None,
    target: str | None,
    quantile_threshold: int | None,
    imputation: dict[str, Any] | None,
    exclude: dict[str, Any] | None,
    column_weights: dict[str, float] | None,
) -> dict[str, Any] | None:
    """The table's ``privacy_metrics`` mapping, ``None`` when no metrics parameter is set.

    ``exclude`` is the exclusion the metrics see (``None`` when the excluded variables are
    used in the metrics).
    """
    ncp = plain_number(ncp)
    quantile_threshold = plain_number(quantile_threshold)
    known_variables = _names(known_variables)
    weights = _weights(column_weights)
    block = _drop_none(
        {
            "ncp": ncp,
            "use_categorical_reduction": use_categorical_reduction,
            "known_variables": known_variables if known_variables else None,
            "target": target,
            "quantile_threshold": quantile_threshold,
            "imputation": imputation,
            "exclude_variables": exclude,
            "column_weights": dict(weights) if weights else None,
        }
    )
    _validated(PrivacyMetricsParameters, block)
    wanted = (
        ncp,
        use_categorical_reduction,
        imputation,
        known_variables,
        target,
        quantile_threshold,
        exclude,
        column_weights,
    )
    return block if any(wanted) else None


def signal_metrics_block(
    *,
    ncp: int | None,
    use_categorical_reduction: bool | None,
    imputation: dict[str, Any] | None,
    column_weights: dict[str, float] | None,
    exclude: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """The table's ``signal_metrics`` mapping, ``None`` when no metrics parameter is set."""
    ncp = plain_number(ncp)
    weights = _weights(column_weights)
    block = _drop_none(
        {
            "ncp": ncp,
            "use_categorical_reduction": use_categorical_reduction,
            "imputation": imputation,
            "column_weights": dict(weights) if weights else None,
            "exclude_variables": exclude,
        }
    )
    _validated(SignalMetricsParameters, block)
    wanted = any((ncp, use_categorical_reduction, imputation, column_weights))
    return block if wanted or exclude is not None else None


def check_key_columns(
    primary_key: str | None, foreign_keys: list[str] | None, time_series_time: str | None
) -> list[str]:
    """The foreign keys, once the key columns are known to be different columns (the official
    client's checks, named by keyword)."""
    keys = [str(k) for k in foreign_keys or [] if k is not None]
    if primary_key and time_series_time and primary_key == time_series_time:
        raise ValueError(
            f"time_series_time: the primary key and the time column must be different "
            f"columns, got {primary_key!r} for both"
        )
    if primary_key and primary_key in keys:
        raise ValueError(f"foreign_keys: the primary key {primary_key!r} cannot be a foreign key")
    if time_series_time and time_series_time in keys:
        raise ValueError(
            f"foreign_keys: the time column {time_series_time!r} cannot be a foreign key"
        )
    return keys


def check_columns(
    table_name: str, known: Collection[str] | None, **columns: Iterable[str] | None
) -> None:
    """Refuse column names that are not in the table (when its columns are known)."""
    if known is None:
        return
    for name, given in columns.items():
        missing = [c for c in given or () if c not in known]
        if missing:
            raise ValueError(
                f"{name}: no column {', '.join(map(repr, missing))} in table {table_name!r}"
            )


class RunnerConfig:
    """What a Runner will send, and its YAML (:meth:`get_yaml`)."""

    def __init__(
        self,
        display_name: str,
        *,
        seed: int | None = None,
        max_distribution_plots: int | None = None,
        pia_data_recipient: DataRecipient | str = DataRecipient.UNKNOWN,
        pia_data_type: DataType | str = DataType.UNKNOWN,
        pia_data_subject: DataSubject | str = DataSubject.UNKNOWN,
        pia_sensitivity_level: SensitivityLevel | str = SensitivityLevel.UNDEFINED,
        annotations: dict[str, str] | None = None,
    ) -> None:
        self.display_name = display_name
        self.seed = seed
        self.max_distribution_plots = max_distribution_plots
        self.pia_metadata = {
            "datarecipient": DataRecipient(pia_data_recipient).value,
            "data_type": DataType(pia_data_type).value,
            "datasubject": DataSubject(pia_data_subject).value,
            "sensitivity_level": SensitivityLevel(pia_sensitivity_level).value,
        }
        self.annotations: dict[str, str] = (
            dict(annotations)
            if annotations is not None
            else {"client_type": "python", "client_version": __version__}
        )
        self.tables: dict[str, TableEntry] = {}
        self.avatarization: dict[str, dict[str, Any]] = {}
        # differentially private avatarizations (a table is in at most one of the three)
        self.avatarization_open_dp: dict[str, dict[str, Any]] = {}
        self.avatarization_fast_dp: dict[str, dict[str, Any]] = {}
        self.privacy_metrics: dict[str, dict[str, Any]] = {}
        self.signal_metrics: dict[str, dict[str, Any]] = {}
        self.time_series: dict[str, dict[str, Any]] = {}
        # The official client writes the metrics documents once set_parameters was called,
        # even when no table has metrics parameters.
        self.privacy_metrics_created = False
        self.signal_metrics_created = False
        self.advice: dict[str, list[str]] = {}
        #: privacy targets of an advice document, by its name
        self.advice_targets: dict[str, dict[str, float | str]] = {}
        self.reports: dict[str, tuple[str, str]] = {}
        # Documents of kinds this SDK does not build (kept from a loaded YAML).
        self.extra_documents: list[dict[str, Any]] = []

    # -- building --------------------------------------------------------------------------
    def check_table(self, table_name: str) -> TableEntry:
        try:
            return self.tables[table_name]
        except KeyError:
            known = ", ".join(map(repr, self.tables)) or "none"
            raise ValueError(
                f"table_name: no table {table_name!r} (tables: {known}); add it with "
                "add_table() first"
            ) from None

    def add_table(
        self,
        name: str,
        file: str,
        *,
        types: dict[str, ColumnType | str] | None = None,
        avatar_file: str | None = None,
        individual_level: bool | None = None,
        primary_key: str | None = None,
        foreign_keys: list[str] | None = None,
        time_series_time: str | None = None,
        holdout_file: str | None = None,
    ) -> TableEntry:
        """A table and its columns, in the official client's order: the time column, the
        primary key, the foreign keys (``identifier``), then the other typed columns."""
        foreign_keys = check_key_columns(primary_key, foreign_keys, time_series_time)
        types = {str(c): ColumnType(kind).value for c, kind in (types or {}).items()}
        columns: list[dict[str, Any]] = []
        if time_series_time:
            columns.append(
                {
                    "field": time_series_time,
                    "type": types.get(time_series_time),
                    "time_series_time": True,
                }
            )
        if primary_key:
            columns.append(
                {"field": primary_key, "type": types.get(primary_key), "primary_key": True}
            )
        for key in foreign_keys:
            columns.append({"field": key, "type": types.get(key), "identifier": True})
        keys = {primary_key, time_series_time, *foreign_keys}
        columns += [{"field": c, "type": kind} for c, kind in types.items() if c not in keys]
        entry = TableEntry(
            name=name,
            file=file,
            avatar_file=avatar_file,
            columns=columns,
            individual_level=individual_level,
            holdout_file=holdout_file,
        )
        self.tables.pop(name, None)
        self.tables[name] = entry
        return entry

    def primary_key(self, name: str) -> str | None:
        return next(
            (c["field"] for c in self.check_table(name).columns if c.get("primary_key")), None
        )

    def create_link(
        self,
        parent_table_name: str,
        parent_field: str,
        child_table_name: str,
        child_field: str,
        method: LinkMethod | str = LinkMethod.LINEAR_SUM_ASSIGNMENT,
    ) -> dict[str, Any]:
        """A link ``parent.parent_field → child.child_field``, declared on the parent as the
        official client does; the parent field must be its primary key, the child field one
        of its foreign keys."""
        parent = self.check_table(parent_table_name)
        child = self.check_table(child_table_name)
        try:
            kind = LinkMethod(method)
        except ValueError:
            valid = ", ".join(m.value for m in LinkMethod)
            raise ValueError(f"method: {method!r} is not a link method ({valid})") from None
        if parent_field != self.primary_key(parent_table_name):
            raise ValueError(
                f"parent_field: {parent_field!r} is not the primary key of table "
                f"{parent_table_name!r} (add_table(..., primary_key=...))"
            )
        identifiers = [c["field"] for c in child.columns if c.get("identifier")]
        if child_field not in identifiers:
            raise ValueError(
                f"child_field: {child_field!r} is not a foreign key of table "
                f"{child_table_name!r} (add_table(..., foreign_keys=[...]); its foreign keys: "
                f"{identifiers})"
            )
        link = {
            "field": parent_field,
            "to": {"table": child_table_name, "field": child_field},
            "method": kind.value,
        }
        parent.links.append(link)
        return link

    def delete_link(self, parent_table_name: str, child_table_name: str) -> None:
        """Remove the (first) link of the parent to that child, as the official client does."""
        self.check_table(child_table_name)
        links = self.check_table(parent_table_name).links
        for link in links:
            if link["to"]["table"] == child_table_name:
                links.remove(link)
                return
        raise ValueError(
            f"child_table_name: table {parent_table_name!r} has no link to {child_table_name!r}"
        )

    def set_table_parameters(
        self,
        name: str,
        avatarization: dict[str, Any] | None,
        privacy_metrics: dict[str, Any] | None,
        signal_metrics: dict[str, Any] | None,
        time_series: dict[str, Any] | None = None,
        differential_privacy: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        """Replace a table's parameter blocks (``None``: none of that kind;
        ``differential_privacy`` is ``(mapping, block)`` of
        :func:`differential_privacy_block`). The metrics documents are written from now on,
        as the official client does once ``set_parameters`` was called."""
        mapping, dp_block = differential_privacy or (None, None)
        for per_table, block in (
            (self.avatarization, avatarization),
            (self.avatarization_open_dp, dp_block if mapping == "avatarization_open_dp" else None),
            (self.avatarization_fast_dp, dp_block if mapping == "avatarization_fast_dp" else None),
            (self.time_series, time_series),
            (self.privacy_metrics, privacy_metrics),
            (self.signal_metrics, signal_metrics),
        ):
            per_table.pop(name, None)
            if block is not None:
                per_table[name] = block
        self.privacy_metrics_created = True
        self.signal_metrics_created = True

    def delete_table(self, name: str) -> None:
        self.check_table(name)
        del self.tables[name]
        for per_table in (
            self.avatarization,
            self.avatarization_open_dp,
            self.avatarization_fast_dp,
            self.time_series,
            self.privacy_metrics,
            self.signal_metrics,
        ):
            per_table.pop(name, None)
        for table in self.tables.values():
            table.links = [link for link in table.links if link["to"]["table"] != name]

    def create_advice(
        self,
        advisor_type: list[AdviceType] | None = None,
        targets: dict[str, float | str] | None = None,
    ) -> str:
        """An advice document; with ``targets`` (``{metric: threshold}``), the advice searches
        for parameters that meet them (written under ``spec.advice.targets``)."""
        types = [AdviceType(t).value for t in (advisor_type or [AdviceType.PARAMETERS])]
        name = "advice_" + "_".join(types)
        if targets:
            self.advice_targets[name] = dict(targets)
        else:
            self.advice_targets.pop(name, None)
        self.advice[name] = types
        return name

    def create_report(
        self,
        report_type: ReportType | str = ReportType.BASIC,
        output_format: OutputFormat | str = OutputFormat.PDF,
        language: ReportLanguage | str = ReportLanguage.EN,
    ) -> None:
        report_type = ReportType(report_type)
        if report_type == ReportType.PIA:
            output_format = OutputFormat.DOCX  # PIA reports are always DOCX
        self.reports[report_type.value] = (
            OutputFormat(output_format).value,
            ReportLanguage(language).value,
        )

    # -- writing ---------------------------------------------------------------------------
    def documents(self) -> list[dict[str, Any]]:
        """The documents in the official order (protocol.md §4.1)."""
        docs: list[dict[str, Any]] = [
            {
                "kind": MetadataDocument.KIND,
                "metadata": {"name": f"avatar-metadata-{self.display_name}"},
                "spec": {
                    "display_name": self.display_name,
                    "pia_metadata": dict(self.pia_metadata),
                },
                **({"annotations": dict(self.annotations)} if self.annotations else {}),
            }
        ]
        if self.tables:
            docs.extend(self._schema_documents())
        for name, types in self.advice.items():
            docs.append(
                {
                    "kind": AdviceDocument.KIND,
                    "metadata": {"name": name},
                    "spec": {
                        "schema": SCHEMA_NAME,
                        "advice": {
                            "advisor_type": list(types),
                            **(
                                {"targets": dict(self.advice_targets[name])}
                                if name in self.advice_targets
                                else {}
                            ),
                        },
                        "results": {"volume": RESULTS_VOLUME_NAME, "path": "advice"},
                    },
                }
            )
        if self.avatarizes:
            docs.append(self._avatarization_document())
        docs.extend(self._metrics_documents())
        docs.extend(self._report_documents())
        docs.extend(self.extra_documents)
        return docs

    @property
    def avatarizes(self) -> bool:
        """Whether some table has avatarization parameters (k, an epsilon, or a series)."""
        return bool(
            self.avatarization
            or self.avatarization_open_dp
            or self.avatarization_fast_dp
            or self.time_series
        )

    def _schema_documents(self) -> list[dict[str, Any]]:
        # The official client lists the tables given with avatar data first.
        ordered = [t for t in self.tables.values() if t.avatar_file] + [
            t for t in self.tables.values() if not t.avatar_file
        ]
        return [
            {
                "kind": SchemaDocument.KIND,
                "metadata": {"name": SCHEMA_NAME},
                "spec": {"tables": [t.to_schema() for t in self.tables.values()]},
            },
            {
                "kind": SchemaDocument.KIND,
                "metadata": {"name": AVATAR_SCHEMA_NAME},
                "spec": {
                    "tables": [t.to_avatar_schema() for t in ordered],
                    "schema_ref": SCHEMA_NAME,
                },
            },
        ]

    def _avatarization_document(self) -> dict[str, Any]:
        return {
            "kind": AvatarizationDocument.KIND,
            "metadata": {"name": STANDARD},
            "spec": _drop_none(
                {
                    "schema": SCHEMA_NAME,
                    "avatarization": _plain(self.avatarization) or None,
                    "avatarization_open_dp": _plain(self.avatarization_open_dp) or None,
                    "avatarization_fast_dp": _plain(self.avatarization_fast_dp) or None,
                    "time_series": _plain(self.time_series) or None,
                    "results": _drop_none(
                        {
                            "volume": RESULTS_VOLUME_NAME,
                            "path": STANDARD,
                            "max_distribution_plots": self.max_distribution_plots,
                        }
                    ),
                    "seed": self.seed,
                }
            ),
        }

    def _metrics_documents(self) -> list[dict[str, Any]]:
        ref = STANDARD if self.avatarizes else None
        docs = []
        for created, kind, name, per_table in (
            (
                self.privacy_metrics_created,
                PrivacyMetricsDocument.KIND,
                PRIVACY,
                self.privacy_metrics,
            ),
            (self.signal_metrics_created, SignalMetricsDocument.KIND, SIGNAL, self.signal_metrics),
        ):
            if not created:
                continue
            docs.append(
                {
                    "kind": kind,
                    "metadata": {"name": name},
                    "spec": _drop_none(
                        {
                            "schema": AVATAR_SCHEMA_NAME,
                            "avatarization_ref": ref,
                            "time_series": _plain(self.time_series) or None,
                            name: _plain(per_table) or None,
                            "results": {"volume": RESULTS_VOLUME_NAME, "path": name},
                            "seed": self.seed,
                        }
                    ),
                }
            )
        return docs

    def _report_documents(self) -> list[dict[str, Any]]:
        docs = []
        for report_type, (output_format, language) in self.reports.items():
            name = REPORT if report_type == ReportType.BASIC else f"{REPORT}_{report_type}"
            docs.append(
                {
                    "kind": ReportDocument.KIND,
                    "metadata": {"name": name},
                    "spec": {
                        "report_type": report_type,
                        "output_format": output_format,
                        "language": language,
                        "results": {"volume": RESULTS_VOLUME_NAME, "path": name},
                    },
                }
            )
        return docs

    def get_yaml(self, path: str | Path | None = None) -> str:
        """The multi-document YAML; also written to ``path`` when given."""
        text = "\n---\n".join(
            yaml.safe_dump(doc, indent=2, sort_keys=False) for doc in self.documents()
        )
        if self.tables:
            # Fail here, naming the field, rather than at the server.
            parse_resource_set(text)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    # -- reading ---------------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, text: str) -> RunnerConfig:
        """A config from a resource set's YAML (a file written by ``get_yaml`` or the text of
        ``GET /resources/{set_name}``), by either SDK."""
        resources = parse_resource_set(text, check_references=False)
        display_name = resources.display_name or "runner"
        config = cls(display_name, annotations={})
        for doc in resources:
            data = doc.model_dump(mode="json", by_alias=True, exclude_none=True)
            if isinstance(doc, MetadataDocument):
                spec = data.get("spec", {})
                pia = spec.get("pia_metadata") or {}
                config.pia_metadata.update(
                    {k: v for k, v in pia.items() if k in config.pia_metadata}
                )
                config.annotations = dict(data.get("annotations") or {})
            elif isinstance(doc, SchemaDocument):
                if doc.spec.schema_ref:
                    for table in doc.spec.tables:
                        entry = config.tables.get(table.name)
                        if entry and table.avatars_data and table.avatars_data.file:
                            entry.avatar_file = table.avatars_data.file
                    continue
                for table in data["spec"]["tables"]:
                    config.tables[table["name"]] = TableEntry(
                        name=table["name"],
                        file=(table.get("data") or {}).get("file", ""),
                        columns=list(table.get("columns") or []),
                        individual_level=table.get("individual_level"),
                        links=list(table.get("links") or []),
                        holdout_file=(table.get("holdout_data") or {}).get("file"),
                    )
            elif isinstance(doc, AvatarizationDocument):
                raw = _raw_spec(text, doc.name)
                config.avatarization = dict(raw.get("avatarization") or {})
                config.seed = raw.get("seed", config.seed)
                results = raw.get("results") or {}
                config.max_distribution_plots = results.get("max_distribution_plots")
                config.time_series = dict(raw.get("time_series") or {})
                config.avatarization_open_dp = dict(raw.get("avatarization_open_dp") or {})
                config.avatarization_fast_dp = dict(raw.get("avatarization_fast_dp") or {})
            elif isinstance(doc, PrivacyMetricsDocument):
                raw = _raw_spec(text, doc.name)
                config.privacy_metrics_created = True
                config.privacy_metrics = dict(raw.get("privacy_metrics") or {})
                config.seed = raw.get("seed", config.seed)
            elif isinstance(doc, SignalMetricsDocument):
                raw = _raw_spec(text, doc.name)
                config.signal_metrics_created = True
                config.signal_metrics = dict(raw.get("signal_metrics") or {})
            elif isinstance(doc, ReportDocument):
                config.create_report(
                    doc.spec.report_type, doc.spec.output_format, doc.spec.language
                )
            elif isinstance(doc, AdviceDocument):
                config.advice[doc.name] = [
                    AdviceType(t).value for t in doc.spec.advice.advisor_type
                ]
                if doc.spec.advice.targets:
                    config.advice_targets[doc.name] = dict(doc.spec.advice.targets)
            elif doc.kind != "AvatarVolume":
                config.extra_documents.append(data)
        return config


def _raw_documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]


def _raw_document(text: str, name: str) -> dict[str, Any]:
    for doc in _raw_documents(text):
        if (doc.get("metadata") or {}).get("name") == name:
            return doc
    return {}


def _raw_spec(text: str, name: str) -> dict[str, Any]:
    """A document's spec as written (``null``s kept), so a round trip is exact."""
    return dict(_raw_document(text, name).get("spec") or {})
