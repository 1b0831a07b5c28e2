"""What every service works with: the platform (:class:`Context`) and who asks (:class:`Caller`).

A front end builds one :class:`Context` at start (the API: ``create_app``) and, for each
request, a :class:`Caller` from the credentials it was given; services take both. Nothing
here knows about HTTP.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement

from avatars.server.clock import Clock, utc_now
from avatars.server.config import Settings
from avatars.server.db import Database
from avatars.server.storage import Storage


@dataclass
class Context:
    """The platform's parts as one process sees them."""

    settings: Settings
    db: Database
    storage: Storage
    secret_key: str
    #: The time every rule of this process reads (see :mod:`avatars.server.clock`).
    clock: Clock = utc_now
    #: Small bookkeeping writes that requests do not wait for (an API key's last use).
    background: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="avatars-background")
    )
    #: When this process last recorded each API key's use (see ``keys.note_use``).
    key_uses: dict[uuid.UUID, dt.datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> dt.datetime:
        return self.clock()

    def jobs_changed(self) -> None:
        """Called after jobs were created or cancelled; the API wakes its dispatcher."""


@dataclass(frozen=True)
class Caller:
    """An authenticated user, as a request (or any other front end) presents them."""

    user_id: uuid.UUID
    organization_id: uuid.UUID
    role: str
    email: str
    username: str | None
    via: str  # "api_key", "bearer" (or what another front end authenticates with)
    api_key_id: uuid.UUID | None = None
    family_id: uuid.UUID | None = None
    ip: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_see(self, user_id: uuid.UUID, organization_id: uuid.UUID) -> bool:
        """A user sees what they own; an organization admin also sees their organization's."""
        if user_id == self.user_id:
            return True
        return self.is_admin and organization_id == self.organization_id

    def scope(self, model: Any) -> ColumnElement[bool]:
        """SQL condition selecting the rows of ``model`` (with ``user_id`` and
        ``organization_id`` columns) that the caller may see."""
        if self.is_admin:
            condition: ColumnElement[bool] = model.organization_id == self.organization_id
            return condition
        condition = model.user_id == self.user_id
        return condition
