"""``/users`` routes: the collection, one user (by id or UPN), the manager, and group memberships.

Soft-deleted users are invisible here, as in Graph (they live under
``/directory/deletedItems``, which this mock does not serve).
"""

from __future__ import annotations

from flask import Response

from .api import GROUP_READ, USER_READ, graph_route
from .errors import ResourceNotFound
from .resources import (
    DIRECTORY_TYPES,
    cast_entity,
    cast_filter,
    cast_target,
    collection_response,
    count_response,
    entity_response,
    find_user,
    options_for,
    tenant,
)

#: What ``memberOf`` can hold; this mock models groups only, the other types answer empty collections.
MEMBER_OF_TYPES = ("microsoft.graph.group", "microsoft.graph.directoryRole", "microsoft.graph.administrativeUnit")


def _all_users() -> list:
    t = tenant()
    with t.lock:
        return list(t.users.values())


@graph_route("/users", needs=(USER_READ,), cost=2)
def list_users() -> Response:
    options = options_for("user")
    return collection_response(_all_users, options, "users", odata_type=False)


@graph_route("/users/$count", needs=(USER_READ,), cost=2)
def count_users() -> Response:
    return count_response(_all_users, "user")


@graph_route("/users/<ident>", needs=(USER_READ,))
def get_user(ident: str) -> Response:
    user = find_user(ident)
    return entity_response(user, options_for("user"))


@graph_route("/users/<ident>/manager", needs=(USER_READ,))
def get_manager(ident: str) -> Response:
    user = find_user(ident)
    options = options_for("directoryObject")
    manager = tenant().users.get(user.managerId) if user.managerId else None
    if manager is None:
        raise ResourceNotFound("manager")
    return entity_response(manager, options, entity_set="directoryObjects", odata_type=True)


def _membership(ident: str, transitive: bool, type_name: str | None):
    """The user's groups (direct or nested), optionally narrowed by a cast; returns (compute, entity, entity set)."""
    user = find_user(ident)
    relationship = "transitiveMemberOf" if transitive else "memberOf"
    if type_name is None:
        keep, entity, entity_set = (lambda obj: True), "directoryObject", "directoryObjects"
    else:
        name = cast_target(type_name, MEMBER_OF_TYPES, relationship)
        keep, entity, entity_set = cast_filter(name), cast_entity(name), DIRECTORY_TYPES[name]

    def compute() -> list:
        return [g for g in tenant().member_of(user.id, transitive=transitive) if keep(g)]

    return compute, entity, entity_set


@graph_route("/users/<ident>/memberOf", needs=(USER_READ, GROUP_READ), cost=2, endpoint="member_of")
@graph_route("/users/<ident>/memberOf/<type_name>", needs=(USER_READ, GROUP_READ), cost=2, endpoint="member_of")
def member_of(ident: str, type_name: str | None = None) -> Response:
    compute, entity, entity_set = _membership(ident, False, type_name)
    return collection_response(compute, options_for(entity), entity_set, odata_type=True)


@graph_route("/users/<ident>/transitiveMemberOf", needs=(USER_READ, GROUP_READ), endpoint="transitive_member_of")
@graph_route("/users/<ident>/transitiveMemberOf/<type_name>", needs=(USER_READ, GROUP_READ),
             endpoint="transitive_member_of")
def transitive_member_of(ident: str, type_name: str | None = None) -> Response:
    compute, entity, entity_set = _membership(ident, True, type_name)
    return collection_response(compute, options_for(entity), entity_set, odata_type=True)


@graph_route("/users/<ident>/memberOf/$count", needs=(USER_READ, GROUP_READ), cost=2, endpoint="count_member_of")
@graph_route("/users/<ident>/memberOf/<type_name>/$count", needs=(USER_READ, GROUP_READ), cost=2,
             endpoint="count_member_of")
def count_member_of(ident: str, type_name: str | None = None) -> Response:
    compute, entity, _set = _membership(ident, False, type_name)
    return count_response(compute, entity)


@graph_route("/users/<ident>/transitiveMemberOf/$count", needs=(USER_READ, GROUP_READ),
             endpoint="count_transitive_member_of")
@graph_route("/users/<ident>/transitiveMemberOf/<type_name>/$count", needs=(USER_READ, GROUP_READ),
             endpoint="count_transitive_member_of")
def count_transitive_member_of(ident: str, type_name: str | None = None) -> Response:
    compute, entity, _set = _membership(ident, True, type_name)
    return count_response(compute, entity)
