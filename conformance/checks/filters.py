"""Filtering (RFC 7644 §3.4.2.2): every operator, and/or/not, grouping, value paths, case sensitivity, invalid filters.

Every query stays inside the run's namespace (``userName sw "<prefix>"``), so
other data on a shared server never changes a verdict. Three users are made
per check with known values; the check asserts exactly which come back.
"""

from __future__ import annotations

from typing import Any

from ..context import CheckContext
from ..registry import check
from ._helpers import expect_error, expect_list

F = ("filter",)


def _trio(ctx: CheckContext) -> dict[str, dict[str, Any]]:
    """Three namespaced users: alpha (title Engineer, active), bravo (title Analyst, inactive), charlie (no title)."""
    scope = ctx.name("f")
    people = {
        "alpha": {"title": "Engineer", "active": True, "nickName": "Al"},
        "bravo": {"title": "Analyst", "active": False, "nickName": "Bea"},
        "charlie": {"active": True},
    }
    made = {}
    for key, extra in people.items():
        name = f"{scope}-{key}"
        made[key] = ctx.create("Users", ctx.user_body(userName=name, emails=[
            {"value": f"{name}@example.test", "type": "work", "primary": True}], **extra), f"user {key}")
    made["_scope"] = {"prefix": scope}
    return made


def _query(ctx: CheckContext, trio: dict, expression: str, doing: str) -> set[str]:
    """The keys (alpha/bravo/charlie) of the trio users that ``expression`` (inside the trio's scope) returns."""
    scope = trio["_scope"]["prefix"]
    r = ctx.get("Users", {"filter": f'userName sw "{scope}-" and ({expression})', "count": 50})
    found = expect_list(ctx, r, f"filter {expression}")
    by_id = {str(v.get("id")): k for k, v in trio.items() if k != "_scope"}
    ctx.expect(r.body.get("totalResults") == len(found),
               f"totalResults {r.body.get('totalResults')} differs from the {len(found)} resources returned")
    return {by_id.get(str(u.get("id")), "?") for u in found}


def _operator_check(cid: str, title: str, expression: str, expected: set[str], level: str = "MUST",
                    section: str = "RFC 7644 §3.4.2.2", doc: str = "") -> None:
    def run(ctx: CheckContext) -> None:
        trio = _trio(ctx)
        got = _query(ctx, trio, expression.format(scope=trio["_scope"]["prefix"]), expression)
        ctx.expect(got == expected, f"filter {expression!r} returned {sorted(got) or 'nothing'}, "
                                    f"expected {sorted(expected) or 'nothing'}")

    run.__doc__ = (doc + " " if doc else "") + (
        f"Filter {expression!r} over three known users returns exactly {sorted(expected) or 'none'}.")
    run.__name__ = cid.replace(".", "_").replace("-", "_")
    check(cid, title, section, level, writes=True, requires=F)(run)


_operator_check("filters.eq", "eq matches an equal value", 'title eq "Engineer"', {"alpha"})
_operator_check("filters.ne", "ne matches different values", 'title pr and title ne "Engineer"', {"bravo"})
_operator_check("filters.co", "co matches a substring", 'title co "gine"', {"alpha"})
_operator_check("filters.sw", "sw matches a prefix", 'title sw "Ana"', {"bravo"})
_operator_check("filters.ew", "ew matches a suffix", 'title ew "eer"', {"alpha"})
_operator_check("filters.pr", "pr matches present attributes", "title pr", {"alpha", "bravo"})
_operator_check("filters.gt", "gt compares strings lexicographically", 'title gt "Apple"', {"alpha"})
_operator_check("filters.ge", "ge includes the equal value", 'title ge "Analyst"', {"alpha", "bravo"})
_operator_check("filters.lt", "lt compares strings lexicographically", 'title lt "B"', {"bravo"})
_operator_check("filters.le", "le includes the equal value", 'title le "Engineer"', {"alpha", "bravo"})
_operator_check("filters.and", "and requires both expressions", 'title pr and active eq true', {"alpha"})
_operator_check("filters.or", "or accepts either expression", 'title eq "Analyst" or nickName eq "Al"',
                {"alpha", "bravo"})
_operator_check("filters.not", "not negates a grouped expression", 'not (title pr)', {"charlie"})
_operator_check("filters.precedence", "and binds tighter than or; parentheses regroup",
                'title eq "Analyst" or title eq "Engineer" and active eq false', {"bravo"})
_operator_check("filters.grouping", "Parentheses group expressions",
                '(title eq "Analyst" or title eq "Engineer") and active eq true', {"alpha"})
_operator_check("filters.boolean", "A boolean attribute compares with true/false", "active eq false", {"bravo"})
_operator_check("filters.sub-attribute", "A sub-attribute path filters (name.givenName, emails.type)",
                'emails.type eq "work" and nickName eq "Bea"', {"bravo"})
_operator_check("filters.value-path", "A value path filters multi-valued attributes (emails[type eq ...])",
                'emails[type eq "work" and value co "-charlie@"]', {"charlie"})
