"""``ApiClient``: the low-level interface to the Avatar platform (spec: ApiClient.rst).

One client owns the transport, the credentials, the retries and the timeouts; the resource
facades (``auth``, ``jobs``, ``results``, ``datasets``, ``resources``, ``users``,
``api_keys``, ``health``, ``compatibility``, ``event_logs``) are small classes over it::

    from avatars.client import ApiClient
    client = ApiClient(base_url="https://instance/api")
    client.authenticate("user", "pass")
    all_jobs = client.jobs.get_jobs().jobs

Authentication is either username/password (``authenticate``: access and refresh tokens,
sent as ``Bearer``, refreshed lazily when the server says they expired) or an API key given
to the constructor (sent as ``Authorization: api-key-v1 <key>``, never refreshed). The two are
mutually exclusive: ``authenticate()`` on a client with an API key raises ``ValueError``.

Data does not travel through the API: uploads and downloads go to the platform's S3 storage
(``<base>/storage``), with credentials handed out by the API (:mod:`avatars.storage`).
"""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

import httpx

from avatars import __version__
from avatars._http import RetryPolicy, Transport
from avatars.api import (
    ApiKeys,
    Auth,
    Compatibility,
    Datasets,
    EventLogs,
    Health,
    Jobs,
    Openapi,
    Resources,
    Results,
    Users,
)
from avatars.constants import DEFAULT_TIMEOUT
from avatars.models import FileAccess, ForgottenPasswordRequest, LoginResponse, ResetPasswordRequest
from avatars.storage import Storage

__all__ = ["ApiClient", "AuthTokens"]

USER_AGENT = f"avatars-sdk/{__version__}"


@dataclass
class AuthTokens:
    """The tokens of a password login. ``refresh`` renews ``access`` when it expires."""

    access: str
    refresh: str | None = None

    def update(self, resp: LoginResponse) -> None:
        self.access = resp.access_token
        if resp.refresh_token:
            self.refresh = resp.refresh_token

    def __repr__(self) -> str:  # tokens are secrets: never print them
        return "AuthTokens(access='***', refresh=" + ("'***')" if self.refresh else "None)")


