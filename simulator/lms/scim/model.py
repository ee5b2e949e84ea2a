"""The SCIM store: resources, their indexes, group membership, versions, and whole-state export/import.

Plain Python, no HTTP. What it guarantees:
- lookups by id, userName, externalId, emails.value and displayName are index
  lookups (case-folded where the schema's ``caseExact`` is false), so Entra's
  matching query (``userName eq "..."``) costs the same on 10 or 1,000,000 users;
- a group's members are a dict keyed by member id, and a reverse index records
  the groups of each resource, so adding one member or answering a user's
  ``groups`` costs O(1), whatever the group's size;
- every change happens under one re-entrant lock, taken by the service for the
  whole read-modify-commit of a request: concurrent PATCHes on one group lose
  no member and a reader never sees half a change;
- ``meta.version`` comes from one sequence that only grows, so an ETag is
  never reused, even after a delete and a re-create.

Records are stored as SCIM JSON with canonical attribute names (extension
attributes under their schema URN), except a group's ``members`` (a dict) and
``meta.location`` (computed from the request's base URL when rendered).
"""

from __future__ import annotations

import random
import re
import threading
from datetime import datetime
from typing import Any, Callable, Iterable

from ...clock import Clock, iso
from .members import MemberView
from .schemas import SchemaRegistry, build_registry

STATE_FORMAT = "entrasim-scim-state"
STATE_VERSION = 1

#: version-4 UUID layout (RFC 4122 §4.4): these bits are fixed, to version 4 and variant 10
_UUID_FIXED_BITS = (0xF000 << 64) | (0xC000 << 48)
_UUID_V4_BITS = (0x4000 << 64) | (0x8000 << 48)

#: (resource type, index key, case-exact?) for the attributes lookups use.
INDEXED: dict[str, tuple[tuple[str, bool], ...]] = {
    "User": (("userName", False), ("externalId", True), ("displayName", False), ("emails.value", False)),
    "Group": (("displayName", False), ("externalId", True)),
}


class StateError(ValueError):
    """An exported state that cannot be imported as written."""


def _values_for(record: dict[str, Any], key: str) -> list[str]:
    """The string values a record has for an index key ("attr" or "attr.sub" of a multi-valued attribute)."""
    attr, _, sub = key.partition(".")
    value = record.get(attr)
    if value is None:
        return []
    if not sub:
        return [value] if isinstance(value, str) else []
    items = value.values() if isinstance(value, dict) else value
    return [item[sub] for item in items if isinstance(item, dict) and isinstance(item.get(sub), str)]


class Index:
    """value -> ids for one attribute; case-folded unless the attribute is caseExact."""

    __slots__ = ("key", "case_exact", "_map", "attr", "sub")

    def __init__(self, key: str, case_exact: bool):
        self.key = key
        self.case_exact = case_exact
        self._map: dict[str, set[str]] = {}
        self.attr, _, sub = key.partition(".")  # the top-level attribute the values come from
        self.sub = sub or None

    def unchanged(self, old: dict[str, Any], new: dict[str, Any]) -> bool:
        """Whether both records give this index the same values (then an update need not touch it)."""
        return old.get(self.attr) == new.get(self.attr)

    def norm(self, value: str) -> str:
        return value if self.case_exact else value.casefold()

    def add(self, rid: str, record: dict[str, Any]) -> None:
        if self.sub is None:  # a single string attribute (userName, externalId...): no list to build
            value = record.get(self.attr)
            if isinstance(value, str):
                key = value if self.case_exact else value.casefold()
                ids = self._map.get(key)
                if ids is None:
                    self._map[key] = {rid}
                else:
                    ids.add(rid)
            return
        for value in _values_for(record, self.key):
            self._map.setdefault(self.norm(value), set()).add(rid)

    def remove(self, rid: str, record: dict[str, Any]) -> None:
        for value in _values_for(record, self.key):
            ids = self._map.get(self.norm(value))
            if ids is not None:
                ids.discard(rid)
                if not ids:
                    del self._map[self.norm(value)]

    def lookup(self, value: str) -> set[str]:
        return set(self._map.get(self.norm(value), ()))


