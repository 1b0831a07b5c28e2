"""``avatars avatarize`` and ``avatars advise``: avatarize a CSV or Parquet file locally and
print its metrics and privacy verdict; search the parameters that meet privacy targets.

Identifier columns are refused unless each gets a treatment: ``--drop COL`` (left out of the
table), ``--key COL`` (new keys), ``--pseudonymize COL=STRATEGY`` or an explicit
``--exclude COL=row_order|coordinate_similarity``; ``--not-identifier COL`` avatarizes a column
the detection flags wrongly. The HMAC secret of ``HASH_SHA256`` comes from ``--secret`` or the
``AVATARS_PSEUDONYMIZATION_SECRET`` environment variable; without either, a random secret is
drawn for the run and kept nowhere (the digests cannot then be reproduced by a later run).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from avatars.engine.errors import AvatarsEngineError, IdentifierColumnsError

#: Environment variable holding the HMAC key of HASH_SHA256 pseudonyms.
SECRET_VARIABLE = "AVATARS_PSEUDONYMIZATION_SECRET"


def _split(values: list[str] | None) -> list[str]:
    """``--categorical a,b --categorical c`` → ``[a, b, c]``."""
    return [name.strip() for value in values or [] for name in value.split(",") if name.strip()]


def _parse_types(values: list[str] | None) -> dict[str, str]:
    types = {}
    for item in _split(values):
        column, sep, ctype = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected COLUMN=TYPE, got {item!r}", param_hint="--type")
        types[column.strip()] = ctype.strip()
    return types


@dataclass
class _Treatments:
    """What the options say about columns that are not avatarized as variables."""

    drop: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    pseudonymize: dict[str, str] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=list)  # default method (row order)
    exclude_methods: dict[str, str] = field(default_factory=dict)  # chosen explicitly
    not_identifiers: list[str] = field(default_factory=list)

    @classmethod
    def parse(
        cls,
        drop: list[str] | None,
        key: list[str] | None,
        pseudonymize: list[str] | None,
        exclude: list[str] | None,
        not_identifier: list[str] | None,
        locale: str | None,
    ) -> _Treatments:
        treatments = cls(
            drop=_split(drop), keys=_split(key), not_identifiers=_split(not_identifier)
        )
        for item in _split(pseudonymize):
            column, sep, strategy = item.partition("=")
            if not sep or not strategy.strip():
                raise typer.BadParameter(
                    f"expected COLUMN=STRATEGY (e.g. email=FAKER:EMAIL), got {item!r}",
                    param_hint="--pseudonymize",
                )
            spec: Any = strategy.strip()
            if locale and spec.upper().startswith("FAKER"):
                name, _, pii = spec.partition(":")
                spec = {"kind": name, "pii_type": pii or None, "locale": locale}
            treatments.pseudonymize[column.strip()] = spec
        for item in _split(exclude):
            column, sep, method = item.partition("=")
            if sep:
                treatments.exclude_methods[column.strip()] = method.strip()
            else:
                treatments.exclude.append(column.strip())
        return treatments

    def named(self) -> dict[str, list[str]]:
        """The columns each option names, to check against the file's header."""
        return {
            "--drop": self.drop,
            "--key": self.keys,
            "--pseudonymize": list(self.pseudonymize),
            "--exclude": [*self.exclude, *self.exclude_methods],
            "--not-identifier": self.not_identifiers,
        }

    def not_avatarized(self) -> list[str]:
        return [*self.keys, *self.pseudonymize, *self.exclude, *self.exclude_methods]


#: Checks the parameters the flags set with the protocol's models, in the wording of the
#: server and the SDK (:func:`avatars.protocol.errors.validate_parameters`). Called with YAML
#: pieces ``{"imputation": {...}, "data_augmentation": {...}, "privacy_metrics": {...}}``, it
#: raises a ``ValueError`` whose ``issues`` are ``[(field, problem)]``. The engine may not
#: import the protocol's pydantic models (tests/test_architecture.py): ``avatars.cli``, which
#: assembles the commands, gives it to :func:`register`.
ParameterCheck = Callable[[Mapping[str, Any]], None]
_parameter_check: ParameterCheck | None = None


