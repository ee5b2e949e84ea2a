"""Filters (RFC 7644 §3.4.2.2), sorting, paging, POST /.search and root searches."""

from __future__ import annotations

import pytest

from .conftest import ENTERPRISE, USER, assert_error


@pytest.fixture
def people(lms):
    """Three users with varied attributes; returns {userName: id}."""
    created = {}
    for user_name, extra in [
        ("alice@example.com", {"name": {"givenName": "Alice", "familyName": "Archer"}, "title": "Engineer",
                               "active": True, "externalId": "EXT-1",
                               "emails": [{"value": "alice@example.com", "type": "work", "primary": True},
                                          {"value": "alice@home.example", "type": "home"}],
                               ENTERPRISE: {"employeeNumber": "100", "department": "R&D"}}),
        ("bob@example.com", {"name": {"givenName": "Bob", "familyName": "Baker"}, "title": "Manager",
                             "active": False, "externalId": "ext-2",
                             "emails": [{"value": "bob@example.com", "type": "home"}],
                             ENTERPRISE: {"employeeNumber": "200", "department": "Sales"}}),
        ("carol@example.org", {"name": {"givenName": "Carol"}, "active": True,
                               "emails": [{"value": "carol@work.example", "type": "work"}]}),
    ]:
        lms.clock.advance(60)
        created[user_name] = lms.user(user_name, **extra)["id"]
    return created


def names(lms, filter_text, **params):
    resp = lms.get("/Users", params={"filter": filter_text, **params})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["totalResults"] == len(body["Resources"]) or "count" in params or "startIndex" in params
    return [r["userName"] for r in body["Resources"]]


@pytest.mark.parametrize("filter_text, expected", [
    ('userName eq "ALICE@example.com"', ["alice@example.com"]),          # caseExact false
    ('userName ne "alice@example.com"', ["bob@example.com", "carol@example.org"]),
    ('userName co "EXAMPLE.COM"', ["alice@example.com", "bob@example.com"]),
    ('userName sw "b"', ["bob@example.com"]),
    ('userName ew ".org"', ["carol@example.org"]),
    ('userName gt "bob@example.com"', ["carol@example.org"]),
    ('userName ge "bob@example.com"', ["bob@example.com", "carol@example.org"]),
    ('userName lt "bob@example.com"', ["alice@example.com"]),
    ('userName le "bob@example.com"', ["alice@example.com", "bob@example.com"]),
    ("title pr", ["alice@example.com", "bob@example.com"]),
    ("not (title pr)", ["carol@example.org"]),
    ('externalId eq "EXT-1"', ["alice@example.com"]),
    ('externalId eq "ext-1"', []),                                         # caseExact true
    ("active eq true", ["alice@example.com", "carol@example.org"]),
    ("active ne true", ["bob@example.com"]),
    ('name.familyName sw "B"', ["bob@example.com"]),
    ('emails.value eq "ALICE@HOME.EXAMPLE"', ["alice@example.com"]),
    ('emails[type eq "work"]', ["alice@example.com", "carol@example.org"]),
    ('emails[type eq "work" and value co "example.com"]', ["alice@example.com"]),
    ('emails[type eq "work" and primary eq true]', ["alice@example.com"]),
    ('emails[not (type eq "work")]', ["alice@example.com", "bob@example.com"]),
    (f'{ENTERPRISE}:department eq "sales"', ["bob@example.com"]),
    (f'{ENTERPRISE}:employeeNumber gt "150"', ["bob@example.com"]),
    (f'{USER}:userName sw "carol"', ["carol@example.org"]),
    ('title eq "Engineer" or title eq "Manager" and active eq true', ["alice@example.com"]),  # and binds tighter
    ('(title eq "Engineer" or title eq "Manager") and active eq true', ["alice@example.com"]),
    ('(title eq "Engineer" or title eq "Manager") and active eq false', ["bob@example.com"]),
    ('meta.lastModified gt "2026-01-15T09:01:30Z"', ["bob@example.com", "carol@example.org"]),
    ('meta.created le "2026-01-15T09:01:00Z"', ["alice@example.com"]),
    ('meta.resourceType eq "User" and userName eq "bob@example.com"', ["bob@example.com"]),
    (f'schemas eq "{ENTERPRISE}"', ["alice@example.com", "bob@example.com"]),
    ("title eq null", ["carol@example.org"]),
    ("NAME.GIVENNAME EQ \"bob\"", ["bob@example.com"]),                  # names and operators are case-insensitive
])
def test_filter_operators(lms, people, filter_text, expected):
    assert names(lms, filter_text) == expected


