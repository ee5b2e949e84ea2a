"""Who is asking for a token, for what, and whether they proved it: the STS's client-credentials checks.

Plain Python over the tenant model (no Flask): the token routes build a
``TokenRequest`` from the HTTP request and get back a ``Grant`` or an
``identity_errors`` exception that already knows its status and AADSTS body.

The checks run in the order that gives the most useful answer for a
misconfigured daemon app: tenant, grant type, client id, what is asked for
(scope or resource), which app, which resource, the credential, then whether the
app is enabled. A missing admin consent is *not* an error here: Entra issues the
token without ``roles`` and Graph refuses it later (TokenService leaves ``roles``
out when nothing is granted).

Client assertions (certificate credentials) are checked as Entra documents them
and as msal and azure-identity build them: RS256 with ``x5t`` (SHA-1 thumbprint)
or PS256 with ``x5t#S256`` and ``x5c``; thumbprints in base64url with or without
``=`` padding; ``exp``/``iat`` possibly floats; no ``nbf`` required; ``aud`` the
token endpoint URL; ``iss`` = ``sub`` = client id. The signature is verified
against the app's registered certificates, whose validity is judged on the
tenant's clock. The assertion's own lifetime is judged on the wall clock *or* the
tenant's clock: clients sign with their wall clock, while a scenario may have
moved the tenant's clock days ahead, and either reading should be accepted.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import unquote, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ..tenant import GRAPH_APP_ID, Application, KeyCredential, Tenant
from . import identity_errors as errors
from .tokens import GRAPH_RESOURCE

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_CREDENTIALS = "client_credentials"
#: Path segments that name no single tenant.
COMMON_SEGMENTS = ("common", "consumers")
ORGANIZATIONS = "organizations"
#: The Microsoft-account tenant that /consumers stands for.
MSA_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
#: Signature algorithms Entra accepts for client assertions.
ASSERTION_ALGORITHMS = ("RS256", "PS256")
#: Seconds of clock skew tolerated on an assertion's nbf and exp.
ASSERTION_SKEW = 300
#: Hosts an assertion's ``aud`` may name besides the one the client called.
PUBLIC_AUTHORITY_HOSTS = ("login.microsoftonline.com",)
TOKEN_PATHS = ("oauth2/v2.0/token", "oauth2/token")


@dataclass(frozen=True)
class TokenRequest:
    """What a client sent to a token endpoint, already out of HTTP."""

    tenant: str  # the path segment: tenant id, verified domain, common, organizations, consumers
    version: str  # "v1" (/oauth2/token, takes resource) or "v2" (/oauth2/v2.0/token, takes scope)
    host: str  # host[:port] the client called; a client assertion's aud names it
    form: Mapping[str, str]  # form fields (empty when the body was not form-encoded)
    basic: tuple[str, str] | None = None  # client_secret_basic credentials, already URL-decoded

    def field(self, name: str) -> str | None:
        """A form field, with an empty value counting as absent (as the STS treats ``scope=``)."""
        value = self.form.get(name)
        return value if value else None


@dataclass(frozen=True)
class Grant:
    """A successful client authentication: whose token, proven how, for which audience."""

    app: Application
    credential_type: str  # "secret" or "certificate"
    audience: str  # the token's aud
    resource: str  # what the client asked for, as it asked (the v1 response echoes it)


def discovery_tenant(tenant: Tenant, segment: str) -> tuple[str, str]:
    """(path segment for URLs, tenant id for the issuer) of a discovery document, or InvalidTenant.

    A known tenant, named by id or verified domain, is always written with its id,
    as Entra does. ``common`` and ``organizations`` keep their segment and use the
    literal ``{tenantid}`` template in the issuer; ``consumers`` is the Microsoft
    account tenant.
    """
    lowered = segment.lower()
    if lowered in ("common", ORGANIZATIONS):
        return lowered, "{tenantid}"
    if lowered == "consumers":
        return lowered, MSA_TENANT_ID
    if tenant.matches(segment):
        return tenant.id, tenant.id
    raise errors.InvalidTenant(segment)


class ClientAuthenticator:
    """Runs the token endpoint's checks for one tenant; ``wall_clock`` is injectable for tests of time."""

    def __init__(self, tenant: Tenant, wall_clock: Callable[[], float] = time.time, skew: int = ASSERTION_SKEW):
        self.tenant = tenant
        self.wall_clock = wall_clock
        self.skew = skew

    def authenticate(self, req: TokenRequest) -> Grant:
        tenant = self.tenant
        with tenant.lock:
            segment = req.tenant.lower()
            if segment not in COMMON_SEGMENTS + (ORGANIZATIONS,) and not tenant.matches(req.tenant):
                raise errors.TenantNotFound(req.tenant)
            grant_type = req.field("grant_type")
            if grant_type is None:
                raise errors.MissingParameter("grant_type")
            if grant_type != CLIENT_CREDENTIALS:
                raise errors.UnsupportedGrantType(grant_type)
            if segment in COMMON_SEGMENTS:
                raise errors.GrantNotSupportedOverCommon()
            # /organizations: the STS infers the tenant from the app registration, and this tenant is the only one.
            client_id = req.field("client_id") or (req.basic[0] if req.basic else None)
            if client_id is None:
                raise errors.MissingParameter("client_id")
            if req.basic is not None and req.field("client_id") and req.basic[0].lower() != client_id.lower():
                raise errors.MalformedRequest()
            resource = self._requested_resource(req)
            app = self._application(client_id)
            audience = self._audience(resource)
            credential_type = self._authenticate_client(req, app)
            sp = tenant.service_principals.get(app.appId)
            if sp is None or not sp.accountEnabled:
                raise errors.ApplicationDisabled(app.appId, app.displayName)
            return Grant(app=app, credential_type=credential_type, audience=audience, resource=resource)

    # ----------------------------------------------------------- what is asked for
    def _requested_resource(self, req: TokenRequest) -> str:
        """The resource a v1 request names, or the one behind a v2 request's single ``<resource>/.default``."""
        if req.version == "v1":
            resource = req.field("resource")
            if resource is None:
                raise errors.ResourceNotProvided()
            return resource.strip()
        if req.field("resource") is not None:
            raise errors.ResourceParameterNotSupported()
        scope = req.field("scope")
        if scope is None or not scope.split():
            raise errors.MissingParameter("scope")
        items = scope.split()
        if len(items) > 1:
            raise errors.InvalidScope(" ".join(items))
        item = items[0]
        if not item.lower().endswith("/.default") or len(item) == len("/.default"):
            raise errors.ScopeWithoutDefault(item)
        return item[: -len("/.default")]

    def _audience(self, resource: str) -> str:
        """Graph is the only resource principal in the simulated tenant; by URI or by its app id."""
        if resource.lower().rstrip("/") == GRAPH_RESOURCE:
            return GRAPH_RESOURCE
        if resource.lower() == GRAPH_APP_ID:
            return GRAPH_APP_ID
        raise errors.ResourcePrincipalNotFound(resource, self.tenant.displayName)

    def _application(self, client_id: str) -> Application:
        apps = self.tenant.applications
        app = apps.get(client_id) or next((a for a in apps.values() if a.appId.lower() == client_id.lower()), None)
        if app is None:
            raise errors.ApplicationNotFound(client_id, self.tenant.displayName)
        return app

    # ------------------------------------------------------------------- credential
    def _authenticate_client(self, req: TokenRequest, app: Application) -> str:
        form_secret = req.field("client_secret")
        basic_secret = req.basic[1] if req.basic is not None and req.basic[1] else None
        assertion = req.field("client_assertion")
        assertion_type = req.field("client_assertion_type")
        presented = [c for c in (form_secret, basic_secret, assertion) if c is not None]
        if not presented:
            if assertion_type is not None:
                raise errors.MissingParameter("client_assertion")
            raise errors.MissingClientCredential()
        if len(presented) > 1:
            raise errors.MalformedRequest()  # RFC 6749 2.3: one authentication method per request
        if assertion is not None:
            if assertion_type is None:
                raise errors.MissingParameter("client_assertion_type")
            if assertion_type != JWT_BEARER:
                raise errors.MalformedRequest()
            self._check_assertion(req, app, assertion)
            return "certificate"
        self._check_secret(app, form_secret or basic_secret or "")
        return "secret"

    def _check_secret(self, app: Application, secret: str) -> None:
        """Valid value: accepted. Value of an expired secret: 7000222. Anything else (the keyId, a typo,
        a secret whose start date is still ahead): 7000215."""
        now = self.tenant.clock.now()
        given = secret.encode()
        matching = [c for c in app.passwordCredentials if hmac.compare_digest(c.secretText.encode(), given)]
        if any(c.startDateTime <= now < c.endDateTime for c in matching):
            return
        if any(c.is_expired(now) for c in matching):
            raise errors.ExpiredClientSecret(app.appId)
        raise errors.InvalidClientSecret(app.appId)

    def _check_assertion(self, req: TokenRequest, app: Application, assertion: str) -> None:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise errors.ClientAssertionMalformed() from None
        algorithm = header.get("alg")
        if algorithm not in ASSERTION_ALGORITHMS:
            raise errors.ClientAssertionSignatureInvalid()
        sha1, sha256 = _assertion_thumbprints(header)
        if sha1 is None and sha256 is None:
            raise errors.ClientAssertionKeyNotFound(app.appId, None)
        credential = _find_certificate(app, sha1, sha256)
        shown = (sha1 or sha256 or b"").hex().upper()
        if credential is None:
            raise errors.ClientAssertionKeyNotFound(app.appId, shown)
        now = self.tenant.clock.now()
        if not credential.startDateTime <= now < credential.endDateTime:
            raise errors.ClientAssertionKeyExpired(shown, credential.startDateTime, credential.endDateTime)
        public_key = x509.load_pem_x509_certificate(credential.certificatePem.encode()).public_key()
        try:
            claims = jwt.decode(assertion, public_key, algorithms=[algorithm], options={
                "verify_signature": True, "verify_exp": False, "verify_nbf": False, "verify_iat": False,
                "verify_aud": False, "verify_iss": False, "verify_sub": False, "verify_jti": False})
        except jwt.InvalidSignatureError:
            raise errors.ClientAssertionSignatureInvalid() from None
        except jwt.DecodeError:
            raise errors.ClientAssertionMalformed() from None
        except (jwt.PyJWTError, ValueError, TypeError):  # e.g. a key type the algorithm cannot use
            raise errors.ClientAssertionSignatureInvalid() from None
        self._check_assertion_claims(req, app, claims)

    def _check_assertion_claims(self, req: TokenRequest, app: Application, claims: dict[str, Any]) -> None:
        issuer, subject = claims.get("iss"), claims.get("sub")
        if not isinstance(issuer, str) or not isinstance(subject, str):
            raise errors.ClientAssertionMalformed()
        if issuer != subject:
            raise errors.ClientAssertionSubjectMismatch()
        if issuer.lower() != app.appId.lower():
            raise errors.ClientAssertionClientIdMismatch()
        audiences = claims.get("aud")
        audiences = [audiences] if isinstance(audiences, str) else audiences
        if not isinstance(audiences, list) or not any(isinstance(a, str) and self._is_token_endpoint(a, req) for a in audiences):
            raise errors.ClientAssertionAudienceMismatch()
        expiry, not_before = claims.get("exp"), claims.get("nbf")
        if not _is_number(expiry) or (not_before is not None and not _is_number(not_before)):
            raise errors.ClientAssertionMalformed()

        def current(moment: float) -> bool:
            return (not_before is None or moment >= float(not_before) - self.skew) and moment < float(expiry) + self.skew

        simulated = self.tenant.clock.timestamp()
        if not (current(self.wall_clock()) or current(simulated)):
            raise errors.ClientAssertionOutsideValidity(simulated, not_before, float(expiry))

    def _is_token_endpoint(self, audience: str, req: TokenRequest) -> bool:
        """``https://<this host or login.microsoftonline.com>/<this tenant>/oauth2[/v2.0]/token``."""
        parts = urlsplit(audience.strip())
        if parts.scheme != "https" or parts.netloc.lower() not in (req.host.lower(),) + PUBLIC_AUTHORITY_HOSTS:
            return False
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) < 3:
            return False
        tenant_segment, rest = segments[0], "/".join(segments[1:])
        if rest not in TOKEN_PATHS:
            return False
        return self.tenant.matches(tenant_segment) or tenant_segment.lower() == req.tenant.lower()


