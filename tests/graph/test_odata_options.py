"""``$select``, ``$orderby``, ``$search``, ``$expand`` and ``$count`` on /users and /groups over HTTP.

A small directory is built by hand so that search tokens, sort orders and
manager chains are known; expectations are computed from the tenant model in
the test, never from the server's query code.
"""

from __future__ import annotations

import pytest
import requests

from simulator.clock import Clock
from simulator.graph.app import create_app
from simulator.serving import start_in_thread
from simulator.tenant import Tenant

ADVANCED = {"ConsistencyLevel": "eventual"}
SEARCH_NEEDS_HEADER = ("Request with $search query parameter only works through MSGraph with a special request "
                       "header: 'ConsistencyLevel: eventual'")


class Directory:
    def __init__(self, tenant: Tenant, graph_url: str, session: requests.Session):
        self.tenant = tenant
        self.graph_url = graph_url
        self.session = session

    def get(self, path: str, params: dict | None = None, headers: dict | None = None) -> requests.Response:
        return self.session.get(f"{self.graph_url}{path}", params=params, headers=headers)

    def values(self, path: str, params: dict, headers: dict | None = None) -> list[dict]:
        response = self.get(path, {**params, "$top": "999"}, headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "@odata.nextLink" not in body
        return body["value"]

    def user(self, upn_alias: str):
        return self.tenant.get_user(f"{upn_alias}@{self.tenant.primary_domain}")


@pytest.fixture(scope="module")
def directory():
    tenant = Tenant(seed=5, clock=Clock.frozen_at("2026-01-15T09:00:00Z"))
    tenant.register_application("entrasim query options")
    d = tenant.primary_domain
    people = [
        ("pradeep", "Pradeep", "Gupta", "Engineering", "pradeep.gupta@contoso.com"),
        ("prisha", "Prisha", "Raman", "Sales", "prisha@contoso.com"),
        ("hello", "HelloWorld", "Tester", "Engineering", "hw@contoso.com"),
        ("anna", "anna", "de Vries", "Sales", "anna.devries@contoso.com"),
        ("zoe", "Zoë", "Zimmer", None, None),
        ("li", "李四(David", "Li)", "Research", "li@contoso.com"),
        ("ben", "Ben", "Okafor", "Finance", "ben.okafor@contoso.com"),
    ]
    for alias, given, family, department, mail in people:
        tenant.create_user(userPrincipalName=f"{alias}@{d}", givenName=given, surname=family, department=department,
                           mail=mail, jobTitle="Engineer" if department == "Engineering" else None)
    boss = tenant.get_user(f"ben@{d}")
    for alias in ("pradeep", "prisha", "hello"):
        tenant.set_manager(f"{alias}@{d}", boss.id)
    tenant.create_group(displayName="One Video Team", description="Streaming and video", groupTypes=["Unified"],
                        mail="onevideo@contoso.com", mailEnabled=True, securityEnabled=False,
                        members=[u.id for u in tenant.users.values()])
    tenant.create_group(displayName="OneDrive admins", description="Storage")
    tenant.create_group(displayName="Course: Python basics", description="Course group")
    app = create_app(tenant)
    running = start_in_thread(app)
    token = app.extensions["entrasim"].tokens.issue(next(iter(tenant.applications)))[0]
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {token}"
    yield Directory(tenant, f"{running.url}/v1.0", session)
    running.stop()


def assert_error(response: requests.Response, status: int, code: str, message: str | None = None) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    if message is not None:
        assert error["message"] == message
    return error["message"]


# ---------------------------------------------------------------- $select
def test_select_returns_the_named_properties_and_id(directory):
    values = directory.values("/users", {"$select": "displayName,department,accountEnabled"})
    assert values and all(set(v) == {"id", "displayName", "department", "accountEnabled"} for v in values)
    by_id = {v["id"]: v for v in values}
    for user in directory.tenant.users.values():
        assert by_id[user.id]["department"] == user.department
        assert by_id[user.id]["accountEnabled"] is user.accountEnabled


def test_select_matches_property_names_without_regard_to_case(directory):
    values = directory.values("/users", {"$select": "DisplayName,USERPRINCIPALNAME"})
    assert all(set(v) == {"id", "displayName", "userPrincipalName"} for v in values)
    response = directory.get("/users", {"$select": "id,displayName"})
    assert response.json()["@odata.context"].endswith("#users(id,displayName)")


@pytest.mark.parametrize("path, select, name, type_name", [
    ("/users", "id,favouriteColour", "favouriteColour", "microsoft.graph.user"),
    ("/users", "manager", "manager", "microsoft.graph.user"),  # a navigation property: use $expand
    ("/groups", "displayName,userPrincipalName", "userPrincipalName", "microsoft.graph.group"),
])
def test_select_refuses_unknown_properties(directory, path, select, name, type_name):
    assert_error(directory.get(path, {"$select": select}), 400, "BadRequest",
                 f"Could not find a property named '{name}' on type '{type_name}'.")


# ---------------------------------------------------------------- $orderby
@pytest.mark.parametrize("orderby, prop, descending", [
    ("displayName", "displayName", False),
    ("displayName asc", "displayName", False),
    ("displayName desc", "displayName", True),
    ("userPrincipalName desc", "userPrincipalName", True),
])
def test_orderby_sorts_without_regard_to_case(directory, orderby, prop, descending):
    values = directory.values("/users", {"$orderby": orderby, "$select": "id," + prop})
    expected = sorted(directory.tenant.users.values(), key=lambda u: getattr(u, prop).casefold(), reverse=descending)
    assert [v["id"] for v in values] == [u.id for u in expected]


def test_groups_order_by_display_name(directory):
    values = directory.values("/groups", {"$orderby": "displayName desc"})
    names = [g.displayName for g in directory.tenant.groups.values()]
    assert [v["displayName"] for v in values] == sorted(names, key=str.casefold, reverse=True)


@pytest.mark.parametrize("path, orderby, message", [
    ("/users", "department", "Unsupported sort property 'department' for 'User'."),
    ("/users", "createdDateTime desc", "Unsupported sort property 'createdDateTime' for 'User'."),
    ("/groups", "mail", "Unsupported sort property 'mail' for 'Group'."),
])
def test_orderby_refuses_properties_graph_cannot_sort(directory, path, orderby, message):
    assert_error(directory.get(path, {"$orderby": orderby}), 400, "Request_UnsupportedQuery", message)


def test_advanced_queries_sort_more_properties_but_not_all(directory):
    values = directory.values("/users", {"$orderby": "createdDateTime desc", "$count": "true"}, ADVANCED)
    assert len(values) == len(directory.tenant.users)
    assert_error(directory.get("/users", {"$orderby": "mail", "$count": "true"}, ADVANCED), 400,
                 "Request_UnsupportedQuery", "An unsupported property was specified.")


def test_filter_with_orderby_needs_an_advanced_query(directory):
    params = {"$filter": "department eq 'Sales'", "$orderby": "displayName desc"}
    assert_error(directory.get("/users", params), 400, "Request_UnsupportedQuery",
                 "Sorting not supported for current query.")
    values = directory.values("/users", {**params, "$count": "true"}, ADVANCED)
    expected = sorted((u for u in directory.tenant.users.values() if u.department == "Sales"),
                      key=lambda u: u.displayName.casefold(), reverse=True)
    assert [v["id"] for v in values] == [u.id for u in expected]


@pytest.mark.parametrize("orderby", ["displayName sideways", "displayName asc desc", ",", "favouriteColour"])
def test_malformed_orderby_is_a_bad_request(directory, orderby):
    assert_error(directory.get("/users", {"$orderby": orderby}), 400, "BadRequest")


# ---------------------------------------------------------------- $search
def test_search_needs_the_consistency_level_header(directory):
    assert_error(directory.get("/users", {"$search": '"displayName:pr"'}), 400, "Request_UnsupportedQuery",
                 SEARCH_NEEDS_HEADER)


@pytest.mark.parametrize("search, aliases", [
    ('"displayName:pr"', {"pradeep", "prisha"}),               # tokens match by prefix
    ('"displayName:GUPTA"', {"pradeep"}),                      # in any order, without regard to case
    ('"displayName:world"', {"hello"}),                        # HelloWorld is two tokens
    ('"displayName:helloworld"', {"hello"}),
    ('"displayName:de vr"', {"anna"}),                          # every token must match
    ('"displayName:David"', {"li"}),                           # symbols split words too
    ('"displayName:李四"', {"li"}),
    ('"mail:ben.ok"', {"ben"}),                                 # other properties: startsWith
    ('"displayName:zoe"', set()),
    ('"displayName:pradeep" OR "mail:prisha"', {"pradeep", "prisha"}),
    ('"displayName:pr" AND "mail:prisha"', {"prisha"}),
    ('("displayName:ben" OR "displayName:anna") AND "mail:anna"', {"anna"}),
])
def test_search_tokenizes_display_names_and_prefixes_other_properties(directory, search, aliases):
    values = directory.values("/users", {"$search": search}, ADVANCED)
    assert {v["id"] for v in values} == {directory.user(a).id for a in aliases}


def test_search_and_filter_combine(directory):
    values = directory.values("/users", {"$search": '"displayName:pr"', "$filter": "department eq 'Sales'"}, ADVANCED)
    assert [v["id"] for v in values] == [directory.user("prisha").id]


def test_groups_search_display_name_and_description(directory):
    values = directory.values("/groups", {"$search": '"displayName:OneVideo" OR "description:storage"'}, ADVANCED)
    names = {v["displayName"] for v in values}
    assert names == {g.displayName for g in directory.tenant.groups.values()
                     if g.displayName in ("One Video Team", "OneDrive admins")}


@pytest.mark.parametrize("search, status, code", [
    ("displayName:pr", 400, "BadRequest"),            # must be quoted
    ('"displayName:pr', 400, "BadRequest"),           # unterminated
    ('"displayName:pr" or "mail:x"', 400, "BadRequest"),  # AND / OR are upper case
    ('"pradeep"', 400, "Request_UnsupportedQuery"),   # no property named
    ('"favouriteColour:blue"', 400, "BadRequest"),
    ('"accountEnabled:true"', 400, "Request_UnsupportedQuery"),
    ("", 400, "BadRequest"),
    ("(" * 600 + '"displayName:a"' + ")" * 600, 400, "BadRequest"),
])
def test_malformed_searches_are_refused(directory, search, status, code):
    assert_error(directory.get("/users", {"$search": search}, ADVANCED), status, code)


# ---------------------------------------------------------------- $expand
def test_expand_manager_with_select(directory):
    values = directory.values("/users", {"$expand": "manager($select=id,displayName)", "$select": "id,displayName"})
    boss = directory.user("ben")
    for value in values:
        user = directory.tenant.users[value["id"]]
        if user.managerId:
            assert value["manager"] == {"@odata.type": "#microsoft.graph.user", "id": boss.id,
                                        "displayName": boss.displayName}
        else:
            assert "manager" not in value


def test_expand_members_on_groups(directory):
    values = directory.values("/groups", {"$expand": "members($select=id)"})
    for value in values:
        group = directory.tenant.groups[value["id"]]
        assert [m["id"] for m in value["members"]] == list(group.members)[:20]


@pytest.mark.parametrize("path, expand, status, code", [
    ("/users", "memberOf", 400, "Request_UnsupportedQuery"),
    ("/users", "favouriteColour", 400, "BadRequest"),
    ("/users", "department", 400, "BadRequest"),
    ("/groups", "manager", 400, "BadRequest"),
    ("/users", "manager($filter=displayName eq 'x')", 400, "BadRequest"),
    ("/users", "manager($select=nope)", 400, "BadRequest"),
    ("/users", "manager(", 400, "BadRequest"),
])
def test_unsupported_expansions_are_refused(directory, path, expand, status, code):
    assert_error(directory.get(path, {"$expand": expand}), status, code)


def test_expand_is_refused_in_advanced_queries(directory):
    response = directory.get("/users", {"$expand": "manager", "$count": "true"}, ADVANCED)
    assert_error(response, 400, "Request_UnsupportedQuery")


# ---------------------------------------------------------------- $count
def test_count_needs_the_header_and_is_silently_ignored_without_it(directory):
    plain = directory.get("/users", {"$count": "true"}).json()
    assert "@odata.count" not in plain
    counted = directory.get("/users", {"$count": "true"}, ADVANCED).json()
    assert counted["@odata.count"] == len(directory.tenant.users)
    filtered = directory.get("/users", {"$count": "true", "$filter": "department eq 'Engineering'"}, ADVANCED).json()
    assert filtered["@odata.count"] == sum(1 for u in directory.tenant.users.values() if u.department == "Engineering")


def test_count_values_other_than_true_or_false_are_refused(directory):
    assert_error(directory.get("/users", {"$count": "yes"}), 400, "BadRequest")


def test_query_option_names_are_not_case_sensitive(directory):
    values = directory.values("/users", {"$Filter": "department eq 'Finance'", "$SELECT": "id"})
    assert [v["id"] for v in values] == [directory.user("ben").id]
