"""The audit trail: who did what to which object, from where. Never any secret.

:func:`record_event` adds an entry to the session of the action it records (so both commit
together); :func:`list_events` reads the caller's entries, or an admin's organization's,
newest first, one page at a time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from avatars.protocol.enums import ObjectType, Verb
from avatars.server.db.models import EventLog
from avatars.server.services.context import Caller, Context
from avatars.server.services.errors import NotFound


def record_event(
    session: Session,
    verb: Verb,
    object_type: ObjectType,
    *,
    user_id: uuid.UUID | None,
    organization_id: uuid.UUID | None,
    at: dt.datetime,
    object_id: uuid.UUID | str | None = None,
    object_name: str | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an entry, dated ``at``, to ``session``: it is committed with the action it records."""
    if isinstance(object_id, str):
        try:
            object_id = uuid.UUID(object_id)
        except ValueError:
            object_name = object_name or str(object_id)
            object_id = None
    session.add(
        EventLog(
            created_at=at,
            verb=verb.value,
            object_type=object_type.value,
            object_id=object_id,
            object_name=object_name[:1024] if object_name else None,
            user_id=user_id,
            organization_id=organization_id,
            ip=ip,
            details=details,
        )
    )


def record(
    session: Session,
    ctx: Context,
    caller: Caller,
    verb: Verb,
    object_type: ObjectType,
    *,
    object_id: uuid.UUID | str | None = None,
    object_name: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """:func:`record_event` for an action of ``caller``, now."""
    record_event(
        session,
        verb,
        object_type,
        user_id=caller.user_id,
        organization_id=caller.organization_id,
        at=ctx.now(),
        object_id=object_id,
        object_name=object_name,
        ip=caller.ip,
        details=details,
    )


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def list_events(
    ctx: Context,
    caller: Caller,
    *,
    verbs: Sequence[Verb] = (),
    object_types: Sequence[ObjectType] = (),
    created_from: dt.datetime | None = None,
    created_before: dt.datetime | None = None,
    starting_after: uuid.UUID | None = None,
    limit: int = 100,
) -> list[EventLog]:
    """The events the caller may see, newest first; ``starting_after`` is the id of the last
    event of the previous page (:class:`NotFound` if the caller cannot see it)."""
    query = select(EventLog).where(caller.scope(EventLog))
    if verbs:
        query = query.where(EventLog.verb.in_([v.value for v in verbs]))
    if object_types:
        query = query.where(EventLog.object_type.in_([o.value for o in object_types]))
    if created_from is not None:
        query = query.where(EventLog.created_at >= _aware(created_from))
    if created_before is not None:
        query = query.where(EventLog.created_at < _aware(created_before))
    with ctx.db.reading() as session:
        if starting_after is not None:
            last = session.get(EventLog, starting_after)
            if last is None or not _visible(caller, last):
                raise NotFound("starting_after: no such event")
            query = query.where(
                or_(
                    EventLog.created_at < last.created_at,
                    and_(EventLog.created_at == last.created_at, EventLog.id < last.id),
                )
            )
        query = query.order_by(EventLog.created_at.desc(), EventLog.id.desc()).limit(limit)
        return list(session.scalars(query))


def _visible(caller: Caller, event: EventLog) -> bool:
    return event.user_id == caller.user_id or (
        caller.is_admin and event.organization_id == caller.organization_id
    )
