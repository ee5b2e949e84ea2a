"""The SCIM operations of one mock LMS: what each endpoint does, independent of HTTP.

The store holds state; this class applies the protocol to it: schema
validation, the profile's reading of Entra's dialect and its hooks, PATCH
atomicity, uniqueness, ETag preconditions, member references, filtering,
sorting, paging and rendering. Every read-modify-commit runs under the store's
lock and works on a copy, so a request that fails leaves the state exactly as
it was, and concurrent requests on one group serialise instead of losing
members. Methods return rendered JSON (never live records) so nothing outside
the lock touches a record another request may be changing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .errors import (InvalidFilter, InvalidValue, Mutability, NotFound, PreconditionFailed, ScimError, Sensitive,
                     TooMany, Uniqueness)
from .filters import Compare, Node, UnknownAttribute, ValuePath, alternatives, compile_filter, equality_terms, walk
from .members import MemberView
from .model import INDEXED, ScimStore
from .patch import PatchEngine, read_patch_request, working_copy
from .profiles import Profile, load_profile, work_email
from .projection import Projection, Renderer, parse_projection
from .query import Query, sort_key, sort_records
from .schemas import LIST_RESPONSE_URN, ResourceType, service_provider_config
from .validation import check_required, read_resource


@dataclass
class Outcome:
    """What an operation produced: the rendered resource (or None for 204), its status, version and location."""

    body: dict[str, Any] | None
    status: int
    version: str | None = None
    location: str | None = None


def _etag_matches(header: str, version: str) -> bool:
    """Weak comparison (RFC 7232 §2.3.2) of an If-Match / If-None-Match header against a version."""
    if header.strip() == "*":
        return True
    bare = version[2:] if version.startswith("W/") else version
    for tag in header.split(","):
        tag = tag.strip()
        tag = tag[2:] if tag.startswith("W/") else tag
        if tag == bare:
            return True
    return False


class ScimService:
    def __init__(self, store: ScimStore, profile: Profile | str = "rfc", realm: str = "entrasim-lms"):
        self.store = store
        self.profile = load_profile(profile)
        self.realm = realm
        self.registry = store.registry
        self.renderer = Renderer(self.registry, self._groups_for_render)
        # Worked out once per server, not once per request: the registry and the profile never change.
        self._computed_by_type = {name: self._make_computed(rt) for name, rt in self.registry.resource_types.items()}
        self._unique_keys = {name: self._make_unique_keys(rt) for name, rt in self.registry.resource_types.items()}
        self._equality_indexes = self._make_equality_indexes()
        self._projections: dict[tuple[Any, ...], Projection] = {}
        self._filter_options = self.profile.filter_options
        self._patch_engines = {name: PatchEngine(rt, self.registry, self.profile.patch, self.profile.values,
                                                 self._filter_options)
                               for name, rt in self.registry.resource_types.items()}

    # ---------------------------------------------------------------- helpers

    def resource_type(self, name: str) -> ResourceType:
        return self.registry.resource_type(name)

    def _groups_for_render(self, rid: str) -> list[dict[str, Any]]:
        ids = self.store.groups_of(rid)
        if not ids:  # most users in most answers: nothing to order
            return []
        out = []
        for gid in self.store_order(ids):
            group = self.store.get("Group", gid)
            if group is not None:
                out.append({"value": gid, "display": group.get("displayName")})
        return out

    def _make_computed(self, rtype: ResourceType) -> dict[str, Callable[[dict[str, Any]], Any]]:
        if rtype.name == "User":
            return {"groups": lambda record: self._groups_for_render(record["id"])}
        return {}

    def _computed(self, rtype: ResourceType) -> dict[str, Callable[[dict[str, Any]], Any]]:
        """Attributes of ``rtype`` that are not stored but computed (a User's ``groups``)."""
        return self._computed_by_type[rtype.name]

    def _make_unique_keys(self, rtype: ResourceType) -> tuple[str, ...]:
        keys = [a.name for a in rtype.schema.attributes if a.uniqueness in ("server", "global")]
        keys += [k for k in self.profile.unique.get(rtype.name, []) if k not in keys]
        return tuple(k for k in keys if self.store.has_index(rtype.name, k))

    def _make_equality_indexes(self) -> dict[tuple[str, str, str | None], str]:
        """(type, attribute, sub-attribute), lower-cased as a filter may write them -> the store's index key.

        Only attributes whose index compares as the attribute does (case-folded exactly when the schema
        says caseExact false) are listed: for them an index hit is the filter's answer, with no predicate.
        """
        out: dict[tuple[str, str, str | None], str] = {}
        for name, rtype in self.registry.resource_types.items():
            for key, index_case_exact in INDEXED.get(name, ()) + (("id", True),):
                attr_name, _, sub_name = key.partition(".")
                found = self.registry.lookup(rtype, None, attr_name)
                if found is None:
                    continue
                attr = found[1]
                leaf = attr.sub(sub_name) if sub_name else attr
                if leaf is None or leaf.is_complex or not leaf.is_text or leaf.case_exact != index_case_exact:
                    continue
                if bool(sub_name) != attr.multi_valued:  # "userName", or "emails.value" of a multi-valued one
                    continue
                if attr.name in self._computed_by_type[name]:
                    continue
                out[(name, attr_name.lower(), sub_name.lower() or None)] = key
        return out

    def store_order(self, ids: set[str] | list[str]) -> list[str]:
        """Ids in creation order (the order of an unsorted list), so answers are deterministic."""
        return self.store.ordered(ids)

    def find_work_email(self, email: str, exclude: str | None = None) -> set[str]:
        """Users whose key email (work, else primary, else first) is ``email``, case-insensitively."""
        with self.store.lock:
            ids = self.store.lookup("User", "emails.value", email)
            return {rid for rid in ids if rid != exclude
                    and (work_email(self.store.get("User", rid) or {}) or "").casefold() == email.casefold()}

    def render(self, rtype: ResourceType, record: dict[str, Any], base_url: str,
               projection: Projection | None = None) -> dict[str, Any]:
        return self.renderer.render(rtype, record, base_url, projection)

    def projection(self, rtypes: list[ResourceType], attributes: Any, excluded: Any) -> Projection:
        """The parsed ``attributes``/``excludedAttributes``; the few combinations clients send are remembered."""
        if not (attributes is None or isinstance(attributes, str)) or not (excluded is None or isinstance(excluded, str)):
            return parse_projection(attributes, excluded, rtypes, self.registry)
        key = (tuple(rt.name for rt in rtypes), attributes, excluded)
        projection = self._projections.get(key)
        if projection is None:
            projection = parse_projection(attributes, excluded, rtypes, self.registry)
            if len(self._projections) >= 256:
                self._projections.clear()
            self._projections[key] = projection
        return projection

    def _get(self, rtype: ResourceType, rid: str) -> dict[str, Any]:
        record = self.store.get(rtype.name, rid)
        if record is None:
            raise NotFound(f"{rtype.name} '{rid}' not found")
        return record

    @staticmethod
    def _check_if_match(record: dict[str, Any], if_match: str | None, if_none_match: str | None = None) -> None:
        version = record["meta"]["version"]
        if if_match is not None and not _etag_matches(if_match, version):
            raise PreconditionFailed(f"If-Match {if_match} does not match the current version {version}")
        if if_none_match is not None and _etag_matches(if_none_match, version):
            raise PreconditionFailed(f"If-None-Match {if_none_match} matches the current version {version}")

    def _check_unique(self, rtype: ResourceType, record: dict[str, Any], exclude: str | None) -> None:
        for key in self._unique_keys[rtype.name]:
            value = record.get(key)
            if not isinstance(value, str):
                continue
            taken = self.store.lookup(rtype.name, key, value) - {exclude}
            if taken:
                raise Uniqueness(f"{key} '{value}' is already used by {rtype.name} {sorted(taken)[0]}")

    def _check_members(self, rtype: ResourceType, member_ids: list[str], self_id: str | None) -> None:
        if rtype.name != "Group" or not self.profile.check_member_references:
            return
        for mid in member_ids:
            if self_id is not None and mid == self_id:
                raise InvalidValue(f"members: a group cannot be a member of itself ('{mid}')")
            if self.store.type_of(mid) is None:
                raise InvalidValue(f"members: '{mid}' is not the id of a User or Group on this server")

    def _respond(self, rtype: ResourceType, record: dict[str, Any], base_url: str, projection: Projection | None,
                 status: int, body: bool = True) -> Outcome:
        location = f"{base_url}{rtype.endpoint}/{record['id']}"
        rendered = self.render(rtype, record, base_url, projection) if body else None
        return Outcome(rendered, status, record["meta"]["version"], location)

    # ---------------------------------------------------------------- discovery

    def service_provider_config(self, base_url: str) -> dict[str, Any]:
        limits = self.profile.limits
        return service_provider_config(base_url, bulk_max_operations=limits.bulk_max_operations,
                                       bulk_max_payload=limits.bulk_max_payload_bytes,
                                       filter_max_results=limits.max_results, realm=self.realm)

    def list_response(self, resources: list[dict[str, Any]], total: int | None = None, start: int = 1) -> dict[str, Any]:
        return {"schemas": [LIST_RESPONSE_URN], "totalResults": len(resources) if total is None else total,
                "startIndex": start, "itemsPerPage": len(resources), "Resources": resources}

    def resource_types(self, base_url: str) -> list[dict[str, Any]]:
        return [rt.to_scim(base_url) for rt in self.registry.resource_types.values()]

    def schemas(self, base_url: str) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        for rt in self.registry.resource_types.values():
            for schema in [rt.schema] + [s for s, _ in rt.extensions]:
                seen.setdefault(schema.id, schema.to_scim(base_url))
        return list(seen.values())

    # ---------------------------------------------------------------- resources

    def create(self, rtype_name: str, body: Any, base_url: str, projection: Projection | None = None) -> Outcome:
        rtype = self.resource_type(rtype_name)
        record = read_resource(body, rtype, self.registry, self.profile.values)
        with self.store.lock:
            existing = self.profile.hooks.match_on_create(self, rtype.name, record)
            if existing is not None:
                return self._respond(rtype, self._get(rtype, existing), base_url, projection, 201)
            self.profile.hooks.prepare(self, rtype.name, record, True)
            self._check_unique(rtype, record, None)
            members = [m["value"] for m in record.get("members") or []]
            self._check_members(rtype, members, None)
            stored = self.store.insert(rtype.name, record)
            return self._respond(rtype, stored, base_url, projection, 201)

    def get(self, rtype_name: str, rid: str, base_url: str, projection: Projection | None = None,
            if_none_match: str | None = None) -> Outcome:
        rtype = self.resource_type(rtype_name)
        with self.store.lock:
            record = self._get(rtype, rid)
            if if_none_match is not None and _etag_matches(if_none_match, record["meta"]["version"]):
                return Outcome(None, 304, record["meta"]["version"], f"{base_url}{rtype.endpoint}/{rid}")
            return self._respond(rtype, record, base_url, projection, 200)

    def replace(self, rtype_name: str, rid: str, body: Any, base_url: str, projection: Projection | None = None,
                if_match: str | None = None, if_none_match: str | None = None) -> Outcome:
        rtype = self.resource_type(rtype_name)
        new = read_resource(body, rtype, self.registry, self.profile.values)
        with self.store.lock:
            current = self._get(rtype, rid)
            self._check_if_match(current, if_match, if_none_match)
            self._check_immutables(rtype, current, new)
            new["id"] = rid
            self.profile.hooks.prepare(self, rtype.name, new, False)
            return self._commit_update(rtype, current, new, base_url, projection, patch=False)

    def _check_immutables(self, rtype: ResourceType, current: dict[str, Any], new: dict[str, Any]) -> None:
        """PUT may not change an immutable attribute that has a value (RFC 7644 §3.5.1)."""
        containers = [(None, rtype.schema)] + [(s.id, s) for s, _ in rtype.extensions]
        for urn, schema in containers:
            old_c = current.get(urn) if urn else current
            new_c = new.get(urn) if urn else new
            for attr in schema.attributes:
                if attr.mutability != "immutable" or not old_c:
                    continue
                old_v = old_c.get(attr.name)
                if old_v is not None and (new_c or {}).get(attr.name) not in (None, old_v):
                    raise Mutability(f"'{attr.name}' is immutable: it has a value and cannot be changed")

    def patch(self, rtype_name: str, rid: str, body: Any, base_url: str, projection: Projection | None = None,
              if_match: str | None = None, if_none_match: str | None = None) -> Outcome:
        rtype = self.resource_type(rtype_name)
        operations = read_patch_request(body, rtype, self.registry, self.profile.patch)
        engine = self._patch_engines[rtype.name]
        with self.store.lock:
            current = self._get(rtype, rid)
            self._check_if_match(current, if_match, if_none_match)
            working = working_copy(current)
            engine.apply(working, operations)
            check_required(working, rtype)
            self.profile.hooks.prepare(self, rtype.name, working, False)
            return self._commit_update(rtype, current, working, base_url, projection, patch=True)

    def _commit_update(self, rtype: ResourceType, current: dict[str, Any], updated: dict[str, Any], base_url: str,
                       projection: Projection | None, patch: bool) -> Outcome:
        rid = current["id"]
        members = updated.get("members")
        if isinstance(members, MemberView):
            added, _removed = members.changes()
        elif rtype.name == "Group":
            added = [m["value"] for m in members or [] if m["value"] not in current["members"]]
        else:
            added = []
        self._check_members(rtype, added, rid)
        if self.profile.hooks.fork_on_update(self, rtype.name, current, updated):
            fork = {k: v for k, v in updated.items() if k not in ("id", "meta")}
            self._check_unique(rtype, fork, rid)
            created = self.store.insert(rtype.name, fork)
            return self._respond(rtype, created, base_url, projection, 201)
        self._check_unique(rtype, updated, rid)
        stored = self.store.commit(rtype.name, rid, updated)
        if patch:
            answer = self.profile.patch_response.get(rtype.name, "resource")
            if answer == "no_content" and not (projection and projection.explicit):
                return self._respond(rtype, stored, base_url, projection, 204, body=False)
        return self._respond(rtype, stored, base_url, projection, 200)

    def delete(self, rtype_name: str, rid: str, if_match: str | None = None) -> None:
        rtype = self.resource_type(rtype_name)
        with self.store.lock:
            current = self._get(rtype, rid)
            self._check_if_match(current, if_match)
            self.store.delete(rtype.name, rid)

    # ---------------------------------------------------------------- queries

    def _candidates(self, rtype: ResourceType, query: Query) -> list[str] | None:
        """Ids the filter can match, from the indexes; None when every resource must be tested."""
        if query.filter is None:
            return None
        found: set[str] = set()
        index_keys = {"id": "id", "username": "userName", "externalid": "externalId", "displayname": "displayName",
                      "emails.value": "emails.value"}
        for branch in alternatives(query.filter):
            terms = equality_terms(branch) or []
            best: set[str] | None = None
            for key, value in terms:
                canonical = index_keys.get(key.lower())
                if canonical is None or not self.store.has_index(rtype.name, canonical):
                    continue
                ids = self.store.lookup(rtype.name, canonical, value)
                if best is None or len(ids) < len(best):
                    best = ids
            if best is None:
                return None
            found |= best
        return self.store_order(found)

    def _indexed_equality(self, rtype: ResourceType, node: Node | None) -> list[str] | None:
        """The ids matching ``attr eq "text"`` on an attribute the store indexes as the filter compares it,
        in creation order; None for any other filter (it is compiled and tested as usual)."""
        if type(node) is not Compare or node.op != "eq" or type(node.value) is not str or node.path.urn is not None:
            return None
        path = node.path
        key = self._equality_indexes.get((rtype.name, path.attr.lower(), path.sub.lower() if path.sub else None))
        if key is None:
            return None
        return self.store_order(self.store.lookup(rtype.name, key, node.value))

    def _refuse_secret_filters(self, rtypes: list[ResourceType], query: Query, in_uri: bool) -> None:
        """A filter may not test a never-returned attribute (the password): in a URL it is ``sensitive``
        (RFC 7644 §3.12, §7.5.2), in a /.search body it is simply not filterable."""
        if query.filter is None:
            return
        for node in walk(query.filter):
            path = getattr(node, "path", None)
            if path is None or isinstance(node, ValuePath):
                continue
            for rtype in rtypes:
                found = self.registry.lookup(rtype, path.urn, path.attr)
                if found is not None and found[1].returned == "never":
                    if in_uri:
                        raise Sensitive(f"'{path.text}' must not travel in a URL: filter on it with POST "
                                        f"{rtype.endpoint}/.search, if at all (RFC 7644 §7.5.2)")
                    raise InvalidFilter(f"'{path.text}' is never returned and cannot be filtered on")

    def query(self, rtype_names: list[str], query: Query, base_url: str, in_uri: bool = False) -> dict[str, Any]:
        """A ListResponse for a GET on a collection, a /.search, or a root search over several types."""
        rtypes = [self.resource_type(n) for n in rtype_names]
        self._refuse_secret_filters(rtypes, query, in_uri)
        projection = self.projection(rtypes, query.attributes, query.excluded)
        limits = self.profile.limits
        with self.store.lock:
            matched: list[tuple[ResourceType, dict[str, Any]]] = []
            compiled = {}
            errors: list[ScimError] = []
            indexed: dict[str, list[str]] = {}
            for rtype in rtypes:
                if query.filter is None:
                    compiled[rtype.name] = None
                    continue
                hits = self._indexed_equality(rtype, query.filter)
                if hits is not None:  # the index answers exactly: nothing to compile or test
                    indexed[rtype.name] = hits
                    compiled[rtype.name] = None
                    continue
                try:
                    compiled[rtype.name] = compile_filter(query.filter, rtype, self.registry,
                                                          computed=self._computed(rtype),
                                                          options=self._filter_options)
                except UnknownAttribute as exc:
                    errors.append(exc)
            if errors and len(errors) == len(rtypes):
                raise errors[0]
            for rtype in rtypes:
                if rtype.name not in compiled:  # a root search: attributes of the other types read as absent
                    compiled[rtype.name] = compile_filter(query.filter, rtype, self.registry,
                                                          computed=self._computed(rtype),
                                                          options=self._filter_options, lenient=True)
            for rtype in rtypes:
                predicate = compiled[rtype.name]
                candidates = indexed[rtype.name] if rtype.name in indexed else self._candidates(rtype, query)
                if candidates is None:
                    records = [r for _, r in self.store.records(rtype.name)]
                else:
                    records = [r for rid in candidates if (r := self.store.get(rtype.name, rid)) is not None]
                if predicate is not None:
                    records = [r for r in records if predicate(r)]
                matched.extend((rtype, r) for r in records)
            if limits.too_many_results is not None and query.filter is not None and len(matched) > limits.too_many_results:
                raise TooMany(f"the filter matches {len(matched)} resources, more than this server processes at once "
                              f"({limits.too_many_results}); narrow it")
            if query.sort_by:
                keys = {rt.name: sort_key(rt, self.registry, query.sort_by, self._computed(rt)) for rt in rtypes}
                if all(k is None for k in keys.values()):
                    raise InvalidValue(f"sortBy '{query.sort_by}' is not an attribute of "
                                       f"{' or '.join(rt.name for rt in rtypes)}")
                by_record = {id(r): rt for rt, r in matched}

                def key(record: dict[str, Any]) -> Any:
                    fn = keys[by_record[id(record)].name]
                    return fn(record) if fn is not None else None

                ordered = sort_records([r for _, r in matched], key, query.descending)
                matched = [(by_record[id(r)], r) for r in ordered]
            total = len(matched)
            count = limits.max_results if query.count is None else min(query.count, limits.max_results)
            page = matched[query.start_index - 1: query.start_index - 1 + count]
            resources = [self.render(rt, r, base_url, projection) for rt, r in page]
        return self.list_response(resources, total, query.start_index)

    # ---------------------------------------------------------------- state

    def export_state(self) -> dict[str, Any]:
        return self.store.export_state()

    def import_state(self, state: Any) -> dict[str, int]:
        return self.store.import_state(state)
