"""ETags and conditional requests (RFC 7644 §3.14; RFC 7232), when etag.supported is advertised."""

from __future__ import annotations

from ..context import CheckContext
from ..registry import check

E = ("etag",)


@check("etag.header", "Responses carry an ETag equal to meta.version", "RFC 7644 §3.14; RFC 7643 §3.1 (version)",
       "MUST", writes=True, requires=E)
def header(ctx: CheckContext) -> None:
    """With etag support, 'the service provider SHALL return ETag header' for a resource; meta.version is the same entity tag."""
    user = ctx.new_user()
    r = ctx.get(f"Users/{user['id']}")
    tag = r.headers.get("ETag")
    ctx.expect(tag, "GET /Users/{id} has no ETag header")
    version = (r.body.get("meta") or {}).get("version")
    ctx.expect(version == tag, f"meta.version {version!r} differs from ETag {tag!r}")


@check("etag.changes", "The version changes when the resource changes", "RFC 7644 §3.14", "MUST", writes=True,
       requires=E)
def changes(ctx: CheckContext) -> None:
    """An entity tag identifies one version of the resource: a modification yields a new one."""
    user = ctx.new_user()
    before = ctx.get(f"Users/{user['id']}").headers.get("ETag")
    body = ctx.user_body(userName=user["userName"], nickName="Changed")
    body["emails"] = user.get("emails") or body["emails"]
    ctx.require(ctx.put(f"Users/{user['id']}", body).status == 200, "PUT failed (see put.replace)")
    after = ctx.get(f"Users/{user['id']}").headers.get("ETag")
    ctx.expect(before and after and before != after, f"ETag before {before!r}, after {after!r}")


@check("etag.if-none-match", "If-None-Match with the current version answers 304", "RFC 7644 §3.14; RFC 7232 §3.2",
       "SHOULD", writes=True, requires=E)
def if_none_match(ctx: CheckContext) -> None:
    """The RFC's example: GET with If-None-Match: W/"e180ee84f0671b1" answers 304 Not Modified when it matches."""
    user = ctx.new_user()
    tag = ctx.get(f"Users/{user['id']}").headers.get("ETag")
    ctx.require(tag, "no ETag (see etag.header)")
    ctx.expect_status(ctx.get(f"Users/{user['id']}", headers={"If-None-Match": tag}), 304, doing="GET with If-None-Match")


@check("etag.if-match-stale", "If-Match with a stale version is refused with 412 and changes nothing",
       "RFC 7644 §3.14; RFC 7232 §3.1", "MUST", writes=True, requires=("etag", "patch"))
def if_match_stale(ctx: CheckContext) -> None:
    """'If-Match ... the service provider MUST ... return 412 Precondition Failed' when the version does not match; the resource is untouched."""
    user = ctx.new_user(nickName="Original")
    stale = 'W/"entrasim-conformance-stale"'
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": "nickName", "value": "Lost"},
                  headers={"If-Match": stale})
    ctx.expect_status(r, 412, doing="PATCH with a stale If-Match")
    ctx.expect(ctx.fetch("Users", user["id"]).get("nickName") == "Original", "the refused PATCH was applied")


@check("etag.if-match-current", "If-Match with the current version succeeds", "RFC 7644 §3.14; RFC 7232 §3.1", "MUST",
       writes=True, requires=("etag", "patch"))
def if_match_current(ctx: CheckContext) -> None:
    """A write conditioned on the current version proceeds."""
    user = ctx.new_user()
    tag = ctx.get(f"Users/{user['id']}").headers.get("ETag")
    ctx.require(tag, "no ETag (see etag.header)")
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": "nickName", "value": "Won"}, headers={"If-Match": tag})
    ctx.expect_status(r, 200, 204, doing="PATCH with the current If-Match")


@check("etag.delete-stale", "DELETE with a stale If-Match is refused with 412", "RFC 7644 §3.14", "MUST", writes=True,
       requires=E)
def delete_stale(ctx: CheckContext) -> None:
    """Conditional DELETE: a version mismatch is 412 and the resource stays."""
    user = ctx.new_user()
    r = ctx.delete(f"Users/{user['id']}", headers={"If-Match": 'W/"entrasim-conformance-stale"'})
    ctx.expect_status(r, 412, doing="DELETE with a stale If-Match")
    ctx.expect_status(ctx.get(f"Users/{user['id']}"), 200, doing="GET after the refused DELETE")
