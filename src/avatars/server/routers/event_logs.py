"""The audit trail (``GET /event-logs``): the caller's events, or an admin's organization's,
newest first, one page at a time (``starting_after`` = the id of the last event seen)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import and_, or_, select

from avatars.models import EventLog, ObjectType, Verb
from avatars.server.db.models import EventLog as EventLogRow
from avatars.server.deps import CurrentCaller, ReadSession
from avatars.server.errors import ApiError
from avatars.server.routers import AUTH_ERRORS, errors

router = APIRouter(tags=["event_logs"], responses=AUTH_ERRORS)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


@router.get(
    "/event-logs",
    response_model=list[EventLog],
    responses=errors(404),
    summary="The audit trail, newest first",
)
def list_my_event_logs(
    session: ReadSession,
    caller: CurrentCaller,
    verb: Annotated[list[Verb] | None, Query()] = None,
    object_type: Annotated[list[ObjectType] | None, Query()] = None,
    created_from: dt.datetime | None = None,
    created_before: dt.datetime | None = None,
    starting_after: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EventLog]:
    scope = (
        EventLogRow.organization_id == caller.organization_id
        if caller.is_admin
        else EventLogRow.user_id == caller.user_id
    )
    query = select(EventLogRow).where(scope)
    if verb:
        query = query.where(EventLogRow.verb.in_([v.value for v in verb]))
    if object_type:
        query = query.where(EventLogRow.object_type.in_([o.value for o in object_type]))
    if created_from is not None:
        query = query.where(EventLogRow.created_at >= _aware(created_from))
    if created_before is not None:
        query = query.where(EventLogRow.created_at < _aware(created_before))
    if starting_after is not None:
        last = session.get(EventLogRow, starting_after)
        visible = last is not None and (
            last.user_id == caller.user_id
            or (caller.is_admin and last.organization_id == caller.organization_id)
        )
        if last is None or not visible:
            raise ApiError(404, "starting_after: no such event")
        query = query.where(
            or_(
                EventLogRow.created_at < last.created_at,
                and_(EventLogRow.created_at == last.created_at, EventLogRow.id < last.id),
            )
        )
    rows = session.scalars(
        query.order_by(EventLogRow.created_at.desc(), EventLogRow.id.desc()).limit(limit)
    )
    return [
        EventLog(
            id=r.id,
            verb=r.verb,
            object_type=r.object_type,
            object_id=r.object_id,
            object_name=r.object_name,
            user_id=r.user_id,
            created_at=r.created_at,
        )
        for r in rows
    ]
