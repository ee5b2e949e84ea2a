"""The simulated Entra tenant: directory objects, app registrations, consent and assignments.

Plain Python, no HTTP. Every server (Graph, the identity platform, the provisioning
engine's in-process source) reads and mutates this one object, and every change is
written to the change journal that feeds Graph delta queries and incremental
provisioning cycles.

Attribute names on ``User`` and ``Group`` are Graph's own property names
(``userPrincipalName``, ``accountEnabled``...), so that ``$select``, ``$filter``
and provisioning mappings such as ``[userPrincipalName]`` need no translation table.

Deliberate behaviours, as in Entra:
- group display names are not unique;
- userPrincipalName is unique (case-insensitive), also against soft-deleted users;
- mail is *not* forced unique, so that directories with duplicate emails (a
  documented LMS import failure) can be reproduced;
- a soft-deleted user is restorable for 30 days of simulated time, then purged.
"""

from __future__ import annotations

import hashlib
import random
import string
import threading
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Iterable

from ..clock import Clock
from .errors import InvalidValue, ObjectConflict, ObjectNotFound
from .journal import Change, ChangeJournal

SOFT_DELETE_RETENTION = timedelta(days=30)

#: Graph application permissions the simulator knows, with their app role ids.
PERMISSIONS: dict[str, str] = {
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "GroupMember.Read.All": "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
}
DEFAULT_PERMISSIONS = ("User.Read.All", "Group.Read.All", "GroupMember.Read.All")

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

#: Display name of the enterprise application whose assignments scope provisioning to the LMS.
PROVISIONING_APP_NAME = "entrasim LMS (provisioning)"
#: The app role Entra gives an assignment to an application that defines no roles ("Default Access").
DEFAULT_ACCESS_ROLE_ID = "00000000-0000-0000-0000-000000000000"


@dataclass(slots=True)
class User:
    id: str
    userPrincipalName: str
    displayName: str
    mail: str | None = None
    otherMails: list[str] = field(default_factory=list)
    givenName: str | None = None
    surname: str | None = None
    jobTitle: str | None = None
    department: str | None = None
    companyName: str | None = None
    employeeId: str | None = None
    officeLocation: str | None = None
    preferredLanguage: str | None = None
    country: str | None = None
    usageLocation: str | None = None
    mailNickname: str | None = None
    mobilePhone: str | None = None
    businessPhones: list[str] = field(default_factory=list)
    userType: str = "Member"
    accountEnabled: bool = True
    managerId: str | None = None
    createdDateTime: datetime | None = None
    deletedDateTime: datetime | None = None

    @property
    def is_guest(self) -> bool:
        return "#EXT#" in self.userPrincipalName


@dataclass(slots=True)
class Group:
    id: str
    displayName: str
    description: str | None = None
    mailNickname: str | None = None
    mail: str | None = None
    securityEnabled: bool = True
    mailEnabled: bool = False
    groupTypes: list[str] = field(default_factory=list)
    createdDateTime: datetime | None = None
    #: member id -> None; a dict keeps insertion order with O(1) add, remove and lookup.
    members: dict[str, None] = field(default_factory=dict)


@dataclass(slots=True)
class PasswordCredential:
    keyId: str
    secretText: str
    startDateTime: datetime
    endDateTime: datetime
    displayName: str | None = None

    @property
    def hint(self) -> str:
        return self.secretText[:3]

    def is_expired(self, now: datetime) -> bool:
        return now >= self.endDateTime


@dataclass(slots=True)
class KeyCredential:
    keyId: str
    certificatePem: str
    startDateTime: datetime
    endDateTime: datetime
    displayName: str | None = None

    @property
    def thumbprint_sha1(self) -> bytes:
        """SHA-1 of the certificate's DER: what ``x5t`` in a client assertion names."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes

        cert = x509.load_pem_x509_certificate(self.certificatePem.encode())
        return cert.fingerprint(hashes.SHA1())

    @property
    def thumbprint_sha256(self) -> bytes:
        """SHA-256 of the certificate's DER: what ``x5t#S256`` names."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes

        cert = x509.load_pem_x509_certificate(self.certificatePem.encode())
        return cert.fingerprint(hashes.SHA256())

    def is_expired(self, now: datetime) -> bool:
        return now >= self.endDateTime


