"""The Graph v1.0 blueprint: authentication, permissions, Graph's headers and error bodies.

Every route under ``/v1.0`` is declared with :func:`graph_route`, which records
which application permissions it accepts and what it costs in ResourceUnits.
The blueprint then does, for every request, what Graph's gateway does before
and after the workload answers:

- validates the bearer token (401 ``InvalidAuthenticationToken``) and checks the
  token's ``roles`` against the endpoint (403 ``Authorization_RequestDenied``);
- renders every error, ours or Flask's or the tenant model's, in Graph's body
  shape;
- adds ``request-id``, ``client-request-id``, ``x-ms-ags-diagnostic`` and
  ``x-ms-resource-unit`` to every response, and Graph's OData content type to
  JSON successes.

The routes themselves live in :mod:`.users`, :mod:`.groups`, :mod:`.organization`
and :mod:`.service_principals` (imported at the bottom of this module to register them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Mapping

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from ..tenant import ObjectNotFound, TenantError
from . import paging
from .context import ctx
from .errors import (
    JSON_CONTENT_TYPE,
    AuthorizationRequestDenied,
    GeneralException,
    GraphError,
    InvalidAuthenticationToken,
    MethodNotAllowed,
    NoRoute,
    RequestBadRequest,
    ResourceNotFound,
    request_ids,
)
from .resources import json_response
from .tokens import InvalidToken

bp = Blueprint("graph", __name__)
bp.record_once(paging.install)

# Application permissions accepted by each family of endpoints (reference 1.6). Each
# endpoint lists one or more of these sets; the token needs a role from every set.
USER_READ = frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"})
GROUP_READ = frozenset({"GroupMember.Read.All", "Group.Read.All", "GroupMember.ReadWrite.All", "Group.ReadWrite.All",
                        "Directory.Read.All", "Directory.ReadWrite.All"})
#: appRoleAssignedTo and servicePrincipals: Application.Read.All is the least privileged (Graph's permission tables).
APPLICATION_READ = frozenset({"Application.Read.All", "Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All",
                              "Directory.Read.All", "Directory.ReadWrite.All"})
ORGANIZATION_READ = frozenset({"Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All",
                               "Directory.ReadWrite.All"})

#: What Graph's gateway reports about the serving instance, as JSON in x-ms-ags-diagnostic.
AGS_DIAGNOSTIC = json.dumps({"ServerInfo": {"DataCenter": "Local", "Slice": "E", "Ring": "0", "ScaleUnit": "000",
                                            "RoleInstance": "entrasim"}}, separators=(",", ":"))
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True)
class Endpoint:
    """What the gateway needs to know about a route before and after it runs."""

    #: each set is one requirement; the token needs at least one role of every set.
    needs: tuple[frozenset[str], ...]
    #: base cost in ResourceUnits (reference 1.9): adjusted by $select, $expand and $top.
    cost: int = 1
    #: served without a token (service document, routing errors).
    anonymous: bool = False


#: view name -> what the gateway enforces and charges, for the routes of ``bp``.
_ENDPOINTS: dict[str, Endpoint] = {}


def graph_route(rule: str, *, needs: tuple[frozenset[str], ...] = (), cost: int = 1, anonymous: bool = False,
                endpoint: str | None = None, methods: list[str] | None = None) -> Callable:
    """Register a view on the blueprint with its permissions and cost (several rules may share a view)."""

    def register(view: Callable) -> Callable:
        name = endpoint or view.__name__
        bp.add_url_rule(rule, endpoint=name, view_func=view, methods=methods or ["GET"], strict_slashes=False)
        _ENDPOINTS[name] = Endpoint(needs=needs, cost=cost, anonymous=anonymous)
        return view

    return register


def resource_units(endpoint: Endpoint | None) -> int:
    """The request's cost (reference 1.9): base, -1 for $select, +1 for $expand, -1 for $top below 20; at least 1."""
    cost = endpoint.cost if endpoint is not None else 1
    args = paging.query_options()
    if "$select" in args:
        cost -= 1
    if "$expand" in args:
        cost += 1
    top = args.get("$top", "").strip()
    if top.isdigit() and int(top) < 20:
        cost -= 1
    return max(cost, 1)


