"""``GET /openapi.json``."""

from __future__ import annotations

from typing import Any

from avatars.api._base import DEFAULT, Facade


class Openapi(Facade):
    def get_openapi_schema(self, *, timeout: float | None = DEFAULT) -> Any:
        return self._request("GET", "/openapi.json", auth=False, timeout=timeout)