@dataclass(slots=True)
class Application:
    """An app registration, as a client sees it: appId plus credentials."""

    id: str
    appId: str
    displayName: str
    signInAudience: str = "AzureADMyOrg"
    passwordCredentials: list[PasswordCredential] = field(default_factory=list)
    keyCredentials: list[KeyCredential] = field(default_factory=list)
    #: application permissions the registration asks for (API permissions blade).
    requiredPermissions: list[str] = field(default_factory=lambda: list(DEFAULT_PERMISSIONS))
    createdDateTime: datetime | None = None


@dataclass(slots=True)
class ServicePrincipal:
    """The app's instance in this tenant: enabled or not, and what an admin consented to."""

    id: str
    appId: str
    displayName: str
    accountEnabled: bool = True
    grantedPermissions: list[str] = field(default_factory=list)


@dataclass(slots=True)
class AppAssignment:
    """A user or group assigned to the enterprise application that provisions to the LMS."""

    principalId: str
    principalType: str  # "User" or "Group"
    appRole: str = "User"
    createdDateTime: datetime | None = None


def app_role_id(role: str) -> str:
    """The appRoleId Graph shows for an assignment: Default Access for "User", else a GUID stable per role name."""
    if role == "User":
        return DEFAULT_ACCESS_ROLE_ID
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://entrasim/appRoles/{role}"))


