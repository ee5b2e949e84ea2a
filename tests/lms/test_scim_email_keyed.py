"""The email-keyed profile (the 360Learning behaviour): one test per rule."""

from __future__ import annotations

import pytest

from .conftest import GROUP, USER, assert_error

CUSTOM = "urn:ietf:params:scim:schemas:extension:360learning:2.0:User"


@pytest.fixture
def keyed(lms_server):
    return lms_server("email-keyed")


def learner(email: str = "ann@example.com", **extra):
    return {"schemas": [USER], "userName": email, "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": email, "type": "work", "primary": True}], **extra}


def test_new_user_defaults_to_english(keyed):
    resp = keyed.post("/Users", learner())
    assert resp.status_code == 201
    assert resp.json()["preferredLanguage"] == "en"
    assert keyed.post("/Users", learner("fr@example.com", preferredLanguage="fr")).json()["preferredLanguage"] == "fr"


def test_display_name_is_a_forbidden_key(keyed):
    body = assert_error(keyed.post("/Users", learner(displayName="Ann Lee")), 400, "invalidValue")
    assert body["detail"] == "Invalid or forbidden key found: displayName"
    user = keyed.post("/Users", learner()).json()
    before = keyed.state()
    assert_error(keyed.patch(f"/Users/{user['id']}", {"op": "Replace", "path": "displayName", "value": "Pvlo"}),
                 400, "invalidValue", "Invalid or forbidden key found: displayName")
    assert_error(keyed.patch(f"/Users/{user['id']}", {"op": "replace", "value": {"displayName": "Bjfe"}}),
                 400, "invalidValue", "Invalid or forbidden key found: displayName")
    assert_error(keyed.put(f"/Users/{user['id']}", learner(displayName="Ann")), 400, "invalidValue",
                 "Invalid or forbidden key found: displayName")
    assert keyed.state() == before


@pytest.mark.parametrize("name, missing", [({"familyName": "Lee"}, "name.givenName"),
                                           ({"givenName": "Ann"}, "name.familyName"),
                                           (None, "name.givenName")])
def test_given_and_family_names_are_required(keyed, name, missing):
    body = learner()
    if name is None:
        del body["name"]
    else:
        body["name"] = name
    assert_error(keyed.post("/Users", body), 400, "invalidValue", missing)
    assert keyed.store.count("User") == 0


def test_removing_a_required_name_is_refused(keyed):
    user = keyed.post("/Users", learner()).json()
    assert_error(keyed.patch(f"/Users/{user['id']}", {"op": "remove", "path": "name.familyName"}),
                 400, "invalidValue", "name.familyName")


@pytest.mark.parametrize("language", ["english", "en-US", "e", "12"])
def test_preferred_language_must_be_two_letters(keyed, language):
    assert_error(keyed.post("/Users", learner(preferredLanguage=language)), 400, "invalidValue", "two-letter")


def test_custom_fields_have_declared_types(keyed):
    schemas = [s["id"] for s in keyed.get("/Schemas").json()["Resources"]]
    assert CUSTOM in schemas
    good = learner(**{CUSTOM: {"hireDate": "2024-03-01T00:00:00Z", "seniorityYears": 3, "isManager": False,
                               "site": "Lyon", "weeklyHours": 37.5}})
    good["schemas"] = [USER, CUSTOM]
    user = keyed.post("/Users", good).json()
    assert user[CUSTOM] == {"hireDate": "2024-03-01T00:00:00Z", "seniorityYears": 3, "isManager": False,
                            "site": "Lyon", "weeklyHours": 37.5}
    for field, wrong in [("seniorityYears", "three"), ("hireDate", "last spring"), ("isManager", 1),
                         ("weeklyHours", "full"), ("site", 12), ("favouriteCourse", "SQL")]:
        body = learner(f"{field}@example.com", **{CUSTOM: {field: wrong}})
        body["schemas"] = [USER, CUSTOM]
        assert_error(keyed.post("/Users", body), 400, "invalidValue", field)
    resp = keyed.patch(f"/Users/{user['id']}", {"op": "replace", "path": f"{CUSTOM}:seniorityYears", "value": 4})
    assert resp.status_code == 200 and resp.json()[CUSTOM]["seniorityYears"] == 4
    assert_error(keyed.patch(f"/Users/{user['id']}", {"op": "replace", "path": f"{CUSTOM}:seniorityYears", "value": "4"}),
                 400, "invalidValue", "integer")


def test_a_work_email_is_required_and_unique(keyed):
    body = learner()
    body["emails"] = []
    assert_error(keyed.post("/Users", body), 400, "invalidValue", "work email")
    keyed.post("/Users", learner("ann@example.com"))
    assert_error(keyed.post("/Users", learner("ANN@example.com") | {"userName": "ann2"}), 409, "uniqueness", "already exists")


def test_changed_email_arrives_as_a_new_account_and_the_old_one_stays(keyed):
    old = keyed.post("/Users", learner("ann@example.com")).json()
    resp = keyed.patch(f"/Users/{old['id']}", {"op": "Replace", "path": 'emails[type eq "work"].value',
                                               "value": "ann.lee@example.com"},
                       {"op": "Replace", "path": "userName", "value": "ann.lee@example.com"})
    assert resp.status_code == 201
    new = resp.json()
    assert new["id"] != old["id"]
    assert resp.headers["Location"] == f"{keyed.base}/Users/{new['id']}"
    assert new["emails"][0]["value"] == "ann.lee@example.com"
    assert keyed.fetch("Users", old["id"]) == old  # the old account is left behind, unchanged
    emails = sorted(u["emails"][0]["value"] for u in keyed.get("/Users").json()["Resources"])
    assert emails == ["ann.lee@example.com", "ann@example.com"]


def test_an_update_that_keeps_the_email_updates_in_place(keyed):
    user = keyed.post("/Users", learner()).json()
    resp = keyed.patch(f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "Coach"})
    assert resp.status_code == 200 and resp.json()["id"] == user["id"] and resp.json()["title"] == "Coach"


def test_groups_are_matched_by_display_name(keyed):
    first = keyed.post("/Groups", {"schemas": [GROUP], "displayName": "Sales Team"})
    assert first.status_code == 201
    again = keyed.post("/Groups", {"schemas": [GROUP], "displayName": "sales team", "externalId": "entra-1"})
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    other = keyed.post("/Groups", {"schemas": [GROUP], "displayName": "Sales"})  # the same team under Entra's name
    assert other.json()["id"] != first.json()["id"]
    assert keyed.get("/Groups").json()["totalResults"] == 2  # the first sync duplicated the group
