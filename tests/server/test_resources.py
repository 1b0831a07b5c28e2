"""Resource sets: storage, validation errors naming document/field/problem, input snapshots."""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
import pandas as pd
import pytest
import yaml

from avatars.resource_set import parse_resource_set
from server_helpers import create_job, create_set, put_set, resource_yaml


def test_put_creates_a_new_set_every_time(api: httpx.Client) -> None:
    text = resource_yaml("iris_k20")
    first = put_set(api, "iris_k20", text)
    second = put_set(api, "iris_k20", text)
    assert first.status_code == second.status_code == 200
    assert first.json()["display_name"] == "iris_k20"
    assert first.json()["set_name"] != second.json()["set_name"]
    uuid.UUID(first.json()["set_name"])
    fetched = api.get(f"/resources/{first.json()['set_name']}")
    assert fetched.status_code == 200
    assert fetched.headers["content-type"].startswith("application/yaml")
    assert fetched.text == text
    assert parse_resource_set(fetched.text).display_name == "iris_k20"


def test_display_names_are_not_escaped_by_clients(api: httpx.Client) -> None:
    response = put_set(api, "team/iris k20", resource_yaml("x"))
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == "team/iris k20"


def test_validation_errors_name_document_field_and_problem(api: httpx.Client) -> None:
    response = put_set(api, "bad", resource_yaml("bad", k="twenty"))
    assert response.status_code == 422
    body = response.json()
    message = body["message"]
    assert "AvatarParameters 'standard'" in message
    assert "spec.avatarization.iris.k" in message
    assert "integer" in message
    issue = body["detail"]["issues"][0]
    assert issue == {
        "document": "AvatarParameters 'standard'",
        "field": "spec.avatarization.iris.k",
        "problem": issue["problem"],
    }

    dangling = resource_yaml("bad").replace("schema: schema_avatarized", "schema: nowhere")
    response = put_set(api, "bad", dangling)
    assert response.status_code == 422
    assert "AvatarPrivacyMetricsParameters 'privacy_metrics'" in response.json()["message"]
    assert "no AvatarSchema named 'nowhere'" in response.json()["message"]

    for text, expected in [
        ("kind: [unclosed", "not valid YAML"),
        ("", "no document"),
        ("just a string", "expected a mapping"),
        ("kind: AvatarSchema\nmetadata:\n  name: s\nspec: {}\n", "spec.tables"),
    ]:
        response = put_set(api, "bad", text)
        assert response.status_code == 422, text
        assert expected in response.json()["message"], response.json()["message"]


def test_missing_input_file_is_a_422_naming_table_and_file(api: httpx.Client) -> None:
    response = put_set(api, "missing", resource_yaml("missing", table="cars", file="cars.csv"))
    assert response.status_code == 422
    message = response.json()["message"]
    assert "table 'cars'" in message and "cars.csv" in message


def test_unknown_fields_and_kinds_from_newer_clients_are_kept(
    platform: Any, api: httpx.Client
) -> None:
    text = resource_yaml("newer").replace("  seed: 1\n", "  seed: 1\n  compute_figures: true\n", 1)
    text += """
---
kind: AvatarSchemaDiscoveryParameters
metadata:
  name: discovery
spec:
  schema: schema
  something_new: 3
"""
    response = put_set(api, "newer", text)
    assert response.status_code == 200, response.text
    set_name = response.json()["set_name"]
    job = platform.wait_for_job(api, create_job(api, set_name, "standard"))
    assert job["status"] == "finished"
    refused = api.post("/jobs", json={"set_name": set_name, "parameters_name": "discovery"})
    assert refused.status_code == 422
    assert "AvatarSchemaDiscoveryParameters" in refused.json()["message"]


