"""The data path of the official client: credentials from /access, bytes through the S3
endpoint at /storage with s3fs (as the client's ``data_upload.py`` does)."""

from __future__ import annotations

import io
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import fsspec
import pandas as pd
import pytest

from server_helpers import create_job, create_set


def _s3(platform: Any, credentials: dict[str, str]) -> Any:
    fs, _ = fsspec.url_to_fs(
        "s3://bucket",
        anon=False,
        skip_instance_cache=True,
        client_kwargs={
            "aws_access_key_id": credentials["access_key_id"],
            "aws_secret_access_key": credentials["secret_access_key"],
            "endpoint_url": f"{platform.base_url}/storage",
        },
    )
    return fs


# A live server (s3fs needs a socket), with a storage folder and with the S3 store behind the
# endpoint (scale-out): what the official client's data path meets in both deployments.
@pytest.mark.backends("sqlite", "scaleout")
def test_upload_run_download_through_s3(live_platform: Any, iris_csv: bytes) -> None:
    platform = live_platform
    user = platform.new_user()
    api = platform.client(user.api_key)
    prefix = api.get("/upload_url").json()
    assert prefix == f"s3://{user.id}/30d"
    path = f"{prefix}/iris.csv"
    # The client asks for credentials with its own access URL around the path (§3.3).
    access = api.get("/access", params={"url": f"{platform.api_url}/access?url={path}"})
    assert access.status_code == 200, access.text
    fs = _s3(platform, access.json()["credentials"])
    fs.makedirs(f"{user.id}/30d", exist_ok=True)
    fs.pipe(path, iris_csv)

    job = platform.wait_for_job(api, create_job(api, create_set(api, "s3"), "standard"))
    assert job["status"] == "finished", job
    urls = api.get(f"/results/{job['name']}").json()["shuffled"]
    [grant] = api.post("/access/batch", json=urls).json()
    assert grant["url"] == urls[0]
    result_path = parse_qs(urlsplit(grant["url"]).query)["url"][0]
    avatars = pd.read_csv(io.BytesIO(_s3(platform, grant["credentials"]).cat(result_path)))
    assert len(avatars) == 150

    events = api.get("/event-logs", params={"verb": "download"}).json()
    assert any(e["object_name"].endswith("iris.shuffled-0.csv") for e in events)

    # Another organization's credentials do not open this user's bucket.
    stranger = platform.new_user(organization=f"org-{uuid.uuid4().hex[:6]}")
    own = platform.client(stranger.api_key).get(
        "/access", params={"url": f"s3://{stranger.id}/30d/x.csv"}
    )
    assert own.status_code == 200
    with pytest.raises((PermissionError, FileNotFoundError, OSError)):
        _s3(platform, own.json()["credentials"]).cat(result_path)
