"""The import log: every call the LMS makes to the token endpoint and to Graph, with what came back.

An LMS admin debugging "These users cannot be imported: invalid_client" needs
the response behind it: status, error code, AADSTS code, and the request and
correlation ids Microsoft support asks for. Each entry keeps those and a short
excerpt of the body, redacted: secrets and tokens never reach the log (the
request bodies, which carry the client secret, are not kept at all).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from typing import Any

from ...requestlog import redact

EXCERPT_CHARS = 400


def excerpt(body: bytes | str, limit: int = EXCERPT_CHARS) -> str:
    """A redacted, single-line excerpt of a response body (JSON re-encoded compactly when it parses)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        parsed = json.loads(text)
    except ValueError:
        return _cut(redact(" ".join(text.split())), limit)
    return excerpt_of(parsed, limit)


def excerpt_of(parsed: Any, limit: int = EXCERPT_CHARS) -> str:
    """The same excerpt from an already parsed body (a page is not parsed twice)."""
    if isinstance(parsed, dict) and isinstance(parsed.get("value"), list):
        # a page of users: the shape matters, not 999 users' details
        parsed = {**{k: v for k, v in parsed.items() if k != "value"}, "value": f"[{len(parsed['value'])} items]"}
    return _cut(redact(json.dumps(parsed, separators=(",", ":"))), limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class LogEntry:
    """One HTTP exchange (or attempt at one) made by an import."""

    seq: int
    at: str  # on the LMS clock
    import_id: str | None
    call: str  # "token" or "graph"
    method: str
    url: str
    attempt: int
    status: int  # 0: no response (connection error or timeout)
    elapsed_ms: float
    error_code: str | None = None  # "invalid_client", "Request_ResourceNotFound", "timeout"...
    aadsts: int | None = None
    request_id: str | None = None
    correlation_id: str | None = None  # the client-request-id the LMS sent, echoed back
    retry_after: float | None = None
    excerpt: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ImportLog:
    """Append-only, thread-safe list of entries; ``seq`` numbers are 1-based and never reused."""

    def __init__(self) -> None:
        self._entries: list[LogEntry] = []
        self._lock = threading.Lock()

    def append(self, **fields: Any) -> LogEntry:
        with self._lock:
            entry = LogEntry(seq=len(self._entries) + 1, **fields)
            self._entries.append(entry)
            return entry

    def get(self, seq: int) -> LogEntry:
        with self._lock:
            if not 1 <= seq <= len(self._entries):
                raise KeyError(seq)
            return self._entries[seq - 1]

    def entries(self, import_id: str | None = None, since: int = 0) -> list[LogEntry]:
        with self._lock:
            return [e for e in self._entries[since:] if import_id is None or e.import_id == import_id]

    def __len__(self) -> int:
        return len(self._entries)
