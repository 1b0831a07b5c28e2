"""Issues 16.9 and 16.10, and CSV formulas: what a browser may do with the platform's answers.

- Every response says ``nosniff`` and ``no-referrer`` and, unless it sets its own policy,
  carries a Content-Security-Policy that lets nothing load and ``X-Frame-Options: DENY``.
- ``/api/docs`` loads Swagger UI from the package, with no inline script, under a policy that
  allows this server's scripts only.
- Objects in ``/storage`` are downloads in a sandbox that runs nothing, even through a
  presigned link that asks for ``text/html`` inline; only the platform's own reports are shown
  inline, sandboxed away from the platform's origin.
- CSV cells beginning with ``=`` are returned as they were stored: data round-trips exactly
  (docs/security.md says why), and CSV is always a download.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from security_helpers import bearer, login, presigned_url, running, s3_request, state

from avatars.server.docs import ASSETS

EVIL = b"<html><body><script>fetch('/api/users/me')</script></body></html>"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    with running(tmp_path / "data", max_request_bytes=4096) as client:
        yield client


@pytest.fixture
def headers(app: TestClient) -> dict[str, str]:
    return bearer(login(app)["access_token"])


def _strict(response: object) -> None:
    h = response.headers  # type: ignore[attr-defined]
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert h["x-frame-options"] == "DENY"
    assert h["content-security-policy"].startswith("default-src 'none'")


def test_every_response_carries_the_security_headers(
    app: TestClient, headers: dict[str, str]
) -> None:
    responses = [
        app.get("/"),
        app.get("/api/health"),
        app.get("/api/openapi.json"),
        app.get("/api/users/me", headers=headers),
        app.get("/api/no/such/thing"),  # 404
        app.get("/api/users/me"),  # 401
        app.post("/api/jobs", json={"set_name": "x"}, headers=headers),  # 422
        app.post("/api/jobs", content=b"[" * 5000, headers=headers),  # 413, before the app
        app.post("/api/login", data={"username": "a", "password": "b"}),  # 401
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 404, 401, 422, 413, 401]
    for response in responses:
        _strict(response)


def test_the_docs_load_nothing_from_elsewhere(app: TestClient) -> None:
    page = app.get("/api/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    scripts = re.search(r"script-src ([^;]*)", policy)
    assert scripts is not None and scripts.group(1).strip() == "'self'"
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    html = page.text
    assert "://" not in html  # no CDN, no absolute URL at all
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))  # none inline
    referenced = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {"docs/assets/swagger-ui-bundle.js", "docs/assets/init.js"} <= set(referenced)
    for link in referenced:
        asset = app.get(f"/api/{link}")
        assert asset.status_code == 200, link
        assert asset.content == (ASSETS / link.rsplit("/", 1)[1]).read_bytes()
        assert asset.headers["x-content-type-options"] == "nosniff"


def _storage(app: TestClient, headers: dict[str, str]) -> tuple[dict[str, str], str]:
    """``(key pair, bucket/<N>d prefix)`` of the caller's storage."""
    upload = app.get("/api/upload_url", headers=headers).json()
    access = app.get("/api/access", params={"url": upload + "/x"}, headers=headers).json()
    return access["credentials"], upload.removeprefix("s3://")


def _sandboxed_download(response: object, name: str) -> None:
    h = response.headers  # type: ignore[attr-defined]
    assert h["content-disposition"].startswith("attachment")
    assert name in h["content-disposition"]
    policy = h["content-security-policy"]
    assert policy.startswith("sandbox;") and "allow-scripts" not in policy
    assert h["x-content-type-options"] == "nosniff"


def test_stored_html_is_a_sandboxed_download(app: TestClient, headers: dict[str, str]) -> None:
    assert app.put("/api/datasets/evil.html", content=EVIL, headers=headers).status_code == 200
    pair, prefix = _storage(app, headers)
    for method in ("GET", "HEAD"):
        response = s3_request(app, pair, method, f"{prefix}/evil.html")
        assert response.status_code == 200
        _sandboxed_download(response, "evil.html")
    # A presigned link asking for inline HTML gets the type it asked for, not the rest.
    link = presigned_url(
        pair,
        f"{prefix}/evil.html",
        {"response-content-type": "text/html", "response-content-disposition": "inline"},
    )
    shared = app.get(link)
    assert shared.status_code == 200 and shared.content == EVIL
    assert shared.headers["content-type"] == "text/html"
    _sandboxed_download(shared, "evil.html")
    # The same through the API's own download.
    direct = app.get("/api/datasets/evil.html", headers=headers)
    assert direct.headers["content-disposition"].startswith("attachment")
    _strict(direct)


def test_own_reports_are_shown_inline_in_a_sandbox(
    app: TestClient, headers: dict[str, str]
) -> None:
    pair, prefix = _storage(app, headers)
    folder = f"{prefix}/results/set/job"
    storage = state(app).storage
    storage.write_bytes(f"{folder}/report.html", b"<html>report</html>")
    storage.write_bytes(f"{folder}/iris.2d_projection.html", b"<html>figure</html>")
    storage.write_bytes(f"{folder}/report.pdf", b"%PDF-1.4 report")
    for name in ("report.html", "iris.2d_projection.html"):
        shown = s3_request(app, pair, "GET", f"{folder}/{name}")
        assert shown.status_code == 200 and "content-disposition" not in shown.headers
        policy = shown.headers["content-security-policy"]
        assert policy.startswith("sandbox allow-scripts;")
        assert "allow-same-origin" not in policy and "connect-src" not in policy
        assert "default-src 'none'" in policy
        assert shown.headers["x-content-type-options"] == "nosniff"
    pdf = s3_request(app, pair, "GET", f"{folder}/report.pdf")
    assert "content-disposition" not in pdf.headers
    assert pdf.headers["content-type"] == "application/pdf"
    # Elsewhere, the same names are plain downloads.
    storage.write_bytes(f"{prefix}/report.html", b"<html>not a report</html>")
    _sandboxed_download(s3_request(app, pair, "GET", f"{prefix}/report.html"), "report.html")


def test_csv_cells_are_returned_as_stored_and_downloaded(
    app: TestClient, headers: dict[str, str]
) -> None:
    table = pd.DataFrame(
        {"name": ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)"], "v": [1, 2, 3, 4]}
    )
    data = table.to_csv(index=False).encode()
    assert app.put("/api/datasets/cells.csv", content=data, headers=headers).status_code == 200
    pair, prefix = _storage(app, headers)
    response = s3_request(app, pair, "GET", f"{prefix}/cells.csv")
    assert response.content == data
    assert response.headers["content-type"].startswith("text/csv")
    _sandboxed_download(response, "cells.csv")
    back = pd.read_csv(io.BytesIO(response.content))
    assert back["name"].tolist() == table["name"].tolist()  # what pandas reads is unchanged
