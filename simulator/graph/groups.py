"""``/groups`` routes: the collection, one group, and its direct and transitive members.

Members are a directoryObject collection: every item carries ``@odata.type`` so
that clients (msgraph-sdk) can tell users from nested groups. Soft-deleted users
stay remembered in a group but are not listed, as in Entra.
"""

from __future__ import annotations

from flask import Response

from .api import GROUP_READ, graph_route
from .resources import (
    DIRECTORY_TYPES,
    cast_entity,
    cast_filter,
    cast_target,
    collection_response,
    count_response,
    entity_response,
    find_group,
    objects_by_id,
    options_for,
    tenant,
)

#: Types a group's members can have; this mock models users and groups, the others answer empty collections.
MEMBER_TYPES = ("microsoft.graph.user", "microsoft.graph.group", "microsoft.graph.device", "microsoft.graph.orgContact",
                "microsoft.graph.servicePrincipal", "microsoft.graph.application")


def _all_groups() -> list:
    t = tenant()
    with t.lock:
        return list(t.groups.values())


@graph_route("/groups", needs=(GROUP_READ,))
def list_groups() -> Response:
    options = options_for("group")
    return collection_response(_all_groups, options, "groups", odata_type=False)


@graph_route("/groups/$count", needs=(GROUP_READ,))
def count_groups() -> Response:
    return count_response(_all_groups, "group")


@graph_route("/groups/<ident>", needs=(GROUP_READ,))
def get_group(ident: str) -> Response:
    group = find_group(ident)
    return entity_response(group, options_for("group"))


def _members(ident: str, transitive: bool, type_name: str | None):
    """Direct or nested members, optionally narrowed by a cast; returns (compute, entity, entity set)."""
    group = find_group(ident)
    relationship = "transitiveMembers" if transitive else "members"
    if type_name is None:
        keep, entity, entity_set = None, "directoryObject", "directoryObjects"
    else:
        name = cast_target(type_name, MEMBER_TYPES, relationship)
        keep, entity, entity_set = cast_filter(name), cast_entity(name), DIRECTORY_TYPES[name]

    def compute() -> list:
        t = tenant()
        objects = objects_by_id(t.transitive_member_ids(group.id)) if transitive else t.member_objects(group.id)
        return objects if keep is None else [obj for obj in objects if keep(obj)]

    return compute, entity, entity_set


@graph_route("/groups/<ident>/members", needs=(GROUP_READ,), cost=3, endpoint="members")
@graph_route("/groups/<ident>/members/<type_name>", needs=(GROUP_READ,), cost=3, endpoint="members")
def members(ident: str, type_name: str | None = None) -> Response:
    compute, entity, entity_set = _members(ident, False, type_name)
    return collection_response(compute, options_for(entity), entity_set, odata_type=True)


@graph_route("/groups/<ident>/transitiveMembers", needs=(GROUP_READ,), cost=5, endpoint="transitive_members")
@graph_route("/groups/<ident>/transitiveMembers/<type_name>", needs=(GROUP_READ,), cost=5,
             endpoint="transitive_members")
def transitive_members(ident: str, type_name: str | None = None) -> Response:
    compute, entity, entity_set = _members(ident, True, type_name)
    return collection_response(compute, options_for(entity), entity_set, odata_type=True)


@graph_route("/groups/<ident>/members/$count", needs=(GROUP_READ,), cost=3, endpoint="count_members")
@graph_route("/groups/<ident>/members/<type_name>/$count", needs=(GROUP_READ,), cost=3, endpoint="count_members")
def count_members(ident: str, type_name: str | None = None) -> Response:
    compute, entity, _set = _members(ident, False, type_name)
    return count_response(compute, entity)


@graph_route("/groups/<ident>/transitiveMembers/$count", needs=(GROUP_READ,), cost=5,
             endpoint="count_transitive_members")
@graph_route("/groups/<ident>/transitiveMembers/<type_name>/$count", needs=(GROUP_READ,), cost=5,
             endpoint="count_transitive_members")
def count_transitive_members(ident: str, type_name: str | None = None) -> Response:
    compute, entity, _set = _members(ident, True, type_name)
    return count_response(compute, entity)
