"""Groups and membership (RFC 7643 §4.2; RFC 7644 §3.3-3.6)."""

from __future__ import annotations

from ..context import CheckContext
from ..registry import check
from ._helpers import expect_error, expect_list, member_ids

G = ("Group",)


@check("groups.create", "POST /Groups answers 201 with the created Group", "RFC 7644 §3.3; RFC 7643 §4.2", "MUST",
       writes=True, requires=G)
def create(ctx: CheckContext) -> None:
    """A Group is created with displayName (REQUIRED) and answered with 201 and its representation."""
    body = ctx.group_body()
    r = ctx.post("Groups", body)
    if r.body.get("id"):
        ctx.track("Groups", str(r.body["id"]))
    ctx.expect_status(r, 201, doing="POST /Groups")
    ctx.validate("Group", r.json, "the created Group")
    ctx.expect(r.body.get("displayName") == body["displayName"], f"displayName came back as {r.body.get('displayName')!r}")


@check("groups.create.with-members", "A Group created with members lists them", "RFC 7643 §4.2 (members)", "MUST",
       writes=True, requires=G)
def with_members(ctx: CheckContext) -> None:
    """members[].value is the id of a member resource; members sent at creation are the group's members."""
    a, b = ctx.new_user(), ctx.new_user()
    group = ctx.new_group(members=[a["id"], b["id"]])
    got = ctx.fetch("Groups", group["id"])
    ctx.expect(member_ids(got) == {a["id"], b["id"]}, f"members are {sorted(member_ids(got))}")


@check("groups.display-name-required", "A Group without displayName is refused with 400", "RFC 7643 §4.2; RFC 7644 §3.3",
       "MUST", writes=True, requires=G)
def display_name_required(ctx: CheckContext) -> None:
    """displayName: 'A human-readable name for the Group. REQUIRED.'"""
    body = ctx.group_body()
    body.pop("displayName")
    r = ctx.post("Groups", body)
    if r.status in (200, 201) and r.body.get("id"):
        ctx.track("Groups", str(r.body["id"]))
    ctx.expect_status(r, 400, doing="POST /Groups without displayName")


@check("groups.get", "GET /Groups/{id} answers 200 with the Group", "RFC 7644 §3.4.1", "MUST", writes=True, requires=G)
def get(ctx: CheckContext) -> None:
    """A known Group is returned with 200."""
    group = ctx.new_group()
    r = ctx.get(f"Groups/{group['id']}")
    ctx.expect_status(r, 200, doing="GET /Groups/{id}")
    ctx.validate("Group", r.json, "the Group")


@check("groups.list", "GET /Groups answers a valid ListResponse", "RFC 7644 §3.4.2", "MUST", requires=G)
def list_groups(ctx: CheckContext) -> None:
    """A query on /Groups answers a ListResponse."""
    for item in expect_list(ctx, ctx.get("Groups", {"count": 5}), "GET /Groups?count=5"):
        ctx.validate("Group", item, f"listed Group {item.get('id')!r}")


@check("groups.get.unknown", "GET /Groups/{unknown id} answers 404", "RFC 7644 §3.12", "MUST", requires=G)
def get_unknown(ctx: CheckContext) -> None:
    """Unknown resources are 404 Not Found."""
    expect_error(ctx, ctx.get(f"Groups/{ctx.run.prefix}-missing"), 404, "GET /Groups/{unknown id}")


@check("groups.member-reference", "A User's groups attribute reflects its memberships", "RFC 7643 §4.1.2 (groups)",
       "SHOULD", writes=True, requires=G)
def user_groups(ctx: CheckContext) -> None:
    """groups is readOnly and 'membership changes MUST be applied via the Group Resource'; the User shows the groups it belongs to."""
    user = ctx.new_user()
    group = ctx.new_group(members=[user["id"]])
    got = ctx.fetch("Users", user["id"])
    values = {str(g.get("value")) for g in got.get("groups") or [] if isinstance(g, dict)}
    ctx.expect(group["id"] in values, f"the User's groups are {sorted(values)}, without {group['id']}")


@check("groups.delete", "DELETE /Groups/{id} answers 204 and leaves its members", "RFC 7644 §3.6", "MUST",
       writes=True, requires=G)
def delete(ctx: CheckContext) -> None:
    """Deleting a Group removes the Group (404 afterwards), not the Users it contained."""
    user = ctx.new_user()
    group = ctx.new_group(members=[user["id"]])
    ctx.expect_status(ctx.delete(f"Groups/{group['id']}"), 204, doing="DELETE /Groups/{id}")
    ctx.expect_status(ctx.get(f"Groups/{group['id']}"), 404, doing="GET after DELETE")
    ctx.expect_status(ctx.get(f"Users/{user['id']}"), 200, doing="GET of the former member")


@check("groups.member-deleted", "Deleting a User removes it from its Groups", "RFC 7644 §3.6", "SHOULD",
       writes=True, requires=G)
def member_deleted(ctx: CheckContext) -> None:
    """'Service providers MAY choose not to permanently delete ... but SHALL NOT return it'; a Group should not keep pointing at a deleted User."""
    a, b = ctx.new_user(), ctx.new_user()
    group = ctx.new_group(members=[a["id"], b["id"]])
    ctx.require(ctx.delete(f"Users/{a['id']}").status in (200, 204), "DELETE /Users/{id} failed")
    got = ctx.fetch("Groups", group["id"])
    ctx.expect(a["id"] not in member_ids(got), "the deleted User is still listed as a member")
