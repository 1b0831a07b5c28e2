"""avatars: the open Avatar platform (engine, server, SDK and CLI).

The SDK entry points are importable from the top level, as with Octopize's client::

    from avatars import ApiClient, Manager, Runner
    from avatars import FakeDataStrategy, PiiType  # pseudonymization of identifier columns

They are loaded lazily so that ``import avatars.engine`` does not pull the HTTP stack
and ``import avatars`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "ApiClient",
    "ConstantStrategy",
    "FakeDataStrategy",
    "HashSha256Strategy",
    "IntegerStrategy",
    "JobStatus",
    "Manager",
    "PiiType",
    "PseudonymizationStrategy",
    "Runner",
    "SpecificIdLetterCase",
    "SpecificIdStrategy",
    "Uuid4Strategy",
    "__version__",
]

#: Re-exported as the official client does (from avatar-yaml there, the protocol here).
_ENUMS = frozenset({"JobStatus", "PiiType", "PseudonymizationStrategy", "SpecificIdLetterCase"})
_STRATEGIES = frozenset(
    {
        "ConstantStrategy",
        "FakeDataStrategy",
        "HashSha256Strategy",
        "IntegerStrategy",
        "SpecificIdStrategy",
        "Uuid4Strategy",
    }
)

if TYPE_CHECKING:  # pragma: no cover
    from avatars.client import ApiClient
    from avatars.manager import Manager
    from avatars.protocol.enums import (
        JobStatus,
        PiiType,
        PseudonymizationStrategy,
        SpecificIdLetterCase,
    )
    from avatars.protocol.schema import (
        ConstantStrategy,
        FakeDataStrategy,
        HashSha256Strategy,
        IntegerStrategy,
        SpecificIdStrategy,
        Uuid4Strategy,
    )
    from avatars.runner import Runner


def __getattr__(name: str) -> Any:
    if name == "ApiClient":
        from avatars.client import ApiClient

        return ApiClient
    if name == "Manager":
        from avatars.manager import Manager

        return Manager
    if name == "Runner":
        from avatars.runner import Runner

        return Runner
    if name in _ENUMS:
        from avatars.protocol import enums

        return getattr(enums, name)
    if name in _STRATEGIES:
        from avatars.protocol import schema

        return getattr(schema, name)
    raise AttributeError(f"module 'avatars' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
