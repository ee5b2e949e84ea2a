"""Edge cases of the SCIM LMS's shortcuts: the filter read without the parser, index answers, remembered
projections and PATCH paths, the string shortcut of validation, re-indexing only what changed.

Each shortcut must answer exactly as the general path does, so these tests state what a client sees for
the inputs where a shortcut could plausibly go wrong (case rules, spacing, escapes, errors, updates).
"""

from __future__ import annotations

import uuid

import pytest

from .conftest import ENTERPRISE, GROUP, USER, assert_error


def user_names(server, filter_text, endpoint="/Users", **params):
    resp = server.get(endpoint, params={"filter": filter_text, **params})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["totalResults"] == len(body["Resources"])
    return sorted(r.get("userName") or r.get("displayName") for r in body["Resources"])


@pytest.fixture
def people(lms):
    ids = {}
    for user_name, extra in [
        ("Alice@Example.com", {"externalId": "EXT-1", "displayName": "Alice Archer",
                               "emails": [{"value": "Alice.Work@Example.com", "type": "work"}]}),
        ("bob@example.com", {"externalId": "ext-2", "displayName": "Bob Baker"}),
        ('quote"d\\name@example.com', {}),
        ("émile@example.com", {}),
    ]:
        ids[user_name] = lms.user(user_name, **extra)["id"]
    return ids


# ---------------------------------------------------------------- attr eq "literal": case rules of each attribute


@pytest.mark.parametrize("filter_text, expected", [
    ('userName eq "alice@example.com"', ["Alice@Example.com"]),      # caseExact false: case-folded
    ('userName eq "ALICE@EXAMPLE.COM"', ["Alice@Example.com"]),
    ('externalId eq "EXT-1"', ["Alice@Example.com"]),                # caseExact true: exact
    ('externalId eq "ext-1"', []),
    ('externalId eq "EXT-2"', []),
    ('displayName eq "BOB BAKER"', ["bob@example.com"]),
    ('emails.value eq "alice.work@example.com"', ["Alice@Example.com"]),
    ('USERNAME EQ "bob@example.com"', ["bob@example.com"]),          # names and operators: any case
    ('userName Eq "nobody@example.com"', []),
])
def test_equality_filters_follow_each_attributes_case_rule(lms, people, filter_text, expected):
    assert user_names(lms, filter_text) == expected


def test_id_equality_is_case_exact(lms, people):
    rid = people["bob@example.com"]
    assert user_names(lms, f'id eq "{rid}"') == ["bob@example.com"]
    assert user_names(lms, f'id eq "{rid.upper()}"') == []


@pytest.mark.parametrize("filter_text", [
    'userName eq "bob@example.com"',
    '   userName eq "bob@example.com"   ',
    'userName  eq  "bob@example.com"',
    'userName\teq\t"bob@example.com"',
    'userName eq"bob@example.com"',
    '(userName eq "bob@example.com")',
    'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob@example.com"',
])
def test_spacing_grouping_and_urn_forms_find_the_same_user(lms, people, filter_text):
    assert user_names(lms, filter_text) == ["bob@example.com"]


def test_escaped_and_non_ascii_literals_match_the_stored_value(lms, people):
    assert user_names(lms, 'userName eq "quote\\"d\\\\name@example.com"') == ['quote"d\\name@example.com']
    assert user_names(lms, 'userName eq "\\u00e9mile@example.com"') == ["émile@example.com"]
    assert user_names(lms, 'userName eq "ÉMILE@example.com"') == ["émile@example.com"]


def test_a_second_filter_is_not_answered_from_the_first(lms, people):
    """Nothing about one literal is remembered for the next: same shape, different values."""
    assert user_names(lms, 'userName eq "alice@example.com"') == ["Alice@Example.com"]
    assert user_names(lms, 'userName eq "bob@example.com"') == ["bob@example.com"]
    assert user_names(lms, 'userName ne "alice@example.com"') == sorted(
        ["bob@example.com", 'quote"d\\name@example.com', "émile@example.com"])


