"""Uniqueness (RFC 7644 §3.3, §3.5; RFC 7643 §2.2 uniqueness 'server')."""

from __future__ import annotations

from ..context import CheckContext
from ..registry import check
from ._helpers import expect_error


@check("uniqueness.create", "A duplicate userName is refused with 409 uniqueness", "RFC 7644 §3.3", "MUST", writes=True)
def create(ctx: CheckContext) -> None:
    """'If the service provider determines that the creation of the requested resource conflicts with existing resources (e.g., a "User" resource with a duplicate "userName"), the service provider MUST return HTTP status code 409 (Conflict) with a "scimType" error code of "uniqueness".'"""
    user = ctx.new_user()
    twin = ctx.user_body(userName=user["userName"])
    r = ctx.post("Users", twin)
    if r.status in (200, 201) and r.body.get("id") and r.body.get("id") != user["id"]:
        ctx.track("Users", str(r.body["id"]))
    expect_error(ctx, r, 409, "POST /Users with an existing userName", "uniqueness")


@check("uniqueness.case-insensitive", "userName uniqueness ignores case", "RFC 7643 §4.1 (userName caseExact false)",
       "SHOULD", writes=True)
def case_insensitive(ctx: CheckContext) -> None:
    """userName has caseExact false: 'BJensen' and 'bjensen' are the same userName, so the second is a conflict."""
    user = ctx.new_user()
    twin = ctx.user_body(userName=user["userName"].upper())
    r = ctx.post("Users", twin)
    if r.status in (200, 201) and r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    expect_error(ctx, r, 409, "POST /Users with the same userName in upper case")


@check("uniqueness.no-side-effect", "A refused duplicate leaves one resource", "RFC 7644 §3.3", "MUST", writes=True,
       requires=("filter",))
def no_side_effect(ctx: CheckContext) -> None:
    """A 409 means nothing was created: a filter on the userName still finds exactly one User."""
    user = ctx.new_user()
    r = ctx.post("Users", ctx.user_body(userName=user["userName"]))
    if r.status in (200, 201) and r.body.get("id") and r.body.get("id") != user["id"]:
        ctx.track("Users", str(r.body["id"]))
    found = ctx.get("Users", {"filter": f'userName eq "{user["userName"]}"'})
    ctx.expect(len(found.resources()) == 1, f"{len(found.resources())} Users have the userName")


@check("uniqueness.rename", "Renaming to an existing userName is refused with 409", "RFC 7644 §3.12 (Table 9); RFC 7643 §2.2",
       "SHOULD", writes=True, requires=("patch",))
def rename(ctx: CheckContext) -> None:
    """userName has uniqueness 'server' ('The value SHOULD be unique within the context of the current SCIM endpoint'); an update that would duplicate it is a 409 uniqueness conflict (Table 9 lists it for PUT and PATCH) and leaves the resource unchanged."""
    a, b = ctx.new_user(), ctx.new_user()
    r = ctx.patch(f"Users/{b['id']}", {"op": "replace", "path": "userName", "value": a["userName"]})
    expect_error(ctx, r, 409, "PATCH userName to another User's", "uniqueness")
    ctx.expect(ctx.fetch("Users", b["id"]).get("userName") == b["userName"], "the refused rename was applied")
