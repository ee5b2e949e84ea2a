"""Pagination (RFC 7644 §3.4.2.4): startIndex and count, their edge cases, totalResults consistency."""

from __future__ import annotations

from typing import Any

from ..context import CheckContext
from ..registry import check
from ._helpers import expect_list

PAGE_SIZE = 5


def _scope(ctx: CheckContext, n: int = PAGE_SIZE) -> tuple[str, list[dict[str, Any]]]:
    scope = ctx.name("pg")
    users = [ctx.create("Users", ctx.user_body(userName=f"{scope}-{i:02d}", emails=[
        {"value": f"{scope}-{i:02d}@example.test", "type": "work", "primary": True}]), "a paging user")
             for i in range(n)]
    return scope, users


def _page(ctx: CheckContext, scope: str, doing: str, **params: Any):
    r = ctx.get("Users", {"filter": f'userName sw "{scope}-"', **params})
    return r, expect_list(ctx, r, doing)


@check("pagination.count", "count limits the page; totalResults counts all matches", "RFC 7644 §3.4.2.4", "MUST",
       writes=True, requires=("filter",))
def count(ctx: CheckContext) -> None:
    """'count: Non-negative integer. Specifies the desired maximum number of query results per page'; totalResults is the total number of results."""
    scope, users = _scope(ctx)
    r, page = _page(ctx, scope, "count=2", count=2)
    ctx.expect(len(page) == 2, f"count=2 returned {len(page)} resources")
    ctx.expect(r.body.get("totalResults") == len(users), f"totalResults is {r.body.get('totalResults')}, expected {len(users)}")
    ctx.expect(r.body.get("itemsPerPage") == 2, f"itemsPerPage is {r.body.get('itemsPerPage')}")


@check("pagination.walk", "Walking pages with startIndex returns every match once", "RFC 7644 §3.4.2.4", "MUST",
       writes=True, requires=("filter",))
def walk(ctx: CheckContext) -> None:
    """startIndex is the 1-based index of the first result; consecutive pages cover the result set without gaps or repeats."""
    scope, users = _scope(ctx)
    seen: list[str] = []
    totals = set()
    order = {"sortBy": "userName"} if ctx.supports("sort") else {}
    for start in (1, 3, 5):
        r, page = _page(ctx, scope, f"startIndex={start}&count=2", startIndex=start, count=2, **order)
        totals.add(r.body.get("totalResults"))
        ctx.expect(r.body.get("startIndex") == start, f"startIndex echoed as {r.body.get('startIndex')}, sent {start}")
        seen += [str(u.get("id")) for u in page]
    ctx.expect(totals == {len(users)}, f"totalResults changed between pages: {sorted(map(str, totals))}")
    ctx.expect(sorted(seen) == sorted(str(u["id"]) for u in users) and len(seen) == len(set(seen)),
               f"pages returned {len(seen)} ids ({len(set(seen))} distinct) for {len(users)} users")


@check("pagination.start-index-zero", "startIndex below 1 is read as 1", "RFC 7644 §3.4.2.4", "MUST", writes=True,
       requires=("filter",))
def start_zero(ctx: CheckContext) -> None:
    """'A value less than 1 SHALL be interpreted as 1.'"""
    scope, users = _scope(ctx, 3)
    _, page = _page(ctx, scope, "startIndex=0", startIndex=0)
    ctx.expect(len(page) == len(users), f"startIndex=0 returned {len(page)} of {len(users)}")


@check("pagination.count-zero", "count=0 returns no resources but the total", "RFC 7644 §3.4.2.4", "MUST", writes=True,
       requires=("filter",))
def count_zero(ctx: CheckContext) -> None:
    """'A value of "0" indicates that no resource results are to be returned except for "totalResults".'"""
    scope, users = _scope(ctx, 3)
    r, page = _page(ctx, scope, "count=0", count=0)
    ctx.expect(not page, f"count=0 returned {len(page)} resources")
    ctx.expect(r.body.get("totalResults") == len(users), f"totalResults is {r.body.get('totalResults')}")


@check("pagination.count-negative", "A negative count is read as 0", "RFC 7644 §3.4.2.4", "MUST", writes=True,
       requires=("filter",))
def count_negative(ctx: CheckContext) -> None:
    """'A negative value SHALL be interpreted as "0".'"""
    scope, users = _scope(ctx, 2)
    r, page = _page(ctx, scope, "count=-1", count=-1)
    ctx.expect(not page, f"count=-1 returned {len(page)} resources")
    ctx.expect(r.body.get("totalResults") == len(users), f"totalResults is {r.body.get('totalResults')}")


@check("pagination.beyond-end", "startIndex past the end returns an empty page", "RFC 7644 §3.4.2.4", "SHOULD",
       writes=True, requires=("filter",))
def beyond_end(ctx: CheckContext) -> None:
    """A page that starts after the last result has no Resources, with the same totalResults."""
    scope, users = _scope(ctx, 2)
    r, page = _page(ctx, scope, "startIndex=50", startIndex=50, count=10)
    ctx.expect(not page, f"startIndex=50 returned {len(page)} resources")
    ctx.expect(r.body.get("totalResults") == len(users), f"totalResults is {r.body.get('totalResults')}")


@check("pagination.items-per-page", "itemsPerPage equals the number of Resources returned", "RFC 7644 §3.4.2",
       "MUST", writes=True, requires=("filter",))
def items_per_page(ctx: CheckContext) -> None:
    """'itemsPerPage: The number of resources returned in a list response page.'"""
    scope, _ = _scope(ctx, 3)
    r, page = _page(ctx, scope, "count=2", count=2)
    ctx.expect(r.body.get("itemsPerPage") == len(page), f"itemsPerPage {r.body.get('itemsPerPage')} for {len(page)} resources")


@check("pagination.invalid-parameters", "A non-numeric count is refused or ignored, never a 5xx", "RFC 7644 §3.4.2.4",
       "SHOULD")
def invalid_parameters(ctx: CheckContext) -> None:
    """count and startIndex are integers; a malformed value deserves a 400 (invalidValue) or the default, not a server error."""
    r = ctx.get("Users", {"count": "many"})
    ctx.expect(r.status in (200, 400), f"count=many answered {r.status}")


@check("pagination.max-results", "A page never exceeds filter.maxResults", "RFC 7643 §5 (filter.maxResults)", "MUST",
       requires=("filter",))
def max_results(ctx: CheckContext) -> None:
    """'maxResults: An integer value specifying the maximum number of resources returned in a response.'"""
    spc = ctx.discovery.spc or {}
    limit = (spc.get("filter") or {}).get("maxResults")
    ctx.require(isinstance(limit, int) and limit > 0, "filter.maxResults is not advertised")
    r = ctx.get("Users", {"count": limit + 1})
    page = expect_list(ctx, r, f"count={limit + 1}")
    ctx.expect(len(page) <= limit, f"returned {len(page)} resources, over maxResults {limit}")
