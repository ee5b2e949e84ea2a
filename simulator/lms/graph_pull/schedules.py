"""Scheduled imports: per connection, group id and role, once a day at a time of day (UTC).

Timing, made deterministic from the document's "a new or changed schedule can
take up to 24 hours to first run": a schedule runs daily at its time, and a new
or changed schedule first runs at the **next occurrence of its time strictly
after the change**, never at once. So a schedule created at 10:00 for 02:00
first runs at 02:00 the next day, and one created at 02:00 for 02:00 waits the
full 24 hours.

Firing: the LMS registers a listener on its ``simulator.clock.Clock``; every
clock move runs the schedules that came due, in the order of their due time.
When the clock jumps over several days, each schedule runs once, at its latest
missed occurrence (Graph cannot have changed in between, so running the missed
ones too would end in the same state); ``skipped`` counts the others.

The document's advice: import the admin group last, 30 minutes after the
others, so that an import with another role that happens to include admins
cannot leave them demoted. ``admin_last_warnings`` is that check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ...clock import iso
from .errors import BadRequest

ADMIN_LAST_GAP = timedelta(minutes=30)
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_time_of_day(text: Any) -> tuple[int, int]:
    if not isinstance(text, str) or not _TIME.match(text):
        raise BadRequest(f"'time' must be a time of day HH:MM (UTC, 00:00 to 23:59), got {text!r}")
    hours, minutes = text.split(":")
    return int(hours), int(minutes)


def next_occurrence(after: datetime, time_of_day: str) -> datetime:
    """The first moment strictly after ``after`` whose time of day is ``time_of_day``."""
    hours, minutes = parse_time_of_day(time_of_day)
    candidate = after.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    if candidate <= after:
        candidate += timedelta(days=1)
    return candidate


@dataclass
class Schedule:
    id: str
    connection_id: str
    group_id: str
    role: str
    time: str  # HH:MM, UTC
    changed_at: datetime
    next_run: datetime
    last_run: datetime | None = None
    last_import_id: str | None = None
    runs: int = 0
    skipped: int = 0

    def reschedule(self, now: datetime) -> None:
        """After a change: the first run is the next occurrence of the time, strictly after now."""
        self.changed_at = now
        self.next_run = next_occurrence(now, self.time)

    def latest_due(self, now: datetime) -> datetime | None:
        """The latest occurrence at or before ``now`` that has not run, or None when not due."""
        if self.next_run > now:
            return None
        missed = (now - self.next_run) // timedelta(days=1)
        return self.next_run + timedelta(days=missed)

    def mark_run(self, occurrence: datetime, import_id: str) -> None:
        self.skipped += (occurrence - self.next_run) // timedelta(days=1)
        self.runs += 1
        self.last_run = occurrence
        self.last_import_id = import_id
        self.next_run = occurrence + timedelta(days=1)

    def minutes(self) -> int:
        hours, minutes = parse_time_of_day(self.time)
        return hours * 60 + minutes

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "connection_id": self.connection_id, "group_id": self.group_id, "role": self.role,
                "time": self.time, "changed_at": iso(self.changed_at), "next_run": iso(self.next_run),
                "last_run": iso(self.last_run) if self.last_run else None, "last_import_id": self.last_import_id,
                "runs": self.runs, "skipped": self.skipped}


def admin_last_warnings(schedules: list[Schedule], admin_role: str = "admin") -> list[dict[str, Any]]:
    """One warning per (admin-role schedule, other schedule of the same connection) less than 30 min before it.

    Times compare within one UTC day: an admin import at 01:00 and another at
    02:00 leave the admins demoted from 02:00 until 01:00 the next day.
    """
    warnings = []
    for admin in (s for s in schedules if s.role == admin_role):
        for other in schedules:
            if other is admin or other.connection_id != admin.connection_id or other.role == admin_role:
                continue
            if admin.minutes() - other.minutes() < ADMIN_LAST_GAP.total_seconds() // 60:
                warnings.append({
                    "check": "admin-group-last",
                    "schedule_id": admin.id,
                    "other_schedule_id": other.id,
                    "message": (f"The admin group import ({admin.group_id} at {admin.time}) does not run at least 30 "
                                f"minutes after the import of group {other.group_id} with role {other.role} (at "
                                f"{other.time}). Schedule the admin group last, 30 minutes after the others, or "
                                f"administrators in both groups lose their admin role until it runs."),
                })
    return warnings
