"""aws-chunked bodies: the decoder alone, and hand-framed requests (unsigned chunks with a
CRC32 trailer as botocore sends over TLS, signed chunks as other SDKs send) against the
server, including every way they can be wrong."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import zlib

import pytest
from s3_harness import ALICE, ALICE_BUCKET, S3Server, error_code, leftovers, raw_request, sign

from avatars.server.s3.chunked import AwsChunkedDecoder
from avatars.server.s3.errors import S3Error

B = ALICE_BUCKET
EMPTY = hashlib.sha256(b"").hexdigest()


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


# -- the decoder -----------------------------------------------------------------------------


def _decode(wire: bytes, step: int) -> tuple[bytes, list[tuple[str, str]], list[str | None]]:
    out = bytearray()
    signatures: list[str | None] = []
    decoder = AwsChunkedDecoder(out.extend, signatures.append)
    for i in range(0, len(wire), step):
        decoder.feed(wire[i : i + step])
    return bytes(out), decoder.finish(), signatures


@pytest.mark.parametrize("step", [1, 2, 7, 64, 10_000])
def test_decoder_handles_any_split(step: int) -> None:
    payload = os.urandom(5000)
    wire = (
        b"1000\r\n" + payload[:4096] + b"\r\n"
        + f"{len(payload) - 4096:x};chunk-signature=".encode() + b"a" * 64 + b"\r\n"
        + payload[4096:] + b"\r\n"
        + b"0\r\nx-amz-checksum-crc32:" + crc32_b64(payload).encode() + b"\r\n\r\n"
    )  # fmt: skip
    data, trailers, signatures = _decode(wire, step)
    assert data == payload
    assert trailers == [("x-amz-checksum-crc32", crc32_b64(payload))]
    assert signatures == [None, "a" * 64, None]


@pytest.mark.parametrize(
    "wire",
    [
        b"5\r\nabc",  # truncated data
        b"5\r\nabcdeXX0\r\n\r\n",  # no CRLF after data
        b"zz\r\nabc\r\n",  # bad size
        b"3\r\nabc\r\n",  # no final chunk
        b"0\r\n\r\nextra",  # data after the end
    ],
)
def test_decoder_rejects_malformed_framing(wire: bytes) -> None:
    with pytest.raises(S3Error) as info:
        _decode(wire, 3)
    assert info.value.status == 400


# -- hand-framed requests ----------------------------------------------------------------------


def _key(secret: str, date: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _frame(
    payload: bytes,
    chunk: int,
    *,
    seed: str | None = None,
    timestamp: str = "",
    trailer: str | None = None,
    tamper: bool = False,
    bad_trailer_signature: bool = False,
) -> bytes:
    """aws-chunked framing; chunk signatures when ``seed`` (the request's signature) is set."""
    key = _key(ALICE.secret_access_key, timestamp[:8]) if seed else b""
    scope = f"{timestamp[:8]}/us-east-1/s3/aws4_request"
    previous = seed
    wire = bytearray()
    pieces = [payload[i : i + chunk] for i in range(0, len(payload), chunk)] + [b""]
    for piece in pieces:
        if seed:
            string = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", timestamp, scope, previous or "",
                                EMPTY, hashlib.sha256(piece).hexdigest()])  # fmt: skip
            previous = hmac.new(key, string.encode(), hashlib.sha256).hexdigest()
            wire += f"{len(piece):x};chunk-signature={previous}\r\n".encode()
        else:
            wire += f"{len(piece):x}\r\n".encode()
        if piece:
            wire += (b"Z" + piece[1:] if tamper else piece) + b"\r\n"
    if trailer is not None:
        line = f"x-amz-checksum-crc32:{trailer}"
        wire += line.encode() + b"\r\n"
        if seed:
            string = "\n".join(["AWS4-HMAC-SHA256-TRAILER", timestamp, scope, previous or "",
                                hashlib.sha256((line + "\n").encode()).hexdigest()])  # fmt: skip
            signature = hmac.new(key, string.encode(), hashlib.sha256).hexdigest()
            if bad_trailer_signature:
                signature = "0" * 64
            wire += f"x-amz-trailer-signature:{signature}\r\n".encode()
    wire += b"\r\n"
    return bytes(wire)