def test_filter_by_id_and_group_membership(lms, people):
    alice = people["alice@example.com"]
    group = lms.group("Pilots", members=[alice])
    assert names(lms, f'id eq "{alice}"') == ["alice@example.com"]
    assert names(lms, f'groups.value eq "{group["id"]}"') == ["alice@example.com"]
    groups = lms.get("/Groups", params={"filter": f'members.value eq "{alice}"'}).json()
    assert [g["displayName"] for g in groups["Resources"]] == ["Pilots"]
    groups = lms.get("/Groups", params={"filter": f'members[value eq "{alice}"]'}).json()
    assert groups["totalResults"] == 1


def test_filter_string_with_escaped_quote(lms):
    lms.user('quote"d')
    assert names(lms, r'userName eq "quote\"d"') == ['quote"d']


@pytest.mark.parametrize("filter_text, detail", [
    ("userName eq", "expected a value after 'eq'"),
    ('userName eq "a" and', "expected an attribute path"),
    ('userName regex "a"', "the operator 'regex' at position 9 is not supported"),
    ('userName eq "a" userName eq "b"', "expected 'and', 'or' or the end of the filter at position 16"),
    ("userName eq jyoung", "expected a value after 'eq'"),
    ('(userName eq "a"', "expected ')'"),
    ('not userName eq "a"', "'(' after 'not'"),
    ('userName eq "unterminated', "unterminated string"),
    ('shoeSize eq "42"', "'shoeSize' is not an attribute of User"),
    ('name.nickname eq "x"', "has no sub-attribute 'nickname'"),
    ("active gt true", "'gt' cannot compare the boolean 'active'"),
    ('active eq "true"', "expected true or false"),
    ("userName eq 42", "expected a quoted string"),
    ('meta.created gt "yesterday"', "is not an xsd:dateTime"),
    ('emails[type eq "work"].value eq "x"', "write it inside the brackets"),
    ('emails[shoe eq "x"]', "'shoe' is not a sub-attribute of 'emails'"),
    ('name eq "x"', "'name' is complex"),
    ("", "the filter is empty"),
    ('userName eq "a" & x', "unexpected character '&'"),
])
def test_invalid_filters_say_what_was_expected(lms, people, filter_text, detail):
    assert_error(lms.get("/Users", params={"filter": filter_text}), 400, "invalidFilter", detail)


def test_sorting_by_attribute_type_and_case(lms, people):
    assert names(lms, "userName pr", sortBy="name.givenName") == ["alice@example.com", "bob@example.com",
                                                                    "carol@example.org"]
    assert names(lms, "userName pr", sortBy="title", sortOrder="descending") == [
        "carol@example.org", "bob@example.com", "alice@example.com"]  # missing values first when descending
    assert names(lms, "userName pr", sortBy="title") == ["alice@example.com", "bob@example.com", "carol@example.org"]
    assert names(lms, "userName pr", sortBy="emails") == [  # primary value, else first value (RFC 7644 §3.4.2.3)
        "alice@example.com", "bob@example.com", "carol@example.org"]
    assert names(lms, "userName pr", sortBy="meta.created", sortOrder="descending") == [
        "carol@example.org", "bob@example.com", "alice@example.com"]
    assert_error(lms.get("/Users", params={"sortBy": "shoeSize"}), 400, "invalidValue", "shoeSize")
    assert_error(lms.get("/Users", params={"sortBy": "userName", "sortOrder": "sideways"}), 400, "invalidValue")


