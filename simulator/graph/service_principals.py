"""``/servicePrincipals/{id}`` and its ``appRoleAssignedTo``: who is assigned to the LMS's enterprise app.

The mock knows one enterprise application, the one whose assignments scope
provisioning to the LMS (``Tenant.provisioning_app``). Listing its
``appRoleAssignedTo`` is how a provisioning job reading Graph, rather than the
tenant model, learns which users and groups are assigned. Assignments of users
that are soft-deleted are not listed, as in Entra.
"""

from __future__ import annotations

import base64
import uuid

from flask import Response

from ..tenant.model import AppAssignment, ServicePrincipal, Tenant, app_role_id
from . import paging
from .api import APPLICATION_READ, graph_route
from .context import ctx
from .errors import InvalidObjectIdentifier, ResourceNotFound
from .resources import METADATA, context_url, is_guid, json_response, tenant
from .serialize import iso


def find_service_principal(ident: str) -> ServicePrincipal:
    """The provisioning app by its object id; any other GUID is unknown, anything else malformed."""
    if not is_guid(ident):
        raise InvalidObjectIdentifier(ident)
    sp = tenant().provisioning_app
    if ident.lower() != sp.id.lower():
        raise ResourceNotFound(ident)
    return sp


def service_principal_json(sp: ServicePrincipal) -> dict:
    return {"id": sp.id, "appId": sp.appId, "displayName": sp.displayName, "accountEnabled": sp.accountEnabled,
            "servicePrincipalType": "Application", "appRoleAssignmentRequired": True, "appRoles": []}


def assignment_id(principal_id: str, resource_id: str) -> str:
    """Graph's assignment ids are opaque base64url strings; this one is stable per principal and app."""
    raw = uuid.UUID(principal_id).bytes_le + uuid.UUID(resource_id).bytes_le
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def assignment_json(t: Tenant, sp: ServicePrincipal, assignment: AppAssignment) -> dict | None:
    """An appRoleAssignment as Graph returns it, or None when its principal is not in the directory."""
    principal = t.users.get(assignment.principalId) or t.groups.get(assignment.principalId)
    if principal is None:
        return None
    created = assignment.createdDateTime or t.createdDateTime
    return {"id": assignment_id(assignment.principalId, sp.id), "deletedDateTime": None,
            "appRoleId": app_role_id(assignment.appRole), "createdDateTime": iso(created),
            "principalDisplayName": principal.displayName, "principalId": assignment.principalId,
            "principalType": assignment.principalType, "resourceDisplayName": sp.displayName, "resourceId": sp.id}


@graph_route("/servicePrincipals/<ident>", needs=(APPLICATION_READ,))
def get_service_principal(ident: str) -> Response:
    sp = find_service_principal(ident)
    body = {"@odata.context": f"{METADATA}#servicePrincipals/$entity"}
    body.update(service_principal_json(sp))
    return json_response(body)


@graph_route("/servicePrincipals/<ident>/appRoleAssignedTo", needs=(APPLICATION_READ,))
def app_role_assigned_to(ident: str) -> Response:
    sp = find_service_principal(ident)
    config = ctx().config
    top = paging.page_size(paging.query_options(), config.default_page_size, config.max_page_size)

    def compute() -> list[dict]:
        t = tenant()
        with t.lock:
            rendered = (assignment_json(t, sp, a) for a in list(t.assignments.values()))
            return [item for item in rendered if item is not None]

    page = paging.paginate(f"/servicePrincipals/{sp.id}/appRoleAssignedTo", compute, top, count=False)
    body: dict = {"@odata.context": context_url(f"servicePrincipals('{sp.id}')/appRoleAssignedTo", None)}
    if page.next_token is not None:
        body["@odata.nextLink"] = paging.next_link(page.next_token)
    body["value"] = list(page.items)
    return json_response(body)