class Tenant:
    """One Entra tenant. Thread-safe: every public method holds the tenant's lock."""

    def __init__(
        self,
        tenant_id: str | None = None,
        display_name: str = "Contoso",
        domain: str = "contoso.onmicrosoft.com",
        clock: Clock | None = None,
        seed: int = 0,
    ):
        self._rng = random.Random(seed)
        self.seed = seed
        self.id = tenant_id or self.new_id()
        self.displayName = display_name
        self.domains: list[str] = [domain]
        self.clock = clock or Clock()
        self.createdDateTime = self.clock.now().replace(microsecond=0)
        self.lock = threading.RLock()
        self.journal = ChangeJournal()
        self.revisions: dict[str, int] = {}
        #: Bumped by every change, journaled or not: "has anything changed since?" in O(1).
        self.last_revision = 0
        self.users: dict[str, User] = {}
        self.deleted_users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self.applications: dict[str, Application] = {}  # by appId
        self.service_principals: dict[str, ServicePrincipal] = {}  # by appId
        self.assignments: dict[str, AppAssignment] = {}  # by principal id
        self._provisioning_app: ServicePrincipal | None = None
        self._upn_index: dict[str, str] = {}  # lowercased UPN -> user id (active and soft-deleted)
        self.clock.on_change(lambda _now: self.purge_expired())

    # ------------------------------------------------------------------ ids
    def new_id(self) -> str:
        """A GUID drawn from the tenant's seeded generator: same seed, same ids."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def new_secret_value(self) -> str:
        """A 40-character client secret shaped like Entra's (``xxx8Q~...``)."""
        alphabet = string.ascii_letters + string.digits + "_-.~"
        head = "".join(self._rng.choice(string.ascii_letters + string.digits) for _ in range(3))
        tail = "".join(self._rng.choice(alphabet) for _ in range(34))
        return f"{head}8Q~{tail}"

    @property
    def primary_domain(self) -> str:
        return self.domains[0]

    def matches(self, tenant: str) -> bool:
        """True when ``tenant`` names this tenant: its id or one of its verified domains."""
        tenant = tenant.lower()
        return tenant == self.id.lower() or tenant in (d.lower() for d in self.domains)

    def _now(self) -> datetime:
        return self.clock.now().replace(microsecond=0)

    def _record(self, kind: str, object_id: str, action: str, changes: dict | None = None, member_id: str | None = None) -> Change:
        self.revisions[object_id] = self._touch()
        return self.journal.append(self._now(), kind, object_id, action, changes or {}, member_id)

    def _touch(self) -> int:
        self.last_revision += 1
        return self.last_revision

    def revision(self, object_id: str) -> int:
        """A number that changes whenever the object changes through this model (0: never changed).

        Serializers cache an object's JSON against it, so a page of 999 members costs
        a dictionary lookup per member instead of re-encoding unchanged objects.
        Objects must therefore only be changed through the Tenant's methods.
        """
        return self.revisions.get(object_id, 0)

    # ---------------------------------------------------------------- users
    def create_user(self, *, userPrincipalName: str, displayName: str | None = None, id: str | None = None, record: bool = True, **attrs: Any) -> User:
        with self.lock:
            upn_key = userPrincipalName.lower()
            if "@" not in userPrincipalName:
                raise InvalidValue(f"userPrincipalName '{userPrincipalName}' is not of the form alias@domain")
            if upn_key in self._upn_index:
                raise ObjectConflict(f"Another object with the same value for property userPrincipalName already exists: '{userPrincipalName}'")
            unknown = set(attrs) - USER_ATTRIBUTES
            if unknown:
                raise InvalidValue(f"unknown user attribute(s): {', '.join(sorted(unknown))}")
            _check_booleans(attrs)
            manager_id = attrs.get("managerId")
            if manager_id is not None and manager_id not in self.users:
                raise InvalidValue(f"manager '{manager_id}' does not exist")
            user_id = id or self.new_id()
            if user_id in self.users or user_id in self.deleted_users or user_id in self.groups:
                raise ObjectConflict(f"an object with id '{user_id}' already exists")
            attrs.setdefault("createdDateTime", self._now())
            if displayName is None:
                displayName = " ".join(p for p in (attrs.get("givenName"), attrs.get("surname")) if p) or userPrincipalName.split("@")[0]
            if "#EXT#" in userPrincipalName:
                attrs.setdefault("userType", "Guest")
            user = User(id=user_id, userPrincipalName=userPrincipalName, displayName=displayName, **attrs)
            self.users[user_id] = user
            self._upn_index[upn_key] = user_id
            self._touch()
            if record:
                self._record("user", user_id, "created", {k: [None, v] for k, v in user_state(user).items() if v not in (None, [], "")})
            return user

    def get_user(self, ident: str, include_deleted: bool = False) -> User:
        """Find a user by id or userPrincipalName (case-insensitive)."""
        with self.lock:
            user = self.users.get(ident)
            if user is None:
                uid = self._upn_index.get(ident.lower())
                if uid is not None:
                    user = self.users.get(uid)
                    if user is None and include_deleted:
                        user = self.deleted_users.get(uid)
            if user is None and include_deleted:
                user = self.deleted_users.get(ident)
            if user is None:
                raise ObjectNotFound("user", ident)
            return user

    def find_user(self, ident: str) -> User | None:
        try:
            return self.get_user(ident)
        except ObjectNotFound:
            return None

    def update_user(self, ident: str, **changes: Any) -> User:
        """Change attributes of an active user; the journal records old and new values."""
        with self.lock:
            user = self.get_user(ident)
            unknown = set(changes) - USER_ATTRIBUTES - {"userPrincipalName", "displayName"}
            if unknown:
                raise InvalidValue(f"unknown user attribute(s): {', '.join(sorted(unknown))}")
            _check_booleans(changes)
            if "userPrincipalName" in changes:
                new_upn = changes["userPrincipalName"]
                if "@" not in new_upn:
                    raise InvalidValue(f"userPrincipalName '{new_upn}' is not of the form alias@domain")
                owner = self._upn_index.get(new_upn.lower())
                if owner is not None and owner != user.id:
                    raise ObjectConflict(f"Another object with the same value for property userPrincipalName already exists: '{new_upn}'")
            if "managerId" in changes:
                self._check_manager(user.id, changes["managerId"])
            diff = {}
            for key, value in changes.items():
                old = getattr(user, key)
                if old != value:
                    diff[key] = [old, value]
            if not diff:
                return user
            if "userPrincipalName" in diff:
                del self._upn_index[user.userPrincipalName.lower()]
                self._upn_index[changes["userPrincipalName"].lower()] = user.id
            for key, (_old, new) in diff.items():
                setattr(user, key, new)
            self._record("user", user.id, "updated", diff)
            return user

    def _check_manager(self, user_id: str, manager_id: str | None) -> None:
        if manager_id is None:
            return
        if manager_id == user_id:
            raise InvalidValue("a user cannot be their own manager")
        if manager_id not in self.users:
            raise InvalidValue(f"manager '{manager_id}' does not exist")
        seen = {user_id}
        cursor: str | None = manager_id
        while cursor is not None:
            if cursor in seen:
                raise InvalidValue("the manager chain would form a cycle")
            seen.add(cursor)
            cursor = self.users[cursor].managerId if cursor in self.users else None

    def set_manager(self, ident: str, manager: str | None) -> User:
        manager_id = self.get_user(manager).id if manager is not None else None
        return self.update_user(ident, managerId=manager_id)

    def disable_user(self, ident: str) -> User:
        return self.update_user(ident, accountEnabled=False)

    def enable_user(self, ident: str) -> User:
        return self.update_user(ident, accountEnabled=True)

    def change_mail(self, ident: str, mail: str) -> User:
        return self.update_user(ident, mail=mail)

    def change_upn(self, ident: str, upn: str) -> User:
        return self.update_user(ident, userPrincipalName=upn)

    def soft_delete_user(self, ident: str) -> User:
        """Move a user to deleted items; restorable until the 30-day retention ends."""
        with self.lock:
            user = self.get_user(ident)
            del self.users[user.id]
            user.deletedDateTime = self._now()
            self.deleted_users[user.id] = user
            self._record("user", user.id, "softDeleted")
            return user

    def restore_user(self, ident: str) -> User:
        with self.lock:
            user = self.deleted_users.get(ident)
            if user is None:
                uid = self._upn_index.get(ident.lower())
                user = self.deleted_users.get(uid) if uid else None
            if user is None:
                raise ObjectNotFound("deleted user", ident)
            del self.deleted_users[user.id]
            user.deletedDateTime = None
            self.users[user.id] = user
            self._record("user", user.id, "restored")
            return user

    def purge_user(self, ident: str) -> None:
        """Delete permanently: memberships, manager links and assignments go too."""
        with self.lock:
            user = self.deleted_users.get(ident) or self.users.get(ident)
            if user is None:
                uid = self._upn_index.get(ident.lower())
                user = (self.deleted_users.get(uid) or self.users.get(uid)) if uid else None
            if user is None:
                raise ObjectNotFound("user", ident)
            self.users.pop(user.id, None)
            self.deleted_users.pop(user.id, None)
            self._upn_index.pop(user.userPrincipalName.lower(), None)
            self._forget_references(user.id)
            self._record("user", user.id, "purged")

    def purge_expired(self) -> list[str]:
        """Purge soft-deleted users whose retention ended; returns their ids."""
        with self.lock:
            cutoff = self._now() - SOFT_DELETE_RETENTION
            expired = [u.id for u in self.deleted_users.values() if u.deletedDateTime and u.deletedDateTime <= cutoff]
            for uid in expired:
                self.purge_user(uid)
            return expired

    def _forget_references(self, object_id: str) -> None:
        for group in self.groups.values():
            if object_id in group.members:
                del group.members[object_id]
                self._record("group", group.id, "memberRemoved", member_id=object_id)
        for other in list(self.users.values()) + list(self.deleted_users.values()):
            if other.managerId == object_id:
                other.managerId = None
                self._record("user", other.id, "updated", {"managerId": [object_id, None]})
        if object_id in self.assignments:
            del self.assignments[object_id]
            self._record("assignment", object_id, "unassigned")

    # --------------------------------------------------------------- groups
    def create_group(self, *, displayName: str, id: str | None = None, members: Iterable[str] = (), record: bool = True, **attrs: Any) -> Group:
        with self.lock:
            unknown = set(attrs) - GROUP_ATTRIBUTES
            if unknown:
                raise InvalidValue(f"unknown group attribute(s): {', '.join(sorted(unknown))}")
            group_id = id or self.new_id()
            if group_id in self.groups or group_id in self.users or group_id in self.deleted_users:
                raise ObjectConflict(f"an object with id '{group_id}' already exists")
            members = list(members)
            member_ids = [self._resolve_member(m) for m in members]  # fail before anything is created
            if len(set(member_ids)) != len(member_ids):
                raise ObjectConflict("One or more added object references already exist for the following modified properties: 'members'.")
            attrs.setdefault("createdDateTime", self._now())
            attrs.setdefault("mailNickname", _nickname(displayName))
            group = Group(id=group_id, displayName=displayName, **attrs)
            self.groups[group_id] = group
            self._touch()
            if record:
                self._record("group", group_id, "created", {k: [None, v] for k, v in group_state(group).items() if v not in (None, [], "")})
            for member in members:
                self.add_member(group_id, member, record=record)
            return group

    def get_group(self, ident: str) -> Group:
        with self.lock:
            group = self.groups.get(ident)
            if group is None:
                raise ObjectNotFound("group", ident)
            return group

    def update_group(self, ident: str, **changes: Any) -> Group:
        with self.lock:
            group = self.get_group(ident)
            unknown = set(changes) - GROUP_ATTRIBUTES - {"displayName"}
            if unknown:
                raise InvalidValue(f"unknown group attribute(s): {', '.join(sorted(unknown))}")
            diff = {k: [getattr(group, k), v] for k, v in changes.items() if getattr(group, k) != v}
            if not diff:
                return group
            for key, (_old, new) in diff.items():
                setattr(group, key, new)
            self._record("group", group.id, "updated", diff)
            return group

    def rename_group(self, ident: str, display_name: str) -> Group:
        return self.update_group(ident, displayName=display_name)

    def delete_group(self, ident: str) -> None:
        """Security groups are deleted permanently (only Microsoft 365 groups are restorable)."""
        with self.lock:
            group = self.get_group(ident)
            del self.groups[group.id]
            self._forget_references(group.id)
            self._record("group", group.id, "deleted")

    def add_member(self, group_ident: str, member_ident: str, record: bool = True) -> None:
        """Add a user (by id or UPN) or a group (by id) to a group; adding twice is a conflict, as in Graph."""
        with self.lock:
            group = self.get_group(group_ident)
            member_id = self._resolve_member(member_ident)
            if member_id == group.id:
                raise InvalidValue("a group cannot be a member of itself")
            if member_id in group.members:
                raise ObjectConflict("One or more added object references already exist for the following modified properties: 'members'.")
            group.members[member_id] = None
            self._touch()
            if record:
                self._record("group", group.id, "memberAdded", member_id=member_id)

    def remove_member(self, group_ident: str, member_ident: str) -> None:
        with self.lock:
            group = self.get_group(group_ident)
            member_id = self._resolve_member(member_ident, include_deleted=True)
            if member_id not in group.members:
                raise ObjectNotFound("member", member_ident)
            del group.members[member_id]
            self._record("group", group.id, "memberRemoved", member_id=member_id)

    def _resolve_member(self, ident: str, include_deleted: bool = False) -> str:
        if ident in self.groups:
            return ident
        return self.get_user(ident, include_deleted=include_deleted).id

    def get_object(self, object_id: str) -> User | Group:
        """A directory object by id (active users and groups only)."""
        with self.lock:
            obj = self.users.get(object_id) or self.groups.get(object_id)
            if obj is None:
                raise ObjectNotFound("directoryObject", object_id)
            return obj

    def member_ids(self, group_ident: str) -> list[str]:
        """Direct members that are visible (soft-deleted users are hidden but remembered)."""
        with self.lock:
            group = self.get_group(group_ident)
            return [m for m in group.members if m in self.users or m in self.groups]

    def member_objects(self, group_ident: str) -> list[User | Group]:
        """Direct members that are visible, as objects, in membership order."""
        with self.lock:
            group = self.get_group(group_ident)
            users, groups = self.users, self.groups
            return [obj for obj in (users.get(m) or groups.get(m) for m in group.members) if obj is not None]

    def transitive_member_ids(self, group_ident: str) -> list[str]:
        """Every user and group reachable through nesting, each once, breadth first."""
        with self.lock:
            root = self.get_group(group_ident)
            seen: dict[str, None] = {}
            queue = [root.id]
            visited_groups = {root.id}
            while queue:
                current = self.groups.get(queue.pop(0))
                if current is None:
                    continue
                for member in current.members:
                    if member in self.users:
                        seen.setdefault(member, None)
                    elif member in self.groups:
                        seen.setdefault(member, None)
                        if member not in visited_groups:
                            visited_groups.add(member)
                            queue.append(member)
            return list(seen)

    def member_of(self, object_id: str, transitive: bool = False) -> list[Group]:
        """Groups that contain the object directly (or through nesting when ``transitive``)."""
        with self.lock:
            direct = [g for g in self.groups.values() if object_id in g.members]
            if not transitive:
                return direct
            result: dict[str, Group] = {g.id: g for g in direct}
            frontier = list(result)
            while frontier:
                gid = frontier.pop()
                for g in self.groups.values():
                    if gid in g.members and g.id not in result:
                        result[g.id] = g
                        frontier.append(g.id)
            return list(result.values())

    # --------------------------------------------------------- applications
    def register_application(
        self,
        display_name: str,
        *,
        app_id: str | None = None,
        sign_in_audience: str = "AzureADMyOrg",
        permissions: Iterable[str] = DEFAULT_PERMISSIONS,
        consent: bool = True,
        secret: bool = True,
        secret_lifetime: timedelta = timedelta(days=180),
    ) -> Application:
        """Register an app, create its service principal, optionally consent and add a secret."""
        with self.lock:
            permissions = list(permissions)
            for name in permissions:
                if name not in PERMISSIONS:
                    raise InvalidValue(f"unknown application permission '{name}'; known: {', '.join(PERMISSIONS)}")
            app_id = app_id or self.new_id()
            if app_id in self.applications:
                raise ObjectConflict(f"an application with appId '{app_id}' already exists")
            app = Application(id=self.new_id(), appId=app_id, displayName=display_name, signInAudience=sign_in_audience,
                              requiredPermissions=permissions, createdDateTime=self._now())
            self.applications[app_id] = app
            self.service_principals[app_id] = ServicePrincipal(id=self.new_id(), appId=app_id, displayName=display_name)
            self._record("application", app_id, "created")
            if consent:
                self.grant_consent(app_id)
            if secret:
                self.add_secret(app_id, lifetime=secret_lifetime)
            return app

    def get_application(self, app_id: str) -> Application:
        with self.lock:
            app = self.applications.get(app_id)
            if app is None:
                raise ObjectNotFound("application", app_id)
            return app

    def service_principal(self, app_id: str) -> ServicePrincipal:
        with self.lock:
            sp = self.service_principals.get(app_id)
            if sp is None:
                raise ObjectNotFound("servicePrincipal", app_id)
            return sp

    def add_secret(self, app_id: str, *, display_name: str | None = None, lifetime: timedelta = timedelta(days=180),
                   value: str | None = None, start: datetime | None = None) -> PasswordCredential:
        with self.lock:
            app = self.get_application(app_id)
            start = start or self._now()
            cred = PasswordCredential(keyId=self.new_id(), secretText=value or self.new_secret_value(),
                                      startDateTime=start, endDateTime=start + lifetime, displayName=display_name)
            app.passwordCredentials.append(cred)
            self._record("application", app_id, "secretAdded", {"keyId": [None, cred.keyId]})
            return cred

    def _secret(self, app_id: str, key_id: str) -> PasswordCredential:
        app = self.get_application(app_id)
        for cred in app.passwordCredentials:
            if cred.keyId == key_id:
                return cred
        raise ObjectNotFound("passwordCredential", key_id)

    def expire_secret(self, app_id: str, key_id: str) -> PasswordCredential:
        """End a secret's validity now (what happens when its end date passes)."""
        with self.lock:
            cred = self._secret(app_id, key_id)
            cred.endDateTime = self._now()
            if cred.startDateTime > cred.endDateTime:
                cred.startDateTime = cred.endDateTime
            self._record("application", app_id, "secretExpired", {"keyId": [key_id, key_id]})
            return cred

    def delete_secret(self, app_id: str, key_id: str) -> None:
        with self.lock:
            app = self.get_application(app_id)
            cred = self._secret(app_id, key_id)
            app.passwordCredentials.remove(cred)
            self._record("application", app_id, "secretDeleted", {"keyId": [key_id, None]})

    def add_certificate(self, app_id: str, certificate_pem: str, *, display_name: str | None = None) -> KeyCredential:
        from cryptography import x509

        with self.lock:
            app = self.get_application(app_id)
            try:
                cert = x509.load_pem_x509_certificate(certificate_pem.encode())
            except ValueError as exc:
                raise InvalidValue(f"not a PEM certificate: {exc}") from None
            cred = KeyCredential(keyId=self.new_id(), certificatePem=certificate_pem,
                                 startDateTime=cert.not_valid_before_utc, endDateTime=cert.not_valid_after_utc,
                                 displayName=display_name)
            app.keyCredentials.append(cred)
            self._record("application", app_id, "certificateAdded", {"keyId": [None, cred.keyId]})
            return cred

    def grant_consent(self, app_id: str, permissions: Iterable[str] | None = None) -> ServicePrincipal:
        """Admin consent: grant the app's requested permissions (or the ones given)."""
        with self.lock:
            app = self.get_application(app_id)
            granted = list(permissions) if permissions is not None else list(app.requiredPermissions)
            for name in granted:
                if name not in PERMISSIONS:
                    raise InvalidValue(f"unknown application permission '{name}'")
            sp = self.service_principal(app_id)
            sp.grantedPermissions = granted
            self._record("application", app_id, "consentGranted", {"grantedPermissions": [None, granted]})
            return sp

    def revoke_consent(self, app_id: str) -> ServicePrincipal:
        with self.lock:
            sp = self.service_principal(app_id)
            old = sp.grantedPermissions
            sp.grantedPermissions = []
            self._record("application", app_id, "consentRevoked", {"grantedPermissions": [old, []]})
            return sp

    def set_app_enabled(self, app_id: str, enabled: bool) -> ServicePrincipal:
        with self.lock:
            sp = self.service_principal(app_id)
            sp.accountEnabled = enabled
            self._record("application", app_id, "enabled" if enabled else "disabled")
            return sp

    # ---------------------------------------------------------- assignments
    @property
    def provisioning_app(self) -> ServicePrincipal:
        """The enterprise application that ``assignments`` belong to, as a service principal.

        Its id and appId come from a generator seeded by the tenant's seed and id,
        not from the tenant's main generator: creating it on first use then shifts
        no other id, and a tenant rebuilt from a snapshot (which keeps seed and id,
        old snapshots included) gets the same identity back.
        """
        with self.lock:
            if self._provisioning_app is None:
                rng = random.Random(f"{self.seed}:{self.id}:provisioning-app")
                sp_id, app_id = (str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(2))
                self._provisioning_app = ServicePrincipal(id=sp_id, appId=app_id, displayName=PROVISIONING_APP_NAME)
            return self._provisioning_app

    def assign(self, principal_ident: str, app_role: str = "User") -> AppAssignment:
        """Assign a user or group to the enterprise app that provisions to the LMS."""
        with self.lock:
            if principal_ident in self.groups:
                principal_id, kind = principal_ident, "Group"
            else:
                principal_id, kind = self.get_user(principal_ident).id, "User"
            old = self.assignments.get(principal_id)
            created = old.createdDateTime if old is not None and old.createdDateTime is not None else self._now()
            assignment = AppAssignment(principalId=principal_id, principalType=kind, appRole=app_role,
                                       createdDateTime=created)
            self.assignments[principal_id] = assignment
            self._record("assignment", principal_id, "assigned", {"appRole": [old.appRole if old else None, app_role]})
            return assignment

    def unassign(self, principal_ident: str) -> None:
        with self.lock:
            principal_id = principal_ident if principal_ident in self.groups or principal_ident in self.assignments else self.get_user(principal_ident, include_deleted=True).id
            if principal_id not in self.assignments:
                raise ObjectNotFound("assignment", principal_ident)
            del self.assignments[principal_id]
            self._record("assignment", principal_id, "unassigned")

    def is_assigned(self, user_id: str) -> bool:
        """Directly assigned, or a direct member of an assigned group (Entra ignores nested groups here)."""
        with self.lock:
            if user_id in self.assignments:
                return True
            return any(a.principalType == "Group" and a.principalId in self.groups and user_id in self.groups[a.principalId].members
                       for a in self.assignments.values())

    # ---------------------------------------------------------------- clock
    def advance_clock(self, delta: timedelta | float) -> datetime:
        """Move simulated time; soft-deleted users past retention are purged."""
        return self.clock.advance(delta)

    # ------------------------------------------------------------ bulk loading
    def bulk_load_users(self, users: Iterable[User]) -> int:
        """Add ready-made users without journal entries; returns how many were added.

        The seeder and the snapshot loader build the baseline directory, a million
        users at a time: ``create_user``'s per-call validation and journal entry would
        dominate that work. Only what keeps the directory consistent is checked here
        (unique ids and userPrincipalNames); the caller supplies complete ``User``
        objects whose managers exist. A user with a ``deletedDateTime`` goes to
        deleted items. On a conflict nothing of this call is kept.
        """
        with self.lock:
            active, deleted, groups, index = self.users, self.deleted_users, self.groups, self._upn_index
            n_active, n_deleted, n_index = len(active), len(deleted), len(index)
            try:
                for user in users:
                    uid = user.id
                    if uid in active or uid in deleted or uid in groups:
                        raise ObjectConflict(f"an object with id '{uid}' already exists")
                    upn = user.userPrincipalName
                    key = upn if upn.islower() else upn.lower()  # share the string when it is already lowercase
                    if key in index:
                        raise ObjectConflict(f"Another object with the same value for property userPrincipalName already exists: '{upn}'")
                    index[key] = uid
                    if user.deletedDateTime is None:
                        active[uid] = user
                    else:
                        deleted[uid] = user
            except BaseException:
                # Only insertions happened under the lock, so this call's entries are the newest of each dict.
                for table, before in ((active, n_active), (deleted, n_deleted), (index, n_index)):
                    for _ in range(len(table) - before):
                        table.popitem()
                raise
            self._touch()
            return (len(active) - n_active) + (len(deleted) - n_deleted)

    def bulk_load_groups(self, groups: Iterable[Group]) -> int:
        """Add ready-made groups (members included) without journal entries; returns how many.

        The counterpart of ``bulk_load_users`` for groups. Ids must be new; members
        are taken as given (a group may name a group loaded later in the same call,
        and soft-deleted users stay remembered as members, as in Entra). On a
        conflict nothing of this call is kept.
        """
        with self.lock:
            known = len(self.groups)
            try:
                for group in groups:
                    gid = group.id
                    if gid in self.groups or gid in self.users or gid in self.deleted_users:
                        raise ObjectConflict(f"an object with id '{gid}' already exists")
                    self.groups[gid] = group
            except BaseException:
                for _ in range(len(self.groups) - known):  # only insertions happened: this call's are the newest
                    self.groups.popitem()
                raise
            self._touch()
            return len(self.groups) - known

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {
                "users": len(self.users),
                "deletedUsers": len(self.deleted_users),
                "groups": len(self.groups),
                "memberships": sum(len(g.members) for g in self.groups.values()),
                "applications": len(self.applications),
                "assignments": len(self.assignments),
            }