def test_paging_with_start_index_and_count(lms):
    for i in range(5):
        lms.user(f"page{i}")
    page = lms.get("/Users", params={"startIndex": 2, "count": 2, "sortBy": "userName"}).json()
    assert page["totalResults"] == 5 and page["startIndex"] == 2 and page["itemsPerPage"] == 2
    assert [r["userName"] for r in page["Resources"]] == ["page1", "page2"]
    zero = lms.get("/Users", params={"count": 0}).json()
    assert zero["totalResults"] == 5 and zero["Resources"] == [] and zero["itemsPerPage"] == 0
    negative = lms.get("/Users", params={"count": -3, "startIndex": -1}).json()
    assert negative["itemsPerPage"] == 0 and negative["startIndex"] == 1
    past = lms.get("/Users", params={"startIndex": 99}).json()
    assert past["totalResults"] == 5 and past["Resources"] == []
    assert_error(lms.get("/Users", params={"count": "ten"}), 400, "invalidValue", "count")


def test_page_size_is_capped_at_max_results(lms_server):
    from simulator.lms.scim.profiles import load_profile
    profile = load_profile("rfc")
    profile.limits.max_results = 2
    server = lms_server(profile)
    for i in range(3):
        server.user(f"cap{i}")
    page = server.get("/Users", params={"count": 50}).json()
    assert page["totalResults"] == 3 and page["itemsPerPage"] == 2


def test_too_many_results_is_refused_with_too_many(lms_server):
    from simulator.lms.scim.profiles import load_profile
    profile = load_profile("rfc")
    profile.limits.too_many_results = 2
    server = lms_server(profile)
    for i in range(3):
        server.user(f"many{i}")
    assert_error(server.get("/Users", params={"filter": "userName pr"}), 400, "tooMany", "3")
    assert server.get("/Users", params={"filter": 'userName eq "many1"'}).json()["totalResults"] == 1


def test_post_search_matches_get(lms, people):
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": 'title pr',
            "sortBy": "userName", "sortOrder": "descending", "attributes": ["userName"], "startIndex": 1, "count": 10}
    resp = lms.post("/Users/.search", body)
    assert resp.status_code == 200
    result = resp.json()
    assert [r["userName"] for r in result["Resources"]] == ["bob@example.com", "alice@example.com"]
    assert set(result["Resources"][0]) == {"schemas", "id", "userName"}
    assert_error(lms.post("/Users/.search", {"filter": "title pr"}), 400, "invalidSyntax", "SearchRequest")
    assert_error(lms.post("/Users/.search", {"schemas": body["schemas"], "filtre": "x"}), 400, "invalidSyntax", "filtre")


def test_root_search_spans_users_and_groups(lms, people):
    lms.group("Alpha Team")
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName sw "alice" or displayName sw "alpha"'}
    found = lms.post("/.search", body).json()
    assert sorted(r["meta"]["resourceType"] for r in found["Resources"]) == ["Group", "User"]
    by_get = lms.get("/", params={"filter": 'displayName eq "alpha team"'}).json()
    assert by_get["totalResults"] == 1 and by_get["Resources"][0]["displayName"] == "Alpha Team"
    assert_error(lms.post("/.search", {"schemas": body["schemas"], "filter": 'shoe eq "x"'}), 400, "invalidFilter")


def test_filtering_on_the_password_is_refused(lms):
    lms.user("secretive", password="hunter2-secret")
    assert_error(lms.get("/Users", params={"filter": 'password eq "hunter2-secret"'}), 400, "sensitive", "/.search")
    assert_error(lms.post("/Users/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                             "filter": 'userName pr and password pr'}), 400, "invalidFilter", "password")
