"""Issue 16.3: one unambiguous identity per login name, across organizations.

An admin of organization B could create a user named like the e-mail of A's user, or A's
user name in another letter case: that user could never log in (the lookup found A's account)
and their failures locked A out. ``POST /users`` answered "already exists" for names of any
organization. Now e-mails and user names share one normalized, case-insensitive namespace, a
user name holding ``@`` must be the user's own e-mail, and a taken name gets one answer,
whoever holds it, with probing limited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from security_helpers import PASSWORD, bearer, login, new_member, running

from avatars.server.db import Database, alembic_config, upgrade_database
from avatars.server.db.models import LoginName, Organization, User
from avatars.server.services import identities
from avatars.server.services.accounts import MAX_TAKEN_NAME_REFUSALS, NAME_TAKEN


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    with running(tmp_path / "data") as client:
        yield client


def _create(app: TestClient, headers: dict[str, str], **body: str) -> tuple[int, dict]:
    response = app.post("/api/users", json={"password": "fine-password-1", **body}, headers=headers)
    return response.status_code, response.json()


def test_names_of_another_organization_cannot_be_taken(app: TestClient) -> None:
    alice = new_member(app, organization="hospital-a", username="Alice")
    b_admin = new_member(app, organization="lab-b", admin=True)
    colleague = new_member(app, organization="lab-b", username="Carol")
    headers = bearer(login(app, b_admin.email, b_admin.password)["access_token"])

    status, body = _create(app, headers, email="bob@lab-b.org", username=alice.email)
    assert status == 422 and "own e-mail" in body["message"]
    status, body = _create(app, headers, email="bob@lab-b.org", username=alice.email.upper())
    assert status == 422

    answers = [
        _create(app, headers, email="bob@lab-b.org", username="ALICE"),  # A's name, other case
        _create(app, headers, email=alice.email.upper()),  # A's e-mail, other case
        _create(app, headers, email="bob@lab-b.org", username="carol"),  # B's own member
        _create(app, headers, email=colleague.email),
    ]
    # One answer for every taken name: nothing tells A's member from B's own.
    assert all(status == 409 for status, _ in answers)
    assert all(body == answers[0][1] for _, body in answers)
    assert answers[0][1]["message"] == NAME_TAKEN
    assert app.get("/api/users", params={"email": alice.email}, headers=headers).json() == []

    # Alice answers to her e-mail and user name, in any case, and only she does.
    for name in (alice.email, alice.email.upper(), "alice", "ALICE", "Ａｌｉｃｅ"):
        me = app.get("/api/users/me", headers=bearer(login(app, name, PASSWORD)["access_token"]))
        assert me.json()["id"] == alice.id


def test_probing_for_taken_names_is_limited(app: TestClient) -> None:
    alice = new_member(app, organization="hospital-a")
    b_admin = new_member(app, organization="lab-b", admin=True)
    headers = bearer(login(app, b_admin.email, b_admin.password)["access_token"])
    for _ in range(MAX_TAKEN_NAME_REFUSALS):
        assert _create(app, headers, email=alice.email)[0] == 409
    status, body = _create(app, headers, email=f"new-{uuid.uuid4().hex[:6]}@lab-b.org")
    assert status == 429 and "try again" in body["message"]


def test_a_users_names_are_released_when_they_are_deleted(app: TestClient) -> None:
    admin = bearer(login(app)["access_token"])
    status, created = _create(app, admin, email="leaver@example.org", username="leaver")
    assert status == 200
    assert app.delete(f"/api/users/{created['id']}", headers=admin).status_code == 200
    status, again = _create(app, admin, email="leaver@example.org", username="Leaver")
    assert status == 200 and again["id"] != created["id"]


def test_the_upgrade_makes_existing_names_unambiguous(fresh_database_url: str) -> None:
    """Databases made before the namespace existed: the oldest account keeps a name, a user
    name shaped like someone else's e-mail stops being a login name."""
    db = Database(fresh_database_url, pool_size=1)
    try:
        command.upgrade(alembic_config(db.url), "0001")
        now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
        ids = [uuid.uuid4() for _ in range(4)]
        with db.writing() as session:
            a, b = Organization(name="a", created_at=now), Organization(name="b", created_at=now)
            session.add_all([a, b])
            session.flush()
            rows = [
                (ids[0], a.id, "alice@a.org", "Alice", None),
                (ids[1], b.id, "bob@b.org", "alice", None),  # A's user name, other case
                (ids[2], b.id, "carol@b.org", "alice@a.org", None),  # A's e-mail as a name
                (ids[3], b.id, "gone@b.org", "ALICE", now),  # deleted: no name
            ]
            for offset, (user_id, org, email, username, deleted) in enumerate(rows):
                session.add(
                    User(
                        id=user_id,
                        organization_id=org,
                        email=email,
                        username=username,
                        role="user",
                        created_at=now + dt.timedelta(minutes=offset),
                        deleted_at=deleted,
                    )
                )
        upgrade_database(db)
        with db.reading() as session:
            names = {row.name: row.user_id for row in session.query(LoginName)}
            assert names == {
                "alice@a.org": ids[0],
                "alice": ids[0],
                "bob@b.org": ids[1],
                "carol@b.org": ids[2],
            }
            found = identities.find_user(session, "ALICE")
            assert found is not None and found.id == ids[0]
    finally:
        db.dispose()
