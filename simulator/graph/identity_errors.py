"""Errors of the Microsoft identity platform (the STS), each knowing its status and body.

Body shape, as login.microsoftonline.com sends it::

    {"error": "invalid_client",
     "error_description": "AADSTS7000215: ...\\r\\nTrace ID: ...\\r\\nCorrelation ID: ...\\r\\nTimestamp: 2026-01-15 09:00:00Z",
     "error_codes": [7000215], "timestamp": "2026-01-15 09:00:00Z",
     "trace_id": "...", "correlation_id": "...",
     "error_uri": "https://login.microsoftonline.com/error?code=7000215"}

msal returns this dict as-is and azure-identity puts ``error_description`` in its
ClientAuthenticationError, so clients and the people reading their logs see the
same thing they would see against Entra. ``correlation_id`` echoes the client's
``client-request-id``; ``timestamp`` is the tenant's (simulated) clock.

Codes, statuses and wordings come from shared/reference/graph-and-identity-platform.md
(1.3, 1.5) and the AADSTS list on Microsoft Learn. Microsoft rewords messages over
time; codes and ``error`` values are what clients should (and do) react to.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from flask import Response, current_app, g, has_request_context, request

STS_CONTENT_TYPE = "application/json; charset=utf-8"
ERROR_URI = "https://login.microsoftonline.com/error?code={code}"
CERTIFICATE_CREDENTIALS_DOC = "https://learn.microsoft.com/entra/identity-platform/certificate-credentials"


class IdentityError(Exception):
    """Base class: ``status``, OAuth ``error``, AADSTS ``code`` and a message ``template``."""

    status: int = 400
    error: str = "invalid_request"
    code: int | None = None
    template: str = ""

    def __init__(self, **params: Any):
        self.params = params
        self.message = self.template.format(**params)
        super().__init__(self.description)

    @property
    def description(self) -> str:
        """``AADSTS<code>: <message>``, without the trace lines."""
        return f"AADSTS{self.code}: {self.message}" if self.code is not None else self.message

    def body(self, trace_id: str, correlation_id: str, moment: datetime) -> dict[str, Any]:
        stamp = sts_timestamp(moment)
        body: dict[str, Any] = {
            "error": self.error,
            "error_description": f"{self.description}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {stamp}",
            "error_codes": [self.code] if self.code is not None else [],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
        }
        if self.code is not None:
            body["error_uri"] = ERROR_URI.format(code=self.code)
        return body

    def response(self) -> Response:
        trace_id, correlation_id = request_ids()
        resp = Response(json.dumps(self.body(trace_id, correlation_id, sts_now())), status=self.status,
                        content_type=STS_CONTENT_TYPE)
        add_sts_headers(resp)
        return resp


# ------------------------------------------------------------ request protocol errors

class MissingParameter(IdentityError):
    code = 900144
    template = "The request body must contain the following parameter: '{name}'."

    def __init__(self, name: str):
        super().__init__(name=name)


class MethodNotAccepted(IdentityError):
    """AADSTS900561: e.g. a GET on the token endpoint."""

    code = 900561
    template = "The endpoint only accepts {valid} requests. Received a {method} request."

    def __init__(self, valid: str, method: str):
        super().__init__(valid=valid, method=method)


class MalformedRequest(IdentityError):
    """The STS's catch-all for a request it cannot use (two client credentials, an unknown assertion type...)."""

    code = 9002313
    template = "Invalid request. Request is malformed or invalid."


class UnsupportedGrantType(IdentityError):
    error = "unsupported_grant_type"
    code = 70003
    template = "The app requested an unsupported grant type '{grant_type}'.{note}"

    #: Grants the real STS serves that this simulator does not (it serves daemon apps only).
    OTHER_ENTRA_GRANTS = frozenset({
        "authorization_code", "refresh_token", "password", "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer", "urn:ietf:params:oauth:grant-type:saml1_1-bearer",
        "urn:ietf:params:oauth:grant-type:saml2-bearer", "implicit",
    })

    def __init__(self, grant_type: str):
        note = " entrasim implements the client_credentials grant only." if grant_type in self.OTHER_ENTRA_GRANTS else ""
        super().__init__(grant_type=grant_type, note=note)


class ResourceParameterNotSupported(IdentityError):
    """``resource`` sent to the v2.0 endpoint, which takes ``scope``."""

    code = 901002
    template = "The 'resource' request parameter isn't supported."


class ResourceNotProvided(IdentityError):
    """The v1 endpoint without ``resource``."""

    error = "invalid_resource"
    code = 50001
    template = "Resource identifier is not provided."


# ---------------------------------------------------------------------- tenants

class TenantNotFound(IdentityError):
    """Unknown tenant at the token endpoint (the STS answers ``invalid_request`` there)."""

    code = 90002
    template = ("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into "
                "the correct cloud. Check with your subscription administrator, this may happen if there are no "
                "active subscriptions for the tenant.")

    def __init__(self, tenant: str):
        super().__init__(tenant=tenant)


