"""``/users``: the caller, and the users of their organization (admins)."""

from __future__ import annotations

from uuid import UUID

from avatars.api._base import DEFAULT, Facade
from avatars.protocol.wire import CreateUser, CreditsInfo, FeaturesInfo, MeUser, User


class Users(Facade):
    def find_users(
        self,
        email: str | None = None,
        username: str | None = None,
        *,
        timeout: float | None = DEFAULT,
    ) -> list[User]:
        body = self._request(
            "GET", "/users", params={"email": email, "username": username}, timeout=timeout
        )
        return [User.model_validate(item) for item in body or []]

    def create_user(self, request: CreateUser, *, timeout: float | None = DEFAULT) -> User:
        """Create a user in the caller's organization (admins only)."""
        body = self._request("POST", "/users", json_body=request, timeout=timeout)
        return User.model_validate(body)

    def get_me(self, *, timeout: float | None = DEFAULT) -> MeUser:
        """The caller, with the limits of this platform."""
        return MeUser.model_validate(self._request("GET", "/users/me", timeout=timeout))

    def get_credits_info(self, *, timeout: float | None = DEFAULT) -> CreditsInfo:
        return CreditsInfo.model_validate(
            self._request("GET", "/users/credits_info", timeout=timeout)
        )

    def get_features_info(self, *, timeout: float | None = DEFAULT) -> FeaturesInfo:
        return FeaturesInfo.model_validate(
            self._request("GET", "/users/features_info", timeout=timeout)
        )

    def get_user(self, id: UUID | str, *, timeout: float | None = DEFAULT) -> User:
        return User.model_validate(self._request("GET", f"/users/{id}", timeout=timeout))

    def delete_user(self, id: UUID | str, *, timeout: float | None = DEFAULT) -> User:
        """Delete a user of the caller's organization (admins only)."""
        return User.model_validate(self._request("DELETE", f"/users/{id}", timeout=timeout))
