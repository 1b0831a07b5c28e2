"""``/resources``: the YAML resource sets that describe runs."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from avatars.api._base import DEFAULT, Facade
from avatars.protocol.wire import ResourceSetResponse

YAML_HEADERS = {"Content-Type": "application/yaml"}


class Resources(Facade):
    def put_resources(
        self, display_name: str, yaml_string: str, *, timeout: float | None = DEFAULT
    ) -> ResourceSetResponse:
        """Create a new set (a new ``set_name``) from a complete multi-document YAML."""
        body = self._request(
            "PUT",
            f"/resources/{display_name}",
            content=yaml_string.encode("utf-8"),
            headers=YAML_HEADERS,
            timeout=timeout,
        )
        return ResourceSetResponse.model_validate(body)

    def get_resources(self, set_name: UUID | str, *, timeout: float | None = DEFAULT) -> str:
        """The YAML of a set, as text."""
        body = self._request("GET", f"/resources/{set_name}", timeout=timeout)
        return body.decode("utf-8") if isinstance(body, bytes) else str(body)

    def create_resource(
        self, set_name: UUID | str, yaml_string: str, *, timeout: float | None = DEFAULT
    ) -> ResourceSetResponse:
        """Append documents to an existing set."""
        body = self._request(
            "POST",
            f"/resources/{set_name}",
            content=yaml_string.encode("utf-8"),
            headers=YAML_HEADERS,
            timeout=timeout,
        )
        return ResourceSetResponse.model_validate(body)

    def get_user_volume(
        self,
        volume_name: str,
        purpose: str,
        set_name: UUID | str | None = None,
        display_name: str | None = None,
        *,
        timeout: float | None = DEFAULT,
    ) -> Any:
        """The ``AvatarVolume`` YAML of a set's ``input`` or ``results`` volume."""
        params = {
            "volume_name": volume_name,
            "purpose": purpose,
            "set_name": str(set_name) if set_name is not None else None,
            "display_name": display_name,
        }
        return self._request("GET", "/resources/volume", params=params, timeout=timeout)
