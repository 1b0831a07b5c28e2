"""``/login``, ``/refresh`` and the password-reset flow."""

from __future__ import annotations

from typing import Any

from avatars.api._base import DEFAULT, Facade
from avatars.protocol.wire import ForgottenPasswordRequest, LoginResponse, ResetPasswordRequest


class Auth(Facade):
    def login(
        self,
        request: Any = None,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float | None = DEFAULT,
    ) -> LoginResponse:
        """Exchange a username (or e-mail) and password for tokens.

        ``request`` may be any object with ``username`` and ``password`` attributes (the
        official ``Login`` model) or a mapping; the keywords work too. The password is sent
        in clear in the form body, never masked (the official 1.20-1.25 clients send
        ``**********`` through a ``SecretStr``, protocol.md §1.1).
        """
        if request is not None:
            username = _field(request, "username")
            password = _field(request, "password")
        if not username or password is None:
            raise ValueError("login needs a username and a password")
        if hasattr(password, "get_secret_value"):
            password = password.get_secret_value()
        form = {"username": username, "password": password, "scope": ""}
        body = self._request("POST", "/login", form=form, auth=False, timeout=timeout)
        return LoginResponse.model_validate(body)

    def refresh(
        self, token: str | None = None, *, timeout: float | None = DEFAULT
    ) -> LoginResponse:
        """New tokens for a refresh token (``POST /refresh?token=``)."""
        body = self._request(
            "POST",
            "/refresh",
            params={"token": token},
            auth=False,
            timeout=timeout,
            refresh_on_expiry=False,
        )
        return LoginResponse.model_validate(body)

    def forgotten_password(
        self, request: ForgottenPasswordRequest | str, *, timeout: float | None = DEFAULT
    ) -> Any:
        """Ask for a password-reset e-mail."""
        if isinstance(request, str):
            request = ForgottenPasswordRequest(email=request)
        return self._request(
            "POST", "/login/forgotten_password", json_body=request, auth=False, timeout=timeout
        )

    def reset_password(
        self, request: ResetPasswordRequest, *, timeout: float | None = DEFAULT
    ) -> Any:
        """Set a new password with the token of the reset e-mail."""
        return self._request(
            "POST", "/login/reset_password", json_body=request, auth=False, timeout=timeout
        )

    def logout(self, *, timeout: float | None = DEFAULT) -> Any:
        """Revoke the current session's tokens."""
        return self._request("POST", "/logout", timeout=timeout)


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)
