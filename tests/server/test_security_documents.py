"""Issue 16.7: every document the server parses is bounded in size and depth, and a document
out of bounds is answered 4xx with a short message, never 500 with a traceback in the log.

YAML resource sets (``PUT``/``POST /resources``): size, depth, and the values their aliases
expand to ("billion laughs"); JSON bodies of every endpoint: depth (and size, by
``AVATAR_MAX_REQUEST_BYTES``); S3 XML request documents: size, depth, no DTD.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from security_helpers import bearer, login, running, s3_request

from avatars.server.bounds import MAX_JSON_DEPTH, json_too_deep
from server_helpers import resource_yaml


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    with running(tmp_path / "data") as client:
        yield client


@pytest.fixture
def headers(app: TestClient) -> dict[str, str]:
    return bearer(login(app)["access_token"])


def _refused(response: object, caplog: pytest.LogCaptureFixture, status: int = 422) -> str:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    message = str(response.json()["message"])  # type: ignore[attr-defined]
    assert len(response.text) < 1000  # type: ignore[attr-defined]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    return message


def _laughs(levels: int) -> str:
    lines = ["kind: AvatarMetadata", "metadata:", "  name: m", "spec:", "  display_name: x"]
    lines.append("  l0: &l0 [" + ", ".join(["lol"] * 10) + "]")
    for level in range(1, levels):
        lines.append(f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[" * 10_000 + "]" * 10_000, "levels deep"),
        ("".join(f"{'  ' * i}a{i}:\n" for i in range(100)) + "  " * 100 + "x: 1\n", "levels deep"),
        (_laughs(9), "expands to more than"),
    ],
    ids=["flow-10000-deep", "block-100-deep", "billion-laughs"],
)
def test_yaml_out_of_bounds(
    app: TestClient,
    headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    text: str,
    problem: str,
) -> None:
    started = time.monotonic()
    with caplog.at_level(logging.INFO):
        response = app.put(
            "/api/resources/deep",
            content=text,
            headers={**headers, "Content-Type": "application/yaml"},
        )
    assert problem in _refused(response, caplog)
    assert time.monotonic() - started < 10


def test_yaml_appended_to_a_set_is_bounded(
    app: TestClient, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    iris = (Path(__file__).parents[2] / "src/avatars/data/iris.csv").read_bytes()
    assert app.put("/api/datasets/iris.csv", content=iris, headers=headers).status_code == 200
    created = app.put(
        "/api/resources/iris",
        content=resource_yaml("iris"),
        headers={**headers, "Content-Type": "application/yaml"},
    )
    assert created.status_code == 200, created.text
    set_name = created.json()["set_name"]
    with caplog.at_level(logging.INFO):
        response = app.post(
            f"/api/resources/{set_name}",
            content="[" * 5000 + "]" * 5000,
            headers={**headers, "Content-Type": "application/yaml"},
        )
    assert "levels deep" in _refused(response, caplog)


@pytest.mark.parametrize("path", ["/api/access/batch", "/api/jobs", "/api/jobs/bulk-delete"])
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 900, 100_000])
def test_deep_json_is_refused_before_parsing(
    app: TestClient,
    headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    path: str,
    depth: int,
) -> None:
    body = "[" * depth + "]" * depth
    with caplog.at_level(logging.INFO):
        response = app.post(
            path, content=body, headers={**headers, "Content-Type": "application/json"}
        )
    assert f"more than {MAX_JSON_DEPTH} levels" in _refused(response, caplog)


def test_json_without_content_type_is_bounded_too(
    app: TestClient, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    body = '{"job_names": ' + "[" * 200 + "]" * 200 + "}"
    with caplog.at_level(logging.INFO):
        response = app.post("/api/jobs/bulk-delete", content=body, headers=headers)
    assert "levels" in _refused(response, caplog)


def test_brackets_inside_strings_are_not_nesting(app: TestClient, headers: dict[str, str]) -> None:
    url = "s3://nobody/" + "[{" * 500 + '\\"]' * 10
    response = app.post("/api/access/batch", json=[url], headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == []


def test_json_depth_check_is_linear() -> None:
    assert not json_too_deep(b'["[[[[", {"a": "\\"[[[["}]', max_depth=2)
    assert json_too_deep(b"[[[1]]]", max_depth=2)
    assert not json_too_deep(b"[[[1]]", max_depth=2)  # unbalanced: the parser's to refuse
    # Escaped quotes that no string closes: no quadratic backtracking.
    started = time.monotonic()
    assert not json_too_deep(b'"' + b'\\"' * 2_000_000 + b"[" * 100)
    assert not json_too_deep(b'"' * 3_000_001 + b"[" * 100)
    assert time.monotonic() - started < 5


def test_deep_xml_is_refused(app: TestClient, headers: dict[str, str]) -> None:
    upload = app.get("/api/upload_url", headers=headers).json()
    access = app.get("/api/access", params={"url": upload + "/x"}, headers=headers).json()
    bucket = upload.removeprefix("s3://").split("/")[0]
    deep = b"<Delete>" + b"<a>" * 1000 + b"</a>" * 1000 + b"</Delete>"
    response = s3_request(
        app, access["credentials"], "POST", bucket, body=deep, params={"delete": ""}
    )
    assert response.status_code == 400 and b"MalformedXML" in response.content
    entity = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><Delete>&a;</Delete>'
    response = s3_request(
        app, access["credentials"], "POST", bucket, body=entity, params={"delete": ""}
    )
    assert response.status_code == 400 and b"MalformedXML" in response.content
