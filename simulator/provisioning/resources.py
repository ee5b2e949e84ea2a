"""SCIM resources as Entra's provisioning service builds and reads them.

Three jobs, all pure functions over plain dicts:

- ``creation_body``: the ``POST /Users`` or ``POST /Groups`` body built from an
  object's target values (``{"userName": ..., "name.givenName": ...,
  'emails[type eq "work"].value': ...}``), nested the way Entra nests them: both
  user schema URNs, ``meta.resourceType``, ``active`` as a JSON boolean, a
  ``primary`` work email, enterprise attributes under their URN, groups created
  with an empty ``members`` list. Reference attributes (manager, members) are
  never part of a create: the engine sends them once the referenced objects exist.
- ``read_path``: the value a target path names in a resource read back from the
  server (``GET /Users/{id}``), with SCIM's case-insensitive attribute names and
  value filters.
- ``diff``: which target values differ from what the server holds, with the
  comparison Entra makes (booleans as "True"/"False", text compared exactly, so a
  value the server does not store as it was sent is re-sent every cycle).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .attributes import GROUP, USER
from .mappings import ENTERPRISE_USER, ObjectMapping, SourceReference, TargetPath

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LEGACY_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

#: Target attributes whose values are SCIM booleans (Entra computes them as "True"/"False" text).
BOOLEAN_TARGETS = frozenset({"active"})


@dataclass(frozen=True)
class Change:
    """One target attribute to update: its path, the value the server holds (None: no value) and the new one."""

    path: TargetPath
    old: Any
    new: Any

    @property
    def adds(self) -> bool:
        """Entra's ``Add`` (the target had no value) rather than ``Replace``."""
        return self.old is None or self.old == "" or self.old == []


def target_paths(mapping: ObjectMapping) -> dict[str, TargetPath]:
    """``{path text: TargetPath}`` of an object mapping's rows."""
    return {row.target.text: row.target for row in mapping.attributes}


def reference_paths(mapping: ObjectMapping) -> frozenset[str]:
    """Paths of reference rows (manager, members): resolved by the engine, never part of a create or a diff."""
    return frozenset(row.target.text for row in mapping.attributes if row.reference)


# ------------------------------------------------------------------ values


def to_boolean(value: Any) -> Any:
    """"True"/"False" (any case) as a JSON boolean; anything else unchanged."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _is_boolean_target(path: TargetPath) -> bool:
    return path.urn is None and path.filter_attribute is None and path.sub_attribute is None \
        and path.attribute.lower() in BOOLEAN_TARGETS


def wire_value(path: TargetPath, value: Any, *, booleans: bool) -> Any:
    """A target value as it goes on the wire: ``active`` becomes a JSON boolean when ``booleans`` is set."""
    if booleans and _is_boolean_target(path):
        return to_boolean(value)
    return value


def comparable(value: Any) -> Any:
    """The form two values are compared in: text, booleans as "True"/"False", lists of those."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if isinstance(value, list):
        return [comparable(item) for item in value]
    if isinstance(value, dict):
        return {key: comparable(item) for key, item in value.items()}
    return value


def same_value(desired: Any, current: Any) -> bool:
    """Whether the server already holds ``desired``: exact text, except booleans, which compare in any case."""
    want, have = comparable(desired), comparable(current)
    if have is None:
        return want is None
    if isinstance(want, str) and isinstance(have, str) and want.lower() in ("true", "false"):
        return want.lower() == have.lower()
    return want == have


# ------------------------------------------------------------------ reading a resource


def _get(container: Any, name: str) -> Any:
    """A member of a JSON object by SCIM attribute name (case-insensitive, RFC 7643 §2.1)."""
    if not isinstance(container, Mapping):
        return None
    if name in container:
        return container[name]
    lowered = name.lower()
    for key, value in container.items():
        if key.lower() == lowered:
            return value
    return None


def read_path(resource: Mapping[str, Any], path: TargetPath) -> Any:
    """The value ``path`` names in ``resource`` (None when absent)."""
    container: Any = resource
    if path.urn is not None:
        container = _get(resource, path.urn)
    value = _get(container, path.attribute)
    if path.filter_attribute is not None:
        if not isinstance(value, list):
            return None
        wanted = (path.filter_value or "").lower()
        for element in value:
            if isinstance(element, Mapping) and str(comparable(_get(element, path.filter_attribute))).lower() == wanted:
                value = element
                break
        else:
            return None
    if path.sub_attribute is not None:
        return _get(value, path.sub_attribute)
    return value


def reference_id(value: Any) -> str | None:
    """The id a reference holds: ``{"value": id}``, ``[{"value": id}]`` or a bare string (manager)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, Mapping):
        value = _get(value, "value")
    if value is None or value == "":
        return None
    return str(value)


# ------------------------------------------------------------------ diff


def diff(values: Mapping[str, Any], resource: Mapping[str, Any], paths: Mapping[str, TargetPath],
         skip: Iterable[str] = ()) -> list[Change]:
    """Target values the server does not hold yet, in mapping order; ``skip`` leaves paths out (references)."""
    skipped = frozenset(skip)
    changes = []
    for text, value in values.items():
        if text in skipped or isinstance(value, SourceReference):
            continue
        path = paths[text]
        current = read_path(resource, path)
        if not same_value(value, current):
            changes.append(Change(path, current, value))
    return changes


# ------------------------------------------------------------------ creating


def _element(container: dict[str, Any], path: TargetPath, attribute: str) -> dict[str, Any]:
    """The element of a multi-valued attribute a value filter names, created when missing."""
    items = container.setdefault(attribute, [])
    for element in items:
        if str(element.get(path.filter_attribute)).lower() == (path.filter_value or "").lower():
            return element
    element: dict[str, Any] = {}
    if attribute == "emails" and (path.filter_value or "").lower() == "work":
        element["primary"] = True  # Entra's documented create body marks the work email primary
    element[path.filter_attribute] = path.filter_value
    items.append(element)
    return element


def place(body: dict[str, Any], path: TargetPath, value: Any) -> None:
    """Put ``value`` at ``path`` inside ``body`` (nested objects and filtered elements created as needed)."""
    container = body.setdefault(path.urn, {}) if path.urn is not None else body
    if path.filter_attribute is not None:
        element = _element(container, path, path.attribute)
        element[path.sub_attribute or "value"] = value
    elif path.sub_attribute is not None:
        container.setdefault(path.attribute, {})[path.sub_attribute] = value
    else:
        container[path.attribute] = value


def creation_body(object_type: str, values: Mapping[str, Any], paths: Mapping[str, TargetPath], *,
                  legacy_group_schema: bool = False) -> dict[str, Any]:
    """The body of ``POST /Users`` or ``POST /Groups`` for these target values (references left out)."""
    if object_type == USER:
        body: dict[str, Any] = {"schemas": [CORE_USER, ENTERPRISE_USER]}
    else:
        body = {"schemas": [CORE_GROUP, LEGACY_GROUP] if legacy_group_schema else [CORE_GROUP]}
    for text, value in values.items():
        if isinstance(value, SourceReference):
            continue
        path = paths[text]
        place(body, path, wire_value(path, value, booleans=True))
    if object_type == GROUP:
        body["members"] = []
    body["meta"] = {"resourceType": object_type}
    return body


def display_of(object_type: str, values: Mapping[str, Any], fallback: str) -> str:
    """How a log names the object: its userName / displayName target value, else ``fallback``."""
    key = "userName" if object_type == USER else "displayName"
    value = values.get(key)
    return value if isinstance(value, str) and value else fallback
