"""The audit trail: who did what to which object, from where. Never any secret."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from avatars.models import ObjectType, Verb
from avatars.server.db.models import EventLog


def record_event(
    session: Session,
    verb: Verb,
    object_type: ObjectType,
    *,
    user_id: uuid.UUID | None,
    organization_id: uuid.UUID | None,
    object_id: uuid.UUID | str | None = None,
    object_name: str | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an entry to ``session``: it is committed with the action it records."""
    if isinstance(object_id, str):
        try:
            object_id = uuid.UUID(object_id)
        except ValueError:
            object_name = object_name or object_id
            object_id = None
    session.add(
        EventLog(
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
