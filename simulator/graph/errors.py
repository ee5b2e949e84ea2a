"""Microsoft Graph errors, each knowing its HTTP status and its body.

Body shape, as Graph sends it::

    {"error": {"code": "...", "message": "...",
               "innerError": {"date": "...", "request-id": "...", "client-request-id": "..."}}}

Routes raise these; the blueprint's error handler renders them with the
``request-id``, ``client-request-id`` and ``x-ms-ags-diagnostic`` headers.
Codes and messages are the ones the real service uses (see
shared/reference/graph-and-identity-platform.md, 1.7 and 1.8).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from flask import Response, request

JSON_CONTENT_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
ERROR_CONTENT_TYPE = "application/json"
WWW_AUTHENTICATE = ('Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
                    'client_id="00000003-0000-0000-c000-000000000000"')


class GraphError(Exception):
    status = 400
    code = "BadRequest"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})

    def inner_error(self) -> dict[str, Any]:
        return inner_error()

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "innerError": self.inner_error()}}

    def response(self) -> Response:
        resp = Response(json.dumps(self.body()), status=self.status, content_type=ERROR_CONTENT_TYPE)
        for key, value in self.headers.items():
            resp.headers[key] = value
        return resp


class BadRequest(GraphError):
    """Syntax errors in query options, e.g. "Invalid filter clause"."""

    code = "BadRequest"


class RequestBadRequest(GraphError):
    """Request_BadRequest: malformed identifiers, unsupported $skip, bad bodies."""

    code = "Request_BadRequest"


class UnsupportedQuery(GraphError):
    """Request_UnsupportedQuery: a query Graph understands but refuses (page size, operator, property)."""

    code = "Request_UnsupportedQuery"


class InvalidAuthenticationToken(GraphError):
    status = 401
    code = "InvalidAuthenticationToken"

    def __init__(self, message: str):
        super().__init__(message, headers={"WWW-Authenticate": WWW_AUTHENTICATE})


class AuthorizationRequestDenied(GraphError):
    status = 403
    code = "Authorization_RequestDenied"

    def __init__(self, message: str = "Insufficient privileges to complete the operation."):
        super().__init__(message)


class ResourceNotFound(GraphError):
    status = 404
    code = "Request_ResourceNotFound"

    def __init__(self, ident: str):
        super().__init__(f"Resource '{ident}' does not exist or one of its queried reference-property objects are not present.")


class NoRoute(GraphError):
    """An unknown path segment, as Graph words it for v1.0."""

    status = 400
    code = "BadRequest"

    def __init__(self, segment: str):
        super().__init__(f"Resource not found for the segment '{segment}'.")


class MethodNotAllowed(GraphError):
    status = 405
    code = "Request_BadRequest"

    def __init__(self, method: str):
        super().__init__(f"The HTTP method '{method}' is not supported by this resource.")


class TooManyRequests(GraphError):
    """429 with Graph's throttling body (its innerError also carries code, message and status)."""

    status = 429
    code = "TooManyRequests"

    def __init__(self, retry_after: int | None = None):
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        super().__init__("Please retry again later.", headers=headers)

    def inner_error(self) -> dict[str, Any]:
        inner = inner_error()
        return {"code": "429", "date": inner["date"], "message": "Please retry after", "request-id": inner["request-id"], "status": "429"}


class ServiceNotAvailable(GraphError):
    status = 503
    code = "serviceNotAvailable"

    def __init__(self, message: str = "The service is temporarily unavailable. Please retry later.", retry_after: int | None = None):
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        super().__init__(message, headers=headers)


class GeneralException(GraphError):
    status = 500
    code = "generalException"

    def __init__(self, message: str = "An unexpected error occurred."):
        super().__init__(message)


class InvalidObjectIdentifier(RequestBadRequest):
    """A path segment that should be an object id (GUID) is not one."""

    def __init__(self, ident: str):
        super().__init__(f"Invalid object identifier '{ident}'.")


class InvalidPageSize(UnsupportedQuery):
    """``$top`` outside 1..max (or not a number)."""

    def __init__(self, value: str, maximum: int):
        super().__init__(f"Invalid page size specified: '{value}'. Must be between 1 and {maximum} inclusive.")


class SkipNotSupported(RequestBadRequest):
    """Directory collections page with ``$skiptoken`` only."""

    def __init__(self):
        super().__init__("'$skip' is not supported by the service.")


class CountNotSupported(RequestBadRequest):
    """The ``/$count`` segment without ``ConsistencyLevel: eventual``."""

    def __init__(self):
        super().__init__("$count is not currently supported.")


