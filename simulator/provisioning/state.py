"""The job's state, in SQLite: what Entra keeps between provisioning cycles.

- the connector data store: one *object connection* per provisioned object,
  source id -> target (SCIM) id, with whether the engine disabled it and whether
  it is still managed (an object disabled because it left scope is no longer
  managed: no DELETE follows when it is later deleted, as Entra documents);
- the group memberships the engine has exported (Entra never reads members
  back, so this is the only record of what the target was told);
- the watermark (a journal sequence number or Graph deltaLinks) persisted at the
  end of each cycle, so an interrupted cycle is simply run again;
- escrows (failed objects, retried in later cycles) and staged deletions
  (held by accidental-deletion prevention);
- the quarantine state and the history of cycles.

Writes commit at once (WAL journal), except inside ``batch_writes(n)``, which
the engine opens around a cycle's exports: there every ``n`` writes share one
transaction (one commit instead of ``n``: on the project machine the three
autocommitted writes of an exported object cost 56 microseconds of CPU and 430
of the calling thread's time, a write inside a batch 13). Either way a run killed at any moment resumes
without duplicates: a link lost with an uncommitted batch belongs to an object
the next run finds through its matching query (Entra's GET before POST) and
links again, and membership additions lost the same way are sent again, which
adds nothing twice.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..clock import iso, parse_iso

SCHEMA_VERSION = 1
RESET_SCOPES = ("watermark", "escrows", "quarantine", "connectordatastore", "forcedeletes", "full")

ESCROW, STAGED = "escrow", "staged"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS links (
    object_type TEXT NOT NULL,
    source_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    display TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    managed INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (object_type, source_id)
);
CREATE INDEX IF NOT EXISTS links_by_target ON links (object_type, target_id);
CREATE TABLE IF NOT EXISTS memberships (
    group_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    member_target_id TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX IF NOT EXISTS memberships_by_member ON memberships (member_id);
CREATE TABLE IF NOT EXISTS escrows (
    object_type TEXT NOT NULL,
    source_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    display TEXT,
    reference INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    first_failure TEXT NOT NULL,
    last_failure TEXT NOT NULL,
    next_retry TEXT,
    PRIMARY KEY (object_type, source_id, kind)
);
CREATE TABLE IF NOT EXISTS cycles (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    state TEXT NOT NULL,
    summary TEXT
);
"""


class StateError(Exception):
    """The state file cannot be used (not SQLite, another tool's database, unwritable)."""


@dataclass(frozen=True)
class Link:
    """An object connection: the source object and the target resource it is provisioned as."""

    object_type: str
    source_id: str
    target_id: str
    display: str | None = None
    disabled: bool = False
    managed: bool = True


@dataclass(frozen=True)
class Escrow:
    """A failed object waiting for a later cycle, or a deletion held by accidental-deletion prevention."""

    object_type: str
    source_id: str
    kind: str
    code: str
    reason: str
    display: str | None
    reference: bool
    attempts: int
    first_failure: datetime
    last_failure: datetime
    next_retry: datetime | None


