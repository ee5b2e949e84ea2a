"""Directory objects as Graph v1.0 JSON.

Users return Graph's default property set unless ``$select`` names others;
members and other directoryObject collections carry ``@odata.type`` on every
item, which msgraph-sdk needs to pick the User or Group class.
"""

from __future__ import annotations

import itertools
import threading
from datetime import datetime
from typing import Any, Iterable

import orjson

from ..clock import iso
from ..tenant import Group, User

USER_DEFAULT = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id")
USER_PROPERTIES = frozenset({
    "id", "userPrincipalName", "displayName", "mail", "otherMails", "givenName", "surname", "jobTitle", "department",
    "companyName", "employeeId", "officeLocation", "preferredLanguage", "country", "usageLocation", "mailNickname",
    "mobilePhone", "businessPhones", "userType", "accountEnabled", "createdDateTime", "deletedDateTime",
})
GROUP_DEFAULT = ("id", "deletedDateTime", "createdDateTime", "description", "displayName", "groupTypes", "mail",
                 "mailEnabled", "mailNickname", "securityEnabled")
GROUP_PROPERTIES = frozenset(GROUP_DEFAULT) | {"deletedDateTime"}

ODATA_TYPE = {User: "#microsoft.graph.user", Group: "#microsoft.graph.group"}
ENTITY_SET = {User: "users", Group: "groups"}


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, list):
        return list(value)
    return value


def _get(obj: User | Group, name: str) -> Any:
    if name == "deletedDateTime" and isinstance(obj, Group):
        return None
    return _value(getattr(obj, name))


def properties_of(kind: type) -> frozenset[str]:
    return USER_PROPERTIES if kind is User else GROUP_PROPERTIES


def to_json(obj: User | Group, select: Iterable[str] | None = None, odata_type: bool = False) -> dict[str, Any]:
    """One object; ``select`` (already validated) limits properties, unknown-to-this-type names are skipped."""
    kind = type(obj)
    names = select if select else (USER_DEFAULT if kind is User else GROUP_DEFAULT)
    allowed = properties_of(kind)
    out: dict[str, Any] = {}
    if odata_type:
        out["@odata.type"] = ODATA_TYPE[kind]
    for name in names:
        if name in allowed:
            out[name] = _get(obj, name)
    if "id" not in out:
        out["id"] = obj.id
    return out


#: organization properties this mock can answer; the ones the tenant model does not hold are null or empty, as in
#: a fresh tenant that never filled in its address.
ORGANIZATION_PROPERTIES = (
    "id", "deletedDateTime", "businessPhones", "city", "country", "countryLetterCode", "createdDateTime",
    "displayName", "marketingNotificationEmails", "onPremisesLastSyncDateTime", "onPremisesSyncEnabled",
    "postalCode", "preferredLanguage", "securityComplianceNotificationMails", "securityComplianceNotificationPhones",
    "state", "street", "technicalNotificationMails", "tenantType", "verifiedDomains",
)


def organization_json(tenant: Any, select: Iterable[str] | None = None) -> dict[str, Any]:
    """The tenant as Graph's ``organization`` resource; the first domain is the initial and default one."""
    domains = [{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": i == 0, "isInitial": i == 0,
                "name": name, "type": "Managed"} for i, name in enumerate(tenant.domains)]
    full: dict[str, Any] = {name: None for name in ORGANIZATION_PROPERTIES}
    full.update({
        "id": tenant.id, "businessPhones": [], "createdDateTime": iso(tenant.createdDateTime),
        "displayName": tenant.displayName, "marketingNotificationEmails": [],
        "securityComplianceNotificationMails": [], "securityComplianceNotificationPhones": [],
        "technicalNotificationMails": [], "tenantType": "AAD", "verifiedDomains": domains,
    })
    if not select:
        return full
    out = {name: full[name] for name in select if name in full}
    out.setdefault("id", tenant.id)
    return out


class JsonCache:
    """Encoded JSON of directory objects, reused while the object is unchanged.

    An importer pages through the same members again and again; re-encoding 999
    unchanged users per page would cost more than the HTTP stack itself. Entries
    are checked against the object itself (identity, so a purged and re-created
    id never hits a stale entry) and its ``Tenant.revision``; the cache is bounded
    (oldest entries leave first).
    """

    def __init__(self, tenant: Any, capacity: int = 200_000):
        self.tenant = tenant
        self.capacity = capacity
        self._entries: dict[tuple, tuple[Any, int, bytes]] = {}
        self._lock = threading.Lock()

    def encoded_many(self, objects: Iterable[User | Group], select: tuple[str, ...] | None, odata_type: bool) -> list[bytes]:
        """The encodings of a page of objects, in order (the hot loop of every collection page)."""
        entries, revisions, out = self._entries, self.tenant.revisions, []
        for obj in objects:
            hit = entries.get((obj.id, select, odata_type))
            if hit is not None and hit[0] is obj and hit[1] == revisions.get(obj.id, 0):
                out.append(hit[2])
            else:
                out.append(self.encoded(obj, select, odata_type))
        return out

    def encoded(self, obj: User | Group, select: tuple[str, ...] | None, odata_type: bool) -> bytes:
        key = (obj.id, select, odata_type)
        revision = self.tenant.revision(obj.id)
        hit = self._entries.get(key)
        if hit is not None and hit[0] is obj and hit[1] == revision:
            return hit[2]
        data = orjson.dumps(to_json(obj, select, odata_type))
        with self._lock:
            if len(self._entries) >= self.capacity:
                for stale in list(itertools.islice(iter(self._entries), max(1, self.capacity // 10))):
                    self._entries.pop(stale, None)
            self._entries[key] = (obj, revision, data)
        return data
