"""Query results and first pages, reused while the directory is unchanged.

An LMS importer reads the same groups on every schedule, and a load test reads
them thousands of times; recomputing a 100,000-member group and re-encoding its
first page for each of those reads would make the mock slower than the HTTP
stack it runs on. An entry is valid only while ``Tenant.last_revision`` is the
one it was computed at, so any change to the directory (journaled or not)
invalidates every entry at once: a stale answer is impossible.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Hashable, Sequence


class ResultCache:
    def __init__(self, tenant: Any, max_entries: int = 256, max_items: int = 5_000_000):
        self.tenant = tenant
        self.max_entries = max_entries
        self.max_items = max_items
        self._entries: dict[Hashable, tuple[int, Any, int]] = {}
        self._held = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        hit = self._entries.get(key)
        if hit is not None and hit[0] == self.tenant.last_revision:
            return hit[1]
        return None

    def put(self, key: Hashable, value: Any, revision: int, size: int = 1) -> None:
        """Store ``value`` as computed at ``revision`` (read it *before* computing)."""
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._held -= old[2]
            self._entries[key] = (revision, value, size)
            self._held += size
            while len(self._entries) > self.max_entries or (self._held > self.max_items and len(self._entries) > 1):
                _key, (_rev, _value, held) = next(iter(self._entries.items()))
                del self._entries[_key]
                self._held -= held

    def result(self, key: Hashable, compute: Callable[[], Sequence[Any]]) -> Sequence[Any]:
        """``compute()``, or its earlier result when nothing changed since."""
        found = self.get(key)
        if found is not None:
            return found
        revision = self.tenant.last_revision
        value = compute()
        self.put(key, value, revision, size=len(value))
        return value