class InvalidTenant(TenantNotFound):
    """Unknown tenant at discovery (OpenID configuration, JWKS): ``invalid_tenant``."""

    error = "invalid_tenant"


class GrantNotSupportedOverCommon(IdentityError):
    """client_credentials on /common or /consumers: the STS cannot tell which tenant's app is meant."""

    code = 9001023
    template = ("The grant type is not supported over the /common or /consumers endpoints. "
                "Please use the /organizations or tenant-specific endpoint.")


class UnknownInstance(IdentityError):
    """Instance discovery asked about an authority host this server is not."""

    error = "invalid_instance"
    code = 50049
    template = "Unknown or invalid instance."


class MalformedDiscoveryRequest(IdentityError):
    code = 50050
    template = "The request is malformed."


class EndpointNotFound(IdentityError):
    """A path the identity platform does not serve.

    login.microsoftonline.com answers those with an HTML page and no AADSTS code;
    this keeps the STS's JSON shape (so clients can parse it) with an empty
    ``error_codes``.
    """

    status = 404
    error = "not_found"
    template = "The endpoint '{path}' does not exist on this identity platform."

    def __init__(self, path: str):
        super().__init__(path=path)


# ------------------------------------------------------------------------ scopes

class ScopeWithoutDefault(IdentityError):
    error = "invalid_scope"
    code = 1002012
    template = ("The provided value for scope {scope} is not valid. Client credential flows must have a scope value "
                "with /.default suffixed to the resource identifier (application ID URI).")

    def __init__(self, scope: str):
        super().__init__(scope=scope)


class InvalidScope(IdentityError):
    """More than one scope (e.g. two resources' /.default) in a client-credentials request."""

    error = "invalid_scope"
    code = 70011
    template = ("The provided request must include a 'scope' input parameter. The provided value for the input "
                "parameter 'scope' is not valid. The scope {scope} is not valid.")

    def __init__(self, scope: str):
        super().__init__(scope=scope)


class ResourcePrincipalNotFound(IdentityError):
    error = "invalid_resource"
    code = 500011
    template = ("The resource principal named {resource} was not found in the tenant named {tenant}. This can happen "
                "if the application has not been installed by the administrator of the tenant or consented to by any "
                "user in the tenant. You might have sent your authentication request to the wrong tenant.")

    def __init__(self, resource: str, tenant: str):
        super().__init__(resource=resource, tenant=tenant)


# ------------------------------------------------------------------ applications

class ApplicationNotFound(IdentityError):
    error = "unauthorized_client"
    code = 700016
    template = ("Application with identifier '{app_id}' was not found in the directory '{tenant}'. This can happen if "
                "the application has not been installed by the administrator of the tenant or consented to by any "
                "user in the tenant. You may have sent your authentication request to the wrong tenant.")

    def __init__(self, app_id: str, tenant: str):
        super().__init__(app_id=app_id, tenant=tenant)


class ApplicationDisabled(IdentityError):
    """The app's service principal has accountEnabled false (status assumed 400 like other unauthorized_client)."""

    error = "unauthorized_client"
    code = 7000112
    template = "Application '{app_id}'({app_name}) is disabled."

    def __init__(self, app_id: str, app_name: str):
        super().__init__(app_id=app_id, app_name=app_name)


# ------------------------------------------------------------ client credentials

class InvalidClientError(IdentityError):
    """Client authentication failed: 401 ``invalid_client`` (RFC 6749 5.2)."""

    status = 401
    error = "invalid_client"


class MissingClientCredential(InvalidClientError):
    code = 7000218
    template = "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."


