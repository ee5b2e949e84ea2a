"""Delta queries: ``GET /v1.0/users/delta`` and ``GET /v1.0/groups/delta``.

A *round* of change tracking is a chain of pages linked by ``@odata.nextLink``
(``$skiptoken``) that ends with an ``@odata.deltaLink`` (``$deltatoken``). The
first round returns every current object; a round started from a deltaLink
returns only what changed since, read from the tenant's change journal:

- changed objects come back with the current values of the tracked properties
  (``$select``, or the defaults), or only the changed ones with
  ``Prefer: return=minimal``;
- a soft-deleted user is ``{"id", "@removed": {"reason": "changed"}}`` (it can
  come back when restored), a purged user or deleted group ``"reason": "deleted"``;
- ``manager@delta`` (users, when ``manager`` is selected) and ``members@delta``
  (groups, by default or with ``members`` selected / ``$expand=members``) carry
  relationship changes, removed members with ``"@removed": {"reason": "deleted"}``;
  a big group's members are split across pages, the group object repeated.

A page holds at most ``Prefer: odata.maxpagesize`` objects (100 by default) and
ten times as many member references; a group whose members do not fit ends the
page and continues, repeated, on the next one.

Tokens are stateless and opaque: base64url JSON (journal sequence numbers, the
tracked properties, the position in the round, the simulated time the round
started) followed by an HMAC, so a garbled or tampered token is refused rather
than misread. A token older than 7 days of simulated time answers 410 Gone with
``syncStateNotFound`` and a ``Location`` header holding a fresh initial query:
Graph documents both the expired-token code and the 410 resync; this does both.

Objects are walked in id order, so a page position is just "the next id", which
stays valid when objects are added or removed between pages.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from typing import Any, Callable, Iterable
from urllib.parse import quote

from flask import Blueprint, Response, current_app, request

from ..tenant import Group, Tenant, User
from .api import GROUP_READ, USER_READ, Endpoint, install_gateway
from .context import ctx
from .errors import (
    DeltaQueryOptionNotSupported,
    InvalidDeltaToken,
    SyncStateNotFound,
    UnsupportedQuery,
)
from .odata import QueryArgs, filter_ids, parse_select
from .resources import METADATA, json_response
from .serialize import GROUP_DEFAULT, USER_DEFAULT, to_json

bp = Blueprint("graph_delta", __name__)

#: Objects per page unless ``Prefer: odata.maxpagesize`` asks otherwise (as Graph's delta pages).
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999
#: members@delta entries a page may carry, per object the page may carry.
MEMBERS_PER_OBJECT_SLOT = 10
#: Directory delta tokens stop working after this much (simulated) time.
TOKEN_LIFETIME = timedelta(days=7)
#: ``$filter=id eq … or id eq …`` may name at most this many objects.
MAX_FILTERED_IDS = 50
USER_TYPE = "#microsoft.graph.user"
GROUP_TYPE = "#microsoft.graph.group"


install_gateway(bp, {"users_delta": Endpoint(needs=(USER_READ,)), "groups_delta": Endpoint(needs=(GROUP_READ,))})


def register(app: Any) -> None:
    """Mount the delta routes under /v1.0 (app.py calls this next to the main Graph blueprint)."""
    app.register_blueprint(bp, url_prefix="/v1.0")


# =====================================================================  tokens
@dataclass
class RoundState:
    """Everything a delta or skip token carries; nothing is kept on the server."""

    kind: str  # "user" | "group"
    tenant: str
    #: report journal changes with a sequence number above this (ignored in the initial round).
    since: int
    #: ... and up to this one: the journal's end when the round started; the next round's ``since``.
    until: int
    initial: bool
    #: tracked properties (None: the type's defaults).
    select: list[str] | None
    #: track manager@delta (users) or members@delta (groups).
    relationship: bool
    ids: list[str] | None = None
    #: simulated time (POSIX seconds) the round started, for the 7-day lifetime.
    started: float = 0.0
    #: where the next page starts: first object id at or after ``pos``, and its first member to report.
    pos: str | None = None
    member_pos: int = 0
    page_size: int | None = None

    @property
    def resource(self) -> str:
        return "users" if self.kind == "user" else "groups"


def _signing_key(tenant: Tenant) -> bytes:
    """Per tenant and stable across restarts with the same tenant, so saved deltaLinks keep working."""
    return hashlib.sha256(b"entrasim delta tokens:" + tenant.id.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_token(state: RoundState, tenant: Tenant) -> str:
    payload = json.dumps({k: v for k, v in asdict(state).items() if v not in (None, 0, 0.0) or k in ("since", "until")},
                         separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(_signing_key(tenant), payload, hashlib.sha256).digest()[:18]
    return f"{_b64(payload)}.{_b64(mac)}"


def decode_token(token: str, tenant: Tenant, kind: str, parameter: str) -> RoundState:
    """The state in ``token``; InvalidDeltaToken unless it is intact and was issued for this resource."""
    try:
        body, _, mac = token.strip().partition(".")
        payload = _unb64(body)
        expected = hmac.new(_signing_key(tenant), payload, hashlib.sha256).digest()[:18]
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise ValueError("signature")
        data = json.loads(payload)
        state = RoundState(**{"since": 0, "until": 0, "initial": False, "select": None, "relationship": False, **data})
    except (ValueError, TypeError, json.JSONDecodeError):
        raise InvalidDeltaToken(parameter) from None
    if state.kind != kind or state.tenant != tenant.id or state.until > tenant.journal.last_seq:
        raise InvalidDeltaToken(parameter)
    return state


# =====================================================================  routes
DELTA_PATHS = ("delta", "delta()", "microsoft.graph.delta", "microsoft.graph.delta()")


def _routes(resource: str, view: Callable[[], Response], name: str) -> None:
    for tail in DELTA_PATHS:
        bp.add_url_rule(f"/{resource}/{tail}", endpoint=name, view_func=view, methods=["GET"], strict_slashes=False)


def users_delta() -> Response:
    return _serve("user")


def groups_delta() -> Response:
    return _serve("group")


_routes("users", users_delta, "users_delta")
_routes("groups", groups_delta, "groups_delta")


# =====================================================================  request handling
@dataclass
class Preferences:
    page_size: int | None = None
    minimal: bool = False
    applied: list[str] = field(default_factory=list)


def _preferences() -> Preferences:
    """``Prefer: odata.maxpagesize=N`` and ``Prefer: return=minimal`` (several may share a header)."""
    prefs = Preferences()
    for header in request.headers.getlist("Prefer"):
        for item in header.split(","):
            key, _, value = item.strip().partition("=")
            key, value = key.strip().lower(), value.strip().strip('"')
            if key == "odata.maxpagesize" and value.isdigit() and int(value) > 0:
                prefs.page_size = min(int(value), MAX_PAGE_SIZE)
                prefs.applied.append(f"odata.maxpagesize={prefs.page_size}")
            elif key == "return" and value.lower() == "minimal":
                prefs.minimal = True
                prefs.applied.append("return=minimal")
    return prefs


def _serve(kind: str) -> Response:
    tenant = ctx().tenant
    args = QueryArgs(request.args)
    prefs = _preferences()
    resource = "users" if kind == "user" else "groups"
    skiptoken, deltatoken = args.get("$skiptoken"), args.get("$deltatoken")
    if skiptoken is not None:
        state = _check_age(decode_token(skiptoken, tenant, kind, "$skiptoken"), tenant)
    elif deltatoken is not None and deltatoken.strip().lower() == "latest":
        state = _initial_state(kind, args, tenant)
        state = replace(state, initial=False, since=state.until)
        return _respond(state, [], None, prefs, tenant, deltalink_only=True)
    elif deltatoken is not None:
        previous = _check_age(decode_token(deltatoken, tenant, kind, "$deltatoken"), tenant)
        with tenant.lock:
            state = replace(previous, initial=False, until=tenant.journal.last_seq, pos=None, member_pos=0,
                            started=tenant.clock.timestamp())
    else:
        state = _initial_state(kind, args, tenant)
    if prefs.page_size is not None:
        state.page_size = prefs.page_size
    page_size = state.page_size or ctx().config.default_page_size or DEFAULT_PAGE_SIZE
    with tenant.lock:
        builder = _PageBuilder(tenant, state, prefs.minimal)
        items, next_state = builder.page(page_size)
    return _respond(state, items, next_state, prefs, tenant, resource=resource)


def _initial_state(kind: str, args: QueryArgs, tenant: Tenant) -> RoundState:
    """Validate the options of an initial delta request and describe its round."""
    resource = "users" if kind == "user" else "groups"
    for option in ("$top", "$orderby", "$search", "$count", "$skip"):
        if args.get(option) is not None:
            raise DeltaQueryOptionNotSupported(option, resource)
    relationship = kind == "group"  # groups track members unless $select leaves them out
    select: list[str] | None = None
    raw_select = args.get("$select")
    navigation = "manager" if kind == "user" else "members"
    if raw_select is not None and raw_select.strip():
        names = [n.strip() for n in raw_select.split(",")]
        relationship = any(n.lower() == navigation.lower() for n in names)
        rest = ",".join(n for n in names if n.lower() != navigation.lower())
        select = parse_select(rest, kind) if rest.strip() else ["id"]
    raw_expand = args.get("$expand")
    if raw_expand is not None and raw_expand.strip():
        if kind == "group" and raw_expand.strip().lower() == "members":
            relationship = True
        else:
            raise DeltaQueryOptionNotSupported("$expand", resource)
    ids = None
    raw_filter = args.get("$filter")
    if raw_filter is not None and raw_filter.strip():
        ids = filter_ids(raw_filter)
        if len(ids) > MAX_FILTERED_IDS:
            raise UnsupportedQuery(f"Unsupported Query. A delta $filter may name at most {MAX_FILTERED_IDS} objects.")
    with tenant.lock:
        return RoundState(kind=kind, tenant=tenant.id, since=0, until=tenant.journal.last_seq, initial=True,
                          select=select, relationship=relationship, ids=ids, started=tenant.clock.timestamp())


def _check_age(state: RoundState, tenant: Tenant) -> RoundState:
    if tenant.clock.timestamp() - state.started > TOKEN_LIFETIME.total_seconds():
        raise SyncStateNotFound(_fresh_query_url(state))
    return state


def _base_url(resource: str) -> str:
    """Absolute URL of this resource's delta function on the server the client reached."""
    return f"{request.host_url.rstrip('/')}{request.script_root}/v1.0/{resource}/delta"


