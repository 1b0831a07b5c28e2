"""Refusals: authentication, authorization, integrity, truncation. Each must answer the S3
error code and status a client maps correctly, and must leave nothing stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
import time
import urllib.parse
from typing import Any

import botocore.auth
import botocore.exceptions
import pytest
from s3_harness import (
    ALICE,
    ALICE_BUCKET,
    BOB,
    BOB_BUCKET,
    EXPIRED,
    Keys,
    S3Server,
    error_code,
    leftovers,
    raw_request,
    sign,
)

B = ALICE_BUCKET


def _client_error(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call(*args, **kwargs)
    response = info.value.response
    return {
        "code": response["Error"].get("Code"),
        "status": response["ResponseMetadata"]["HTTPStatusCode"],
    }


def test_wrong_secret_is_signature_does_not_match(s3: S3Server) -> None:
    client = s3.client(Keys(ALICE.access_key_id, "not-the-secret"))
    assert _client_error(client.put_object, Bucket=B, Key="auth/x", Body=b"x") == {
        "code": "SignatureDoesNotMatch", "status": 403,
    }  # fmt: skip
    assert _client_error(client.list_objects_v2, Bucket=B)["code"] == "SignatureDoesNotMatch"
    assert not s3.storage.exists(f"{B}/auth/x")


def test_unknown_key_id(s3: S3Server) -> None:
    client = s3.client(Keys("AKIANOBODY", "whatever"))
    assert _client_error(client.get_object, Bucket=B, Key="x") == {
        "code": "InvalidAccessKeyId", "status": 403,
    }  # fmt: skip


def test_expired_principal(s3: S3Server) -> None:
    client = s3.client(EXPIRED)
    assert _client_error(client.put_object, Bucket=B, Key="auth/expired", Body=b"x") == {
        "code": "ExpiredToken", "status": 403,
    }  # fmt: skip
    fs, path = s3.fs(f"s3://{B}/auth/expired.csv", EXPIRED)
    with pytest.raises(PermissionError):
        fs.write_bytes(path, b"x")
    assert not s3.storage.exists(f"{B}/auth/expired.csv")


def test_other_principals_bucket_is_denied(s3: S3Server) -> None:
    s3.client(BOB).put_object(Bucket=BOB_BUCKET, Key="secret.csv", Body=b"bob's data")
    alice = s3.client(ALICE)
    denied = {"code": "AccessDenied", "status": 403}
    assert _client_error(alice.get_object, Bucket=BOB_BUCKET, Key="secret.csv") == denied
    assert _client_error(alice.put_object, Bucket=BOB_BUCKET, Key="x", Body=b"x") == denied
    assert _client_error(alice.list_objects_v2, Bucket=BOB_BUCKET) == denied
    assert _client_error(alice.create_bucket, Bucket=BOB_BUCKET) == denied
    assert _client_error(alice.delete_object, Bucket=BOB_BUCKET, Key="secret.csv") == denied
    assert _client_error(alice.create_multipart_upload, Bucket=BOB_BUCKET, Key="x") == denied
    copy = {"Bucket": BOB_BUCKET, "Key": "secret.csv"}
    assert _client_error(alice.copy_object, Bucket=B, Key="stolen", CopySource=copy) == denied
    assert _client_error(alice.head_bucket, Bucket=BOB_BUCKET)["status"] == 403
    fs, path = s3.fs(f"s3://{BOB_BUCKET}/secret.csv", ALICE)
    with pytest.raises(PermissionError):
        fs.read_bytes(path)
    assert s3.storage.read_bytes(f"{BOB_BUCKET}/secret.csv") == b"bob's data"
    assert not s3.storage.exists(f"{BOB_BUCKET}/x")


def test_no_such_key(s3: S3Server) -> None:
    client = s3.client()
    assert _client_error(client.get_object, Bucket=B, Key="nope/missing.csv") == {
        "code": "NoSuchKey", "status": 404,
    }  # fmt: skip
    assert _client_error(client.head_object, Bucket=B, Key="nope/missing.csv")["status"] == 404
    fs, path = s3.fs(f"s3://{B}/nope/missing.csv")
    with pytest.raises(FileNotFoundError):
        fs.read_text(path)
    # HEAD errors have no body, but still a Content-Type.
    url = f"{s3.http_url}/{B}/nope/missing.csv"
    status, headers, body = raw_request(url, "HEAD", sign(url, "HEAD")[0])
    assert (status, body, headers["content-type"]) == (404, b"", "application/xml")


def test_bad_crc32_header_is_bad_digest(s3: S3Server) -> None:
    client = s3.client()

    def corrupt(request: Any, **_: Any) -> None:
        del request.headers["x-amz-checksum-crc32"]
        request.headers["x-amz-checksum-crc32"] = "AAAAAA=="  # signed, but wrong

    client.meta.events.register("before-sign.s3.PutObject", corrupt)
    assert _client_error(client.put_object, Bucket=B, Key="bad/crc", Body=b"payload") == {
        "code": "BadDigest", "status": 400,
    }  # fmt: skip
    assert not s3.storage.exists(f"{B}/bad/crc")
    assert leftovers(s3.root) == []


def test_bad_sha256_is_content_sha256_mismatch(s3: S3Server) -> None:
    client = s3.client()

    def swap_body(request: Any, **_: Any) -> None:
        # Same length, other bytes, after signing.
        request.body = b"X" * int(request.headers["Content-Length"])

    client.meta.events.register("before-send.s3.PutObject", swap_body)
    error = _client_error(client.put_object, Bucket=B, Key="bad/sha", Body=b"original!")
    assert error == {"code": "XAmzContentSHA256Mismatch", "status": 400}
    assert not s3.storage.exists(f"{B}/bad/sha")


def test_bad_content_md5(s3: S3Server) -> None:
    url = f"{s3.http_url}/{B}/bad/md5"
    body = b"some bytes"
    headers, _ = sign(url, "PUT", body, {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="})
    status, _, response = raw_request(url, "PUT", headers, body)
    assert (status, error_code(response)) == (400, "BadDigest")
    headers, _ = sign(url, "PUT", body, {"Content-MD5": "not base64!"})
    status, _, response = raw_request(url, "PUT", headers, body)
    assert (status, error_code(response)) == (400, "InvalidDigest")
    assert not s3.storage.exists(f"{B}/bad/md5")


def test_unverifiable_checksum_algorithm_is_refused(s3: S3Server) -> None:
    from avatars.server.s3.checksums import ALGORITHMS

    if "crc32c" in ALGORITHMS:
        pytest.skip("awscrt is installed: CRC32C can be verified")
    url = f"{s3.http_url}/{B}/bad/crc32c"
    headers, _ = sign(url, "PUT", b"x", {"x-amz-checksum-crc32c": "AAAAAA=="})
    status, _, response = raw_request(url, "PUT", headers, b"x")
    assert (status, error_code(response)) == (400, "InvalidRequest")


def test_truncated_body_stores_nothing(s3: S3Server) -> None:
    """Content-Length says 1 MiB, 300 kB arrive, then the client disconnects."""
    url = f"{s3.http_url}/{B}/bad/truncated.bin"
    body = b"t" * (1024 * 1024)
    headers, _ = sign(url, "PUT", body)
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = f"PUT {parts.path} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers.items()
        )
        head += f"Content-Length: {len(body)}\r\n\r\n"
        sock.sendall(head.encode() + body[:300_000])
        time.sleep(0.2)
    deadline = time.monotonic() + 10
    while leftovers(s3.root) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(s3.root) == []
    assert not s3.storage.exists(f"{B}/bad/truncated.bin")


def test_too_large_is_refused_before_the_body(s3: S3Server) -> None:
    url = f"{s3.http_url}/{B}/bad/huge.bin"
    headers, _ = sign(url, "PUT", b"", payload_hash="UNSIGNED-PAYLOAD")
    headers["Content-Length"] = str(2 * 2**30)
    status, _, response = raw_request(url, "PUT", headers)
    assert (status, error_code(response)) == (400, "EntityTooLarge")


def test_rejections_happen_before_100_continue(s3: S3Server) -> None:
    """With Expect: 100-continue, a refused upload gets its final answer at once, never
    an invitation to send the body (uvicorn sends 100 only when the app reads)."""
    url = f"{s3.http_url}/{B}/auth/expect.bin"
    body = b"e" * 4096
    headers, _ = sign(url, "PUT", body, {"Expect": "100-continue"},
                      keys=Keys(ALICE.access_key_id, "wrong"))  # fmt: skip
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = f"PUT {parts.path} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers.items()
        )
        sock.sendall(head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode())
        answer = b""
        # Until the server closes: the head and the body may arrive in separate segments.
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 403"), answer[:100]
    assert b"SignatureDoesNotMatch" in answer and b"connection: close" in answer.lower()


def test_expect_100_continue_upload_proceeds(s3: S3Server) -> None:
    url = f"{s3.http_url}/{B}/auth/expect-ok.bin"
    body = b"o" * 4096
    headers, _ = sign(url, "PUT", body, {"Expect": "100-continue"})
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = f"PUT {parts.path} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers.items()
        )
        sock.sendall(head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    assert s3.storage.read_bytes(f"{B}/auth/expect-ok.bin") == body


def test_clock_skew(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    past = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: past)
    url = f"{s3.http_url}/{B}/x"
    status, _, response = raw_request(url, "GET", sign(url)[0])
    assert (status, error_code(response)) == (403, "RequestTimeTooSkewed")


def test_anonymous_and_tampered_requests(s3: S3Server) -> None:
    url = f"{s3.http_url}/{B}/x"
    status, _, response = raw_request(url, "GET", {"Host": urllib.parse.urlsplit(url).netloc})
    assert (status, error_code(response)) == (403, "AccessDenied")
    headers, _ = sign(url)
    # The signed path includes the /storage mount prefix: another path must not verify.
    other = f"{s3.http_url}/{B}/y"
    status, _, response = raw_request(other, "GET", headers)
    assert (status, error_code(response)) == (403, "SignatureDoesNotMatch")
    status, _, response = raw_request(url + "?list-type=2", "GET", headers)
    assert (status, error_code(response)) == (403, "SignatureDoesNotMatch")


def test_signature_over_unnormalized_path(s3: S3Server) -> None:
    """A client that leaves reserved characters unescaped signs the path as it sent it."""
    s3.storage.write_bytes(f"{B}/unnormalized/a!b.txt", b"ok")
    url = f"{s3.http_url}/{B}/unnormalized/a!b.txt"
    status, _, body = raw_request(url, "GET", sign(url)[0])
    assert (status, body) == (200, b"ok")


def test_invalid_keys_are_refused(s3: S3Server) -> None:
    client = s3.client()
    for key in ("dir/", "a//b", "a/../b"):
        error = _client_error(client.put_object, Bucket=B, Key=key, Body=b"x")
        assert error == {"code": "InvalidArgument", "status": 400}, key
    assert _client_error(client.get_object, Bucket=B, Key="a//b")["code"] == "NoSuchKey"


def test_sha256_of_empty_body_mismatch(s3: S3Server) -> None:
    url = f"{s3.http_url}/{B}/bad/empty"
    headers, _ = sign(url, "PUT", b"", payload_hash=hashlib.sha256(b"not empty").hexdigest())
    status, _, response = raw_request(url, "PUT", headers, b"")
    assert (status, error_code(response)) == (400, "XAmzContentSHA256Mismatch")
    assert not s3.storage.exists(f"{B}/bad/empty")


def test_key_that_conflicts_with_a_folder(s3: S3Server) -> None:
    client = s3.client()
    client.put_object(Bucket=B, Key="conflict/a/b", Body=b"x")
    assert _client_error(client.put_object, Bucket=B, Key="conflict/a", Body=b"y") == {
        "code": "InvalidArgument", "status": 400,
    }  # fmt: skip
    assert _client_error(client.put_object, Bucket=B, Key="conflict/a/b/c", Body=b"z") == {
        "code": "InvalidArgument", "status": 400,
    }  # fmt: skip
    assert leftovers(s3.root) == []


def test_listing_cannot_escape_the_bucket(s3: S3Server) -> None:
    s3.client(BOB).put_object(Bucket=BOB_BUCKET, Key="private.csv", Body=b"b")
    client = s3.client()
    for prefix in (f"../{BOB_BUCKET}/", f"x/../../{BOB_BUCKET}/", "/"):
        assert "Contents" not in client.list_objects_v2(Bucket=B, Prefix=prefix), prefix