class InvalidClientSecret(InvalidClientError):
    """A wrong secret, the secret's ID sent instead of its value, or a secret not valid yet."""

    code = 7000215
    template = ("Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                "value, not the client secret ID, for a secret added to app '{app_id}'.")

    def __init__(self, app_id: str):
        super().__init__(app_id=app_id)


class ExpiredClientSecret(InvalidClientError):
    code = 7000222
    template = ("The provided client secret keys for app '{app_id}' are expired. Visit the Azure portal to create new "
                "keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for "
                "added security: https://aka.ms/certCreds.")

    def __init__(self, app_id: str):
        super().__init__(app_id=app_id)


class ClientAssertionSignatureInvalid(InvalidClientError):
    code = 700027
    template = "Client assertion failed signature validation."


class ClientAssertionKeyNotFound(InvalidClientError):
    """The assertion names (x5t, x5t#S256 or x5c) a certificate the app does not have."""

    code = 700027
    template = ("The certificate with identifier used to sign the client assertion is not registered on application. "
                "[Reason - The key was not found., {thumbprint_part}Please visit the Azure Portal, Graph Explorer or "
                "directly use MS Graph to see configured keys for app Id '{app_id}'.]")

    def __init__(self, app_id: str, thumbprint: str | None):
        part = f"Thumbprint of key used by client: '{thumbprint}', " if thumbprint else ""
        super().__init__(app_id=app_id, thumbprint_part=part)


class ClientAssertionKeyExpired(InvalidClientError):
    """The certificate is registered but outside its validity on the tenant's clock."""

    code = 700027
    template = ("Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key "
                "used by client: '{thumbprint}', Found key 'Start={start}, End={end}']")

    def __init__(self, thumbprint: str, start: datetime, end: datetime):
        super().__init__(thumbprint=thumbprint, start=start.strftime("%m/%d/%Y %H:%M:%S"), end=end.strftime("%m/%d/%Y %H:%M:%S"))


class ClientAssertionMalformed(InvalidClientError):
    """Not a JWT, or a JWT without the claims an assertion needs (status assumed: client authentication failed)."""

    code = 50027
    template = "JWT token is invalid or malformed."


class ClientAssertionAudienceMismatch(InvalidClientError):
    code = 700023
    template = f"Client assertion audience claim does not match Realm issuer. Review the documentation at {CERTIFICATE_CREDENTIALS_DOC} ."


class ClientAssertionClientIdMismatch(InvalidClientError):
    code = 700021
    template = (f"Client assertion application identifier doesn't match 'client_id' parameter. Review the "
                f"documentation at {CERTIFICATE_CREDENTIALS_DOC} .")


class ClientAssertionSubjectMismatch(InvalidClientError):
    code = 50048
    template = "Subject mismatches Issuer claim in the client assertion."


class ClientAssertionOutsideValidity(InvalidClientError):
    code = 700024
    template = ("Client assertion is not within its valid time range. Current time: {now}, assertion valid from "
                "{valid_from}, expiry time of assertion {expiry}. Review the documentation at "
                f"{CERTIFICATE_CREDENTIALS_DOC} .")

    def __init__(self, now: float, valid_from: float | None, expiry: float):
        super().__init__(now=_precise(now), valid_from=_precise(valid_from or 0), expiry=_precise(expiry))


# ---------------------------------------------------------------- injected faults

class TemporarilyUnavailable(IdentityError):
    status = 503
    error = "temporarily_unavailable"
    code = 90006
    template = "The service is temporarily unavailable."


class TooManyRequests(IdentityError):
    status = 429
    error = "temporarily_unavailable"
    code = 90055
    template = "There are too many incoming requests. Retry later."


class RequestTimeout(IdentityError):
    status = 504
    error = "temporarily_unavailable"
    code = 90012
    template = "The request has timed out."


class ServerError(IdentityError):
    status = 500
    error = "server_error"
    code = 50000
    template = "There was an error issuing a token or an issue with our sign-in service."


_FAULT_ERRORS: dict[str, type[IdentityError]] = {
    "throttled": TooManyRequests,
    "unavailable": TemporarilyUnavailable,
    "gateway_timeout": RequestTimeout,
    "server_error": ServerError,
    "bad_gateway": TemporarilyUnavailable,
}


def fault_response(kind: str, status: int, rule: Any) -> Response:
    """Render an injected fault in the STS's format (called through ``simulator.faults.install``)."""
    error_class = _FAULT_ERRORS.get(kind)
    if error_class is None:  # "custom": pick by status
        if status == 429:
            error_class = TooManyRequests
        elif status in (502, 503):
            error_class = TemporarilyUnavailable
        elif status == 504:
            error_class = RequestTimeout
        elif status >= 500:
            error_class = ServerError
        else:
            error_class = MalformedRequest
    err = error_class()
    err.status = status
    resp = err.response()
    if getattr(rule, "retry_after", None) is not None:
        resp.headers["Retry-After"] = str(rule.retry_after)
    return resp


# ----------------------------------------------------------------------- helpers

def sts_timestamp(moment: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SSZ``, the STS's own format (not ISO 8601's T)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _precise(epoch: float) -> str:
    """``2024-10-02T22:05:03.6755165Z``: how AADSTS700024 prints times (seven fractional digits)."""
    moment = datetime.fromtimestamp(float(epoch), timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def sts_now() -> datetime:
    """The tenant's clock when serving a request, so timestamps agree with token lifetimes."""
    if has_request_context():
        context = current_app.extensions.get("entrasim")
        if context is not None:
            return context.tenant.clock.now()
    return datetime.now(timezone.utc)


def request_ids() -> tuple[str, str]:
    """(trace id, correlation id) of the current request; the correlation id echoes the client's."""
    trace_id = g.get("sts_trace_id")
    if trace_id is None:
        trace_id = g.sts_trace_id = str(uuid.uuid4())
    correlation_id = request.headers.get("client-request-id") or request.headers.get("x-ms-client-request-id")
    if not correlation_id:
        correlation_id = g.get("sts_correlation_id")
        if correlation_id is None:
            correlation_id = g.sts_correlation_id = str(uuid.uuid4())
    return trace_id, correlation_id


def add_sts_headers(resp: Response) -> Response:
    """Headers every STS answer carries: no caching, the request id, the echoed client-request-id."""
    trace_id, correlation_id = request_ids()
    resp.headers["Cache-Control"] = "no-store, no-cache"
    resp.headers["Pragma"] = "no-cache"
    resp.headers["x-ms-request-id"] = trace_id
    if request.headers.get("client-request-id"):
        resp.headers["client-request-id"] = correlation_id
    return resp
