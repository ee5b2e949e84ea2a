"""Users and Groups: create, read, replace, delete, listing, projection, uniqueness and body errors."""

from __future__ import annotations

from .conftest import ENTERPRISE, GROUP, USER, assert_error


def test_create_user_answers_201_with_id_meta_location_and_etag(lms):
    resp = lms.post("/Users", {"schemas": [USER, ENTERPRISE], "userName": "bjensen@example.com",
                               "externalId": "701984", "name": {"givenName": "Barbara", "familyName": "Jensen"},
                               "active": True, "password": "t1meMa$heen",
                               "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
                               ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations"},
                               "meta": {"resourceType": "User"}, "id": "client-chosen"})
    assert resp.status_code == 201
    user = resp.json()
    assert user["id"] != "client-chosen"  # id is readOnly: the server assigns it
    assert resp.headers["Location"] == f"{lms.base}/Users/{user['id']}" == user["meta"]["location"]
    assert resp.headers["ETag"] == user["meta"]["version"]
    assert user["meta"]["resourceType"] == "User"
    assert user["meta"]["created"] == user["meta"]["lastModified"] == "2026-01-15T09:00:00Z"
    assert "password" not in user  # returned: never
    assert user[ENTERPRISE] == {"employeeNumber": "701984", "department": "Tour Operations"}
    assert user["schemas"] == [USER, ENTERPRISE]
    assert lms.fetch("Users", user["id"]) == user


def test_create_group_with_members_and_user_shows_its_groups(lms):
    alice = lms.user("alice")
    bob = lms.user("bob")
    group = lms.group("Sales", members=[alice["id"], bob["id"]])
    assert [m["value"] for m in group["members"]] == [alice["id"], bob["id"]]
    empty = lms.group("Empty")
    assert empty["members"] == []
    user = lms.fetch("Users", alice["id"])
    assert user["groups"] == [{"value": group["id"], "$ref": f"{lms.base}/Groups/{group['id']}", "display": "Sales",
                               "type": "direct"}]


def test_username_is_unique_case_insensitively_with_409(lms):
    lms.user("bjensen@example.com")
    before = lms.state()
    resp = lms.post("/Users", {"schemas": [USER], "userName": "BJensen@Example.com"})
    assert_error(resp, 409, "uniqueness", detail="BJensen@Example.com")
    assert lms.state() == before


def test_rfc_groups_may_share_a_display_name(lms):
    lms.group("Dup")
    lms.group("Dup")
    assert lms.get("/Groups", params={"filter": 'displayName eq "dup"'}).json()["totalResults"] == 2


def test_missing_required_attribute_and_unknown_attribute_are_invalid_value(lms):
    assert_error(lms.post("/Users", {"schemas": [USER], "name": {"givenName": "x"}}), 400, "invalidValue", "userName")
    assert_error(lms.post("/Groups", {"schemas": [GROUP]}), 400, "invalidValue", "displayName")
    assert_error(lms.post("/Users", {"schemas": [USER], "userName": "x", "favouriteColour": "blue"}),
                 400, "invalidValue", "favouriteColour")
    assert_error(lms.post("/Users", {"userName": "x"}), 400, "invalidValue", "schemas")
    assert_error(lms.post("/Users", {"schemas": [GROUP], "userName": "x"}), 400, "invalidValue", GROUP)
    assert lms.store.count("User") == 0


def test_wrong_types_are_invalid_value_naming_the_attribute(lms):
    cases = [
        ({"active": "yes"}, "active"),
        ({"emails": {"value": "a@b.c"}}, "emails"),
        ({"name": "Barbara Jensen"}, "name"),
        ({"emails": [{"value": "a@b.c", "primary": True}, {"value": "d@e.f", "primary": True}]}, "primary"),
        ({"x509Certificates": [{"value": "not base64!"}]}, "x509Certificates"),
        ({ENTERPRISE: {"manager": "271"}}, "manager"),
        ({"emails": [{"value": "a@b.c", "kind": "work"}]}, "kind"),
    ]
    for attributes, named in cases:
        body = {"schemas": [USER, ENTERPRISE], "userName": "typed", **attributes}
        assert_error(lms.post("/Users", body), 400, "invalidValue", named)
    assert lms.store.count("User") == 0


def test_malformed_empty_and_non_object_bodies(lms):
    resp = lms.session.post(lms.base + "/Users", data='{"schemas": [', headers={"Content-Type": "application/scim+json"})
    assert_error(resp, 400, "invalidSyntax", "not valid JSON")
    resp = lms.session.post(lms.base + "/Users", data="", headers={"Content-Type": "application/scim+json"})
    assert_error(resp, 400, "invalidSyntax", "no body")
    assert_error(lms.post("/Users", ["not", "an", "object"]), 400, "invalidSyntax", "JSON object")


def test_oversized_body_is_413(lms):
    big = {"schemas": [USER], "userName": "big", "nickName": "x" * (1 << 20)}
    assert_error(lms.post("/Users", big), 413)
    assert lms.store.count("User") == 0


def test_get_unknown_resource_is_404(lms):
    assert_error(lms.get("/Users/does-not-exist"), 404, detail="does-not-exist")
    assert_error(lms.get("/Groups/does-not-exist"), 404)


