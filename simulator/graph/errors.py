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
        super().__init__(f"The HTTP method '{method}' is not supported by this mock's read-only directory endpoints.")


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
