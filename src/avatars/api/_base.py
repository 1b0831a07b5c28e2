"""What every facade shares: the transport it sends requests with, and the timeout default.

Facades depend on :class:`avatars._http.Transport` (auth headers, retries, timeouts, errors),
never on :class:`avatars.client.ApiClient`: the client builds the transport and composes the
facades over it, so the dependency goes one way only.
"""

from __future__ import annotations

from typing import Any

from avatars._http import DEFAULT, Transport

__all__ = ["DEFAULT", "Facade"]


class Facade:
    """A group of endpoints over one transport.

    ``client`` is the object that composed this facade (the ``ApiClient``), kept under the
    official client's attribute name for code that reads it; facades never call it.
    """

    def __init__(self, transport: Transport, client: object = None) -> None:
        self._transport = transport
        self.client = client

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._transport.request(method, path, **kwargs)
