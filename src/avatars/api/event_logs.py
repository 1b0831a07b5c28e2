"""``GET /event-logs``: the audit trail (the caller's; the organization's for admins)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from uuid import UUID

from avatars.api._base import DEFAULT, Facade
from avatars.protocol.enums import ObjectType, Verb
from avatars.protocol.wire import EventLog


class EventLogs(Facade):
    def list_my_event_logs(
        self,
        verb: Verb | str | Sequence[Verb | str] | None = None,
        object_type: ObjectType | str | Sequence[ObjectType | str] | None = None,
        created_from: dt.datetime | None = None,
        created_before: dt.datetime | None = None,
        starting_after: UUID | str | None = None,
        limit: int | None = None,
        *,
        timeout: float | None = DEFAULT,
    ) -> list[EventLog]:
        """Events, newest first; page with ``starting_after=<last id>``."""
        params = {
            "verb": _many(verb),
            "object_type": _many(object_type),
            "created_from": created_from.isoformat() if created_from else None,
            "created_before": created_before.isoformat() if created_before else None,
            "starting_after": str(starting_after) if starting_after else None,
            "limit": limit,
        }
        body = self._request("GET", "/event-logs", params=params, timeout=timeout)
        return [EventLog.model_validate(item) for item in body or []]


def _many(value: object) -> list[object] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return list(value)  # type: ignore[call-overload]