@dataclass
class _Tuning:
    """The avatarization's parameters beyond k and ncp, as the YAML and ``set_parameters``
    name them (``use_categorical_reduction``, ``imputation``, ``column_weights``,
    ``data_augmentation``, the privacy metrics' ``target`` and ``quantile_threshold``)."""

    categorical_reduction: bool = False
    imputation: dict[str, Any] | None = None
    column_weights: dict[str, Any] = field(default_factory=dict)
    augment: Any = None  # data_augmentation.augmentation_strategy
    augment_target: str | None = None
    anonymize_originals: bool = True  # should_anonymize_original_table
    target: str | None = None
    quantile_threshold: int | None = None

    @classmethod
    def parse(
        cls,
        imputation: tuple[str | None, int | None, float | None, bool],
        column_weight: list[str] | None,
        augment: tuple[str | None, str | None, bool],
        metrics: tuple[str | None, int | None],
        categorical_reduction: bool,
    ) -> _Tuning:
        strategy, augment_target, keep_originals = augment
        if strategy is None and (augment_target is not None or keep_originals):
            _fail("--augment-target and --augment-keep-originals go with --augment")
        return cls(
            categorical_reduction=categorical_reduction,
            imputation=_imputation(*imputation),
            column_weights=_column_weights(column_weight),
            augment=_augmentation_strategy(strategy) if strategy is not None else None,
            augment_target=augment_target,
            anonymize_originals=not keep_originals,
            target=metrics[0],
            quantile_threshold=metrics[1],
        )

    def check(self, ncp: int | None, known: list[str]) -> None:
        """Fail, naming the flag, when a value is out of the protocol's ranges."""
        if _parameter_check is None:
            return  # the engine checks them again when it runs, in its own words
        augmentation = {
            "augmentation_strategy": self.augment,
            "target_column": self.augment_target,
            "should_anonymize_original_table": self.anonymize_originals,
        }
        privacy = {
            "ncp": ncp,
            "column_weights": self.column_weights or None,
            "known_variables": known or None,
            "target": self.target,
            "quantile_threshold": self.quantile_threshold,
        }
        pieces = {
            "imputation": self.imputation,
            "data_augmentation": augmentation if self.augment is not None else None,
            "privacy_metrics": {name: v for name, v in privacy.items() if v is not None},
        }
        try:
            _parameter_check({name: value for name, value in pieces.items() if value})
        except ValueError as exc:
            issues = getattr(exc, "issues", None) or [("", str(exc))]
            _fail("; ".join(_protocol_issue(name, problem) for name, problem in issues))

    def named(self) -> dict[str, list[str]]:
        """The columns each option names, to check against the file's header."""
        return {
            "--column-weight": list(self.column_weights),
            "--augment-target": [self.augment_target] if self.augment_target else [],
            "--target": [self.target] if self.target else [],
        }

    def avatarize_options(self) -> dict[str, Any]:
        """The keyword arguments of ``avatarize`` (and ``augment``) these options set, as the
        server's ``avatarization_options`` gives them."""
        return {
            "column_weights": self.column_weights or None,
            "imputation": self.imputation,
            "categorical_reduction": self.categorical_reduction,
        }


#: The flag that sets each field of the protocol's parameters (the longest prefix wins: the
#: model-wide checks are the augmentation's target and the privacy metrics' target).
_PROTOCOL_FLAGS = {
    "imputation.method": "--imputation",
    "imputation.k": "--imputation-k",
    "imputation.training_fraction": "--imputation-training-fraction",
    "imputation": "--imputation",
    "data_augmentation.augmentation_strategy": "--augment",
    "data_augmentation.target_column": "--augment-target",
    "data_augmentation": "--augment-target",
    "privacy_metrics.ncp": "--ncp",
    "privacy_metrics.column_weights": "--column-weight",
    "privacy_metrics.known_variables": "--known",
    "privacy_metrics.target": "--target",
    "privacy_metrics.quantile_threshold": "--quantile-threshold",
    "privacy_metrics": "--target",
    "differential_privacy.rows_per_individual": "--dp-rows-per-individual",
}


def _protocol_issue(name: str, problem: str) -> str:
    """``--imputation-k: imputation.k: Input should be greater than or equal to 1 (got 0)``:
    the flag, then the protocol's field and problem as the server and the SDK say them."""
    matches = [f for f in _PROTOCOL_FLAGS if name == f or name.startswith(f + ".")]
    flag = _PROTOCOL_FLAGS[max(matches, key=len)] if matches else None
    shown = name.removeprefix("privacy_metrics.")
    text = f"{shown}: {problem}" if shown and shown != "privacy_metrics" else problem
    return f"{flag}: {text}" if flag else text


#: The flag that sets each parameter an engine error may name.
_FLAGS = {
    "k": "-k",
    "ncp": "--ncp",
    "imputation": "--imputation",
    "imputation.method": "--imputation",
    "imputation.k": "--imputation-k",
    "imputation.training_fraction": "--imputation-training-fraction",
    "column_weights": "--column-weight",
    "use_categorical_reduction": "--categorical-reduction",
    "augmentation_strategy": "--augment",
    "data_augmentation": "--augment",
    "target_column": "--augment-target",
    "target": "--target",
    "quantile_threshold": "--quantile-threshold",
    "known_variables": "--known",
}


def _flagged(error: AvatarsEngineError) -> str:
    """An engine error with the flag that set its parameter in front (``--augment:
    invalid parameter 'augmentation_strategy': modality 'd' is not a value of ...``)."""
    flag = _FLAGS.get(getattr(error, "parameter", ""))
    return f"{flag}: {error}" if flag else str(error)


def _imputation(
    method: str | None, k: int | None, fraction: float | None, return_imputed: bool
) -> dict[str, Any] | None:
    """The YAML's ``imputation`` mapping (None: the engine's defaults)."""
    given = {
        "method": method.lower() if method else None,
        "k": k,
        "training_fraction": fraction,
        "return_data_imputed": return_imputed or None,
    }
    return {name: value for name, value in given.items() if value is not None} or None