_operator_check("filters.case-insensitive-value", "String comparison follows caseExact=false (userName)",
                'userName eq "{scope}-ALPHA"', {"alpha"}, section="RFC 7644 §3.4.2.2; RFC 7643 §2.2 (caseExact)",
                doc="userName has caseExact false (RFC 7643 §4.1.1), so a filter value in another case matches it.")
_operator_check("filters.case-exact-value", "String comparison follows caseExact=true (externalId)",
                'externalId eq "{scope}-ALPHA-ext" or externalId eq "{scope}-bravo-ext"', {"bravo"}, level="SHOULD",
                section="RFC 7644 §3.4.2.2; RFC 7643 §3.1 (externalId caseExact)",
                doc="externalId: 'This attribute has \"caseExact\" as \"true\"' (RFC 7643 §3.1), and string filters "
                    "compare by the attribute's caseExact (RFC 7644 §3.4.2.2): a different case must not match. "
                    "(SHOULD: a server that matches it anyway breaks no client that sends the stored value.)")
_operator_check("filters.case-insensitive-names", "Attribute names and operators are case-insensitive",
                'TITLE EQ "Engineer"', {"alpha"})
_operator_check("filters.meta", "meta.lastModified compares as a dateTime", 'meta.lastModified gt "2000-01-01T00:00:00Z"',
                {"alpha", "bravo", "charlie"}, level="SHOULD")


@check("filters.no-match", "A filter matching nothing answers 200 with an empty ListResponse", "RFC 7644 §3.4.2",
       "MUST", requires=F)
def no_match(ctx: CheckContext) -> None:
    """A query with no result is still a successful query: 200, totalResults 0 (never 404)."""
    r = ctx.get("Users", {"filter": f'userName eq "{ctx.run.prefix}-nobody"'})
    found = expect_list(ctx, r, "a filter with no match")
    ctx.expect(not found and r.body.get("totalResults") == 0, f"totalResults {r.body.get('totalResults')}, {len(found)} resources")


INVALID_FILTERS = ('userName eq', 'userName xx "a"', '(userName eq "a"', 'userName eq "a" and')


@check("filters.invalid", "An invalid filter is refused with 400", "RFC 7644 §3.4.2.2, §3.12", "MUST", requires=F)
def invalid(ctx: CheckContext) -> None:
    """A filter that does not parse cannot be evaluated: 400 Bad Request ('The specified filter syntax was invalid', Table 9)."""
    for expression in INVALID_FILTERS:
        expect_error(ctx, ctx.get("Users", {"filter": expression}), 400, f"filter {expression!r}")


@check("filters.invalid-scimtype", "An invalid filter's error is scimType invalidFilter", "RFC 7644 §3.12 (Table 9)",
       "SHOULD", requires=F)
def invalid_scimtype(ctx: CheckContext) -> None:
    """invalidFilter: 'The specified filter syntax was invalid ... or the specified attribute and filter comparison combination is not supported.' (scimType is OPTIONAL in an Error, hence SHOULD.)"""
    for expression in INVALID_FILTERS:
        r = ctx.get("Users", {"filter": expression})
        ctx.require(r.status == 400, f"filter {expression!r} answered {r.status} (see filters.invalid)")
        ctx.expect(r.body.get("scimType") == "invalidFilter", f"filter {expression!r}: scimType is {r.body.get('scimType')!r}")


@check("filters.unknown-attribute", "A filter on an undefined attribute matches nothing or is refused",
       "RFC 7644 §3.4.2.2", "SHOULD", requires=F)
def unknown_attribute(ctx: CheckContext) -> None:
    """An undefined attribute has no value: the filter matches nothing (200, empty) or is refused as invalidFilter; it never errors with 5xx."""
    r = ctx.get("Users", {"filter": f'{ctx.run.prefix.replace("-", "")}Attr eq "x"'})
    ctx.expect(r.status in (200, 400), f"answered {r.status}")
    if r.status == 200:
        ctx.expect(not r.resources(), "a filter on an undefined attribute returned resources")
    else:
        ctx.expect(r.body.get("scimType") == "invalidFilter", f"scimType is {r.body.get('scimType')!r}")


@check("filters.groups", "Groups filter on displayName", "RFC 7644 §3.4.2.2", "MUST", writes=True,
       requires=("filter", "Group"))
def groups(ctx: CheckContext) -> None:
    """displayName eq "<name>" finds exactly that Group."""
    group = ctx.new_group()
    found = expect_list(ctx, ctx.get("Groups", {"filter": f'displayName eq "{group["displayName"]}"'}),
                        "filter on Groups displayName")
    ctx.expect([g.get("id") for g in found] == [group["id"]], f"returned {[g.get('id') for g in found]}")


@check("filters.id", "A filter on id finds the resource", "RFC 7644 §3.4.2.2", "SHOULD", writes=True, requires=F)
def by_id(ctx: CheckContext) -> None:
    """id is a common attribute and can be filtered on ('id eq ...', used by clients to confirm a resource)."""
    user = ctx.new_user()
    found = expect_list(ctx, ctx.get("Users", {"filter": f'id eq "{user["id"]}"'}), "filter id eq")
    ctx.expect([u.get("id") for u in found] == [user["id"]], f"returned {[u.get('id') for u in found]}")
