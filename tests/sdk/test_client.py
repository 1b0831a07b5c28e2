"""ApiClient against the platform (in this process): the spec's examples, authentication, the
transport."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from avatars._http import RetryPolicy
from avatars.client import ApiClient
from avatars.exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    AvatarsError,
    NotFoundError,
    RateLimitError,
    UnprocessableEntityError,
)
from avatars.models import CompatibilityStatus, JobResponseList, MeUser
from avatars.server.clock import ManualClock


class Recorder:
    """Event hooks of an injected httpx.Client: every request and response it sees."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.responses: list[tuple[str, str, int]] = []

    def on_request(self, request: httpx.Request) -> None:
        self.requests.append(request)

    def on_response(self, response: httpx.Response) -> None:
        request = response.request
        self.responses.append((request.method, request.url.path, response.status_code))

    def client(self, platform: Any = None, **kwargs: Any) -> httpx.Client:
        """A client on ``platform``'s transport (the network without one)."""
        hooks = {"request": [self.on_request], "response": [self.on_response]}
        if platform is None:
            return httpx.Client(event_hooks=hooks, **kwargs)
        return platform.http_client(event_hooks=hooks, **kwargs)


def test_spec_session_example(platform: Any, user: Any) -> None:
    # ApiClient.rst, "Session & authentication": both ways, mutually exclusive (with the
    # in-process platform's transport; tests/e2e/test_sdk_live.py has the verbatim example).
    http = platform.http_client()
    client = ApiClient(base_url=platform.api_url, api_key=user.api_key, http_client=http)
    assert client.users.get_me().email == user.email  # no authenticate() needed
    with pytest.raises(ValueError, match="api_key"):
        client.authenticate(user.email, user.password)

    client = ApiClient(base_url=platform.api_url, http_client=http)
    client.authenticate(user.email, user.password)
    assert isinstance(client.users.get_me(), MeUser)


def test_key_attributes(platform: Any) -> None:
    client = ApiClient(platform.api_url, 12.5, False, verify_auth=False)
    assert client.base_url == platform.api_url
    assert client.timeout == 12.5
    assert client.should_verify_ssl is False
    assert client.verify_auth is False
    assert client.auth_tokens is None
    for facade in (
        "auth",
        "jobs",
        "results",
        "datasets",
        "resources",
        "users",
        "api_keys",
        "health",
        "compatibility",
        "event_logs",
    ):
        assert getattr(client, facade).client is client


def test_bad_constructor_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="base_url"):
        ApiClient("http://127.0.0.1:1")
    with pytest.raises(ValueError, match="base_url"):
        ApiClient('http://"x"/api')
    with pytest.raises(ValueError, match="timeout"):
        ApiClient("http://127.0.0.1:1/api", timeout=0)
    with pytest.raises(TypeError, match="http_client"):
        ApiClient("http://127.0.0.1:1/api", http_client=object())  # type: ignore[arg-type]


def test_api_key_header_and_user_agent(platform: Any, user: Any) -> None:
    recorder = Recorder()
    with recorder.client(platform) as http:
        client = platform.api_client(api_key=user.api_key, http_client=http)
        compat = client.compatibility.is_client_compatible()
        client.users.get_me()
    assert compat.status == CompatibilityStatus.compatible
    for request in recorder.requests:
        assert request.headers["authorization"] == f"api-key-v1 {user.api_key}"
        assert request.headers["user-agent"].startswith("avatars-sdk/")
        assert request.headers["avatars-accept-created"] == "yes"


def test_verify_auth_fails_before_sending(platform: Any) -> None:
    recorder = Recorder()
    with recorder.client(platform) as http:
        client = platform.api_client(http_client=http)
        with pytest.raises(AuthenticationError, match="not authenticated"):
            client.jobs.get_jobs()
        assert recorder.requests == []  # nothing left the client
        assert client.health.get_health()["message"]  # public endpoints still work
        assert len(recorder.requests) == 1

        unchecked = platform.api_client(verify_auth=False, http_client=http)
        with pytest.raises(AuthenticationError) as caught:
            unchecked.jobs.get_jobs()
    assert caught.value.status_code == 401  # the server's answer this time
    assert caught.value.response is not None


def test_wrong_password_is_an_authentication_error(platform: Any, user: Any) -> None:
    client = platform.api_client()
    with pytest.raises(AuthenticationError) as caught:
        client.authenticate(user.email, "wrong-password")
    assert caught.value.status_code == 401
    assert str(caught.value).startswith(f"POST {platform.api_url}/login: 401 ")
    assert "wrong-password" not in str(caught.value)