def _number(text: str) -> float | str:
    """``text`` as a number, or as given for the protocol's check to refuse in its words."""
    try:
        return float(text)
    except ValueError:
        return text


def _column_weights(values: list[str] | None) -> dict[str, Any]:
    """``--column-weight age=2 --column-weight sex=0.5`` → ``{"age": 2.0, "sex": 0.5}``."""
    weights: dict[str, Any] = {}
    for item in _split(values):
        column, sep, raw = item.partition("=")
        if not sep or not column.strip():
            _fail(f"--column-weight: expected COLUMN=WEIGHT (a number > 0), got {item!r}")
        weights[column.strip()] = _number(raw.strip())
    return weights


def _augmentation_strategy(value: str) -> Any:
    """``--augment``: a multiplier (``2``), ``minority``, ``not_majority``, or ratios per
    modality (``yes=3,no=1.5``), as ``data_augmentation.augmentation_strategy``."""
    text = value.strip()
    if "=" in text:
        ratios = (part.partition("=") for part in _split([text]))
        return {modality.strip(): _number(raw.strip()) for modality, _, raw in ratios}
    number = _number(text)
    return number if isinstance(number, float) else text.lower()


#: The pseudonymization proposed in the identifier error, by kind of evidence.
_PROPOSED_STRATEGY = {
    "email": "FAKER:EMAIL",
    "phone": "FAKER:PHONE",
    "national_number": "FAKER:SSN",
    "uuid": "UUID4",
    "unique_text": "UUID4",
}


def identifier_message(error: IdentifierColumnsError) -> str:
    """The identifier error in the CLI's words: each column, why, and the options to choose."""
    lines = [
        "these columns identify individuals, and the avatars must not carry them:",
    ]
    for finding in error.findings:
        lines.append(f"  '{finding['column']}' {finding['evidence']}")
    lines.append("choose, for each column, one of:")
    for finding in error.findings:
        column = finding["column"]
        strategy = _PROPOSED_STRATEGY.get(finding["kind"], "UUID4")
        lines.append(
            f"  --drop {column}   |   --key {column}   |   --pseudonymize {column}={strategy}"
        )
    lines.append(
        "(--drop leaves the column out; --key gives the avatars new keys, never the original "
        "ones; --pseudonymize replaces it: FAKER[:EMAIL|PHONE|FULL_NAME|...], HASH_SHA256, "
        "UUID4, INTEGER. --exclude COLUMN=row_order re-attaches the original values by row "
        "order, which keeps the link to the original records; --not-identifier COLUMN if the "
        "column is not an identifier.)"
    )
    return "\n".join(lines)


def _secret(option: str | None, needed: bool) -> tuple[str | None, str | None]:
    """The HMAC secret and a note to print: ``--secret``, else the environment variable,
    else (only when a column uses HASH_SHA256) a random secret kept nowhere."""
    if option:
        return option, None
    if os.environ.get(SECRET_VARIABLE):
        return os.environ[SECRET_VARIABLE], None
    if not needed:
        return None, None
    note = (
        f"HASH_SHA256 is keyed with a random secret drawn for this run and kept nowhere: its "
        f"digests cannot be reproduced; give --secret or {SECRET_VARIABLE} to make them so"
    )
    return secrets.token_hex(32), note


class _Progress:
    """A progress bar on stderr for long runs (tqdm), quiet for quick ones."""

    @classmethod
    def for_table(cls, table: Any) -> _Progress:
        """A bar for tables of more than 2 million cells when stderr is a terminal."""
        big = len(table) * max(1, table.shape[1]) > 2_000_000
        return cls(enabled=big and sys.stderr.isatty())

    def __init__(self, enabled: bool) -> None:
        self.bar: Any = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(
                total=100, file=sys.stderr, bar_format="{desc:<14}{bar}| {percentage:3.0f}%"
            )

    def __call__(self, fraction: float, phase: str) -> None:
        if self.bar is not None:
            self.bar.set_description_str(phase)
            self.bar.n = round(100 * fraction)
            self.bar.refresh()

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.close()


