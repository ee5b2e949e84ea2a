"""Users: create, read, list, delete (RFC 7644 §3.3, §3.4.1, §3.4.2, §3.6; RFC 7643 §3.1, §4.1)."""

from __future__ import annotations

from ..context import CheckContext
from ..registry import check
from ._helpers import emails_of, expect_error, expect_list


@check("users.create", "POST /Users answers 201 with the created User", "RFC 7644 §3.3", "MUST", writes=True)
def create(ctx: CheckContext) -> None:
    """'When the service provider successfully creates the new resource, an HTTP response SHALL be returned with HTTP status code 201 (Created).'"""
    body = ctx.user_body()
    r = ctx.post("Users", body)
    if r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    ctx.expect_status(r, 201, doing="POST /Users")
    ctx.validate("User", r.json, "the created User")
    ctx.expect(r.body.get("userName") == body["userName"], f"userName came back as {r.body.get('userName')!r}")


@check("users.create.location", "A created User's Location header and meta.location name it", "RFC 7644 §3.3",
       "MUST", writes=True)
def location(ctx: CheckContext) -> None:
    """'The URI of the created resource SHALL include, in the HTTP "Location" header and the HTTP body ... the attribute "meta.location".'"""
    body = ctx.user_body()
    r = ctx.post("Users", body)
    ctx.require(r.status in (200, 201) and r.body.get("id"), f"POST /Users answered {r.status}")
    ctx.track("Users", str(r.body["id"]))
    loc = r.headers.get("Location")
    meta_loc = (r.body.get("meta") or {}).get("location")
    ctx.expect(loc, "no Location header")
    ctx.expect(meta_loc, "no meta.location")
    ctx.expect(loc == meta_loc, f"Location {loc!r} differs from meta.location {meta_loc!r}")
    ctx.expect(loc.rstrip("/").endswith(str(r.body["id"])), f"Location {loc!r} does not end with the id")


@check("users.meta", "A User carries meta.resourceType, created, lastModified and location", "RFC 7643 §3.1 (meta)",
       "SHOULD", writes=True)
def meta(ctx: CheckContext) -> None:
    """meta sub-attributes are assigned by the service provider; resourceType, created, lastModified and location describe the resource."""
    user = ctx.new_user()
    m = user.get("meta") or {}
    missing = [k for k in ("resourceType", "created", "lastModified", "location") if not m.get(k)]
    ctx.expect(not missing, f"meta lacks {', '.join(missing)}")
    ctx.expect(m.get("resourceType") == "User", f"meta.resourceType is {m.get('resourceType')!r}")


@check("users.get", "GET /Users/{id} answers 200 with the same User", "RFC 7644 §3.4.1", "MUST", writes=True)
def get(ctx: CheckContext) -> None:
    """'If the resource exists, the server responds with HTTP status code 200 (OK) and includes the result in the body.'"""
    user = ctx.new_user()
    r = ctx.get(f"Users/{user['id']}")
    ctx.expect_status(r, 200, doing="GET /Users/{id}")
    ctx.validate("User", r.json, "the User")
    ctx.expect(r.body.get("id") == user["id"], f"GET returned id {r.body.get('id')!r}")


@check("users.get.unknown", "GET /Users/{unknown id} answers 404", "RFC 7644 §3.12", "MUST")
def get_unknown(ctx: CheckContext) -> None:
    """404 Not Found: 'Specified resource ... does not exist.'"""
    expect_error(ctx, ctx.get(f"Users/{ctx.run.prefix}-missing"), 404, "GET /Users/{unknown id}")


@check("users.list", "GET /Users answers a valid ListResponse", "RFC 7644 §3.4.2", "MUST")
def list_users(ctx: CheckContext) -> None:
    """A query on a resource endpoint answers a ListResponse (schemas, totalResults, Resources)."""
    for item in expect_list(ctx, ctx.get("Users", {"count": 5}), "GET /Users?count=5"):
        ctx.validate("User", item, f"listed User {item.get('id')!r}")


