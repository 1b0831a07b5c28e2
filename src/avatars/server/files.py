"""Where files live in storage, and how they are named in URLs.

Layout (the S3 "bucket" is the owner's user id, as in Octopize's deployment)::

    <user>/<N>d/<file>                                uploads (N = dataset_expiration_days)
    <user>/sets/<set_name>/input/<file>               inputs snapshotted by PUT /resources
    <user>/<N>d/results/<set_name>/<job>/<file>       results of a job

Clients see storage paths as ``s3://<bucket>/<key>``: ``GET /upload_url`` answers the upload
prefix, and result URLs are ``<public base>/api/access?url=s3://<bucket>/<key>`` with the path
as the only and last query parameter (the client takes the extension from the URL's end).
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, quote, urlsplit

from avatars.protocol.enums import PlotKind

RESULTS_DIR = "results"
SETS_DIR = "sets"


def upload_prefix(user_id: uuid.UUID | str, expiration_days: int) -> str:
    return f"{user_id}/{expiration_days}d"


def upload_url(user_id: uuid.UUID | str, expiration_days: int) -> str:
    return f"s3://{upload_prefix(user_id, expiration_days)}"


def upload_key(user_id: uuid.UUID | str, expiration_days: int, file: str) -> str:
    return f"{upload_prefix(user_id, expiration_days)}/{file}"


def snapshot_key(user_id: uuid.UUID | str, set_name: uuid.UUID | str, file: str) -> str:
    return f"{user_id}/{SETS_DIR}/{set_name}/input/{file}"


def results_prefix(
    user_id: uuid.UUID | str, expiration_days: int, set_name: uuid.UUID | str, job_name: str
) -> str:
    """Folder-like prefix (ending in ``/``) of one job's results."""
    return f"{upload_prefix(user_id, expiration_days)}/{RESULTS_DIR}/{set_name}/{job_name}/"


def s3_path(key: str) -> str:
    return f"s3://{key}"


def access_url(public_base: str, key: str) -> str:
    """The URL a client downloads ``key`` through (``GET /access`` or ``POST /access/batch``).

    The path stays readable (``:`` and ``/`` unescaped, as the client writes it) but characters
    that would change the query's meaning (``&``, ``#``, ``+``, ``%``, spaces) are escaped.
    """
    return f"{public_base.rstrip('/')}/api/access?url={quote(s3_path(key), safe='/:')}"


class BadStorageUrl(ValueError):
    pass


def parse_storage_url(url: str) -> tuple[str, str]:
    """``(bucket, key)`` named by ``url``: ``s3://bucket/key``, or an access URL whose ``url=``
    query parameter holds one (nested any number of times, as clients send for uploads).
    ``key`` may be empty (the bucket itself)."""
    current = url.strip()
    for _ in range(8):
        if current.startswith("s3://"):
            rest = current[len("s3://") :]
            bucket, _, key = rest.partition("/")
            if not bucket:
                break
            return bucket, key.strip("/")
        parts = urlsplit(current)
        if parts.scheme in ("http", "https") and parts.query:
            values = parse_qs(parts.query, keep_blank_values=True).get("url")
            if values:
                current = values[0]
                continue
        break
    raise BadStorageUrl(f"not a storage URL: {url!r}; expected s3://<bucket>/<key>")


#: File names of the reports and figures a job writes (``report.html``, ``report.pdf``,
#: ``<table>.<plot kind>.html``).
_REPORT_FILE = re.compile(
    r"report\.(?:html|pdf)|[^/]+\.(?:" + "|".join(re.escape(k.value) for k in PlotKind) + r")\.html"
)


def is_report(bucket: str, key: str) -> bool:
    """Whether ``bucket/key`` is where a job writes a report or a figure (``<N>d/results/
    <set>/<job>/<file>``): the documents the storage endpoint shows inline, sandboxed; every
    other object is served as a download. Only the place and the name are judged, so an
    object a user put there is shown sandboxed too, which is why the sandbox matters."""
    parts = key.split("/")
    return (
        len(parts) == 5
        and re.fullmatch(r"\d+d", parts[0]) is not None
        and parts[1] == RESULTS_DIR
        and _REPORT_FILE.fullmatch(parts[4]) is not None
    )
