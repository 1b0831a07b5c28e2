"""Health endpoints (public)."""

from __future__ import annotations

from typing import Any

from avatars.api._base import DEFAULT, Facade


class Health(Facade):
    def get_root(self, *, timeout: float | None = DEFAULT) -> Any:
        return self._request("GET", "/", auth=False, timeout=timeout)

    def get_health(self, *, timeout: float | None = DEFAULT) -> Any:
        """Is the server up? Any JSON object (Tutorial 1 prints it)."""
        return self._request("GET", "/health", auth=False, timeout=timeout)

    def get_health_db(self, *, timeout: float | None = DEFAULT) -> Any:
        """Can the server reach its database?"""
        return self._request("GET", "/health/db", auth=False, timeout=timeout)
