"""Datasets: the caller's uploaded tables over HTTP (list, upload, download, delete)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from avatars.models import Dataset, DatasetList


# Scale-out too: listing, ETags, content types and deletes of the S3 store behind the API.
@pytest.mark.backends("sqlite", "scaleout")
def test_upload_list_download_delete(platform: Any, iris_csv: bytes) -> None:
    user = platform.new_user()
    client = platform.client(user.api_key)
    assert client.get("/datasets").json() == {"datasets": []}
    uploaded = Dataset.model_validate(platform.upload(user.api_key, "iris.csv", iris_csv))
    assert uploaded.name == "iris.csv" and uploaded.size == len(iris_csv)
    assert uploaded.url == f"s3://{user.id}/30d/iris.csv"

    listed = DatasetList.model_validate(client.get("/datasets").json())
    assert [d.name for d in listed.datasets] == ["iris.csv"]

    downloaded = client.get("/datasets/iris.csv")
    assert downloaded.status_code == 200
    assert downloaded.content == iris_csv
    assert downloaded.headers["content-type"].startswith("text/csv")
    assert downloaded.headers["etag"] == f'"{uploaded.etag}"'

    # Results and set snapshots live under the same prefix but are not datasets.
    from server_helpers import create_job, create_set

    assert platform.wait_for_job(client, create_job(client, create_set(client, "d"), "standard"))
    assert [
        d.name for d in DatasetList.model_validate(client.get("/datasets").json()).datasets
    ] == ["iris.csv"]

    deleted = client.delete("/datasets/iris.csv")
    assert deleted.status_code == 200 and deleted.json()["message"]
    assert client.get("/datasets/iris.csv").status_code == 404
    assert client.delete("/datasets/iris.csv").status_code == 404


# Scale-out too: listing, ETags, content types and deletes of the S3 store behind the API.
@pytest.mark.backends("sqlite", "scaleout")
def test_large_upload_streams(platform: Any) -> None:
    user = platform.new_user()
    client = platform.client(user.api_key)
    payload = os.urandom(3 * 1024 * 1024 + 17)

    def chunks() -> Any:
        for start in range(0, len(payload), 256 * 1024):
            yield payload[start : start + 256 * 1024]

    response = client.put("/datasets/blob.bin", content=chunks())
    assert response.status_code == 200, response.text
    assert response.json()["size"] == len(payload)
    with client.stream("GET", "/datasets/blob.bin") as streamed:
        assert streamed.status_code == 200
        assert b"".join(streamed.iter_bytes()) == payload


def test_bad_names_and_bodies(platform: Any) -> None:
    user = platform.new_user()
    client = platform.client(user.api_key)
    for name in ("results", "sets", ".avatars-tmp-x", "a%5Cb"):
        response = client.put(f"/datasets/{name}", content=b"a,b\n1,2\n")
        assert response.status_code == 422, name
    assert client.put("/datasets/empty.csv", content=b"").status_code == 422
    assert client.get("/datasets/empty.csv").status_code == 404


# Scale-out too: an upload refused half-way must leave nothing in the S3 store either.
@pytest.mark.backends("sqlite", "scaleout")
def test_upload_limit(platform_factory: Any) -> None:
    platform = platform_factory(env={"AVATAR_MAX_UPLOAD_BYTES": "1000"}, run_jobs=False)
    client = platform.client(platform.admin.api_key)
    too_big = client.put("/datasets/big.csv", content=b"x" * 1001)
    assert too_big.status_code == 413 and "limit" in too_big.json()["message"]

    def unsized() -> Any:
        yield b"x" * 600
        yield b"x" * 600

    assert client.put("/datasets/big.csv", content=unsized()).status_code == 413
    assert client.get("/datasets/big.csv").status_code == 404  # nothing half-written
    assert platform.http.get(f"{platform.api_url}/health").status_code == 200
