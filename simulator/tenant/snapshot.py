"""Tenant snapshots: the whole tenant as one JSON document, and back.

A snapshot is a *test fixture*: it holds everything needed to bring the same
tenant back in another process, including the client secrets' values (a test
must be able to get a token with them), the clock, the change journal and the
state of the tenant's seeded random generator, so that ids and secrets created
after loading continue exactly as they would have in the saving process. Treat
snapshot files like any file holding credentials of a test environment; ``save``
writes them readable by their owner only.

Layout (version 1), one JSON object whose members come in this order::

    {"format": "entrasim-tenant", "version": 1,
     "tenant": {"id", "displayName", "domains", "createdDateTime", "seed"},
     "clock": {"now", "frozen"}, "rng": [...],
     "users": [...], "deletedUsers": [...], "groups": [...],
     "applications": [...], "servicePrincipals": [...], "assignments": [...],
     "journal": [...]}

Users and groups use Graph's property names. Every property is written, null
when unset, as Graph itself returns them; when loading, a missing property takes
its default, so a hand-written fixture can be short. Times are ISO 8601 in UTC
with a ``Z``.

Large directories: ``save`` streams, writing each user, group and journal entry
on its own line, and ``load`` reads a file in that layout line by line, so
neither holds a second copy of a million-user directory in memory. Any other
layout of the same JSON (pretty-printed, reordered by a tool) is still loaded,
by parsing the whole document at once. ``save`` writes gzip when the path ends
with ``.gz`` (level 3: about twice as fast as level 6 for a 10 % larger file;
``load`` recognises gzip by its content) and writes atomically (a
temporary file renamed into place), so a failed save never leaves half a
snapshot behind.
"""

from __future__ import annotations

import functools
import gc
import gzip
import io
import os
import sys
import tempfile
import zlib
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

import orjson

from ..clock import Clock
from .errors import TenantError
from .journal import Change
from .model import (
    AppAssignment,
    Application,
    Group,
    KeyCredential,
    PasswordCredential,
    ServicePrincipal,
    Tenant,
    User,
)

FORMAT = "entrasim-tenant"
VERSION = 1
#: top-level members in document order; the large ones are written one entry per line.
SECTIONS = ("format", "version", "tenant", "clock", "rng", "users", "deletedUsers", "groups", "applications",
            "servicePrincipals", "assignments", "journal")
_STREAMED = frozenset({"users", "deletedUsers", "groups", "journal"})
_CHUNK = 10_000
_BUFFER = 1 << 20
#: user properties with few distinct values: loaded users share one string object per value.
_INTERNED = ("givenName", "surname", "jobTitle", "department", "companyName", "officeLocation",
             "preferredLanguage", "country", "usageLocation", "userType")


# ------------------------------------------------------------------- times
def _ts(dt: datetime) -> str:
    """ISO 8601 in UTC with ``Z``; fractions of a second only when there are some."""
    if dt.tzinfo is not timezone.utc:
        dt = dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
    return dt.isoformat()[:-6] + "Z"


def _parse_ts(text: Any) -> datetime:
    if not isinstance(text, str):
        raise ValueError(f"expected an ISO 8601 time, got {text!r}")
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone")
    return dt if dt.tzinfo is timezone.utc else dt.astimezone(timezone.utc)


# -------------------------------------------------------- dataclass codecs
#: orjson writes dataclasses (users, credentials...) itself, a few times faster than building dicts first.
_DUMP_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


class _Codec:
    """Rebuilds one dataclass (User, Group, credentials...) from its JSON object.

    Built from the dataclass's own fields, so a property added to the model is
    loaded without touching this module. An object with every property in
    declaration order (what ``save`` writes) takes a positional fast path; any
    other object (sparse, reordered) is matched by name, missing ones taking
    their defaults.
    """

    def __init__(self, cls: type, nested: dict[str, "_Codec"] | None = None, interned: tuple[str, ...] = ()):
        self.cls = cls
        self.nested = nested or {}
        self.names = tuple(f.name for f in fields(cls))
        self.name_set = frozenset(self.names)
        self.datetimes = tuple(f.name for f in fields(cls) if "datetime" in str(f.type))
        self.interned = interned
        position = {name: index for index, name in enumerate(self.names)}
        self._time_positions = tuple(position[name] for name in self.datetimes)
        self._nested_positions = tuple((position[name], codec) for name, codec in self.nested.items())
        self._interned_positions = tuple(position[name] for name in interned)

    def decode(self, data: Any, **extra: Any) -> Any:
        if type(data) is not dict:
            raise ValueError(f"a {self.cls.__name__} must be a JSON object, got {type(data).__name__}")
        if not extra and tuple(data) == self.names:
            return self._decode_positional(list(data.values()))
        if not data.keys() <= self.name_set:
            unknown = sorted(set(data) - self.name_set)
            raise ValueError(f"unknown {self.cls.__name__} propert{'ies' if len(unknown) > 1 else 'y'} "
                             f"{', '.join(repr(u) for u in unknown)}")
        kwargs = dict(data)
        for name in self.datetimes:
            value = kwargs.get(name)
            if value is not None:
                kwargs[name] = _parse_ts(value)
        for name, codec in self.nested.items():
            if kwargs.get(name) is not None:
                kwargs[name] = [codec.decode(item) for item in _list(kwargs[name], name)]
        for name in self.interned:
            value = kwargs.get(name)
            if type(value) is str:
                kwargs[name] = sys.intern(value)
        kwargs.update(extra)
        return self.cls(**kwargs)

    def _decode_positional(self, values: list[Any]) -> Any:
        for index in self._time_positions:
            if values[index] is not None:
                values[index] = _parse_ts(values[index])
        for index, codec in self._nested_positions:
            if values[index] is not None:
                values[index] = [codec.decode(item) for item in _list(values[index], self.names[index])]
        for index in self._interned_positions:
            if type(values[index]) is str:
                values[index] = sys.intern(values[index])
        return self.cls(*values)