def test_put_replaces_read_write_attributes_and_keeps_read_only_ones(lms):
    user = lms.user("put@example.com", nickName="Babs", title="Tour Guide", externalId="e1")
    resp = lms.put(f"/Users/{user['id']}", {"schemas": [USER], "userName": "put@example.com", "nickName": "Barb",
                                            "id": "ignored", "meta": {"created": "1999-01-01T00:00:00Z"}})
    assert resp.status_code == 200
    replaced = resp.json()
    assert replaced["id"] == user["id"]
    assert replaced["nickName"] == "Barb"
    assert "title" not in replaced and "externalId" not in replaced  # not given: unassigned (RFC 7644 §3.5.1)
    assert replaced["meta"]["created"] == user["meta"]["created"]
    assert replaced["meta"]["version"] != user["meta"]["version"]


def test_put_group_replaces_members(lms):
    a, b, c = lms.user("a"), lms.user("b"), lms.user("c")
    group = lms.group("G", members=[a["id"], b["id"]])
    resp = lms.put(f"/Groups/{group['id']}", {"schemas": [GROUP], "displayName": "G2",
                                              "members": [{"value": c["id"]}]})
    assert resp.status_code == 200
    assert [m["value"] for m in resp.json()["members"]] == [c["id"]]
    assert "groups" not in lms.fetch("Users", a["id"])
    assert lms.fetch("Users", c["id"])["groups"][0]["display"] == "G2"


def test_put_uniqueness_conflict_changes_nothing(lms):
    lms.user("taken")
    user = lms.user("mine")
    before = lms.state()
    assert_error(lms.put(f"/Users/{user['id']}", {"schemas": [USER], "userName": "TAKEN"}), 409, "uniqueness")
    assert lms.state() == before


def test_delete_user_removes_it_and_its_memberships(lms):
    user = lms.user("leaver")
    stay = lms.user("stayer")
    group = lms.group("Team", members=[user["id"], stay["id"]])
    resp = lms.delete(f"/Users/{user['id']}")
    assert resp.status_code == 204 and resp.content == b""
    assert_error(lms.get(f"/Users/{user['id']}"), 404)
    assert_error(lms.delete(f"/Users/{user['id']}"), 404)
    after = lms.fetch("Groups", group["id"])
    assert [m["value"] for m in after["members"]] == [stay["id"]]
    assert after["meta"]["version"] != group["meta"]["version"]


def test_delete_group_ends_memberships(lms):
    user = lms.user("member")
    group = lms.group("Gone", members=[user["id"]])
    assert lms.delete(f"/Groups/{group['id']}").status_code == 204
    assert "groups" not in lms.fetch("Users", user["id"])


def test_unknown_member_reference_is_invalid_value(lms):
    resp = lms.post("/Groups", {"schemas": [GROUP], "displayName": "G", "members": [{"value": "nobody"}]})
    assert_error(resp, 400, "invalidValue", "nobody")
    assert lms.store.count("Group") == 0


def test_attributes_and_excluded_attributes_honour_returned(lms):
    user = lms.user("proj@example.com", name={"givenName": "Pro", "familyName": "Jection"}, title="T",
                    **{ENTERPRISE: {"department": "D", "costCenter": "C"}})
    only = lms.get(f"/Users/{user['id']}", params={"attributes": "userName,name.givenName"}).json()
    assert only == {"schemas": [USER, ENTERPRISE], "id": user["id"], "userName": "proj@example.com",
                    "name": {"givenName": "Pro"}}
    urn = lms.get(f"/Users/{user['id']}", params={"attributes": f"{ENTERPRISE}:department"}).json()
    assert urn[ENTERPRISE] == {"department": "D"} and "userName" not in urn
    whole = lms.get(f"/Users/{user['id']}", params={"attributes": ENTERPRISE}).json()
    assert whole[ENTERPRISE] == {"department": "D", "costCenter": "C"}
    without = lms.get(f"/Users/{user['id']}", params={"excludedAttributes": "title,name.familyName,id"}).json()
    assert "title" not in without and without["name"] == {"givenName": "Pro"}
    assert without["id"] == user["id"]  # returned: always
    assert_error(lms.get(f"/Users/{user['id']}", params={"attributes": "shoeSize"}), 400, "invalidValue", "shoeSize")
    assert_error(lms.get(f"/Users/{user['id']}", params={"attributes": "title", "excludedAttributes": "nickName"}),
                 400, "invalidValue", "mutually exclusive")


def test_excluded_members_on_group_reads(lms):
    user = lms.user("m")
    group = lms.group("Big", members=[user["id"]])
    got = lms.get(f"/Groups/{group['id']}", params={"excludedAttributes": "members"}).json()
    assert "members" not in got and got["displayName"] == "Big"
    listed = lms.get("/Groups", params={"excludedAttributes": "members", "filter": 'displayName eq "big"'}).json()
    assert listed["totalResults"] == 1 and "members" not in listed["Resources"][0]


def test_list_without_filter_returns_everything_in_creation_order(lms):
    ids = [lms.user(f"user{i}")["id"] for i in range(3)]
    listing = lms.get("/Users").json()
    assert listing["totalResults"] == 3 and listing["itemsPerPage"] == 3 and listing["startIndex"] == 1
    assert [r["id"] for r in listing["Resources"]] == ids
