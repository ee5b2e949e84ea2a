"""PATCH (RFC 7644 §3.5.2): add, replace and remove with every path form, value filters, URN paths, atomicity.

A successful PATCH may answer 200 with the resource or 204 without a body
(§3.5.2: 'the server either MUST return a 200 OK response code and the entire
resource ... or MAY return HTTP status code 204'): both pass; the suite always
reads the resource back to judge the effect.
"""

from __future__ import annotations

from ..context import ENTERPRISE, CheckContext
from ..registry import check
from ._helpers import emails_of, expect_error, member_ids, patched

P = ("patch",)


def _user_with_two_emails(ctx: CheckContext) -> dict:
    name = ctx.name("pe")
    return ctx.create("Users", ctx.user_body(userName=name, emails=[
        {"value": f"{name}@example.test", "type": "work", "primary": True},
        {"value": f"{name}.home@example.test", "type": "home"}]), "a User with two emails")


@check("patch.add.attribute", "add with a path sets a simple attribute", "RFC 7644 §3.5.2.1", "MUST", writes=True,
       requires=P)
def add_attribute(ctx: CheckContext) -> None:
    """'If the target location does not exist, the attribute and value are added.'"""
    user = ctx.new_user()
    r = ctx.patch(f"Users/{user['id']}", {"op": "add", "path": "nickName", "value": "Babs"})
    got = patched(ctx, "Users", user["id"], r, "PATCH add nickName")
    ctx.expect(got.get("nickName") == "Babs", f"nickName is {got.get('nickName')!r}")


@check("patch.add.no-path", "add without a path merges the value object", "RFC 7644 §3.5.2.1", "MUST", writes=True,
       requires=P)
def add_no_path(ctx: CheckContext) -> None:
    """'If omitted, the target location is assumed to be the resource itself. The "value" parameter contains a set of attributes to be added.'"""
    user = ctx.new_user()
    r = ctx.patch(f"Users/{user['id']}", {"op": "add", "value": {"nickName": "Babs", "title": "Tour Guide"}})
    got = patched(ctx, "Users", user["id"], r, "PATCH add without path")
    ctx.expect(got.get("nickName") == "Babs" and got.get("title") == "Tour Guide",
               f"nickName={got.get('nickName')!r} title={got.get('title')!r}")


@check("patch.add.multi-valued", "add to a multi-valued attribute appends", "RFC 7644 §3.5.2.1", "MUST", writes=True,
       requires=P)
def add_multi(ctx: CheckContext) -> None:
    """'If the target location specifies a multi-valued attribute, a new value is added to the attribute.'"""
    user = ctx.new_user()
    extra = f"{user['userName']}.other@example.test"
    r = ctx.patch(f"Users/{user['id']}", {"op": "add", "path": "emails", "value": [{"value": extra, "type": "other"}]})
    got = patched(ctx, "Users", user["id"], r, "PATCH add emails")
    values = {e.get("value") for e in emails_of(got)}
    ctx.expect(extra in values and len(values) == 2, f"emails are {sorted(values)}")


@check("patch.add.sub-attribute", "add with a sub-attribute path (name.givenName)", "RFC 7644 §3.5.2.1; §3.10",
       "MUST", writes=True, requires=P)
def add_sub(ctx: CheckContext) -> None:
    """attrPath may name a sub-attribute of a complex attribute ('name.givenName')."""
    user = ctx.new_user()
    r = ctx.patch(f"Users/{user['id']}", {"op": "add", "path": "name.middleName", "value": "Augusta"})
    got = patched(ctx, "Users", user["id"], r, "PATCH add name.middleName")
    name = got.get("name") or {}
    ctx.expect(name.get("middleName") == "Augusta" and name.get("givenName") == "Ada", f"name is {name!r}")


@check("patch.replace.attribute", "replace with a path changes a simple attribute", "RFC 7644 §3.5.2.3", "MUST",
       writes=True, requires=P)
