"""The entra profile: the requests Microsoft Entra's provisioning service sends, and what it needs back.

Both PATCH dialects are covered: the default one (capitalised ops, "True"/
"False" strings, members removed through ``value``) and the one the
``aadOptscim062020`` flag turns on (lowercase ops, booleans, path-less replace
with dotted and URN-qualified keys, ``members[value eq "..."]``). Levels say
what Entra does when the server fails: MUST where provisioning fails or the
job is quarantined, SHOULD where Entra only re-sends the same change every
cycle. Some requests here are not strict RFC 7644 (capitalised ops, string
booleans): an RFC-strict server may refuse them and still pass the rfc profile.
"""

from __future__ import annotations

import uuid

from ..context import ENTERPRISE, GROUP, USER, CheckContext
from ..registry import check
from ._helpers import emails_of, expect_list, member_ids, patched

ENTRA = ("entra",)
SRC = "Entra provisioning"


def entra_user_body(ctx: CheckContext, **extra) -> dict:
    """The documented body of Entra's POST /Users (both schemas, meta.resourceType, roles [])."""
    name = ctx.name("entra")
    body = {"schemas": [USER, ENTERPRISE] if ctx.supports("enterprise") else [USER],
            "externalId": str(uuid.uuid5(uuid.NAMESPACE_URL, name)), "userName": name, "active": True,
            "emails": [{"primary": True, "type": "work", "value": f"{name}@example.test"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"}, "roles": []}
    body.update(extra)
    return body


def entra_user(ctx: CheckContext, **extra) -> dict:
    return ctx.create("Users", entra_user_body(ctx, **extra), "a User with Entra's create body")


def entra_group(ctx: CheckContext) -> dict:
    if not ctx.supports("Group"):
        ctx.skip("the server does not advertise a Group resource type")
    name = ctx.name("entrag")
    return ctx.create("Groups", {"schemas": [GROUP], "externalId": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
                                 "displayName": name, "members": [], "meta": {"resourceType": "Group"}},
                      "a Group with Entra's create body")


@check("entra.test-connection", "Test Connection: a filter for a random userName answers 200 with an empty list",
       f"{SRC} (Test connection); RFC 7644 §3.4.2", "MUST", profiles=ENTRA)
def test_connection(ctx: CheckContext) -> None:
    """Entra's Test Connection sends GET /Users?filter=userName eq "<random GUID>"; the only correct answer is 200 with an empty ListResponse (a 404 fails the test)."""
    r = ctx.get("Users", {"filter": f'userName eq "{uuid.uuid4()}"'})
    found = expect_list(ctx, r, "Entra's Test Connection probe")
    ctx.expect(not found and r.body.get("totalResults") == 0, "the probe for a random GUID returned resources")


@check("entra.test-connection-group", "The group probe (excludedAttributes=members) answers 200 with an empty list",
       f"{SRC} (Test connection); RFC 7644 §3.4.2", "MUST", profiles=ENTRA, requires=("Group",))
def test_connection_group(ctx: CheckContext) -> None:
    """GET /Groups?excludedAttributes=members&filter=displayName eq "<random>" must be 200, not 404 or 501."""
    r = ctx.get("Groups", {"excludedAttributes": "members", "filter": f'displayName eq "{uuid.uuid4()}"'})
    found = expect_list(ctx, r, "Entra's group probe")
    ctx.expect(not found, "the probe returned resources")


@check("entra.create-user", "Entra's POST /Users body answers 201 with an id", f"{SRC} (Create); RFC 7644 §3.3",
       "MUST", profiles=ENTRA, writes=True)
def create_user(ctx: CheckContext) -> None:
    """Entra caches the id from a 201 Created; Microsoft's validator fails a create that answers 200."""
    body = entra_user_body(ctx)
    r = ctx.post("Users", body)
    if r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    ctx.expect_status(r, 201, doing="Entra's POST /Users")
    ctx.expect(r.body.get("id"), "the 201 has no id")


@check("entra.create-user-display-name", "A User created with displayName (Entra's default mapping) is accepted",
       f"{SRC} (default attribute mappings); RFC 7643 §4.1.1", "MUST", profiles=ENTRA, writes=True)
def create_display_name(ctx: CheckContext) -> None:
    """The non-gallery app maps displayName by default: a server refusing it fails every user."""
    body = entra_user_body(ctx, displayName="Ada Lovelace")
    r = ctx.post("Users", body)
    if r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    ctx.expect_status(r, 201, doing="POST /Users with displayName")


@check("entra.booleans", "Booleans come back as JSON booleans", f"{SRC} (validator); RFC 7643 §2.3.2", "MUST",
       profiles=ENTRA, writes=True)
def booleans(ctx: CheckContext) -> None:
    """Entra fails to parse "True" strings: 'The value 'True' cannot be parsed as the type 'Boolean''."""
    user = entra_user(ctx)
    got = ctx.fetch("Users", user["id"])
    ctx.expect(got.get("active") is True, f"active is {got.get('active')!r}")
    primaries = [e.get("primary") for e in emails_of(got) if "primary" in e]
    ctx.expect(all(isinstance(p, bool) for p in primaries), f"emails[].primary are {primaries!r}")


@check("entra.round-trip", "Values Entra writes are read back unchanged", f"{SRC} (RedundantExport); RFC 7643 §2.2",
       "SHOULD", profiles=ENTRA, writes=True)
def round_trip(ctx: CheckContext) -> None:
    """Entra diffs what it reads against what it would send; a value returned in another format is re-sent every cycle."""
    body = entra_user_body(ctx)
    user = ctx.create("Users", body, "a User")
    got = ctx.fetch("Users", user["id"])
    for key in ("userName", "externalId", "active"):
        ctx.expect(got.get(key) == body[key], f"{key} came back as {got.get(key)!r}, sent {body[key]!r}")
    for key in ("givenName", "familyName"):
        ctx.expect((got.get("name") or {}).get(key) == body["name"][key], f"name.{key} changed: {got.get('name')!r}")
    work = [e.get("value") for e in emails_of(got) if e.get("type") == "work"]
    ctx.expect(work == [body["emails"][0]["value"]], f"the work email came back as {work}")


@check("entra.match-user", "Matching by userName finds exactly the user", f"{SRC} (Match); RFC 7644 §3.4.2.2", "MUST",
       profiles=ENTRA, writes=True)
def match_user(ctx: CheckContext) -> None:
    """Entra matches with GET /Users?filter=userName eq "<value>" and expects totalResults 1."""
    user = entra_user(ctx)
    r = ctx.get("Users", {"filter": f'userName eq "{user["userName"]}"'})
    found = expect_list(ctx, r, "Entra's match filter")
    ctx.expect([u.get("id") for u in found] == [user["id"]], f"found {[u.get('id') for u in found]}")


@check("entra.match-case", "Matching ignores case", f"{SRC} (validator: different case); RFC 7643 §4.1 (caseExact)",
       "MUST", profiles=ENTRA, writes=True)
def match_case(ctx: CheckContext) -> None:
    """The SCIM Validator filters for an existing user with a different case and expects the match."""
    user = entra_user(ctx)
    found = ctx.get("Users", {"filter": f'userName eq "{user["userName"].upper()}"'}).resources()
    ctx.expect([u.get("id") for u in found] == [user["id"]], f"found {[u.get('id') for u in found]}")


@check("entra.match-external-id", "Matching by externalId finds the user", f"{SRC} (Match); RFC 7643 §3.1", "SHOULD",
       profiles=ENTRA, writes=True)
def match_external_id(ctx: CheckContext) -> None:
    """externalId is a common alternative matching attribute (filter=externalId eq "<objectId>")."""
    user = entra_user(ctx)
    found = ctx.get("Users", {"filter": f'externalId eq "{user["externalId"]}"'}).resources()
    ctx.expect([u.get("id") for u in found] == [user["id"]], f"found {[u.get('id') for u in found]}")


@check("entra.patch-default", "Default-dialect update (capitalised Replace, filtered email path) applies",
       f"{SRC} (Update, no flag); RFC 7644 §3.5.2", "MUST", profiles=ENTRA, writes=True, requires=("patch",))
def patch_default(ctx: CheckContext) -> None:
    """Without aadOptscim062020 Entra sends one capitalised "Replace" per attribute, e.g. emails[type eq "work"].value and name.familyName."""
    user = entra_user(ctx)
    new = f"{user['userName']}.new@example.test"
    r = ctx.patch(f"Users/{user['id']}", {"op": "Replace", "path": 'emails[type eq "work"].value', "value": new},
                  {"op": "Replace", "path": "name.familyName", "value": "Byron"})
    got = patched(ctx, "Users", user["id"], r, "Entra's default-dialect PATCH")
    ctx.expect([e.get("value") for e in emails_of(got) if e.get("type") == "work"] == [new], f"emails are {emails_of(got)}")
    ctx.expect((got.get("name") or {}).get("familyName") == "Byron", f"name is {got.get('name')!r}")


@check("entra.disable-string", "Disable with \"False\" as a string (default dialect) sets active false",
       f"{SRC} (Disable, no flag)", "MUST", profiles=ENTRA, writes=True, requires=("patch",))
def disable_string(ctx: CheckContext) -> None:
    """{"op":"Replace","path":"active","value":"False"}: 'Unfortunately our service sends it as a string today.'"""
    user = entra_user(ctx)
    r = ctx.patch(f"Users/{user['id']}", {"op": "Replace", "path": "active", "value": "False"})
    got = patched(ctx, "Users", user["id"], r, "PATCH active \"False\"")
    ctx.expect(got.get("active") is False, f"active is {got.get('active')!r}")


@check("entra.disable-boolean", "Disable with a boolean (aadOptscim062020) sets active false",
       f"{SRC} (Disable, flag); RFC 7644 §3.5.2.3", "MUST", profiles=ENTRA, writes=True, requires=("patch",))
def disable_boolean(ctx: CheckContext) -> None:
    """{"op":"replace","path":"active","value":false}."""
    user = entra_user(ctx)
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "path": "active", "value": False})
    got = patched(ctx, "Users", user["id"], r, "PATCH active false")
    ctx.expect(got.get("active") is False, f"active is {got.get('active')!r}")


@check("entra.add-extension", "Add of an enterprise attribute by URN path applies",
       f"{SRC} (Add, URN path); RFC 7644 §3.10", "MUST", profiles=ENTRA, writes=True, requires=("patch", "enterprise"))
def add_extension(ctx: CheckContext) -> None:
    """{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Retail"}."""
    user = entra_user(ctx)
    r = ctx.patch(f"Users/{user['id']}", {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Retail"})
    got = patched(ctx, "Users", user["id"], r, "PATCH Add department")
    ctx.expect((got.get(ENTERPRISE) or {}).get("department") == "Retail", f"extension is {got.get(ENTERPRISE)!r}")


@check("entra.pathless-dotted", "Path-less replace with dotted and URN keys (aadOptscim062020) applies",
       f"{SRC} (Replace multiple attributes, flag)", "MUST", profiles=ENTRA, writes=True, requires=("patch",))
def pathless_dotted(ctx: CheckContext) -> None:
    """With the flag Entra merges simple changes into one path-less replace: {"name.givenName": ..., "urn:...:employeeNumber": ...}."""
    user = entra_user(ctx)
    value = {"nickName": "Bjfe", "name.givenName": "Kkom", "name.familyName": "Unua"}
    if ctx.supports("enterprise"):
        value[f"{ENTERPRISE}:employeeNumber"] = "Aklq"
    r = ctx.patch(f"Users/{user['id']}", {"op": "replace", "value": value})
    got = patched(ctx, "Users", user["id"], r, "path-less replace with dotted keys")
    name = got.get("name") or {}
    ctx.expect(name.get("givenName") == "Kkom" and name.get("familyName") == "Unua", f"name is {name!r}")
    ctx.expect(got.get("nickName") == "Bjfe", f"nickName is {got.get('nickName')!r}")
    if ctx.supports("enterprise"):
        ctx.expect((got.get(ENTERPRISE) or {}).get("employeeNumber") == "Aklq", f"extension is {got.get(ENTERPRISE)!r}")


@check("entra.missing-filtered-element", "A filtered path on a missing element creates it",
       f"{SRC} (quirk 7)", "MUST", profiles=ENTRA, writes=True, requires=("patch",))
def missing_element(ctx: CheckContext) -> None:
    """Entra sends addresses[type eq "work"].locality even when no work address exists; the server is expected to create the element, and several sub-attributes land in one element."""
    user = entra_user(ctx)
    r = ctx.patch(f"Users/{user['id']}", {"op": "Replace", "path": 'addresses[type eq "work"].locality', "value": "Paris"},
                  {"op": "Replace", "path": 'addresses[type eq "work"].country', "value": "FR"})
    got = patched(ctx, "Users", user["id"], r, "PATCH of a missing work address")
    work = [a for a in got.get("addresses") or [] if isinstance(a, dict) and a.get("type") == "work"]
    ctx.expect(len(work) == 1 and work[0].get("locality") == "Paris" and work[0].get("country") == "FR",
               f"addresses are {got.get('addresses')!r}")


@check("entra.manager-string", "Manager sent as a bare string is stored and returned as an object",
       f"{SRC} (manager quirk); RFC 7643 §4.3", "MUST", profiles=ENTRA, writes=True, requires=("patch", "enterprise"))
def manager_string(ctx: CheckContext) -> None:
    """Entra sends {"op":"Add","path":"urn:...:User:manager","value":"<id>"} but parses manager in GET responses as {"value": ...}."""
    boss, user = entra_user(ctx), entra_user(ctx)
    r = ctx.patch(f"Users/{user['id']}", {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": boss["id"]})
    got = patched(ctx, "Users", user["id"], r, "PATCH Add manager as a string")
    manager = (got.get(ENTERPRISE) or {}).get("manager")
    ctx.expect(isinstance(manager, dict) and manager.get("value") == boss["id"], f"manager is {manager!r}")


@check("entra.rename-user", "Replace userName renames the user", f"{SRC} (Update userName)", "MUST", profiles=ENTRA,
       writes=True, requires=("patch",))
def rename_user(ctx: CheckContext) -> None:
    """{"op":"Replace","path":"userName","value":"..."}."""
    user = entra_user(ctx)
    new = ctx.name("renamed")
    r = ctx.patch(f"Users/{user['id']}", {"op": "Replace", "path": "userName", "value": new})
    got = patched(ctx, "Users", user["id"], r, "PATCH Replace userName")
    ctx.expect(got.get("userName") == new, f"userName is {got.get('userName')!r}")


@check("entra.duplicate-user", "A duplicate create answers 409", f"{SRC} (validator); RFC 7644 §3.3", "MUST",
       profiles=ENTRA, writes=True)
def duplicate(ctx: CheckContext) -> None:
    """The SCIM Validator's 'Create duplicate User' expects 409 Conflict."""
    user = entra_user(ctx)
    r = ctx.post("Users", entra_user_body(ctx, userName=user["userName"]))
    if r.status in (200, 201) and r.body.get("id") and r.body["id"] != user["id"]:
        ctx.track("Users", str(r.body["id"]))
    ctx.expect_status(r, 409, doing="duplicate POST /Users")


@check("entra.delete-user", "DELETE /Users/{id} answers 204", f"{SRC} (Delete); RFC 7644 §3.6", "MUST", profiles=ENTRA,
       writes=True)
def delete_user(ctx: CheckContext) -> None:
    """Entra deletes with DELETE /Users/{id} and expects 204 No Content."""
    user = entra_user(ctx)
    ctx.expect_status(ctx.delete(f"Users/{user['id']}"), 204, doing="DELETE /Users/{id}")


@check("entra.content-type", "Responses are application/scim+json", f"{SRC} (validator); RFC 7644 §8.1", "MUST",
       profiles=ENTRA)
def content_type(ctx: CheckContext) -> None:
    """Microsoft's SCIM Validator aborts the whole run when responses are application/json."""
    r = ctx.get("Users", {"filter": f'userName eq "{uuid.uuid4()}"'})
    ctx.expect(r.content_type == "application/scim+json", f"Content-Type is {r.content_type!r}")


@check("entra.create-group", "Entra's POST /Groups body (members []) answers 201 with an id",
       f"{SRC} (Create group); RFC 7644 §3.3", "MUST", profiles=ENTRA, writes=True, requires=("Group",))
def create_group(ctx: CheckContext) -> None:
    """Groups are created with an empty members list; the answer is 201 with id."""
    group = entra_group(ctx)
    ctx.expect(group.get("id"), "no id")


@check("entra.match-group", "Group matching with excludedAttributes=members omits members",
       f"{SRC} (Match group); RFC 7644 §3.9", "MUST", profiles=ENTRA, writes=True, requires=("Group",))
def match_group(ctx: CheckContext) -> None:
    """GET /Groups?excludedAttributes=members&filter=displayName eq "..." — the result must not include members."""
    user = entra_user(ctx)
    group = entra_group(ctx)
    ctx.require(ctx.patch(f"Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": user["id"]}]})
                .status in (200, 204), "could not add a member")
    r = ctx.get("Groups", {"excludedAttributes": "members", "filter": f'displayName eq "{group["displayName"]}"'})
    found = expect_list(ctx, r, "Entra's group match")
    ctx.expect([g.get("id") for g in found] == [group["id"]], f"found {[g.get('id') for g in found]}")
    ctx.expect("members" not in found[0], "members were returned despite excludedAttributes=members")
    by_id = ctx.get(f"Groups/{group['id']}", {"excludedAttributes": "members"})
    ctx.expect("members" not in by_id.body, "GET /Groups/{id}?excludedAttributes=members returned members")


@check("entra.group-add-member", "Add members with \"$ref\": null applies", f"{SRC} (Add member)", "MUST",
       profiles=ENTRA, writes=True, requires=("patch", "Group"))
def group_add_member(ctx: CheckContext) -> None:
    """{"op":"Add","path":"members","value":[{"$ref":null,"value":"<id>"}]}; 204 expected, 200 accepted."""
    user = entra_user(ctx)
    group = entra_group(ctx)
    r = ctx.patch(f"Groups/{group['id']}", {"op": "Add", "path": "members", "value": [{"$ref": None, "value": user["id"]}]})
    got = patched(ctx, "Groups", group["id"], r, "Entra's add member")
    ctx.expect(member_ids(got) == {user["id"]}, f"members are {sorted(member_ids(got))}")


@check("entra.group-remove-member-default", "Remove members with a value list removes only those (default dialect)",
       f"{SRC} (Remove member, no flag)", "MUST", profiles=ENTRA, writes=True, requires=("patch", "Group"))
def remove_member_default(ctx: CheckContext) -> None:
    """{"op":"Remove","path":"members","value":[{"$ref":null,"value":"<id>"}]} — a server that empties the group instead loses every other member."""
    a, b = entra_user(ctx), entra_user(ctx)
    group = entra_group(ctx)
    ctx.require(ctx.patch(f"Groups/{group['id']}", {"op": "add", "path": "members",
                                                    "value": [{"value": a["id"]}, {"value": b["id"]}]}).status in (200, 204),
                "could not add members")
    r = ctx.patch(f"Groups/{group['id']}", {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": a["id"]}]})
    got = patched(ctx, "Groups", group["id"], r, "Entra's default-dialect remove member")
    ctx.expect(member_ids(got) == {b["id"]}, f"members are {sorted(member_ids(got))}")


@check("entra.group-remove-member-flag", "Remove members[value eq \"id\"] (aadOptscim062020) removes that member",
       f"{SRC} (Remove member, flag); RFC 7644 §3.5.2.2", "MUST", profiles=ENTRA, writes=True,
       requires=("patch", "Group"))
def remove_member_flag(ctx: CheckContext) -> None:
    """{"op":"remove","path":"members[value eq \"<id>\"]"}."""
    a, b = entra_user(ctx), entra_user(ctx)
    group = entra_group(ctx)
    ctx.require(ctx.patch(f"Groups/{group['id']}", {"op": "add", "path": "members",
                                                    "value": [{"value": a["id"]}, {"value": b["id"]}]}).status in (200, 204),
                "could not add members")
    r = ctx.patch(f"Groups/{group['id']}", {"op": "remove", "path": f'members[value eq "{a["id"]}"]'})
    got = patched(ctx, "Groups", group["id"], r, "remove members[value eq ...]")
    ctx.expect(member_ids(got) == {b["id"]}, f"members are {sorted(member_ids(got))}")


@check("entra.group-rename", "Replace displayName renames the group", f"{SRC} (Update group)", "MUST", profiles=ENTRA,
       writes=True, requires=("patch", "Group"))
def group_rename(ctx: CheckContext) -> None:
    """{"op":"Replace","path":"displayName","value":"..."}; 204 expected."""
    group = entra_group(ctx)
    new = ctx.name("entrag-renamed")
    r = ctx.patch(f"Groups/{group['id']}", {"op": "Replace", "path": "displayName", "value": new})
    got = patched(ctx, "Groups", group["id"], r, "PATCH Replace displayName")
    ctx.expect(got.get("displayName") == new, f"displayName is {got.get('displayName')!r}")


@check("entra.delete-group", "DELETE /Groups/{id} answers 204", f"{SRC} (Delete group); RFC 7644 §3.6", "MUST",
       profiles=ENTRA, writes=True, requires=("Group",))
def delete_group(ctx: CheckContext) -> None:
    """Entra deletes a group that leaves scope with DELETE and expects 204."""
    group = entra_group(ctx)
    ctx.expect_status(ctx.delete(f"Groups/{group['id']}"), 204, doing="DELETE /Groups/{id}")


@check("entra.throughput-headroom", "Reads answer without throttling a burst of probes", f"{SRC} (25 requests/s)",
       "SHOULD", profiles=ENTRA)
def burst(ctx: CheckContext) -> None:
    """Entra's validation asks for at least 25 requests/second; a burst of 25 probes should not be answered with 429."""
    statuses = [ctx.get("Users", {"filter": f'userName eq "{uuid.uuid4()}"'}).status for _ in range(25)]
    ctx.expect(all(s == 200 for s in statuses), f"statuses: {sorted(set(statuses))}")
