"""Error responses (RFC 7644 §3.12): shape, status, scimType for malformed input."""

from __future__ import annotations

from ..context import USER, CheckContext
from ..registry import check
from ._helpers import expect_error


@check("errors.body", "Errors are SCIM Error messages with status as a string", "RFC 7644 §3.12", "MUST")
def body(ctx: CheckContext) -> None:
    """'schemas' is urn:ietf:params:scim:api:messages:2.0:Error; 'status: The HTTP status code ... expressed as a JSON string. REQUIRED.'"""
    r = ctx.get(f"Users/{ctx.run.prefix}-missing")
    ctx.require(r.status == 404, f"GET of an unknown id answered {r.status} (see users.get.unknown)")
    ctx.validate("Error", r.json, "the 404 body")
    ctx.expect(r.body.get("status") == "404", f"status is {r.body.get('status')!r}, not \"404\"")


@check("errors.detail", "Errors carry a human-readable detail", "RFC 7644 §3.12 (detail)", "SHOULD")
def detail(ctx: CheckContext) -> None:
    """'detail: A detailed human-readable message.' It is what a vendor's support reads."""
    r = ctx.get(f"Users/{ctx.run.prefix}-missing")
    ctx.expect(isinstance(r.body.get("detail"), str) and r.body["detail"].strip(), "the 404 Error has no detail")


TRUNCATED = '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": '


@check("errors.invalid-json", "A body that is not JSON is refused with 400", "RFC 7644 §3.12", "MUST", writes=True)
def invalid_json(ctx: CheckContext) -> None:
    """A request body that cannot be parsed is a client error: 400 Bad Request."""
    expect_error(ctx, ctx.request("POST", "Users", data=TRUNCATED), 400, "POST /Users with truncated JSON")


@check("errors.invalid-json-scimtype", "A body that is not JSON is scimType invalidSyntax", "RFC 7644 §3.12 (Table 9)",
       "SHOULD", writes=True)
def invalid_json_scimtype(ctx: CheckContext) -> None:
    """invalidSyntax: 'The request body message structure was invalid or did not conform to the request schema.'"""
    r = ctx.request("POST", "Users", data=TRUNCATED)
    ctx.require(r.status == 400, f"answered {r.status} (see errors.invalid-json)")
    ctx.expect(r.body.get("scimType") == "invalidSyntax", f"scimType is {r.body.get('scimType')!r}")


@check("errors.missing-required", "A User without userName is refused with 400", "RFC 7643 §4.1; RFC 7644 §3.3, §3.12",
       "MUST", writes=True)
def missing_required(ctx: CheckContext) -> None:
    """userName is REQUIRED; the create fails with 400 (invalidValue: 'A required value was missing')."""
    body = ctx.user_body()
    body.pop("userName")
    r = ctx.post("Users", body)
    if r.status in (200, 201) and r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    ctx.expect_status(r, 400, doing="POST /Users without userName")


@check("errors.missing-required-scimtype", "A missing required value is scimType invalidValue",
       "RFC 7644 §3.12 (Table 9)", "SHOULD", writes=True)
def missing_required_type(ctx: CheckContext) -> None:
    """invalidValue: 'A required value was missing, or the value specified was not compatible with the operation or attribute type'."""
    body = ctx.user_body()
    body.pop("userName")
    r = ctx.post("Users", body)
    if r.status in (200, 201) and r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    ctx.require(r.status == 400, f"answered {r.status} (see errors.missing-required)")
    ctx.expect(r.body.get("scimType") in ("invalidValue", "invalidSyntax"), f"scimType is {r.body.get('scimType')!r}")


@check("errors.wrong-type", "A value of the wrong type is refused with 400", "RFC 7643 §2.3; RFC 7644 §3.12",
       "SHOULD", writes=True)
def wrong_type(ctx: CheckContext) -> None:
    """active is a boolean; an object there is not compatible with the attribute type (400 invalidValue)."""
    r = ctx.post("Users", ctx.user_body(active={"yes": 1}))
    if r.status in (200, 201) and r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    ctx.expect_status(r, 400, doing="POST /Users with active as an object")


@check("errors.missing-schemas", "A body without 'schemas' is refused with 400", "RFC 7643 §3; RFC 7644 §3.3",
       "SHOULD", writes=True)
def missing_schemas(ctx: CheckContext) -> None:
    """'schemas' is REQUIRED in every resource representation, requests included."""
    body = ctx.user_body()
    body.pop("schemas")
    r = ctx.post("Users", body)
    if r.status in (200, 201) and r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    ctx.expect_status(r, 400, doing="POST /Users without schemas")


@check("errors.unknown-schema", "A resource naming an unknown schema is refused with 400", "RFC 7643 §3",
       "SHOULD", writes=True)
def unknown_schema(ctx: CheckContext) -> None:
    """Schema URIs in 'schemas' must be ones the resource type supports; an unknown extension is invalid."""
    body = ctx.user_body()
    body["schemas"] = [USER, "urn:example:entrasim:conformance:unknown"]
    r = ctx.post("Users", body)
    if r.status in (200, 201) and r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    ctx.expect_status(r, 400, doing="POST /Users with an unknown schema URI")


@check("errors.unknown-endpoint", "An unknown endpoint answers 404", "RFC 7644 §3.12", "SHOULD")
def unknown_endpoint(ctx: CheckContext) -> None:
    """A path that names no resource is 404 Not Found."""
    ctx.expect_status(ctx.get(f"{ctx.run.prefix}Things"), 404, doing="GET /<unknown endpoint>")


@check("errors.no-5xx-on-garbage", "Garbage input never causes a 5xx", "RFC 7644 §3.12", "MUST", writes=True)
def no_5xx(ctx: CheckContext) -> None:
    """Client mistakes are 4xx; a 5xx says the server failed on input it should have refused."""
    bad_bodies = [[], "string", {"schemas": "not-a-list", "userName": 5}, {"schemas": [USER], "userName": None},
                  {"schemas": [USER], "userName": ctx.name("gb"), "emails": "x@example.test"}]
    for payload in bad_bodies:
        r = ctx.post("Users", payload)
        if r.status in (200, 201) and r.body.get("id"):
            ctx.track("Users", str(r.body["id"]))
        ctx.expect((r.status or 0) < 500, f"POST /Users with {str(payload)[:60]!r} answered {r.status}")
