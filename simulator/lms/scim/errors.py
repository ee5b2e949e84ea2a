"""SCIM errors (RFC 7644 §3.12), each knowing its HTTP status, its scimType and its body.

Body shape, as the RFC defines it::

    {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
     "status": "400", "scimType": "invalidFilter", "detail": "..."}

``status`` is a string, ``scimType`` appears only for the 400/409 kinds the RFC
names, and ``detail`` always says what was wrong and, where it helps, what was
expected instead: a vendor reading our answer must be able to fix the request
without opening the RFC. The model, the parsers and the routes raise these; the
app's error handler renders them.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_CONTENT_TYPE = "application/scim+json; charset=utf-8"


class ScimError(Exception):
    """Base class: a 400 without scimType unless a subclass says otherwise."""

    status = 400
    scim_type: str | None = None

    def __init__(self, detail: str, *, status: int | None = None, scim_type: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if scim_type is not None:
            self.scim_type = scim_type
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [ERROR_URN], "status": str(self.status)}
        if self.scim_type:
            body["scimType"] = self.scim_type
        body["detail"] = self.detail
        return body

    def response(self) -> Response:
        resp = Response(orjson.dumps(self.body()), status=self.status, content_type=SCIM_CONTENT_TYPE)
        for key, value in self.headers.items():
            resp.headers[key] = value
        return resp


# ------------------------------------------------------------ 400 with scimType (RFC 7644 §3.12, table 9)

class InvalidFilter(ScimError):
    """The filter syntax was invalid, or the operator or attribute is not supported."""

    scim_type = "invalidFilter"


class TooMany(ScimError):
    """The filter yields more results than the server is willing to process."""

    scim_type = "tooMany"


class Mutability(ScimError):
    """The change is incompatible with an attribute's mutability (readOnly, immutable)."""

    scim_type = "mutability"


class InvalidSyntax(ScimError):
    """The body's structure is invalid or does not follow the request schema (PatchOp, BulkRequest...)."""

    scim_type = "invalidSyntax"


class InvalidPath(ScimError):
    """A PATCH path is malformed or names nothing the schema knows."""

    scim_type = "invalidPath"


class NoTarget(ScimError):
    """A PATCH path (often with a value filter) matched nothing to operate on."""

    scim_type = "noTarget"


class InvalidValue(ScimError):
    """A required value is missing, or a value does not fit the attribute's type or the operation."""

    scim_type = "invalidValue"


class Sensitive(ScimError):
    """The request puts information that must not travel in a URI there (a filter on the password in a GET)."""

    scim_type = "sensitive"


# ------------------------------------------------------------ other statuses


class Uniqueness(ScimError):
    """409: a value that must be unique (userName, or what a profile makes unique) is taken."""

    status = 409
    scim_type = "uniqueness"


class Unauthorized(ScimError):
    """401: the bearer token is missing, unknown, revoked or expired (RFC 6750 challenge attached)."""

    status = 401

    def __init__(self, detail: str, *, realm: str, error: str | None = "invalid_token"):
        challenge = f'Bearer realm="{realm}"'
        if error:
            # RFC 6750 §3: a request without credentials gets a bare challenge, a bad token gets an error code.
            description = detail.replace('"', "'")
            challenge += f', error="{error}", error_description="{description}"'
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class NotFound(ScimError):
    status = 404


class MethodNotAllowed(ScimError):
    status = 405

    def __init__(self, detail: str, allowed: list[str]):
        super().__init__(detail, headers={"Allow": ", ".join(allowed)})


class PreconditionFailed(ScimError):
    """412: If-Match named a version that is no longer current."""

    status = 412


class PayloadTooLarge(ScimError):
    """413: the body is larger than the server accepts (or a bulk request exceeds its limits)."""

    status = 413


class UnsupportedMediaType(ScimError):
    status = 415


class ServerError(ScimError):
    """500: used only to render an injected fault; real failures are bugs, not answers."""

    status = 500


class NotImplementedFeature(ScimError):
    """501: the service provider does not support the requested operation."""

    status = 501


_FAULT_DETAILS = {
    "throttled": "Too many requests; retry after the delay in Retry-After.",
    "unavailable": "The service is temporarily unavailable.",
    "server_error": "The server met an unexpected condition.",
    "bad_gateway": "Bad gateway.",
    "custom": "Injected fault.",
}


def fault_response(kind: str, status: int, rule: Any = None) -> Response:
    """An injected fault rendered as a SCIM error body, like a real SCIM service would answer it."""
    detail = _FAULT_DETAILS.get(kind, _FAULT_DETAILS["custom"])
    return ScimError(detail, status=status).response()
