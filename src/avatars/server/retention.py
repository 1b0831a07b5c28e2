"""Data retention: uploaded tables, their snapshots and job results are deleted when they expire.

``GET /upload_url`` hands out ``s3://<user>/<N>d`` (Octopize's layout, ``N`` =
``dataset_expiration_days``, reported in ``GET /users/me``): the prefix itself says how long
what is under it is kept. The housekeeping thread of every API process calls
:func:`delete_expired` at start and then every ``housekeeping_interval_seconds``, and deletes

- ``<user>/<N>d/...`` (uploads and results) older than ``N`` days, whatever ``N`` was when the
  file was written (lowering the setting later does not keep old files longer);
- ``<user>/sets/<set>/input/...`` (the copies ``PUT /resources`` takes of its inputs) older than
  the current ``dataset_expiration_days``: they are the same sensitive data.

Age is the object's last modification time. Several API processes may sweep at once: deleting
an already deleted object is not an error. Nothing outside user buckets (multipart staging,
server files) is touched.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Iterable, Iterator

from avatars.server.files import SETS_DIR
from avatars.server.storage import ObjectInfo, Storage

log = logging.getLogger(__name__)

_RETENTION_SEGMENT = re.compile(r"^(?P<days>[0-9]{1,5})d$")


def retention_days(key: str, snapshot_days: int) -> int | None:
    """How many days the object at ``key`` is kept, or None when retention does not apply."""
    parts = key.split("/")
    if len(parts) < 3:
        return None
    try:
        uuid.UUID(parts[0])  # user buckets only
    except ValueError:
        return None
    found = _RETENTION_SEGMENT.match(parts[1])
    if found:
        return int(found.group("days"))
    if parts[1] == SETS_DIR:
        return snapshot_days
    return None


def expired_keys(
    objects: Iterable[ObjectInfo], now: dt.datetime, snapshot_days: int
) -> Iterator[str]:
    """Keys of the objects older than their retention period at ``now``."""
    for info in objects:
        days = retention_days(info.key, snapshot_days)
        if days is not None and info.last_modified < now - dt.timedelta(days=days):
            yield info.key


def delete_expired(
    storage: Storage, snapshot_days: int, now: dt.datetime | None = None
) -> list[str]:
    """Delete every expired object of every user; the deleted keys."""
    now = now or dt.datetime.now(dt.UTC)
    deleted = list(expired_keys(storage.list(), now, snapshot_days))
    for key in deleted:
        storage.delete(key)  # a key another API process swept first is not an error
    if deleted:
        log.info("retention: deleted %d expired file(s)", len(deleted))
    return deleted


def results_expired(
    finished_at: dt.datetime | None, keys: Iterable[str], snapshot_days: int, now: dt.datetime
) -> int | None:
    """The retention period (days) of a job's result ``keys`` once it is over, else None.

    The sweep may not have run yet: answering "expired" from the dates keeps the API right.
    """
    periods = [d for d in (retention_days(k, snapshot_days) for k in keys) if d is not None]
    if finished_at is None or not periods:
        return None
    if finished_at.tzinfo is None:
        finished_at = finished_at.replace(tzinfo=dt.UTC)
    days = min(periods)
    return days if finished_at < now - dt.timedelta(days=days) else None
