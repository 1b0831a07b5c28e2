"""``/api-keys``: long-lived keys sent as ``Authorization: api-key-v1 <key>``."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from avatars.api._base import DEFAULT, Facade
from avatars.protocol.enums import ExpirationDays
from avatars.protocol.wire import ApiKey, CreateApiKeyRequest, CreateApiKeyResponse


class ApiKeys(Facade):
    def list_api_keys(self, *, timeout: float | None = DEFAULT) -> list[ApiKey]:
        body = self._request("GET", "/api-keys", timeout=timeout)
        return [ApiKey.model_validate(item) for item in body or []]

    def create_api_key(
        self,
        request: CreateApiKeyRequest | None = None,
        *,
        name: str | None = None,
        expiration_days: ExpirationDays | int = ExpirationDays.integer_365,
        timeout: float | None = DEFAULT,
    ) -> CreateApiKeyResponse:
        """Create a key; its ``api_key.plaintext`` is shown this once only.

        The answer also supports ``response["api_key"]["plaintext"]``, the way the official
        client's deprecation message reads it from a raw dict.
        """
        if request is None:
            if not name:
                raise ValueError("create_api_key needs a request or a name")
            request = CreateApiKeyRequest(
                name=name, expiration_days=ExpirationDays(expiration_days)
            )
        body = self._request("POST", "/api-keys", json_body=request, timeout=timeout)
        return _SubscriptableKeyResponse.model_validate(body)

    def get_api_key(self, api_key_id: UUID | str, *, timeout: float | None = DEFAULT) -> ApiKey:
        return ApiKey.model_validate(
            self._request("GET", f"/api-keys/{api_key_id}", timeout=timeout)
        )

    def revoke_api_key(self, api_key_id: UUID | str, *, timeout: float | None = DEFAULT) -> Any:
        return self._request("DELETE", f"/api-keys/{api_key_id}", timeout=timeout)

    def revoke_all_api_keys(self, *, timeout: float | None = DEFAULT) -> Any:
        return self._request("DELETE", "/api-keys", timeout=timeout)

    def revoke_api_key_admin(
        self,
        user_id: UUID | str | None = None,
        api_key_id: UUID | str | None = None,
        *,
        timeout: float | None = DEFAULT,
    ) -> Any:
        """Revoke another user's keys (admins): all of a user's, or one by id."""
        if user_id is None and api_key_id is None:
            raise ValueError("revoke_api_key_admin needs user_id or api_key_id")
        params = {
            "user_id": str(user_id) if user_id is not None else None,
            "api_key_id": str(api_key_id) if api_key_id is not None else None,
        }
        return self._request("DELETE", "/api-keys/admin", params=params, timeout=timeout)


class _SubscriptableKeyResponse(CreateApiKeyResponse):
    """``CreateApiKeyResponse`` that can also be read like the official client's dict."""

    def __getitem__(self, key: str) -> Any:
        value = getattr(self, key)
        return value.model_dump(mode="json") if hasattr(value, "model_dump") else value

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except AttributeError:
            return default
