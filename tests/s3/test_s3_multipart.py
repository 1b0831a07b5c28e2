"""Multipart uploads: concurrent out-of-order parts through the API, failure modes that
must leave nothing visible, and one real s3fs upload above its 100 MiB threshold."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import botocore.exceptions
import pytest
from s3_harness import ALICE_BUCKET, BOB, S3Server, leftovers

B = ALICE_BUCKET
PART = 5 * 1024 * 1024


def _upload_parts(client: Any, key: str, upload_id: str, parts: list[bytes],
                  order: list[int]) -> dict[int, str]:  # fmt: skip
    """Upload ``parts`` concurrently, started in ``order`` (1-based part numbers)."""

    def one(number: int) -> tuple[int, str]:
        answer = client.upload_part(
            Bucket=B, Key=key, UploadId=upload_id, PartNumber=number, Body=parts[number - 1]
        )
        return number, answer["ETag"]

    with ThreadPoolExecutor(len(order)) as pool:
        return dict(pool.map(one, order))


def _staging(s3: S3Server) -> list[str]:
    staging = s3.root / ".multipart"
    return [str(p) for p in staging.rglob("*") if p.is_file()] if staging.exists() else []


def test_concurrent_out_of_order_parts(s3: S3Server) -> None:
    client = s3.client()
    parts = [os.urandom(PART), os.urandom(PART), os.urandom(1234)]
    key = "mp/concurrent.bin"
    upload_id = client.create_multipart_upload(Bucket=B, Key=key)["UploadId"]
    etags = _upload_parts(client, key, upload_id, parts, order=[3, 1, 2])
    listed = client.list_parts(Bucket=B, Key=key, UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed] == [
        (n, etags[n], len(parts[n - 1])) for n in (1, 2, 3)
    ]
    # Parts are staged outside the bucket: listings never show them.
    assert "Contents" not in client.list_objects_v2(Bucket=B, Prefix="mp/")
    done = client.complete_multipart_upload(
        Bucket=B, Key=key, UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in (1, 2, 3)]},
    )  # fmt: skip
    head = client.head_object(Bucket=B, Key=key)
    assert done["ETag"] == head["ETag"]
    assert head["ContentLength"] == sum(map(len, parts))
    assert client.get_object(Bucket=B, Key=key)["Body"].read() == b"".join(parts)
    assert _staging(s3) == [] and leftovers(s3.root) == []
    assert ("CompleteMultipartUpload", "alice", B, key) in s3.events


def _complete_error(client: Any, key: str, upload_id: str, parts: list[dict]) -> dict:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client.complete_multipart_upload(
            Bucket=B, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    response = info.value.response
    return {"code": response["Error"]["Code"],
            "status": response["ResponseMetadata"]["HTTPStatusCode"]}  # fmt: skip


def test_complete_with_missing_or_wrong_part_is_invalid_part(s3: S3Server) -> None:
    client = s3.client()
    key = "mp/missing.bin"
    parts = [os.urandom(1000), os.urandom(1000)]
    upload_id = client.create_multipart_upload(Bucket=B, Key=key)["UploadId"]
    etags = _upload_parts(client, key, upload_id, parts, order=[1, 2])
    invalid = {"code": "InvalidPart", "status": 400}
    listed = [{"PartNumber": 1, "ETag": etags[1]}, {"PartNumber": 3, "ETag": etags[2]}]
    assert _complete_error(client, key, upload_id, listed) == invalid  # part 3 never sent
    listed = [{"PartNumber": 1, "ETag": etags[1]}, {"PartNumber": 2, "ETag": etags[1]}]
    assert _complete_error(client, key, upload_id, listed) == invalid  # wrong ETag
    listed = [{"PartNumber": 2, "ETag": etags[2]}, {"PartNumber": 1, "ETag": etags[1]}]
    assert _complete_error(client, key, upload_id, listed) == {
        "code": "InvalidPartOrder", "status": 400,
    }  # fmt: skip
    assert not s3.storage.exists(f"{B}/{key}")
    assert "Contents" not in client.list_objects_v2(Bucket=B, Prefix="mp/missing")
    # The upload is still there: a corrected completion succeeds.
    client.complete_multipart_upload(
        Bucket=B, Key=key, UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in (1, 2)]},
    )  # fmt: skip
    assert s3.storage.read_bytes(f"{B}/{key}") == b"".join(parts)


def test_abort_and_foreign_upload_ids(s3: S3Server) -> None:
    client = s3.client()
    key = "mp/aborted.bin"
    upload_id = client.create_multipart_upload(Bucket=B, Key=key)["UploadId"]
    assert len(upload_id) >= 40
    _upload_parts(client, key, upload_id, [b"x" * 100], order=[1])

    # Another key, or another principal, cannot use this upload ID.
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client.upload_part(Bucket=B, Key="mp/other", UploadId=upload_id, PartNumber=1, Body=b"y")
    assert info.value.response["Error"]["Code"] == "NoSuchUpload"
    bob = s3.client(BOB)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        bob.abort_multipart_upload(Bucket=B, Key=key, UploadId=upload_id)
    assert info.value.response["Error"]["Code"] == "AccessDenied"

    client.abort_multipart_upload(Bucket=B, Key=key, UploadId=upload_id)
    assert _staging(s3) == []
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client.upload_part(Bucket=B, Key=key, UploadId=upload_id, PartNumber=2, Body=b"z")
    assert info.value.response["Error"]["Code"] == "NoSuchUpload"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client.upload_part(Bucket=B, Key=key, UploadId="../../etc", PartNumber=1, Body=b"z")
    assert info.value.response["Error"]["Code"] == "NoSuchUpload"
    assert not s3.storage.exists(f"{B}/{key}")


def test_bad_part_checksum_is_refused(s3: S3Server) -> None:
    client = s3.client()
    key = "mp/badpart.bin"
    upload_id = client.create_multipart_upload(Bucket=B, Key=key)["UploadId"]

    def corrupt(request: Any, **_: Any) -> None:
        del request.headers["x-amz-checksum-crc32"]
        request.headers["x-amz-checksum-crc32"] = "AAAAAA=="

    client.meta.events.register("before-sign.s3.UploadPart", corrupt)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client.upload_part(Bucket=B, Key=key, UploadId=upload_id, PartNumber=1, Body=b"data")
    assert info.value.response["Error"]["Code"] == "BadDigest"
    assert client.list_parts(Bucket=B, Key=key, UploadId=upload_id).get("Parts", []) == []
    client.abort_multipart_upload(Bucket=B, Key=key, UploadId=upload_id)


def test_s3fs_multipart_write_bytes(s3: S3Server) -> None:
    """s3fs switches to multipart at 100 MiB: 50 MiB parts, uploaded concurrently."""
    data = os.urandom(1024 * 1024) * 105  # 105 MiB: parts of 50, 50 and 5 MiB
    fs, path = s3.fs(f"s3://{B}/30d/big.bin", https=True)
    fs.write_bytes(path, data)
    assert s3.storage.info(f"{B}/30d/big.bin").size == len(data)
    assert s3.storage.read_bytes(f"{B}/30d/big.bin") == data
    fs, path = s3.fs(f"s3://{B}/30d/big.bin")
    assert fs.read_bytes(path) == data
    assert _staging(s3) == [] and leftovers(s3.root) == []
    assert ("CompleteMultipartUpload", "alice", B, "30d/big.bin") in s3.events


def test_slow_completion_keeps_the_connection_alive(
    s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When assembly outlasts KEEPALIVE_AFTER, the answer is a 200 streamed with whitespace
    and then the result, or an <Error> document that botocore still raises."""
    from avatars.server.s3 import router

    monkeypatch.setattr(router, "KEEPALIVE_AFTER", 0.0)
    monkeypatch.setattr(router, "KEEPALIVE_INTERVAL", 0.01)
    client = s3.client()
    for key, precondition in (("mp/slow.bin", {}), ("mp/slow.bin", {"IfNoneMatch": "*"})):
        upload_id = client.create_multipart_upload(Bucket=B, Key=key)["UploadId"]
        etags = _upload_parts(client, key, upload_id, [b"a" * 1000, b"b" * 10], order=[2, 1])
        parts = [{"PartNumber": n, "ETag": etags[n]} for n in (1, 2)]
        if not precondition:
            done = client.complete_multipart_upload(
                Bucket=B, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
            assert done["ETag"] == client.head_object(Bucket=B, Key=key)["ETag"]
            continue
        with pytest.raises(botocore.exceptions.ClientError) as info:
            client.complete_multipart_upload(
                Bucket=B, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts},
                **precondition,
            )  # fmt: skip
        assert info.value.response["Error"]["Code"] == "PreconditionFailed"
        # The 200 was already sent: the error came in its body, which botocore reports as
        # a 500 (a direct answer would have been a 412).
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        client.abort_multipart_upload(Bucket=B, Key=key, UploadId=upload_id)
    assert s3.storage.read_bytes(f"{B}/mp/slow.bin") == b"a" * 1000 + b"b" * 10


def test_purge_stale_uploads(s3: S3Server) -> None:
    import datetime as dt

    from avatars.server.s3 import purge_stale_uploads

    client = s3.client()
    upload_id = client.create_multipart_upload(Bucket=B, Key="mp/stale")["UploadId"]
    _upload_parts(client, "mp/stale", upload_id, [b"x"], order=[1])
    assert purge_stale_uploads(s3.storage, dt.timedelta(hours=1)) == 0
    assert purge_stale_uploads(s3.storage, dt.timedelta(seconds=-1)) >= 1
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client.list_parts(Bucket=B, Key="mp/stale", UploadId=upload_id)
    assert info.value.response["Error"]["Code"] == "NoSuchUpload"
