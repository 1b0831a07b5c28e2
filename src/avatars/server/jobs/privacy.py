"""The privacy choices of a resource set, as the engine's arguments.

A single table's YAML says, column by column and parameter by parameter, what becomes of the
columns that identify people; this module reads it so that the job handlers stay one call:

- ``drop: true`` on a column: left out of the table (and of its avatars);
- ``primary_key: true`` or ``identifier: true``: a key — the avatars get new keys, never the
  original ones (the engine's ``keys``);
- ``pseudonymization`` (a strategy object) or ``pseudonymization_strategy`` (+ ``pii_type``):
  replaced by pseudonyms (the engine's ``pseudonymize``); ``HASH_SHA256`` is an HMAC-SHA256
  keyed with the organization's secret (``handlers._pseudonymization_secret``: the platform's
  key keyed again by the organization), never written to a result, a log or a job's message;
- ``identifier: false``: the column is declared not to identify anyone (the detection's false
  alarm), and is avatarized;
- ``exclude_variables``: the columns kept out and re-attached. The official client always
  writes a method (``row_order`` by default), so a ``row_order`` there is not taken as a choice:
  an identifier column excluded that way is refused, with the safe choices. The method is a
  choice when ``explicit_replacement_strategy: true`` says so (this platform's SDK writes it when
  the caller names the method), or when it is ``coordinate_similarity`` (never a default); only
  then may an identifier column get original values back, and the job, the metrics and the
  report say that the output keeps the original association.
- ``holdout_data`` on the table: records the avatarization does not see, for the membership
  metrics and the advice's membership targets.

Any other column that the engine's detection finds to identify people stops the job with a
message naming it and the three safe choices, in the words of the YAML and of both SDKs
(:func:`identifier_choices`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from avatars.protocol.enums import ExcludeVariablesMethod, PseudonymizationStrategy
from avatars.protocol.schema import Table

if TYPE_CHECKING:
    from avatars.engine.errors import IdentifierColumnsError


@dataclass(frozen=True)
class TableTreatments:
    """What the YAML asks for a table's identifying columns, in the engine's terms."""

    drop: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    pseudonymize: dict[str, Any] = field(default_factory=dict)  # column -> strategy object
    not_identifiers: list[str] = field(default_factory=list)
    #: excluded with the default method (identifiers among them are refused)
    exclude: list[str] = field(default_factory=list)
    exclude_method: str = ExcludeVariablesMethod.ROW_ORDER.value
    #: excluded with a method chosen explicitly (identifiers allowed, with a warning)
    exclude_methods: dict[str, str] = field(default_factory=dict)

    @property
    def hashed(self) -> bool:
        """Whether a column is pseudonymized with the keyed hash (and needs the secret)."""
        return any(
            getattr(s, "kind", None) == PseudonymizationStrategy.HASH_SHA256.value
            for s in self.pseudonymize.values()
        )

    def not_avatarized(self) -> list[str]:
        """The columns the avatarization will not synthesize (the advice leaves them out)."""
        return [*self.keys, *self.pseudonymize, *self.exclude, *self.exclude_methods]

    def avatarize_arguments(self, secret: bytes | str | None) -> dict[str, Any]:
        """The keyword arguments of :func:`avatars.engine.avatarize` for these choices."""
        return {
            "exclude_variables": self.exclude or None,
            "exclude_method": self.exclude_method,
            "exclude_methods": self.exclude_methods or None,
            "keys": self.keys or None,
            "pseudonymize": self.pseudonymize or None,
            "pseudonymization_secret": secret,
            "not_identifiers": self.not_identifiers or None,
        }


def table_treatments(table: Table, params: Any) -> TableTreatments:
    """Read ``table``'s columns and the avatarization ``params`` (an
    ``AvatarizationParameters`` or None) into :class:`TableTreatments`."""
    drop, keys, not_identifiers = [], [], []
    pseudonymize: dict[str, Any] = {}
    for column in table.columns or []:
        strategy = column.strategy()
        if column.drop:
            drop.append(column.field)
        elif strategy is not None:
            pseudonymize[column.field] = strategy
        elif column.primary_key or column.identifier:
            keys.append(column.field)
        elif column.identifier is False:
            not_identifiers.append(column.field)
    exclude, method, methods = [], ExcludeVariablesMethod.ROW_ORDER.value, {}
    block = getattr(params, "exclude_variables", None)
    if block is not None and block.variable_names:
        method = (block.replacement_strategy or ExcludeVariablesMethod.ROW_ORDER).value
        chosen = bool(block.explicit_replacement_strategy) or (
            method != ExcludeVariablesMethod.ROW_ORDER.value
        )
        names = [n for n in block.variable_names if n not in drop]
        if chosen:
            methods = dict.fromkeys(names, method)
        else:
            exclude = names
    return TableTreatments(
        drop=drop,
        keys=keys,
        pseudonymize=pseudonymize,
        not_identifiers=not_identifiers,
        exclude=exclude,
        exclude_method=method,
        exclude_methods=methods,
    )


def without_dropped(df: pd.DataFrame, treatments: TableTreatments) -> pd.DataFrame:
    """``df`` without the columns marked ``drop: true`` (those it has)."""
    present = [c for c in treatments.drop if c in df.columns]
    return df.drop(columns=present) if present else df


# -- what a refusal says on the platform ------------------------------------------------------


def identifier_choices(error: IdentifierColumnsError, table: str) -> str:
    """The engine's refusal of identifier columns, followed by how to make each choice in the
    YAML and in the SDKs (the engine's own words name no front end)."""
    names = ", ".join(f"'{c}'" for c in error.columns)
    first = error.columns[0]
    return (
        f"table '{table}': {error}. On this platform — drop: `drop: true` on the column "
        f"(or remove it from the data); key: `primary_key: true` or `identifier: true` on the "
        f"column (add_table(..., primary_key='{first}')); pseudonymize: a `pseudonymization` "
        f"strategy on the column (set_parameters('{table}', pseudonymized_columns={{'{first}': "
        "...}}): FAKER, HASH_SHA256 — keyed with your organization's secret — or UUID4). "
        f"To re-attach the original values of {names} by row order anyway (the avatars then "
        "keep the link to the original records, and every result says so): exclude "
        "it with `explicit_replacement_strategy: true` in exclude_variables (our SDK writes it "
        "when set_parameters is given exclude_variable_method). Not an identifier: "
        f"`identifier: false` on the column (set_parameters('{table}', "
        f"not_identifiers=['{first}']))"
    )


def refusing_identifiers(table: str, run: Callable[[], Any], job_error: type[Exception]) -> Any:
    """``run()``, with an identifier refusal turned into ``job_error`` in the platform's words."""
    from avatars.engine.errors import IdentifierColumnsError

    try:
        return run()
    except IdentifierColumnsError as exc:
        raise job_error(identifier_choices(exc, table)) from None


def warning_messages(metadata: dict[str, Any]) -> list[str]:
    """The engine's warnings that the output keeps a link to the original records, as
    sentences for the job's message."""
    return [
        str(w.get("message") if isinstance(w, dict) else w) for w in metadata.get("warnings") or []
    ]
