"""PATCH (RFC 7644 §3.5.2) in the strict profile: every form, every error, and atomicity."""

from __future__ import annotations

import pytest

from .conftest import ENTERPRISE, PATCH_OP, USER, assert_error


@pytest.fixture
def barbara(lms):
    return lms.user("bjensen@example.com", name={"givenName": "Barbara", "familyName": "Jensen"},
                    emails=[{"value": "bjensen@example.com", "type": "work", "primary": True},
                            {"value": "babs@jensen.org", "type": "home"}],
                    addresses=[{"type": "work", "locality": "Hollywood", "region": "CA"}],
                    **{ENTERPRISE: {"department": "Tours", "employeeNumber": "701984"}})


def patched(lms, user, *ops):
    resp = lms.patch(f"/Users/{user['id']}", *ops)
    assert resp.status_code == 200, resp.text
    assert resp.json() == lms.fetch("Users", user["id"])  # the answer is the stored resource
    return resp.json()


def test_replace_simple_and_sub_attribute(lms, barbara):
    user = patched(lms, barbara, {"op": "replace", "path": "displayName", "value": "Babs"},
                   {"op": "replace", "path": "name.familyName", "value": "Jensen-Smith"})
    assert user["displayName"] == "Babs"
    assert user["name"] == {"givenName": "Barbara", "familyName": "Jensen-Smith"}
    assert user["meta"]["version"] != barbara["meta"]["version"]


def test_add_to_complex_merges_and_replace_on_missing_attribute_adds(lms, barbara):
    user = patched(lms, barbara, {"op": "add", "path": "name", "value": {"middleName": "Jane"}},
                   {"op": "replace", "path": "nickName", "value": "Babs"})
    assert user["name"] == {"givenName": "Barbara", "familyName": "Jensen", "middleName": "Jane"}
    assert user["nickName"] == "Babs"


def test_add_to_multi_valued_appends_without_duplicates(lms, barbara):
    user = patched(lms, barbara, {"op": "add", "path": "emails",
                                  "value": [{"value": "babs@jensen.org", "type": "home"},
                                            {"value": "b@other.example", "type": "other"}]})
    assert [e["value"] for e in user["emails"]] == ["bjensen@example.com", "babs@jensen.org", "b@other.example"]


def test_replace_multi_valued_without_filter_replaces_all(lms, barbara):
    user = patched(lms, barbara, {"op": "replace", "path": "emails", "value": [{"value": "only@example.com"}]})
    assert user["emails"] == [{"value": "only@example.com"}]


def test_filtered_path_with_sub_attribute(lms, barbara):
    user = patched(lms, barbara, {"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@example.com"},
                   {"op": "replace", "path": 'addresses[type eq "work"].locality', "value": "Burbank"},
                   {"op": "add", "path": 'addresses[type eq "work"].postalCode', "value": "91501"})
    assert user["emails"][0] == {"value": "new@example.com", "type": "work", "primary": True}
    assert user["addresses"] == [{"type": "work", "locality": "Burbank", "region": "CA", "postalCode": "91501"}]


def test_filtered_replace_of_whole_element_and_remove_by_filter(lms, barbara):
    user = patched(lms, barbara, {"op": "replace", "path": 'emails[type eq "home"]',
                                  "value": {"value": "home@example.com", "type": "home"}})
    assert user["emails"][1] == {"value": "home@example.com", "type": "home"}
    user = patched(lms, barbara, {"op": "remove", "path": 'emails[value eq "home@example.com"]'})
    assert [e["type"] for e in user["emails"]] == ["work"]
    user = patched(lms, barbara, {"op": "remove", "path": 'emails[type eq "work"].primary'})
    assert user["emails"] == [{"value": "bjensen@example.com", "type": "work"}]


def test_primary_moves_to_the_value_marked_primary(lms, barbara):
    user = patched(lms, barbara, {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True})
    assert [e.get("primary") for e in user["emails"]] == [False, True]
    user = patched(lms, barbara, {"op": "add", "path": "emails",
                                  "value": [{"value": "p@example.com", "type": "other", "primary": True}]})
    assert [e.get("primary") for e in user["emails"]] == [False, False, True]