class ExpiredPageToken(GraphError):
    """A ``$skiptoken`` the service no longer (or never did) hold a cursor for."""

    status = 400
    code = "Directory_ExpiredPageToken"

    def __init__(self):
        super().__init__("The specified page token value has expired and can no longer be included in your request.")


class ExpandWithAdvancedQuery(UnsupportedQuery):
    """``$expand`` on a directory collection together with advanced query parameters."""

    def __init__(self):
        super().__init__("The query option '$expand' is not supported with advanced query parameters "
                         "($count, $search, ConsistencyLevel: eventual).")


class UnsupportedCast(UnsupportedQuery):
    """A type-cast segment naming a directory type the relationship cannot hold."""

    def __init__(self, type_name: str, relationship: str):
        super().__init__(f"The type cast '{type_name}' is not supported on the '{relationship}' relationship.")


class PropertyNotFound(BadRequest):
    """``$select`` naming a property the type does not have (used where odata.py's entity sets do not apply)."""

    def __init__(self, name: str, type_name: str):
        super().__init__(f"Parsing OData Select and Expand failed: Could not find a property named '{name}' "
                         f"on type '{type_name}'.")


class InvalidDeltaToken(RequestBadRequest):
    """A ``$deltatoken`` or ``$skiptoken`` of a delta query that is garbled, tampered with or not for this resource."""

    def __init__(self, parameter: str):
        super().__init__(f"The value of the {parameter} query parameter is not valid: it is malformed or was not "
                         "issued for this resource. Restart change tracking with an initial delta query.")


class SyncStateNotFound(GraphError):
    """A delta token older than the 7 days directory objects keep sync state for (forced resync).

    Graph documents both an expired-token error (``syncStateNotFound``) and a resync
    answer (410 Gone with a ``Location`` pointing at a fresh initial query); the
    simulator answers both at once: 410, that code, and the Location header.
    """

    status = 410
    code = "syncStateNotFound"

    def __init__(self, location: str):
        super().__init__("The sync state of the delta token has expired or cannot be found. Restart change tracking "
                         "with the initial delta query in the Location header.", headers={"Location": location})


class DeltaQueryOptionNotSupported(UnsupportedQuery):
    """A query option delta queries on users and groups refuse ($top, $orderby, $search, $count, most $expand)."""

    def __init__(self, option: str, resource: str):
        super().__init__(f"Unsupported Query. The query option '{option}' is not supported by {resource}/delta.")


class InvalidBatchRequest(BadRequest):
    """A ``$batch`` body that is not JSON, has no ``requests`` array, or has a malformed request in it."""


class BatchTooLarge(BadRequest):
    """More than 20 requests in one ``$batch``."""

    def __init__(self, count: int, maximum: int = 20):
        super().__init__(f"Number of requests in batch ({count}) exceeds the maximum allowed ({maximum}).")


class FailedDependency(GraphError):
    """The body of a batched request whose ``dependsOn`` request failed."""

    status = 424
    code = "FailedDependency"

    def __init__(self, request_id: str, failed: list[str]):
        super().__init__(f"Request '{request_id}' was not executed because the request(s) it depends on failed: "
                         f"{', '.join(repr(f) for f in failed)}.")


def request_ids() -> tuple[str, str]:
    """(request-id, client-request-id) for the current request, created once and reused by headers and bodies."""
    from flask import g

    rid = g.get("graph_request_id")
    if rid is None:
        rid = str(uuid.uuid4())
        g.graph_request_id = rid
    client_rid = request.headers.get("client-request-id") or rid
    return rid, client_rid


def inner_error() -> dict[str, Any]:
    rid, client_rid = request_ids()
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"), "request-id": rid, "client-request-id": client_rid}


def fault_response(kind: str, status: int, rule: Any) -> Response:
    """Render an injected fault in Graph's format (called by ``simulator.faults``)."""
    if kind == "throttled" or status == 429:
        err: GraphError = TooManyRequests(rule.retry_after)
    elif kind == "unavailable" or status == 503:
        err = ServiceNotAvailable(retry_after=rule.retry_after)
    elif status >= 500:
        err = GeneralException()
        err.status = status
    else:
        err = GraphError(f"Injected fault ({rule.id}).", status=status, code="BadRequest" if status == 400 else "injectedFault")
    resp = err.response()
    rid, client_rid = request_ids()
    resp.headers["request-id"] = rid
    resp.headers["client-request-id"] = client_rid
    return resp
