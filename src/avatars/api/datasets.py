"""Datasets: the caller's uploaded tables (list, upload, download, delete).

An uploaded table lives in the caller's upload prefix, where ``Runner.add_table`` puts its
tables too, so a resource set can name it as ``{volume: input, file: <name>}`` at once.

Uploads and downloads go through the S3 storage endpoint by default (SigV4, multipart for
big files), like every other data transfer of the SDK; ``via="api"`` streams them through the
API's ``/datasets/{name}`` endpoints instead (one plain HTTP request, no S3 credentials),
which is handy behind proxies that only let the API through. Listing and deleting use the
API (``GET /datasets``, ``DELETE /datasets/{name}``).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, Literal

from avatars._http import Transport, iter_file
from avatars.api._base import DEFAULT, Facade
from avatars.api.transfers import Transfers, as_upload_source
from avatars.exceptions import NotFoundError
from avatars.protocol.wire import Dataset, DatasetList, Message

Via = Literal["storage", "api"]


class Datasets(Facade):
    def __init__(self, transport: Transport, transfers: Transfers, client: object = None) -> None:
        super().__init__(transport, client)
        self._transfers = transfers

    def list_datasets(self, *, timeout: float | None = DEFAULT) -> list[Dataset]:
        """The caller's uploaded tables."""
        body = self._request("GET", "/datasets", timeout=timeout)
        return DatasetList.model_validate(body).datasets

    def get_dataset(self, name: str, *, timeout: float | None = DEFAULT) -> Dataset:
        """One uploaded table's description (name, size, ETag, storage path)."""
        _check_name(name)
        for dataset in self.list_datasets(timeout=timeout):
            if dataset.name == name:
                return dataset
        raise NotFoundError(404, f"dataset {name!r} not found", method="GET", url="/datasets")

    def upload(
        self,
        name: str,
        data: Any,
        *,
        via: Via = "storage",
        timeout: float | None = DEFAULT,
    ) -> Dataset:
        """Upload ``data`` (a DataFrame written as CSV, a file path, bytes or a binary file)
        as ``name``, replacing any table of that name."""
        _check_name(name)
        if via == "storage":
            self._transfers.upload(data, name, timeout=timeout)
            return self.get_dataset(name, timeout=timeout)
        if via != "api":
            raise ValueError(f"via must be 'storage' or 'api', got {via!r}")
        source, content_type = as_upload_source(data, name)
        headers = {"Content-Type": content_type or "application/octet-stream"}
        if isinstance(source, str | Path):
            path = Path(source)
            headers["Content-Length"] = str(path.stat().st_size)
            content: Any = lambda: iter_file(path)  # noqa: E731 - rebuilt on each retry
        elif isinstance(source, bytes):
            content = source
        else:
            content = source.read()
        body = self._request(
            "PUT", f"/datasets/{name}", content=content, headers=headers, timeout=timeout
        )
        return Dataset.model_validate(body)

    def download(
        self,
        name: str,
        path: str | Path | IO[bytes] | None = None,
        *,
        via: Via = "storage",
        timeout: float | None = DEFAULT,
    ) -> bytes | int:
        """The table's bytes, or the number of bytes written to ``path`` (a file path or a
        binary file object), streamed without holding the whole file in memory."""
        _check_name(name)
        if via == "api":
            if path is None:
                body = self._request("GET", f"/datasets/{name}", timeout=timeout)
                return body if isinstance(body, bytes) else str(body).encode("utf-8")
            return self._request("GET", f"/datasets/{name}", stream_to=path, timeout=timeout)
        if via != "storage":
            raise ValueError(f"via must be 'storage' or 'api', got {via!r}")
        return self._transfers.download_upload(name, path, timeout=timeout)

    def delete(self, name: str, *, timeout: float | None = DEFAULT) -> Message:
        """Delete an uploaded table."""
        _check_name(name)
        return Message.model_validate(self._request("DELETE", f"/datasets/{name}", timeout=timeout))

    # Names in the style of the other facades.
    get_datasets = list_datasets
    upload_dataset = upload
    download_dataset = download
    delete_dataset = delete


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name:
        raise ValueError(f"invalid dataset name {name!r}: use a plain file name like 'iris.csv'")
