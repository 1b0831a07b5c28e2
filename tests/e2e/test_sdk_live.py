"""The SDK against a live ``avatars serve``, for what needs a socket: the spec's example
verbatim (no injected transport) and the Manager configured from the environment
(``AVATAR_BASE_URL``...). Everything else of the SDK is tested in this process (tests/sdk).
SQLite: the SDK does not care which database the server uses."""

from __future__ import annotations

from typing import Any

import pytest

from avatars.client import AuthTokens
from avatars.exceptions import AuthenticationError
from avatars.manager import Manager
from avatars.runner import Runner


@pytest.fixture
def platform(live_platform: Any) -> Any:
    return live_platform


@pytest.fixture
def user(live_platform: Any) -> Any:
    return live_platform.new_user()


def test_spec_example_verbatim(platform: Any, user: Any, capsys: pytest.CaptureFixture) -> None:
    # ApiClient.rst, "Example" (with the test server's URL and user).
    from avatars.client import ApiClient

    client = ApiClient(base_url=platform.api_url)
    client.authenticate(user.email, user.password)
    all_jobs = client.jobs.get_jobs().jobs
    if all_jobs:
        first = all_jobs[0]
        result = client.results.get_results(first.name)
        print(result)
    assert isinstance(all_jobs, list)
    assert isinstance(client.auth_tokens, AuthTokens)
    assert client.auth_tokens.refresh


def test_manager_configuration(platform: Any, user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    manager = Manager(base_url=platform.api_url, api_key=user.api_key)  # "/api" is stripped
    assert manager.auth_client.base_url == platform.api_url
    assert manager.auth_client.storage_endpoint_url == f"{platform.base_url}/storage"

    monkeypatch.setenv("AVATAR_BASE_URL", platform.base_url)
    monkeypatch.setenv("AVATAR_API_KEY", user.api_key)
    monkeypatch.setenv("AVATAR_TIMEOUT", "17")
    from_env = Manager()
    assert from_env.auth_client.timeout == 17
    assert from_env.auth_client.users.get_me().email == user.email
    monkeypatch.delenv("AVATAR_API_KEY")

    with pytest.raises(AuthenticationError, match="API key was refused"):
        Manager(base_url=platform.base_url, api_key="octopize_apikey.wrong")
    with pytest.raises(ValueError, match="api_key"):
        Manager(base_url=platform.base_url, api_key=user.api_key).authenticate("a", "b")

    password = Manager(base_url=platform.base_url)
    password.authenticate(user.email, user.password)
    assert password.auth_client.users.get_me().email == user.email

    assert isinstance(Manager(api_client=password.auth_client).create_runner("x"), Runner)
