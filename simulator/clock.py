"""A controllable clock shared by the tenant model and every server.

Secrets expire, tokens expire, soft-deleted users are purged after 30 days and
schedules fire: all of it must be reproducible in a test that lasts a second.
So nothing in entrasim reads the wall clock directly; it asks a ``Clock``.

Two modes:
- *running* (the default): wall time plus an offset, so real clients that cache
  tokens by their own clock (msal, azure-identity) see consistent times;
- *frozen*: time moves only when told to, for fully deterministic runs.
``advance`` works in both modes.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Callable


def utc(dt: datetime) -> datetime:
    """Return ``dt`` as an aware UTC datetime (naive values are taken as UTC)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp as written by ``iso`` (a trailing Z is accepted)."""
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def iso(dt: datetime) -> str:
    """Format like Graph does: ``2024-01-02T03:04:05Z`` (no fractional seconds)."""
    return utc(dt).strftime("%Y-%m-%dT%H:%M:%SZ")


class Clock:
    """Simulated UTC time; listeners run after every ``advance`` or ``set``."""

    def __init__(self, start: datetime | None = None, frozen: bool = False):
        self._lock = threading.Lock()
        self._frozen = frozen
        self._offset = timedelta(0)
        self._fixed: datetime | None = None
        self._listeners: list[Callable[[datetime], None]] = []
        if start is None and frozen:
            start = datetime.now(timezone.utc).replace(microsecond=0)
        if start is not None:
            self.set(start, notify=False)

    @classmethod
    def frozen_at(cls, start: datetime | str) -> "Clock":
        if isinstance(start, str):
            start = parse_iso(start)
        return cls(start=start, frozen=True)

    @property
    def is_frozen(self) -> bool:
        return self._frozen

    def now(self) -> datetime:
        with self._lock:
            if self._frozen:
                assert self._fixed is not None
                return self._fixed
            return datetime.now(timezone.utc) + self._offset

    def timestamp(self) -> float:
        return self.now().timestamp()

    def set(self, moment: datetime, notify: bool = True) -> None:
        moment = utc(moment)
        with self._lock:
            if self._frozen:
                self._fixed = moment
            else:
                self._offset = moment - datetime.now(timezone.utc)
        if notify:
            self._notify()

    def advance(self, delta: timedelta | float | int) -> datetime:
        """Move time forward by ``delta`` (seconds or a timedelta) and return the new now."""
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=float(delta))
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            if self._frozen:
                assert self._fixed is not None
                self._fixed = self._fixed + delta
            else:
                self._offset += delta
        self._notify()
        return self.now()

    def on_change(self, listener: Callable[[datetime], None]) -> None:
        """Register ``listener(now)``, called after the clock is moved."""
        self._listeners.append(listener)

    def _notify(self) -> None:
        now = self.now()
        for listener in list(self._listeners):
            listener(now)
