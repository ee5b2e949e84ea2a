"""Retry-After as seconds, in both of the forms RFC 9110 §10.2.3 allows.

Graph and SCIM servers say how long to wait with a number of seconds; gateways
and some servers send an HTTP date. Every client here (the provisioning engine's
SCIM client and Graph source, the Graph-pull LMS's importer) reads it through
this one function, so none of them ignores the date form.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait (never negative), or None when the header is absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