# ------------------------------------------------------------------------ helpers

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _b64url_decode(text: Any) -> bytes | None:
    """Thumbprints arrive as base64url with or without '=' padding (msal pads, the docs do not)."""
    if not isinstance(text, str) or not text:
        return None
    stripped = text.strip().rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        return None


def _assertion_thumbprints(header: dict[str, Any]) -> tuple[bytes | None, bytes | None]:
    """(SHA-1, SHA-256) of the certificate the assertion names: from x5t / x5t#S256, else from x5c."""
    sha1 = _b64url_decode(header.get("x5t"))
    sha256 = _b64url_decode(header.get("x5t#S256"))
    chain = header.get("x5c")
    if sha1 is None and sha256 is None and isinstance(chain, list) and chain and isinstance(chain[0], str):
        try:
            cert = x509.load_der_x509_certificate(base64.b64decode(chain[0]))
        except (binascii.Error, ValueError):
            return None, None
        return cert.fingerprint(hashes.SHA1()), cert.fingerprint(hashes.SHA256())
    return sha1, sha256


def _find_certificate(app: Application, sha1: bytes | None, sha256: bytes | None) -> KeyCredential | None:
    for credential in app.keyCredentials:
        if sha256 is not None and hmac.compare_digest(credential.thumbprint_sha256, sha256):
            return credential
        if sha1 is not None and hmac.compare_digest(credential.thumbprint_sha1, sha1):
            return credential
    return None


def basic_credentials(username: str | None, password: str | None) -> tuple[str, str] | None:
    """client_secret_basic: RFC 6749 2.3.1 form-encodes id and secret before Base64, so decode them."""
    if username is None:
        return None
    return unquote(username), unquote(password or "")
