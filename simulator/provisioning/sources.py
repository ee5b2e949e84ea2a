"""Where a provisioning job reads users and groups: one small interface, three sources.

``Source.read_all()`` reads the whole directory (an initial cycle);
``Source.read_changes(watermark)`` reads only what changed since a watermark (an
incremental cycle); ``Source.read_objects(users, groups)`` re-reads named objects
(escrowed ones retried). Each returns a ``SourceRead``: the current state of the
objects to process, the ids of objects gone for good, and the watermark to
persist once the cycle has exported them.

- ``TenantSource``: the in-process tenant model; changes come from its change
  journal, the watermark is a journal sequence number.
- ``SnapshotSource``: a tenant snapshot file (``entrasim seed -o``), re-read at
  every cycle; snapshots keep the journal, so a later snapshot of the same
  tenant gives an incremental cycle.
- ``GraphSource``: any Microsoft Graph endpoint (our mock, or a real tenant,
  read-only) through client credentials with msal. Users and groups are read with
  delta queries (``manager@delta``, ``members@delta``), and the watermark is the
  pair of deltaLinks, as Entra itself tracks changes. Which users and groups are
  assigned comes from the enterprise application's ``appRoleAssignedTo`` when the
  job names it (``servicePrincipalId``): assigned users, and direct members of
  assigned groups (Entra ignores nested groups for assignment). Without it every
  user and group counts as assigned; scoping filters still apply either way.

A watermark a source cannot continue from (another tenant's, a snapshot older
than the watermark, an expired deltaLink) raises ``WatermarkInvalid``: the engine
then runs an initial cycle, as Entra does after a restart.
"""

from __future__ import annotations

import hashlib
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests

from ..http_session import pinned_session
from ..retry_after import retry_after_seconds
from ..tenant.model import Group, Tenant, User
from .attributes import app_role_assignments
from .job import GraphSource as GraphSourceConfig
from .job import Job, SecretUnavailable

MICROSOFT_AUTHORITY_HOSTS = frozenset({"login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn",
                                       "login.chinacloudapi.cn", "login.windows.net", "login.microsoft.com", "sts.windows.net"})
ASSIGNED_EVERYONE = "Graph does not list this job's app assignments: every user and group counts as assigned"
ASSIGNMENT_PERMISSION_HINT = ("reading the enterprise application's assignments (source.servicePrincipalId) needs "
                              "Application.Read.All or Directory.Read.All")

#: user properties read from Graph (Graph's names; the mappings' names are translated by ``attributes``).
GRAPH_USER_PROPERTIES = ("id", "userPrincipalName", "displayName", "mail", "otherMails", "givenName", "surname",
                         "jobTitle", "department", "companyName", "employeeId", "officeLocation", "preferredLanguage",
                         "country", "usageLocation", "mailNickname", "mobilePhone", "businessPhones", "userType",
                         "accountEnabled")
GRAPH_GROUP_PROPERTIES = ("id", "displayName", "description", "mail", "mailNickname", "mailEnabled", "securityEnabled",
                          "groupTypes")
_USER_FIELDS = frozenset(f.name for f in fields(User))
_GROUP_FIELDS = frozenset(f.name for f in fields(Group)) - {"members"}


class SourceError(Exception):
    """The source cannot be read (file missing, Graph refusing the credentials...): one line for the user."""


class WatermarkInvalid(SourceError):
    """The watermark cannot be continued from; the engine runs an initial cycle instead."""


@dataclass
class SourceUser:
    """A user to process: the directory object, whether it is assigned to the app, whether it is soft-deleted."""

    user: User
    assigned: bool
    deleted: bool = False
    roles: tuple[dict, ...] = ()
    #: only the id is known (a user Graph reports as removed): just ``IsSoftDeleted`` can be computed.
    tombstone: bool = False
    #: source attributes (Entra's names) changed since the watermark, when the source can tell (the change
    #: journal); None otherwise. Only the optional Switch hazard (settings.quirks) reads it.
    changed: frozenset[str] | None = None

    @property
    def id(self) -> str:
        return self.user.id