def format_metrics_table(metrics: list[Any]) -> str:
    """Every metric with its value, target and verdict, as aligned text."""
    rows = [("metric", "value", "target", "verdict")]
    for metric in metrics:
        value = metric.value
        if value is None:
            shown = "n/a"
        elif isinstance(value, float):
            shown = f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"
        else:
            shown = str(value)
        if metric.unit and value is not None and metric.unit != "ratio":
            shown = f"{shown} {metric.unit}".strip()
        verdict = "n/a" if metric.passed is None else ("pass" if metric.passed else "FAIL")
        rows.append((metric.name, shown, metric.target or "", verdict))
    widths = [max(len(str(row[i])) for row in rows) for i in range(4)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def avatarize_command(
    input: Annotated[
        Path,
        typer.Argument(
            help="The table to avatarize (.csv or .parquet).", exists=True, dir_okay=False
        ),
    ],
    k: Annotated[
        int | None,
        typer.Option("-k", "--k", help="Number of neighbours (2 ≤ k < rows); or --dp-epsilon."),
    ] = None,
    dp_epsilon: Annotated[
        float | None,
        typer.Option(
            help="Differentially private avatars with this budget ε in (0, 1000] instead of k "
            "(smaller is more private)."
        ),
    ] = None,
    dp_method: Annotated[
        str,
        typer.Option(
            help="With --dp-epsilon: open (AvatarOpenDP, ε-DP end to end) or fast (AvatarFastDP,"
            " latent-space DP, NOT end to end)."
        ),
    ] = "open",
    dp_mechanism: Annotated[
        str | None,
        typer.Option(help="With --dp-method fast: gaussian (default), gmm or histogram."),
    ] = None,
    dp_rows_per_individual: Annotated[
        int | None,
        typer.Option(
            help="With --dp-epsilon: the most rows one person holds in the table (default 1);"
            " the guarantee then covers a person with all their rows."
        ),
    ] = None,
    ncp: Annotated[
        int | None, typer.Option(help="Projected dimensions for the neighbour search (default 5).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed: the same seed gives byte-identical outputs.")
    ] = None,
    categorical: Annotated[
        list[str] | None, typer.Option(help="Columns to treat as categorical (COL,COL...).")
    ] = None,
    type_: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            help="Column types as COL=TYPE (int, float, bool, category, datetime, datetime_tz).",
        ),
    ] = None,
    drop: Annotated[
        list[str] | None, typer.Option(help="Columns left out of the table and of the avatars.")
    ] = None,
    key: Annotated[
        list[str] | None,
        typer.Option(help="Key columns: the avatars get new keys, never the original ones."),
    ] = None,
    pseudonymize: Annotated[
        list[str] | None,
        typer.Option(
            help="COL=STRATEGY: replace a column by pseudonyms. STRATEGY: FAKER[:EMAIL|"
            "FIRST_NAME|LAST_NAME|FULL_NAME|PHONE|SSN|ADDRESS|FREE_TEXT], HASH_SHA256 (keyed: "
            "--secret), UUID4, INTEGER, CONSTANT:VALUE, SPECIFIC_ID:PATTERN."
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            help="COL or COL=row_order|coordinate_similarity: kept out of the avatarization "
            "and re-attached (by row order unless told; an identifier needs the method)."
        ),
    ] = None,
    not_identifier: Annotated[
        list[str] | None,
        typer.Option(help="Columns the identifier detection flags wrongly: avatarize them."),
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option(help=f"HMAC key of HASH_SHA256 (default: ${SECRET_VARIABLE}, else random)."),
    ] = None,
    locale: Annotated[
        str | None, typer.Option(help="Faker locale of FAKER pseudonyms (default en_US).")
    ] = None,
    holdout: Annotated[
        Path | None,
        typer.Option(
            help="Records of the same population NOT in the input: enables the DCR share and "
            "the membership-inference AUC.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    known: Annotated[
        list[str] | None,
        typer.Option(help="Quasi-identifiers an attacker may know (COL,COL...) for the metrics."),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            help="Privacy metrics: a column the attacker infers from --known (inference metrics)."
        ),
    ] = None,
    quantile_threshold: Annotated[
        int | None,
        typer.Option(help="Privacy metrics: percentile in [0, 100] of 'too close' (default 5)."),
    ] = None,
    categorical_reduction: Annotated[
        bool,
        typer.Option(
            "--categorical-reduction",
            help="Variables of more than 20 modalities enter the neighbour search as an "
            "embedding of ≤ 20 dimensions (use_categorical_reduction).",
        ),
    ] = False,
    imputation: Annotated[
        str | None,
        typer.Option(help="Imputation method: fast_knn (default), knn, mean, median, mode."),
    ] = None,
    imputation_k: Annotated[
        int | None, typer.Option(help="Neighbours of knn and fast_knn imputation (≥ 1, default 5).")
    ] = None,
    imputation_training_fraction: Annotated[
        float | None,
        typer.Option(help="Share of the rows the imputation learns from, in (0, 1] (default all)."),
    ] = None,
    imputation_return_data_imputed: Annotated[
        bool,
        typer.Option(
            "--imputation-return-data-imputed",
            help="Avatars without missing values (otherwise each column's missing count is "
            "reproduced).",
        ),
    ] = False,
    column_weight: Annotated[
        list[str] | None,
        typer.Option(help="COL=WEIGHT (> 0, default 1): the column's weight in the projection."),
    ] = None,
    augment: Annotated[
        str | None,
        typer.Option(
            help="More avatars than records: a multiplier > 1 (2), minority, not_majority "
            "(with --augment-target) or MODALITY=RATIO[,...] (ratios ≥ 1)."
        ),
    ] = None,
    augment_target: Annotated[
        str | None, typer.Option(help="With --augment: the class column to balance.")
    ] = None,
    augment_keep_originals: Annotated[
        bool,
        typer.Option(
            "--augment-keep-originals",
            help="With --augment: SENSITIVE, the output holds the original records themselves "
            "beside the extra avatars (should_anonymize_original_table=false).",
        ),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Where to write the shuffled avatars (default: INPUT.avatars.csv).",
        ),
    ] = None,
    unshuffled_output: Annotated[
        Path | None,
        typer.Option(help="Also write the SENSITIVE unshuffled avatars (row i = avatar of row i)."),
    ] = None,
    metrics_output: Annotated[
        Path | None, typer.Option(help="Write every privacy and signal metric as JSON.")
    ] = None,
    metrics: Annotated[bool, typer.Option(help="Compute privacy and signal metrics.")] = True,
) -> None:
    """Avatarize a table with the avatar method and print its privacy and signal metrics."""
    # Long by its signature: one typer option per parameter, each with its help text.
    declared = _parse_types(type_)
    categorical_columns, known_columns = _split(categorical), _split(known)
    treatments = _Treatments.parse(drop, key, pseudonymize, exclude, not_identifier, locale)
    tuning = _Tuning.parse(
        (imputation, imputation_k, imputation_training_fraction, imputation_return_data_imputed),
        column_weight,
        (augment, augment_target, augment_keep_originals),
        (target, quantile_threshold),
        categorical_reduction,
    )
    tuning.check(ncp, known_columns)
    types = {**declared, **{column: "category" for column in categorical_columns}}
    named = {"--type": list(declared), "--categorical": categorical_columns, **tuning.named()}
    hashed = any(str(v).upper().startswith("HASH") for v in treatments.pseudonymize.values())
    key_secret, note = _secret(secret, hashed)
    try:
        table = _read_input(input, types, {**named, **treatments.named(), "--known": known_columns})
        table = table.drop(columns=treatments.drop)
        types = {c: t for c, t in types.items() if c not in treatments.drop}
        if k is None or dp_epsilon is not None:
            dp = _DPRequest.parse(k, dp_epsilon, dp_method, dp_mechanism, treatments, tuning)
            dp.rows_per_individual = _rows_per_individual(dp_rows_per_individual)
            result = _avatarize_dp(table, dp, ncp, seed, types, tuning, treatments)
            typer.secho(dp.headline(result), err=True, fg=dp.colour(result))
        else:
            if dp_mechanism is not None or dp_method != "open" or dp_rows_per_individual:
                _fail(
                    "--dp-method, --dp-mechanism and --dp-rows-per-individual go with "
                    "--dp-epsilon (not -k)"
                )
            result = _avatarize(table, k, ncp, seed, types, tuning, treatments, key_secret)
        if note:
            typer.echo(note)
        _write_avatars(result, input, output, unshuffled_output)
        _echo_warnings(result.metadata.get("warnings") or [])
        if not metrics:
            return
        held = _read_holdout(holdout, types, treatments) if holdout else None
        privacy, signal = _metrics(table, result, types, held, known_columns, tuning, ncp, seed)
    except IdentifierColumnsError as exc:
        _fail(identifier_message(exc))
    except AvatarsEngineError as exc:
        _fail(_flagged(exc))
    typer.echo("")
    standalone = privacy[0][1]
    typer.echo(format_metrics_table([*standalone.metrics, *signal.metrics]))
    for computation_type, other in privacy[1:]:  # augmented runs (§2.12)
        typer.echo(f"\nprivacy metrics, {computation_type}:")
        typer.echo(format_metrics_table(other.metrics))
    for computation_type, measured in privacy:
        verdict = measured.verdict()
        shown = "" if len(privacy) == 1 else f" ({computation_type})"
        typer.echo("")
        typer.echo(f"privacy verdict{shown}: {verdict.summary()}")
        for change in verdict.changes():
            typer.echo(f"  - {change}")
    if metrics_output:
        document = {
            "input": str(input),
            "avatarization": result.metadata,
            "privacy": standalone.to_dict(),
            "signal": signal.to_dict(),
        }
        if len(privacy) > 1:
            document["privacy_by_computation_type"] = {c: m.to_dict() for c, m in privacy}
        metrics_output.write_text(json.dumps(document, indent=2, default=str))
        typer.echo(f"\nmetrics written to {metrics_output}")


