"""Entra's source attributes: the names mappings use (``[mail]``, ``[manager]``, ``[IsSoftDeleted]``) read from the model.

Provisioning mappings name source attributes in the provisioning schema's
vocabulary, which is not always Graph's: ``objectId`` is Graph's ``id``,
``mobile`` is ``mobilePhone``, ``telephoneNumber`` the first of ``businessPhones``,
``physicalDeliveryOfficeName`` is ``officeLocation``, ``manager`` is a reference
to another user. Two attributes are computed: ``IsSoftDeleted`` (true when the
user is unassigned, out of scope, soft-deleted or disabled; the caller decides,
see ``scoping``) and ``appRoleAssignments`` (the app roles the user holds).

A B2B guest's ``userPrincipalName`` reads as the guest's own address
(``alias_theirdomain#EXT#@ourdomain`` becomes ``alias@theirdomain``), as Entra
documents; ``originalUserPrincipalName`` keeps the full value.

Attributes Entra knows but the tenant model does not hold (``city``,
``postalCode``...) read as the model's attribute of the same name when it exists
and as null otherwise: a user without a value, which is never provisioned.
Directory extensions (``extension_<appId>_<name>``, ``extensionAttribute1..15``)
are read the same way.
"""

from __future__ import annotations

import difflib
import re
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable

USER, GROUP = "User", "Group"

EXTENSION_ATTRIBUTE = re.compile(r"^(extension_[0-9a-fA-F]{32}_[A-Za-z0-9_]+|extensionAttribute([1-9]|1[0-5]))$")


@dataclass(frozen=True)
class SourceAttribute:
    """One source attribute: how to read it, and what kind of value it holds."""

    name: str
    read: Callable[["SourceObject"], Any]
    multi_valued: bool = False
    reference: bool = False  # the value names other directory objects (manager, members)
    boolean: bool = False
    computed: bool = False


def _model(name: str) -> Callable[["SourceObject"], Any]:
    return lambda source: getattr(source.obj, name, None)


def external_address(upn: str) -> str:
    """The address a B2B guest's userPrincipalName stands for: ``alias_theirdomain#EXT#@us`` -> ``alias@theirdomain``."""
    head, marker, _tail = upn.partition("#EXT#")
    if not marker:
        return upn
    alias, underscore, domain = head.rpartition("_")
    return f"{alias}@{domain}" if underscore else head


def _user_principal_name(source: "SourceObject") -> str:
    return external_address(source.obj.userPrincipalName)


def _first_phone(source: "SourceObject") -> str | None:
    phones = getattr(source.obj, "businessPhones", None)
    return phones[0] if phones else None


def _attributes(*items: SourceAttribute) -> dict[str, SourceAttribute]:
    return {item.name: item for item in items}


USER_ATTRIBUTES: dict[str, SourceAttribute] = _attributes(
    SourceAttribute("objectId", lambda s: s.obj.id),
    SourceAttribute("userPrincipalName", _user_principal_name),
    SourceAttribute("originalUserPrincipalName", lambda s: s.obj.userPrincipalName),
    SourceAttribute("displayName", _model("displayName")),
    SourceAttribute("givenName", _model("givenName")),
    SourceAttribute("surname", _model("surname")),
    SourceAttribute("mail", _model("mail")),
    SourceAttribute("mailNickname", _model("mailNickname")),
    SourceAttribute("otherMails", lambda s: list(getattr(s.obj, "otherMails", None) or []), multi_valued=True),
    SourceAttribute("proxyAddresses", lambda s: list(getattr(s.obj, "proxyAddresses", None) or []), multi_valued=True),
    SourceAttribute("jobTitle", _model("jobTitle")),
    SourceAttribute("department", _model("department")),
    SourceAttribute("companyName", _model("companyName")),
    SourceAttribute("employeeId", _model("employeeId")),
    SourceAttribute("employeeType", _model("employeeType")),
    SourceAttribute("preferredLanguage", _model("preferredLanguage")),
    SourceAttribute("usageLocation", _model("usageLocation")),
    SourceAttribute("country", _model("country")),
    SourceAttribute("city", _model("city")),
    SourceAttribute("state", _model("state")),
    SourceAttribute("postalCode", _model("postalCode")),
    SourceAttribute("streetAddress", _model("streetAddress")),
    SourceAttribute("physicalDeliveryOfficeName", _model("officeLocation")),
    SourceAttribute("telephoneNumber", _first_phone),
    SourceAttribute("mobile", _model("mobilePhone")),
    SourceAttribute("facsimileTelephoneNumber", _model("faxNumber")),
    SourceAttribute("userType", _model("userType")),
    SourceAttribute("accountEnabled", _model("accountEnabled"), boolean=True),
    SourceAttribute("manager", _model("managerId"), reference=True),
    SourceAttribute("IsSoftDeleted", lambda s: s.soft_deleted, boolean=True, computed=True),
    SourceAttribute("appRoleAssignments", lambda s: list(s.app_role_assignments), multi_valued=True, computed=True),
)

