"""S3 transfers of the SDK: httpx requests signed with botocore's SigV4 (protocol.md §3).

The official client moves data with s3fs (aiobotocore); this SDK needs neither: it signs
plain httpx requests with :class:`botocore.auth.S3SigV4Auth`, so the platform's storage is
reached through the same ``httpx.Client`` (proxies, transports, event hooks) as its API.

- **Addressing** is path-style: ``<endpoint>/<bucket>/<key>``, the endpoint being
  ``<base>/storage``. The signature covers the whole path, ``/storage`` included.
- **Uploads** up to ``multipart_threshold`` are one PutObject; bigger ones a multipart upload
  of ``part_size`` parts (50 MiB, like s3fs), each read from the source in turn, so a large
  file is never held in memory whole. A failed multipart upload is aborted.
- **Downloads** stream to a file or return bytes.

Credentials come from the API's ``GET /access`` and are never logged. Network failures are
retried by the SDK's one retry loop (:func:`avatars._http.send_with_retries`) under the same
:class:`~avatars._http.RetryPolicy` as the API's requests; every operation takes a
``timeout=`` that overrides the client's for that call.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlsplit

import httpx
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from avatars._http import DEFAULT, RetryPolicy, send_with_retries
from avatars.exceptions import StorageError
from avatars.protocol.wire import FileCredentials

logger = logging.getLogger("avatars.storage")

MiB = 1024 * 1024
DEFAULT_PART_SIZE = 50 * MiB
DEFAULT_MULTIPART_THRESHOLD = 100 * MiB
DEFAULT_REGION = "us-east-1"

Source = bytes | bytearray | memoryview | str | Path | IO[bytes]


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    last_modified: str | None


def split_s3_path(path: str) -> tuple[str, str]:
    """``s3://bucket/a/b.csv`` → ``("bucket", "a/b.csv")``."""
    parts = urlsplit(path)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"expected an s3://<bucket>/<key> path, got {path!r}")
    key = parts.path.lstrip("/")
    if not key:
        raise ValueError(f"the path {path!r} names a bucket, not an object")
    return parts.netloc, key


