"""The change journal: every directory change, in order, with old and new values.

Graph delta queries and incremental provisioning cycles both read it: a delta or
watermark token is simply a sequence number in this journal. Entries are
append-only; nothing rewrites history.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True, frozen=True)
class Change:
    seq: int
    at: datetime
    kind: str  # "user", "group", "application", "assignment"
    object_id: str
    action: str  # created, updated, softDeleted, restored, purged, deleted, memberAdded, memberRemoved, assigned, ...
    changes: dict[str, Any] = field(default_factory=dict)  # attribute -> [old, new]
    member_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        from ..clock import iso

        out = {"seq": self.seq, "at": iso(self.at), "kind": self.kind, "objectId": self.object_id, "action": self.action}
        if self.changes:
            out["changes"] = {k: [_plain(v[0]), _plain(v[1])] for k, v in self.changes.items()}
        if self.member_id:
            out["memberId"] = self.member_id
        return out


def _plain(value: Any) -> Any:
    from ..clock import iso

    if isinstance(value, datetime):
        return iso(value)
    return value


class ChangeJournal:
    def __init__(self) -> None:
        self._entries: list[Change] = []
        self._lock = threading.Lock()

    @property
    def last_seq(self) -> int:
        """Sequence number of the newest entry (0 when empty): the 'now' of a delta token."""
        with self._lock:
            return self._entries[-1].seq if self._entries else 0

    def append(self, at: datetime, kind: str, object_id: str, action: str, changes: dict[str, Any], member_id: str | None = None) -> Change:
        with self._lock:
            seq = (self._entries[-1].seq if self._entries else 0) + 1
            entry = Change(seq, at, kind, object_id, action, changes, member_id)
            self._entries.append(entry)
            return entry

    def since(self, seq: int, kinds: tuple[str, ...] | None = None) -> list[Change]:
        """Entries with a sequence number greater than ``seq``, oldest first."""
        with self._lock:
            start = bisect.bisect_right(self._entries, seq, key=lambda c: c.seq)
            entries = self._entries[start:]
        if kinds is not None:
            entries = [c for c in entries if c.kind in kinds]
        return entries

    def __len__(self) -> int:
        return len(self._entries)