# Scale-out too: the snapshot is a copy made inside the S3 store.
@pytest.mark.backends("sqlite", "scaleout")
def test_inputs_are_snapshotted_at_upload(
    platform: Any, api: httpx.Client, user: Any, iris_csv: bytes
) -> None:
    set_name = create_set(api, "snapshot")
    # The same file name, re-uploaded with 30 rows, must not change the set's input.
    short = (
        pd.read_csv(io.BytesIO(iris_csv)).sample(30, random_state=0).to_csv(index=False).encode()
    )
    platform.upload(user.api_key, "iris.csv", short)
    job = platform.wait_for_job(api, create_job(api, set_name, "standard"))
    assert job["status"] == "finished", job
    metadata_url = api.get(f"/results/{job['name']}").json()["run_metadata"][0]
    key = metadata_url.split("url=s3://", 1)[1]
    metadata = yaml.safe_load(platform.read_object(key))
    assert metadata["rows"] == 150
    # A set created now reads the new file.
    newer = create_set(api, "snapshot2", k=5)
    job = platform.wait_for_job(api, create_job(api, newer, "standard"))
    assert job["status"] == "finished", job
    metadata_url = api.get(f"/results/{job['name']}").json()["run_metadata"][0]
    key = metadata_url.split("url=s3://", 1)[1]
    assert yaml.safe_load(platform.read_object(key))["rows"] == 30
    platform.upload(user.api_key, "iris.csv", iris_csv)


def test_post_appends_documents(platform: Any, api: httpx.Client) -> None:
    set_name = create_set(api, "append")
    extra = """kind: AvatarParameters
metadata:
  name: standard_k5
spec:
  schema: schema
  avatarization:
    iris:
      k: 5
"""
    response = api.post(
        f"/resources/{set_name}", content=extra, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["set_name"] == set_name
    assert "standard_k5" in api.get(f"/resources/{set_name}").text
    job = platform.wait_for_job(api, create_job(api, set_name, "standard_k5"))
    assert job["status"] == "finished"
    clash = api.post(
        f"/resources/{set_name}", content=extra, headers={"Content-Type": "application/yaml"}
    )
    assert clash.status_code == 422 and "already used" in clash.json()["message"]
    missing = api.post(
        f"/resources/{uuid.uuid4()}", content=extra, headers={"Content-Type": "application/yaml"}
    )
    assert missing.status_code == 404


def test_parquet_input_and_parquet_results(
    platform: Any, api: httpx.Client, user: Any, iris_csv: bytes
) -> None:
    frame = pd.read_csv(io.BytesIO(iris_csv))
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    platform.upload(user.api_key, "iris.parquet", buffer.getvalue())
    text = resource_yaml("parquet", file="iris.parquet").replace(
        "    path: standard\n", "    path: standard\n    format: parquet\n"
    )
    response = put_set(api, "parquet", text)
    assert response.status_code == 200, response.text
    job = platform.wait_for_job(api, create_job(api, response.json()["set_name"], "standard"))
    assert job["status"] == "finished", job
    shuffled = api.get(f"/results/{job['name']}").json()["shuffled"][0]
    assert shuffled.endswith("iris.shuffled-0.parquet")
    key = shuffled.split("url=s3://", 1)[1]
    avatars = pd.read_parquet(io.BytesIO(platform.read_object(key)))
    assert list(avatars.columns) == list(frame.columns) and len(avatars) == 150


def test_table_names_are_escaped_in_result_files(platform: Any, api: httpx.Client) -> None:
    set_name = create_set(api, "escaped", table="my.table+x")
    job = platform.wait_for_job(api, create_job(api, set_name, "standard"))
    assert job["status"] == "finished", job
    shuffled = api.get(f"/results/{job['name']}").json()["shuffled"][0]
    assert shuffled.endswith("/my_dot_table_plus_x.shuffled-0.csv")


def test_volume_yaml(api: httpx.Client, user: Any) -> None:
    response = api.get("/resources/volume", params={"volume_name": "input", "purpose": "input"})
    assert response.status_code == 200
    assert yaml.safe_load(response.text)["spec"]["url"] == f"s3://{user.id}/30d"
