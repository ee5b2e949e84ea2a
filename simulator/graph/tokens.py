"""Signing keys, JWKS, and the app-only access tokens the identity platform issues and Graph accepts.

Tokens are RS256 JWTs shaped like real Graph app-only tokens (v1.0 tokens, as
Graph's resource asks for, whichever endpoint issued them): ``aud`` is
https://graph.microsoft.com, ``iss`` is https://sts.windows.net/{tid}/, ``roles``
lists the consented application permissions and is absent when none are.
One RSA key per process signs every tenant's tokens, as Entra's keys are shared.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ..tenant import GRAPH_APP_ID, Tenant

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_AUDIENCES = (GRAPH_RESOURCE, GRAPH_RESOURCE + "/", GRAPH_APP_ID)
DEFAULT_LIFETIME = 3599
#: Real tokens carry iat/nbf about five minutes before issuance.
BACKDATE = timedelta(minutes=5)


def b64url(data: bytes, pad: bool = False) -> str:
    text = base64.urlsafe_b64encode(data).decode()
    return text if pad else text.rstrip("=")


class InvalidToken(Exception):
    """Why a bearer token was refused, in Graph's wording (``reason`` is the message)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class SigningKey:
    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def kid(self) -> str:
        """Entra's ``kid`` equals ``x5t``: the certificate's SHA-1 thumbprint, base64url."""
        return b64url(self.certificate.fingerprint(hashes.SHA1()))

    def jwk(self, issuer: str) -> dict[str, Any]:
        numbers = self.private_key.public_key().public_numbers()

        def n2b(value: int) -> str:
            return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

        return {
            "kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid,
            "n": n2b(numbers.n), "e": n2b(numbers.e),
            "x5c": [base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode()],
            "issuer": issuer,
        }


_KEY_LOCK = threading.Lock()
_PROCESS_KEY: "SigningKey | None" = None


def process_signing_key() -> "SigningKey":
    """One signing key per process, shared by every tenant (as Entra shares its keys across tenants).

    RSA generation costs tens of milliseconds; tests start many servers.
    """
    global _PROCESS_KEY
    with _KEY_LOCK:
        if _PROCESS_KEY is None:
            _PROCESS_KEY = make_signing_key("entrasim-sts")
        return _PROCESS_KEY


def make_signing_key(seed: str) -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.accesscontrol.windows.net")])
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(int(hashlib.sha256(seed.encode()).hexdigest()[:30], 16))
        .not_valid_before(start).not_valid_after(start + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return SigningKey(key, cert)


class TokenService:
    """Issues and validates the tenant's access tokens against the tenant's clock."""

    def __init__(self, tenant: Tenant, lifetime: int = DEFAULT_LIFETIME, clock_skew: int = 300):
        self.tenant = tenant
        self.lifetime = lifetime
        self.clock_skew = clock_skew
        self.key = process_signing_key()
        self._verified: dict[str, dict[str, Any]] = {}
        self._verified_lock = threading.Lock()

    @property
    def issuer(self) -> str:
        return f"https://sts.windows.net/{self.tenant.id}/"

    def jwks(self, issuer_template: str = "https://login.microsoftonline.com/{tenantid}/v2.0") -> dict[str, Any]:
        return {"keys": [self.key.jwk(issuer_template)]}

    def issue(self, app_id: str, *, credential_type: str = "secret", audience: str = GRAPH_RESOURCE) -> tuple[str, dict[str, Any]]:
        """An app-only Graph token for ``app_id``; ``credential_type`` is "secret" or "certificate"."""
        tenant = self.tenant
        app = tenant.get_application(app_id)
        sp = tenant.service_principal(app_id)
        now = int(tenant.clock.timestamp())
        issued = now - int(BACKDATE.total_seconds())
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": self.issuer,
            "iat": issued,
            "nbf": issued,
            "exp": now + self.lifetime,
            "aio": b64url(uuid.uuid4().bytes),
            "app_displayname": app.displayName,
            "appid": app.appId,
            "appidacr": "2" if credential_type == "certificate" else "1",
            "idp": self.issuer,
            "idtyp": "app",
            "oid": sp.id,
            "rh": "0.entrasim." + b64url(uuid.uuid4().bytes[:6]),
            "sub": sp.id,
            "tenant_region_scope": "EU",
            "tid": tenant.id,
            "uti": b64url(uuid.uuid4().bytes),
            "ver": "1.0",
            "xms_tcdt": int(tenant.createdDateTime.timestamp()),
        }
        if sp.grantedPermissions:
            claims["roles"] = list(sp.grantedPermissions)
        token = jwt.encode(claims, self.key.private_key, algorithm="RS256",
                           headers={"typ": "JWT", "x5t": self.key.kid, "kid": self.key.kid})
        return token, claims

    def validate(self, token: str) -> dict[str, Any]:
        """Verify signature, lifetime (with skew, on the simulated clock), audience and tenant.

        The signature check is remembered per token (a client sends the same token for
        an hour); lifetime, audience and tenant are checked on every call.
        """
        if not token:
            raise InvalidToken("Access token is empty.")
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify_signature(token)
            with self._verified_lock:
                if len(self._verified) >= 4096:
                    self._verified.clear()
                self._verified[token] = claims
        now = self.tenant.clock.timestamp()
        if claims.get("aud") not in GRAPH_AUDIENCES:
            raise InvalidToken("Access token validation failure. Invalid audience.")
        if claims.get("tid") != self.tenant.id or claims.get("iss") != self.issuer:
            raise InvalidToken("Access token validation failure. Invalid issuer.")
        if now >= float(claims.get("exp", 0)) + self.clock_skew:
            raise InvalidToken("Lifetime validation failed, the token is expired.")
        if now + self.clock_skew < float(claims.get("nbf", 0)):
            raise InvalidToken("Lifetime validation failed, the token is not yet valid.")
        return dict(claims)

    def _verify_signature(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("CompactToken parsing failed with error code: 80049217") from None
        if header.get("kid") != self.key.kid:
            raise InvalidToken("Access token validation failure.")
        try:
            return jwt.decode(token, self.key.private_key.public_key(), algorithms=["RS256"],
                              options={"verify_exp": False, "verify_nbf": False, "verify_aud": False, "verify_iat": False})
        except jwt.PyJWTError:
            raise InvalidToken("Access token validation failure.") from None


@functools.lru_cache(maxsize=4096)
def _unverified_claims(token: str) -> tuple[str | None, str | None]:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None, None
    return claims.get("appid"), claims.get("tid")


def caller_of(token: str) -> tuple[str | None, str | None]:
    """(appid, tid) of a bearer token without verifying it: who a fault rule or the log should name."""
    return _unverified_claims(token)
