"""Shared pieces of the directory routes: path identifiers, OData context URLs, entities and paged collections.

Routes in :mod:`.users` and :mod:`.groups` only pick the objects; how an entity or
a collection page looks on the wire (``@odata.context``, ``@odata.count``,
``@odata.nextLink``, ``@odata.type`` per item, ``$expand``) is decided here once.
"""

from __future__ import annotations

import functools

import re
from typing import Callable, Iterable, Sequence

import orjson
from flask import Response, request

from ..tenant import Group, Tenant, User
from . import paging
from .context import ctx
from .errors import (
    JSON_CONTENT_TYPE,
    CountNotSupported,
    InvalidObjectIdentifier,
    NoRoute,
    ResourceNotFound,
    UnsupportedCast,
)
from .odata import QueryOptions, apply, parse_options
from .serialize import ENTITY_SET, to_json

METADATA = "https://graph.microsoft.com/v1.0/$metadata"
#: $expand returns at most this many related objects, without a nextLink (reference 1.7).
EXPAND_LIMIT = 20

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

#: Directory types Graph knows, with their entity sets: the vocabulary of type-cast segments.
DIRECTORY_TYPES = {
    "microsoft.graph.user": "users",
    "microsoft.graph.group": "groups",
    "microsoft.graph.device": "devices",
    "microsoft.graph.orgContact": "contacts",
    "microsoft.graph.servicePrincipal": "servicePrincipals",
    "microsoft.graph.application": "applications",
    "microsoft.graph.directoryRole": "directoryRoles",
    "microsoft.graph.administrativeUnit": "administrativeUnits",
}
#: Casts may use the full namespace or its CSDL alias ``graph`` (msgraph-sdk sends ``.../members/graph.user``).
_TYPE_BY_LOWER = {alias.lower(): name for name in DIRECTORY_TYPES
                  for alias in (name, "graph." + name.removeprefix("microsoft.graph."))}
_MODEL_TYPE = {"microsoft.graph.user": User, "microsoft.graph.group": Group}
_ENTITY_OF = {User: "user", Group: "group"}


def tenant() -> Tenant:
    return ctx().tenant


def is_guid(text: str) -> bool:
    return bool(_GUID.match(text))


# ------------------------------------------------------------------ lookups
def find_user(ident: str) -> User:
    """``/users/{id | userPrincipalName}``: a GUID is an id, anything with '@' a UPN, the rest malformed."""
    t = tenant()
    if is_guid(ident):
        with t.lock:
            user = t.users.get(ident) or t.users.get(ident.lower())
        if user is None:
            raise ResourceNotFound(ident)
        return user
    if "@" not in ident:
        raise InvalidObjectIdentifier(ident)
    return t.get_user(ident)  # ObjectNotFound becomes Graph's 404 in the blueprint


def find_group(ident: str) -> Group:
    if not is_guid(ident):
        raise InvalidObjectIdentifier(ident)
    t = tenant()
    with t.lock:
        group = t.groups.get(ident) or t.groups.get(ident.lower())
    if group is None:
        raise ResourceNotFound(ident)
    return group


def objects_by_id(ids: Iterable[str]) -> list[User | Group]:
    """Active users and groups for ``ids``, in order; ids that are gone are skipped."""
    t = tenant()
    users, groups = t.users, t.groups
    with t.lock:
        out = []
        for object_id in ids:
            obj = users.get(object_id) or groups.get(object_id)
            if obj is not None:
                out.append(obj)
        return out


def still_in_directory(obj: object) -> bool:
    """For later pages: the object was not deleted (or replaced) since the first page."""
    t = tenant()
    oid = obj.id  # type: ignore[attr-defined]
    return (t.users.get(oid) or t.groups.get(oid)) is obj


# ------------------------------------------------------------------ casts
def cast_target(segment: str, allowed: Sequence[str], relationship: str) -> str:
    """Resolve a type-cast segment: a Graph type name the relationship can hold.

    Not a directory type at all: an unknown segment. A directory type the
    relationship cannot hold: ``Request_UnsupportedQuery``.
    """
    name = _TYPE_BY_LOWER.get(segment.lower())
    if name is None:
        raise NoRoute(segment)
    if name not in allowed:
        raise UnsupportedCast(name, relationship)
    return name


def cast_filter(type_name: str) -> Callable[[object], bool]:
    kind = _MODEL_TYPE.get(type_name)
    return (lambda obj: isinstance(obj, kind)) if kind is not None else (lambda obj: False)


def cast_entity(type_name: str) -> str:
    kind = _MODEL_TYPE.get(type_name)
    return _ENTITY_OF[kind] if kind is not None else "directoryObject"


# ------------------------------------------------------------------ options
def options_for(entity: str, *, count_segment: bool = False) -> QueryOptions:
    """Parse the request's query options for ``entity``.

    The ``/$count`` segment is itself a count: Graph accepts advanced filters on
    it without a separate ``$count=true`` (``/users/$count?$filter=endswith(...)``).
    """
    args: dict[str, str] = {key: request.args[key] for key in request.args}
    if count_segment and not any(key.lower() == "$count" for key in args):
        args["$count"] = "true"
    consistency = request.headers.get("ConsistencyLevel") or ""
    return _parsed_options(entity, tuple(args.items()), consistency)


