"""Round trips through the S3 endpoint with real clients: botocore and s3fs (as the
official client uses it), over HTTP (signed plain bodies) and HTTPS (aws-chunked)."""

from __future__ import annotations

import os
import urllib.error
import urllib.request

import botocore.exceptions
import pytest
from s3_harness import ALICE_BUCKET, S3Server, leftovers

B = ALICE_BUCKET


def test_put_get_head_list_delete_roundtrip(s3: S3Server) -> None:
    client = s3.client()
    data = os.urandom(300_000)
    put = client.put_object(Bucket=B, Key="rt/data.bin", Body=data)
    head = client.head_object(Bucket=B, Key="rt/data.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == put["ETag"]  # the same version token from PUT and HEAD
    assert head["LastModified"] is not None
    got = client.get_object(Bucket=B, Key="rt/data.bin")
    assert got["Body"].read() == data
    assert got["ETag"] == head["ETag"]

    listed = client.list_objects_v2(Bucket=B, Prefix="rt/")
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listed["Contents"]] == [
        ("rt/data.bin", len(data), head["ETag"])
    ]
    client.delete_object(Bucket=B, Key="rt/data.bin")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client.head_object(Bucket=B, Key="rt/data.bin")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "Contents" not in client.list_objects_v2(Bucket=B, Prefix="rt/")
    assert leftovers(s3.root) == []


def test_put_response_echoes_verified_crc32(s3: S3Server) -> None:
    put = s3.client().put_object(Bucket=B, Key="rt/crc.txt", Body=b"hello world")
    assert put["ChecksumCRC32"] == "DUoRhQ=="  # zlib.crc32(b"hello world"), base64


def test_special_characters_in_keys(s3: S3Server) -> None:
    client = s3.client()
    keys = ["odd/a b+c&d=e.csv", "odd/é ü/ñ.txt", "odd/semi;colon,comma(1)!*'~.json"]
    for key in keys:
        client.put_object(Bucket=B, Key=key, Body=key.encode())
    for key in keys:
        assert client.get_object(Bucket=B, Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in client.list_objects_v2(Bucket=B, Prefix="odd/")["Contents"]]
    assert listed == sorted(keys)
    v1 = [o["Key"] for o in client.list_objects(Bucket=B, Prefix="odd/")["Contents"]]
    assert v1 == sorted(keys)


def test_listing_pagination_delimiter_and_start_after(s3: S3Server) -> None:
    client = s3.client()
    keys = [f"page/{i:02d}.txt" for i in range(7)] + ["page/sub/x.txt", "page/sub/y.txt"]
    for key in keys:
        client.put_object(Bucket=B, Key=key, Body=b"x")
    paginator = client.get_paginator("list_objects_v2")
    pages = list(paginator.paginate(Bucket=B, Prefix="page/", PaginationConfig={"PageSize": 3}))
    assert len(pages) == 3
    assert [o["Key"] for p in pages for o in p.get("Contents", [])] == sorted(keys)

    rolled = client.list_objects_v2(Bucket=B, Prefix="page/", Delimiter="/", MaxKeys=100)
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["page/sub/"]
    assert len(rolled["Contents"]) == 7
    # A page boundary right after a rolled-up prefix must not repeat it.
    pages = list(
        paginator.paginate(
            Bucket=B, Prefix="page/", Delimiter="/", PaginationConfig={"PageSize": 7}
        )
    )
    assert [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])] == ["page/sub/"]
    after = client.list_objects_v2(Bucket=B, Prefix="page/", StartAfter="page/05.txt")
    assert [o["Key"] for o in after["Contents"]] == ["page/06.txt", "page/sub/x.txt",
                                                     "page/sub/y.txt"]  # fmt: skip
    one = client.list_objects_v2(Bucket=B, MaxKeys=1)  # older s3fs's existence probe
    assert one["KeyCount"] == 1 and one["IsTruncated"]
    v1 = client.list_objects(Bucket=B, Prefix="page/", MaxKeys=4, Delimiter="/")
    assert v1["IsTruncated"] and len(v1["Contents"]) == 4
    rest = client.list_objects(Bucket=B, Prefix="page/", Marker=v1["NextMarker"], Delimiter="/")
    assert len(rest["Contents"]) == 3 and rest["CommonPrefixes"] == [{"Prefix": "page/sub/"}]


def test_range_if_match_and_conditionals(s3: S3Server) -> None:
    client = s3.client()
    data = bytes(range(256)) * 40
    client.put_object(Bucket=B, Key="range/obj", Body=data)
    etag = client.head_object(Bucket=B, Key="range/obj")["ETag"]

    # Exactly what s3fs sends for text files: Range over the whole object, If-Match.
    got = client.get_object(
        Bucket=B, Key="range/obj", Range=f"bytes=0-{len(data) - 1}", IfMatch=etag,
        ChecksumMode="ENABLED",
    )  # fmt: skip
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == f"bytes 0-{len(data) - 1}/{len(data)}"
    assert got["Body"].read() == data
    assert (
        client.get_object(Bucket=B, Key="range/obj", Range="bytes=100-199")["Body"].read()
        == data[100:200]
    )
    assert (
        client.get_object(Bucket=B, Key="range/obj", Range="bytes=-10")["Body"].read()
        == (data[-10:])
    )
    assert (
        client.get_object(Bucket=B, Key="range/obj", Range="bytes=10200-")["Body"].read()
        == (data[10200:])
    )
    tail = client.get_object(Bucket=B, Key="range/obj", Range="bytes=10000-99999")
    assert tail["ContentRange"] == f"bytes 10000-{len(data) - 1}/{len(data)}"

    with pytest.raises(botocore.exceptions.ClientError) as info:
        client.get_object(Bucket=B, Key="range/obj", Range="bytes=99999-")
    assert info.value.response["Error"]["Code"] == "InvalidRange"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416

    with pytest.raises(botocore.exceptions.ClientError) as info:
        client.get_object(Bucket=B, Key="range/obj", IfMatch='"0123"')
    assert info.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client.get_object(Bucket=B, Key="range/obj", IfNoneMatch=etag)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304

    client.put_object(Bucket=B, Key="range/obj", Body=b"replaced")
    with pytest.raises(botocore.exceptions.ClientError) as info:  # stale ETag after replace
        client.get_object(Bucket=B, Key="range/obj", IfMatch=etag)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412


