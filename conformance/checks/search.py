"""POST /.search (RFC 7644 §3.4.3)."""

from __future__ import annotations

from ..context import SEARCH_REQUEST, CheckContext
from ..registry import check
from ._helpers import expect_list


@check("search.post", "POST /Users/.search with a filter answers a ListResponse", "RFC 7644 §3.4.3", "MAY",
       writes=True, requires=("filter",))
def post_search(ctx: CheckContext) -> None:
    """'Clients MAY execute queries without passing parameters on the URL by using the HTTP POST verb combined with the "/.search" path extension.'"""
    user = ctx.new_user()
    r = ctx.post("Users/.search", {"schemas": [SEARCH_REQUEST], "filter": f'userName eq "{user["userName"]}"'})
    found = expect_list(ctx, r, "POST /Users/.search")
    ctx.expect([u.get("id") for u in found] == [user["id"]], f"returned {[u.get('id') for u in found]}")


@check("search.parameters", "/.search honours attributes, count and startIndex", "RFC 7644 §3.4.3", "MAY", writes=True,
       requires=("filter",))
def parameters(ctx: CheckContext) -> None:
    """The SearchRequest body carries the same parameters as the query string: attributes, startIndex, count, ..."""
    a, b = ctx.new_user(nickName="S1"), ctx.new_user(nickName="S2")
    body = {"schemas": [SEARCH_REQUEST], "filter": f'userName eq "{a["userName"]}" or userName eq "{b["userName"]}"',
            "attributes": ["userName"], "startIndex": 1, "count": 1}
    r = ctx.post("Users/.search", body)
    found = expect_list(ctx, r, "POST /Users/.search with attributes and count")
    ctx.expect(len(found) == 1 and r.body.get("totalResults") == 2,
               f"{len(found)} resources, totalResults {r.body.get('totalResults')}")
    ctx.expect("nickName" not in found[0], "attributes=[userName] was not applied")


@check("search.root", "POST /.search at the root searches across resource types", "RFC 7644 §3.4.3", "MAY",
       writes=True, requires=("filter",))
def root(ctx: CheckContext) -> None:
    """A search at the service provider root covers all resource types."""
    user = ctx.new_user()
    r = ctx.post(".search", {"schemas": [SEARCH_REQUEST], "filter": f'userName eq "{user["userName"]}"'})
    found = expect_list(ctx, r, "POST /.search")
    ctx.expect(user["id"] in [u.get("id") for u in found], "the User was not found by a root search")


@check("search.not-a-create", "POST /Users/.search never creates a resource", "RFC 7644 §3.4.3", "MUST", writes=True)
def not_a_create(ctx: CheckContext) -> None:
    """'/.search' distinguishes a query from a creation: whatever the server answers, no User is created."""
    body = {"schemas": [SEARCH_REQUEST], "filter": f'userName eq "{ctx.run.prefix}-search-probe"',
            "userName": f"{ctx.run.prefix}-search-probe"}
    r = ctx.post("Users/.search", body)
    if r.status in (200, 201) and r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    ctx.expect(r.status != 201, "POST /Users/.search answered 201 Created")
