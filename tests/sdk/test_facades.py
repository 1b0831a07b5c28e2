"""Every facade method of ApiClient against the platform (in this process), with typed
responses."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from avatars.client import ApiClient
from avatars.exceptions import (
    APIError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from avatars.models import (
    ApiKey,
    BulkDeleteRequest,
    BulkDeleteResponse,
    CompatibilityResponse,
    CreateApiKeyRequest,
    CreateUser,
    CreditsInfo,
    Dataset,
    EventLog,
    ExpirationDays,
    FeaturesInfo,
    FileAccess,
    JobCreateRequest,
    JobCreateResponse,
    JobKind,
    JobResponse,
    JobResponseList,
    LoginResponse,
    MeUser,
    ResourceSetResponse,
    User,
    Verb,
)
from avatars.runner_config import RunnerConfig


def _iris_yaml(name: str, k: int = 5) -> str:
    config = RunnerConfig(name, seed=1)
    config.add_table(
        "iris",
        "iris.csv",
        types={
            "sepal.length": "float",
            "sepal.width": "float",
            "petal.length": "float",
            "petal.width": "float",
            "variety": "category",
        },
    )
    config.avatarization["iris"] = {"k": k}
    config.privacy_metrics_created = config.signal_metrics_created = True
    return config.get_yaml()


def _wait(client: ApiClient, name: str) -> JobResponse:
    import time

    deadline = time.monotonic() + 120
    while True:
        job = client.jobs.get_job_status(name)
        if job.done:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_health_and_compatibility(client: ApiClient) -> None:
    assert client.health.get_root()["message"]
    assert client.health.get_health()["message"] == "ok"
    assert client.health.get_health_db()["message"]
    compat = client.compatibility.is_client_compatible()
    assert isinstance(compat, CompatibilityResponse)
    assert compat.status == "compatible"
    assert "paths" in client.openapi.get_openapi_schema()


def test_auth_facade(platform: Any, user: Any) -> None:
    client = platform.api_client()
    tokens = client.auth.login(username=user.email, password=user.password)
    assert isinstance(tokens, LoginResponse) and tokens.refresh_token
    renewed = client.auth.refresh(tokens.refresh_token)
    assert isinstance(renewed, LoginResponse) and renewed.access_token
    with pytest.raises(AuthenticationError):
        client.auth.refresh("not-a-token")
    # Always "sent" (no account enumeration); no mail server here.
    client.auth.forgotten_password(user.email)
    from avatars.models import ResetPasswordRequest

    with pytest.raises(APIError) as caught:
        client.auth.reset_password(
            ResetPasswordRequest(
                email=user.email,
                new_password="another-password-1",
                new_password_repeated="another-password-1",
                token=uuid.uuid4(),
            )
        )
    assert caught.value.status_code in (400, 401, 404, 422)
    client.authenticate(user.email, user.password)
    client.auth.logout()


def test_users_facade(platform: Any, user: Any) -> None:
    admin = platform.api_client(api_key=platform.admin.api_key)
    me = admin.users.get_me()
    assert isinstance(me, MeUser) and me.role == "admin"
    found = admin.users.find_users(email=user.email)
    assert [u.email for u in found] == [user.email]
    assert isinstance(admin.users.get_user(user.id), User)
    assert isinstance(admin.users.get_credits_info(), CreditsInfo)
    assert isinstance(admin.users.get_features_info(), FeaturesInfo)
    email = f"facade-{uuid.uuid4().hex[:8]}@example.com"
    created = admin.users.create_user(CreateUser(email=email, password="a-password-123"))
    assert isinstance(created, User) and created.email == email
    deleted = admin.users.delete_user(created.id)
    assert deleted.id == created.id
    with pytest.raises(NotFoundError):
        admin.users.get_user(created.id)

    plain = platform.api_client(api_key=user.api_key)
    with pytest.raises(PermissionDeniedError) as caught:
        plain.users.create_user(CreateUser(email="x-" + email, password="a-password-123"))
    assert caught.value.status_code == 403


def test_api_keys_facade(platform: Any, user: Any) -> None:
    client = platform.api_client()
    client.authenticate(user.email, user.password)
    created = client.api_keys.create_api_key(
        CreateApiKeyRequest(name="facade", expiration_days=ExpirationDays.integer_30)
    )
    # Typed, and readable the way the official client's deprecation message reads it.
    assert created.api_key.plaintext == created["api_key"]["plaintext"]
    keys = client.api_keys.list_api_keys()
    assert all(isinstance(k, ApiKey) for k in keys)
    assert created.api_key.id in {k.id for k in keys}
    assert client.api_keys.get_api_key(created.api_key.id).name == "facade"
    with_key = platform.api_client(api_key=created.api_key.plaintext)
    assert with_key.users.get_me().email == user.email
    client.api_keys.revoke_api_key(created.api_key.id)
    with pytest.raises(AuthenticationError):
        with_key.users.get_me()
    second = client.api_keys.create_api_key(name="second")
    admin = platform.api_client(api_key=platform.admin.api_key)
    admin.api_keys.revoke_api_key_admin(api_key_id=second.api_key.id)
    assert client.api_keys.get_api_key(second.api_key.id).revoked_at is not None
    client.api_keys.create_api_key(name="third")
    client.api_keys.revoke_all_api_keys()
    assert all(k.revoked_at is not None for k in client.api_keys.list_api_keys())
    with pytest.raises(ValueError, match="user_id or api_key_id"):
        admin.api_keys.revoke_api_key_admin()


def test_results_resources_jobs_facades(client: ApiClient, iris_path: Path) -> None:
    upload = client.results.get_upload_url()
    assert upload.startswith("s3://") and not upload.endswith("/")
    client.upload_file(str(iris_path), "iris.csv")

    text = _iris_yaml("facades")
    created = client.resources.put_resources("facades", text)
    assert isinstance(created, ResourceSetResponse) and created.display_name == "facades"
    stored = client.resources.get_resources(created.set_name)
    assert "kind: AvatarSchema" in stored
    appended = client.resources.create_resource(
        created.set_name,
        "kind: AvatarReportParameters\nmetadata:\n  name: extra_report\nspec:\n"
        "  report_type: basic\n",
    )
    assert appended.set_name == created.set_name
    assert "extra_report" in client.resources.get_resources(created.set_name)
    volume = client.resources.get_user_volume("input", "input", set_name=created.set_name)
    assert "AvatarVolume" in str(volume)

    standard = client.jobs.create_job(
        JobCreateRequest(set_name=created.set_name, parameters_name="standard")
    )
    assert isinstance(standard, JobCreateResponse)
    assert standard.Location == f"/jobs/{standard.name}"
    privacy = client.jobs.create_job(
        JobCreateRequest(
            set_name=created.set_name,
            parameters_name="privacy_metrics",
            depends_on=[standard.Location],
        )
    )
    job = _wait(client, standard.name)
    assert job.status == "finished" and job.kind == JobKind.standard
    _wait(client, privacy.name)

    results = client.results.get_results(standard.name)
    assert set(results) >= {"shuffled", "unshuffled"}
    url = results["shuffled"][0]
    single = client.results.get_permission_to_download(url)
    assert isinstance(single, FileAccess) and single.url == url
    batch = client.results.get_permissions_to_download_batch(results["shuffled"])
    assert [a.url for a in batch] == results["shuffled"]
    shuffled = client.download_file(url)
    assert isinstance(shuffled, str) and shuffled.startswith("sepal.length")

    listed = client.jobs.get_jobs(kind=JobKind.standard, display_name="facades")
    assert isinstance(listed, JobResponseList)
    assert [j.name for j in listed.jobs] == [standard.name]
    assert client.jobs.get_jobs(set_name=created.set_name, limit=1).jobs[0].name == privacy.name
    assert {j.name for j in client.jobs.get_jobs(names=[standard.name]).jobs} == {standard.name}
    last = client.jobs.get_last_jobs()
    assert {j.name for j in last.jobs} == {standard.name, privacy.name}
    assert client.jobs.last_set().jobs == last.jobs

    with pytest.raises(ConflictError) as caught:
        client.jobs.cancel_job(standard.name)
    assert caught.value.status_code == 409

    flow = client.jobs.create_job_flow(created.set_name)
    assert len(flow.jobs) >= 3
    running = flow.jobs[0].name
    cancelled = client.jobs.cancel_job(running) if not _is_done(client, running) else None
    if cancelled is not None:
        assert cancelled.name == running
    for created_job in flow.jobs:
        _wait(client, created_job.name)

    deleted = client.jobs.delete_job(privacy.name)
    assert deleted.deleted_at is not None
    bulk = client.jobs.bulk_delete_jobs(BulkDeleteRequest(job_names=[standard.name, "nope"]))
    assert isinstance(bulk, BulkDeleteResponse)
    assert [j.name for j in bulk.deleted_jobs] == [standard.name]
    assert bulk.failed_jobs == ["nope"]
    with_deleted = client.jobs.get_jobs(include_deleted=True, display_name="facades").jobs
    assert standard.name in {j.name for j in with_deleted}


def _is_done(client: ApiClient, name: str) -> bool:
    return client.jobs.get_job_status(name).done


def test_event_logs_facade(client: ApiClient, iris_path: Path) -> None:
    client.upload_file(str(iris_path), "iris.csv")
    client.resources.put_resources("events", _iris_yaml("events"))
    events = client.event_logs.list_my_event_logs()
    assert events and all(isinstance(e, EventLog) for e in events)
    creates = client.event_logs.list_my_event_logs(verb=Verb.create, limit=1)
    assert len(creates) == 1 and creates[0].verb == "create"
    older = client.event_logs.list_my_event_logs(starting_after=events[0].id)
    assert events[0].id not in {e.id for e in older}


def test_datasets_facade(client: ApiClient, iris_path: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(iris_path)
    uploaded = client.datasets.upload("frame.csv", frame)
    assert isinstance(uploaded, Dataset) and uploaded.name == "frame.csv"
    via_api = client.datasets.upload("file.csv", iris_path, via="api")
    assert via_api.size == iris_path.stat().st_size
    as_bytes = client.datasets.upload("bytes.csv", iris_path.read_bytes(), via="api")
    assert as_bytes.size == via_api.size
    assert client.datasets.download("bytes.csv", via="api") == iris_path.read_bytes()
    names = {d.name for d in client.datasets.list_datasets()}
    assert {"frame.csv", "file.csv", "bytes.csv"} <= names
    target = tmp_path / "down.csv"
    assert client.datasets.download("file.csv", target, via="api") == via_api.size
    assert target.read_bytes() == iris_path.read_bytes()
    assert client.datasets.download("file.csv") == iris_path.read_bytes()
    assert pd.read_csv(tmp_path / "down.csv").shape == frame.shape
    pd.testing.assert_frame_equal(
        pd.read_csv(__import__("io").BytesIO(client.datasets.download("frame.csv"))), frame
    )
    client.datasets.delete("bytes.csv")
    assert "bytes.csv" not in {d.name for d in client.datasets.list_datasets()}
    with pytest.raises(NotFoundError):
        client.datasets.delete("bytes.csv")
    with pytest.raises(ValueError, match="dataset name"):
        client.datasets.upload("a/b.csv", frame)
