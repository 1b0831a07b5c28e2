"""The SDK's S3 client (httpx + botocore SigV4) against the server's /storage endpoint."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from avatars.client import ApiClient
from avatars.exceptions import StorageError
from avatars.storage import MiB, Storage, split_s3_path


def _credentials(client: ApiClient, key: str) -> tuple[str, object]:
    path = f"{client.results.get_upload_url()}/{key}"
    access = client.results.get_permission_to_download(f"{client.base_url}/access?url={path}")
    return path, access.credentials


def test_put_head_get_delete(client: ApiClient, tmp_path: Path) -> None:
    storage = client.storage
    path, credentials = _credentials(client, "small name+with&odd chars.csv")
    body = b"a,b\n1,2\n" * 1000
    etag = storage.put_object(path, body, credentials)
    info = storage.head_object(path, credentials)
    assert info.size == len(body) and info.etag == etag
    assert storage.get_object(path, credentials) == body
    target = tmp_path / "out.csv"
    assert storage.get_object(path, credentials, target) == len(body)
    assert target.read_bytes() == body
    storage.delete_object(path, credentials)
    with pytest.raises(StorageError) as caught:
        storage.head_object(path, credentials)
    assert caught.value.status_code == 404


def test_multipart_from_a_file_and_a_stream(client: ApiClient, tmp_path: Path) -> None:
    # 5 MiB parts (S3's minimum) so that 12 MiB makes three parts.
    storage = Storage(
        client.storage_endpoint_url,
        http_client=client.http_client,
        part_size=5 * MiB,
        multipart_threshold=5 * MiB,
    )
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(12 * MiB + 123))
    path, credentials = _credentials(client, "big.bin")
    storage.put_object(path, source, credentials)
    assert storage.get_object(path, credentials) == source.read_bytes()

    # A non-seekable stream of unknown size goes multipart too.
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.buffer = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return self.buffer.read(min(size, 64 * 1024) if size > 0 else -1)

        def seekable(self) -> bool:
            return False

        def tell(self) -> int:
            raise OSError("not seekable")

    data = os.urandom(7 * MiB)
    path2, credentials2 = _credentials(client, "piped.bin")
    storage.put_object(path2, Pipe(data), credentials2)  # type: ignore[arg-type]
    assert storage.get_object(path2, credentials2) == data
    storage.close()


def test_wrong_credentials_are_refused(client: ApiClient) -> None:
    path, credentials = _credentials(client, "refused.csv")
    forged = credentials.model_copy(update={"secret_access_key": "not-the-secret"})
    with pytest.raises(StorageError) as caught:
        client.storage.put_object(path, b"x", forged)
    assert caught.value.status_code == 403
    assert caught.value.code


def test_s3_paths_are_checked() -> None:
    assert split_s3_path("s3://bucket/a/b.csv") == ("bucket", "a/b.csv")
    for bad in ("bucket/a.csv", "s3://bucket", "s3://bucket/", "file:///tmp/x"):
        with pytest.raises(ValueError, match="s3://"):
            split_s3_path(bad)
    with pytest.raises(ValueError, match="part_size"):
        Storage("http://127.0.0.1:1/storage", part_size=1024)
