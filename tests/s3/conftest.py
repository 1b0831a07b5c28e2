"""Session fixture: one real uvicorn server (HTTP and HTTPS) with the S3 router at /storage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from s3_harness import (
    ALICE,
    ALICE_BUCKET,
    BOB,
    BOB_BUCKET,
    EXPIRED,
    S3Server,
    _self_signed,
    _serve,
)

from avatars.server.s3 import S3Principal, create_s3_router
from avatars.server.storage import Storage


def pytest_configure(config: pytest.Config) -> None:
    # The HTTPS server's certificate is self-signed; clients run with verify=False.
    config.addinivalue_line("filterwarnings", "ignore:Unverified HTTPS request")


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    root = tmp_path_factory.mktemp("s3-storage")
    storage = Storage(str(root))
    principals = {
        ALICE.access_key_id: S3Principal(
            ALICE.access_key_id, ALICE.secret_access_key, "alice", frozenset({ALICE_BUCKET})
        ),
        BOB.access_key_id: S3Principal(
            BOB.access_key_id, BOB.secret_access_key, "bob", frozenset({BOB_BUCKET})
        ),
        EXPIRED.access_key_id: S3Principal(
            EXPIRED.access_key_id,
            EXPIRED.secret_access_key,
            "alice",
            frozenset({ALICE_BUCKET}),
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
        ),
    }
    events: list[tuple[str, str, str, str]] = []

    def on_event(operation: str, principal: S3Principal, bucket: str, key: str) -> None:
        events.append((operation, principal.user_id, bucket, key))

    app = FastAPI()
    app.include_router(
        create_s3_router(storage, principals.get, on_event=on_event, max_object_size=400 * 2**20),
        prefix="/storage",
    )
    tls = _self_signed(tmp_path_factory.mktemp("tls"))
    servers = [_serve(app)]
    if tls is not None:
        servers.append(_serve(app, ssl_certfile=str(tls[0]), ssl_keyfile=str(tls[1])))
    ports = [port for _, _, port in servers]
    try:
        yield S3Server(
            http_url=f"http://127.0.0.1:{ports[0]}/storage",
            https_url=f"https://127.0.0.1:{ports[1]}/storage" if tls else None,
            storage=storage,
            root=root,
            events=events,
        )
    finally:
        for server, _, _ in servers:
            server.should_exit = True
        for _, thread, _ in servers:
            thread.join(10)