def install_gateway(blueprint: Blueprint, endpoints: Mapping[str, Endpoint]) -> None:
    """Give ``blueprint`` what Graph's gateway does around every workload call.

    Before the view: the bearer token (401 ``InvalidAuthenticationToken``), then
    the endpoint's application permissions (403 ``Authorization_RequestDenied``).
    On failure: Graph's error body, whatever raised (ours, Flask's routing, the
    tenant model). After: ``request-id``, ``client-request-id``,
    ``x-ms-ags-diagnostic``, ``x-ms-resource-unit`` and the OData content type.
    ``endpoints`` maps the blueprint's view names to their permissions and cost;
    other Graph blueprints (delta, batch) install the same gateway.
    """

    def endpoint() -> Endpoint | None:
        return endpoints.get((request.endpoint or "").split(".", 1)[-1])

    @blueprint.before_request
    def _authenticate_and_authorize() -> None:
        if request.method == "OPTIONS":
            return None  # CORS preflight carries no token
        found = endpoint()
        if found is not None and found.anonymous:
            return None
        scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise InvalidAuthenticationToken("Access token is empty.")
        try:
            claims = ctx().tokens.validate(token)
        except InvalidToken as exc:
            raise InvalidAuthenticationToken(exc.reason) from None
        g.graph_claims = claims
        if found is not None:
            roles = set(claims.get("roles") or ())
            for accepted in found.needs:
                if not roles & accepted:
                    raise AuthorizationRequestDenied()
        return None

    @blueprint.errorhandler(GraphError)
    def _graph_error(err: GraphError) -> Response:
        return err.response()

    @blueprint.errorhandler(TenantError)
    def _tenant_error(err: TenantError) -> Response:
        if isinstance(err, ObjectNotFound):
            return ResourceNotFound(err.ident).response()
        return RequestBadRequest(err.message).response()

    @blueprint.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Response:
        if err.code == 404:
            segments = [s for s in request.path.split("/") if s]
            return NoRoute(segments[-1] if segments else "").response()
        if err.code == 405:
            return MethodNotAllowed(request.method).response()
        if err.code is not None and err.code < 500:
            return RequestBadRequest(err.description or err.name, status=err.code).response()
        return GeneralException().response()

    @blueprint.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        """A bug must still answer in Graph's format (and be visible in the server log)."""
        current_app.logger.exception("unexpected error serving %s %s", request.method, request.path)
        return GeneralException().response()

    @blueprint.after_request
    def _graph_headers(response: Response) -> Response:
        rid, client_rid = request_ids()
        response.headers["request-id"] = rid
        response.headers["client-request-id"] = client_rid
        response.headers["x-ms-ags-diagnostic"] = AGS_DIAGNOSTIC
        response.headers["x-ms-resource-unit"] = str(resource_units(endpoint()))
        if response.status_code < 400 and response.mimetype == "application/json":
            if response.content_type != JSON_CONTENT_TYPE:
                response.headers["Content-Type"] = JSON_CONTENT_TYPE
            response.headers["OData-Version"] = "4.0"
        return response


install_gateway(bp, _ENDPOINTS)


# ------------------------------------------------------------------- routing errors and the service root
@graph_route("/", anonymous=True)
def service_document() -> Response:
    """The OData service document, listing the entity sets this mock serves."""
    names = ("users", "groups", "organization")
    return json_response({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata",
                          "value": [{"name": n, "kind": "EntitySet", "url": n} for n in names]})


@graph_route("/<path:rest>", anonymous=True, methods=ALL_METHODS)
def unknown_segment(rest: str) -> Response:
    """Anything no route matched: a method the path does not allow (405), or the first unknown segment (400)."""
    prefix = request.path[: len(request.path) - len(rest)].rstrip("/")
    adapter = current_app.url_map.bind_to_environ(request.environ)
    if any(_matches(adapter, request.path, method) for method in ALL_METHODS if method != request.method):
        raise MethodNotAllowed(request.method)
    segments = rest.split("/")
    for i in range(len(segments) - 1, 0, -1):
        if _matches(adapter, prefix + "/" + "/".join(segments[:i])):
            raise NoRoute(segments[i])
    raise NoRoute(segments[0])


def _matches(adapter, path: str, method: str = "GET") -> bool:
    """True when a real route (not this catch-all) serves ``method`` on ``path``."""
    try:
        endpoint, _args = adapter.match(path, method=method)
    except HTTPException:
        return False
    return endpoint != f"{bp.name}.unknown_segment"


# Importing the route modules registers their routes on ``bp``.
from . import groups, organization, service_principals, users  # noqa: E402,F401
