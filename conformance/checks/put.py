"""PUT replaces a resource (RFC 7644 §3.5.1)."""

from __future__ import annotations

from ..context import CheckContext
from ..registry import check
from ._helpers import expect_error, member_ids


@check("put.replace", "PUT /Users/{id} replaces values and answers 200 with the resource", "RFC 7644 §3.5.1", "MUST",
       writes=True)
def replace(ctx: CheckContext) -> None:
    """'Unless otherwise specified, a successful PUT operation returns a 200 OK response code and the entire resource within the response body.'"""
    user = ctx.new_user()
    body = ctx.user_body(userName=user["userName"], nickName="Replaced", title="Engineer")
    body["emails"] = user.get("emails") or body["emails"]
    r = ctx.put(f"Users/{user['id']}", body)
    ctx.expect_status(r, 200, doing="PUT /Users/{id}")
    ctx.validate("User", r.json, "the PUT response")
    got = ctx.fetch("Users", user["id"])
    ctx.expect(got.get("nickName") == "Replaced" and got.get("title") == "Engineer",
               f"after PUT nickName={got.get('nickName')!r} title={got.get('title')!r}")


@check("put.id-ignored", "PUT ignores a different id in the body", "RFC 7644 §3.5.1 (readOnly)", "MUST", writes=True)
def id_ignored(ctx: CheckContext) -> None:
    """'readOnly: Any values provided SHALL be ignored.' The resource keeps its id."""
    user = ctx.new_user()
    body = {**ctx.user_body(userName=user["userName"]), "id": f"{ctx.run.prefix}-other-id"}
    body["emails"] = user.get("emails") or body["emails"]
    r = ctx.put(f"Users/{user['id']}", body)
    ctx.expect(r.status in (200, 400), f"PUT answered {r.status}")
    if r.status == 400:
        ctx.note("the server refused the body's id with 400 instead of ignoring it")
        ctx.expect(False, "PUT with a readOnly id in the body was refused (400); RFC 7644 §3.5.1 says such values SHALL be ignored")
    ctx.expect(r.body.get("id") == user["id"], f"the PUT response has id {r.body.get('id')!r}")
    ctx.expect_status(ctx.get(f"Users/{user['id']}"), 200, doing="GET by the original id after PUT")


@check("put.unknown", "PUT /Users/{unknown id} answers 404", "RFC 7644 §3.5.1, §3.12", "MUST", writes=True)
def unknown(ctx: CheckContext) -> None:
    """PUT does not create resources: an unknown id is 404."""
    expect_error(ctx, ctx.put(f"Users/{ctx.run.prefix}-missing", ctx.user_body()), 404, "PUT /Users/{unknown id}")
    found = ctx.get("Users", {"filter": f'userName sw "{ctx.run.prefix}"', "count": 200})
    ctx.expect(not any(str(u.get("id")) == f"{ctx.run.prefix}-missing" for u in found.resources()),
               "the PUT created a resource")


@check("put.required-missing", "PUT without the required userName is refused with 400", "RFC 7644 §3.5.1; RFC 7643 §4.1",
       "MUST", writes=True)
def required_missing(ctx: CheckContext) -> None:
    """userName is REQUIRED; a replacement without it cannot be stored (400, scimType invalidValue)."""
    user = ctx.new_user()
    body = ctx.user_body()
    body.pop("userName")
    body["emails"] = user.get("emails") or body["emails"]
    r = ctx.put(f"Users/{user['id']}", body)
    ctx.expect_status(r, 400, doing="PUT without userName")
    got = ctx.fetch("Users", user["id"])
    ctx.expect(got.get("userName") == user["userName"], "the refused PUT changed the User")


@check("put.group-members", "PUT /Groups/{id} replaces the member list", "RFC 7644 §3.5.1", "MUST", writes=True,
       requires=("Group",))
def group_members(ctx: CheckContext) -> None:
    """A PUT's members replace the existing members."""
    a, b = ctx.new_user(), ctx.new_user()
    group = ctx.new_group(members=[a["id"]])
    body = {"schemas": group.get("schemas") or ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": group["displayName"], "members": [{"value": b["id"]}]}
    r = ctx.put(f"Groups/{group['id']}", body)
    ctx.expect_status(r, 200, doing="PUT /Groups/{id}")
    got = ctx.fetch("Groups", group["id"])
    ctx.expect(member_ids(got) == {b["id"]}, f"members after PUT are {sorted(member_ids(got))}")
