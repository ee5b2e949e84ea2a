"""``/organization``: the tenant itself (id, name, verified domains), as LMS importers read it at setup."""

from __future__ import annotations

from flask import Response, request

from .api import ORGANIZATION_READ, graph_route
from .errors import PropertyNotFound, ResourceNotFound
from .resources import METADATA, json_response, tenant
from .serialize import ORGANIZATION_PROPERTIES, organization_json


def _select() -> list[str] | None:
    """``$select`` for organization, validated against the properties this resource has."""
    raw = request.args.get("$select")
    if raw is None or not raw.strip():
        return None
    names = [name.strip() for name in raw.split(",") if name.strip()]
    for name in names:
        if name not in ORGANIZATION_PROPERTIES:
            raise PropertyNotFound(name, "microsoft.graph.organization")
    return names


def _context(select: list[str] | None, entity: bool = False) -> str:
    url = f"{METADATA}#organization"
    if select:
        url += f"({','.join(select)})"
    return url + ("/$entity" if entity else "")


@graph_route("/organization", needs=(ORGANIZATION_READ,))
def list_organization() -> Response:
    select = _select()
    return json_response({"@odata.context": _context(select), "value": [organization_json(tenant(), select)]})


@graph_route("/organization/<ident>", needs=(ORGANIZATION_READ,))
def get_organization(ident: str) -> Response:
    t = tenant()
    if ident.lower() != t.id.lower():
        raise ResourceNotFound(ident)
    select = _select()
    body = {"@odata.context": _context(select, entity=True)}
    body.update(organization_json(t, select))
    return json_response(body)