@functools.lru_cache(maxsize=1024)
def _parsed_options(entity: str, args: tuple[tuple[str, str], ...], consistency: str) -> QueryOptions:
    """Parsing depends only on the options and one header: importers repeat the same query, so remember it.

    Callers treat the returned options as read-only; an error is raised again on every call.
    """
    return parse_options(dict(args), {"ConsistencyLevel": consistency} if consistency else {}, entity)


def run_query(options: QueryOptions, objects: Sequence[object]) -> Sequence[object]:
    """Filter, search and order (odata.py); a plain listing skips the pass over the directory."""
    if options.filter is None and options.search is None and not options.orderby:
        return objects
    return apply(options, objects)


# ------------------------------------------------------------------ rendering
def json_response(body: dict, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, content_type=JSON_CONTENT_TYPE)


def context_url(entity_set: str, options: QueryOptions | None, *, entity: bool = False) -> str:
    """``$metadata#users``, ``#users(id,displayName)``, ``#users(id,manager(displayName))/$entity``..."""
    parts: list[str] = []
    if options is not None:
        parts.extend(options.select or ())
        for nav in options.expand:
            parts.append(f"{nav}({','.join(options.expand_select.get(nav) or ())})")
    url = f"{METADATA}#{entity_set}"
    if parts:
        url += f"({','.join(parts)})"
    if entity:
        url += "/$entity"
    return url


def render(obj: User | Group, options: QueryOptions | None, *, odata_type: bool) -> dict:
    """One object with ``$select`` applied and ``$expand`` (manager or members, at most 20) inlined."""
    body = to_json(obj, options.select if options is not None else None, odata_type=odata_type)
    if options is None or not options.expand:
        return body
    t = tenant()
    if "manager" in options.expand and isinstance(obj, User) and obj.managerId:
        manager = t.users.get(obj.managerId)
        if manager is not None:
            body["manager"] = to_json(manager, options.expand_select.get("manager"), odata_type=True)
    if "members" in options.expand and isinstance(obj, Group):
        members = []
        with t.lock:
            for member_id in obj.members:
                member = t.users.get(member_id) or t.groups.get(member_id)
                if member is not None:
                    members.append(member)
                    if len(members) == EXPAND_LIMIT:
                        break
        body["members"] = [to_json(m, options.expand_select.get("members"), odata_type=True) for m in members]
    return body


def entity_response(obj: User | Group, options: QueryOptions, *, entity_set: str | None = None,
                    odata_type: bool = False) -> Response:
    entity_set = entity_set or ENTITY_SET[type(obj)]
    body = {"@odata.context": context_url(entity_set, options, entity=True)}
    body.update(render(obj, options, odata_type=odata_type))
    return json_response(body)


def collection_response(compute: Callable[[], Sequence[object]], options: QueryOptions, entity_set: str, *,
                        odata_type: bool) -> Response:
    """One page of a collection: the first runs ``compute``; later ones read the cursor behind ``$skiptoken``.

    First pages are served from ``ResultCache`` while the directory is unchanged:
    the query result, and without ``$expand`` the encoded page itself.
    """
    context = ctx()
    config = context.config
    args = paging.query_options()
    top = paging.page_size(args, config.default_page_size, config.max_page_size)
    first_page = "$skiptoken" not in args
    query_key = None
    if first_page:
        consistency = (request.headers.get("ConsistencyLevel") or "").strip().lower()
        query_key = ("query", request.path, tuple(sorted(args.items())), consistency)
    revision = context.tenant.last_revision

    def run() -> Sequence[object]:
        if query_key is None:
            return run_query(options, compute())
        return context.results.result(query_key, lambda: run_query(options, compute()))

    page = paging.paginate(request.path, run, top, count=options.count, alive=still_in_directory)
    body: dict = {"@odata.context": context_url(entity_set, options)}
    if page.total is not None:
        body["@odata.count"] = page.total
    if page.next_token is not None:
        body["@odata.nextLink"] = paging.next_link(page.next_token)
    if options.expand:
        body["value"] = [render(obj, options, odata_type=odata_type) for obj in page.items]
        return json_response(body)
    # Without $expand every item is a cached encoding: splice them into the envelope. A first page
    # that is the whole answer (no nextLink, whose token is new each time) is kept as a whole body.
    page_key = ("page", query_key, odata_type) if query_key is not None else None
    body_key = ("body", page_key) if page_key is not None and page.next_token is None else None
    whole = context.results.get(body_key) if body_key is not None else None
    if whole is not None:
        return Response(whole, content_type=JSON_CONTENT_TYPE)
    items = context.results.get(page_key) if page_key is not None else None
    if items is None:
        select = tuple(options.select) if options.select else None
        items = b",".join(context.json_cache.encoded_many(page.items, select, odata_type))
        if page_key is not None:
            context.results.put(page_key, items, revision)
    envelope = orjson.dumps(body)
    whole = b"".join((envelope[:-1], b',"value":[', items, b"]}"))
    if body_key is not None:
        context.results.put(body_key, whole, revision)
    return Response(whole, content_type=JSON_CONTENT_TYPE)


def count_response(compute: Callable[[], Sequence[object]], entity: str) -> Response:
    """The ``/$count`` segment: a bare number as text/plain, only with ``ConsistencyLevel: eventual``.

    The header is checked before the query options: without it Graph refuses the
    segment itself, whatever the filter.
    """
    if (request.headers.get("ConsistencyLevel") or "").strip().lower() != "eventual":
        raise CountNotSupported()
    options = options_for(entity, count_segment=True)
    return Response(str(len(run_query(options, compute()))), content_type="text/plain;charset=utf-8")