@dataclass
class SourceGroup:
    """A group to process, with its direct members (users and groups; nested groups are not expanded)."""

    group: Group
    assigned: bool
    members: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.group.id


@dataclass
class SourceRead:
    """What one read returns: objects to process, objects gone for good, and the next watermark."""

    users: dict[str, SourceUser] = field(default_factory=dict)
    groups: dict[str, SourceGroup] = field(default_factory=dict)
    purged_users: set[str] = field(default_factory=set)
    deleted_groups: set[str] = field(default_factory=set)
    watermark: str | None = None
    full: bool = False

    def merge(self, other: SourceRead) -> None:
        """Add ``other``'s objects (re-read escrows) to this read; this read's watermark stays."""
        for uid, user in other.users.items():
            self.users.setdefault(uid, user)
        for gid, group in other.groups.items():
            self.groups.setdefault(gid, group)
        self.purged_users |= other.purged_users - set(self.users)
        self.deleted_groups |= other.deleted_groups - set(self.groups)


class Source(ABC):
    """The interface the cycle engine reads through."""

    kind: str = ""
    #: the directory's tenant id (logs, and the token Entra issues itself when the job has no secret token).
    tenant_id: str = ""
    notes: tuple[str, ...] = ()

    @abstractmethod
    def read_all(self) -> SourceRead:
        """Every user and group, and the watermark of that moment."""

    @abstractmethod
    def read_changes(self, watermark: str) -> SourceRead:
        """Objects changed since ``watermark``; raises ``WatermarkInvalid`` when it cannot tell."""

    @abstractmethod
    def read_objects(self, user_ids: Iterable[str], group_ids: Iterable[str]) -> SourceRead:
        """The current state of these objects (no watermark)."""

    def close(self) -> None:
        """Release connections; the default has none."""

    def describe(self) -> str:
        return self.kind


# ------------------------------------------------------------------ the tenant model

#: tenant model fields whose source attribute (as mappings name it) has another name
_SOURCE_NAME = {"id": "objectId", "officeLocation": "physicalDeliveryOfficeName", "mobilePhone": "mobile",
                "faxNumber": "facsimileTelephoneNumber", "businessPhones": "telephoneNumber", "managerId": "manager"}


