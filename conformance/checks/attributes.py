"""attributes / excludedAttributes and the 'returned' characteristic (RFC 7644 §3.4.2.5, §3.9; RFC 7643 §2.2)."""

from __future__ import annotations

from ..context import USER, CheckContext
from ..registry import check
from ._helpers import expect_list


@check("attributes.select", "attributes= returns only those attributes (plus always-returned ones)",
       "RFC 7644 §3.9; §3.4.2.5", "MUST", writes=True)
def select(ctx: CheckContext) -> None:
    """'attributes: ... overrides the list of attributes and sub-attributes that are returned by default'; id (returned always) stays."""
    user = ctx.new_user(nickName="Select")
    got = ctx.get(f"Users/{user['id']}", {"attributes": "userName"})
    ctx.expect_status(got, 200, doing="GET ?attributes=userName")
    body = got.body
    ctx.expect(body.get("userName") == user["userName"], "userName is missing")
    ctx.expect(body.get("id") == user["id"], "id (returned always) is missing")
    extra = [k for k in ("nickName", "name", "emails", "active") if k in body]
    ctx.expect(not extra, f"attributes=userName still returned {extra}")


@check("attributes.select-sub", "attributes= accepts sub-attributes (name.givenName)", "RFC 7644 §3.9", "MUST",
       writes=True)
def select_sub(ctx: CheckContext) -> None:
    """Sub-attributes are named with dotted notation; only the named sub-attribute is returned."""
    user = ctx.new_user()
    body = ctx.get(f"Users/{user['id']}", {"attributes": "name.givenName"}).body
    name = body.get("name") or {}
    ctx.expect(name.get("givenName") == "Ada", f"name is {name!r}")
    ctx.expect("familyName" not in name, "name.familyName was returned though not requested")


@check("attributes.exclude", "excludedAttributes= drops those attributes", "RFC 7644 §3.9", "MUST", writes=True)
def exclude(ctx: CheckContext) -> None:
    """'excludedAttributes: ... removes the attributes from the default set'; the rest is returned."""
    user = ctx.new_user(nickName="Excluded")
    body = ctx.get(f"Users/{user['id']}", {"excludedAttributes": "nickName,emails"}).body
    ctx.expect("nickName" not in body and "emails" not in body, "excluded attributes were returned")
    ctx.expect(body.get("userName") == user["userName"], "userName is missing")


@check("attributes.exclude-always", "excludedAttributes cannot drop id or schemas", "RFC 7643 §2.2 (returned always)",
       "MUST", writes=True)
def exclude_always(ctx: CheckContext) -> None:
    """'always: The attribute is always returned, regardless of the contents of the "attributes" parameter.' id is returned always."""
    user = ctx.new_user()
    body = ctx.get(f"Users/{user['id']}", {"excludedAttributes": "id"}).body
    ctx.expect(body.get("id") == user["id"], "excludedAttributes=id removed the id")


@check("attributes.on-list", "attributes= applies to list queries", "RFC 7644 §3.4.2.5", "MUST", writes=True,
       requires=("filter",))
def on_list(ctx: CheckContext) -> None:
    """attributes and excludedAttributes apply to each resource of a query response."""
    user = ctx.new_user(nickName="Listed")
    r = ctx.get("Users", {"filter": f'userName eq "{user["userName"]}"', "attributes": "userName"})
    found = expect_list(ctx, r, "query with attributes=userName")
    ctx.require(found, "the filter found nothing (see filters.eq)")
    ctx.expect("nickName" not in found[0] and found[0].get("id"), f"returned keys {sorted(found[0])}")


@check("attributes.on-write", "attributes= applies to POST responses", "RFC 7644 §3.9", "SHOULD", writes=True)
def on_write(ctx: CheckContext) -> None:
    """'... "attributes" and "excludedAttributes" ... MAY be used with POST, PUT, PATCH' and when used shape the response."""
    r = ctx.post("Users", ctx.user_body(nickName="Shaped"), params={"attributes": "userName"})
    if r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    ctx.expect_status(r, 201, doing="POST ?attributes=userName")
    ctx.expect("nickName" not in r.body, "the POST response ignored attributes=userName")


@check("attributes.password-never", "password is never returned", "RFC 7643 §2.2 (returned never), §4.1.1", "MUST",
       writes=True)
def password_never(ctx: CheckContext) -> None:
    """'never: The attribute MUST never be returned.' password has returned 'never'."""
    attr = ctx.discovery.attribute(USER, "password")
    if ctx.discovery.schemas and attr is None:
        ctx.skip("the User schema does not define password")
    body = ctx.user_body(password="C0nformance!Pass-Phrase")
    r = ctx.post("Users", body)
    if r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    ctx.require(r.status in (200, 201), f"POST /Users with a password answered {r.status}")
    ctx.expect("password" not in r.body, "the POST response returned the password")
    got = ctx.fetch("Users", str(r.body["id"]), {"attributes": "password"})
    ctx.expect("password" not in got, "GET ?attributes=password returned the password")


@check("attributes.schema-returned", "Attributes declared returned=never are absent from responses",
       "RFC 7643 §2.2 (returned)", "MUST", writes=True)
def schema_returned(ctx: CheckContext) -> None:
    """Every attribute the server's own /Schemas declares returned 'never' must be absent from a User it returns."""
    ctx.require(ctx.discovery.schemas, "GET /Schemas could not be read")
    never = [a["name"] for s in ctx.discovery.schemas.values() if s.get("id") == USER
             for a in s.get("attributes") or [] if a.get("returned") == "never"]
    user = ctx.new_user()
    got = ctx.fetch("Users", user["id"])
    shown = [n for n in never if any(k.lower() == n.lower() for k in got)]
    ctx.expect(not shown, f"returned although declared returned=never: {shown}")


@check("attributes.returned-request", "Attributes declared returned=request appear only when asked for",
       "RFC 7643 §2.2 (returned request); RFC 7644 §3.9", "MUST", writes=True)
def returned_request(ctx: CheckContext) -> None:
    """'request: The attribute is returned in response to any PATCH, PUT, POST, or GET request only if the attribute was specified by the client (e.g., in the "attributes" parameter)'; checked on a simple readWrite string attribute the server's own /Schemas declares so."""
    ctx.require(ctx.discovery.schemas, "GET /Schemas could not be read")
    candidates = [a["name"] for s in ctx.discovery.schemas.values() if s.get("id") == USER
                  for a in s.get("attributes") or [] if a.get("returned") == "request" and a.get("type") == "string"
                  and not a.get("multiValued") and a.get("mutability", "readWrite") == "readWrite"]
    if not candidates:
        ctx.skip("the User schema declares no single-valued readWrite string attribute returned=request")
    name = candidates[0]
    user = ctx.new_user(**{name: f"{ctx.run.prefix}-requested"})
    plain = ctx.fetch("Users", user["id"])
    ctx.expect(not any(k.lower() == name.lower() for k in plain), f"{name} (returned=request) came back unasked")
    asked = ctx.fetch("Users", user["id"], {"attributes": name})
    ctx.expect(any(k.lower() == name.lower() for k in asked), f"{name} is missing though attributes={name} asked for it")
