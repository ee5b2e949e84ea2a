"""Replaying a transcript against another SCIM server, and where its answers differ.

A vendor who knows how their staging server answered a provisioning run can
send the very same requests to a new build, or to another implementation, and
see what changed without a directory or a job. Ids differ from one server to
the next, so the replay learns them: when an original answer and the new answer
both carry a resource id (a create, or the same position in a ListResponse),
the original id is rewritten to the new one in every later path and body.

Answers are compared on what a client depends on: the status, and the
top-level keys of JSON bodies (values such as ids and timestamps always
differ). Requests go out as recorded, one at a time, with the new token and
none of the transcript's (redacted) credentials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import requests

from ..http_session import pinned_session
from .scim_client import SCIM_JSON, USER_AGENT


@dataclass
class Difference:
    """One exchange whose answer differs: what the transcript holds against what the target answered."""

    seq: int
    method: str
    path: str
    expected_status: int | None
    status: int | None
    missing_keys: list[str] = field(default_factory=list)
    extra_keys: list[str] = field(default_factory=list)
    error: str | None = None

    def describe(self) -> str:
        parts = []
        if self.error is not None:
            parts.append(f"no answer ({self.error}), expected {self.expected_status}")
        elif self.status != self.expected_status:
            parts.append(f"status {self.status}, expected {self.expected_status}")
        if self.missing_keys:
            parts.append("missing keys " + ", ".join(self.missing_keys))
        if self.extra_keys:
            parts.append("extra keys " + ", ".join(self.extra_keys))
        return f"#{self.seq} {self.method} {self.path}: " + "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "method": self.method, "path": self.path, "expectedStatus": self.expected_status,
                "status": self.status, "missingKeys": self.missing_keys, "extraKeys": self.extra_keys,
                "error": self.error}


@dataclass
class ReplayReport:
    target: str
    sent: int = 0
    differences: list[Difference] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # original id -> the target's id

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "sent": self.sent, "same": self.sent - len(self.differences),
                "differences": [d.as_dict() for d in self.differences], "idsRewritten": len(self.ids)}


def _keys(body: Any) -> set[str] | None:
    return set(body) if isinstance(body, dict) else None


def _learn(ids: dict[str, str], original: Any, answer: Any) -> None:
    """Original id -> new id, from two answers describing the same resource(s)."""
    if not isinstance(original, dict) or not isinstance(answer, dict):
        return
    old, new = original.get("id"), answer.get("id")
    if isinstance(old, str) and isinstance(new, str) and old and new and old != new:
        ids[old] = new
    before, after = original.get("Resources"), answer.get("Resources")
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for a, b in zip(before, after):
            _learn(ids, a, b)


def _rewrite(text: str, ids: dict[str, str]) -> str:
    for old in sorted(ids, key=len, reverse=True):
        text = text.replace(old, ids[old])
    return text


def replay(entries: list[dict[str, Any]], target_url: str, token: str, *, timeout: float = 30.0,
           verify: bool | str = True) -> ReplayReport:
    """Send ``entries`` (from ``read_transcript``) to ``target_url`` in order and compare the answers."""
    base = target_url.rstrip("/")
    report = ReplayReport(base)
    session = pinned_session(verify)
    session.headers.update({"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT})
    try:
        for index, entry in enumerate(entries, 1):
            seq = int(entry.get("seq") or index)
            method, path = entry["method"], _rewrite(entry["path"], report.ids)
            body = entry.get("requestBody")
            data = None
            if body is not None:
                text = body if isinstance(body, str) else orjson.dumps(body).decode()
                data = _rewrite(text, report.ids).encode()
            headers = {"Content-Type": SCIM_JSON} if data is not None else {}
            expected = entry.get("status")
            report.sent += 1
            try:
                response = session.request(method, base + path, data=data, headers=headers, timeout=timeout,
                                           allow_redirects=False)
            except requests.RequestException as exc:
                if expected is not None:
                    report.differences.append(Difference(seq, method, entry["path"], expected, None,
                                                         error=type(exc).__name__))
                continue
            try:
                answer = response.json() if response.content else None
            except ValueError:
                answer = response.text
            original = entry.get("responseBody")
            _learn(report.ids, original, answer)
            before, after = _keys(original), _keys(answer)
            missing = sorted(before - after) if before is not None and after is not None else []
            extra = sorted(after - before) if before is not None and after is not None else []
            if response.status_code != expected or missing or extra:
                report.differences.append(Difference(seq, method, entry["path"], expected, response.status_code,
                                                     missing, extra))
    finally:
        session.close()
    return report
