"""Media types and encoding (RFC 7644 §3.1, §3.8, §8.1)."""

from __future__ import annotations

from ..context import CheckContext
from ..registry import check


@check("content-type.response", "JSON responses are application/scim+json", "RFC 7644 §3.1, §8.1", "SHOULD")
def response(ctx: CheckContext) -> None:
    """SCIM's media type is application/scim+json; clients such as Microsoft's SCIM Validator reject application/json."""
    for path in ("Users", "ServiceProviderConfig"):
        r = ctx.get(path, {"count": 1} if path == "Users" else None)
        ctx.expect(r.content_type == "application/scim+json", f"GET /{path} answered Content-Type {r.content_type!r}")


@check("content-type.error", "Error responses are application/scim+json", "RFC 7644 §3.12, §8.1", "SHOULD")
def error(ctx: CheckContext) -> None:
    """Errors are SCIM messages too, with the SCIM media type."""
    r = ctx.get(f"Users/{ctx.run.prefix}-missing")
    ctx.expect(r.content_type == "application/scim+json", f"the 404 answered Content-Type {r.content_type!r}")


@check("content-type.accept-scim", "Accept: application/scim+json is served", "RFC 7644 §3.8", "MUST")
def accept_scim(ctx: CheckContext) -> None:
    """Service providers MUST support the Accept header 'application/scim+json'."""
    r = ctx.get("Users", {"count": 1}, headers={"Accept": "application/scim+json"})
    ctx.expect_status(r, 200, doing="GET /Users with Accept: application/scim+json")


@check("content-type.accept-json", "Accept: application/json is served", "RFC 7644 §3.8", "SHOULD")
def accept_json(ctx: CheckContext) -> None:
    """Service providers SHOULD support 'Accept: application/json'."""
    r = ctx.get("Users", {"count": 1}, headers={"Accept": "application/json"})
    ctx.expect_status(r, 200, doing="GET /Users with Accept: application/json")


@check("content-type.request-json", "A request body sent as application/json is accepted", "RFC 7644 §3.8", "SHOULD",
       writes=True)
def request_json(ctx: CheckContext) -> None:
    """Many clients send application/json; servers should read it as SCIM JSON."""
    r = ctx.request("POST", "Users", json_body=ctx.user_body(), content_type="application/json")
    if r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    ctx.expect_status(r, 201, doing="POST /Users with Content-Type: application/json")


@check("content-type.charset", "A charset parameter on the request media type is accepted", "RFC 7644 §8.1",
       "SHOULD", writes=True)
def charset(ctx: CheckContext) -> None:
    """'application/scim+json; charset=utf-8' is the same media type in UTF-8."""
    r = ctx.request("POST", "Users", json_body=ctx.user_body(), content_type="application/scim+json; charset=utf-8")
    if r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    ctx.expect_status(r, 201, doing="POST /Users with Content-Type: application/scim+json; charset=utf-8")
