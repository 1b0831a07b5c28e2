"""The storage layer on a real S3 store (SeaweedFS): multipart completion assembles the object
inside the store when the parts allow it, and streams it otherwise; either way the result is
byte-identical and appears only when whole."""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from avatars.server.config import Settings
from avatars.server.storage import ObjectNotFoundError, Storage

# The storage layer on SeaweedFS's S3 (UploadPartCopy, multipart uploads).
pytestmark = pytest.mark.backends("scaleout")

MIB = 1024 * 1024


def _storage(stack: Any, tmp_path: Path) -> Storage:
    settings = Settings(
        data_dir=tmp_path,
        storage_url=f"s3://{stack.s3.bucket}/storage-test-{uuid.uuid4().hex[:8]}",
        storage_endpoint_url=stack.s3.endpoint_url,
        storage_access_key_id=stack.s3.access_key,
        storage_secret_access_key=SecretStr(stack.s3.secret_key),
    )
    return Storage(settings.storage_url, settings.storage_options)


def _put_parts(storage: Storage, sizes: list[int]) -> tuple[list[str], bytes]:
    keys, whole = [], b""
    for number, size in enumerate(sizes, start=1):
        data = os.urandom(size)
        key = f"staging/part-{number}"
        with storage.writer(key) as out:
            out.write(data)
        keys.append(key)
        whole += data
    return keys, whole


def _read(storage: Storage, key: str) -> bytes:
    return b"".join(storage.iter_read(key))


def test_large_parts_are_assembled_inside_the_store(
    backend: str, scaleout_stack: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = _storage(scaleout_stack, tmp_path)
    keys, whole = _put_parts(storage, [5 * MIB, 5 * MIB + 17, 1000])
    with caplog.at_level(logging.DEBUG, logger="avatars.server.storage"):
        info = storage.concatenate(keys, "bucket/30d/big.bin")
    # UploadPartCopy, not a copy through this process
    assert "assembled bucket/30d/big.bin inside the store from 3 parts" in caplog.text
    assert info.size == len(whole)
    assert _read(storage, "bucket/30d/big.bin") == whole
    assert not _open_uploads(storage)


def test_small_parts_fall_back_to_streaming(
    backend: str, scaleout_stack: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = _storage(scaleout_stack, tmp_path)
    keys, whole = _put_parts(storage, [1000, 2000, 3000])  # under S3's 5 MiB part minimum
    with caplog.at_level(logging.DEBUG, logger="avatars.server.storage"):
        info = storage.concatenate(keys, "bucket/30d/small.bin")
    assert "inside the store" not in caplog.text  # not even attempted
    assert info.size == len(whole)
    assert _read(storage, "bucket/30d/small.bin") == whole
    assert not _open_uploads(storage)


def test_a_missing_part_is_reported_and_nothing_appears(
    backend: str, scaleout_stack: Any, tmp_path: Path
) -> None:
    storage = _storage(scaleout_stack, tmp_path)
    keys, _ = _put_parts(storage, [5 * MIB, 1000])
    with pytest.raises(ObjectNotFoundError):
        storage.concatenate([keys[0], "staging/part-missing", keys[1]], "bucket/30d/broken.bin")
    assert not storage.exists("bucket/30d/broken.bin")
    assert not _open_uploads(storage)


def _open_uploads(storage: Storage) -> list[dict[str, Any]]:
    """Multipart uploads left open in the store under this storage's root."""
    bucket, _, root = storage.root.partition("/")
    listed = storage.fs.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=root)
    return list(listed.get("Uploads", []))
