"""Streaming ingestion of request bodies: decode, verify, write, without holding them.

Which framing and which integrity checks apply is decided from the (already
authenticated) headers *before* the first byte is read, so a request that cannot succeed
(unverifiable checksum, object too large) is refused before uvicorn sends ``100 Continue``.

Bytes are then pulled from ``request.stream()`` on the event loop and handed in batches
of about 1 MiB to a worker thread that decodes ``aws-chunked`` framing, updates the
hashes (SHA-256 of the payload, the ``x-amz-checksum-*`` algorithm, chunk-signature
hashes) and writes to the sink. One batch is processed while the next is received, so
network and hashing overlap on two cores; hashlib and zlib release the GIL on large
buffers. At most two batches are in memory per request, whatever the object size.

Nothing is verified until the whole body is in; the caller commits its atomic writer only
when :meth:`BodyIngest.run` returned normally and discards it otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from avatars.server.s3 import checksums
from avatars.server.s3.auth import (
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER,
    AuthResult,
    signature_mismatch,
)
from avatars.server.s3.chunked import AwsChunkedDecoder
from avatars.server.s3.errors import (
    S3Error,
    bad_digest,
    entity_too_large,
    incomplete_body,
    invalid_argument,
    invalid_request,
)

#: Bytes gathered from the network before a batch is handed to the worker thread.
BATCH_SIZE = 1024 * 1024
_TRAILER_SIGNATURE = "x-amz-trailer-signature"


class Sink(Protocol):
    """Where the decoded payload goes (:class:`avatars.server.storage.AtomicWriter`)."""

    @property
    def md5_hex(self) -> str: ...

    def write(self, data: bytes) -> None: ...


class MemorySink:
    """A sink for the small XML bodies (CompleteMultipartUpload, DeleteObjects)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._buffer = bytearray()
        self._md5 = hashlib.md5(usedforsecurity=False)

    @property
    def md5_hex(self) -> str:
        return self._md5.hexdigest()

    def write(self, data: bytes) -> None:
        if len(self._buffer) + len(data) > self._limit:
            raise S3Error("MaxMessageLengthExceeded", "Your request was too big.", 400)
        self._buffer += data
        self._md5.update(data)

    def getvalue(self) -> bytes:
        return bytes(self._buffer)


@dataclass
class BodySpec:
    """How to read and verify one request body, decided from its headers."""

    chunked: bool
    content_length: int | None
    decoded_length: int | None
    expected_sha256: str | None
    header_checksums: dict[str, bytes] = field(default_factory=dict)  # algorithm -> digest
    trailer_algorithms: list[str] = field(default_factory=list)
    content_md5: bytes | None = None

    @property
    def declared_size(self) -> int | None:
        return self.decoded_length if self.chunked else self.content_length


def _int_header(request: Request, name: str) -> int | None:
    value = request.headers.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise invalid_argument(f"Invalid {name} header.") from exc
    if number < 0:
        raise invalid_argument(f"Invalid {name} header.")
    return number