def _fresh_query_url(state: RoundState) -> str:
    params = []
    names = list(state.select or [])
    if state.relationship and state.select is not None:
        names.append("manager" if state.kind == "user" else "members")
    if names:
        params.append("$select=" + ",".join(names))
    if state.ids:
        params.append("$filter=" + quote(" or ".join(f"id eq '{i}'" for i in state.ids), safe="'="))
    url = _base_url(state.resource)
    return url + ("?" + "&".join(params) if params else "")


def _respond(state: RoundState, items: list[dict], next_state: RoundState | None, prefs: Preferences,
             tenant: Tenant, *, resource: str | None = None, deltalink_only: bool = False) -> Response:
    resource = resource or state.resource
    context = f"{METADATA}#{resource}"
    if state.select:
        context += f"({','.join(state.select)})"
    body: dict[str, Any] = {"@odata.context": context}
    if next_state is not None:
        body["@odata.nextLink"] = f"{_base_url(resource)}?$skiptoken={encode_token(next_state, tenant)}"
    else:
        done = replace(state, initial=False, since=state.until, pos=None, member_pos=0,
                       started=tenant.clock.timestamp())
        body["@odata.deltaLink"] = f"{_base_url(resource)}?$deltatoken={encode_token(done, tenant)}"
    body["value"] = [] if deltalink_only else items
    response = json_response(body)
    if prefs.applied:
        response.headers["Preference-Applied"] = ", ".join(prefs.applied)
    return response