def replace_attribute(ctx: CheckContext) -> None:
    """'If the target location is a single-value attribute, the attribute's value is replaced.'"""
    user = ctx.new_user(nickName="Before")
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": "nickName", "value": "After"})
    got = patched(ctx, "Users", user["id"], r, "PATCH replace nickName")
    ctx.expect(got.get("nickName") == "After", f"nickName is {got.get('nickName')!r}")


@check("patch.replace.no-path", "replace without a path replaces each attribute of the value", "RFC 7644 §3.5.2.3",
       "MUST", writes=True, requires=P)
def replace_no_path(ctx: CheckContext) -> None:
    """'If the "path" parameter is omitted, the target is assumed to be the resource itself ... the "value" parameter contains a set of attributes.'"""
    user = ctx.new_user(nickName="Before")
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "value": {"nickName": "After", "active": False}})
    got = patched(ctx, "Users", user["id"], r, "PATCH replace without path")
    ctx.expect(got.get("nickName") == "After" and got.get("active") is False,
               f"nickName={got.get('nickName')!r} active={got.get('active')!r}")


@check("patch.replace.complex", "replace of a complex attribute keeps unmentioned sub-attributes", "RFC 7644 §3.5.2.3",
       "MUST", writes=True, requires=P)
def replace_complex(ctx: CheckContext) -> None:
    """'If the target location specifies a complex attribute, a set of sub-attributes SHALL be specified in the "value" parameter, which replaces any existing values or adds where an attribute did not previously exist. Sub-attributes that are not specified in the "value" parameter are left unchanged.'"""
    user = ctx.new_user()
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": "name", "value": {"givenName": "Augusta"}})
    got = patched(ctx, "Users", user["id"], r, "PATCH replace name")
    name = got.get("name") or {}
    ctx.expect(name.get("givenName") == "Augusta", f"name.givenName is {name.get('givenName')!r}")
    ctx.expect(name.get("familyName") == (user.get("name") or {}).get("familyName"),
               f"name.familyName was dropped or changed: {name!r}")


@check("patch.replace.value-filter", "replace with a value-filter path (emails[type eq \"work\"].value)",
       "RFC 7644 §3.5.2.3; §3.10", "MUST", writes=True, requires=P)
def replace_filtered(ctx: CheckContext) -> None:
    """valuePath selects elements of a multi-valued attribute; the sub-attribute of each matching element is replaced, the others are untouched."""
    user = _user_with_two_emails(ctx)
    new = f"{user['userName']}.new@example.test"
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": 'emails[type eq "work"].value', "value": new})
    got = patched(ctx, "Users", user["id"], r, 'PATCH replace emails[type eq "work"].value')
    by_type = {e.get("type"): e.get("value") for e in emails_of(got)}
    ctx.expect(by_type.get("work") == new, f"the work email is {by_type.get('work')!r}")
    ctx.expect(by_type.get("home") == f"{user['userName']}.home@example.test", f"the home email changed: {by_type}")


@check("patch.replace.multi-valued", "replace of a whole multi-valued attribute replaces all its values",
       "RFC 7644 §3.5.2.3", "MUST", writes=True, requires=P)
def replace_multi(ctx: CheckContext) -> None:
    """'If the target location is a multi-valued attribute and no filter is specified, the attribute and all values are replaced.'"""
    user = _user_with_two_emails(ctx)
    only = f"{user['userName']}.only@example.test"
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": "emails",
                                         "value": [{"value": only, "type": "work", "primary": True}]})
    got = patched(ctx, "Users", user["id"], r, "PATCH replace emails")
    ctx.expect([e.get("value") for e in emails_of(got)] == [only], f"emails are {emails_of(got)!r}")


@check("patch.add.existing-single", "add to a single-valued attribute that has a value replaces it",
       "RFC 7644 §3.5.2.1", "MUST", writes=True, requires=P)
