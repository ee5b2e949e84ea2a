"""Each documented Entra habit: accepted by entra-tolerant (with the state it should produce), refused by rfc.

Request shapes are the ones shared/reference/entra-provisioning-client.md
(sections 2.3-2.7 and 9) documents Entra sending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest

from .conftest import ENTERPRISE, GROUP, PATCH_OP, USER, assert_error


@dataclass
class World:
    user: dict[str, Any]
    manager: dict[str, Any]
    group: dict[str, Any]
    other: dict[str, Any]


def build(server) -> World:
    manager = server.user("manager@example.com")
    user = server.user("Test_User_1@example.com", name={"givenName": "Given", "familyName": "Family"},
                       emails=[{"value": "home@example.com", "type": "home"}])
    other = server.user("other@example.com")
    group = server.group("Team", members=[user["id"], other["id"]])
    return World(user, manager, group, other)


def patch_body(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


@dataclass
class Quirk:
    name: str
    request: Callable[[World], tuple[str, str, dict[str, Any]]]  # (method, path, body)
    scim_type: str  # what rfc answers (status 400)
    check: Callable[[Any, World], None]  # what entra-tolerant stores


def _user(server, world):
    return server.fetch("Users", world.user["id"])


def _members(server, world):
    return [m["value"] for m in server.fetch("Groups", world.group["id"])["members"]]


QUIRKS = [
    Quirk("capitalised Replace",
          lambda w: ("PATCH", f"/Users/{w.user['id']}",
                     patch_body({"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"})),
          "invalidSyntax", lambda s, w: _user(s, w)["name"]["familyName"] == "updatedFamilyName"),
    Quirk("capitalised Add",
          lambda w: ("PATCH", f"/Users/{w.user['id']}", patch_body({"op": "Add", "path": "nickName", "value": "Babs"})),
          "invalidSyntax", lambda s, w: _user(s, w)["nickName"] == "Babs"),
    Quirk("disable with the string False",
          lambda w: ("PATCH", f"/Users/{w.user['id']}", patch_body({"op": "Replace", "path": "active", "value": "False"})),
          "invalidSyntax", lambda s, w: _user(s, w)["active"] is False),
    Quirk("lower-case op, string false",
          lambda w: ("PATCH", f"/Users/{w.user['id']}", patch_body({"op": "replace", "path": "active", "value": "false"})),
          "invalidValue", lambda s, w: _user(s, w)["active"] is False),
    Quirk("re-enable with the string True",
          lambda w: ("PATCH", f"/Users/{w.user['id']}", patch_body({"op": "replace", "path": "active", "value": "True"})),
          "invalidValue", lambda s, w: _user(s, w)["active"] is True),
    Quirk("member removal with a value array",
          lambda w: ("PATCH", f"/Groups/{w.group['id']}",
                     patch_body({"op": "remove", "path": "members", "value": [{"$ref": None, "value": w.user["id"]}]})),
          "invalidSyntax", lambda s, w: _members(s, w) == [w.other["id"]]),
    Quirk("manager as a bare string on the URN path",
          lambda w: ("PATCH", f"/Users/{w.user['id']}",
                     patch_body({"op": "add", "path": f"{ENTERPRISE}:manager", "value": w.manager["id"]})),
          "invalidValue", lambda s, w: _user(s, w)[ENTERPRISE]["manager"] == {"value": w.manager["id"]}),
    Quirk("manager as a one-element list (docs form)",
          lambda w: ("PATCH", f"/Users/{w.user['id']}",
                     patch_body({"op": "add", "path": "manager",
                                 "value": [{"$ref": f"http://lms/Users/{w.manager['id']}", "value": w.manager["id"]}]})),
          "invalidPath", lambda s, w: _user(s, w)[ENTERPRISE]["manager"]["value"] == w.manager["id"]),
    Quirk("filtered path on a missing element",
          lambda w: ("PATCH", f"/Users/{w.user['id']}",
                     patch_body({"op": "replace", "path": 'emails[type eq "work"].value', "value": "work@example.com"})),
          "noTarget", lambda s, w: _user(s, w)["emails"] == [{"value": "home@example.com", "type": "home"},
                                                             {"type": "work", "value": "work@example.com"}]),
    Quirk("several ops on one missing element land in one element",
          lambda w: ("PATCH", f"/Users/{w.user['id']}",
                     patch_body({"op": "Replace", "path": 'addresses[type eq "work"].formatted', "value": "1 Main St"},
                                {"op": "Replace", "path": 'addresses[type eq "work"].locality', "value": "Springfield"},
                                {"op": "Add", "path": 'addresses[type eq "work"].region', "value": "IL"})),
          "invalidSyntax", lambda s, w: _user(s, w)["addresses"] == [
              {"type": "work", "formatted": "1 Main St", "locality": "Springfield", "region": "IL"}]),
    Quirk("role path with primary eq \"True\"",
          lambda w: ("PATCH", f"/Users/{w.user['id']}",
                     patch_body({"op": "Add", "path": 'roles[primary eq "True"].value', "value": "Admin"})),
          "invalidSyntax", lambda s, w: _user(s, w)["roles"] == [{"primary": True, "value": "Admin"}]),
    Quirk("role filter with a string boolean, lower-case op",
          lambda w: ("PATCH", f"/Users/{w.user['id']}",
                     patch_body({"op": "add", "path": 'roles[primary eq "True"].value', "value": "Admin"})),
          "invalidPath", lambda s, w: _user(s, w)["roles"] == [{"primary": True, "value": "Admin"}]),
    Quirk("path-less replace with dotted and URN-qualified keys (aadOptscim062020)",
          lambda w: ("PATCH", f"/Users/{w.user['id']}",
                     patch_body({"op": "replace", "path": 'emails[type eq "home"].value', "value": "h2@example.com"},
                                {"op": "replace", "value": {"displayName": "Bjfe", "name.givenName": "Kkom",
                                                            "name.familyName": "Unua",
                                                            f"{ENTERPRISE}:employeeNumber": "Aklq"}})),
          "invalidPath", lambda s, w: (lambda u: u["displayName"] == "Bjfe" and u["name"] == {
              "givenName": "Kkom", "familyName": "Unua"} and u[ENTERPRISE] == {"employeeNumber": "Aklq"}
              and u["emails"][0]["value"] == "h2@example.com")(_user(s, w))),
    Quirk("manager removal with a value filter",
          lambda w: ("PATCH", f"/Users/{w.manager['id']}",
                     patch_body({"op": "remove", "path": 'manager[value eq "someone"]'})),
          "invalidPath", lambda s, w: ENTERPRISE not in s.fetch("Users", w.manager["id"])),
    Quirk("group POST with the ADSCIM schema URI",
          lambda w: ("POST", "/Groups", {"schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                                         "externalId": "8aa1a0c0", "displayName": "Admins", "meta": {"resourceType": "Group"}}),
          "invalidValue", lambda s, w: s.get("/Groups", params={"filter": 'displayName eq "Admins"'}).json()["totalResults"] == 1),
    Quirk("user POST with the old enterprise URN typo and a bare-string manager",
          lambda w: ("POST", "/Users", {"schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",
                                                    ENTERPRISE],
                                        "userName": "typo@example.com", "active": True, "addresses": None,
                                        ENTERPRISE: {"manager": w.manager["id"]}}),
          "invalidValue", lambda s, w: s.get("/Users", params={"filter": 'userName eq "typo@example.com"'}).json()[
              "Resources"][0][ENTERPRISE] == {"manager": {"value": w.manager["id"]}}),
]


@pytest.mark.parametrize("quirk", QUIRKS, ids=[q.name for q in QUIRKS])
def test_rfc_refuses_the_quirk_and_changes_nothing(lms, quirk):
    world = build(lms)
    before = lms.state()
    method, path, body = quirk.request(world)
    body = assert_error(lms.request(method, path, body), 400, quirk.scim_type)
    assert lms.state() == before
    assert body["detail"]


@pytest.mark.parametrize("quirk", QUIRKS, ids=[q.name for q in QUIRKS])
def test_entra_tolerant_accepts_the_quirk(tolerant, quirk):
    world = build(tolerant)
    if quirk.name == "manager removal with a value filter":
        tolerant.patch(f"/Users/{world.manager['id']}",
                       {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": "someone"}})
    method, path, body = quirk.request(world)
    resp = tolerant.request(method, path, body)
    assert resp.status_code in (200, 201, 204), resp.text
    assert quirk.check(tolerant, world)


def test_refusals_name_the_strict_form(lms):
    world = build(lms)
    detail = lms.patch(f"/Users/{world.user['id']}", {"op": "Replace", "path": "title", "value": "x"}).json()["detail"]
    assert '"replace"' in detail and "entra-tolerant" in detail
    detail = lms.patch(f"/Groups/{world.group['id']}",
                       {"op": "remove", "path": "members", "value": [{"value": world.user["id"]}]}).json()["detail"]
    assert 'members[value eq "<id>"]' in detail
    detail = lms.patch(f"/Users/{world.user['id']}", {"op": "replace", "path": "active", "value": "False"}).json()["detail"]
    assert "without quotes" in detail


def test_tolerant_filter_miss_is_an_empty_list_and_matching_is_case_insensitive(tolerant):
    tolerant.user("Test_User_00aa00aa@example.com")
    probe = tolerant.session.get(tolerant.base + "/Users?filter=userName+eq+%22Test_User_00aa00aa%40EXAMPLE.com%22")
    assert probe.status_code == 200 and probe.json()["totalResults"] == 1
    miss = tolerant.session.get(tolerant.base + "/Users?filter=userName+eq+%2200000000-0000-0000-0000-000000000000%22")
    assert miss.status_code == 200
    assert miss.json() == {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0,
                           "startIndex": 1, "itemsPerPage": 0, "Resources": []}


def test_tolerant_duplicate_group_name_is_409(tolerant):
    tolerant.group("Sales")
    before = tolerant.state()
    assert_error(tolerant.post("/Groups", {"schemas": [GROUP], "displayName": "sales"}), 409, "uniqueness", "displayName")
    assert tolerant.state() == before


def test_tolerant_member_add_with_null_ref_and_204(tolerant):
    user = tolerant.user("member@example.com")
    group = tolerant.group("Org Admin", members=[])
    resp = tolerant.patch(f"/Groups/{group['id']}", {"op": "Add", "path": "members",
                                                     "value": [{"$ref": None, "value": user["id"]}]})
    assert resp.status_code == 204
    assert tolerant.fetch("Groups", group["id"])["members"] == [{"value": user["id"]}]


EMAIL_MATCH = 'emails[type eq "work"].value eq "Ann@Contoso.com"'


def test_tolerant_reads_entras_email_matching_filter(tolerant):
    """Entra matches on email with a sub-attribute after the value filter; only the work address counts."""
    ann = tolerant.user("ann", emails=[{"type": "work", "value": "ann@contoso.com"}])
    tolerant.user("bob", emails=[{"type": "home", "value": "ann@contoso.com"}])
    found = tolerant.session.get(tolerant.base + "/Users", params={"filter": EMAIL_MATCH})
    assert found.status_code == 200, found.text
    assert [r["id"] for r in found.json()["Resources"]] == [ann["id"]]
    miss = tolerant.session.get(tolerant.base + "/Users", params={"filter": 'emails[type eq "work"].value eq "x@y.z"'})
    assert miss.status_code == 200 and miss.json()["totalResults"] == 0


def test_rfc_refuses_entras_email_matching_filter(lms):
    lms.user("ann", emails=[{"type": "work", "value": "ann@contoso.com"}])
    body = assert_error(lms.session.get(lms.base + "/Users", params={"filter": EMAIL_MATCH}), 400, "invalidFilter")
    assert "inside the brackets" in body["detail"]