class ScimStore:
    """All resources of one mock LMS (User and Group)."""

    def __init__(self, clock: Clock | None = None, registry: SchemaRegistry | None = None, seed: int = 0):
        self.clock = clock or Clock()
        self.registry = registry or build_registry()
        self.lock = threading.RLock()
        self._rng = random.Random(f"entrasim-scim:{seed}")
        self._resources: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.registry.resource_types}
        self._type_of: dict[str, str] = {}
        self._indexes: dict[str, dict[str, Index]] = {
            name: {key: Index(key, exact) for key, exact in INDEXED.get(name, ())} for name in self._resources}
        self._groups_of: dict[str, set[str]] = {}
        self._sequence = 0
        self._position: dict[str, int] = {}  # id -> creation order, for deterministic answers
        self._created = 0
        self._last_now: tuple[datetime, str] | None = None

    # ---------------------------------------------------------------- reads (callers hold ``lock`` while using records)

    def get(self, rtype: str, rid: str) -> dict[str, Any] | None:
        return self._resources[rtype].get(rid)

    def type_of(self, rid: str) -> str | None:
        return self._type_of.get(rid)

    def records(self, rtype: str) -> Iterable[tuple[str, dict[str, Any]]]:
        return self._resources[rtype].items()

    def count(self, rtype: str) -> int:
        return len(self._resources[rtype])

    def has_index(self, rtype: str, key: str) -> bool:
        return key in self._indexes[rtype] or key == "id"

    def lookup(self, rtype: str, key: str, value: str) -> set[str]:
        """Ids whose ``key`` equals ``value`` (per the attribute's caseExact); ``key`` must be indexed."""
        if key == "id":
            return {value} if value in self._resources[rtype] else set()
        return self._indexes[rtype][key].lookup(value)

    def groups_of(self, rid: str) -> set[str]:
        return set(self._groups_of.get(rid, ()))

    def ordered(self, ids: Iterable[str]) -> list[str]:
        """Existing ids among ``ids``, in creation order (the order of an unsorted list)."""
        position = self._position
        return sorted((rid for rid in ids if rid in position), key=position.__getitem__)

    def _place(self, rid: str) -> None:
        self._created += 1
        self._position[rid] = self._created

    # ---------------------------------------------------------------- writes

    def new_id(self) -> str:
        """A random version-4 UUID from the seeded generator, so a seed reproduces the same ids.

        Formatted directly: the same text ``str(uuid.UUID(int=bits, version=4))`` gives, for a fraction
        of its cost (it is paid once per created resource).
        """
        with self.lock:
            bits = self._rng.getrandbits(128)
        bits = (bits & ~_UUID_FIXED_BITS) | _UUID_V4_BITS
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _now_text(self) -> str:
        """``iso(clock.now())``, formatted once per second of the clock rather than once per write."""
        second = self.clock.now().replace(microsecond=0)  # equal instants format alike; iso drops the fraction
        last = self._last_now
        if last is not None and last[0] == second:
            return last[1]
        text = iso(second)
        self._last_now = (second, text)
        return text

    def _next_version(self) -> str:
        self._sequence += 1
        return f'W/"{self._sequence}"'

    def insert(self, rtype: str, record: dict[str, Any], rid: str | None = None) -> dict[str, Any]:
        """Store a new resource (already validated, uniqueness already checked by the caller under ``lock``)."""
        with self.lock:
            rid = rid or self.new_id()
            now = self._now_text()
            record = dict(record)
            record["id"] = rid
            record["meta"] = {"resourceType": rtype, "created": now, "lastModified": now,
                              "version": self._next_version()}
            if rtype == "Group":
                record["members"] = self._members_dict(record.get("members"))
            self._resources[rtype][rid] = record
            self._type_of[rid] = rtype
            self._place(rid)
            for index in self._indexes[rtype].values():
                index.add(rid, record)
            if rtype == "Group":
                for member in record["members"]:
                    self._groups_of.setdefault(member, set()).add(rid)
            return record

    @staticmethod
    def _members_dict(members: Any) -> dict[str, dict[str, Any]]:
        if isinstance(members, dict):
            return members
        out: dict[str, dict[str, Any]] = {}
        for element in members or []:
            out.setdefault(element["value"], element)
        return out

    def commit(self, rtype: str, rid: str, working: dict[str, Any]) -> dict[str, Any]:
        """Replace a resource with its updated working copy (PATCH or PUT), re-indexing and bumping the version.

        A group's members may be a ``MemberView`` (PATCH: replayed onto the
        stored dict, O(changes)) or a list/dict (PUT: replaces them all).
        """
        with self.lock:
            old = self._resources[rtype][rid]
            new = {k: v for k, v in working.items() if k not in ("id", "meta")}
            added: list[str] = []
            removed: list[str] = []
            if rtype == "Group":
                members = working.get("members")
                if isinstance(members, MemberView):
                    added, removed = members.changes()
                    new["members"] = members.commit()
                else:
                    fresh = self._members_dict(members)
                    removed = [m for m in old["members"] if m not in fresh]
                    added = [m for m in fresh if m not in old["members"]]
                    new["members"] = fresh
            stale = [index for index in self._indexes[rtype].values() if not index.unchanged(old, new)]
            for index in stale:
                index.remove(rid, old)
            meta = dict(old["meta"])
            meta["lastModified"] = self._now_text()
            meta["version"] = self._next_version()
            new["id"] = rid
            new["meta"] = meta
            self._resources[rtype][rid] = new
            for index in stale:
                index.add(rid, new)
            for member in added:
                self._groups_of.setdefault(member, set()).add(rid)
            for member in removed:
                groups = self._groups_of.get(member)
                if groups is not None:
                    groups.discard(rid)
                    if not groups:
                        del self._groups_of[member]
            return new

    def touch(self, rtype: str, rid: str) -> None:
        """A resource changed without a request on it (a member was deleted): new version and lastModified."""
        with self.lock:
            record = self._resources[rtype][rid]
            meta = dict(record["meta"])
            meta["lastModified"] = self._now_text()
            meta["version"] = self._next_version()
            record["meta"] = meta

    def delete(self, rtype: str, rid: str) -> None:
        """Remove a resource, and remove it from every group it belonged to (its memberships end with it)."""
        with self.lock:
            record = self._resources[rtype].pop(rid)
            self._type_of.pop(rid, None)
            self._position.pop(rid, None)
            for index in self._indexes[rtype].values():
                index.remove(rid, record)
            for gid in self._groups_of.pop(rid, set()):
                group = self._resources["Group"].get(gid)
                if group is not None and rid in group["members"]:
                    del group["members"][rid]
                    self.touch("Group", gid)
            if rtype == "Group":
                for member in record["members"]:
                    groups = self._groups_of.get(member)
                    if groups is not None:
                        groups.discard(rid)
                        if not groups:
                            del self._groups_of[member]

    def clear(self) -> None:
        with self.lock:
            for name in self._resources:
                self._resources[name].clear()
                for index in self._indexes[name].values():
                    index._map.clear()
            self._type_of.clear()
            self._groups_of.clear()
            self._position.clear()

    # ---------------------------------------------------------------- export / import

    def export_state(self) -> dict[str, Any]:
        """The whole state as JSON-able data (members as lists), for snapshots and diffing."""
        with self.lock:
            resources: dict[str, list[dict[str, Any]]] = {}
            for name, records in self._resources.items():
                out = []
                for record in records.values():
                    item = dict(record)
                    if name == "Group":
                        item["members"] = list(record["members"].values())
                    out.append(item)
                resources[name] = out
            return {"format": STATE_FORMAT, "version": STATE_VERSION, "sequence": self._sequence,
                    "resources": resources}

    def import_state(self, state: Any, validate: Callable[[str, dict[str, Any]], None] | None = None) -> dict[str, int]:
        """Replace the whole state with an export; all-or-nothing. Returns the counts loaded per type."""
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise StateError(f"not an entrasim SCIM state: expected \"format\": \"{STATE_FORMAT}\"")
        if state.get("version") != STATE_VERSION:
            raise StateError(f"unsupported state version {state.get('version')!r}; this server reads version {STATE_VERSION}")
        sequence = state.get("sequence", 0)
        if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
            raise StateError("'sequence' must be a whole number")
        resources = state.get("resources")
        if not isinstance(resources, dict):
            raise StateError("'resources' must map resource types to lists of resources")
        staged: list[tuple[str, dict[str, Any]]] = []
        seen: set[str] = set()
        for name, items in resources.items():
            if name not in self._resources:
                raise StateError(f"unknown resource type '{name}' (known: {', '.join(self._resources)})")
            if not isinstance(items, list):
                raise StateError(f"resources.{name} must be a list")
            for i, item in enumerate(items):
                if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("meta"), dict):
                    raise StateError(f"resources.{name}[{i}] needs an 'id' and a 'meta' object")
                if item["id"] in seen:
                    raise StateError(f"resources.{name}[{i}]: id '{item['id']}' appears twice")
                meta = item["meta"]
                for key in ("created", "lastModified", "version"):
                    if not isinstance(meta.get(key), str):
                        raise StateError(f"resources.{name}[{i}].meta.{key} must be a string")
                members = item.get("members")
                if name == "Group" and members is not None and (not isinstance(members, list) or not all(
                        isinstance(m, dict) and isinstance(m.get("value"), str) for m in members)):
                    raise StateError(f"resources.{name}[{i}].members must be a list of objects with a 'value'")
                seen.add(item["id"])
                if validate is not None:
                    validate(name, item)
                staged.append((name, item))
        with self.lock:
            self.clear()
            for name, item in staged:
                record = dict(item)
                if name == "Group":
                    record["members"] = self._members_dict(item.get("members"))
                self._resources[name][record["id"]] = record
                self._type_of[record["id"]] = name
                self._place(record["id"])
                for index in self._indexes[name].values():
                    index.add(record["id"], record)
                if name == "Group":
                    for member in record["members"]:
                        self._groups_of.setdefault(member, set()).add(record["id"])
            versions = [int(m.group(1)) for _, item in staged
                        if (m := re.fullmatch(r'W/"(\d+)"', item["meta"]["version"])) is not None]
            self._sequence = max([sequence, self._sequence, *versions])
            return {name: len(records) for name, records in self._resources.items()}