def add_existing_single(ctx: CheckContext) -> None:
    """'If the target location specifies a single-valued attribute, the existing value is replaced.'"""
    user = ctx.new_user(nickName="Before")
    r = ctx.patch(f"Users/{user['id']}", {"op": "add", "path": "nickName", "value": "After"})
    got = patched(ctx, "Users", user["id"], r, "PATCH add nickName over an existing value")
    ctx.expect(got.get("nickName") == "After", f"nickName is {got.get('nickName')!r}")


@check("patch.replace.absent-attribute", "replace of an attribute with no value adds it", "RFC 7644 §3.5.2.3", "MUST",
       writes=True, requires=P)
def replace_absent(ctx: CheckContext) -> None:
    """'If the target location path specifies an attribute that does not exist, the service provider SHALL treat the operation as an "add".'"""
    user = ctx.new_user()
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": "title", "value": "Navigator"})
    got = patched(ctx, "Users", user["id"], r, "PATCH replace of an absent title")
    ctx.expect(got.get("title") == "Navigator", f"title is {got.get('title')!r}")


@check("patch.replace.filter-no-match", "replace through a value filter that matches nothing is 400 noTarget",
       "RFC 7644 §3.5.2.3", "MUST", writes=True, requires=P)
def replace_filter_no_match(ctx: CheckContext) -> None:
    """'If the target location specifies a multi-valued attribute for which a value selection filter ("valuePath") has been supplied and no record match was made, the service provider SHALL indicate failure by returning HTTP status code 400 and a "scimType" error code of "noTarget".' (Entra expects the opposite: see entra.missing-filtered-element.)"""
    user = ctx.new_user()
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": 'emails[type eq "home"].value',
                                         "value": f"{user['userName']}.home@example.test"})
    expect_error(ctx, r, 400, 'PATCH replace emails[type eq "home"].value with no home email', "noTarget")
    ctx.expect(len(emails_of(ctx.fetch("Users", user["id"]))) == 1, "the refused PATCH added an email")


@check("patch.remove.attribute", "remove with a path clears a simple attribute", "RFC 7644 §3.5.2.2", "MUST",
       writes=True, requires=P)
def remove_attribute(ctx: CheckContext) -> None:
    """'If the target location is a single-value attribute, the attribute and its associated value is removed.'"""
    user = ctx.new_user(nickName="Gone")
    r = ctx.patch(f"Users/{user['id']}", {"op": "remove", "path": "nickName"})
    got = patched(ctx, "Users", user["id"], r, "PATCH remove nickName")
    ctx.expect(got.get("nickName") in (None, ""), f"nickName is still {got.get('nickName')!r}")


@check("patch.remove.sub-attribute", "remove with a sub-attribute path clears only that sub-attribute",
       "RFC 7644 §3.5.2.2; §3.10", "MUST", writes=True, requires=P)
def remove_sub_attribute(ctx: CheckContext) -> None:
    """A path may name a sub-attribute of a complex attribute ('name.middleName', §3.10); 'the attribute and its associated value is removed, and the attribute SHALL be considered unassigned', while its siblings stay."""
    body = ctx.user_body()
    body["name"] = {**body["name"], "middleName": "Byron"}
    user = ctx.create("Users", body, "a test User with a middle name")
    r = ctx.patch(f"Users/{user['id']}", {"op": "remove", "path": "name.middleName"})
    got = patched(ctx, "Users", user["id"], r, "PATCH remove name.middleName")
    name = got.get("name") or {}
    ctx.expect(name.get("middleName") in (None, ""), f"name.middleName is still {name.get('middleName')!r}")
    ctx.expect(name.get("givenName") == body["name"]["givenName"] and name.get("familyName") == body["name"]["familyName"],
               f"the other name parts changed: {name!r}")


@check("patch.remove.value-filter", "remove with a value filter removes only matching values", "RFC 7644 §3.5.2.2",
       "MUST", writes=True, requires=P)
def remove_filtered(ctx: CheckContext) -> None:
    """'If the target location is a multi-valued attribute and a complex filter is specified ..., the values matched by the filter are removed.'"""
    user = _user_with_two_emails(ctx)
    r = ctx.patch(f"Users/{user['id']}", {"op": "remove", "path": 'emails[type eq "home"]'})
    got = patched(ctx, "Users", user["id"], r, 'PATCH remove emails[type eq "home"]')
    types = [e.get("type") for e in emails_of(got)]
    ctx.expect(types == ["work"], f"email types left: {types}")