def test_urn_paths_and_whole_extension(lms, barbara):
    user = patched(lms, barbara, {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Flights"},
                   {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": barbara["id"]}},
                   {"op": "replace", "path": f"{USER}:title", "value": "Guide"})
    assert user[ENTERPRISE] == {"department": "Flights", "employeeNumber": "701984", "manager": {"value": barbara["id"]}}
    assert user["title"] == "Guide"
    user = patched(lms, barbara, {"op": "remove", "path": f"{ENTERPRISE}:manager.value"})
    assert "manager" not in user[ENTERPRISE]
    user = patched(lms, barbara, {"op": "replace", "path": ENTERPRISE, "value": {"costCenter": "4130"}})
    assert user[ENTERPRISE] == {"costCenter": "4130"}
    user = patched(lms, barbara, {"op": "remove", "path": ENTERPRISE})
    assert ENTERPRISE not in user and user["schemas"] == [USER]


def test_pathless_add_and_replace_with_attribute_names_and_extension_objects(lms, barbara):
    user = patched(lms, barbara, {"op": "replace", "value": {"displayName": "Babs", "active": False,
                                                             "name": {"givenName": "Barb"},
                                                             ENTERPRISE: {"division": "West"}}},
                   {"op": "add", "value": {"emails": [{"value": "x@example.com", "type": "other"}]}})
    assert user["displayName"] == "Babs" and user["active"] is False
    assert user["name"] == {"givenName": "Barb", "familyName": "Jensen"}
    assert user[ENTERPRISE]["division"] == "West" and user[ENTERPRISE]["department"] == "Tours"
    assert len(user["emails"]) == 3


def test_remove_single_attribute_and_sub_attribute(lms, barbara):
    user = patched(lms, barbara, {"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "addresses"})
    assert user["name"] == {"familyName": "Jensen"} and "addresses" not in user


@pytest.mark.parametrize("op, scim_type, detail", [
    ({"op": "remove"}, "noTarget", "needs a 'path'"),
    ({"op": "replace", "path": 'emails[type eq "other"].value', "value": "x@y.z"}, "noTarget", "selects no value"),
    ({"op": "add", "path": 'emails[type eq "other"].value', "value": "x@y.z"}, "noTarget", "selects no value"),
    ({"op": "replace", "path": "id", "value": "new"}, "mutability", "readOnly"),
    ({"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}, "mutability", "readOnly"),
    ({"op": "add", "path": "groups", "value": [{"value": "g"}]}, "mutability", "readOnly"),
    ({"op": "remove", "path": "userName"}, "mutability", "required"),
    ({"op": "replace", "path": "userName", "value": None}, "mutability", "required"),
    ({"op": "replace", "path": "shoeSize", "value": 42}, "invalidPath", "'shoeSize' is not an attribute of User"),
    ({"op": "replace", "path": "name.nickname", "value": "x"}, "invalidPath", "has no sub-attribute 'nickname'"),
    ({"op": "replace", "path": "urn:example:unknown:1.0:User:x", "value": "x"}, "invalidPath", "not one of User's"),
    ({"op": "replace", "path": 'emails[type eq "work"', "value": "x"}, "invalidPath", "expected ']'"),
    ({"op": "replace", "path": 'emails[type zz "work"].value', "value": "x"}, "invalidPath", "'zz'"),
    ({"op": "replace", "path": 'userName[value eq "x"]', "value": "x"}, "invalidPath", "value filter"),
    ({"op": "replace", "path": "", "value": "x"}, "invalidPath", "empty"),
    ({"op": "replace", "path": "active", "value": "yes"}, "invalidValue", "boolean"),
    ({"op": "replace", "path": "emails", "value": {"value": "x@y.z"}}, "invalidValue", "JSON array"),
    ({"op": "replace", "path": "displayName"}, "invalidValue", "no 'value'"),
    ({"op": "replace", "value": "not an object"}, "invalidValue", "JSON object"),
    ({"op": "replace", "value": {"shoeSize": 42}}, "invalidValue", "shoeSize"),
    ({"op": "move", "path": "displayName", "value": "x"}, "invalidSyntax", "\"move\" is not an operation"),
    ({"path": "displayName", "value": "x"}, "invalidSyntax", "no 'op'"),
])
def test_patch_errors_carry_the_rfc_scim_type(lms, barbara, op, scim_type, detail):
    before = lms.state()
    assert_error(lms.patch(f"/Users/{barbara['id']}", op), 400, scim_type, detail)
    assert lms.state() == before


def test_patch_envelope_errors(lms, barbara):
    path = f"/Users/{barbara['id']}"
    assert_error(lms.request("PATCH", path, {"Operations": [{"op": "add", "path": "title", "value": "x"}]}),
                 400, "invalidSyntax", "PatchOp")
    assert_error(lms.request("PATCH", path, {"schemas": [PATCH_OP], "Operations": []}), 400, "invalidSyntax", "non-empty")
    assert_error(lms.request("PATCH", path, {"schemas": [PATCH_OP], "Operations": ["add"]}), 400, "invalidSyntax")
    assert_error(lms.patch("/Users/missing", {"op": "add", "path": "title", "value": "x"}), 404)


def test_patch_is_atomic_one_failing_operation_changes_nothing(lms, barbara):
    before = lms.state()
    resp = lms.patch(f"/Users/{barbara['id']}", {"op": "replace", "path": "displayName", "value": "Changed"},
                     {"op": "add", "path": "emails", "value": [{"value": "z@example.com"}]},
                     {"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "555"})
    body = assert_error(resp, 400, "noTarget")
    assert body["detail"].startswith("Operations[2]:")
    assert lms.state() == before


def test_patch_uniqueness_conflict_is_409_and_atomic(lms, barbara):
    lms.user("other@example.com")
    before = lms.state()
    assert_error(lms.patch(f"/Users/{barbara['id']}", {"op": "replace", "path": "userName", "value": "OTHER@example.com"}),
                 409, "uniqueness")
    assert lms.state() == before


def test_group_members_add_remove_and_replace(lms):
    a, b, c = (lms.user(n)["id"] for n in ("a", "b", "c"))
    group = lms.group("Team", members=[a])
    path = f"/Groups/{group['id']}"
    resp = lms.patch(path, {"op": "add", "path": "members", "value": [{"value": b}, {"value": c, "display": "C"}]})
    assert resp.status_code == 204 and resp.content == b""  # groups answer 204 (Entra expects it)
    assert resp.headers["ETag"] != group["meta"]["version"]
    assert [m["value"] for m in lms.fetch("Groups", group["id"])["members"]] == [a, b, c]
    assert lms.patch(path, {"op": "remove", "path": f'members[value eq "{b}"]'}).status_code == 204
    assert lms.patch(path, {"op": "remove", "path": 'members[value eq "not-a-member"]'}).status_code == 204
    assert lms.patch(path, {"op": "replace", "path": f'members[value eq "{c}"].display', "value": "Cee"}).status_code == 204
    members = lms.fetch("Groups", group["id"])["members"]
    assert members == [{"value": a}, {"value": c, "display": "Cee"}]
    assert lms.patch(path, {"op": "replace", "path": "members", "value": [{"value": b}]}).status_code == 204
    assert lms.fetch("Groups", group["id"])["members"] == [{"value": b}]
    assert lms.patch(path, {"op": "remove", "path": "members"}).status_code == 204
    assert lms.fetch("Groups", group["id"])["members"] == []
    assert "groups" not in lms.fetch("Users", b)


def test_group_patch_errors(lms):
    a = lms.user("a")["id"]
    group = lms.group("Team", members=[a])
    path = f"/Groups/{group['id']}"
    before = lms.state()
    assert_error(lms.patch(path, {"op": "add", "path": "members", "value": [{"value": "ghost"}]}), 400, "invalidValue", "ghost")
    assert_error(lms.patch(path, {"op": "add", "path": "members", "value": [{"value": group["id"]}]}),
                 400, "invalidValue", "itself")
    assert_error(lms.patch(path, {"op": "replace", "path": f'members[value eq "{a}"].value', "value": "b"}),
                 400, "mutability", "immutable")
    assert_error(lms.patch(path, {"op": "remove", "path": "displayName"}), 400, "mutability", "required")
    assert_error(lms.patch(path, {"op": "add", "path": "members", "value": [{"display": "no value"}]}),
                 400, "invalidValue", "'value'")
    assert lms.state() == before


def test_attributes_parameter_turns_a_204_into_200_with_those_attributes(lms):
    group = lms.group("Named")
    resp = lms.patch(f"/Groups/{group['id']}", {"op": "replace", "path": "displayName", "value": "Renamed"},
                     params={"attributes": "displayName"})
    assert resp.status_code == 200
    assert resp.json() == {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": group["id"],
                           "displayName": "Renamed"}


def test_nested_groups_are_members(lms):
    inner = lms.group("Inner")
    outer = lms.group("Outer")
    resp = lms.patch(f"/Groups/{outer['id']}", {"op": "add", "path": "members",
                                                "value": [{"value": inner["id"], "type": "Group"}]})
    assert resp.status_code == 204
    assert lms.fetch("Groups", outer["id"])["members"] == [{"value": inner["id"], "type": "Group"}]