def _avatarize(
    table: Any,
    k: int,
    ncp: int | None,
    seed: int | None,
    types: dict[str, str],
    tuning: _Tuning,
    treatments: _Treatments,
    secret: str | None,
) -> Any:
    """The avatarization of ``table`` (augmented with ``--augment``: the engine's ``augment``,
    as the server runs ``data_augmentation``), with a progress bar for a large one."""
    from avatars.engine import avatarize
    from avatars.engine.augmentation import augment

    options: dict[str, Any] = {
        "ncp": ncp,
        "column_types": types or None,
        **tuning.avatarize_options(),
        "exclude_variables": treatments.exclude or None,
        "exclude_methods": treatments.exclude_methods or None,
        "keys": treatments.keys or None,
        "pseudonymize": treatments.pseudonymize or None,
        "pseudonymization_secret": secret,
        "not_identifiers": treatments.not_identifiers or None,
    }
    if tuning.augment is not None:
        # drawn here when not given: a run that keeps the originals has no base avatarization
        # to report the seed it drew, and every run must be replayable
        seed = secrets.randbits(32) if seed is None else seed
        result = augment(
            table,
            strategy=tuning.augment,
            k=k,
            target_column=tuning.augment_target,
            should_anonymize_original_table=tuning.anonymize_originals,
            seed=seed,
            **options,
        )
        excluded = [*treatments.exclude, *treatments.exclude_methods]
        result.metadata.setdefault(
            "parameters", {"seed": seed, "ncp": ncp, "exclude_variables": excluded}
        )
        return result
    with _Progress.for_table(table) as progress:
        return avatarize(table, k=k, seed=seed, progress=progress, **options)


