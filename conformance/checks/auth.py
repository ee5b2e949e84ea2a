"""Authentication (RFC 7644 §2, §3.12; RFC 6750 §3; RFC 7235 §3.1): no or bad credentials get 401."""

from __future__ import annotations

from ..context import CheckContext
from ..registry import check


@check("auth.missing", "A request without credentials is refused with 401", "RFC 7644 §2, §3.12", "MUST")
def missing(ctx: CheckContext) -> None:
    """Service providers authenticate clients; 401 Unauthorized means 'the authorization header is invalid or missing' (§3.12)."""
    r = ctx.get("Users", {"count": 1}, auth=False)
    ctx.expect_status(r, 401, doing="GET /Users without Authorization")


@check("auth.bad-token", "A request with an unknown bearer token is refused with 401", "RFC 7644 §3.12; RFC 6750 §3.1",
       "MUST")
def bad_token(ctx: CheckContext) -> None:
    """An invalid token is an authorization failure: 401 (RFC 6750 §3.1 'invalid_token')."""
    r = ctx.get("Users", {"count": 1}, auth=False, headers={"Authorization": "Bearer entrasim-conformance-not-a-token"})
    ctx.expect_status(r, 401, doing="GET /Users with an unknown bearer token")


@check("auth.challenge", "A 401 carries a WWW-Authenticate challenge", "RFC 7235 §3.1; RFC 6750 §3", "MUST")
def challenge(ctx: CheckContext) -> None:
    """'The server generating a 401 response MUST send a WWW-Authenticate header field containing at least one challenge.'"""
    r = ctx.get("Users", {"count": 1}, auth=False)
    ctx.require(r.status == 401, f"the request without credentials answered {r.status}, not 401 (see auth.missing)")
    ctx.expect(r.headers.get("WWW-Authenticate"), "the 401 has no WWW-Authenticate header")


@check("auth.error-body", "A 401 body is a SCIM Error", "RFC 7644 §3.12", "SHOULD")
def error_body(ctx: CheckContext) -> None:
    """Errors are returned as SCIM Error messages (schemas, status as a string, detail)."""
    r = ctx.get("Users", {"count": 1}, auth=False)
    ctx.require(r.status == 401, f"the request without credentials answered {r.status}, not 401 (see auth.missing)")
    ctx.validate("Error", r.json, "the 401 body")
    ctx.expect(r.body.get("status") == "401", f"the Error's status is {r.body.get('status')!r}, not \"401\"")


@check("auth.write-refused", "A write without credentials is refused and changes nothing", "RFC 7644 §2, §3.12", "MUST",
       writes=True)
def write_refused(ctx: CheckContext) -> None:
    """An unauthenticated POST /Users must not create a user."""
    body = ctx.user_body("noauth")
    r = ctx.request("POST", "Users", json_body=body, auth=False)
    if r.status in (200, 201) and r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    ctx.expect_status(r, 401, doing="POST /Users without Authorization")
    found = ctx.get("Users", {"filter": f'userName eq "{body["userName"]}"'})
    ctx.expect(not found.resources(), "the refused POST created the user anyway")