class ApiClient:
    """Client of the Avatar API.

    Parameters
    ----------
    base_url:
        The API root, ending with ``/api`` (e.g. ``https://instance/api``). The storage
        endpoint is derived from it (``/api`` → ``/storage``) unless
        ``storage_endpoint_url`` (or ``AVATAR_STORAGE_ENDPOINT_URL``) says otherwise.
    timeout:
        Default timeout of every request, in seconds (``None``: no timeout). Facade methods
        accept ``timeout=`` to override it for one call.
    should_verify_ssl:
        Verify the server's TLS certificate (turn off only for self-signed test servers).
    verify_auth:
        Refuse, before sending, calls that need credentials when none are set.
    http_client:
        An ``httpx.Client`` to send every request with (proxies, transports, event hooks).
        It is not closed by :meth:`close`.
    api_key:
        Authenticate with this API key instead of :meth:`authenticate`.
    """

    def __init__(
        self,
        base_url: str,
        timeout: float | None = DEFAULT_TIMEOUT,
        should_verify_ssl: bool = True,
        *,
        verify_auth: bool = True,
        http_client: httpx.Client | None = None,
        api_key: str | None = None,
        storage_endpoint_url: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if not isinstance(base_url, str) or not base_url:
            raise ValueError("base_url must be provided, e.g. 'https://instance/api'")
        if '"' in base_url:
            raise ValueError(f"base_url must not contain quotes, got {base_url!r}")
        base_url = base_url.rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if not base_url.endswith("/api"):
            raise ValueError(
                f"base_url must end with '/api' (the API root), got {base_url!r}; "
                "the Manager takes the server URL without it"
            )
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be positive or None, got {timeout!r}")
        if api_key is not None and not api_key.strip():
            raise ValueError("api_key must not be empty")
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise TypeError(
                f"http_client must be an httpx.Client, got {type(http_client).__name__}"
            )

        self.base_url = base_url
        self.timeout = timeout
        self.should_verify_ssl = should_verify_ssl
        self.verify_auth = verify_auth
        self.auth_tokens: AuthTokens | None = None
        self._api_key = api_key
        self._refresh_lock = threading.Lock()
        self.storage_endpoint_url = (
            storage_endpoint_url
            or os.environ.get("AVATAR_STORAGE_ENDPOINT_URL")
            or base_url[: -len("/api")] + "/storage"
        ).rstrip("/")

        self._transport = Transport(
            base_url,
            timeout=timeout,
            verify=should_verify_ssl,
            http_client=http_client,
            headers={"Avatars-Accept-Created": "yes", "User-Agent": USER_AGENT},
            auth_header=self._authorization,
            refresh=None if api_key else self._refresh_auth,
            verify_auth=verify_auth,
            retry=retry,
        )
        self.storage = Storage(
            self.storage_endpoint_url,
            http_client=lambda: self._transport.http_client,
            timeout=timeout,
        )

        self.api_keys = ApiKeys(self)
        self.auth = Auth(self)
        self.compatibility = Compatibility(self)
        self.datasets = Datasets(self)
        self.event_logs = EventLogs(self)
        self.health = Health(self)
        self.jobs = Jobs(self)
        self.openapi = Openapi(self)
        self.resources = Resources(self)
        self.results = Results(self)
        self.users = Users(self)

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connections this client opened (an injected ``http_client`` stays open)."""
        self._transport.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        scheme = "api_key" if self._api_key else ("tokens" if self.auth_tokens else "none")
        return (
            f"ApiClient(base_url={self.base_url!r}, timeout={self.timeout!r}, "
            f"should_verify_ssl={self.should_verify_ssl!r}, verify_auth={self.verify_auth!r}, "
            f"auth={scheme})"
        )

    __str__ = __repr__

    # -- authentication --------------------------------------------------------------------
    def is_using_api_key(self) -> bool:
        return self._api_key is not None

    def _authorization(self) -> str | None:
        if self._api_key:
            return f"api-key-v1 {self._api_key}"
        if self.auth_tokens:
            return f"Bearer {self.auth_tokens.access}"
        return None

    def authenticate(self, username: str, password: str, timeout: float | None = None) -> None:
        """Log in and keep the access and refresh tokens for the following requests."""
        if self._api_key:
            raise ValueError(
                "Cannot call authenticate() when api_key is set: API key authentication is "
                "already active. To log in with a username and password, create an ApiClient "
                "without api_key."
            )
        if not username:
            raise ValueError("username must not be empty")
        if not password:
            raise ValueError("password must not be empty")
        kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        resp = self.auth.login(username=username, password=password, **kwargs)
        self._update_auth_tokens(resp)

    def _update_auth_tokens(self, resp: LoginResponse) -> None:
        if self.auth_tokens is None:
            self.auth_tokens = AuthTokens(access=resp.access_token, refresh=resp.refresh_token)
        else:
            self.auth_tokens.update(resp)

    def _refresh_auth(self) -> bool:
        """Renew the access token with the refresh token; ``False`` if there is none."""
        with self._refresh_lock:
            tokens = self.auth_tokens
            if tokens is None or not tokens.refresh:
                return False
            self._update_auth_tokens(self.auth.refresh(tokens.refresh))
            return True

    def forgotten_password(self, email: str, timeout: float | None = None) -> None:
        kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        self.auth.forgotten_password(ForgottenPasswordRequest(email=email), **kwargs)

    def reset_password(
        self,
        email: str,
        new_password: str,
        new_password_repeated: str,
        token: Any,
        timeout: float | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        self.auth.reset_password(
            ResetPasswordRequest(
                email=email,
                new_password=new_password,
                new_password_repeated=new_password_repeated,
                token=token,
            ),
            **kwargs,
        )

    # -- the transport, for facades and advanced use --------------------------------------
    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send one API request (``url`` relative to ``base_url``) and return its decoded body.

        Keywords: ``params``, ``json_body``, ``form``, ``content``, ``headers``, ``timeout``,
        ``auth`` (``False`` for public endpoints), ``stream_to`` (a path or binary file).
        """
        if kwargs.get("timeout", ...) is ...:
            kwargs.pop("timeout", None)
        # The official client's keyword names, for code written against its BaseClient.
        for official, ours in (
            ("json_data", "json_body"),
            ("form_data", "form"),
            ("should_verify_auth", "auth"),
        ):
            if official in kwargs:
                kwargs[ours] = kwargs.pop(official)
        return self._transport.request(method, url, **kwargs)

    def send_request(self, *, method: str, url: str, **kwargs: Any) -> Any:
        """:meth:`request` with keyword-only arguments (the official client's name)."""
        return self.request(method, url, **kwargs)

    def set_header(self, key: str, value: str) -> None:
        """Send ``key: value`` with every API request."""
        self._transport.headers[key] = value

    @property
    def http_client(self) -> httpx.Client:
        """The ``httpx.Client`` requests are sent with."""
        return self._transport.http_client

    # -- data ------------------------------------------------------------------------------
    def upload_file(self, data: Any, key: str, timeout: float | None = None) -> str:
        """Upload a table to the caller's upload prefix as ``key``; return its ``s3://`` path.

        ``data`` is a pandas DataFrame (written as CSV, like the official client), a path to
        a file (uploaded as is), bytes, or a binary file object. The YAML refers to it as
        ``{volume: input, file: <key>}``.
        """
        _check_key(key)
        base = self.results.get_upload_url()
        path = f"{base.rstrip('/')}/{key}"
        access = self.results.get_permission_to_download(f"{self.base_url}/access?url={path}")
        source, content_type = _as_source(data, key)
        try:
            self.storage.put_object(path, source, access.credentials, content_type=content_type)
        finally:
            if isinstance(source, io.IOBase) and source is not data:
                source.close()
        return path

    def download_file(
        self,
        file_access: FileAccess | str,
        path: str | Path | IO[bytes] | None = None,
    ) -> str | bytes | int:
        """Download a result. ``file_access`` is a :class:`FileAccess` (or a result URL, for
        which credentials are asked first).

        Without ``path``: PDF and DOCX come back as bytes, everything else as UTF-8 text
        (the official client's behaviour). With ``path`` the bytes are written there and the
        number of bytes is returned.
        """
        if isinstance(file_access, str):
            file_access = self.results.get_permission_to_download(file_access)
        storage_path = storage_path_of(file_access.url)
        if path is not None:
            return self.storage.get_object(storage_path, file_access.credentials, path)
        data = self.storage.get_object(storage_path, file_access.credentials)
        assert isinstance(data, bytes)
        if storage_path.endswith((".pdf", ".docx", ".parquet")):
            return data
        return data.decode("utf-8")


def storage_path_of(url: str) -> str:
    """The storage path inside a result URL: its ``url=`` query parameter (protocol §3.4)."""
    query = urlsplit(url).query
    values = parse_qs(query).get("url")
    if not values or not values[0]:
        raise ValueError(f"expected a result URL with a url=<storage path> parameter, got {url!r}")
    return values[0]


def _check_key(key: str) -> None:
    if not key or key in (".", "..") or "/" in key or "\\" in key or "\x00" in key:
        raise ValueError(f"invalid file name {key!r}: use a plain name like 'iris.csv'")


def _as_source(data: Any, key: str) -> tuple[Any, str | None]:
    """What to upload for ``data``, and its content type."""
    content_type = "text/csv" if key.endswith(".csv") else None
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a base dependency
        pd = None  # type: ignore[assignment]
    if pd is not None and isinstance(data, pd.DataFrame):
        if key.endswith(".parquet"):
            buffer = io.BytesIO()
            data.reset_index(drop=True).to_parquet(buffer, index=False)
            buffer.seek(0)
            return buffer, "application/vnd.apache.parquet"
        buffer = io.BytesIO()
        data.reset_index(drop=True).to_csv(buffer, index=False)
        buffer.seek(0)
        return buffer, content_type
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.is_file():
            raise ValueError(f"data: no such file {str(path)!r}")
        return path, content_type
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data), content_type
    if hasattr(data, "read"):
        return data, content_type
    raise TypeError(
        "data must be a pandas DataFrame, a path to a file, bytes or a binary file object, "
        f"got {type(data).__name__}"
    )
