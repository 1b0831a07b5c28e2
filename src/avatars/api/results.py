"""Results and storage access: result URLs, download permissions, the upload prefix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from avatars.api._base import DEFAULT, Facade
from avatars.protocol.wire import FileAccess


class Results(Facade):
    def get_results(self, job_name: str, *, timeout: float | None = DEFAULT) -> dict[str, Any]:
        """``{result kind: [url, ...]}`` of a finished job (protocol.md §5.4)."""
        body = self._request("GET", f"/results/{job_name}", timeout=timeout)
        return dict(body or {})

    def get_permission_to_download(
        self, url: str, *, timeout: float | None = DEFAULT
    ) -> FileAccess:
        """Storage credentials for one result URL (or an upload path wrapped as
        ``<api>/access?url=<s3 path>``)."""
        body = self._request("GET", "/access", params={"url": url}, timeout=timeout)
        return FileAccess.model_validate(body)

    def get_permissions_to_download_batch(
        self, urls: Sequence[str], *, timeout: float | None = DEFAULT
    ) -> list[FileAccess]:
        """Credentials for many URLs at once; refused URLs are left out of the answer."""
        body = self._request("POST", "/access/batch", json_body=list(urls), timeout=timeout)
        return [FileAccess.model_validate(item) for item in body or []]

    def get_upload_url(self, *, timeout: float | None = DEFAULT) -> str:
        """The caller's upload prefix, ``s3://<bucket>/<prefix>`` (no trailing slash)."""
        body = self._request("GET", "/upload_url", timeout=timeout)
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        return str(body).strip().strip('"')
