"""``POST /v1.0/$batch`` over HTTP: up to 20 requests, dependsOn, inner errors and faults, malformed batches.

Inner requests run through the same server as direct calls, so their answers
are compared with direct calls and with the tenant model.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import requests

from simulator.clock import Clock
from simulator.faults import FaultInjector
from simulator.graph.app import create_app
from simulator.serving import start_in_thread
from simulator.tenant import Tenant

UNKNOWN_ID = "00000000-0000-4000-8000-000000000001"



def build(tenant_seed: int = 6):
    tenant = Tenant(seed=tenant_seed, clock=Clock.frozen_at("2026-01-15T09:00:00Z"))
    tenant.register_application("entrasim batch test")
    d = tenant.primary_domain
    users = [tenant.create_user(userPrincipalName=f"b{i:02d}@{d}", displayName=f"Batch User {i:02d}",
                                department="Sales" if i % 3 == 0 else "Support") for i in range(30)]
    group = tenant.create_group(displayName="Batchers", members=[u.id for u in users[:5]])
    return tenant, users, group


def client_for(server) -> requests.Session:
    token = server.app.extensions["entrasim"].tokens.issue(server.client_id)[0]
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {token}"
    return session


@pytest.fixture(scope="module")
def directory():
    """One server for the tests that do not change the tenant or its fault rules."""
    tenant, users, group = build()
    faults = FaultInjector(clock=tenant.clock, seed=tenant.seed)
    app = create_app(tenant, faults=faults)
    running = start_in_thread(app)
    server = SimpleNamespace(app=app, tenant=tenant, faults=faults, graph_url=f"{running.url}/v1.0",
                             client_id=next(iter(tenant.applications)), log=app.extensions["entrasim"].log)
    yield server, client_for(server), users, group
    running.stop()


def post_batch(server, session, requests_: list[dict] | None = None, **kwargs) -> requests.Response:
    if requests_ is not None:
        kwargs["json"] = {"requests": requests_}
    return session.post(f"{server.graph_url}/$batch", **kwargs)


def by_id(response: requests.Response) -> dict[str, dict]:
    assert response.status_code == 200, response.text
    return {r["id"]: r for r in response.json()["responses"]}


def assert_error(response: requests.Response, status: int, code: str, message: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    if message is not None:
        assert error["message"] == message
    return error


# ---------------------------------------------------------------- successful batches
def test_a_batch_of_20_answers_each_request_like_a_direct_call(directory):
    server, session, users, _group = directory
    inner = [{"id": str(i), "method": "GET", "url": f"/users/{users[i].id}?$select=id,displayName,department"}
             for i in range(20)]
    responses = by_id(post_batch(server, session, inner))
    assert set(responses) == {str(i) for i in range(20)}
    for i in range(20):
        entry = responses[str(i)]
        direct = session.get(f"{server.graph_url}/users/{users[i].id}", params={"$select": "id,displayName,department"})
        assert entry["status"] == 200
        assert entry["body"] == direct.json()
        assert entry["body"]["department"] == users[i].department
        assert entry["headers"]["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("url", ["/users?$filter=department eq 'Sales'&$select=id", "users?$filter=department eq 'Sales'&$select=id",
                                 "/v1.0/users?$filter=department eq 'Sales'&$select=id"])
def test_relative_urls_with_or_without_slash_and_version(directory, url):
    server, session, users, _group = directory
    entry = by_id(post_batch(server, session, [{"id": "a", "method": "GET", "url": url}]))["a"]
    assert entry["status"] == 200, entry
    assert sorted(v["id"] for v in entry["body"]["value"]) == sorted(u.id for u in users if u.department == "Sales")


def test_inner_next_links_are_absolute_to_the_server_and_work(directory):
    server, session, users, _group = directory
    entry = by_id(post_batch(server, session, [{"id": "1", "method": "GET", "url": "/users?$top=10&$select=id"}]))["1"]
    link = entry["body"]["@odata.nextLink"]
    assert link.startswith(f"{server.graph_url}/users?")
    seen = [v["id"] for v in entry["body"]["value"]]
    while link:
        body = session.get(link).json()
        seen.extend(v["id"] for v in body["value"])
        link = body.get("@odata.nextLink")
    assert sorted(seen) == sorted(u.id for u in users)


def test_consistency_level_goes_in_the_inner_headers(directory):
    server, session, users, _group = directory
    query = {"method": "GET", "url": "/users?$count=true&$filter=endswith(userPrincipalName,'7@contoso.onmicrosoft.com')"}
    responses = by_id(post_batch(server, session, [
        {"id": "with", **query, "headers": {"ConsistencyLevel": "eventual"}},
        {"id": "without", **query},
    ], headers={"ConsistencyLevel": "eventual"}))  # on the batch itself it does not count
    expected = sorted(u.id for u in users if u.userPrincipalName.startswith(("b07", "b17", "b27")))
    assert responses["with"]["status"] == 200
    assert responses["with"]["body"]["@odata.count"] == len(expected)
    assert sorted(v["id"] for v in responses["with"]["body"]["value"]) == expected
    assert responses["without"]["status"] == 400
    assert responses["without"]["body"]["error"]["code"] == "Request_UnsupportedQuery"


def test_count_segment_answers_text(directory):
    server, session, users, group = directory
    entry = by_id(post_batch(server, session, [{"id": "n", "method": "GET", "url": f"/groups/{group.id}/members/$count",
                                                "headers": {"ConsistencyLevel": "eventual"}}]))["n"]
    assert entry["status"] == 200
    assert entry["body"] == "5"


def test_delta_queries_run_inside_a_batch(directory):
    server, session, users, _group = directory
    entry = by_id(post_batch(server, session, [{"id": "d", "method": "GET", "url": "/users/delta?$select=displayName"}]))["d"]
    assert entry["status"] == 200
    assert sorted(v["id"] for v in entry["body"]["value"]) == sorted(u.id for u in users)
    assert entry["body"]["@odata.deltaLink"].startswith(f"{server.graph_url}/users/delta?$deltatoken=")


# ---------------------------------------------------------------- inner failures
def test_inner_errors_do_not_fail_the_batch(directory):
    server, session, _users, _group = directory
    responses = by_id(post_batch(server, session, [
        {"id": "missing", "method": "GET", "url": f"/users/{UNKNOWN_ID}"},
        {"id": "malformed", "method": "GET", "url": "/groups/not-a-guid"},
        {"id": "route", "method": "GET", "url": "/nonsense"},
        {"id": "absolute", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users"},
        {"id": "nested", "method": "POST", "url": "/$batch", "headers": {"Content-Type": "application/json"},
         "body": {"requests": []}},
    ]))
    assert responses["missing"]["status"] == 404
    assert responses["missing"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert responses["missing"]["body"]["error"]["message"] == (
        f"Resource '{UNKNOWN_ID}' does not exist or one of its queried reference-property objects are not present.")
    assert responses["malformed"]["status"] == 400
    assert responses["malformed"]["body"]["error"]["message"] == "Invalid object identifier 'not-a-guid'."
    assert responses["route"]["status"] == 400
    assert responses["absolute"]["status"] == 400
    assert responses["nested"]["status"] == 400


def test_inner_requests_are_throttled_on_their_own(graph_server):
    tenant, _users, _group = build()
    server = graph_server(tenant=tenant, tls=False)
    session = client_for(server)
    server.faults.add(surface="graph", path="/v1.0/users", kind="throttled", first=1, retry_after=2)
    response = post_batch(server, session, [
        {"id": "1", "method": "GET", "url": "/users?$select=id"},
        {"id": "2", "method": "GET", "url": "/users?$select=id", "dependsOn": ["1"]},
        {"id": "3", "method": "GET", "url": "/groups?$select=id"},
    ])
    responses = by_id(response)
    assert responses["1"]["status"] == 429
    assert responses["1"]["headers"]["Retry-After"] == "2"
    assert responses["1"]["body"]["error"]["code"] == "TooManyRequests"
    assert responses["2"]["status"] == 424  # its dependency was throttled
    assert responses["3"]["status"] == 200
    retry = by_id(post_batch(server, session, [{"id": "1", "method": "GET", "url": "/users?$select=id"}]))
    assert retry["1"]["status"] == 200  # the rule fired once


def test_a_dropped_inner_connection_drops_the_batch(graph_server):
    tenant, _users, _group = build()
    server = graph_server(tenant=tenant, tls=False)
    session = client_for(server)
    server.faults.add(surface="graph", path="/v1.0/groups", drop=True, first=1)
    with pytest.raises(requests.ConnectionError):
        post_batch(server, session, [{"id": "1", "method": "GET", "url": "/users?$select=id"},
                                     {"id": "2", "method": "GET", "url": "/groups"}])
    after = by_id(post_batch(server, session, [{"id": "2", "method": "GET", "url": "/groups"}]))
    assert after["2"]["status"] == 200  # the server is fine, and the rule fired once


def test_depends_on_orders_requests_and_fails_dependents(directory):
    server, session, users, _group = directory
    before = max((entry.seq for entry in server.log.entries()), default=0)
    responses = by_id(post_batch(server, session, [
        {"id": "4", "method": "GET", "url": f"/users/{users[3].id}", "dependsOn": ["3"]},
        {"id": "3", "method": "GET", "url": f"/users/{UNKNOWN_ID}", "dependsOn": ["2"]},
        {"id": "2", "method": "GET", "url": f"/users/{users[1].id}", "dependsOn": ["1"]},
        {"id": "1", "method": "GET", "url": f"/users/{users[0].id}"},
        {"id": "5", "method": "GET", "url": f"/users/{users[4].id}", "dependsOn": ["4"]},
    ]))
    assert responses["1"]["status"] == 200 and responses["2"]["status"] == 200
    assert responses["3"]["status"] == 404
    for rid in ("4", "5"):
        assert responses[rid]["status"] == 424
        assert responses[rid]["body"]["error"]["code"] == "FailedDependency"
    logged = [entry.path for entry in server.log.entries(since=before, surface="graph")]
    assert f"/v1.0/users/{users[0].id}" in logged  # inner requests are logged as requests of their own
    assert f"/v1.0/users/{users[3].id}" not in logged  # a request whose dependency failed never runs


def test_the_batch_needs_a_token(directory):
    server, _session, _users, _group = directory
    response = requests.post(f"{server.graph_url}/$batch", json={"requests": [{"id": "1", "method": "GET", "url": "/users"}]})
    assert_error(response, 401, "InvalidAuthenticationToken", "Access token is empty.")


def test_inner_requests_use_the_batch_token_and_its_permissions(graph_server):
    tenant, _users, _group = build()
    server = graph_server(tenant=tenant, tls=False)
    groups_only = tenant.register_application("groups only", permissions=["Group.Read.All"])
    token = server.app.extensions["entrasim"].tokens.issue(groups_only.appId)[0]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    responses = by_id(post_batch(server, session, [{"id": "u", "method": "GET", "url": "/users"},
                                                   {"id": "g", "method": "GET", "url": "/groups"}]))
    assert responses["u"]["status"] == 403
    assert responses["u"]["body"]["error"]["code"] == "Authorization_RequestDenied"
    assert responses["g"]["status"] == 200


# ---------------------------------------------------------------- malformed batches
def test_21_requests_are_refused(directory):
    server, session, _users, _group = directory
    inner = [{"id": str(i), "method": "GET", "url": "/users"} for i in range(21)]
    assert_error(post_batch(server, session, inner), 400, "BadRequest",
                 "Number of requests in batch (21) exceeds the maximum allowed (20).")


@pytest.mark.parametrize("body, fragment", [
    ({"requests": [{"id": "1", "method": "GET", "url": "/users"}, {"id": "1", "method": "GET", "url": "/groups"}]}, "'1'"),
    ({"requests": [{"id": "A", "method": "GET", "url": "/users"}, {"id": "a", "method": "GET", "url": "/groups"}]}, "'a'"),
    ({"requests": [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}]}, "'9'"),
    ({"requests": [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["2"]},
                   {"id": "2", "method": "GET", "url": "/users", "dependsOn": ["1"]}]}, "circular"),
    ({"requests": [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["1"]}]}, "itself"),
    ({"requests": [{"id": "1", "method": "FETCH", "url": "/users"}]}, "method"),
    ({"requests": [{"id": "1", "method": "GET"}]}, "url"),
    ({"requests": [{"method": "GET", "url": "/users"}]}, "id"),
    ({"requests": [{"id": 1, "method": "GET", "url": "/users"}]}, "id"),
    ({"requests": [{"id": "1", "method": "POST", "url": "/users", "body": {"a": 1}}]}, "Content-Type"),
    ({"requests": [{"id": "1", "method": "GET", "url": "/users", "headers": ["x"]}]}, "headers"),
    ({"requests": []}, "empty"),
    ({"requests": "all of them"}, "requests"),
    ({"calls": []}, "requests"),
    ([1, 2, 3], "requests"),
])
def test_malformed_batches_are_refused_whole(directory, body, fragment):
    server, session, _users, _group = directory
    error = assert_error(session.post(f"{server.graph_url}/$batch", json=body), 400, "BadRequest")
    assert fragment in error["message"]


@pytest.mark.parametrize("data", [b"{not json", b"", b"\xff\xfe", b'{"requests": [}'])
def test_malformed_json_is_refused(directory, data):
    server, session, _users, _group = directory
    response = post_batch(server, session, data=data, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header "
                                              "is set and payload is of valid JSON format.")


def test_batch_answers_only_post(directory):
    server, session, _users, _group = directory
    response = session.get(f"{server.graph_url}/$batch")
    assert response.status_code in (400, 405)
    assert "error" in response.json()