class TenantSource(Source):
    """The in-process tenant model; the change journal says what changed."""

    kind = "tenant"

    def __init__(self, tenant: Tenant):
        self.tenant = tenant
        self.tenant_id = tenant.id

    def describe(self) -> str:
        return f"tenant {self.tenant.id}"

    def _watermark(self) -> str:
        return f"journal:{self.tenant.id}:{self.tenant.journal.last_seq}"

    def _parse(self, watermark: str) -> int:
        kind, _, rest = watermark.partition(":")
        tenant_id, _, seq = rest.rpartition(":")
        if kind != "journal" or not seq.isdigit():
            raise WatermarkInvalid(f"the watermark {watermark!r} is not a change-journal position")
        if tenant_id != self.tenant.id:
            raise WatermarkInvalid(f"the watermark belongs to tenant {tenant_id}, the source is tenant {self.tenant.id}")
        if int(seq) > self.tenant.journal.last_seq:
            raise WatermarkInvalid(f"the watermark (journal entry {seq}) is ahead of the source's journal "
                                   f"(entry {self.tenant.journal.last_seq}): an older copy of the tenant?")
        return int(seq)

    def read_all(self) -> SourceRead:
        tenant = self.tenant
        with tenant.lock:
            watermark = self._watermark()
            read = self.read_objects(list(tenant.users) + list(tenant.deleted_users), list(tenant.groups))
        read.watermark, read.full = watermark, True
        return read

    def read_changes(self, watermark: str) -> SourceRead:
        tenant = self.tenant
        with tenant.lock:
            seq = self._parse(watermark)
            new_watermark = self._watermark()
            user_ids, group_ids = self.changed_ids(seq)
            read = self.read_objects(user_ids, group_ids)
            changed = self.changed_attributes(seq)
        for uid, su in read.users.items():
            su.changed = changed.get(uid, frozenset())
        read.watermark = new_watermark
        return read

    def changed_attributes(self, seq: int) -> dict[str, frozenset[str]]:
        """Per user, the source attributes (Entra's names) the journal entries after ``seq`` changed.

        Model fields are named as mappings name them (``officeLocation`` is
        ``physicalDeliveryOfficeName``...); whatever can change ``IsSoftDeleted``
        (a soft delete or restore, ``accountEnabled``, an assignment, joining or
        leaving an assigned group) counts as a change of ``IsSoftDeleted`` too.
        """
        tenant = self.tenant
        found: dict[str, set[str]] = {}
        for change in tenant.journal.since(seq, ("user", "group", "assignment")):
            if change.kind == "user":
                names = found.setdefault(change.object_id, set())
                names.update(_SOURCE_NAME.get(key, key) for key in change.changes)
                if change.action != "updated" or "accountEnabled" in change.changes:
                    names.add("IsSoftDeleted")
            elif change.kind == "group" and change.member_id:
                if change.object_id in tenant.assignments:
                    found.setdefault(change.member_id, set()).update(("IsSoftDeleted", "appRoleAssignments"))
            elif change.kind == "assignment":
                members = tenant.groups[change.object_id].members if change.object_id in tenant.groups else ()
                for uid in (change.object_id, *members):
                    found.setdefault(uid, set()).update(("IsSoftDeleted", "appRoleAssignments"))
        return {uid: frozenset(names) for uid, names in found.items()}

    def changed_ids(self, seq: int) -> tuple[list[str], list[str]]:
        """Users and groups whose provisioning may change because of journal entries after ``seq``."""
        tenant = self.tenant
        users: dict[str, None] = {}
        groups: dict[str, None] = {}
        entries = tenant.journal.since(seq, ("user", "group", "assignment"))
        group_ids = {change.object_id for change in entries if change.kind == "group"}
        for change in entries:
            oid = change.object_id
            if change.kind == "user":
                users[oid] = None
                if change.action in ("softDeleted", "restored"):
                    # A soft-deleted user drops out of its groups' visible members, and comes back when restored.
                    for group in tenant.groups.values():
                        if oid in group.members:
                            groups[group.id] = None
            elif change.kind == "group":
                groups[oid] = None
                member = change.member_id
                if member and oid in tenant.assignments and (member in tenant.users or member in tenant.deleted_users):
                    users[member] = None  # joining or leaving an assigned group changes the member's assignment
            elif oid in tenant.groups:  # assignment of a group: its direct members' assignment changes too
                groups[oid] = None
                for member in tenant.groups[oid].members:
                    if member in tenant.users or member in tenant.deleted_users:
                        users[member] = None
            elif oid in group_ids:  # a deleted group's assignment went with it
                groups[oid] = None
            else:
                users[oid] = None
        return list(users), list(groups)

    def read_objects(self, user_ids: Iterable[str], group_ids: Iterable[str]) -> SourceRead:
        tenant = self.tenant
        read = SourceRead()
        with tenant.lock:
            role_holders = bool(tenant.assignments)
            for uid in user_ids:
                user = tenant.users.get(uid)
                deleted = False
                if user is None:
                    user = tenant.deleted_users.get(uid)
                    deleted = True
                if user is None:
                    read.purged_users.add(uid)
                    continue
                roles = tuple(app_role_assignments(tenant, uid)) if role_holders else ()
                read.users[uid] = SourceUser(user, tenant.is_assigned(uid), deleted, roles)
            for gid in group_ids:
                group = tenant.groups.get(gid)
                if group is None:
                    read.deleted_groups.add(gid)
                    continue
                assigned = gid in tenant.assignments and bool(group.securityEnabled)
                read.groups[gid] = SourceGroup(group, assigned, tuple(tenant.member_ids(gid)))
        return read