# =====================================================================  building pages
@dataclass
class _Entry:
    """One object of a round: its JSON without relationships, and its relationship entries (or None)."""

    body: dict[str, Any]
    related: list[dict[str, Any]] | None = None


class _PageBuilder:
    """Computes the objects of a round (all of them, or the changed ones) and cuts one page out of them."""

    def __init__(self, tenant: Tenant, state: RoundState, minimal: bool):
        self.tenant = tenant
        self.state = state
        self.minimal = minimal and not state.initial
        defaults = USER_DEFAULT if state.kind == "user" else GROUP_DEFAULT
        self.tracked = set(state.select or defaults) - {"id"}
        self.changes: dict[str, _Changes] = {}
        #: groups deleted during the round: still groups when they appear as removed members.
        self.deleted_groups: set[str] = set()

    # -- which objects
    def object_ids(self) -> list[str]:
        state, tenant = self.state, self.tenant
        if state.initial:
            pool = tenant.users if state.kind == "user" else tenant.groups
            ids = _sorted_ids(tenant, state.kind, pool)
        else:
            self.changes, self.deleted_groups = _collect_changes(tenant, state, self.tracked)
            ids = sorted(self.changes)
        if state.ids is not None:
            wanted = set(state.ids)
            ids = [i for i in ids if i in wanted]
        return ids

    def page(self, page_size: int) -> tuple[list[dict], RoundState | None]:
        ids = self.object_ids()
        i = bisect.bisect_left(ids, self.state.pos) if self.state.pos else 0
        member_pos = self.state.member_pos
        budget = page_size * MEMBERS_PER_OBJECT_SLOT
        items: list[dict] = []
        while i < len(ids) and len(items) < page_size:
            entry = self.entry(ids[i])
            if entry is None:
                i, member_pos = i + 1, 0
                continue
            if entry.related is None:
                items.append(entry.body)
                i, member_pos = i + 1, 0
                continue
            remaining = entry.related[member_pos:]
            if not remaining:
                if member_pos == 0:
                    items.append(entry.body)
                i, member_pos = i + 1, 0
                continue
            if budget <= 0:
                break
            take = remaining[:budget]
            body = dict(entry.body)
            body[self.relationship_key] = take
            items.append(body)
            budget -= len(take)
            if len(take) < len(remaining):
                member_pos += len(take)
                break
            i, member_pos = i + 1, 0
        if i >= len(ids):
            return items, None
        return items, replace(self.state, pos=ids[i], member_pos=member_pos)

    @property
    def relationship_key(self) -> str:
        return "manager@delta" if self.state.kind == "user" else "members@delta"

    # -- one object
    def entry(self, object_id: str) -> _Entry | None:
        if self.state.kind == "user":
            return self.user_entry(object_id)
        return self.group_entry(object_id)

    def properties(self, obj: User | Group, change: "_Changes | None") -> dict[str, Any]:
        full = to_json(obj, self.state.select)
        if not self.minimal or change is None or change.whole:
            return full
        changed = change.attributes & self.tracked
        return {k: v for k, v in full.items() if k == "id" or k in changed}

    def user_entry(self, user_id: str) -> _Entry | None:
        tenant = self.tenant
        change = self.changes.get(user_id)
        user = tenant.users.get(user_id)
        if user is None:
            if self.state.initial:
                return None
            reason = "changed" if user_id in tenant.deleted_users else "deleted"
            return _Entry({"id": user_id, "@removed": {"reason": reason}})
        body = self.properties(user, change)
        related = None
        if self.state.relationship:
            if self.state.initial or (change is not None and change.whole):
                related = [{"@odata.type": USER_TYPE, "id": user.managerId}] if user.managerId else []
            elif change is not None and change.manager is not None:
                old, new = change.manager
                if new is not None:
                    related = [{"@odata.type": USER_TYPE, "id": new}]
                elif old is not None:
                    related = [{"@odata.type": USER_TYPE, "id": old, "@removed": {"reason": "deleted"}}]
        return _Entry(body, related)

    def group_entry(self, group_id: str) -> _Entry | None:
        tenant = self.tenant
        change = self.changes.get(group_id)
        group = tenant.groups.get(group_id)
        if group is None:
            if self.state.initial:
                return None
            return _Entry({"id": group_id, "@removed": {"reason": "deleted"}})
        body = self.properties(group, change)
        related = None
        if self.state.relationship:
            if self.state.initial or (change is not None and change.whole):
                related = [{"@odata.type": self.member_type(m), "id": m} for m in tenant.member_ids(group_id)]
            elif change is not None and change.members:
                related = []
                for member_id, added in change.members.items():
                    item = {"@odata.type": self.member_type(member_id), "id": member_id}
                    if not added:
                        item["@removed"] = {"reason": "deleted"}
                    related.append(item)
        return _Entry(body, related)

    def member_type(self, object_id: str) -> str:
        return GROUP_TYPE if object_id in self.tenant.groups or object_id in self.deleted_groups else USER_TYPE


