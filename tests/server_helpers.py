"""Helpers of the server tests: resource-set YAML as the official client writes it, job
helpers and generated tables."""

from __future__ import annotations

import io
import re
import time
from typing import Any
from urllib.parse import unquote

import httpx
import numpy as np
import pandas as pd

IRIS_COLUMNS = [
    ("sepal.length", "float"),
    ("sepal.width", "float"),
    ("petal.length", "float"),
    ("petal.width", "float"),
    ("variety", "category"),
]


def resource_yaml(
    display_name: str = "iris",
    *,
    table: str = "iris",
    file: str = "iris.csv",
    columns: list[tuple[str, str]] | None = None,
    k: int | str = 20,
    extra_standard: str = "",
    seed: int | None = 1,
    avatars_file: str | None = None,
    advice: bool = False,
) -> str:
    """A set as client 1.20 sends it (protocol.md §4.2), with the report documents."""
    columns = IRIS_COLUMNS if columns is None else columns
    column_lines = "".join(f"    - field: {c}\n      type: {t}\n" for c, t in columns)
    seed_line = f"  seed: {seed}\n" if seed is not None else ""
    avatars_data = (
        f"    avatars_data:\n      volume: input\n      file: {avatars_file}\n"
        if avatars_file
        else "    avatars_data:\n      auto: true\n"
    )
    documents = [
        f"""kind: AvatarMetadata
metadata:
  name: avatar-metadata-{display_name}
spec:
  display_name: {display_name}
annotations:
  client_type: python
  client_version: 1.20.0
""",
        f"""kind: AvatarSchema
metadata:
  name: schema
spec:
  tables:
  - name: {table}
    data:
      volume: input
      file: {file}
    columns:
{column_lines}""",
        f"""kind: AvatarSchema
metadata:
  name: schema_avatarized
spec:
  tables:
  - name: {table}
{avatars_data}  schema_ref: schema
""",
        f"""kind: AvatarParameters
metadata:
  name: standard
spec:
  schema: schema
  avatarization:
    {table}:
      k: {k}
{extra_standard}  results:
    volume: results
    path: standard
{seed_line}""",
        f"""kind: AvatarPrivacyMetricsParameters
metadata:
  name: privacy_metrics
spec:
  schema: schema_avatarized
  avatarization_ref: standard
  results:
    volume: results
    path: privacy_metrics
{seed_line}""",
        f"""kind: AvatarSignalMetricsParameters
metadata:
  name: signal_metrics
spec:
  schema: schema_avatarized
  avatarization_ref: standard
  results:
    volume: results
    path: signal_metrics
{seed_line}""",
        """kind: AvatarReportParameters
metadata:
  name: report
spec:
  report_type: basic
  output_format: pdf
  language: en
  results:
    volume: results
    path: report
""",
    ]
    if advice:
        documents.append(
            """kind: AvatarAdviceParameters
metadata:
  name: advice_parameters
spec:
  schema: schema
  advice:
    advisor_type:
    - parameters
  results:
    volume: results
    path: advice
"""
        )
    return "\n---\n".join(documents)


def put_set(client: httpx.Client, display_name: str, text: str) -> httpx.Response:
    return client.put(
        f"/resources/{display_name}", content=text, headers={"Content-Type": "application/yaml"}
    )


def create_set(client: httpx.Client, display_name: str = "iris", **kwargs: Any) -> str:
    response = put_set(client, display_name, resource_yaml(display_name, **kwargs))
    assert response.status_code == 200, response.text
    return str(response.json()["set_name"])


def create_job(
    client: httpx.Client, set_name: str, parameters_name: str, depends_on: list[str] | None = None
) -> str:
    response = client.post(
        "/jobs",
        json={
            "set_name": set_name,
            "parameters_name": parameters_name,
            "depends_on": depends_on or [],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["Location"] == f"/jobs/{body['name']}"
    return str(body["name"])


def wait_status(
    client: httpx.Client, name: str, statuses: set[str], timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/jobs/{name}").json()
        if job["status"] in statuses:
            return dict(job)
        if time.monotonic() > deadline:
            raise AssertionError(f"job {name} never reached {statuses}: {job}")
        time.sleep(0.05)


def big_table_csv(rows: int, seed: int = 0) -> bytes:
    """A numeric table large enough for a job to run for a few seconds."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, 8)).round(4)  # short numbers: quick to write and upload
    frame = pd.DataFrame(values, columns=[f"x{i}" for i in range(8)])
    frame["group"] = rng.choice(list("abcdef"), rows)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


BIG_COLUMNS = [(f"x{i}", "float") for i in range(8)] + [("group", "category")]


INTERNAL = re.compile(
    r"internal error \(reference ([0-9a-f]{8})\): the job failed unexpectedly; "
    r"the platform's log has the details"
)


def internal_error_of_a_bug(platform: Any, api: httpx.Client) -> str:
    """The ``exception`` of a report job whose input the platform wrote, corrupted in storage
    (a bug as the worker sees it: a bare ValueError)."""
    set_name = create_set(api, "iris_bug", k=10)
    standard = create_job(api, set_name, "standard")
    assert platform.wait_for_job(api, standard)["status"] == "finished"
    [url] = api.get(f"/results/{standard}").json()["run_metadata"]
    platform.storage.write_bytes(unquote(url.split("url=s3://", 1)[1]), b"{not json")
    report = platform.wait_for_job(api, create_job(api, set_name, "report", [standard]))
    assert report["status"] == "error", report
    exception = str(report["exception"])
    assert "Expecting" not in exception and "JSON" not in exception
    return exception
