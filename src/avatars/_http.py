"""The SDK's HTTP transport: one place for request building, retries, auth and decoding.

Every facade call of :class:`avatars.client.ApiClient` ends here, so the behaviours users
rely on are the same everywhere:

- **Headers** as the official client sends them (protocol.md §2.1): ``Avatars-Accept-Created:
  yes``, a ``User-Agent`` (ours: ``avatars-sdk/<version>``) and the ``Authorization`` header.
- **Decoding** by ``Content-Type``: JSON is parsed, ``application/pdf`` and
  ``application/octet-stream`` come back as ``bytes``, anything else as text; an empty body
  is ``None``.
- **201 + Location**: with ``Avatars-Accept-Created`` the server may answer 201 and a
  ``Location`` to poll while it says 202; we follow it as the official client does.
- **Retries**: a connection that could not be made is retried with capped exponential
  back-off; a request that may have reached the server (read error, timeout) is retried only
  for idempotent methods, so a ``POST /jobs`` is never sent twice. A 429 is retried up to
  ``max_rate_limit_retries`` times after the server's ``Retry-After``. The storage client
  (:mod:`avatars.storage`) retries with the same loop, :func:`send_with_retries`, under the
  same :class:`RetryPolicy`.
- **Token refresh**: a 401 whose message says "credentials expired" calls ``refresh`` once
  and replays the request with the new token.
- **verify_auth**: a call that needs credentials fails before leaving the client when none
  are set, instead of costing a round trip and a confusing 401.

Secrets never reach the log: only methods, URLs and statuses are logged.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import IO, Any

import httpx

from avatars.exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    RateLimitError,
    error_class_for,
)

logger = logging.getLogger("avatars.http")

#: Methods that are safe to send twice: their replay after an ambiguous failure is harmless.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
BINARY_CONTENT_TYPES = ("application/pdf", "application/octet-stream")


@dataclass
class RetryPolicy:
    """How hard the transport tries before giving up.

    ``max_network_retries`` counts extra attempts after a connection failure, waiting
    ``backoff_initial × backoff_factor^n`` seconds, at most ``backoff_max``.
    ``max_rate_limit_retries`` extra attempts follow a 429, each after the server's
    ``Retry-After`` (at least ``rate_limit_min_wait``, at most ``rate_limit_max_wait``).
    """

    max_network_retries: int = 5
    backoff_initial: float = 0.5
    backoff_factor: float = 2.0
    backoff_max: float = 5.0
    max_rate_limit_retries: int = 3
    rate_limit_min_wait: float = 0.0
    rate_limit_max_wait: float = 60.0

    def network_delay(self, attempt: int) -> float:
        return min(self.backoff_max, self.backoff_initial * self.backoff_factor**attempt)


#: ``timeout=DEFAULT`` means "the client's timeout"; ``None`` disables it for one call.
DEFAULT: Any = ...


def send_with_retries(
    send: Callable[[], httpx.Response],
    *,
    method: str,
    url: str,
    policy: RetryPolicy,
    idempotent: bool,
    timeout: float | None,
    sleep: Callable[[float], None] = time.sleep,
    unreachable: str = "could not reach the server",
) -> httpx.Response:
    """``send()`` with the network retries of ``policy``: the one retry loop of the SDK, used
    by the API transport and by the storage client alike.

    A failure before the request left (connect error or connect timeout) is always retried;
    one after it may have reached the server (read error, read timeout) only when the request
    is ``idempotent``, so that a non-idempotent request is never sent twice. Once the retries
    are spent, a timeout raises :class:`APITimeoutError`, anything else
    :class:`APIConnectionError` (``unreachable`` says what could not be reached).
    ``send`` builds its request anew on each call (a signed request is signed again).
    """
    attempt = 0
    while True:
        try:
            return send()
        except httpx.TimeoutException as exc:
            safe = idempotent or isinstance(exc, httpx.ConnectTimeout)
            if not safe or attempt >= policy.max_network_retries:
                raise APITimeoutError(
                    f"{method} {url}: timed out after {timeout}s ({type(exc).__name__})",
                    method=method,
                    url=url,
                ) from exc
        except httpx.TransportError as exc:
            safe = idempotent or isinstance(exc, httpx.ConnectError)
            if not safe or attempt >= policy.max_network_retries:
                raise APIConnectionError(
                    f"{method} {url}: {unreachable} ({type(exc).__name__}: {exc})",
                    method=method,
                    url=url,
                ) from exc
        delay = policy.network_delay(attempt)
        attempt += 1
        logger.info(
            "%s %s failed; retry %d/%d in %.1fs",
            method,
            url,
            attempt,
            policy.max_network_retries,
            delay,
        )
        sleep(delay)


ContentFactory = Callable[[], bytes | Iterable[bytes] | IO[bytes]]


def _nested_value(obj: Any, key: str) -> Any:
    """The first value of ``key`` anywhere in a JSON document (depth first)."""
    if isinstance(obj, Mapping):
        if key in obj:
            return obj[key]
        obj = list(obj.values())
    if isinstance(obj, list):
        for item in obj:
            found = _nested_value(item, key)
            if found is not None:
                return found
    return None


def extract_error_message(body: Any) -> str:
    """The server's explanation of an error, in the official client's order of preference:
    a ``message`` key anywhere, a validation ``msg`` with the last element of its ``loc``,
    ``detail``, or the raw body."""
    if isinstance(body, Mapping):
        message = _nested_value(body, "message")
        if isinstance(message, str) and message:
            return message
        msg = _nested_value(body, "msg")
        if isinstance(msg, str) and msg:
            loc = _nested_value(body, "loc")
            if isinstance(loc, list) and loc:
                return f"{msg}: {loc[-1]}"
            return msg
        detail = body.get("detail")
        if detail:
            return str(detail)
        return json.dumps(body)
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace").strip() or "no message"
    if body is None or body == "":
        return "no message"
    return str(body).strip()


def decode_body(response: httpx.Response) -> Any:
    """JSON → parsed, PDF/octet-stream → bytes, other types → text, empty → ``None``."""
    content = response.content
    if not content:
        return None
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            return response.json()
        except ValueError:
            return response.text
    if ctype in BINARY_CONTENT_TYPES:
        return content
    if not ctype:
        # No Content-Type: JSON if it parses, text otherwise.
        try:
            return response.json()
        except ValueError:
            return response.text
    return response.text


def parse_retry_after(response: httpx.Response, body: Any) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or a JSON ``retry_after``."""
    header = response.headers.get("retry-after")
    if header:
        header = header.strip()
        try:
            return max(0.0, float(header))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(header) if header else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - time.time())
    value = _nested_value(body, "retry_after") if isinstance(body, Mapping) else None
    if isinstance(value, int | float):
        return max(0.0, float(value))
    return None


