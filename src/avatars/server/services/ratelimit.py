"""Rate limits: at most ``max_events`` events of a kind per key within a sliding window.

The events are rows of the database (:class:`~avatars.server.db.models.RateLimitEvent`), so
that every API process of a deployment counts the same ones. A key is what is limited (an
account, a client address, an e-mail address); only its SHA-256 is stored, so the table keeps
no address in clear. Nothing here knows about HTTP: a web front end or the command line use
the same limits.

Usage::

    limit = Limit("login-client", settings.login_max_failures_per_client, window)
    check(session, now, [(limit, ip)])      # RateLimited when over
    record(session, now, [(limit, ip)])     # count one event
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from avatars.server.db.models import RateLimitEvent
from avatars.server.services.errors import RateLimited


@dataclass(frozen=True)
class Limit:
    """``max_events`` events per key within ``window``; ``bucket`` names the kind of event."""

    bucket: str
    max_events: int
    window: dt.timedelta
    #: The message of :class:`RateLimited`; ``{seconds}`` is the wait.
    message: str = "too many attempts; try again in {seconds} seconds"


def _hash(bucket: str, key: str) -> str:
    return hashlib.sha256(f"{bucket}\x00{key}".encode()).hexdigest()


def wait_seconds(session: Session, now: dt.datetime, limit: Limit, key: str) -> int | None:
    """Seconds until ``key`` may have another event under ``limit``, or None if it may now."""
    count, oldest = session.execute(
        select(func.count(), func.min(RateLimitEvent.created_at)).where(
            RateLimitEvent.bucket == limit.bucket,
            RateLimitEvent.key_hash == _hash(limit.bucket, key),
            RateLimitEvent.created_at > now - limit.window,
        )
    ).one()
    if count < limit.max_events:
        return None
    if oldest is not None and oldest.tzinfo is None:  # a driver that drops the zone
        oldest = oldest.replace(tzinfo=dt.UTC)
    remaining = (oldest + limit.window - now).total_seconds() if oldest else 0.0
    return max(1, math.ceil(remaining))


def check(session: Session, now: dt.datetime, limits: Iterable[tuple[Limit, str]]) -> None:
    """:class:`RateLimited` (with the longest wait) if any ``(limit, key)`` is exhausted."""
    worst: tuple[int, Limit] | None = None
    for limit, key in limits:
        wait = wait_seconds(session, now, limit, key)
        if wait is not None and (worst is None or wait > worst[0]):
            worst = (wait, limit)
    if worst is not None:
        seconds, limit = worst
        raise RateLimited(limit.message.format(seconds=seconds), retry_after=seconds)


def record(session: Session, now: dt.datetime, limits: Iterable[tuple[Limit, str]]) -> None:
    """Count one event for each ``(limit, key)``; forget events older than their window."""
    for limit, key in limits:
        session.add(
            RateLimitEvent(bucket=limit.bucket, key_hash=_hash(limit.bucket, key), created_at=now)
        )
        # Keep the table small: what is out of every window counts for nothing.
        session.execute(
            delete(RateLimitEvent).where(
                RateLimitEvent.bucket == limit.bucket,
                RateLimitEvent.created_at < now - limit.window,
            )
        )


def clear(session: Session, limits: Iterable[tuple[Limit, str]]) -> None:
    """Forget the events of each ``(limit, key)`` (a successful login clears its failures)."""
    for limit, key in limits:
        session.execute(
            delete(RateLimitEvent).where(
                RateLimitEvent.bucket == limit.bucket,
                RateLimitEvent.key_hash == _hash(limit.bucket, key),
            )
        )