def test_error_hierarchy_carries_status_and_server_message(client: ApiClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.jobs.get_job_status("no-such-job")
    error = caught.value
    assert isinstance(error, APIError) and isinstance(error, AvatarsError)
    assert error.status_code == 404
    assert "not found" in error.message
    assert str(error) == f"GET {client.base_url}/jobs/no-such-job: 404 {error.message}"

    with pytest.raises(UnprocessableEntityError) as invalid:
        client.jobs.get_jobs(limit=0)
    assert invalid.value.status_code == 422
    assert "limit" in invalid.value.message


def test_injected_client_sees_every_request_including_storage(
    platform: Any, user: Any, iris_path: Any
) -> None:
    recorder = Recorder()
    with recorder.client(platform) as http:
        client = platform.api_client(api_key=user.api_key, http_client=http)
        client.upload_file(str(iris_path), "iris.csv")
        data = client.datasets.download("iris.csv")
        client.close()  # must not close the injected client
        assert not http.is_closed
    assert data == iris_path.read_bytes()
    paths = [(m, p) for m, p, _ in recorder.responses]
    assert ("GET", "/api/upload_url") in paths
    assert ("GET", "/api/access") in paths
    storage = [p for m, p in paths if p.startswith("/storage/")]
    assert any(p.endswith("/iris.csv") for p in storage)
    assert len(recorder.requests) == len(recorder.responses)


def test_token_refresh_when_the_access_token_expired(platform_factory: Any) -> None:
    # The platform's clock moves past the access token's 15 minutes: the client must refresh
    # once and replay.
    clock = ManualClock()
    short = platform_factory(clock=clock, run_jobs=False)
    user = short.new_user()
    recorder = Recorder()
    with recorder.client(short) as http:
        client = short.api_client(http_client=http)
        client.authenticate(user.email, user.password)
        first_access = client.auth_tokens.access
        clock.advance(minutes=16)
        me = client.users.get_me()
    assert me.email == user.email
    calls = recorder.responses
    assert ("GET", "/api/users/me", 401) in calls
    refresh_at = calls.index(("POST", "/api/refresh", 200))
    assert calls[refresh_at - 1] == ("GET", "/api/users/me", 401)
    assert calls[refresh_at + 1] == ("GET", "/api/users/me", 200)
    assert client.auth_tokens.access != first_access
    # The replay carried the new token.
    assert recorder.requests[-1].headers["authorization"] == f"Bearer {client.auth_tokens.access}"


def test_api_key_never_refreshes(platform: Any, user: Any) -> None:
    recorder = Recorder()
    with recorder.client(platform) as http:
        client = platform.api_client(api_key=user.api_key + "x", http_client=http)
        with pytest.raises(AuthenticationError):
            client.users.get_me()
    assert [p for _, p, _ in recorder.responses] == ["/api/users/me"]


def test_rate_limit_is_retried_after_retry_after(platform_factory: Any) -> None:
    limited = platform_factory(
        env={"AVATAR_LOGIN_MAX_FAILURES": "2", "AVATAR_LOGIN_FAILURE_WINDOW_SECONDS": "2"},
        run_jobs=False,
    )
    user = limited.new_user(with_key=False)
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            limited.api_client().authenticate(user.email, "wrong-password")

    # Without retries: the 429 surfaces with the server's Retry-After.
    strict = limited.api_client(retry=RetryPolicy(max_rate_limit_retries=0))
    with pytest.raises(RateLimitError) as caught:
        strict.authenticate(user.email, user.password)
    assert caught.value.status_code == 429
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 2
    assert "too many" in caught.value.message

    # With them (the default): wait as told, then succeed once the window has passed.
    recorder = Recorder()
    with recorder.client(limited) as http:
        client = limited.api_client(http_client=http)
        started = time.monotonic()
        client.authenticate(user.email, user.password)
        elapsed = time.monotonic() - started
    statuses = [s for _, _, s in recorder.responses]
    assert statuses[0] == 429 and statuses[-1] == 200
    assert elapsed >= 0.5
    assert client.auth_tokens is not None


def test_connection_errors_are_retried_with_backoff() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once closed
    recorder = Recorder()
    policy = RetryPolicy(max_network_retries=3, backoff_initial=0.01, backoff_max=0.05)
    with recorder.client() as http:
        client = ApiClient(f"http://127.0.0.1:{port}/api", http_client=http, retry=policy)
        with pytest.raises(APIConnectionError, match="could not reach"):
            client.health.get_health()
    assert len(recorder.requests) == 4  # the first try and 3 retries


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A real socket that accepts connections and never answers; yields its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for connection in accepted:
            connection.close()
        server.close()


def test_timeout_is_honoured() -> None:
    with silent_server() as port:
        client = ApiClient(
            f"http://127.0.0.1:{port}/api",
            timeout=0.3,
            retry=RetryPolicy(max_network_retries=1, backoff_initial=0.01),
        )
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match="timed out"):
            client.health.get_health()
        elapsed = time.monotonic() - started
        assert 0.5 <= elapsed < 5  # two attempts of 0.3 s, not forever
        # A per-call timeout overrides the client's.
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            client.health.get_health(timeout=0.1)
        assert time.monotonic() - started < 1.5


def test_upload_timeout_applies_to_the_storage_transfer(
    platform: Any, user: Any, iris_path: Any
) -> None:
    # The real API hands out the upload path and credentials; the storage endpoint is a real
    # socket that never answers. The client's own timeout is a minute: only the upload's
    # timeout can end the transfer within seconds.
    with silent_server() as port:
        client = ApiClient(
            platform.api_url,
            api_key=user.api_key,
            timeout=60,
            storage_endpoint_url=f"http://127.0.0.1:{port}/storage",
            retry=RetryPolicy(max_network_retries=1, backoff_initial=0.01),
            http_client=platform.http_client(),  # the API in this process, storage: the socket
        )
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match=r"timed out after 2\.0s") as caught:
            client.upload_file(str(iris_path), "iris.csv", timeout=2.0)
        elapsed = time.monotonic() - started
    assert caught.value.method == "PUT"
    assert caught.value.url.startswith(f"http://127.0.0.1:{port}/storage/")
    assert 4 <= elapsed < 30  # two attempts of 2 s (the shared retry policy), not 2 × 60 s


def test_typed_responses(client: ApiClient) -> None:
    assert isinstance(client.jobs.get_jobs(), JobResponseList)
    assert isinstance(client.users.get_me(), MeUser)


def test_low_level_request_accepts_the_official_keywords(client: ApiClient) -> None:
    me = client.request("get", "/users/me")
    assert me["email"]
    body = client.send_request(method="post", url="/access/batch", json_data=[])
    assert body == []
    health = client.request("get", "/health", should_verify_auth=False)
    assert health["message"] == "ok"