@pytest.mark.parametrize("filter_text, scim_type, status, detail", [
    ('not eq "x"', "invalidFilter", 400, "'(' after 'not'"),
    ('and eq "x"', "invalidFilter", 400, "an attribute path"),
    ('userName pr "x"', "invalidFilter", 400, "the end of the filter"),
    ('userName xx "x"', "invalidFilter", 400, "'xx'"),
    ('nickname.first.second eq "x"', "invalidFilter", 400, "more than one sub-attribute"),
    ('foo eq "x"', "invalidFilter", 400, "'foo' is not an attribute"),
    ('userName eq "tab\there"', "invalidFilter", 400, "escapes must follow JSON"),
    ('userName eq "open', "invalidFilter", 400, "unterminated string"),
    ('password eq "x"', "sensitive", 400, "/.search"),
])
def test_malformed_one_comparison_filters_are_refused_as_before(lms, people, filter_text, scim_type, status, detail):
    assert_error(lms.get("/Users", params={"filter": filter_text}), status, scim_type, detail)


def test_group_matching_query_without_members_is_case_insensitive(lms, people):
    lms.group("Learners", members=[people["bob@example.com"]])
    resp = lms.get("/Groups", params={"excludedAttributes": "members", "filter": 'displayName eq "LEARNERS"'})
    assert resp.status_code == 200, resp.text
    [group] = resp.json()["Resources"]
    assert group["displayName"] == "Learners" and "members" not in group
    # the same query with members: the projection of the previous request is not reused
    [group] = lms.get("/Groups", params={"filter": 'displayName eq "learners"'}).json()["Resources"]
    assert group["members"] == [{"value": people["bob@example.com"]}]


def test_root_search_answers_each_type_by_its_own_attributes(lms, people):
    lms.group("bob@example.com")
    resp = lms.get("/", params={"filter": 'userName eq "bob@example.com"'})
    assert resp.status_code == 200, resp.text
    assert [r["schemas"][0] for r in resp.json()["Resources"]] == [USER]
    resp = lms.get("/", params={"filter": 'displayName eq "BOB@EXAMPLE.COM"'})
    assert [r["schemas"][0] for r in resp.json()["Resources"]] == [GROUP]


# ---------------------------------------------------------------- indexes after updates


def test_filters_follow_renames_and_untouched_attributes_stay_found(lms, people):
    rid = people["Alice@Example.com"]
    assert lms.patch(f"/Users/{rid}", {"op": "replace", "path": "title", "value": "Lead"}).status_code == 200
    assert user_names(lms, 'userName eq "alice@example.com"') == ["Alice@Example.com"]
    assert user_names(lms, 'emails.value eq "alice.work@example.com"') == ["Alice@Example.com"]
    assert lms.patch(f"/Users/{rid}", {"op": "replace", "path": "userName", "value": "alice.new@example.com"},
                     {"op": "replace", "path": "emails", "value": [{"value": "a@new.example", "type": "work"}]}
                     ).status_code == 200
    assert user_names(lms, 'userName eq "alice@example.com"') == []
    assert user_names(lms, 'userName eq "ALICE.NEW@example.com"') == ["alice.new@example.com"]
    assert user_names(lms, 'emails.value eq "alice.work@example.com"') == []
    assert user_names(lms, 'emails.value eq "A@NEW.EXAMPLE"') == ["alice.new@example.com"]


def test_membership_patches_keep_the_group_findable_by_name(tolerant):
    user = tolerant.user("kim@example.com")
    group = tolerant.group("Cohort 7")
    resp = tolerant.patch(f"/Groups/{group['id']}", {"op": "Add", "path": "members", "value": [{"value": user["id"]}]})
    assert resp.status_code == 204, resp.text
    found = tolerant.get("/Groups", params={"excludedAttributes": "members", "filter": 'displayName eq "cohort 7"'})
    assert [g["id"] for g in found.json()["Resources"]] == [group["id"]]
    assert tolerant.fetch("Users", user["id"])["groups"][0]["value"] == group["id"]


def test_a_rename_to_a_taken_name_is_refused_and_changes_nothing(tolerant):
    first = tolerant.group("Cohort A")
    tolerant.group("Cohort B")
    before = tolerant.state()
    resp = tolerant.patch(f"/Groups/{first['id']}", {"op": "Replace", "path": "displayName", "value": "cohort b"})
    assert_error(resp, 409, "uniqueness")
    assert tolerant.state() == before
    assert user_names(tolerant, 'displayName eq "Cohort A"', endpoint="/Groups") == ["Cohort A"]


