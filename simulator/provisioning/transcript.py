"""Transcripts: every HTTP exchange of a provisioning run, in full, one JSON line each.

The provisioning log keeps the requests behind each record, clipped; a
transcript keeps all of them whole and in order (probes, matching queries,
creates, updates, retries), so that the exact conversation can be read, diffed,
or replayed against another SCIM server (``replay.py``). Each line holds the
sequence number, the method, the path below the SCIM base URL (with its query),
the request headers, the request body, the status (``null`` when no answer
came) and the response body; JSON bodies are kept as JSON, others as text.

Credentials never reach the file: headers and bodies go through
``simulator.requestlog.redact`` (the ``Authorization`` header becomes
``Bearer [redacted]``), and the job's own token is removed wherever it appears.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import orjson

from ..requestlog import REDACTED, redact


class TranscriptWriter:
    """Appends exchanges to a new JSON-lines file; pass ``record`` as ``ScimClient.exchange_hook``."""

    def __init__(self, path: str | Path, base_url: str, *, secrets: Iterable[str] = ()):
        self.path = Path(path)
        self.base_url = base_url.rstrip("/")
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.count = 0
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = open(self.path, "wb")  # noqa: SIM115 - open for the run, closed by close()

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return redact(text)

    def _body(self, data: bytes | None) -> Any:
        if not data:
            return None
        text = self._clean(data.decode("utf-8", "replace"))
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text

    def record(self, method: str, url: str, headers: dict[str, str], request_body: bytes | None, status: int | None,
               response_body: bytes | None, error: str | None) -> None:
        path = url.removeprefix(self.base_url)
        entry: dict[str, Any] = {
            "method": method, "path": self._clean(path),
            "requestHeaders": {name: self._clean(value) for name, value in headers.items()},
            "requestBody": self._body(request_body), "status": status, "responseBody": self._body(response_body),
        }
        if error is not None:
            entry["error"] = error
        with self._lock:
            if self._file is None:
                return
            self.count += 1
            self._file.write(orjson.dumps({"seq": self.count, **entry}) + b"\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class TranscriptError(Exception):
    """The file is not a transcript: one line for the user, naming the line at fault."""


def read_transcript(path: str | Path) -> list[dict[str, Any]]:
    """The exchanges of a transcript file, in order; ``TranscriptError`` names the first bad line."""
    entries = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise TranscriptError(f"{path}:{number}: not JSON ({exc})") from None
            if not isinstance(entry, dict) or not isinstance(entry.get("method"), str) \
                    or not isinstance(entry.get("path"), str):
                raise TranscriptError(f"{path}:{number}: not a transcript exchange (needs method and path)")
            entries.append(entry)
    return entries