def _put_chunked(
    s3: S3Server, key: str, payload: bytes, mode: str, *, decoded_length: int | None = None,
    declare_trailer: bool = True, **frame: object,
) -> tuple[int, bytes, dict[str, str]]:  # fmt: skip
    url = f"{s3.http_url}/{B}/{key}"
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(
            len(payload) if decoded_length is None else decoded_length
        ),
    }
    if declare_trailer and "TRAILER" in mode:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    signed, signature = sign(url, "PUT", b"", headers, payload_hash=mode)
    seed = signature if "HMAC" in mode else None
    body = _frame(payload, 65536, seed=seed, timestamp=signed["X-Amz-Date"], **frame)  # type: ignore[arg-type]
    status, response_headers, response = raw_request(url, "PUT", signed, body)
    return status, response, response_headers


UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"


def test_unsigned_chunks_with_crc32_trailer(s3: S3Server) -> None:
    payload = os.urandom(200_001)
    status, _, headers = _put_chunked(
        s3, "chunk/ok.bin", payload, UNSIGNED_TRAILER, trailer=crc32_b64(payload)
    )
    assert status == 200
    assert headers["x-amz-checksum-crc32"] == crc32_b64(payload)
    assert s3.storage.read_bytes(f"{B}/chunk/ok.bin") == payload


@pytest.mark.parametrize("mode", [SIGNED, SIGNED_TRAILER])
def test_signed_chunks(s3: S3Server, mode: str) -> None:
    payload = os.urandom(150_000)
    trailer = crc32_b64(payload) if mode == SIGNED_TRAILER else None
    status, response, _ = _put_chunked(s3, f"chunk/{mode}", payload, mode, trailer=trailer)
    assert status == 200, response
    assert s3.storage.read_bytes(f"{B}/chunk/{mode}") == payload


@pytest.mark.parametrize(
    ("mode", "frame", "expected"),
    [
        (UNSIGNED_TRAILER, {"trailer": "AAAAAA=="}, (400, "BadDigest")),
        (UNSIGNED_TRAILER, {"trailer": None}, (400, "MalformedTrailerError")),
        (UNSIGNED_TRAILER, {"trailer": "CRC", "decoded_length": 10}, (400, "IncompleteBody")),
        (UNSIGNED_TRAILER, {"trailer": "CRC", "decoded_length": 10**6}, (400, "IncompleteBody")),
        (SIGNED, {"tamper": True}, (403, "SignatureDoesNotMatch")),
        (SIGNED_TRAILER, {"trailer": "CRC", "bad_trailer_signature": True},
         (403, "SignatureDoesNotMatch")),
        (SIGNED_TRAILER, {"trailer": "CRC", "tamper": True}, (403, "SignatureDoesNotMatch")),
    ],
    ids=["bad-crc", "missing-trailer", "too-long", "too-short", "tampered-chunk",
         "bad-trailer-sig", "tampered-with-trailer"],
)  # fmt: skip
def test_bad_chunked_uploads_store_nothing(
    s3: S3Server, mode: str, frame: dict, expected: tuple[int, str]
) -> None:
    payload = os.urandom(100_000)
    frame = dict(frame)
    if frame.get("trailer") == "CRC":
        frame["trailer"] = crc32_b64(payload)
    key = f"chunk/bad-{expected[1]}-{len(frame)}-{frame.get('decoded_length')}"
    status, response, _ = _put_chunked(s3, key, payload, mode, **frame)
    assert (status, error_code(response)) == expected
    assert not s3.storage.exists(f"{B}/{key}")
    assert leftovers(s3.root) == []


def test_trailer_without_declaration_is_refused(s3: S3Server) -> None:
    payload = b"abc"
    status, response, _ = _put_chunked(
        s3, "chunk/undeclared", payload, UNSIGNED_TRAILER, declare_trailer=False,
        trailer=crc32_b64(payload),
    )  # fmt: skip
    assert (status, error_code(response)) == (400, "MalformedTrailerError")