@dataclass
class _DPRequest:
    """The differential-privacy options of ``avatars avatarize``, checked."""

    epsilon: float
    method: str  # "open" or "fast"
    mechanism: str | None
    rows_per_individual: int = 1

    @classmethod
    def parse(
        cls,
        k: int | None,
        epsilon: float | None,
        method: str,
        mechanism: str | None,
        treatments: _Treatments,
        tuning: _Tuning,
    ) -> _DPRequest:
        from avatars.engine.dp import check_epsilon

        if k is not None:
            _fail(
                "-k and --dp-epsilon are exclusive: k sets the avatar method's neighbourhood, "
                "--dp-epsilon a differential-privacy budget; give one"
            )
        if epsilon is None:
            _fail("give -k (avatars) or --dp-epsilon (differentially private avatars)")
        if method not in ("open", "fast"):
            _fail(f"--dp-method: expected open or fast, got {method!r}")
        if mechanism is not None and method != "fast":
            _fail("--dp-mechanism goes with --dp-method fast")
        if treatments.keys or treatments.pseudonymize or treatments.exclude:
            _fail(
                "--key, --pseudonymize and --exclude are not available with --dp-epsilon: "
                "drop identifier columns (--drop) before a differentially private run"
            )
        if tuning.augment is not None or tuning.categorical_reduction:
            _fail("--augment and --categorical-reduction go with -k (not with --dp-epsilon)")
        try:
            checked = check_epsilon(epsilon)
        except AvatarsEngineError as exc:
            _fail(f"--dp-epsilon: {exc}")
        return cls(checked, method, mechanism)

    def headline(self, result: Any) -> str:
        accounting = result.metadata["differential_privacy"]
        return f"differential privacy: {accounting['statement']}"

    def colour(self, result: Any) -> str:
        end_to_end = result.metadata["differential_privacy"]["end_to_end"]
        return typer.colors.GREEN if end_to_end else typer.colors.YELLOW


def _rows_per_individual(value: int | None) -> int:
    """``--dp-rows-per-individual``, checked as the YAML's ``rows_per_individual`` is (the
    protocol's range and words, through :data:`_parameter_check`)."""
    if value is None:
        return 1
    if _parameter_check is not None:
        try:
            _parameter_check({"differential_privacy": {"rows_per_individual": value}})
        except ValueError as exc:
            issues = getattr(exc, "issues", None) or [("", str(exc))]
            _fail("; ".join(_protocol_issue(name, problem) for name, problem in issues))
    return value


def _avatarize_dp(
    table: Any,
    dp: _DPRequest,
    ncp: int | None,
    seed: int | None,
    types: dict[str, str],
    tuning: _Tuning,
    treatments: _Treatments,
) -> Any:
    """Differentially private avatars of ``table`` (identifier columns refused as for k)."""
    from avatars.engine.dp import avatarize_fast_dp, avatarize_open_dp
    from avatars.engine.identifiers import check_no_identifiers

    check_no_identifiers(
        table,
        column_types=types or None,
        columns=[c for c in table.columns if c not in treatments.not_identifiers],
    )
    common: dict[str, Any] = {
        "epsilon": dp.epsilon,
        "ncp": ncp,
        "seed": seed,
        "column_types": types or None,
        "imputation": tuning.imputation,
        "column_weights": tuning.column_weights or None,
        "rows_per_individual": dp.rows_per_individual,
    }
    with _Progress.for_table(table) as progress:
        if dp.method == "open":
            return avatarize_open_dp(table, progress=progress, **common)
        if dp.mechanism is not None:
            common["mechanism"] = dp.mechanism
        return avatarize_fast_dp(table, progress=progress, **common)


def _echo_warnings(warnings: list[dict[str, Any]]) -> None:
    for warning in warnings:
        typer.secho(f"warning: {warning['message']}", err=True, fg=typer.colors.YELLOW)


