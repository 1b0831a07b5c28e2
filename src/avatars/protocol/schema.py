"""The ``AvatarSchema`` document's pieces: tables, columns, keys, links, pseudonymization.

Field names and values are avatar-yaml's (0.1.37 for clients up to 1.25, 0.1.45/0.1.46 for
1.30; protocol.md §4). Every field either version can write is modelled, with its type, so the
server refuses a wrong value naming the field, whatever the engine can run today.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from avatars.protocol.enums import (
    ColumnType,
    LinkMethod,
    PiiType,
    PseudonymizationStrategy,
    SpecificIdLetterCase,
)

__all__ = [
    "Column",
    "ConstantStrategy",
    "FakeDataStrategy",
    "HashSha256Strategy",
    "IntegerStrategy",
    "Link",
    "LinkTarget",
    "PseudonymizationSpec",
    "SpecificIdStrategy",
    "Table",
    "TableData",
    "Uuid4Strategy",
]


class _Spec(BaseModel):
    # Unknown fields are kept: a newer client's additions survive a round trip.
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class TableData(_Spec):
    """Where a table's data is: ``{volume, file}`` or, for avatars, ``{auto: true}``."""

    volume: str | None = None
    file: str | None = None
    auto: bool | None = None


# -- pseudonymization strategies (avatar-yaml 0.1.45+: objects tagged by ``kind``) ------------


class FakeDataStrategy(_Spec):
    """Realistic fake values of ``pii_type`` (Faker). ``consistent``: equal inputs get equal
    pseudonyms within a run."""

    kind: Literal["FAKER"] = "FAKER"
    pii_type: PiiType
    consistent: bool = True
    high_variability: bool = False


class HashSha256Strategy(_Spec):
    """A keyed SHA-256 digest of the value (HMAC with the project's secret on this platform)."""

    kind: Literal["HASH_SHA256"] = "HASH_SHA256"


class Uuid4Strategy(_Spec):
    kind: Literal["UUID4"] = "UUID4"
    consistent: bool = True


class ConstantStrategy(_Spec):
    kind: Literal["CONSTANT"] = "CONSTANT"
    value: str


class IntegerStrategy(_Spec):
    kind: Literal["INTEGER"] = "INTEGER"
    consistent: bool = True


class SpecificIdStrategy(_Spec):
    kind: Literal["SPECIFIC_ID"] = "SPECIFIC_ID"
    pattern: Annotated[str, Field(min_length=1)]
    letter_case: SpecificIdLetterCase = SpecificIdLetterCase.BOTH
    consistent: bool = True


PseudonymizationSpec = Annotated[
    FakeDataStrategy
    | HashSha256Strategy
    | Uuid4Strategy
    | ConstantStrategy
    | IntegerStrategy
    | SpecificIdStrategy,
    Field(discriminator="kind"),
]


class Column(_Spec):
    field: Annotated[str, Field(min_length=1)]
    type: ColumnType | None = None
    value_type: str | None = None
    identifier: bool | None = None
    primary_key: bool | None = None
    time_series_time: bool | None = None
    # avatar-yaml 0.1.37: a flat strategy name and the PII type for FAKER
    pii_type: PiiType | None = None
    pseudonymization_strategy: PseudonymizationStrategy | None = None
    # avatar-yaml 0.1.45+: a strategy object
    pseudonymization: PseudonymizationSpec | None = None
    drop: bool | None = None

    def strategy(self) -> Any:
        """The column's pseudonymization as a strategy object, whichever form the YAML used;
        None when it has none."""
        if self.pseudonymization is not None:
            return self.pseudonymization
        strategy = self.pseudonymization_strategy
        if strategy is None:
            return None
        if strategy == PseudonymizationStrategy.FAKER:
            return FakeDataStrategy(pii_type=self.pii_type or PiiType.FREE_TEXT)
        if strategy == PseudonymizationStrategy.HASH_SHA256:
            return HashSha256Strategy()
        if strategy == PseudonymizationStrategy.UUID4:
            return Uuid4Strategy()
        if strategy == PseudonymizationStrategy.INTEGER:
            return IntegerStrategy()
        return None  # CONSTANT and SPECIFIC_ID need fields the flat form cannot carry


class LinkTarget(_Spec):
    table: Annotated[str, Field(min_length=1)]
    field: Annotated[str, Field(min_length=1)]


class Link(_Spec):
    """``field`` of the table that declares the link points at ``to.table``'s ``to.field``."""

    field: Annotated[str, Field(min_length=1)]
    to: LinkTarget
    method: LinkMethod


class Table(_Spec):
    name: Annotated[str, Field(min_length=1)]
    data: TableData | None = None
    individual_level: bool | None = None
    avatars_data: TableData | None = None
    #: Records of the same population that the avatarization does not see (this platform's
    #: extension): enables the membership metrics (DCR share, membership-inference AUC) and
    #: the membership targets of the advice.
    holdout_data: TableData | None = None
    columns: list[Column] | None = None
    links: list[Link] | None = None

    def column_types(self) -> dict[str, ColumnType]:
        """``{column: type}`` for the columns whose type the schema gives."""
        return {c.field: c.type for c in self.columns or [] if c.type is not None}

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns or [] if c.field == name), None)

    @property
    def primary_key(self) -> str | None:
        return next((c.field for c in self.columns or [] if c.primary_key), None)

    @property
    def time_series_time(self) -> str | None:
        return next((c.field for c in self.columns or [] if c.time_series_time), None)