def body_spec(
    request: Request, auth: AuthResult, *, max_size: int | None, checksum_headers: bool = True
) -> BodySpec:
    """Validate the body-related headers; raise before the body is read if hopeless.

    ``checksum_headers=False`` for CompleteMultipartUpload, whose ``x-amz-checksum-*``
    headers describe the assembled object, not the XML body.
    """
    payload = auth.payload_hash
    chunked = payload in (STREAMING_UNSIGNED_TRAILER, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER)
    spec = BodySpec(
        chunked=chunked,
        content_length=_int_header(request, "content-length"),
        decoded_length=_int_header(request, "x-amz-decoded-content-length"),
        expected_sha256=payload if len(payload) == 64 and not chunked else None,
    )
    if chunked and spec.decoded_length is None:
        raise S3Error(
            "MissingContentLength",
            "x-amz-decoded-content-length is required with aws-chunked bodies.",
            411,
        )
    declared = spec.declared_size
    if max_size is not None and declared is not None and declared > max_size:
        raise entity_too_large(max_size)

    for name, value in request.headers.items():
        if not checksum_headers or not name.startswith(checksums.HEADER_PREFIX):
            continue
        algorithm = name[len(checksums.HEADER_PREFIX) :]
        if algorithm in ("algorithm", "type", "mode"):
            continue  # x-amz-checksum-algorithm/-type describe multipart settings
        algorithm = checksums.require_supported(algorithm)
        spec.header_checksums[algorithm] = checksums.decode_b64(value, name)
    sdk_algorithm = request.headers.get("x-amz-sdk-checksum-algorithm")
    if sdk_algorithm:
        checksums.require_supported(sdk_algorithm)

    trailer = request.headers.get("x-amz-trailer")
    if trailer:
        if not chunked or payload == STREAMING_SIGNED:
            raise invalid_request("x-amz-trailer needs a STREAMING-*-TRAILER payload.")
        for name in (item.strip().lower() for item in trailer.split(",") if item.strip()):
            if not name.startswith(checksums.HEADER_PREFIX):
                raise invalid_request(f"Unsupported trailing header {name!r}.")
            algorithm = checksums.require_supported(name[len(checksums.HEADER_PREFIX) :])
            spec.trailer_algorithms.append(algorithm)

    content_md5 = request.headers.get("content-md5")
    if content_md5 is not None:
        try:
            spec.content_md5 = checksums.decode_b64(content_md5, "Content-MD5")
        except S3Error as exc:
            raise S3Error(
                "InvalidDigest", "The Content-MD5 you specified was invalid.", 400
            ) from exc
        if len(spec.content_md5) != 16:
            raise S3Error("InvalidDigest", "The Content-MD5 you specified was invalid.", 400)
    return spec


