"""What every facade shares: a reference to its client and the per-call timeout default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from avatars.client import ApiClient

#: ``timeout=DEFAULT`` means "the client's timeout"; ``None`` disables it for one call.
DEFAULT: Any = ...


class Facade:
    def __init__(self, client: ApiClient) -> None:
        # ``client`` is the official client's attribute name; kept for code that reads it.
        self.client = client

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, path, **kwargs)
