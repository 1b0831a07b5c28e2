"""``avatar_yaml.models.schema``: the schema names notebooks import (see :mod:`avatar_yaml`)."""

from avatars.protocol.enums import ColumnType, LinkMethod, PiiType, SpecificIdLetterCase
from avatars.protocol.schema import (
    ConstantStrategy,
    FakeDataStrategy,
    HashSha256Strategy,
    IntegerStrategy,
    SpecificIdStrategy,
    Uuid4Strategy,
)

__all__ = [
    "ColumnType",
    "ConstantStrategy",
    "FakeDataStrategy",
    "HashSha256Strategy",
    "IntegerStrategy",
    "LinkMethod",
    "PiiType",
    "SpecificIdLetterCase",
    "SpecificIdStrategy",
    "Uuid4Strategy",
]
