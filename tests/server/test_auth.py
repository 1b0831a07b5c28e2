"""Authentication: login, token refresh after expiry, rate limit, password reset, API keys."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import update

from avatars.models import ApiKey, CreateApiKeyResponse, LoginResponse
from avatars.server.clock import ManualClock


# PostgreSQL too: logins match e-mails case-insensitively, which each database does its own way.
@pytest.mark.backends("sqlite", "postgres")
def test_login_by_email_or_username(platform: Any) -> None:
    email = f"login-{uuid.uuid4().hex[:8]}@example.com"
    response = platform.http.post(
        f"{platform.api_url}/users",
        json={"email": email, "username": f"name-{email[:14]}", "password": "secret-password"},
        headers=platform.admin.headers,
    )
    assert response.status_code == 200, response.text
    username = response.json()["username"]
    for login in (email, email.upper(), username):
        tokens = LoginResponse.model_validate(platform.login(login, "secret-password"))
        assert tokens.token_type == "bearer" and tokens.refresh_token
        me = platform.http.get(
            f"{platform.api_url}/users/me",
            headers={"Authorization": f"Bearer {tokens.access_token}"},
        )
        assert me.status_code == 200 and me.json()["email"] == email
    wrong = platform.http.post(
        f"{platform.api_url}/login", data={"username": email, "password": "nope-nope"}
    )
    assert wrong.status_code == 401
    assert "incorrect" in wrong.json()["message"]
    assert "credentials expired" not in wrong.text
    unknown = platform.http.post(
        f"{platform.api_url}/login", data={"username": "ghost@x.org", "password": "x"}
    )
    assert unknown.status_code == 401
    bad_grant = platform.http.post(
        f"{platform.api_url}/login",
        data={"username": email, "password": "secret-password", "grant_type": "client"},
    )
    assert bad_grant.status_code == 422


def test_unauthenticated_requests_get_401_with_a_message(platform: Any) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic abc"},
        {"Authorization": "api-key-v1 avatars_api_key.nope.nope"},
    ):
        response = platform.http.get(f"{platform.api_url}/jobs", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"] == "application/json"
        assert response.json()["message"].lower().startswith("not authenticated")


# PostgreSQL too: failures are counted in a table, over a time window (timestamp arithmetic).
@pytest.mark.backends("sqlite", "postgres")
def test_repeated_failed_logins_are_rate_limited(platform: Any) -> None:
    user = platform.new_user(with_key=False)
    url = f"{platform.api_url}/login"
    for _ in range(5):
        assert (
            platform.http.post(
                url, data={"username": user.email, "password": "wrong-pw"}
            ).status_code
            == 401
        )
    blocked = platform.http.post(url, data={"username": user.email, "password": user.password})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "too many failed logins" in blocked.json()["message"]
    assert blocked.json()["detail"]["retry_after"] == int(blocked.headers["Retry-After"])
    # Another user from the same address is not affected.
    other = platform.new_user(with_key=False)
    assert (
        platform.http.post(
            url, data={"username": other.email, "password": other.password}
        ).status_code
        == 200
    )


def test_expired_access_token_then_refresh(platform_factory: Any) -> None:
    clock = ManualClock()  # the platform's time, moved by the test (access tokens: 15 minutes)
    platform = platform_factory(clock=clock, run_jobs=False)
    tokens = platform.login(platform.admin.email, platform.admin.password)
    me = f"{platform.api_url}/users/me"
    assert (
        platform.http.get(
            me, headers={"Authorization": f"Bearer {tokens['access_token']}"}
        ).status_code
        == 200
    )
    clock.advance(minutes=16)
    expired = platform.http.get(me, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert expired.status_code == 401
    # What the official client looks for to refresh (protocol.md §2.2).
    assert "credentials expired" in expired.json()["detail"]["message"]

    # The client sends the expired bearer along with the refresh: it must not matter.
    refreshed = platform.http.post(
        f"{platform.api_url}/refresh",
        params={"token": tokens["refresh_token"]},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert refreshed.status_code == 200, refreshed.text
    new = LoginResponse.model_validate(refreshed.json())
    assert new.refresh_token and new.refresh_token != tokens["refresh_token"]
    assert (
        platform.http.get(me, headers={"Authorization": f"Bearer {new.access_token}"}).status_code
        == 200
    )

    # Refresh tokens are single use; replaying one revokes the whole session.
    replay = platform.http.post(
        f"{platform.api_url}/refresh", params={"token": tokens["refresh_token"]}
    )
    assert replay.status_code == 401 and "already used" in replay.json()["message"]
    assert "credentials expired" not in replay.text
    after = platform.http.post(f"{platform.api_url}/refresh", params={"token": new.refresh_token})
    assert after.status_code == 401

    bogus = platform.http.post(f"{platform.api_url}/refresh", params={"token": "bogus"})
    assert bogus.status_code == 401


def test_logout_revokes_the_session(platform: Any) -> None:
    tokens = platform.login(platform.admin.email, platform.admin.password)
    other = platform.login(platform.admin.email, platform.admin.password)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert platform.http.get(f"{platform.api_url}/users/me", headers=headers).status_code == 200
    assert platform.http.post(f"{platform.api_url}/logout", headers=headers).status_code == 200
    response = platform.http.post(
        f"{platform.api_url}/refresh", params={"token": tokens["refresh_token"]}
    )
    assert response.status_code == 401
    # The access token dies with its session, before its own expiry.
    after = platform.http.get(f"{platform.api_url}/users/me", headers=headers)
    assert after.status_code == 401
    assert "logged out" in after.json()["detail"]["message"]
    # Another session of the same user is untouched.
    still = {"Authorization": f"Bearer {other['access_token']}"}
    assert platform.http.get(f"{platform.api_url}/users/me", headers=still).status_code == 200


def test_forgotten_and_reset_password(platform: Any) -> None:
    user = platform.new_user(with_key=False)
    tokens = platform.login(user.email, user.password)
    url = platform.api_url
    sent = platform.http.post(f"{url}/login/forgotten_password", json={"email": user.email})
    unknown = platform.http.post(
        f"{url}/login/forgotten_password", json={"email": "nobody@example.com"}
    )
    assert sent.status_code == unknown.status_code == 200
    assert sent.json() == unknown.json()  # does not reveal who exists
    token = platform.reset_token(user.email)

    body = {"email": user.email, "new_password": "brand-new-pass", "token": token}
    mismatch = platform.http.post(
        f"{url}/login/reset_password", json={**body, "new_password_repeated": "other-pass"}
    )
    assert mismatch.status_code == 400 and "different" in mismatch.json()["message"]
    wrong_token = platform.http.post(
        f"{url}/login/reset_password",
        json={**body, "new_password_repeated": "brand-new-pass", "token": str(uuid.uuid4())},
    )
    assert wrong_token.status_code == 400
    ok = platform.http.post(
        f"{url}/login/reset_password", json={**body, "new_password_repeated": "brand-new-pass"}
    )
    assert ok.status_code == 200, ok.text
    assert platform.login(user.email, "brand-new-pass")["access_token"]
    old = platform.http.post(
        f"{url}/login", data={"username": user.email, "password": user.password}
    )
    assert old.status_code == 401
    # Single use; the sessions opened before the reset are over.
    again = platform.http.post(
        f"{url}/login/reset_password", json={**body, "new_password_repeated": "brand-new-pass"}
    )
    assert again.status_code == 400
    assert (
        platform.http.post(f"{url}/refresh", params={"token": tokens["refresh_token"]}).status_code
        == 401
    )
    before = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert platform.http.get(f"{url}/users/me", headers=before).status_code == 401


def test_api_key_lifecycle(platform: Any) -> None:
    user = platform.new_user(with_key=False)
    tokens = platform.login(user.email, user.password)
    bearer = platform.client(token=tokens["access_token"])
    created = bearer.post("/api-keys", json={"name": "laptop", "expiration_days": 60})
    assert created.status_code == 200, created.text
    body = CreateApiKeyResponse.model_validate(created.json())
    key = body.api_key.plaintext
    assert len(key) == 96 and key.startswith("avatars_api_key.")
    assert str(body.api_key.id) in key
    expires = body.api_key.expires_at - body.api_key.created_at
    assert dt.timedelta(days=59) < expires <= dt.timedelta(days=60, seconds=1)
    assert bearer.post("/api-keys", json={"name": "x", "expiration_days": 7}).status_code == 422

    with_key = platform.client(key)
    assert with_key.get("/users/me").json()["email"] == user.email
    listed = [ApiKey.model_validate(k) for k in bearer.get("/api-keys").json()]
    assert [k.id for k in listed] == [body.api_key.id]
    assert "plaintext" not in bearer.get("/api-keys").text
    fetched = ApiKey.model_validate(bearer.get(f"/api-keys/{body.api_key.id}").json())
    assert fetched.last_used_at is not None  # the call above used it

    revoked = bearer.delete(f"/api-keys/{body.api_key.id}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    rejected = with_key.get("/users/me")
    assert rejected.status_code == 401 and "revoked" in rejected.json()["message"]

    # Revoke all.
    keys = [
        bearer.post("/api-keys", json={"name": f"k{i}", "expiration_days": 30}).json()
        for i in range(2)
    ]
    assert bearer.delete("/api-keys").json()["message"] == "revoked 2 API key(s)"
    for k in keys:
        assert platform.client(k["api_key"]["plaintext"]).get("/jobs").status_code == 401


def test_admin_revokes_keys_of_their_organization_only(platform: Any) -> None:
    member = platform.new_user()
    admin = platform.client(platform.admin.api_key)
    key_id = platform.client(member.api_key).get("/api-keys").json()[0]["id"]

    assert (
        platform.client(member.api_key)
        .delete("/api-keys/admin", params={"user_id": member.id})
        .status_code
        == 403
    )
    assert admin.delete("/api-keys/admin").status_code == 400
    response = admin.delete("/api-keys/admin", params={"api_key_id": key_id})
    assert response.status_code == 200 and "revoked 1" in response.json()["message"]
    assert platform.client(member.api_key).get("/jobs").status_code == 401

    member.api_key = platform.create_api_key(member.email, member.password)
    assert (
        admin.delete("/api-keys/admin", params={"user_id": member.id}).json()["message"]
        == "revoked 1 API key(s)"
    )
    assert platform.client(member.api_key).get("/jobs").status_code == 401

    stranger = platform.new_user(organization=f"org-{uuid.uuid4().hex[:6]}")
    assert admin.delete("/api-keys/admin", params={"user_id": stranger.id}).status_code == 404
    stranger_key = platform.client(stranger.api_key).get("/api-keys").json()[0]["id"]
    assert admin.delete("/api-keys/admin", params={"api_key_id": stranger_key}).status_code == 404
    assert platform.client(stranger.api_key).get("/jobs").status_code == 200


# PostgreSQL too: expiry compares time-zone-aware timestamps, stored differently by each database.
@pytest.mark.backends("sqlite", "postgres")
def test_expired_api_key_is_refused(platform: Any) -> None:
    from avatars.server.db.models import ApiKey as ApiKeyRow

    user = platform.new_user()
    client = platform.client(user.api_key)
    key_id = uuid.UUID(client.get("/api-keys").json()[0]["id"])
    with platform.database_session() as session:
        session.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key_id)
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    response = client.get("/jobs")
    assert response.status_code == 401 and "expired" in response.json()["message"]
    assert "credentials expired" not in response.text  # no pointless refresh by the client


def test_reset_token_delivered_by_email(platform_factory: Any) -> None:
    """With SMTP configured the token goes by e-mail (a real SMTP server with login), not to
    the log."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from stack import free_port

    received: list[Any] = []
    logins: list[tuple[bytes, bytes]] = []

    class Inbox:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 Message accepted for delivery"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"smtp-secret")

    port = free_port()
    controller = Controller(
        Inbox(),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        env = {
            "AVATAR_ADMIN_EMAIL": "dpo@example.com",
            "AVATAR_ADMIN_PASSWORD": "admin-password-1",
            "AVATAR_SMTP_HOST": "127.0.0.1",
            "AVATAR_SMTP_PORT": str(port),
            "AVATAR_SMTP_STARTTLS": "false",
            "AVATAR_SMTP_USER": "platform",
            "AVATAR_SMTP_PASSWORD": "smtp-secret",
            "AVATAR_SMTP_FROM": "avatars@hospital.example",
        }
        platform = platform_factory(env=env, run_jobs=False)
        url = platform.api_url
        response = platform.http.post(
            f"{url}/login/forgotten_password", json={"email": "dpo@example.com"}
        )
        assert response.status_code == 200
        deadline = time.monotonic() + 20
        while not received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert received, f"no e-mail arrived; server log:\n{platform.log()}"
        assert logins == [(b"platform", b"smtp-secret")]
        envelope = received[0]
        assert envelope.mail_from == "avatars@hospital.example"
        assert envelope.rcpt_tos == ["dpo@example.com"]
        text = envelope.content.decode()
        found = re.search(r"reset token is: ([0-9a-f-]{36})", text)
        assert found, text
        token = found.group(1)
        reset = platform.http.post(
            f"{url}/login/reset_password",
            json={
                "email": "dpo@example.com",
                "token": token,
                "new_password": "brand-new-pass",
                "new_password_repeated": "brand-new-pass",
            },
        )
        assert reset.status_code == 200, reset.text
        login = platform.http.post(
            f"{url}/login", data={"username": "dpo@example.com", "password": "brand-new-pass"}
        )
        assert login.status_code == 200
        log = platform.log()
        assert token not in log and "smtp-secret" not in log
    finally:
        controller.stop()