class Storage:
    """An S3 client for one storage endpoint, over an httpx client.

    ``retry`` is the policy of network retries (the API client passes its own, so both retry
    alike); ``max_retries``, if given, replaces its number of retries. ``timeout`` is the
    default of every operation (seconds, ``None``: none), which ``timeout=`` overrides.
    """

    def __init__(
        self,
        endpoint_url: str,
        *,
        http_client: Callable[[], httpx.Client] | httpx.Client | None = None,
        verify: bool = True,
        timeout: float | None = 60.0,
        region: str = DEFAULT_REGION,
        part_size: int = DEFAULT_PART_SIZE,
        multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if part_size < 5 * MiB:
            raise ValueError("part_size must be at least 5 MiB (S3's minimum part size)")
        self.endpoint_url = endpoint_url.rstrip("/")
        self.region = region
        self.part_size = part_size
        self.multipart_threshold = max(multipart_threshold, part_size)
        self.timeout = timeout
        retry = retry or RetryPolicy()
        if max_retries is not None:
            retry = dataclasses.replace(retry, max_network_retries=max_retries)
        self.retry = retry
        self.sleep: Callable[[float], None] = time.sleep
        self._http_client = http_client
        self._own: httpx.Client | None = None
        self._verify = verify

    @property
    def max_retries(self) -> int:
        """Extra attempts after a network failure (``retry.max_network_retries``)."""
        return self.retry.max_network_retries

    # -- plumbing --------------------------------------------------------------------------
    @property
    def http(self) -> httpx.Client:
        if isinstance(self._http_client, httpx.Client):
            return self._http_client
        if callable(self._http_client):
            return self._http_client()
        if self._own is None:
            self._own = httpx.Client(verify=self._verify, timeout=self.timeout)
        return self._own

    def close(self) -> None:
        if self._own is not None:
            self._own.close()
            self._own = None

    def object_url(self, bucket: str, key: str = "") -> str:
        url = f"{self.endpoint_url}/{quote(bucket, safe='')}"
        if key:
            url += "/" + quote(key, safe="/~")
        return url

    def _send(
        self,
        method: str,
        url: str,
        credentials: FileCredentials,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        stream: bool = False,
        idempotent: bool = True,
        timeout: float | None = DEFAULT,
    ) -> httpx.Response:
        """Sign and send one request, with the network retries of ``self.retry``."""
        effective = self.timeout if timeout is DEFAULT else timeout

        def send() -> httpx.Response:
            request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
            S3SigV4Auth(
                Credentials(credentials.access_key_id, credentials.secret_access_key),
                "s3",
                self.region,
            ).add_auth(request)
            signed = {k: v for k, v in request.headers.items()}
            built = self.http.build_request(
                method, url, content=body or None, headers=signed, timeout=effective
            )
            # The signature covers exactly these bytes: keep httpx from re-encoding.
            return self.http.send(built, stream=stream)

        return send_with_retries(
            send,
            method=method,
            url=url,
            policy=self.retry,
            idempotent=idempotent,
            timeout=effective,
            sleep=self.sleep,
            unreachable="storage unreachable",
        )

    def _check(self, response: httpx.Response, what: str) -> None:
        if response.is_success:
            return
        if not response.is_closed:
            response.read()
        code, message = _s3_error(response.content)
        detail = " ".join(x for x in (code, message or response.reason_phrase) if x)
        raise StorageError(
            f"{what}: {response.status_code} {detail}",
            status_code=response.status_code,
            code=code,
        )

    # -- operations ------------------------------------------------------------------------
    def head_object(
        self, path: str, credentials: FileCredentials, *, timeout: float | None = DEFAULT
    ) -> ObjectInfo:
        bucket, key = split_s3_path(path)
        response = self._send("HEAD", self.object_url(bucket, key), credentials, timeout=timeout)
        self._check(response, f"HEAD {path}")
        return ObjectInfo(
            size=int(response.headers.get("content-length", "0")),
            etag=response.headers.get("etag", "").strip('"'),
            last_modified=response.headers.get("last-modified"),
        )

    def put_object(
        self,
        path: str,
        data: Source,
        credentials: FileCredentials,
        *,
        content_type: str | None = None,
        timeout: float | None = DEFAULT,
    ) -> str:
        """Upload ``data`` (bytes, a file path or a binary file object) to ``path``.

        Multipart above ``multipart_threshold``. Returns the object's ETag. ``timeout``
        applies to each request of the transfer (each part of a multipart upload).
        """
        bucket, key = split_s3_path(path)
        size = _size_of(data)
        if size is not None and size <= self.multipart_threshold:
            body = _read_all(data)
            headers = {"Content-Type": content_type} if content_type else {}
            response = self._send(
                "PUT",
                self.object_url(bucket, key),
                credentials,
                body=body,
                headers=headers,
                timeout=timeout,
            )
            self._check(response, f"PUT {path}")
            return response.headers.get("etag", "").strip('"')
        return self._multipart(
            bucket, key, data, credentials, content_type=content_type, timeout=timeout
        )

    def _multipart(
        self,
        bucket: str,
        key: str,
        data: Source,
        credentials: FileCredentials,
        *,
        content_type: str | None,
        timeout: float | None = DEFAULT,
    ) -> str:
        url = self.object_url(bucket, key)
        headers = {"Content-Type": content_type} if content_type else {}
        response = self._send(
            "POST",
            url + "?uploads=",
            credentials,
            headers=headers,
            idempotent=False,
            timeout=timeout,
        )
        self._check(response, f"CreateMultipartUpload s3://{bucket}/{key}")
        upload_id = _xml_text(response.content, "UploadId")
        if not upload_id:
            raise StorageError("CreateMultipartUpload answered no UploadId")
        parts: list[tuple[int, str]] = []
        try:
            for number, chunk in enumerate(_chunks(data, self.part_size), start=1):
                part_url = f"{url}?partNumber={number}&uploadId={quote(upload_id, safe='')}"
                response = self._send("PUT", part_url, credentials, body=chunk, timeout=timeout)
                self._check(response, f"UploadPart {number} of s3://{bucket}/{key}")
                parts.append((number, response.headers.get("etag", "")))
                logger.debug("uploaded part %d (%d bytes) of %s", number, len(chunk), key)
            if not parts:  # an empty stream: S3 needs at least one part
                response = self._send(
                    "PUT",
                    f"{url}?partNumber=1&uploadId={quote(upload_id, safe='')}",
                    credentials,
                    timeout=timeout,
                )
                self._check(response, f"UploadPart 1 of s3://{bucket}/{key}")
                parts.append((1, response.headers.get("etag", "")))
            xml = (
                "<CompleteMultipartUpload>"
                + "".join(
                    f"<Part><PartNumber>{n}</PartNumber><ETag>{_xml_escape(e)}</ETag></Part>"
                    for n, e in parts
                )
                + "</CompleteMultipartUpload>"
            )
            response = self._send(
                "POST",
                f"{url}?uploadId={quote(upload_id, safe='')}",
                credentials,
                body=xml.encode(),
                headers={"Content-Type": "application/xml"},
                timeout=timeout,
            )
            self._check(response, f"CompleteMultipartUpload s3://{bucket}/{key}")
            # S3 may answer 200 with an error document.
            code, message = _s3_error(response.content)
            if code:
                raise StorageError(f"CompleteMultipartUpload: {code} {message}", code=code)
            return (_xml_text(response.content, "ETag") or "").strip('"')
        except BaseException:
            try:
                self._send(
                    "DELETE",
                    f"{url}?uploadId={quote(upload_id, safe='')}",
                    credentials,
                    timeout=timeout,
                ).close()
            except Exception:  # the original error matters more
                logger.warning("could not abort the multipart upload of %s", key)
            raise

    def get_object(
        self,
        path: str,
        credentials: FileCredentials,
        dest: str | Path | IO[bytes] | None = None,
        *,
        timeout: float | None = DEFAULT,
    ) -> bytes | int:
        """Download ``path``: its bytes, or the number of bytes written to ``dest``."""
        bucket, key = split_s3_path(path)
        response = self._send(
            "GET", self.object_url(bucket, key), credentials, stream=True, timeout=timeout
        )
        try:
            self._check(response, f"GET {path}")
            if dest is None:
                return response.read()
            written = 0
            if isinstance(dest, str | Path):
                target = Path(dest)
                tmp = target.with_name(target.name + ".part")
                with open(tmp, "wb") as handle:
                    for block in response.iter_bytes(MiB):
                        handle.write(block)
                        written += len(block)
                tmp.replace(target)
            else:
                for block in response.iter_bytes(MiB):
                    dest.write(block)
                    written += len(block)
            return written
        finally:
            response.close()

    def delete_object(
        self, path: str, credentials: FileCredentials, *, timeout: float | None = DEFAULT
    ) -> None:
        bucket, key = split_s3_path(path)
        response = self._send("DELETE", self.object_url(bucket, key), credentials, timeout=timeout)
        self._check(response, f"DELETE {path}")


# -- helpers ---------------------------------------------------------------------------------


def _size_of(data: Source) -> int | None:
    if isinstance(data, bytes | bytearray | memoryview):
        return len(data)
    if isinstance(data, str | Path):
        return Path(data).stat().st_size
    try:
        position = data.tell()
        end = data.seek(0, io.SEEK_END)
        data.seek(position)
        return end - position
    except (AttributeError, OSError, ValueError):
        return None  # a non-seekable stream: multipart, whatever its size


def _read_all(data: Source) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    if isinstance(data, str | Path):
        return Path(data).read_bytes()
    return data.read()


def _chunks(data: Source, size: int) -> Iterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, len(view), size):
            yield bytes(view[start : start + size])
        return
    if isinstance(data, str | Path):
        with open(data, "rb") as handle:
            yield from _chunks(handle, size)
        return
    while True:
        block = _read_exactly(data, size)
        if not block:
            return
        yield block


def _read_exactly(handle: IO[bytes], size: int) -> bytes:
    buffer = bytearray()
    while len(buffer) < size:
        block = handle.read(size - len(buffer))
        if not block:
            break
        buffer += block
    return bytes(buffer)


def _strip_ns(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_text(content: bytes, name: str) -> str | None:
    if not content:
        return None
    try:
        root = ET.fromstring(content)
    except ET.ParseError:
        return None
    for element in root.iter():
        if _strip_ns(element.tag) == name:
            return element.text or ""
    return None


def _s3_error(content: bytes) -> tuple[str, str]:
    """``(Code, Message)`` of an S3 error document, or empty strings."""
    if not content or b"<Error" not in content[:512]:
        return "", ""
    return _xml_text(content, "Code") or "", _xml_text(content, "Message") or ""


def _xml_escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def describe(info: ObjectInfo) -> dict[str, Any]:
    return {"size": info.size, "etag": info.etag, "last_modified": info.last_modified}