def test_conditional_create_if_none_match(s3: S3Server) -> None:
    client = s3.client()
    client.put_object(Bucket=B, Key="cond/once", Body=b"1", IfNoneMatch="*")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        client.put_object(Bucket=B, Key="cond/once", Body=b"2", IfNoneMatch="*")
    assert info.value.response["Error"]["Code"] == "PreconditionFailed"
    assert client.get_object(Bucket=B, Key="cond/once")["Body"].read() == b"1"


def test_copy_and_delete_objects(s3: S3Server) -> None:
    client = s3.client()
    client.put_object(Bucket=B, Key="copy/src", Body=b"payload")
    client.copy_object(Bucket=B, Key="copy/dst", CopySource={"Bucket": B, "Key": "copy/src"})
    assert client.get_object(Bucket=B, Key="copy/dst")["Body"].read() == b"payload"
    result = client.delete_objects(
        Bucket=B, Delete={"Objects": [{"Key": "copy/src"}, {"Key": "copy/dst"}]}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["copy/dst", "copy/src"]
    assert "Contents" not in client.list_objects_v2(Bucket=B, Prefix="copy/")


def test_bucket_operations(s3: S3Server) -> None:
    client = s3.client()
    client.head_bucket(Bucket=B)
    assert client.get_bucket_location(Bucket=B)["LocationConstraint"] is None
    client.create_bucket(Bucket=B)  # idempotent for one's own bucket
    assert [b["Name"] for b in client.list_buckets()["Buckets"]] == [B]


def test_presigned_get(s3: S3Server) -> None:
    client = s3.client(signature_version="s3v4")
    client.put_object(Bucket=B, Key="share/report.pdf", Body=b"%PDF-1.4 shared")
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": B, "Key": "share/report.pdf"}, ExpiresIn=60
    )
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"%PDF-1.4 shared"
        assert response.headers["Content-Type"] == "application/pdf"
    head_url = client.generate_presigned_url(
        "head_object", Params={"Bucket": B, "Key": "share/report.pdf"}, ExpiresIn=60
    )
    with urllib.request.urlopen(urllib.request.Request(head_url, method="HEAD")) as response:
        assert response.headers["Content-Length"] == str(len(b"%PDF-1.4 shared"))
    tampered = url.replace("share/report.pdf", "share/other.pdf")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(tampered, timeout=10)
    assert info.value.code == 403
    put_url = client.generate_presigned_url(
        "put_object", Params={"Bucket": B, "Key": "share/x"}, ExpiresIn=60
    )
    request = urllib.request.Request(put_url, data=b"x", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 403


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_s3fs_as_the_official_client_uses_it(s3: S3Server, https: bool) -> None:
    """makedirs + write_bytes, then HEAD + ranged If-Match GET via read_text/read_bytes."""
    scheme = "https" if https else "http"
    path = f"s3://{B}/30d/{scheme}/iris.csv"
    fs, fs_path = s3.fs(path, https=https)
    fs.makedirs(fs._parent(fs_path), exist_ok=True)
    text = "sepal_length,species\n5.1,setosa\n4.9,sétosa\n"
    fs.write_bytes(fs_path, text.encode())

    fs, fs_path = s3.fs(path, https=https)  # a fresh instance, as each client call makes
    assert fs.read_text(fs_path) == text
    assert fs.read_bytes(fs_path) == text.encode()
    assert fs.info(fs_path)["size"] == len(text.encode())
    assert fs.ls(f"{B}/30d/{scheme}", detail=False) == [f"{B}/30d/{scheme}/iris.csv"]
    with pytest.raises(FileNotFoundError):
        fs.read_bytes(f"{B}/30d/{scheme}/missing.csv")
    assert ("GetObject", "alice", B, f"30d/{scheme}/iris.csv") in s3.events
    assert ("PutObject", "alice", B, f"30d/{scheme}/iris.csv") in s3.events


def test_https_uploads_are_aws_chunked_with_crc32_trailer(s3: S3Server) -> None:
    """botocore over TLS streams aws-chunked bodies with a CRC32 trailer: check it did."""
    client = s3.client(https=True)
    seen: list[dict[str, str]] = []
    client.meta.events.register(
        "before-send.s3.PutObject", lambda request, **_: seen.append(dict(request.headers))
    )

    def text(value: str | bytes) -> str:
        return value.decode() if isinstance(value, bytes) else value

    data = os.urandom(3 * 1024 * 1024 + 17)  # several 1 MiB aws-chunks
    client.put_object(Bucket=B, Key="tls/chunked.bin", Body=data)
    headers = {k.lower(): text(v) for k, v in seen[0].items()}
    assert headers["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert headers["content-encoding"] == "aws-chunked"
    assert headers["x-amz-trailer"] == "x-amz-checksum-crc32"
    assert client.get_object(Bucket=B, Key="tls/chunked.bin")["Body"].read() == data


def test_empty_object(s3: S3Server) -> None:
    for https in (False, True):
        fs, path = s3.fs(f"s3://{B}/empty/{https}.csv", https=https)
        fs.write_bytes(path, b"")
        assert fs.read_bytes(path) == b""
        assert fs.read_text(path) == ""