USER_ATTRIBUTES = frozenset(f.name for f in fields(User)) - {"id", "userPrincipalName", "displayName", "deletedDateTime"}
#: user attributes Graph types as Edm.Boolean: "maybe" or "false" (text) would silently read as enabled
BOOLEAN_USER_ATTRIBUTES = frozenset(f.name for f in fields(User) if f.type in (bool, "bool"))


def _check_booleans(attrs: dict[str, Any]) -> None:
    for name in BOOLEAN_USER_ATTRIBUTES & attrs.keys():
        if not isinstance(attrs[name], bool):
            raise InvalidValue(f"{name} must be true or false, got {attrs[name]!r}")
GROUP_ATTRIBUTES = frozenset(f.name for f in fields(Group)) - {"id", "displayName", "members"}


def user_state(user: User) -> dict[str, Any]:
    return {f.name: getattr(user, f.name) for f in fields(User)}


def group_state(group: Group) -> dict[str, Any]:
    return {f.name: getattr(group, f.name) for f in fields(Group) if f.name != "members"}


def _nickname(display_name: str) -> str:
    nick = "".join(ch for ch in display_name if ch.isalnum() or ch in "-_.")
    return nick or hashlib.sha1(display_name.encode()).hexdigest()[:10]


def guest_upn(email: str, domain: str) -> str:
    """The B2B form Entra gives an invited guest: ``jane_fabrikam.com#EXT#@contoso.onmicrosoft.com``."""
    return f"{email.replace('@', '_')}#EXT#@{domain}"
