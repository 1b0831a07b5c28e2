"""Users: admins manage their organization; users see themselves; limits in /users/me."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from avatars.models import FeaturesInfo, MeUser, User
from server_helpers import create_job, create_set

IRIS = Path(__file__).resolve().parents[2] / "src" / "avatars" / "data" / "iris.csv"


# PostgreSQL too: e-mails are unique whatever their case, which each database does its own way.
@pytest.mark.backends("sqlite", "postgres")
def test_admin_creates_users_in_their_organization(platform: Any) -> None:
    admin = platform.client(platform.admin.api_key)
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    created = admin.post("/users", json={"email": email, "password": "long-enough-pw"})
    assert created.status_code == 200, created.text
    user = User.model_validate(created.json())
    assert str(user.organization_id) == platform.admin.organization_id
    assert user.role == "user" and user.email == email
    assert (
        admin.post(
            "/users", json={"email": email.upper(), "password": "long-enough-pw"}
        ).status_code
        == 409
    )
    assert (
        admin.post(
            "/users", json={"email": "not-an-email", "password": "long-enough-pw"}
        ).status_code
        == 422
    )
    short = admin.post("/users", json={"email": f"x{email}", "password": "short"})
    assert short.status_code == 422 and "at least 8" in short.json()["message"]
    # 1.20's CreateUser may carry only a username: an e-mail-like one is used as the e-mail.
    only_name = admin.post("/users", json={"username": f"n{email}", "password": "long-enough-pw"})
    assert only_name.status_code == 200 and only_name.json()["email"] == f"n{email}"

    listed = [User.model_validate(u) for u in admin.get("/users").json()]
    assert email in [u.email for u in listed]
    assert [
        u.email
        for u in map(User.model_validate, admin.get("/users", params={"email": email}).json())
    ] == [email]
    assert admin.get(f"/users/{user.id}").json()["email"] == email


def test_a_user_sees_only_themself(platform: Any) -> None:
    user = platform.new_user()
    colleague = platform.new_user()
    client = platform.client(user.api_key)
    assert [u["email"] for u in client.get("/users").json()] == [user.email]
    assert client.get(f"/users/{colleague.id}").status_code == 404
    assert client.get(f"/users/{user.id}").status_code == 200
    forbidden = client.post("/users", json={"email": "x@example.com", "password": "long-enough-pw"})
    assert forbidden.status_code == 403 and "admin" in forbidden.json()["message"]


def test_me_reports_the_limits(platform: Any) -> None:
    user = platform.new_user()
    me = MeUser.model_validate(platform.client(user.api_key).get("/users/me").json())
    assert me.email == user.email and str(me.id) == user.id
    assert me.environment.dataset_expiration_days == 30
    assert me.environment.max_allowed_lines_per_dataset == 1_000_000
    assert me.environment.max_allowed_dimensions_per_dataset == 200
    features = FeaturesInfo.model_validate(
        platform.client(user.api_key).get("/users/features_info").json()
    )
    assert "single_table" in features.feature_scopes
    credits = platform.client(user.api_key).get("/users/credits_info").json()
    assert credits == {"credits": None, "is_credit_enabled": False}


def test_limits_come_from_the_settings(platform_factory: Any) -> None:
    platform = platform_factory(env={"AVATAR_MAX_ROWS": "100", "AVATAR_MAX_COLUMNS": "3"})
    admin = platform.client(platform.admin.api_key)
    environment = admin.get("/users/me").json()["environment"]
    assert environment["max_allowed_lines_per_dataset"] == 100
    assert environment["max_allowed_dimensions_per_dataset"] == 3
    platform.upload(platform.admin.api_key, "iris.csv", IRIS.read_bytes())
    job = platform.wait_for_job(admin, create_job(admin, create_set(admin, "limits"), "standard"))
    assert job["status"] == "error"
    assert "150 rows" in job["exception"] and "limit of 100" in job["exception"]


def test_admin_deletes_a_user(platform: Any) -> None:
    admin = platform.client(platform.admin.api_key)
    user = platform.new_user()
    client = platform.client(user.api_key)
    assert client.delete(f"/users/{platform.admin.id}").status_code == 404
    assert admin.delete(f"/users/{platform.admin.id}").status_code == 409  # not yourself
    deleted = admin.delete(f"/users/{user.id}")
    assert deleted.status_code == 200 and deleted.json()["email"] == user.email
    assert client.get("/users/me").status_code == 401  # keys revoked
    login = platform.http.post(
        f"{platform.api_url}/login", data={"username": user.email, "password": user.password}
    )
    assert login.status_code == 401
    assert admin.get(f"/users/{user.id}").status_code == 404
    # The address can be given to someone new.
    again = admin.post("/users", json={"email": user.email, "password": "long-enough-pw"})
    assert again.status_code == 200 and again.json()["id"] != user.id


def test_first_start_creates_the_admin_once(platform: Any, platform_factory: Any) -> None:
    users = platform.client(platform.admin.api_key).get(
        "/users", params={"email": "admin@example.com"}
    )
    assert [u["role"] for u in users.json()] == ["admin"]
    # With AVATAR_ADMIN_* the platform has its admin: no hint about creating one. (Checked on
    # a platform of its own: the shared one's log also holds other platforms' records.)
    started = platform_factory(run_jobs=False)
    assert started.admin.api_key
    assert "nobody can log in" not in started.log()