@check("patch.remove.no-path", "remove without a path fails with 400 noTarget", "RFC 7644 §3.5.2.2", "MUST",
       writes=True, requires=P)
def remove_no_path(ctx: CheckContext) -> None:
    """'If "path" is unspecified, the operation fails with HTTP status code 400 and a "scimType" error code of "noTarget".'"""
    user = ctx.new_user()
    expect_error(ctx, ctx.patch(f"Users/{user['id']}", {"op": "remove"}), 400, "PATCH remove without path", "noTarget")


@check("patch.remove.no-match", "remove with a filter that matches nothing fails with 400 noTarget",
       "RFC 7644 §3.5.2.2", "SHOULD", writes=True, requires=P)
def remove_no_match(ctx: CheckContext) -> None:
    """A value filter that selects nothing leaves the resource unchanged; the server may answer success or 400 noTarget (Table 9), never an error status of another kind."""
    user = ctx.new_user()
    r = ctx.patch(f"Users/{user['id']}", {"op": "remove", "path": 'emails[type eq "nonexistent"]'})
    ctx.expect(r.status in (400, 200, 204), f"answered {r.status}")
    if r.status == 400:
        ctx.expect(r.body.get("scimType") == "noTarget", f"scimType is {r.body.get('scimType')!r}")
    got = ctx.fetch("Users", user["id"])
    ctx.expect(len(emails_of(got)) == 1, "the unmatched remove changed the emails")


@check("patch.urn-path", "A path prefixed by an extension URN reaches the extension attribute",
       "RFC 7644 §3.5.2; §3.10", "MUST", writes=True, requires=("patch", "enterprise"))
def urn_path(ctx: CheckContext) -> None:
    """'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber' is a valid attrPath (fully qualified by its schema URN)."""
    user = ctx.new_user()
    r = ctx.patch(f"Users/{user['id']}", {"op": "add", "path": f"{ENTERPRISE}:employeeNumber", "value": "E-1701"})
    got = patched(ctx, "Users", user["id"], r, "PATCH add with an enterprise URN path")
    ext = got.get(ENTERPRISE) or {}
    ctx.expect(ext.get("employeeNumber") == "E-1701", f"the enterprise extension is {ext!r}")
    ctx.expect(ENTERPRISE in (got.get("schemas") or []), "schemas does not list the enterprise extension")


@check("patch.urn-core-path", "A path prefixed by the core schema URN is accepted", "RFC 7644 §3.10", "SHOULD",
       writes=True, requires=P)
def urn_core_path(ctx: CheckContext) -> None:
    """attrPath = [URI ":"] ATTRNAME; the core schema URN may qualify a core attribute."""
    user = ctx.new_user()
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:nickName",
                                         "value": "Qualified"})
    got = patched(ctx, "Users", user["id"], r, "PATCH replace with a core-URN path")
    ctx.expect(got.get("nickName") == "Qualified", f"nickName is {got.get('nickName')!r}")


@check("patch.multiple-ops", "Several operations in one request apply in order", "RFC 7644 §3.5.2", "MUST",
       writes=True, requires=P)
def multiple_ops(ctx: CheckContext) -> None:
    """'Operations are processed sequentially' and the result is that of all of them."""
    user = ctx.new_user()
    r = ctx.patch(f"Users/{user['id']}", {"op": "add", "path": "nickName", "value": "One"},
                  {"op": "replace", "path": "nickName", "value": "Two"}, {"op": "add", "path": "title", "value": "T"})
    got = patched(ctx, "Users", user["id"], r, "PATCH with three operations")
    ctx.expect(got.get("nickName") == "Two" and got.get("title") == "T",
               f"nickName={got.get('nickName')!r} title={got.get('title')!r}")