@check("users.round-trip", "Values written at creation are returned unchanged", "RFC 7643 §2.2; RFC 7644 §3.3",
       "SHOULD", writes=True)
def round_trip(ctx: CheckContext) -> None:
    """The response 'SHOULD contain the service provider's representation of the newly created resource'; readWrite values a client sets are the ones it reads."""
    body = ctx.user_body(nickName="Countess", title="Analyst",
                         phoneNumbers=[{"value": "+1 555 0100", "type": "work"}])
    created = ctx.create("Users", body, "a User")
    got = ctx.fetch("Users", created["id"])
    for key in ("userName", "externalId", "nickName", "title", "active"):
        ctx.expect(got.get(key) == body[key], f"{key} came back as {got.get(key)!r}, sent {body[key]!r}")
    ctx.expect((got.get("name") or {}).get("givenName") == "Ada", f"name came back as {got.get('name')!r}")
    emails = emails_of(got)
    ctx.expect(any(e.get("value") == body["emails"][0]["value"] for e in emails), f"emails came back as {emails!r}")


@check("users.active-boolean", "active is stored and returned as a JSON boolean", "RFC 7643 §2.3.2, §4.1.1", "MUST",
       writes=True)
def active_boolean(ctx: CheckContext) -> None:
    """active is of type boolean: the literal true or false, never a string."""
    user = ctx.new_user(active=False)
    got = ctx.fetch("Users", user["id"])
    ctx.expect(got.get("active") is False, f"active came back as {got.get('active')!r}, sent false")


@check("users.delete", "DELETE /Users/{id} answers 204 and the User is gone", "RFC 7644 §3.6", "MUST", writes=True)
def delete(ctx: CheckContext) -> None:
    """'In response to a successful DELETE, the server SHALL return a successful HTTP status code 204 (No Content). A subsequent GET request ... MUST result in a 404.'"""
    user = ctx.new_user()
    r = ctx.delete(f"Users/{user['id']}")
    ctx.expect_status(r, 204, doing="DELETE /Users/{id}")
    ctx.expect_status(ctx.get(f"Users/{user['id']}"), 404, doing="GET after DELETE")


@check("users.delete.not-listed", "A deleted User is not returned by queries", "RFC 7644 §3.6", "MUST",
       writes=True, requires=("filter",))
def delete_not_listed(ctx: CheckContext) -> None:
    """The deleted resource 'SHALL NOT be returned by queries'."""
    user = ctx.new_user()
    ctx.require(ctx.delete(f"Users/{user['id']}").status in (200, 204), "DELETE failed (see users.delete)")
    found = ctx.get("Users", {"filter": f'userName eq "{user["userName"]}"'})
    ctx.expect(not found.resources(), "the deleted User is still returned by a filter on its userName")


@check("users.delete.unknown", "DELETE /Users/{unknown id} answers 404", "RFC 7644 §3.6, §3.12", "MUST",
       writes=True)
def delete_unknown(ctx: CheckContext) -> None:
    """A DELETE of a resource that does not exist is 404 Not Found."""
    expect_error(ctx, ctx.delete(f"Users/{ctx.run.prefix}-missing"), 404, "DELETE /Users/{unknown id}")


@check("users.utf8", "Non-ASCII values round-trip as UTF-8", "RFC 7644 §3.1, §8.1", "MUST", writes=True)
def utf8(ctx: CheckContext) -> None:
    """'Servers MUST accept requests and be able to return JSON structured responses using UTF-8 encoding.'"""
    user = ctx.new_user(name={"givenName": "Zoë", "familyName": "Ångström-Øster 测试"})
    got = ctx.fetch("Users", user["id"])
    ctx.expect((got.get("name") or {}).get("familyName") == "Ångström-Øster 测试",
               f"name.familyName came back as {(got.get('name') or {}).get('familyName')!r}")


