"""readOnly and immutable semantics (RFC 7643 §2.2 mutability; RFC 7644 §3.3, §3.5.1, §3.5.2)."""

from __future__ import annotations

from ..context import CheckContext
from ..registry import check
from ._helpers import expect_error


@check("readonly.id-on-create", "A client-supplied id is ignored at creation", "RFC 7644 §3.3; RFC 7643 §3.1 (id)",
       "MUST", writes=True)
def id_on_create(ctx: CheckContext) -> None:
    """'In the request body, attributes whose mutability is "readOnly" ... SHALL be ignored.' The id 'is always issued by the service provider'."""
    chosen = f"{ctx.run.prefix}-client-chosen-id"
    r = ctx.post("Users", ctx.user_body(id=chosen))
    if r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    ctx.expect_status(r, 201, doing="POST /Users with an id in the body")
    ctx.expect(r.body.get("id") != chosen, "the server used the client's id")


@check("readonly.meta-on-create", "Client-supplied meta values are ignored", "RFC 7644 §3.3; RFC 7643 §3.1 (meta)",
       "MUST", writes=True)
def meta_on_create(ctx: CheckContext) -> None:
    """meta sub-attributes are readOnly, assigned by the service provider; a client's meta.created is ignored."""
    r = ctx.post("Users", ctx.user_body(meta={"resourceType": "User", "created": "2001-01-01T00:00:00Z"}))
    if r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    ctx.expect_status(r, 201, doing="POST /Users with meta.created in the body")
    created = (r.body.get("meta") or {}).get("created")
    ctx.expect(created != "2001-01-01T00:00:00Z", "the server stored the client's meta.created")


@check("readonly.patch-id", "PATCH of the readOnly id is refused", "RFC 7644 §3.5.2", "MUST", writes=True,
       requires=("patch",))
def patch_id(ctx: CheckContext) -> None:
    """'a client MUST NOT modify an attribute that has mutability "readOnly" ... An operation that is not compatible with an attribute's mutability ... SHALL return the appropriate HTTP response status code and a JSON detail error response.'"""
    user = ctx.new_user()
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": "id", "value": f"{ctx.run.prefix}-new-id"})
    ctx.expect(400 <= (r.status or 0) < 500, f"PATCH replace id answered {r.status}")
    ctx.expect_status(ctx.get(f"Users/{user['id']}"), 200, doing="GET by the original id")


@check("readonly.patch-id-scimtype", "PATCH of a readOnly attribute is scimType mutability",
       "RFC 7644 §3.5.2, §3.12 (Table 9)", "SHOULD", writes=True, requires=("patch",))
def patch_id_type(ctx: CheckContext) -> None:
    """mutability: 'The attempted modification is not compatible with the target attribute's mutability or current state.'"""
    user = ctx.new_user()
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": "id", "value": f"{ctx.run.prefix}-new-id"})
    expect_error(ctx, r, 400, "PATCH replace id", "mutability")


@check("readonly.groups-attribute", "The User's readOnly groups attribute cannot be written by PATCH",
       "RFC 7643 §4.1.2 (groups)", "SHOULD", writes=True, requires=("patch", "Group"))
def groups_attribute(ctx: CheckContext) -> None:
    """groups is readOnly: 'membership changes MUST be applied via the Group Resource'. A PATCH of it is refused or ignored, never applied."""
    user = ctx.new_user()
    group = ctx.new_group()
    r = ctx.patch(f"Users/{user['id']}", {"op": "add", "path": "groups", "value": [{"value": group["id"]}]})
    ctx.expect((r.status or 0) < 500, f"answered {r.status}")
    members = {m.get("value") for m in ctx.fetch("Groups", group["id"]).get("members") or []}
    ctx.expect(user["id"] not in members, "writing the User's groups attribute changed the Group's members")


@check("readonly.immutable", "An immutable attribute with a value cannot be replaced", "RFC 7643 §2.2 (immutable)",
       "MUST", writes=True, requires=("patch",))
def immutable(ctx: CheckContext) -> None:
    """'immutable: The attribute MAY be defined at resource creation ... or at a record's first set ... and SHALL NOT be updated.'"""
    ctx.require(ctx.discovery.schemas, "GET /Schemas could not be read")
    candidates = [a for s in ctx.discovery.schemas.values() if s.get("id") == "urn:ietf:params:scim:schemas:core:2.0:User"
                  for a in s.get("attributes") or []
                  if a.get("mutability") == "immutable" and a.get("type") == "string" and not a.get("multiValued")]
    if not candidates:
        ctx.skip("the User schema declares no single-valued immutable string attribute")
    name = candidates[0]["name"]
    user = ctx.new_user(**{name: f"{ctx.run.prefix}-first"})
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": name, "value": f"{ctx.run.prefix}-second"})
    ctx.expect(400 <= (r.status or 0) < 500, f"replacing immutable {name} answered {r.status}")
