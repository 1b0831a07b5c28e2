"""The API's clock: every time-dependent rule of the API process reads the time from one
callable, so that tests (and simulations) can move time instead of waiting for it.

A clock is any ``Callable[[], datetime]`` returning an aware UTC datetime. The application
holds one (``create_app(settings, clock=...)``, default :func:`utc_now`) and gives it to the
services: tokens, refresh tokens, API-key expiry and last use, login lockouts, password-reset
expiry, storage credentials, retention ages, the dispatcher's claims and heartbeat checks.
Job workers run in other processes (or on other machines) and keep the real clock.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The real time, in UTC (the default clock)."""
    return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that moves only when told to: ``clock.advance(days=31)``.

    For tests of expiry and retention rules against an application started in the test's own
    process (``create_app(settings, clock=ManualClock())``).
    """

    def __init__(self, start: dt.datetime | None = None) -> None:
        start = start or utc_now()
        if start.tzinfo is None:
            raise ValueError("a clock's time must be timezone-aware")
        self._now = start.astimezone(dt.UTC)
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, delta: dt.timedelta | None = None, **units: float) -> dt.datetime:
        """Move forward by ``delta`` or by ``timedelta(**units)``; the new time."""
        step = delta if delta is not None else dt.timedelta(**units)
        if step < dt.timedelta(0):
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += step
            return self._now

    def set(self, moment: dt.datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("a clock's time must be timezone-aware")
        with self._lock:
            self._now = moment.astimezone(dt.UTC)