def _is_expired_credentials(response: httpx.Response, body: Any) -> bool:
    """A 401 the official protocol answers with a refresh: ``detail.message`` (or the raw text
    of a non-JSON body) contains "credentials expired"."""
    if response.status_code != 401:
        return False
    if isinstance(body, Mapping):
        detail = body.get("detail")
        text = detail.get("message", "") if isinstance(detail, Mapping) else ""
        if not text:
            text = str(body.get("message", ""))
        return "credentials expired" in str(text)
    return "credentials expired" in str(body or "")


class Transport:
    """Sends API requests for one :class:`~avatars.client.ApiClient`.

    ``auth_header`` returns the current ``Authorization`` value (or ``None``), ``refresh``
    renews an expired token and says whether it did. An injected ``http_client`` is used for
    every request and never closed here; otherwise one client is created and kept for
    connection reuse.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float | None,
        verify: bool,
        http_client: httpx.Client | None,
        headers: Mapping[str, str],
        auth_header: Callable[[], str | None],
        refresh: Callable[[], bool] | None,
        verify_auth: bool,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.verify = verify
        self.headers = dict(headers)
        self.verify_auth = verify_auth
        self.retry = retry or RetryPolicy()
        self._auth_header = auth_header
        self._refresh = refresh
        self._injected = http_client
        self._own: httpx.Client | None = None
        self._lock = threading.Lock()
        self.sleep: Callable[[float], None] = time.sleep

    # -- the httpx client ------------------------------------------------------------------
    @property
    def http_client(self) -> httpx.Client:
        if self._injected is not None:
            return self._injected
        with self._lock:
            if self._own is None:
                self._own = httpx.Client(verify=self.verify, timeout=self.timeout)
            return self._own

    def close(self) -> None:
        """Close the client this transport created (never an injected one)."""
        with self._lock:
            if self._own is not None:
                self._own.close()
                self._own = None

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return (
            f"{self.base_url}/{path.lstrip('/')}" if path not in ("", "/") else self.base_url + "/"
        )

    # -- one request -----------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: Mapping[str, Any] | None = None,
        content: bytes | str | ContentFactory | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        timeout: float | None = DEFAULT,
        follow_created: bool = True,
        stream_to: str | Path | IO[bytes] | None = None,
        refresh_on_expiry: bool = True,
    ) -> Any:
        """Send a request and return its decoded body (see :func:`decode_body`).

        ``auth=False`` marks the public endpoints (login, health, compatibility...), which
        ``verify_auth`` does not guard. ``stream_to`` writes the response body to a path or a
        binary file object and returns the number of bytes written.
        """
        method = method.upper()
        url = self.url(path)
        if auth and self.verify_auth and not self._auth_header():
            raise AuthenticationError(
                401,
                "not authenticated: call authenticate(username, password) or pass api_key= "
                "before calling this endpoint",
                method=method,
                url=url,
            )
        eff_timeout = self.timeout if timeout is DEFAULT else timeout
        clean_params = _clean_params(params)
        refreshed = False
        rate_limited = 0
        while True:
            response = self._send_with_network_retries(
                method,
                url,
                params=clean_params,
                json_body=json_body,
                form=form,
                content=content,
                headers=headers,
                timeout=eff_timeout,
                stream=stream_to is not None,
            )
            if stream_to is not None and response.is_success:
                try:
                    return _write_stream(response, stream_to)
                finally:
                    response.close()
            if stream_to is not None:
                response.read()
                response.close()
            body = decode_body(response)
            if response.is_success:
                if (
                    follow_created
                    and response.status_code == 201
                    and response.headers.get("location")
                ):
                    return self._follow_created(response.headers["location"], eff_timeout)
                return body
            if (
                not refreshed
                and refresh_on_expiry
                and self._refresh is not None
                and _is_expired_credentials(response, body)
            ):
                refreshed = True
                logger.info("access token expired; refreshing and replaying %s %s", method, url)
                if self._refresh():
                    continue
            if response.status_code == 429 and rate_limited < self.retry.max_rate_limit_retries:
                rate_limited += 1
                wait = parse_retry_after(response, body) or 0.0
                wait = min(
                    max(wait, self.retry.rate_limit_min_wait), self.retry.rate_limit_max_wait
                )
                logger.info(
                    "rate limited on %s %s; retry %d/%d in %.1fs",
                    method,
                    url,
                    rate_limited,
                    self.retry.max_rate_limit_retries,
                    wait,
                )
                self.sleep(wait)
                continue
            raise self._error(response, body, method, url)

    def _error(self, response: httpx.Response, body: Any, method: str, url: str) -> APIError:
        message = extract_error_message(body)
        cls = error_class_for(response.status_code)
        kwargs: dict[str, Any] = {"method": method, "url": url, "body": body}
        if cls is RateLimitError:
            kwargs["retry_after"] = parse_retry_after(response, body)
        return cls(response.status_code, message, response, **kwargs)

    def _send_with_network_retries(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None,
        json_body: Any,
        form: Mapping[str, Any] | None,
        content: bytes | str | ContentFactory | None,
        headers: Mapping[str, str] | None,
        timeout: float | None,
        stream: bool,
    ) -> httpx.Response:
        def send() -> httpx.Response:
            request_headers = dict(self.headers)
            authorization = self._auth_header()
            if authorization:
                request_headers["Authorization"] = authorization
            if headers:
                request_headers.update(headers)
            body_content = content() if callable(content) else content
            if json_body is not None:
                request_headers.setdefault("Content-Type", "application/json")
                body_content = _dump_json(json_body)
            request = self.http_client.build_request(
                method,
                url,
                params=params,
                data=_clean_params(form) if form is not None else None,
                content=body_content,
                headers=request_headers,
                timeout=timeout,
            )
            logger.debug("%s %s", method, url)
            return self.http_client.send(request, stream=stream)

        return send_with_retries(
            send,
            method=method,
            url=url,
            policy=self.retry,
            idempotent=method in IDEMPOTENT_METHODS,
            timeout=timeout,
            sleep=self.sleep,
        )

    def _follow_created(self, location: str, timeout: float | None) -> Any:
        """Poll the ``Location`` of a 201 while it answers 202 (protocol.md §2.1)."""
        delay = 0.2
        while True:
            response = self._send_with_network_retries(
                "GET",
                self.url(location),
                params=None,
                json_body=None,
                form=None,
                content=None,
                headers=None,
                timeout=timeout,
                stream=False,
            )
            body = decode_body(response)
            if not response.is_success:
                raise self._error(response, body, "GET", self.url(location))
            if response.status_code != 202:
                return body
            self.sleep(delay)
            delay = min(delay * 1.5, 5.0)


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Drop ``None`` values and turn enums and UUIDs into plain strings."""
    if params is None:
        return None
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            out[key] = [_plain(v) for v in value if v is not None]
        else:
            out[key] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, int | float | str):
        return value
    return str(value)


def _dump_json(body: Any) -> bytes:
    """Pydantic models through their own JSON encoder (aliases, UUIDs, enums), the rest with
    the standard library."""
    dump = getattr(body, "model_dump_json", None)
    if dump is not None:
        return dump(by_alias=True).encode()
    if isinstance(body, list):
        items = [
            json.loads(item.model_dump_json(by_alias=True))
            if hasattr(item, "model_dump_json")
            else item
            for item in body
        ]
        return json.dumps(items, separators=(",", ":"), default=str).encode()
    return json.dumps(body, separators=(",", ":"), default=str).encode()


def _write_stream(response: httpx.Response, dest: str | Path | IO[bytes]) -> int:
    written = 0
    if isinstance(dest, str | Path):
        path = Path(dest)
        tmp = path.with_name(path.name + ".part")
        with open(tmp, "wb") as handle:
            for chunk in response.iter_bytes():
                handle.write(chunk)
                written += len(chunk)
        tmp.replace(path)
        return written
    for chunk in response.iter_bytes():
        dest.write(chunk)
        written += len(chunk)
    return written


def iter_file(path: str | Path, block: int = 1024 * 1024) -> Iterator[bytes]:
    """A file's bytes in blocks, for streamed uploads."""
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            yield chunk