# ------------------------------------------------------------------ a snapshot file


class SnapshotSource(Source):
    """A tenant snapshot file, loaded afresh for every read (regenerate the file between cycles)."""

    kind = "snapshot"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._loaded: TenantSource | None = self._load()  # kept for the first read: big files load once
        self.tenant_id = self._loaded.tenant.id

    def describe(self) -> str:
        return f"snapshot {self.path}"

    def _load(self) -> TenantSource:
        from ..tenant import snapshot

        loaded, self._loaded = getattr(self, "_loaded", None), None
        if loaded is not None:
            return loaded
        if not self.path.is_file():
            raise SourceError(f"snapshot file {self.path} does not exist (write one with: entrasim seed -o {self.path})")
        try:
            tenant = snapshot.load(self.path)
        except (OSError, ValueError) as exc:
            raise SourceError(f"cannot load snapshot {self.path}: {exc}") from None
        return TenantSource(tenant)

    def read_all(self) -> SourceRead:
        return self._load().read_all()

    def read_changes(self, watermark: str) -> SourceRead:
        return self._load().read_changes(watermark)

    def read_objects(self, user_ids: Iterable[str], group_ids: Iterable[str]) -> SourceRead:
        return self._load().read_objects(user_ids, group_ids)


# ------------------------------------------------------------------ Microsoft Graph


def _user_from_graph(data: dict[str, Any], manager_id: str | None) -> User:
    values = {k: v for k, v in data.items() if k in _USER_FIELDS and k not in ("id", "createdDateTime", "deletedDateTime")}
    for key in ("otherMails", "businessPhones"):
        if values.get(key) is None:
            values.pop(key, None)
    if values.get("accountEnabled") is None:
        values.pop("accountEnabled", None)
    if values.get("userType") is None:
        values.pop("userType", None)
    values.setdefault("userPrincipalName", "")
    values.setdefault("displayName", values.get("userPrincipalName") or "")
    if values["displayName"] is None:
        values["displayName"] = ""
    return User(id=data["id"], managerId=manager_id, **values)


def _group_from_graph(data: dict[str, Any], members: Iterable[str]) -> Group:
    values = {k: v for k, v in data.items() if k in _GROUP_FIELDS and k not in ("id", "createdDateTime")}
    for key in ("securityEnabled", "mailEnabled"):
        if values.get(key) is None:
            values.pop(key, None)
    if values.get("groupTypes") is None:
        values.pop("groupTypes", None)
    values["displayName"] = values.get("displayName") or ""
    return Group(id=data["id"], members=dict.fromkeys(members), **values)


def _tombstone(user_id: str) -> User:
    return User(id=user_id, userPrincipalName="", displayName="")


@dataclass(frozen=True)
class GraphAssignments:
    """Who is assigned to the enterprise application, as read from its ``appRoleAssignedTo``."""

    #: directly assigned users and direct members of assigned groups.
    users: frozenset[str]
    groups: frozenset[str]

    def fingerprint(self) -> str:
        """Kept in the watermark: a different one next cycle means assignments changed."""
        digest = hashlib.sha256()
        for kind, ids in (("u", self.users), ("g", self.groups)):
            for object_id in sorted(ids):
                digest.update(f"{kind}:{object_id}\n".encode())
        return digest.hexdigest()