@check("patch.atomic", "A PATCH with one failing operation changes nothing", "RFC 7644 §3.5.2", "MUST", writes=True,
       requires=P)
def atomic(ctx: CheckContext) -> None:
    """'A PATCH request, regardless of the number of operations, SHALL be treated as atomic. If a single operation encounters an error condition, the original target resource MUST be restored, and a failure status SHALL be returned.'"""
    user = ctx.new_user(nickName="Original")
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": "nickName", "value": "Changed"},
                  {"op": "remove"})
    ctx.expect(400 <= (r.status or 0) < 500, f"the PATCH with an invalid second operation answered {r.status}")
    got = ctx.fetch("Users", user["id"])
    ctx.expect(got.get("nickName") == "Original", f"the first operation was applied: nickName is {got.get('nickName')!r}")


@check("patch.invalid-op", "An unknown op is refused with 400", "RFC 7644 §3.5.2, §3.12", "MUST", writes=True,
       requires=P)
def invalid_op(ctx: CheckContext) -> None:
    """op 'MAY be one of "add", "remove", or "replace"'; anything else is invalid (400, scimType invalidSyntax or invalidValue)."""
    user = ctx.new_user()
    r = ctx.patch(f"Users/{user['id']}", {"op": "frobnicate", "path": "nickName", "value": "x"})
    ctx.expect_status(r, 400, doing="PATCH with op 'frobnicate'")


BAD_PATH = 'emails[type eq "work"'


@check("patch.invalid-path", "A malformed path is refused with 400", "RFC 7644 §3.5.2, §3.12", "MUST", writes=True,
       requires=P)
def invalid_path(ctx: CheckContext) -> None:
    """An operation whose path cannot be parsed cannot be applied: 400, and nothing changes."""
    user = ctx.new_user(nickName="Kept")
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": BAD_PATH, "value": "x"})
    expect_error(ctx, r, 400, "PATCH with an unbalanced value filter path")
    ctx.expect(ctx.fetch("Users", user["id"]).get("nickName") == "Kept", "the refused PATCH changed the User")


@check("patch.invalid-path-scimtype", "A malformed path is scimType invalidPath", "RFC 7644 §3.12 (Table 9)", "SHOULD",
       writes=True, requires=P)
def invalid_path_scimtype(ctx: CheckContext) -> None:
    """invalidPath: 'The "path" attribute was invalid or malformed.'"""
    user = ctx.new_user()
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": BAD_PATH, "value": "x"})
    ctx.require(r.status == 400, f"answered {r.status} (see patch.invalid-path)")
    ctx.expect(r.body.get("scimType") == "invalidPath", f"scimType is {r.body.get('scimType')!r}")


@check("patch.no-operations", "A PatchOp without Operations is refused with 400", "RFC 7644 §3.5.2", "MUST",
       writes=True, requires=P)