@dataclass
class Quarantine:
    """Graph's synchronizationQuarantine: why, since when, and when the next attempt is due."""

    reason: str
    series_began: datetime
    current_began: datetime
    next_attempt: datetime
    series_count: int = 1
    details: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("series_began", "current_began", "next_attempt"):
            data[key] = iso(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Quarantine:
        return cls(reason=data["reason"], series_began=parse_iso(data["series_began"]),
                   current_began=parse_iso(data["current_began"]), next_attempt=parse_iso(data["next_attempt"]),
                   series_count=int(data.get("series_count", 1)), details=data.get("details", ""))


class JobState:
    """One job's state file. Thread-safe; every method commits before it returns (outside ``batch_writes``)."""

    def __init__(self, path: str | Path = ":memory:"):
        self.path = str(path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            version = self._meta("schema_version")
            if version is None:
                self._set_meta("schema_version", str(SCHEMA_VERSION))
            elif version != str(SCHEMA_VERSION):
                raise StateError(f"{self.path} holds job state version {version}; this entrasim reads version {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise StateError(f"cannot use {self.path} as a job state file: {exc}") from None
        self._lock = threading.RLock()
        self._batch_size = 0
        self._pending = 0

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def batch_writes(self, size: int = 500) -> Iterator[None]:
        """Group the writes made inside into transactions of ``size`` writes, all committed on the way out."""
        with self._lock:
            if self._batch_size:  # already batching: the outer batch commits
                yield
                return
            self._db.execute("BEGIN")
            self._batch_size, self._pending = max(1, size), 0
        try:
            yield
        finally:
            with self._lock:
                self._batch_size = 0
                self._db.execute("COMMIT")

    def _wrote(self) -> None:
        """Count a write of the open batch; commit it every ``size`` writes. Call with the lock held."""
        if self._batch_size:
            self._pending += 1
            if self._pending >= self._batch_size:
                self._db.execute("COMMIT")
                self._db.execute("BEGIN")
                self._pending = 0

    def __enter__(self) -> JobState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ meta
    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self._db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                             (key, value))

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._meta(key)

    def put(self, key: str, value: str | None) -> None:
        with self._lock:
            self._set_meta(key, value)

    @property
    def watermark(self) -> str | None:
        return self.get("watermark")

    def set_watermark(self, value: str | None) -> None:
        self.put("watermark", value)

    @property
    def fingerprint(self) -> str | None:
        return self.get("fingerprint")

    def set_fingerprint(self, value: str) -> None:
        self.put("fingerprint", value)

    @property
    def force_deletes(self) -> bool:
        return self.get("force_deletes") == "1"

    def set_force_deletes(self, value: bool) -> None:
        self.put("force_deletes", "1" if value else None)

    @property
    def quarantine(self) -> Quarantine | None:
        raw = self.get("quarantine")
        return Quarantine.from_dict(json.loads(raw)) if raw else None

    def set_quarantine(self, quarantine: Quarantine | None) -> None:
        self.put("quarantine", json.dumps(quarantine.as_dict()) if quarantine else None)

    # ------------------------------------------------------------------ links
    @staticmethod
    def _link(row: tuple) -> Link:
        return Link(row[0], row[1], row[2], row[3], bool(row[4]), bool(row[5]))

    def link(self, object_type: str, source_id: str) -> Link | None:
        with self._lock:
            row = self._db.execute("SELECT object_type, source_id, target_id, display, disabled, managed FROM links "
                                   "WHERE object_type = ? AND source_id = ?", (object_type, source_id)).fetchone()
        return self._link(row) if row else None

    def links(self, object_type: str) -> dict[str, Link]:
        """Every link of one object type, by source id (one query, for whole-directory cycles)."""
        with self._lock:
            rows = self._db.execute("SELECT object_type, source_id, target_id, display, disabled, managed FROM links "
                                    "WHERE object_type = ?", (object_type,)).fetchall()
        return {row[1]: self._link(row) for row in rows}

    def save_link(self, link: Link) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO links (object_type, source_id, target_id, display, disabled, managed) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(object_type, source_id) DO UPDATE SET target_id = excluded.target_id, "
                "display = excluded.display, disabled = excluded.disabled, managed = excluded.managed",
                (link.object_type, link.source_id, link.target_id, link.display, int(link.disabled), int(link.managed)))
            self._wrote()

    def drop_link(self, object_type: str, source_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM links WHERE object_type = ? AND source_id = ?", (object_type, source_id))
            self._wrote()

    def link_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT object_type, COUNT(*) FROM links GROUP BY object_type").fetchall()
        return {kind: count for kind, count in rows}

    # ------------------------------------------------------------------ memberships
    def memberships(self, group_id: str) -> dict[str, str]:
        """Members exported to a group: member source id -> member target id."""
        with self._lock:
            rows = self._db.execute("SELECT member_id, member_target_id FROM memberships WHERE group_id = ? ORDER BY rowid",
                                    (group_id,)).fetchall()
        return dict(rows)

    def add_memberships(self, group_id: str, members: Iterable[tuple[str, str]]) -> None:
        with self._lock:
            self._many("INSERT OR REPLACE INTO memberships (group_id, member_id, member_target_id) VALUES (?, ?, ?)",
                       [(group_id, member, target) for member, target in members])

    def remove_memberships(self, group_id: str, member_ids: Iterable[str]) -> None:
        with self._lock:
            self._many("DELETE FROM memberships WHERE group_id = ? AND member_id = ?",
                       [(group_id, member) for member in member_ids])

    def _many(self, sql: str, rows: list[tuple]) -> None:
        """Several rows in one transaction (the batch's, or one of their own). Call with the lock held."""
        if self._batch_size:
            self._db.executemany(sql, rows)
            self._wrote()
            return
        self._db.execute("BEGIN")
        self._db.executemany(sql, rows)
        self._db.execute("COMMIT")

    def forget_memberships_of(self, object_id: str) -> None:
        """An object deleted in the target: it is no longer a member of anything, and (a group) has no members."""
        with self._lock:
            self._db.execute("DELETE FROM memberships WHERE member_id = ? OR group_id = ?", (object_id, object_id))
            self._wrote()

    def membership_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM memberships").fetchone()[0]

    # ------------------------------------------------------------------ escrows
    @staticmethod
    def _escrow(row: tuple) -> Escrow:
        return Escrow(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7], parse_iso(row[8]),
                      parse_iso(row[9]), parse_iso(row[10]) if row[10] else None)

    def escrows(self, kind: str | None = None) -> list[Escrow]:
        query = ("SELECT object_type, source_id, kind, code, reason, display, reference, attempts, first_failure, "
                 "last_failure, next_retry FROM escrows")
        args: tuple = ()
        if kind is not None:
            query += " WHERE kind = ?"
            args = (kind,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY first_failure, object_type, source_id", args).fetchall()
        return [self._escrow(row) for row in rows]

    def escrow(self, object_type: str, source_id: str, kind: str = ESCROW) -> Escrow | None:
        with self._lock:
            row = self._db.execute(
                "SELECT object_type, source_id, kind, code, reason, display, reference, attempts, first_failure, "
                "last_failure, next_retry FROM escrows WHERE object_type = ? AND source_id = ? AND kind = ?",
                (object_type, source_id, kind)).fetchone()
        return self._escrow(row) if row else None

    def put_escrow(self, object_type: str, source_id: str, kind: str, code: str, reason: str, *, display: str | None,
                   reference: bool, now: datetime, next_retry: datetime | None) -> Escrow:
        """Record a failure (or a held deletion); a repeated one counts as a further attempt."""
        previous = self.escrow(object_type, source_id, kind)
        attempts = previous.attempts + 1 if previous else 0
        first = previous.first_failure if previous else now
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO escrows (object_type, source_id, kind, code, reason, display, reference, attempts, "
                "first_failure, last_failure, next_retry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (object_type, source_id, kind, code, reason, display, int(reference), attempts, iso(first), iso(now),
                 iso(next_retry) if next_retry else None))
            self._wrote()
        return Escrow(object_type, source_id, kind, code, reason, display, reference, attempts, first, now, next_retry)

    def clear_escrow(self, object_type: str, source_id: str, kind: str | None = None) -> None:
        with self._lock:
            if kind is None:
                self._db.execute("DELETE FROM escrows WHERE object_type = ? AND source_id = ?", (object_type, source_id))
            else:
                self._db.execute("DELETE FROM escrows WHERE object_type = ? AND source_id = ? AND kind = ?",
                                 (object_type, source_id, kind))
            self._wrote()

    # ------------------------------------------------------------------ cycles
    def begin_cycle(self, cycle_id: str, kind: str, started: datetime) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO cycles (id, kind, started, state) VALUES (?, ?, ?, 'running')",
                             (cycle_id, kind, iso(started)))

    def end_cycle(self, cycle_id: str, ended: datetime, state: str, summary: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("UPDATE cycles SET ended = ?, state = ?, summary = ? WHERE id = ?",
                             (iso(ended), state, json.dumps(summary), cycle_id))

    def unfinished_cycles(self) -> list[tuple[str, str, str]]:
        """Cycles that started and never ended (the run was killed): ``(id, kind, started)``."""
        with self._lock:
            return self._db.execute("SELECT id, kind, started FROM cycles WHERE state = 'running' ORDER BY started").fetchall()

    def mark_interrupted(self) -> int:
        with self._lock:
            return self._db.execute("UPDATE cycles SET state = 'interrupted' WHERE state = 'running'").rowcount

    def cycle_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM cycles").fetchone()[0]

    def last_cycles(self, limit: int = 10) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT id, kind, started, ended, state, summary FROM cycles "
                                    "ORDER BY started DESC, rowid DESC LIMIT ?", (limit,)).fetchall()
        return [{"id": r[0], "kind": r[1], "started": r[2], "ended": r[3], "state": r[4],
                 "summary": json.loads(r[5]) if r[5] else None} for r in rows]

    # ------------------------------------------------------------------ restart
    def reset(self, scope: str) -> None:
        """Graph's restart criteria: clear the watermark, escrows, quarantine, links (connector data store), or all.

        ``forcedeletes`` lets the next cycle send the deletions accidental-deletion
        prevention is holding, and lifts the TooManyDeletes quarantine.
        """
        scope = scope.lower()
        if scope not in RESET_SCOPES:
            raise ValueError(f"unknown reset scope '{scope}'; expected one of: {', '.join(RESET_SCOPES)}")
        with self._lock:
            self._db.execute("BEGIN")
            if scope in ("watermark", "full"):
                self._set_meta("watermark", None)
            if scope in ("escrows", "full"):
                self._db.execute("DELETE FROM escrows WHERE kind = ?", (ESCROW,))
            if scope in ("quarantine", "full"):
                self._set_meta("quarantine", None)
            if scope in ("connectordatastore", "full"):
                self._db.execute("DELETE FROM links")
                self._db.execute("DELETE FROM memberships")
                self._db.execute("DELETE FROM escrows")
            if scope == "full":
                self._set_meta("force_deletes", None)
            if scope == "forcedeletes":
                self._set_meta("force_deletes", "1")
                raw = self._meta("quarantine")
                if raw and json.loads(raw).get("reason") == "TooManyDeletes":
                    self._set_meta("quarantine", None)
            self._db.execute("COMMIT")
