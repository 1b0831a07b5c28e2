"""Data in and out of the platform: credentials from the API, bytes through its S3 storage.

Tables never travel through the API (protocol.md §3): an upload goes to the caller's upload
prefix (``GET /upload_url``), a result is read at the storage path inside its URL, each with
credentials handed out by ``GET /access``. :class:`Transfers` puts the two halves together
for :meth:`ApiClient.upload_file <avatars.client.ApiClient.upload_file>`,
:meth:`ApiClient.download_file <avatars.client.ApiClient.download_file>` and the
``datasets`` facade. ``timeout`` applies to every request of a transfer, the API's and the
storage's alike.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO, Any, overload
from urllib.parse import parse_qs, urlsplit

from avatars._http import DEFAULT
from avatars.api.results import Results
from avatars.protocol.wire import FileAccess, FileCredentials
from avatars.storage import Storage

__all__ = ["Transfers", "as_upload_source", "check_file_name", "storage_path_of"]

#: Result files that come back as bytes when no destination is given (the rest as text).
BINARY_SUFFIXES = (".pdf", ".docx", ".parquet")


class Transfers:
    """Uploads and downloads of one client: ``results`` for credentials, ``storage`` for bytes."""

    def __init__(self, results: Results, storage: Storage, api_base_url: str) -> None:
        self.results = results
        self.storage = storage
        self.api_base_url = api_base_url.rstrip("/")

    def upload_path(self, key: str, *, timeout: float | None = DEFAULT) -> str:
        """``s3://<bucket>/<upload prefix>/<key>``: where an upload named ``key`` goes."""
        check_file_name(key)
        base = self.results.get_upload_url(timeout=timeout)
        return f"{base.rstrip('/')}/{key}"

    def credentials(self, storage_path: str, *, timeout: float | None = DEFAULT) -> FileCredentials:
        """Storage credentials for a path of the caller's upload prefix."""
        access = self.results.get_permission_to_download(
            f"{self.api_base_url}/access?url={storage_path}", timeout=timeout
        )
        return access.credentials

    def upload(self, data: Any, key: str, *, timeout: float | None = DEFAULT) -> str:
        """Upload ``data`` (see :func:`as_upload_source`) as ``key``; its ``s3://`` path."""
        path = self.upload_path(key, timeout=timeout)
        credentials = self.credentials(path, timeout=timeout)
        source, content_type = as_upload_source(data, key)
        try:
            self.storage.put_object(
                path, source, credentials, content_type=content_type, timeout=timeout
            )
        finally:
            if isinstance(source, io.IOBase) and source is not data:
                source.close()
        return path

    def download_upload(
        self,
        key: str,
        path: str | Path | IO[bytes] | None = None,
        *,
        timeout: float | None = DEFAULT,
    ) -> bytes | int:
        """An uploaded file's bytes, or the number of bytes written to ``path``."""
        storage_path = self.upload_path(key, timeout=timeout)
        credentials = self.credentials(storage_path, timeout=timeout)
        return self.storage.get_object(storage_path, credentials, path, timeout=timeout)

    @overload
    def download(
        self, file_access: FileAccess | str, path: None = None, *, timeout: float | None = ...
    ) -> str | bytes: ...

    @overload
    def download(
        self,
        file_access: FileAccess | str,
        path: str | Path | IO[bytes],
        *,
        timeout: float | None = ...,
    ) -> int: ...

    def download(
        self,
        file_access: FileAccess | str,
        path: str | Path | IO[bytes] | None = None,
        *,
        timeout: float | None = DEFAULT,
    ) -> str | bytes | int:
        """A result, from its :class:`FileAccess` (or its URL: credentials are asked first).

        Without ``path``: PDF, DOCX and Parquet come back as bytes, everything else as UTF-8
        text (the official client's behaviour). With ``path`` the bytes are written there and
        the number of bytes is returned.
        """
        if isinstance(file_access, str):
            file_access = self.results.get_permission_to_download(file_access, timeout=timeout)
        storage_path = storage_path_of(file_access.url)
        if path is not None:
            return self.storage.get_object(
                storage_path, file_access.credentials, path, timeout=timeout
            )
        data = self.storage.get_object(storage_path, file_access.credentials, timeout=timeout)
        assert isinstance(data, bytes)
        if storage_path.endswith(BINARY_SUFFIXES):
            return data
        return data.decode("utf-8")


def storage_path_of(url: str) -> str:
    """The storage path inside a result URL: its ``url=`` query parameter (protocol §3.4)."""
    query = urlsplit(url).query
    values = parse_qs(query).get("url")
    if not values or not values[0]:
        raise ValueError(f"expected a result URL with a url=<storage path> parameter, got {url!r}")
    return values[0]


def check_file_name(key: str) -> None:
    """Refuse names that are not one plain file name (no folders, no ``..``)."""
    if not key or key in (".", "..") or "/" in key or "\\" in key or "\x00" in key:
        raise ValueError(f"invalid file name {key!r}: use a plain name like 'iris.csv'")


def as_upload_source(data: Any, key: str) -> tuple[Any, str | None]:
    """What to upload for ``data``, and its content type.

    ``data`` is a pandas DataFrame (written as CSV, or Parquet when ``key`` ends with
    ``.parquet``), a path to a file (uploaded as is), bytes, or a binary file object.
    """
    import pandas as pd  # a base dependency, loaded only when a table is uploaded

    content_type = "text/csv" if key.endswith(".csv") else None
    if isinstance(data, pd.DataFrame):
        buffer = io.BytesIO()
        if key.endswith(".parquet"):
            data.reset_index(drop=True).to_parquet(buffer, index=False)
            content_type = "application/vnd.apache.parquet"
        else:
            data.reset_index(drop=True).to_csv(buffer, index=False)
        buffer.seek(0)
        return buffer, content_type
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.is_file():
            raise ValueError(f"data: no such file {str(path)!r}")
        return path, content_type
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data), content_type
    if hasattr(data, "read"):
        return data, content_type
    raise TypeError(
        "data must be a pandas DataFrame, a path to a file, bytes or a binary file object, "
        f"got {type(data).__name__}"
    )
