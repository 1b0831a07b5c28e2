"""The audit trail (``GET /event-logs``): the caller's events, or an admin's organization's,
newest first, one page at a time (``starting_after`` = the id of the last event seen)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from avatars.protocol.enums import ObjectType, Verb
from avatars.protocol.wire import EventLog
from avatars.server.deps import CurrentCaller, State
from avatars.server.routers import AUTH_ERRORS, errors
from avatars.server.services import events

router = APIRouter(tags=["event_logs"], responses=AUTH_ERRORS)


@router.get(
    "/event-logs",
    response_model=list[EventLog],
    responses=errors(404),
    summary="The audit trail, newest first",
)
def list_my_event_logs(
    state: State,
    caller: CurrentCaller,
    verb: Annotated[list[Verb] | None, Query()] = None,
    object_type: Annotated[list[ObjectType] | None, Query()] = None,
    created_from: dt.datetime | None = None,
    created_before: dt.datetime | None = None,
    starting_after: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EventLog]:
    rows = events.list_events(
        state,
        caller,
        verbs=verb or (),
        object_types=object_type or (),
        created_from=created_from,
        created_before=created_before,
        starting_after=starting_after,
        limit=limit,
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
