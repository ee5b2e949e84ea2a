"""A bounded, redacted log of the requests a server answered.

Scenarios assert on it ("the LMS called the token endpoint twice"), the control
API serves it, and users read it to see what a client really sent. Secrets never
enter it: Authorization headers, client secrets, assertions and tokens are
replaced before anything is stored.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

REDACTED = "[redacted]"
_SECRET_FIELDS = re.compile(r"(client_secret|client_assertion|access_token|refresh_token|id_token|password|secret|token)=([^&\s]+)", re.I)
_BEARER = re.compile(r"(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.I)
_JSON_SECRET = re.compile(r'("(?:client_secret|client_assertion|access_token|refresh_token|id_token|password|secretText|secret|token)"\s*:\s*)"[^"]*"', re.I)
#: a signed token anywhere (a server echoing one in an error detail, a token in a URL)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


_SECRET_WORDS = ("secret", "assertion", "token", "password", "bearer", "basic", "eyj")


def redact(text: str) -> str:
    """Remove credentials from a query string, form body, JSON body or header value.

    Most logged bodies (SCIM resources, Graph pages) name no credential at all; a
    plain substring test spares them the three regular expressions.
    """
    lowered = text.lower()
    if not any(word in lowered for word in _SECRET_WORDS):
        return text
    text = _SECRET_FIELDS.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _JSON_SECRET.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text)
    return _JWT.sub(REDACTED, text)


class Redactor:
    """Removes known secrets by value, then the patterns ``redact`` knows, from any text a report shows.

    Request logs are redacted when written; a report also holds error messages,
    response bodies and URLs from elsewhere, and a server may echo a credential
    back. The redactor is told every secret that was handed out.
    """

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, *secrets: str | None) -> None:
        for secret in secrets:
            if secret and len(secret) >= 6:
                self._secrets.add(secret)

    def clean(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        return redact(text)

    def clean_value(self, value: Any) -> Any:
        """``clean`` through lists and mappings (JSON-like values)."""
        if isinstance(value, str):
            return self.clean(value)
        if isinstance(value, list):
            return [self.clean_value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.clean_value(v) for k, v in value.items()}
        return value


@dataclass
class LoggedRequest:
    seq: int
    time: float
    surface: str
    method: str
    path: str
    query: str
    status: int
    duration_ms: float
    client_id: str | None = None
    fault: str | None = None
    request_body: str | None = None
    response_body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    def __init__(self, capacity: int = 10_000, keep_bodies: bool = True, body_limit: int = 4096):
        self._entries: deque[LoggedRequest] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._seq = 0
        self.keep_bodies = keep_bodies
        self.body_limit = body_limit

    def record(self, *, surface: str, method: str, path: str, query: str, status: int, started: float,
               client_id: str | None = None, fault: str | None = None, request_body: bytes | None = None,
               response_body: bytes | None = None, headers: dict[str, str] | None = None) -> LoggedRequest:
        def clip(data: bytes | None) -> str | None:
            if not self.keep_bodies or not data:
                return None
            text = data[: self.body_limit].decode("utf-8", "replace")
            return redact(text)

        safe_headers = {k: redact(v) for k, v in (headers or {}).items()}
        with self._lock:
            self._seq += 1
            entry = LoggedRequest(self._seq, time.time(), surface, method, path, redact(query), status,
                                  round((time.perf_counter() - started) * 1000, 3), client_id, fault,
                                  clip(request_body), clip(response_body), safe_headers)
            self._entries.append(entry)
            return entry

    def entries(self, since: int = 0, surface: str | None = None) -> list[LoggedRequest]:
        with self._lock:
            items = [e for e in self._entries if e.seq > since]
        if surface:
            items = [e for e in items if e.surface == surface]
        return items

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