def _read_holdout(path: Path, types: dict[str, str], treatments: _Treatments) -> Any:
    from avatars.engine.io import inspect_table, read_table

    layout = inspect_table(path)
    try:
        table = read_table(path, column_types=types or None, sep=layout.separator)
    except AvatarsEngineError as exc:
        _fail(f"--holdout: {exc} ({path.name} read as {layout.describe()})")
    return table.drop(columns=[c for c in treatments.drop if c in table.columns])


def _write_avatars(
    result: Any, input: Path, output: Path | None, unshuffled_output: Path | None
) -> None:
    """Write the shuffled avatars (next to the input by default) and, when asked, the
    SENSITIVE unshuffled ones; say where, with the seed and the time taken."""
    from avatars.engine.io import format_of, write_table

    output = output or input.with_name(f"{input.stem}.avatars{input.suffix or '.csv'}")
    write_table(result.shuffled, output, format_of(output))
    typer.echo(f"avatars written to {output} ({len(result.shuffled):,} rows)")
    if unshuffled_output:
        write_table(result.unshuffled, unshuffled_output, format_of(unshuffled_output))
        typer.echo(f"unshuffled avatars (SENSITIVE) written to {unshuffled_output}")
    seconds = (result.metadata.get("timings_seconds") or {}).get("total")
    took = "" if seconds is None else f", {seconds:.2f} s"
    typer.echo(f"seed {result.metadata['parameters']['seed']}{took}")


def _metrics(
    table: Any,
    result: Any,
    types: dict[str, str],
    holdout: Any,
    known: list[str],
    tuning: _Tuning,
    ncp: int | None,
    seed: int | None,
) -> tuple[list[tuple[str, Any]], Any]:
    """The privacy metrics (in the avatarization's space: same ncp, seed, weights, imputation
    and reduction; with the holdout, the known variables, the target and the quantile threshold
    when given) and the signal metrics of the avatars, both without the columns the
    avatarization did not synthesize (excluded, keys, pseudonymized). The privacy metrics come
    as ``[(computation type, result)]``: ``standalone`` alone, or for an augmented run also
    ``barycentered`` and ``class_balancing_barycenter`` (as the server's documents)."""
    from avatars.engine import privacy_metrics, signal_metrics
    from avatars.engine.augmentation import augmentation_privacy_tables
    from avatars.engine.avatarization import metrics_exclusions

    parameters = result.metadata.get("parameters") or {}
    exclude = metrics_exclusions(result.metadata)
    options: dict[str, Any] = {
        "ncp": parameters.get("ncp", ncp),
        "seed": parameters.get("seed", seed),
        "column_types": types or None,
        "column_weights": tuning.column_weights or None,
        "imputation": tuning.imputation,
        "categorical_reduction": tuning.categorical_reduction,
        "exclude_variables": exclude or None,
        "known_variables": known or None,
        "target": tuning.target,
        "quantile_threshold": tuning.quantile_threshold,
        "holdout": holdout,
        "warnings": result.metadata.get("warnings"),
        "not_identifiers": parameters.get("not_identifiers") or None,
    }
    sources = getattr(result, "sources", None)
    if sources is None:
        pairs = [("standalone", table, result.unshuffled)]
    else:
        # as the server: the ncp asked for (None: the default, capped by each pair's
        # dimensions; the augmented records of one class may have fewer than the table)
        options["ncp"] = ncp
        pairs = [
            (kind.value, originals, avatars)
            for kind, originals, avatars in augmentation_privacy_tables(
                table, result.unshuffled, sources, types or None
            )
        ]
    privacy = [(kind, privacy_metrics(o, a, **options)) for kind, o, a in pairs]
    signal = signal_metrics(
        table, result.shuffled, column_types=types or None, exclude_variables=exclude or None
    )
    return privacy, signal


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)


def _read_input(path: Path, types: dict[str, str], named: dict[str, list[str]]) -> Any:
    """The input table with the types the options give. The columns each option names are
    checked against the file's header first, so that a misspelt name — or a file read with the
    wrong separator — is reported as such, with the columns the file has and how it was read."""
    from avatars.engine.io import inspect_table, read_table

    layout = inspect_table(path)
    for option, columns in named.items():
        _check_columns(option, columns, path, layout)
    try:
        return read_table(path, column_types=types or None, sep=layout.separator)
    except AvatarsEngineError as exc:
        _fail(f"{exc} ({path.name} read as {layout.describe()})")


def _check_columns(option: str, columns: list[str], path: Path, layout: Any) -> None:
    """Fail, naming the option, the unknown columns and the columns the file has (and how it
    was read), when ``option`` names columns that the file lacks."""
    unknown = [c for c in columns if c not in layout.columns]
    if not unknown:
        return
    shown = ", ".join(repr(c) for c in layout.columns[:20])
    more = "" if len(layout.columns) <= 20 else f" (and {len(layout.columns) - 20} more)"
    message = (
        f"{option} names column(s) {', '.join(map(repr, unknown))} that {path.name} does not "
        f"have; read as {layout.describe()}, it has {len(layout.columns)} column(s): "
        f"{shown}{more}"
    )
    if len(layout.columns) == 1 and layout.format == "csv":
        message += "; a single column: is the file separated by another character?"
    listed = [c for c in unknown if ";" in c]
    if listed:
        fixed = ",".join(part.strip() for c in listed for part in c.split(";") if part.strip())
        message += f"; separate column names with commas: {option} {fixed}"
    _fail(message)