# ---------------------------------------------------------------- remembered PATCH paths and engines


def test_a_path_valid_on_groups_is_still_refused_on_users(tolerant):
    user = tolerant.user("lee@example.com")
    group = tolerant.group("Cohort 8")
    assert tolerant.patch(f"/Groups/{group['id']}",
                          {"op": "Add", "path": "members", "value": [{"value": user["id"]}]}).status_code == 204
    assert_error(tolerant.patch(f"/Users/{user['id']}", {"op": "Add", "path": "members", "value": [{"value": "x"}]}),
                 400, "invalidPath", "'members' is not an attribute of User")


def test_a_failing_operation_after_a_member_add_leaves_the_group_as_it_was(tolerant):
    user = tolerant.user("max@example.com")
    group = tolerant.group("Cohort 9")
    before = tolerant.state()
    resp = tolerant.patch(f"/Groups/{group['id']}",
                          {"op": "Add", "path": "members", "value": [{"value": user["id"]}]},
                          {"op": "Add", "path": "members", "value": [{"value": "no-such-id"}]})
    assert_error(resp, 400, "invalidValue", "no-such-id")
    assert tolerant.state() == before
    assert tolerant.fetch("Groups", group["id"])["members"] == []


def test_manager_patch_then_a_bad_manager_patch(tolerant):
    boss = tolerant.user("boss@example.com")
    worker = tolerant.user("worker@example.com")
    resp = tolerant.patch(f"/Users/{worker['id']}", {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": boss["id"]})
    assert resp.status_code == 200, resp.text
    assert resp.json()[ENTERPRISE]["manager"] == {"value": boss["id"]}
    assert_error(tolerant.patch(f"/Users/{worker['id']}", {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": 5}),
                 400, "invalidValue")
    assert tolerant.fetch("Users", worker["id"])[ENTERPRISE]["manager"] == {"value": boss["id"]}


# ---------------------------------------------------------------- reading bodies


def test_keys_in_any_case_are_stored_under_canonical_names(lms):
    resp = lms.post("/Users", {"SCHEMAS": [USER.upper()], "USERNAME": "case@example.com", "displayname": "Case",
                               "Name": {"GIVENNAME": "Casey"}, ENTERPRISE.upper(): {"EMPLOYEENUMBER": "7"}})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["userName"] == "case@example.com" and body["displayName"] == "Case"
    assert body["name"] == {"givenName": "Casey"}
    assert body[ENTERPRISE] == {"employeeNumber": "7"}
    assert body["schemas"] == [USER, ENTERPRISE]


@pytest.mark.parametrize("extra, detail", [
    ({"title": 5}, "'title' must be a JSON string"),
    ({"title": ["Lead"]}, "'title' must be a single string"),
    ({"name": {"givenName": 5}}, "'name.givenName' must be a JSON string"),
    ({"emails": [{"value": True}]}, "'emails[0].value' must be a JSON string"),
    ({"profileUrl": {"href": "x"}}, "'profileUrl' must be a single reference"),
])
def test_non_strings_for_string_attributes_are_still_refused(lms, extra, detail):
    before = lms.state()
    assert_error(lms.post("/Users", {"schemas": [USER], "userName": "typed@example.com", **extra}), 400,
                 "invalidValue", detail)
    assert lms.state() == before


def test_read_only_attributes_in_a_body_are_ignored(lms):
    resp = lms.post("/Users", {"schemas": [USER], "userName": "ro@example.com", "id": "mine", "groups": "x",
                               "meta": {"version": "W/\"99\""}})
    assert resp.status_code == 201, resp.text
    assert resp.json()["id"] != "mine" and "groups" not in resp.json()


def test_ids_are_seeded_version_4_uuids(lms_server):
    first = lms_server("rfc").user("a@example.com")["id"]
    again = lms_server("rfc").user("b@example.com")["id"]
    assert first == again  # same seed, same first id
    parsed = uuid.UUID(first)
    assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == first