def _list(value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise ValueError(f"'{what}' must be a JSON array, got {type(value).__name__}")
    return value


_USER = _Codec(User, interned=_INTERNED)
_GROUP = _Codec(Group)
_APPLICATION = _Codec(Application, nested={"passwordCredentials": _Codec(PasswordCredential),
                                           "keyCredentials": _Codec(KeyCredential)})
_SERVICE_PRINCIPAL = _Codec(ServicePrincipal)
_ASSIGNMENT = _Codec(AppAssignment)
_GROUP_PROPERTIES = tuple(name for name in _GROUP.names if name != "members")


def _encode_group(group: Group) -> dict[str, Any]:
    """A group's properties, with its members as an ordered list of ids."""
    out = {name: getattr(group, name) for name in _GROUP_PROPERTIES}
    out["members"] = list(group.members)
    return out


def _decode_group(data: Any, users: dict[str, User] | None = None) -> Group:
    """A group; member ids of ``users`` become those users' own id strings (one object per id)."""
    if type(data) is not dict:
        raise ValueError(f"a Group must be a JSON object, got {type(data).__name__}")
    data = dict(data)
    users = users or {}
    members: dict[str, None] = {}
    for member in _list(data.pop("members", []), "members"):
        if type(member) is not str:
            raise ValueError(f"group members must be object ids (strings), found {member!r}")
        user = users.get(member)
        members[member if user is None else user.id] = None
    return _GROUP.decode(data, members=members)


# --------------------------------------------------------- journal values
def _plain(value: Any) -> Any:
    """A journal value as JSON: datetimes are tagged so that they come back as datetimes."""
    if isinstance(value, datetime):
        return {"$datetime": _ts(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _unplain(value: Any) -> Any:
    if isinstance(value, list):
        return [_unplain(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"$datetime"}:
            return _parse_ts(value["$datetime"])
        return {k: _unplain(v) for k, v in value.items()}
    return value


def _encode_change(change: Change) -> dict[str, Any]:
    out: dict[str, Any] = {"seq": change.seq, "at": _ts(change.at), "kind": change.kind,
                           "objectId": change.object_id, "action": change.action}
    if change.changes:
        out["changes"] = {k: _plain(v) for k, v in change.changes.items()}
    if change.member_id is not None:
        out["memberId"] = change.member_id
    return out


# ------------------------------------------------------------------ to dict
def _sections(tenant: Tenant) -> Iterator[tuple[str, Any]]:
    """(name, value) in document order; the large sections come as iterators. Values are what orjson writes."""
    version, internal, gauss = tenant._rng.getstate()
    values = {
        "format": FORMAT,
        "version": VERSION,
        "tenant": {"id": tenant.id, "displayName": tenant.displayName, "domains": list(tenant.domains),
                   "createdDateTime": _ts(tenant.createdDateTime), "seed": tenant.seed},
        "clock": {"now": _ts(tenant.clock.now()), "frozen": tenant.clock.is_frozen},
        "rng": [version, list(internal), gauss],
        "users": iter(tenant.users.values()),
        "deletedUsers": iter(tenant.deleted_users.values()),
        "groups": map(_encode_group, tenant.groups.values()),
        "applications": list(tenant.applications.values()),
        "servicePrincipals": list(tenant.service_principals.values()),
        "assignments": list(tenant.assignments.values()),
        "journal": map(_encode_change, tenant.journal.since(0)),
    }
    for name in SECTIONS:
        yield name, values[name]


def to_dict(tenant: Tenant) -> dict[str, Any]:
    """Exactly what ``save`` writes, parsed: plain JSON data, secret values included."""
    buffer = io.BytesIO()
    with tenant.lock:
        _stream(tenant, buffer.write)
    return orjson.loads(buffer.getvalue())


# ---------------------------------------------------------------- from dict
def check_header(data: Any) -> None:
    """Raise ValueError unless ``data`` starts like a version-1 entrasim tenant snapshot."""
    if not isinstance(data, dict):
        raise ValueError(f"not an entrasim tenant snapshot: expected a JSON object, found {type(data).__name__}")
    if "format" not in data:
        raise ValueError(f"not an entrasim tenant snapshot: the \"format\" field is missing (expected \"{FORMAT}\")")
    if data["format"] != FORMAT:
        raise ValueError(f"not an entrasim tenant snapshot: format is {data['format']!r}, expected \"{FORMAT}\"")
    if data.get("version") != VERSION:
        raise ValueError(f"unsupported entrasim tenant snapshot version {data.get('version')!r}; "
                         f"this entrasim reads version {VERSION}")


def from_dict(data: Any) -> Tenant:
    """Rebuild a tenant from ``to_dict``'s output (left untouched). Raises ValueError naming what is wrong."""
    check_header(data)
    return _build_or_explain(lambda name: data[name])


def _build_or_explain(section: Callable[[str], Any]) -> Tenant:
    # A million new objects would trigger many full garbage collections that find nothing to free.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build(section)
    except (KeyError, TypeError, AttributeError, TenantError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(f"malformed entrasim tenant snapshot: {detail}") from None
    except ValueError as exc:
        raise ValueError(f"malformed entrasim tenant snapshot: {exc}") from None
    finally:
        if collecting:
            gc.enable()


def _build(section: Callable[[str], Any]) -> Tenant:
    """Build a tenant from ``section(name)``, asked for in document order (a streamed file needs that)."""
    info, clock_data = section("tenant"), section("clock")
    domains = _list(info["domains"], "domains")
    if not domains or not all(isinstance(d, str) for d in domains):
        raise ValueError("'domains' must be a non-empty array of domain names")
    now = _parse_ts(clock_data["now"])
    clock = Clock.frozen_at(now) if clock_data["frozen"] else Clock(start=now)
    seed = info["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"'seed' must be an integer, got {seed!r}")
    tenant = Tenant(tenant_id=str(info["id"]), display_name=str(info["displayName"]), domain=domains[0],
                    clock=clock, seed=seed)
    tenant.domains = list(domains)
    tenant.createdDateTime = _parse_ts(info["createdDateTime"])
    version, internal, gauss = section("rng")
    tenant._rng.setstate((version, tuple(_list(internal, "rng")), gauss))

    for chunk in _chunks(map(_USER.decode, _entries(section("users"), "users")), _CHUNK):
        _share_strings(chunk, tenant.users)
        tenant.bulk_load_users(chunk)
    deleted = list(map(_USER.decode, _entries(section("deletedUsers"), "deletedUsers")))
    if any(u.deletedDateTime is None for u in deleted):
        raise ValueError("every entry of 'deletedUsers' needs a deletedDateTime")
    _share_strings(deleted, tenant.users)
    tenant.bulk_load_users(deleted)
    known = {**tenant.users, **tenant.deleted_users} if tenant.deleted_users else tenant.users
    tenant.bulk_load_groups([_decode_group(g, known) for g in _entries(section("groups"), "groups")])

    for app in map(_APPLICATION.decode, _list(section("applications"), "applications")):
        if app.appId in tenant.applications:
            raise ValueError(f"application {app.appId} appears twice")
        tenant.applications[app.appId] = app
    for sp in map(_SERVICE_PRINCIPAL.decode, _list(section("servicePrincipals"), "servicePrincipals")):
        tenant.service_principals[sp.appId] = sp
    for assignment in map(_ASSIGNMENT.decode, _list(section("assignments"), "assignments")):
        tenant.assignments[assignment.principalId] = assignment

    for entry in _entries(section("journal"), "journal"):
        if type(entry) is not dict:
            raise ValueError("journal entries must be JSON objects")
        changes = {k: _unplain(v) for k, v in entry.get("changes", {}).items()}
        change = tenant.journal.append(_parse_ts(entry["at"]), entry["kind"], entry["objectId"], entry["action"],
                                       changes, entry.get("memberId"))
        if change.seq != entry["seq"]:
            raise ValueError(f"journal entries must be numbered 1, 2, 3...; found {entry['seq']!r} at position {change.seq}")
    return tenant


def _share_strings(users: list[User], loaded: dict[str, User]) -> None:
    """Point equal strings at one object, as in the tenant that was saved: a parsed file has a
    separate copy of every value, and at a million users the copies cost hundreds of megabytes."""
    for user in users:
        if user.mail == user.userPrincipalName:
            user.mail = user.userPrincipalName
        manager = loaded.get(user.managerId) if user.managerId else None
        if manager is not None:
            user.managerId = manager.id


def _entries(value: Any, what: str) -> Iterable[Any]:
    """A large section's entries: a parsed list, or an iterator over the lines of a streamed file."""
    return value if isinstance(value, Iterator) else _list(value, what)


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ------------------------------------------------------------------- save
def _stream(tenant: Tenant, write: Callable[[bytes], Any]) -> None:
    """Write the document in the line layout ``load`` streams: large sections one entry per line."""
    dumps = functools.partial(orjson.dumps, option=_DUMP_OPTIONS)
    write(b"{\n")
    for position, (name, value) in enumerate(_sections(tenant)):
        write((b",\n" if position else b"") + dumps(name) + b":")
        if name not in _STREAMED:
            write(dumps(value))
            continue
        # Entry by entry into a buffered writer: joining large chunks first would fragment the heap
        # and leave hundreds of megabytes resident after saving a million users.
        write(b"[")
        separator = b"\n"
        for entry in value:
            write(separator)
            write(dumps(entry))
            separator = b",\n"
        write(b"]" if separator == b"\n" else b"\n]")
    write(b"\n}\n")


def save(tenant: Tenant, path: str | os.PathLike[str]) -> None:
    """Write ``tenant`` to ``path`` (gzip when it ends with ``.gz``); raises OSError when it cannot.

    The same tenant state always gives the same bytes (the gzip header carries no
    time or name), so snapshots can be compared and committed as fixtures.
    """
    target = Path(path)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb", buffering=_BUFFER) as raw:
            if target.name.endswith(".gz"):
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=3) as packed, \
                        io.BufferedWriter(packed, buffer_size=_BUFFER) as buffered, tenant.lock:  # type: ignore[arg-type]
                    _stream(tenant, buffered.write)
            else:
                with tenant.lock:
                    _stream(tenant, raw.write)
        os.replace(temp_name, target)
    except BaseException:
        try:
            os.unlink(temp_name)
        except OSError:
            pass
        raise


# ------------------------------------------------------------------- load
class _NotStreamable(Exception):
    """The file is not in ``save``'s line layout (or not JSON at all): parse it whole instead."""


class _LineSections:
    """Reads a file in ``save``'s layout section by section; large sections are yielded entry by entry."""

    def __init__(self, lines: Iterator[bytes]):
        self._lines = lines
        self._pending: Iterator[Any] | None = None
        if next(self._lines, b"").strip() != b"{":
            raise _NotStreamable

    def __call__(self, name: str) -> Any:
        if self._pending is not None:  # the previous large section must be fully read first
            for _ in self._pending:
                pass
        line = self._next_line()
        key, colon, value = line.partition(b":")
        if not colon or _loads(key) != name:
            raise _NotStreamable
        if value == b"[":
            self._pending = self._entries()
            return self._pending
        self._pending = None
        return _loads(value)

    def finish(self) -> None:
        if self._pending is not None:
            for _ in self._pending:
                pass
        if next(self._lines, b"").strip() != b"}" or any(line.strip() for line in self._lines):
            raise _NotStreamable

    def _next_line(self) -> bytes:
        line = next(self._lines, None)
        if line is None:
            raise _NotStreamable  # truncated
        line = line.rstrip(b"\r\n")
        return line[:-1] if line.endswith(b",") else line

    def _entries(self) -> Iterator[Any]:
        while True:
            line = self._next_line()
            if line == b"]":
                return
            yield _loads(line)


def _loads(text: bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _NotStreamable from None


def _open(path: str | os.PathLike[str]) -> IO[bytes]:
    """The file's bytes, decompressed when its content is gzip (whatever its name)."""
    with open(path, "rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if compressed else open(path, "rb")  # type: ignore[return-value]


def load(path: str | os.PathLike[str]) -> Tenant:
    """Read a snapshot written by ``save``. Raises OSError when the file cannot be read and
    ValueError when it is not a valid entrasim tenant snapshot (bad gzip, bad JSON, wrong header)."""
    name = os.fspath(path)
    try:
        with _open(path) as handle:
            try:
                return _load_lines(iter(handle))
            except _NotStreamable:
                pass
        with _open(path) as handle:
            content = handle.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"{name} is not a valid gzip file: {exc or 'it ends early'}") from None
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{name} is not valid JSON: {exc}") from None
    del content
    return from_dict(data)


def _load_lines(lines: Iterator[bytes]) -> Tenant:
    """Load a file in ``save``'s own line layout without holding more than a few entries of it parsed."""
    section = _LineSections(lines)
    check_header({"format": section("format"), "version": section("version")})
    tenant = _build_or_explain(section)
    section.finish()
    return tenant
