"""Entra's SCIM requests for generated objects, built by the provisioning client's own pieces.

Nothing here decides what a request looks like: the job preset's mappings
(``simulator/provisioning/presets``) turn a source object into target values,
``resources.creation_body`` nests them into the POST body, ``resources.diff`` and
``Dialect.attribute_operations`` make the update PATCH, ``Dialect.members_add`` /
``members_remove`` the membership PATCHes, ``Dialect.manager_set`` the manager
reference PATCH (on the preset's manager row), and ``ScimClient.equality_filter``
the matching query. The load test therefore sends byte for byte what
``entrasim provision`` sends, in either dialect, only faster and without the
job's pacing.

The cycle engine's own sequencing (``engine.py``) is private; the little of it a
load test needs (which matching attribute comes first, the query parameters of
a group match) is repeated in ``match_query``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson

from simulator.provisioning.attributes import GROUP, USER, SourceObject
from simulator.provisioning.job import parse_job, preset_text
from simulator.provisioning.mappings import ObjectMapping, TargetValues
from simulator.provisioning.resources import (
    Change,
    creation_body,
    diff,
    read_path,
    reference_id,
    reference_paths,
    same_value,
    target_paths,
)
from simulator.provisioning.scim_client import Dialect, ScimClient

from .directory import GeneratedGroup, GeneratedUser

PRESETS = ("customappsso", "email-keyed")
DIALECTS = ("default", "aadOptscim062020")


@dataclass(frozen=True)
class Mismatch:
    """One target attribute whose value on the server is not the one the builders sent."""

    path: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        return f"{self.path}: expected {self.expected!r}, found {self.actual!r}"


class EntraRequests:
    """Paths, query strings and bodies of Entra's requests for one job preset and one PATCH dialect."""

    def __init__(self, preset: str = "customappsso", dialect: str = "default"):
        if preset not in PRESETS:
            raise ValueError(f"unknown preset '{preset}'; presets: {', '.join(PRESETS)}")
        self.preset = preset
        self.dialect = Dialect(dialect)
        job = parse_job(preset_text(preset))
        self.mappings: dict[str, ObjectMapping] = {USER: job.users, GROUP: job.groups}
        self.paths = {kind: target_paths(mapping) for kind, mapping in self.mappings.items()}
        self.references = {kind: reference_paths(mapping) for kind, mapping in self.mappings.items()}
        self.members_per_patch = max(1, job.settings.members_per_patch)
        #: the user mapping's reference row (the enterprise extension's manager); None when the preset maps none
        self.manager_row = next((row for row in job.users.attributes if row.reference), None)

    # -- source objects
    @staticmethod
    def source(obj: GeneratedUser | GeneratedGroup) -> SourceObject:
        if isinstance(obj, GeneratedUser):
            return SourceObject.for_user(obj, soft_deleted=not obj.accountEnabled)
        return SourceObject.for_group(obj)

    def values(self, obj: GeneratedUser | GeneratedGroup, *, creating: bool) -> TargetValues:
        source = self.source(obj)
        return self.mappings[source.object_type].target_values(source, creating=creating)

    # -- requests
    def match_query(self, obj: GeneratedUser | GeneratedGroup) -> str:
        """``/Users?filter=userName+eq+%22...%22`` (groups: ``/Groups?excludedAttributes=members&filter=...``)."""
        source = self.source(obj)
        mapping = self.mappings[source.object_type]
        found = mapping.matching_values(source)
        if not found:
            raise ValueError(f"{source!r} has no value for any matching attribute")
        row, value = found[0]
        resource = "Users" if source.object_type == USER else "Groups"
        params = [("excludedAttributes", "members")] if resource == "Groups" else []
        params.append(("filter", ScimClient.equality_filter(row.target.text, str(value))))
        return f"/{resource}?{urlencode(params)}"

    def match_and_create(self, obj: GeneratedUser | GeneratedGroup) -> tuple[str, dict[str, Any]]:
        """The matching query and the create body of one object, from one evaluation of its mappings.

        The same requests as ``match_query`` and ``create_body``, at about half the
        client CPU: the first matching row's value is read from the target values
        the body is built from (it is the same mapping evaluated the same way).
        """
        source = self.source(obj)
        kind = source.object_type
        mapping = self.mappings[kind]
        values = mapping.target_values(source, creating=True)
        first = mapping.matching[0]
        value = values.get(first.target.text)
        if not isinstance(value, str) or not value:
            return self.match_query(obj), creation_body(kind, values, self.paths[kind])
        resource = "Users" if kind == USER else "Groups"
        params = [("excludedAttributes", "members")] if resource == "Groups" else []
        params.append(("filter", ScimClient.equality_filter(first.target.text, value)))
        return f"/{resource}?{urlencode(params)}", creation_body(kind, values, self.paths[kind])

    def create_body(self, obj: GeneratedUser | GeneratedGroup) -> dict[str, Any]:
        source = self.source(obj)
        values = self.mappings[source.object_type].target_values(source, creating=True)
        return creation_body(source.object_type, values, self.paths[source.object_type])

    def update_body(self, obj: GeneratedUser | GeneratedGroup, resource: dict[str, Any]) -> dict[str, Any] | None:
        """The PATCH Entra sends after reading ``resource`` back; None when nothing differs (RedundantExport)."""
        kind = USER if isinstance(obj, GeneratedUser) else GROUP
        changes: list[Change] = diff(self.values(obj, creating=False), resource, self.paths[kind],
                                     skip=self.references[kind])
        if not changes:
            return None
        return Dialect.body(self.dialect.attribute_operations(changes))

    def members_add_bodies(self, target_ids: list[str]) -> list[dict[str, Any]]:
        """The membership PATCHes of a new group: ``members_per_patch`` ids each, as the preset sets it."""
        size = self.members_per_patch
        return [Dialect.body(self.dialect.members_add(target_ids[start:start + size]))
                for start in range(0, len(target_ids), size)]

    def members_add_bytes(self, target_ids: list[str]) -> list[tuple[int, bytes]]:
        """``members_add_bodies`` as the bytes sent, each with the number of members it adds."""
        size = self.members_per_patch
        return [(len(target_ids[index * size:(index + 1) * size]), orjson.dumps(body))
                for index, body in enumerate(self.members_add_bodies(target_ids))]

    def members_remove_body(self, target_ids: list[str]) -> dict[str, Any]:
        return Dialect.body(self.dialect.members_remove(target_ids))

    def manager_body(self, manager_target_id: str, had_manager: bool) -> dict[str, Any]:
        """Entra's reference PATCH setting a user's manager (``Add``, or ``Replace`` over another manager)."""
        if self.manager_row is None:
            raise ValueError(f"preset '{self.preset}' maps no manager attribute")
        return Dialect.body(self.dialect.manager_set(self.manager_row.target, manager_target_id, had_manager))

    def manager_bytes(self, manager_target_id: str, had_manager: bool) -> bytes:
        """``manager_body`` as the bytes sent."""
        return orjson.dumps(self.manager_body(manager_target_id, had_manager))

    def manager_of(self, resource: dict[str, Any] | None) -> str | None:
        """The manager id a user resource read back from the target holds (None: none, or no manager row)."""
        if self.manager_row is None or resource is None:
            return None
        return reference_id(read_path(resource, self.manager_row.target))

    # -- checking
    def compare(self, obj: GeneratedUser | GeneratedGroup, resource: dict[str, Any]) -> list[Mismatch]:
        """Every mapped value (references aside) that ``resource`` does not hold as the builders sent it."""
        kind = USER if isinstance(obj, GeneratedUser) else GROUP
        mismatches = []
        for text, value in self.values(obj, creating=True).items():
            if text in self.references[kind]:
                continue
            current = read_path(resource, self.paths[kind][text])
            if not same_value(value, current):
                mismatches.append(Mismatch(text, value, current))
        return mismatches