GROUP_ATTRIBUTES: dict[str, SourceAttribute] = _attributes(
    SourceAttribute("objectId", lambda s: s.obj.id),
    SourceAttribute("displayName", _model("displayName")),
    SourceAttribute("description", _model("description")),
    SourceAttribute("mail", _model("mail")),
    SourceAttribute("mailNickname", _model("mailNickname")),
    SourceAttribute("mailEnabled", _model("mailEnabled"), boolean=True),
    SourceAttribute("securityEnabled", _model("securityEnabled"), boolean=True),
    SourceAttribute("members", lambda s: list(getattr(s.obj, "members", None) or ()), multi_valued=True, reference=True),
    SourceAttribute("IsSoftDeleted", lambda s: s.soft_deleted, boolean=True, computed=True),
)

VOCABULARY = {USER: USER_ATTRIBUTES, GROUP: GROUP_ATTRIBUTES}


def find_attribute(object_type: str, name: str) -> SourceAttribute | None:
    """The source attribute ``name`` of users or groups, directory extensions included; None if Entra has none."""
    known = VOCABULARY[object_type].get(name)
    if known is not None:
        return known
    if EXTENSION_ATTRIBUTE.match(name):
        return SourceAttribute(name, _model(name))
    return None


def suggest(object_type: str, name: str) -> str | None:
    """The attribute a misspelt ``name`` probably meant (case differences first)."""
    names = list(VOCABULARY[object_type])
    for known in names:
        if known.lower() == name.lower():
            return known
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.7)
    return close[0] if close else None


class SourceObject:
    """A user or group as the mappings see it: attributes by their Entra source names.

    ``get(name)`` is what expressions call for ``[name]``; it returns None for an
    attribute the object has no value for.
    """

    __slots__ = ("object_type", "obj", "soft_deleted", "app_role_assignments", "_vocabulary")

    def __init__(self, object_type: str, obj: Any, *, soft_deleted: bool = False,
                 app_role_assignments: Iterable[dict] = ()):
        self.object_type = object_type
        self.obj = obj
        self.soft_deleted = soft_deleted
        self.app_role_assignments = tuple(app_role_assignments)
        self._vocabulary = VOCABULARY[object_type]

    @classmethod
    def for_user(cls, user: Any, *, soft_deleted: bool = False, app_role_assignments: Iterable[dict] = ()) -> "SourceObject":
        return cls(USER, user, soft_deleted=soft_deleted, app_role_assignments=app_role_assignments)

    @classmethod
    def for_group(cls, group: Any, *, soft_deleted: bool = False) -> "SourceObject":
        return cls(GROUP, group, soft_deleted=soft_deleted)

    @property
    def id(self) -> str:
        return self.obj.id

    def get(self, name: str) -> Any:
        attribute = self._vocabulary.get(name)
        if attribute is None:
            attribute = find_attribute(self.object_type, name)
            if attribute is None:
                return None
        return attribute.read(self)

    def __repr__(self) -> str:
        return f"SourceObject({self.object_type} {self.obj.id})"


def app_role_id(role: str) -> str:
    """A stable id for an app role named ``role`` (the tenant model names roles; Entra gives them GUIDs)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"entrasim:appRole:{role}"))


def app_role_assignments(tenant: Any, user_id: str) -> list[dict]:
    """The app roles a user holds in the tenant model: direct assignment, then assigned groups it is a direct member of.

    Each is ``{"id", "value", "displayName"}``, the shape ``SingleAppRoleAssignment``
    and ``AppRoleAssignmentsComplex`` read; a role held twice is listed once.
    """
    with tenant.lock:
        roles: list[str] = []
        direct = tenant.assignments.get(user_id)
        if direct is not None:
            roles.append(direct.appRole)
        for assignment in tenant.assignments.values():
            if assignment.principalType != "Group":
                continue
            group = tenant.groups.get(assignment.principalId)
            if group is not None and user_id in group.members and assignment.appRole not in roles:
                roles.append(assignment.appRole)
    return [{"id": app_role_id(role), "value": role, "displayName": role} for role in roles]
