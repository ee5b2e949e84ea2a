"""Sorting (RFC 7644 §3.4.2.3), when ServiceProviderConfig advertises sort.supported."""

from __future__ import annotations

from ..context import CheckContext
from ..registry import check
from ._helpers import expect_list

S = ("sort", "filter")


def _made(ctx: CheckContext) -> tuple[str, list[str]]:
    scope = ctx.name("so")
    names = [f"{scope}-{s}" for s in ("delta", "alpha", "charlie", "bravo")]
    for name in names:
        ctx.create("Users", ctx.user_body(userName=name, emails=[
            {"value": f"{name}@example.test", "type": "work", "primary": True}]), "a sorting user")
    return scope, names


def _sorted(ctx: CheckContext, scope: str, doing: str, **params) -> list[str]:
    r = ctx.get("Users", {"filter": f'userName sw "{scope}-"', **params})
    return [str(u.get("userName")) for u in expect_list(ctx, r, doing)]


@check("sorting.ascending", "sortBy orders results ascending by default", "RFC 7644 §3.4.2.3", "MUST", writes=True,
       requires=S)
def ascending(ctx: CheckContext) -> None:
    """'sortOrder ... If sortOrder is not specified, the service provider SHALL default to "ascending".'"""
    scope, names = _made(ctx)
    got = _sorted(ctx, scope, "sortBy=userName", sortBy="userName")
    ctx.expect(got == sorted(names), f"order is {got}")


@check("sorting.descending", "sortOrder=descending reverses the order", "RFC 7644 §3.4.2.3", "MUST", writes=True,
       requires=S)
def descending(ctx: CheckContext) -> None:
    """sortOrder 'descending' orders from the highest value."""
    scope, names = _made(ctx)
    got = _sorted(ctx, scope, "sortBy=userName&sortOrder=descending", sortBy="userName", sortOrder="descending")
    ctx.expect(got == sorted(names, reverse=True), f"order is {got}")


@check("sorting.with-paging", "Sorting applies before paging", "RFC 7644 §3.4.2.3, §3.4.2.4", "MUST", writes=True,
       requires=S)
def with_paging(ctx: CheckContext) -> None:
    """The second page of a sorted query continues the sorted order."""
    scope, names = _made(ctx)
    got = _sorted(ctx, scope, "sortBy=userName&startIndex=3&count=2", sortBy="userName", startIndex=3, count=2)
    ctx.expect(got == sorted(names)[2:4], f"page 2 is {got}, expected {sorted(names)[2:4]}")


@check("sorting.sub-attribute", "sortBy accepts a sub-attribute (name.familyName)", "RFC 7644 §3.4.2.3", "SHOULD",
       writes=True, requires=S)
def sub_attribute(ctx: CheckContext) -> None:
    """'sortBy: ... attribute whose value SHALL be used to order the returned responses', including complex sub-attributes."""
    scope = ctx.name("sn")
    for i, family in enumerate(("Zeta", "Beta", "Mu")):
        name = f"{scope}-{i}"
        ctx.create("Users", ctx.user_body(userName=name, name={"givenName": "A", "familyName": family}, emails=[
            {"value": f"{name}@example.test", "type": "work", "primary": True}]), "a sorting user")
    r = ctx.get("Users", {"filter": f'userName sw "{scope}-"', "sortBy": "name.familyName"})
    got = [(u.get("name") or {}).get("familyName") for u in expect_list(ctx, r, "sortBy=name.familyName")]
    ctx.expect(got == ["Beta", "Mu", "Zeta"], f"order is {got}")