def advise_command(
    input: Annotated[
        Path,
        typer.Argument(
            help="The table to advise on (.csv or .parquet).", exists=True, dir_okay=False
        ),
    ],
    target_hidden_rate: Annotated[
        float | None,
        typer.Option(help="Hidden rate to exceed, as a fraction (0.9) or a percentage (90)."),
    ] = None,
    target_dcr_share: Annotated[
        float | None,
        typer.Option(
            help="DCR share to stay below (0.55; 0.5 is ideal): needs --holdout, or a part of "
            "the table is held out."
        ),
    ] = None,
    target_membership_auc: Annotated[
        float | None, typer.Option(help="Membership-inference AUC to stay below (e.g. 0.6).")
    ] = None,
    target_unique_copies: Annotated[
        float | None,
        typer.Option(help="Share of avatars copying a unique record to stay below (0.01)."),
    ] = None,
    target_local_cloaking: Annotated[
        float | None, typer.Option(help="Local cloaking (median) to exceed (e.g. 5).")
    ] = None,
    holdout: Annotated[
        Path | None,
        typer.Option(
            help="Records of the same population NOT in the input, for the membership targets.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    categorical: Annotated[
        list[str] | None, typer.Option(help="Columns to treat as categorical (COL,COL...).")
    ] = None,
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="Column types as COL=TYPE.")
    ] = None,
    drop: Annotated[list[str] | None, typer.Option(help="Columns left out of the table.")] = None,
    key: Annotated[list[str] | None, typer.Option(help="Key columns (not avatarized).")] = None,
    pseudonymize: Annotated[
        list[str] | None, typer.Option(help="COL=STRATEGY: pseudonymized columns (not avatarized).")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(help="Excluded columns (COL or COL=METHOD).")
    ] = None,
    not_identifier: Annotated[
        list[str] | None, typer.Option(help="Columns the identifier detection flags wrongly.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sampling and of every trial.")] = 0,
    max_rows: Annotated[
        int | None, typer.Option(help="Search on a random sample of at most this many rows.")
    ] = None,
    trials: Annotated[bool, typer.Option(help="Include every trial in the JSON.")] = False,
) -> None:
    """Search for the k and ncp that meet privacy targets on this data, and print them as JSON
    with the metrics measured (exit code 1 when no setting meets every target). Without a
    target, print the parameters suggested from the data's shape."""
    from avatars.engine.advice import advise_parameters

    declared = _parse_types(type_)
    categorical_columns = _split(categorical)
    treatments = _Treatments.parse(drop, key, pseudonymize, exclude, not_identifier, None)
    types = {**declared, **{column: "category" for column in categorical_columns}}
    targets = {
        name: _as_percent(value) if percent else value
        for name, value, percent in (
            ("hidden_rate", target_hidden_rate, True),
            ("dcr_share", target_dcr_share, True),
            ("membership_inference_auc", target_membership_auc, False),
            ("unique_copy_share", target_unique_copies, True),
            ("local_cloaking", target_local_cloaking, False),
        )
        if value is not None
    }
    named = {"--type": list(declared), "--categorical": categorical_columns}
    try:
        table = _read_input(input, types, {**named, **treatments.named()})
        table = table.drop(columns=treatments.drop)
        types = {c: t for c, t in types.items() if c not in treatments.drop}
        held = _read_holdout(holdout, types, treatments) if holdout else None
        advice = advise_parameters(
            table,
            column_types=types or None,
            targets=targets or None,
            holdout=held,
            exclude_variables=treatments.not_avatarized() or None,
            not_identifiers=treatments.not_identifiers or None,
            seed=seed,
            max_rows=max_rows,
        )
    except IdentifierColumnsError as exc:
        _fail(identifier_message(exc))
    except AvatarsEngineError as exc:
        _fail(str(exc))
    search = advice.pop("search", None)
    advice.pop("summary", None)
    if search is not None:
        if not trials:
            search.pop("trials", None)
        advice.update({key: value for key, value in search.items() if key not in ("k", "ncp")})
    typer.echo(json.dumps(advice, indent=2, default=str))
    if search is not None and not search["met"]:
        raise typer.Exit(code=1)


def _as_percent(value: float) -> float:
    """A rate given as a fraction (0.9) or a percentage (90), as a percentage."""
    return 100.0 * value if 0 <= value <= 1 else value


def register(app: typer.Typer, check_parameters: ParameterCheck | None = None) -> None:
    """Add ``avatarize`` and ``advise`` to ``app``; ``check_parameters`` (see
    :data:`ParameterCheck`) gives ``avatarize`` the protocol's ranges and wording."""
    global _parameter_check
    _parameter_check = check_parameters
    app.command("avatarize")(avatarize_command)
    app.command("advise")(advise_command)
