"""``GET /check_client``: does the server accept this client version?"""

from __future__ import annotations

from avatars.api._base import DEFAULT, Facade
from avatars.protocol.wire import CompatibilityResponse


class Compatibility(Facade):
    def is_client_compatible(self, *, timeout: float | None = DEFAULT) -> CompatibilityResponse:
        """The server's verdict on our ``User-Agent`` (no authentication needed)."""
        body = self._request("GET", "/check_client", auth=False, timeout=timeout)
        return CompatibilityResponse.model_validate(body)