def no_operations(ctx: CheckContext) -> None:
    """'The body of an HTTP PATCH request MUST contain the attribute "Operations", whose value is an array of one or more PATCH operations.'"""
    user = ctx.new_user()
    r = ctx.request("PATCH", f"Users/{user['id']}",
                    json_body={"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []})
    ctx.expect_status(r, 400, doing="PATCH with an empty Operations array")


@check("patch.unknown", "PATCH of an unknown resource answers 404", "RFC 7644 §3.5.2, §3.12", "MUST", writes=True,
       requires=P)
def unknown(ctx: CheckContext) -> None:
    """PATCH targets an existing resource; an unknown id is 404."""
    r = ctx.patch(f"Users/{ctx.run.prefix}-missing", {"op": "replace", "path": "nickName", "value": "x"})
    expect_error(ctx, r, 404, "PATCH /Users/{unknown id}")


@check("patch.case-insensitive-names", "Attribute names in paths are case-insensitive", "RFC 7643 §2.1", "SHOULD",
       writes=True, requires=P)
def case_insensitive(ctx: CheckContext) -> None:
    """'Attribute names are case insensitive and are often "camel-cased".'"""
    user = ctx.new_user()
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": "NICKNAME", "value": "Loud"})
    got = patched(ctx, "Users", user["id"], r, "PATCH replace NICKNAME")
    ctx.expect(got.get("nickName") == "Loud", f"nickName is {got.get('nickName')!r}")


@check("patch.response", "A 200 PATCH response is the resource; 204 has no body", "RFC 7644 §3.5.2", "MUST",
       writes=True, requires=P)
def response(ctx: CheckContext) -> None:
    """'... MUST return a 200 OK response code and the entire resource within the response body ... or MAY return HTTP status code 204 (No Content)'."""
    user = ctx.new_user()
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": "nickName", "value": "Shape"})
    ctx.expect_status(r, 200, 204, doing="PATCH replace nickName")
    if r.status == 200:
        ctx.validate("User", r.json, "the 200 PATCH response")
        ctx.expect(r.body.get("nickName") == "Shape", "the 200 response does not show the change")
    else:
        ctx.note("answered 204 No Content (allowed)")
        ctx.expect(not r.text.strip(), "a 204 response carries a body")


@check("patch.group.add-member", "add to members adds a member", "RFC 7644 §3.5.2.1", "MUST", writes=True,
       requires=("patch", "Group"))
def group_add_member(ctx: CheckContext) -> None:
    """Members are added with {"op":"add","path":"members","value":[{"value":"<id>"}]}."""
    a, b = ctx.new_user(), ctx.new_user()
    group = ctx.new_group(members=[a["id"]])
    r = ctx.patch(f"Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": b["id"]}]})
    got = patched(ctx, "Groups", group["id"], r, "PATCH add members")
    ctx.expect(member_ids(got) == {a["id"], b["id"]}, f"members are {sorted(member_ids(got))}")


@check("patch.group.remove-member", "remove members[value eq \"id\"] removes only that member", "RFC 7644 §3.5.2.2",
       "MUST", writes=True, requires=("patch", "Group"))
def group_remove_member(ctx: CheckContext) -> None:
    """The RFC's own example: {"op":"remove","path":"members[value eq \"2819c223...\"]"}."""
    a, b = ctx.new_user(), ctx.new_user()
    group = ctx.new_group(members=[a["id"], b["id"]])
    r = ctx.patch(f"Groups/{group['id']}", {"op": "remove", "path": f'members[value eq "{a["id"]}"]'})
    got = patched(ctx, "Groups", group["id"], r, "PATCH remove members[value eq ...]")
    ctx.expect(member_ids(got) == {b["id"]}, f"members are {sorted(member_ids(got))}")


@check("patch.group.remove-all-members", "remove members removes every member", "RFC 7644 §3.5.2.2", "MUST",
       writes=True, requires=("patch", "Group"))
def group_remove_all(ctx: CheckContext) -> None:
    """'If the target location is a multi-valued attribute and no filter is specified, the attribute and all values are removed.'"""
    a, b = ctx.new_user(), ctx.new_user()
    group = ctx.new_group(members=[a["id"], b["id"]])
    r = ctx.patch(f"Groups/{group['id']}", {"op": "remove", "path": "members"})
    got = patched(ctx, "Groups", group["id"], r, "PATCH remove members")
    ctx.expect(not member_ids(got), f"members left: {sorted(member_ids(got))}")


@check("patch.group.replace-members", "replace members sets exactly the given members", "RFC 7644 §3.5.2.3", "MUST",
       writes=True, requires=("patch", "Group"))
def group_replace_members(ctx: CheckContext) -> None:
    """Replacing a multi-valued attribute without a filter replaces all its values."""
    a, b = ctx.new_user(), ctx.new_user()
    group = ctx.new_group(members=[a["id"]])
    r = ctx.patch(f"Groups/{group['id']}", {"op": "replace", "path": "members", "value": [{"value": b["id"]}]})
    got = patched(ctx, "Groups", group["id"], r, "PATCH replace members")
    ctx.expect(member_ids(got) == {b["id"]}, f"members are {sorted(member_ids(got))}")