class BodyIngest:
    """Read one request body into ``sink``, verifying everything the client claimed."""

    def __init__(
        self, spec: BodySpec, auth: AuthResult, sink: Sink, *, max_size: int | None
    ) -> None:
        self._spec = spec
        self._auth = auth
        self._sink = sink
        self._max_size = max_size
        self.size = 0
        self._sha256 = hashlib.sha256() if spec.expected_sha256 else None
        algorithms = set(spec.header_checksums) | set(spec.trailer_algorithms)
        self._checksums = {name: checksums.ALGORITHMS[name]() for name in sorted(algorithms)}
        self._chunk_sha256: hashlib._Hash | None = None
        self._decoder: AwsChunkedDecoder | None = None
        if spec.chunked:
            on_chunk_end = None
            if auth.chunk_verifier is not None:
                self._chunk_sha256 = hashlib.sha256()
                on_chunk_end = self._chunk_end
            self._decoder = AwsChunkedDecoder(self._data, on_chunk_end)

    # -- worker-thread side ----------------------------------------------------------------
    def _data(self, data: bytes | memoryview) -> None:
        self.size += len(data)
        if self._max_size is not None and self.size > self._max_size:
            raise entity_too_large(self._max_size)
        declared = self._spec.declared_size
        if declared is not None and self.size > declared:  # stop at once, don't store more
            raise incomplete_body("The body is longer than its declared length.")
        if self._sha256 is not None:
            self._sha256.update(data)
        if self._chunk_sha256 is not None:
            self._chunk_sha256.update(data)
        for checksum in self._checksums.values():
            checksum.update(data)
        self._sink.write(data)  # type: ignore[arg-type]  # memoryview is fine for files

    def _chunk_end(self, signature: str | None) -> None:
        assert self._chunk_sha256 is not None and self._auth.chunk_verifier is not None
        digest = self._chunk_sha256.hexdigest()
        self._chunk_sha256 = hashlib.sha256()
        if not self._auth.chunk_verifier.verify_chunk(digest, signature):
            raise signature_mismatch(
                self._auth.principal.access_key_id, "", "chunk signature does not match"
            )

    def _process(self, batch: list[bytes]) -> None:
        for piece in batch:
            if self._decoder is not None:
                self._decoder.feed(piece)
            else:
                self._data(piece)

    def _finish(self) -> dict[str, str]:
        spec = self._spec
        verified: dict[str, str] = {}
        if self._decoder is not None:
            trailers = self._decoder.finish()
            if spec.decoded_length is not None and self.size != spec.decoded_length:
                raise incomplete_body(
                    "The decoded body length does not match x-amz-decoded-content-length."
                )
            self._check_trailers(trailers)
            for name, value in trailers:
                if name != _TRAILER_SIGNATURE:
                    algorithm = name[len(checksums.HEADER_PREFIX) :]
                    self._compare(algorithm, checksums.decode_b64(value, name))
                    verified[name] = value
        elif spec.content_length is not None and self.size != spec.content_length:
            raise incomplete_body()
        if self._sha256 is not None and not hmac.compare_digest(
            self._sha256.hexdigest(), spec.expected_sha256 or ""
        ):
            raise S3Error(
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                400,
            )
        for algorithm, expected in spec.header_checksums.items():
            self._compare(algorithm, expected)
            verified[checksums.HEADER_PREFIX + algorithm] = checksums.b64(expected)
        if spec.content_md5 is not None and not hmac.compare_digest(
            bytes.fromhex(self._sink.md5_hex), spec.content_md5
        ):
            raise S3Error(
                "BadDigest", "The Content-MD5 you specified did not match what we received.", 400
            )
        return verified

    def _check_trailers(self, trailers: list[tuple[str, str]]) -> None:
        names = [name for name, _ in trailers]
        expected = [checksums.HEADER_PREFIX + a for a in self._spec.trailer_algorithms]
        declared = set(expected) | {_TRAILER_SIGNATURE}
        if set(expected) - set(names) or set(names) - declared or len(set(names)) != len(names):
            raise S3Error(
                "MalformedTrailerError",
                "The request contained trailing data that was not well-formed or did not "
                "conform to our published schema (see x-amz-trailer).",
                400,
            )
        if self._auth.payload_hash == STREAMING_SIGNED_TRAILER and trailers:
            verifier = self._auth.chunk_verifier
            assert verifier is not None
            signature = dict(trailers).get(_TRAILER_SIGNATURE)
            canonical = b"".join(
                f"{name}:{value}\n".encode()
                for name, value in trailers
                if name != _TRAILER_SIGNATURE
            )
            if not verifier.verify_trailer(canonical, signature):
                raise signature_mismatch(
                    self._auth.principal.access_key_id, "", "trailer signature does not match"
                )

    def _compare(self, algorithm: str, expected: bytes) -> None:
        if not hmac.compare_digest(self._checksums[algorithm].digest(), expected):
            raise bad_digest(algorithm.upper())

    # -- event-loop side -------------------------------------------------------------------
    async def run(self, request: Request) -> dict[str, str]:
        """Consume the body; return the verified checksum headers to echo (name -> b64)."""
        pending: asyncio.Future[None] | None = None
        batch: list[bytes] = []
        batch_size = 0
        try:
            async for piece in request.stream():
                if not piece:
                    continue
                batch.append(piece)
                batch_size += len(piece)
                if batch_size >= BATCH_SIZE:
                    if pending is not None:
                        await pending
                    pending = _start(run_in_threadpool(self._process, batch))
                    batch, batch_size = [], 0
            if pending is not None:
                await pending
                pending = None
            if batch:
                await run_in_threadpool(self._process, batch)
            return await run_in_threadpool(self._finish)
        except ClientDisconnect as exc:
            raise incomplete_body() from exc
        finally:
            if pending is not None:  # never leave a thread writing into a discarded sink
                with contextlib.suppress(BaseException):
                    await pending


def _start(awaitable: Awaitable[None]) -> asyncio.Future[None]:
    return asyncio.ensure_future(awaitable)
