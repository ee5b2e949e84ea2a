"""Small helpers shared by check modules (reading lists, errors and PATCH results the same way everywhere)."""

from __future__ import annotations

from typing import Any

from ..client import Response
from ..context import CheckContext


def expect_error(ctx: CheckContext, response: Response, status: int, doing: str, scim_type: str | None = None) -> None:
    """``response`` has this status; with ``scim_type`` also a SCIM Error body naming it."""
    ctx.expect_status(response, status, doing=doing)
    if scim_type is not None:
        got = response.body.get("scimType")
        ctx.expect(got == scim_type, f"{doing}: status {status} is right, but scimType is {got!r}, not '{scim_type}'")


def expect_list(ctx: CheckContext, response: Response, doing: str) -> list[dict[str, Any]]:
    """A 200 ListResponse that validates; returns its Resources."""
    ctx.expect_status(response, 200, doing=doing)
    ctx.validate("ListResponse", response.json, f"the answer to {doing}")
    return response.resources()


def ids(resources: list[dict[str, Any]]) -> set[str]:
    return {str(r.get("id")) for r in resources}


def patched(ctx: CheckContext, endpoint: str, rid: str, response: Response, doing: str) -> dict[str, Any]:
    """After a PATCH: 200 (with a body) or 204 are both RFC 7644 §3.5.2 answers; returns the resource read back."""
    ctx.expect_status(response, 200, 204, doing=doing)
    if response.status == 200 and response.body:
        ctx.validate(endpoint[:-1], response.json, f"the PATCH response of {doing}")
    return ctx.fetch(endpoint, rid)


def emails_of(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in resource.get("emails") or [] if isinstance(e, dict)]


def member_ids(group: dict[str, Any]) -> set[str]:
    return {str(m.get("value")) for m in group.get("members") or [] if isinstance(m, dict)}


def in_namespace(ctx: CheckContext, extra: str) -> str:
    """A filter that keeps a query inside this run's users, combined with ``extra``."""
    return f'userName sw "{ctx.run.prefix}" and ({extra})'
