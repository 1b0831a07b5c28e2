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

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, overload
from urllib.parse import urlsplit

import httpx

from avatars import __version__
from avatars._http import DEFAULT, RetryPolicy, Transport
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
    Transfers,
    Users,
)
from avatars.api.transfers import storage_path_of
from avatars.constants import DEFAULT_TIMEOUT
from avatars.protocol.wire import (
    FileAccess,
    ForgottenPasswordRequest,
    LoginResponse,
    ResetPasswordRequest,
)
from avatars.storage import Storage

__all__ = ["ApiClient", "AuthTokens", "storage_path_of"]

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
        # The storage sends through the same httpx client and retries under the same policy.
        self.storage = Storage(
            self.storage_endpoint_url,
            http_client=lambda: self._transport.http_client,
            timeout=timeout,
            retry=self._transport.retry,
        )

        transport = self._transport
        self.api_keys = ApiKeys(transport, self)
        self.auth = Auth(transport, self)
        self.compatibility = Compatibility(transport, self)
        self.event_logs = EventLogs(transport, self)
        self.health = Health(transport, self)
        self.jobs = Jobs(transport, self)
        self.openapi = Openapi(transport, self)
        self.resources = Resources(transport, self)
        self.results = Results(transport, self)
        self.users = Users(transport, self)
        self._transfers = Transfers(self.results, self.storage, base_url)
        self.datasets = Datasets(transport, self._transfers, self)

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
    def upload_file(self, data: Any, key: str, timeout: float | None = DEFAULT) -> str:
        """Upload a table to the caller's upload prefix as ``key``; return its ``s3://`` path.

        ``data`` is a pandas DataFrame (written as CSV, like the official client), a path to
        a file (uploaded as is), bytes, or a binary file object. The YAML refers to it as
        ``{volume: input, file: <key>}``. ``timeout`` (seconds; ``None``: none) replaces the
        client's for every request of the upload, the storage transfer included.
        """
        return self._transfers.upload(data, key, timeout=timeout)

    @overload
    def download_file(
        self, file_access: FileAccess | str, path: None = None, *, timeout: float | None = ...
    ) -> str | bytes: ...

    @overload
    def download_file(
        self,
        file_access: FileAccess | str,
        path: str | Path | IO[bytes],
        *,
        timeout: float | None = ...,
    ) -> int: ...

    def download_file(
        self,
        file_access: FileAccess | str,
        path: str | Path | IO[bytes] | None = None,
        *,
        timeout: float | None = DEFAULT,
    ) -> str | bytes | int:
        """Download a result. ``file_access`` is a :class:`FileAccess` (or a result URL, for
        which credentials are asked first).

        Without ``path``: PDF and DOCX come back as bytes, everything else as UTF-8 text
        (the official client's behaviour). With ``path`` the bytes are written there and the
        number of bytes is returned.
        """
        return self._transfers.download(file_access, path, timeout=timeout)