class GraphSource(Source):
    """A Graph v1.0 endpoint read with an app's client credentials (read-only)."""

    kind = "graph"
    page_size = 999
    max_throttle_retries = 5

    def __init__(self, config: GraphSourceConfig, *, need_manager: bool = True, need_members: bool = True,
                 read_assignments: bool = True, sleep=time.sleep):
        """``read_assignments``: read the app's assignments when the config names it (false for scope "all")."""
        import msal

        self.config = config
        self.service_principal_id = config.service_principal_id if read_assignments else None
        self.notes = () if self.service_principal_id else (ASSIGNED_EVERYONE,)
        self.tenant_id = config.tenant_id
        self.need_manager = need_manager
        self.need_members = need_members
        self._sleep = sleep
        self.graph_url = config.graph_url.rstrip("/")
        self.session = pinned_session(config.ca_bundle if config.ca_bundle is not None else True)
        try:
            secret = config.client_secret.reveal()
        except SecretUnavailable as exc:
            raise SourceError(f"source.clientSecret: {exc}") from None
        authority = f"{config.authority.rstrip('/')}/{config.tenant_id}"
        # msal validates an authority through Microsoft's instance discovery, which knows only Microsoft's clouds.
        microsoft = urlsplit(config.authority).hostname in MICROSOFT_AUTHORITY_HOSTS
        try:
            self._app = msal.ConfidentialClientApplication(config.client_id, client_credential=secret,
                                                           authority=authority, http_client=self.session,
                                                           instance_discovery=None if microsoft else False)
        except ValueError as exc:
            raise SourceError(f"cannot use the Graph authority {authority}: {exc}") from None
        except requests.RequestException as exc:
            raise SourceError(f"cannot reach the Graph authority {authority}: {type(exc).__name__}") from None
        self.requests_sent = 0

    def describe(self) -> str:
        return f"graph {self.graph_url} (tenant {self.tenant_id})"

    def close(self) -> None:
        self.session.close()

    # -- HTTP
    def _token(self) -> str:
        try:
            result = self._app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
        except requests.RequestException as exc:
            raise SourceError(f"cannot reach the token endpoint: {type(exc).__name__}") from None
        if "access_token" not in result:
            code = result.get("error")
            description = str(result.get("error_description") or "").splitlines()[0:1]
            reason = ": ".join(part for part in (code, *description) if part) or "no token"
            raise SourceError(f"Graph refused the client credentials: {reason}")
        return result["access_token"]

    def _get(self, url: str, *, params: dict[str, str] | None = None, allow_404: bool = False) -> dict[str, Any] | None:
        if not url.startswith("http"):
            url = self.graph_url + url
        for attempt in range(self.max_throttle_retries + 1):
            headers = {"Authorization": f"Bearer {self._token()}", "Prefer": f"odata.maxpagesize={self.page_size}"}
            try:
                response = self.session.get(url, params=params, headers=headers, timeout=(10, 60))
            except requests.RequestException as exc:
                raise SourceError(f"cannot read {url.split('?')[0]}: {type(exc).__name__}") from None
            self.requests_sent += 1
            if response.status_code == 404 and allow_404:
                return None
            if response.status_code in (429, 503, 504) and attempt < self.max_throttle_retries:
                delay = retry_after_seconds(response.headers.get("Retry-After"))
                self._sleep(delay if delay is not None else min(2 ** attempt, 30))
                continue
            if response.status_code == 410:
                raise WatermarkInvalid("Graph no longer knows the deltaLink (410 Gone): a full read is needed")
            if response.status_code >= 400:
                raise SourceError(f"Graph answered {response.status_code} to GET {url.split('?')[0]}: "
                                  f"{_graph_message(response)}")
            try:
                return orjson.loads(response.content)
            except orjson.JSONDecodeError:
                raise SourceError(f"Graph answered GET {url.split('?')[0]} with a body that is not JSON") from None
        raise SourceError(f"Graph kept throttling GET {url.split('?')[0]}")

    def _pages(self, url: str, params: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """Every item of a paged (delta) collection, and the round's deltaLink."""
        items: list[dict[str, Any]] = []
        body = self._get(url, params=params)
        while True:
            items.extend(body.get("value", []))
            next_link = body.get("@odata.nextLink")
            if not next_link:
                return items, body.get("@odata.deltaLink")
            body = self._get(next_link)

    # -- reads
    def _user_delta_params(self) -> dict[str, str]:
        names = list(GRAPH_USER_PROPERTIES) + (["manager"] if self.need_manager else [])
        return {"$select": ",".join(names)}

    def _group_delta_params(self) -> dict[str, str]:
        names = list(GRAPH_GROUP_PROPERTIES) + (["members"] if self.need_members else [])
        return {"$select": ",".join(names)}

    def _assignments(self) -> GraphAssignments | None:
        """The app's assignments, or None when the job does not name the app (everyone counts as assigned)."""
        if self.service_principal_id is None:
            return None
        try:
            items, _ = self._pages(f"/servicePrincipals/{self.service_principal_id}/appRoleAssignedTo")
        except SourceError as exc:
            raise SourceError(f"{exc} ({ASSIGNMENT_PERMISSION_HINT})") from None
        users = {item["principalId"] for item in items if item.get("principalType") == "User"}
        groups = frozenset(item["principalId"] for item in items if item.get("principalType") == "Group")
        for gid in groups:
            users.update(self._members_of(gid))  # direct members only: nested groups do not inherit assignment
        return GraphAssignments(frozenset(users), groups)

    def _watermark(self, user_link: str | None, group_link: str | None, assignments: GraphAssignments | None) -> str:
        mark: dict[str, Any] = {"users": user_link, "groups": group_link}
        if assignments is not None:
            mark["assignments"] = assignments.fingerprint()
        return orjson.dumps(mark).decode()

    def read_all(self) -> SourceRead:
        assignments = self._assignments()
        users, user_link = self._pages("/users/delta", self._user_delta_params())
        groups, group_link = self._pages("/groups/delta", self._group_delta_params())
        read = self._assemble(users, groups, full=True, assignments=assignments)
        read.watermark = self._watermark(user_link, group_link, assignments)
        return read

    def read_changes(self, watermark: str) -> SourceRead:
        try:
            links = orjson.loads(watermark)
            user_link, group_link = links["users"], links["groups"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise WatermarkInvalid("the watermark is not a pair of Graph deltaLinks") from None
        if not (isinstance(user_link, str) and isinstance(group_link, str)):
            raise WatermarkInvalid("the watermark is not a pair of Graph deltaLinks")
        assignments = self._assignments()
        if assignments is not None and links.get("assignments") != assignments.fingerprint():
            # Delta queries do not report assignment changes: re-read everyone, as after a restart.
            raise WatermarkInvalid("the enterprise application's assignments changed since the last cycle")
        users, new_user_link = self._pages(user_link)
        groups, new_group_link = self._pages(group_link)
        read = self._assemble(users, groups, full=False, assignments=assignments)
        read.watermark = self._watermark(new_user_link, new_group_link, assignments)
        return read

    def _assemble(self, user_items: list[dict[str, Any]], group_items: list[dict[str, Any]], *, full: bool,
                  assignments: GraphAssignments | None) -> SourceRead:
        read = SourceRead(full=full)
        merged_users: dict[str, dict[str, Any]] = {}
        managers: dict[str, str | None] = {}
        for item in user_items:
            uid = item["id"]
            if "@removed" in item:
                merged_users[uid] = item
                continue
            merged_users.setdefault(uid, {}).update(item)
            for ref in item.get("manager@delta", []) or []:
                managers[uid] = None if "@removed" in ref else ref.get("id")
        for uid, item in merged_users.items():
            removed = item.get("@removed")
            if removed is not None:
                if removed.get("reason") == "deleted":
                    read.purged_users.add(uid)
                else:
                    read.users[uid] = SourceUser(_tombstone(uid), assigned=True, deleted=True, tombstone=True)
                continue
            if uid in managers or full or not self.need_manager:
                manager_id = managers.get(uid)
            else:
                manager_id = self._manager_of(uid)
            read.users[uid] = SourceUser(_user_from_graph(item, manager_id), assigned=_user_assigned(assignments, uid))
        group_bodies: dict[str, dict[str, Any]] = {}
        member_changes: dict[str, dict[str, bool]] = {}
        for item in group_items:
            gid = item["id"]
            if "@removed" in item:
                group_bodies[gid] = item
                continue
            group_bodies.setdefault(gid, {}).update({k: v for k, v in item.items() if k != "members@delta"})
            changes = member_changes.setdefault(gid, {})
            for ref in item.get("members@delta", []) or []:
                changes[ref["id"]] = "@removed" not in ref
        for gid, item in group_bodies.items():
            if "@removed" in item:
                read.deleted_groups.add(gid)
                continue
            if not self.need_members:
                members: list[str] = []
            elif full:
                members = [m for m, present in member_changes.get(gid, {}).items() if present]
            else:
                members = self._members_of(gid)
            group = _group_from_graph(item, members)
            read.groups[gid] = SourceGroup(group, assigned=_group_assigned(assignments, group), members=tuple(members))
        return read

    def _manager_of(self, user_id: str) -> str | None:
        body = self._get(f"/users/{user_id}/manager", params={"$select": "id"}, allow_404=True)
        return body.get("id") if body else None

    def _members_of(self, group_id: str) -> list[str]:
        body = self._get(f"/groups/{group_id}/members", params={"$select": "id"}, allow_404=True)
        members: list[str] = []
        while body is not None:
            members.extend(item["id"] for item in body.get("value", []))
            next_link = body.get("@odata.nextLink")
            body = self._get(next_link) if next_link else None
        return members

    def read_objects(self, user_ids: Iterable[str], group_ids: Iterable[str]) -> SourceRead:
        read = SourceRead()
        assignments = self._assignments()
        select_users = ",".join(GRAPH_USER_PROPERTIES)
        for uid in user_ids:
            body = self._get(f"/users/{uid}", params={"$select": select_users}, allow_404=True)
            if body is None:  # soft-deleted or purged: Graph's /users does not tell which; disabling is the safe side
                read.users[uid] = SourceUser(_tombstone(uid), assigned=True, deleted=True, tombstone=True)
                continue
            manager_id = self._manager_of(uid) if self.need_manager else None
            read.users[uid] = SourceUser(_user_from_graph(body, manager_id), assigned=_user_assigned(assignments, uid))
        select_groups = ",".join(GRAPH_GROUP_PROPERTIES)
        for gid in group_ids:
            body = self._get(f"/groups/{gid}", params={"$select": select_groups}, allow_404=True)
            if body is None:
                read.deleted_groups.add(gid)
                continue
            members = self._members_of(gid) if self.need_members else []
            group = _group_from_graph(body, members)
            read.groups[gid] = SourceGroup(group, assigned=_group_assigned(assignments, group), members=tuple(members))
        return read


def _user_assigned(assignments: GraphAssignments | None, user_id: str) -> bool:
    return assignments is None or user_id in assignments.users


def _group_assigned(assignments: GraphAssignments | None, group: Group) -> bool:
    """As for the tenant source: an assigned group is provisioned when it is a security group."""
    return assignments is None or (group.id in assignments.groups and bool(group.securityEnabled))


def _graph_message(response: requests.Response) -> str:
    try:
        error = response.json().get("error", {})
        return str(error.get("message") or error.get("code") or response.reason)
    except (ValueError, AttributeError):
        return response.reason or "no details"


# ------------------------------------------------------------------ from a job


def source_for(job: Job, tenant: Tenant | None = None) -> Source:
    """The source a job names; ``tenant`` is the in-process model a ``tenant`` source reads."""
    config = job.source
    if config.kind == "tenant":
        if tenant is None:
            raise SourceError("source type 'tenant' reads an in-process tenant model (Python API, scenarios); "
                              "from the command line use a snapshot file or a Graph endpoint")
        return TenantSource(tenant)
    if config.kind == "snapshot":
        return SnapshotSource(config.snapshot)
    need_manager = any(row.reference and row.source == "manager" for row in job.users.attributes)
    need_members = job.groups.enabled and any(row.reference for row in job.groups.attributes)
    return GraphSource(config.graph, need_manager=need_manager, need_members=need_members,
                       read_assignments=job.scope == "assigned")
