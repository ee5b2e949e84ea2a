"""Errors of the Graph-pull LMS, in two families.

1. **API errors** (``LmsError`` and subclasses): what the LMS's admin API
   answers, as ``{"error": "<text>"}`` with an HTTP status. The one the 2LRN4
   document makes famous is ``ActionUnauthorized``: 403 ``Action unauthorized``
   for any admin action attempted by an account that is not (or no longer) an
   administrator, which is what a demoted admin sees after a lockout.

2. **The import error table** (``admin_text``): what the LMS admin reads in the
   import screen when "Import from Azure AD" fails, derived from the token or
   Graph response that caused it. The wording follows the document's table
   exactly: the admin never sees an AADSTS code, only these short texts, and
   the import log links each one to the response it came from.
"""

from __future__ import annotations

from typing import Any


class LmsError(Exception):
    """Base class: a 400 with ``{"error": message}`` unless a subclass says otherwise."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def body(self) -> dict[str, Any]:
        return {"error": self.message}


class BadRequest(LmsError):
    """The request names a bad value: the message says which and what is expected."""


class Unauthenticated(LmsError):
    """No bearer token, or one no account holds."""

    status = 401

    def __init__(self, message: str = "Authentication required: send 'Authorization: Bearer <account token>'"):
        super().__init__(message)


class ActionUnauthorized(LmsError):
    """403: the caller's account may not perform admin actions (not an admin, or disabled)."""

    status = 403

    def __init__(self) -> None:
        super().__init__("Action unauthorized")


class NotFound(LmsError):
    status = 404

    def __init__(self, kind: str, ident: str):
        super().__init__(f"{kind} '{ident}' does not exist")
        self.kind = kind
        self.ident = ident


class Conflict(LmsError):
    status = 409


# ------------------------------------------------------------------------------------------------ import error table

#: Prefix the LMS puts before the reason when a whole import could not run or some users were refused.
CANNOT_IMPORT = "These users cannot be imported"

#: The document's texts, by what went wrong (keys are this module's own names, used in results and the log).
SECRET_ID_PASTED = "invalid_client"
UNAUTHORIZED_CLIENT = "unauthorized_client"
EXPIRED_SECRET_OR_WRONG_GROUP = f"{CANNOT_IMPORT}: invalid_client"
GATEWAY_TIMEOUT = "Error 504 Gateway Time-out"
AZURE_CLIENT_ERROR = "Azure client error"
ACTION_UNAUTHORIZED = "Action unauthorized"

#: Reason phrases for the "Error <status> <reason>" form of other gateway failures.
_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Time-out"}


#: What the admin reads for failures without any response, by the client's error code (else the code itself).
_NO_RESPONSE = {
    "ConnectionError": "cannot connect (refused or unreachable)",
    "SSLError": "TLS handshake failed (is the connection's CA bundle the one that signed the server's certificate?)",
    "InvalidURL": "invalid authority host or Graph URL",
    "OSError": "cannot read the connection's CA bundle",
}


def admin_text(call: str, status: int, error_code: str | None, aadsts: int | None) -> str:
    """What the LMS admin reads for a failed ``call`` ("token" or "graph") that ended with this response.

    ``status`` 0 means no response at all (connection refused or timed out).
    """
    if status == 0:
        if error_code == "timeout":
            return GATEWAY_TIMEOUT
        return f"Azure connection error: {_NO_RESPONSE.get(error_code or '', error_code or 'no response')}"
    if error_code == "invalid_response":
        return "Azure connection error: invalid response"
    if status == 504:
        return GATEWAY_TIMEOUT
    if status == 429 or status >= 500:
        return f"Error {status} {_REASONS.get(status, 'Server Error')}"
    if call == "token":
        if aadsts == 7000222:
            return EXPIRED_SECRET_OR_WRONG_GROUP
        if error_code == "invalid_client":
            return SECRET_ID_PASTED
        if error_code == "unauthorized_client":
            return UNAUTHORIZED_CLIENT
        return error_code or f"Error {status}"
    # Graph: a group the app cannot find is reported like a credential problem, as the document shows it.
    if status == 404 or (status == 400 and error_code == "Request_BadRequest"):
        return EXPIRED_SECRET_OR_WRONG_GROUP
    if status in (401, 403):
        return AZURE_CLIENT_ERROR
    return f"Azure client error ({error_code or status})"
