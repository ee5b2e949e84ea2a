"""Bearer tokens of the mock LMS: several at once, each revocable or expiring on the simulated clock.

Entra's provisioning job holds one long-lived secret token; rotating it (old
and new valid together, then the old one revoked) and letting it lapse are the
scenarios this module makes testable. Tokens are kept only as SHA-256 digests:
nothing the server logs, exports or serves can leak one. A failure answers 401
with an RFC 6750 challenge (``WWW-Authenticate: Bearer realm=...``) and a
detail saying whether the token was missing, unknown, revoked or expired.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ...clock import Clock, iso
from .errors import Unauthorized


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class TokenInfo:
    """What the server keeps about one token: never its value."""

    label: str
    digest: str
    expires_at: datetime | None = None
    revoked: bool = False

    def describe(self, now: datetime) -> dict[str, Any]:
        state = "revoked" if self.revoked else ("expired" if self.expires_at and self.expires_at <= now else "active")
        return {"label": self.label, "state": state, "expires_at": iso(self.expires_at) if self.expires_at else None}


class TokenRegistry:
    """The tokens one server accepts."""

    def __init__(self, clock: Clock | None = None, realm: str = "entrasim-lms"):
        self.clock = clock or Clock()
        self.realm = realm
        self._tokens: dict[str, TokenInfo] = {}
        self._lock = threading.Lock()

    @staticmethod
    def generate() -> str:
        return secrets.token_urlsafe(32)

    def add(self, token: str, label: str | None = None, expires_at: datetime | None = None,
            lifetime: float | timedelta | None = None) -> TokenInfo:
        """Accept ``token`` (optionally until ``expires_at``, or for ``lifetime`` from now on the simulated clock)."""
        if not token or any(c.isspace() for c in token):
            raise ValueError("a bearer token must be a non-empty string without spaces")
        if lifetime is not None:
            delta = lifetime if isinstance(lifetime, timedelta) else timedelta(seconds=float(lifetime))
            expires_at = self.clock.now() + delta
        with self._lock:
            label = label or f"token-{len(self._tokens) + 1}"
            if any(t.label == label for t in self._tokens.values()):
                raise ValueError(f"a token labelled '{label}' already exists")
            info = TokenInfo(label, _digest(token), expires_at)
            self._tokens[info.digest] = info
            return info

    def _find(self, token_or_label: str) -> TokenInfo:
        info = self._tokens.get(_digest(token_or_label))
        if info is None:
            info = next((t for t in self._tokens.values() if t.label == token_or_label), None)
        if info is None:
            raise KeyError(token_or_label)
        return info

    def revoke(self, token_or_label: str) -> TokenInfo:
        """Refuse a token from now on (by its value or its label)."""
        with self._lock:
            info = self._find(token_or_label)
            info.revoked = True
            return info

    def expire_at(self, token_or_label: str, moment: datetime) -> TokenInfo:
        with self._lock:
            info = self._find(token_or_label)
            info.expires_at = moment
            return info

    def describe(self) -> list[dict[str, Any]]:
        now = self.clock.now()
        with self._lock:
            return [t.describe(now) for t in self._tokens.values()]

    def __len__(self) -> int:
        return len(self._tokens)

    def identify(self, authorization: str | None) -> str | None:
        """The label of a known token in an Authorization header, without judging it (for logs and faults)."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        info = self._tokens.get(_digest(authorization[7:].strip()))
        return info.label if info else None

    def check(self, authorization: str | None) -> TokenInfo:
        """The token an Authorization header carries, if it is accepted now; else 401."""
        if not authorization:
            raise Unauthorized("authentication required: send 'Authorization: Bearer <token>'", realm=self.realm,
                               error=None)
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized(f"the Authorization header must use the Bearer scheme, not '{scheme}'", realm=self.realm,
                               error="invalid_request")
        digest = _digest(value.strip())
        info = self._tokens.get(digest)
        if info is None or not hmac.compare_digest(info.digest, digest):
            raise Unauthorized("the bearer token is not valid for this server", realm=self.realm)
        if info.revoked:
            raise Unauthorized(f"the bearer token '{info.label}' has been revoked", realm=self.realm)
        now = self.clock.now()
        if info.expires_at is not None and info.expires_at <= now:
            raise Unauthorized(f"the bearer token '{info.label}' expired at {iso(info.expires_at)}", realm=self.realm)
        return info
