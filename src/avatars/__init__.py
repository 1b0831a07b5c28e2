"""avatars: the open Avatar platform (engine, server, SDK and CLI).

The SDK entry points are importable from the top level, as with Octopize's client::

    from avatars import ApiClient, Manager, Runner

They are loaded lazily so that ``import avatars.engine`` does not pull the HTTP stack
and ``import avatars`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["ApiClient", "Manager", "Runner", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from avatars.client import ApiClient
    from avatars.manager import Manager
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
    raise AttributeError(f"module 'avatars' has no attribute {name!r}")