def _sorted_ids(tenant: Tenant, kind: str, pool: dict[str, Any]) -> list[str]:
    """All ids of ``pool`` in order, cached per journal position (pages of one round share one sort)."""
    cache = current_app.extensions.setdefault("entrasim.graph.delta_ids", {})
    key = (kind, tenant.journal.last_seq, len(pool))
    cached = cache.get(kind)
    if cached is not None and cached[0] == key:
        return cached[1]
    ids = sorted(pool)
    cache[kind] = (key, ids)
    return ids


# =====================================================================  reading the journal
@dataclass
class _Changes:
    """What happened to one object during a round."""

    #: created or restored: report it whole (all tracked properties, all relationships).
    whole: bool = False
    attributes: set[str] = field(default_factory=set)
    #: (old, new) manager id, first old and last new.
    manager: tuple[str | None, str | None] | None = None
    #: member id -> True (added) / False (removed), the last action wins.
    members: dict[str, bool] = field(default_factory=dict)
    #: deleted, soft-deleted, purged: always reported.
    removed: bool = False


def _collect_changes(tenant: Tenant, state: RoundState, tracked: set[str]) -> tuple[dict[str, _Changes], set[str]]:
    """The objects of kind ``state.kind`` a client tracking ``tracked`` must hear about, with what changed.

    Also returns the ids of groups deleted in the round (a deleted nested group is
    still reported as a removed *group* member of its parents).
    """
    kinds = ("user",) if state.kind == "user" else ("group", "user")
    entries = [c for c in tenant.journal.since(state.since, kinds) if c.seq <= state.until]
    out: dict[str, _Changes] = {}
    deleted_groups: set[str] = set()

    def of(object_id: str) -> _Changes:
        return out.setdefault(object_id, _Changes())

    for change in entries:
        if change.kind == state.kind:
            if change.action in ("created", "restored"):
                of(change.object_id).whole = True
            elif change.action in ("softDeleted", "purged", "deleted"):
                of(change.object_id).removed = True
                if change.kind == "group":
                    deleted_groups.add(change.object_id)
            elif change.action == "updated":
                relevant = set(change.changes) & tracked
                manager = change.changes.get("managerId")
                if manager is not None and state.relationship and state.kind == "user":
                    entry = of(change.object_id)
                    entry.manager = (entry.manager[0] if entry.manager else manager[0], manager[1])
                if relevant:
                    of(change.object_id).attributes |= relevant
            elif change.action in ("memberAdded", "memberRemoved") and state.relationship and change.member_id:
                of(change.object_id).members[change.member_id] = change.action == "memberAdded"
        elif state.kind == "group" and state.relationship and change.action in ("softDeleted", "restored"):
            # A soft-deleted user drops out of its groups' member lists (and returns when restored),
            # without a membership entry of its own in the journal.
            for group in _groups_holding(tenant, change.object_id):
                of(group).members[change.object_id] = change.action == "restored"
    changed = {k: v for k, v in out.items() if v.whole or v.removed or v.attributes or v.members or v.manager}
    return changed, deleted_groups


def _groups_holding(tenant: Tenant, member_id: str) -> Iterable[str]:
    return [g.id for g in tenant.groups.values() if member_id in g.members]
