"""``/users/delta`` over HTTP: the initial round, paging, and rounds started from a deltaLink.

Each test mutates its own tenant through the model's API (as scenarios and the
control API do) and checks what a syncing client sees against the model.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
import requests

from simulator.clock import Clock
from simulator.graph.app import create_app
from simulator.serving import start_in_thread
from simulator.tenant import Tenant

from delta_client import Client

SELECT = "displayName,jobTitle,accountEnabled"


def make_tenant() -> Tenant:
    tenant = Tenant(seed=3, clock=Clock.frozen_at("2026-01-15T09:00:00Z"))
    tenant.register_application("entrasim delta test")
    return tenant


def items(pages: list[dict]) -> list[dict]:
    return [item for page in pages for item in page["value"]]


@pytest.fixture
def tracked(graph_server):
    """A tenant with 12 users, a server, a client and the deltaLink of a completed initial round."""
    tenant = make_tenant()
    domain = tenant.primary_domain
    users = [tenant.create_user(userPrincipalName=f"user{i:02d}@{domain}", displayName=f"User {i:02d}",
                                jobTitle="Engineer", department="Engineering") for i in range(12)]
    server = graph_server(tenant=tenant, tls=False)
    client = Client(server)
    _pages, link = client.round("/users/delta", params={"$select": SELECT})
    return tenant, client, users, link


@pytest.fixture(scope="module")
def shared():
    """One server for the tests that only read: (client, deltaLink of a completed round)."""
    tenant = make_tenant()
    for i in range(5):
        tenant.create_user(userPrincipalName=f"reader{i}@{tenant.primary_domain}")
    app = create_app(tenant)
    running = start_in_thread(app)
    client = Client(SimpleNamespace(app=app, graph_url=f"{running.url}/v1.0", client_id=tenant_app_id(tenant)))
    _pages, link = client.round("/users/delta", params={"$select": "displayName"})
    yield client, link
    running.stop()


def tenant_app_id(tenant: Tenant) -> str:
    return next(iter(tenant.applications))


def assert_error(response: requests.Response, status: int, code: str, message: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    if message is not None:
        assert error["message"] == message
    return error


# ---------------------------------------------------------------- the initial round
def test_initial_round_returns_every_user_once_in_pages_of_100(graph_server):
    tenant = make_tenant()
    for i in range(230):
        tenant.create_user(userPrincipalName=f"p{i:03d}@{tenant.primary_domain}", displayName=f"Person {i}")
    server = graph_server(tenant=tenant, tls=False)
    pages, link = Client(server).round("/users/delta", params={"$select": "displayName,userPrincipalName"})
    assert [len(p["value"]) for p in pages] == [100, 100, 30]
    assert link.startswith(f"{server.graph_url}/users/delta?$deltatoken=")
    values = items(pages)
    assert sorted(v["id"] for v in values) == sorted(tenant.users)
    for value in values:
        user = tenant.users[value["id"]]
        assert value == {"id": user.id, "displayName": user.displayName, "userPrincipalName": user.userPrincipalName}
    assert pages[0]["@odata.context"] == "https://graph.microsoft.com/v1.0/$metadata#users(displayName,userPrincipalName)"


def test_max_page_size_preference_is_honoured(graph_server):
    tenant = make_tenant()
    for i in range(25):
        tenant.create_user(userPrincipalName=f"p{i}@{tenant.primary_domain}")
    server = graph_server(tenant=tenant, tls=False)
    client = Client(server)
    first = client.get("/users/delta", headers={"Prefer": "odata.maxpagesize=10"})
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=10"
    pages, _link = client.round("/users/delta", headers={"Prefer": "odata.maxpagesize=10"})
    assert [len(p["value"]) for p in pages] == [10, 10, 5]
    assert set(items(pages)[0]) == {"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                                    "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}


def test_the_sdk_function_paths_are_served(tracked):
    _tenant, client, users, _link = tracked
    for path in ("/users/delta()", "/users/microsoft.graph.delta()"):
        response = client.get(path, params={"$select": "displayName"})
        assert response.status_code == 200, response.text
        assert sorted(v["id"] for v in response.json()["value"]) == sorted(u.id for u in users)


# ---------------------------------------------------------------- following rounds
def test_a_round_without_changes_is_empty(tracked):
    _tenant, client, _users, link = tracked
    pages, next_link = client.round(link)
    assert items(pages) == []
    assert next_link.startswith(f"{client.server.graph_url}/users/delta?$deltatoken=")


def test_updates_come_back_with_current_values_of_tracked_properties(tracked):
    tenant, client, users, link = tracked
    tenant.update_user(users[0].id, jobTitle="Staff Engineer")
    tenant.disable_user(users[1].id)
    tenant.update_user(users[2].id, department="Research")  # not tracked by this $select
    newcomer = tenant.create_user(userPrincipalName=f"new@{tenant.primary_domain}", displayName="New Person")
    pages, _next = client.round(link)
    by_id = {v["id"]: v for v in items(pages)}
    assert set(by_id) == {users[0].id, users[1].id, newcomer.id}
    for object_id, value in by_id.items():
        user = tenant.users[object_id]
        assert value == {"id": user.id, "displayName": user.displayName, "jobTitle": user.jobTitle,
                         "accountEnabled": user.accountEnabled}
    assert by_id[users[1].id]["accountEnabled"] is False


def test_rounds_chain_and_do_not_repeat_changes(tracked):
    tenant, client, users, link = tracked
    tenant.update_user(users[3].id, displayName="Renamed Once")
    pages, link = client.round(link)
    assert [v["id"] for v in items(pages)] == [users[3].id]
    tenant.update_user(users[4].id, displayName="Renamed Twice")
    pages, _link = client.round(link)
    assert [v["id"] for v in items(pages)] == [users[4].id]


def test_return_minimal_sends_only_changed_properties(tracked):
    tenant, client, users, link = tracked
    tenant.update_user(users[0].id, jobTitle="Principal")
    response = client.get(link, headers={"Prefer": "return=minimal"})
    assert response.headers["Preference-Applied"] == "return=minimal"
    assert response.json()["value"] == [{"id": users[0].id, "jobTitle": "Principal"}]


def test_soft_delete_is_changed_and_restore_brings_the_user_back(tracked):
    tenant, client, users, link = tracked
    tenant.soft_delete_user(users[5].id)
    pages, link = client.round(link)
    assert items(pages) == [{"id": users[5].id, "@removed": {"reason": "changed"}}]
    tenant.restore_user(users[5].id)
    pages, _link = client.round(link)
    assert items(pages) == [{"id": users[5].id, "displayName": users[5].displayName, "jobTitle": "Engineer",
                             "accountEnabled": True}]


def test_purged_users_are_deleted(tracked):
    tenant, client, users, link = tracked
    tenant.soft_delete_user(users[6].id)
    tenant.purge_user(users[6].id)
    pages, _link = client.round(link)
    assert items(pages) == [{"id": users[6].id, "@removed": {"reason": "deleted"}}]


def test_soft_deleted_users_are_purged_after_30_days(tracked):
    tenant, client, users, link = tracked
    tenant.soft_delete_user(users[7].id)
    pages, link = client.round(link)
    assert items(pages) == [{"id": users[7].id, "@removed": {"reason": "changed"}}]
    for days in (6, 6, 6, 6, 5):  # a client that syncs within the token lifetime keeps a fresh deltaLink
        tenant.advance_clock(timedelta(days=days))
        pages, link = client.round(link)
        assert items(pages) == []
    assert users[7].id in tenant.deleted_users
    tenant.advance_clock(timedelta(days=1))  # day 30: the retention ends and the user is purged
    assert users[7].id not in tenant.deleted_users
    pages, _link = client.round(link)
    assert items(pages) == [{"id": users[7].id, "@removed": {"reason": "deleted"}}]


def test_manager_changes_are_reported_as_manager_delta(graph_server):
    tenant = make_tenant()
    d = tenant.primary_domain
    boss = tenant.create_user(userPrincipalName=f"boss@{d}", displayName="Boss")
    deputy = tenant.create_user(userPrincipalName=f"deputy@{d}", displayName="Deputy", managerId=boss.id)
    worker = tenant.create_user(userPrincipalName=f"worker@{d}", displayName="Worker", managerId=boss.id)
    server = graph_server(tenant=tenant, tls=False)
    client = Client(server)
    pages, link = client.round("/users/delta", params={"$select": "displayName,manager"})
    by_id = {v["id"]: v for v in items(pages)}
    assert by_id[worker.id]["manager@delta"] == [{"@odata.type": "#microsoft.graph.user", "id": boss.id}]
    assert "manager@delta" not in by_id[boss.id]

    tenant.set_manager(worker.id, deputy.id)
    pages, link = client.round(link)
    assert items(pages) == [{"id": worker.id, "displayName": "Worker",
                             "manager@delta": [{"@odata.type": "#microsoft.graph.user", "id": deputy.id}]}]

    tenant.set_manager(worker.id, None)
    pages, link = client.round(link)
    assert items(pages) == [{"id": worker.id, "displayName": "Worker",
                             "manager@delta": [{"@odata.type": "#microsoft.graph.user", "id": deputy.id,
                                                "@removed": {"reason": "deleted"}}]}]


def test_manager_changes_are_not_reported_unless_manager_is_selected(tracked):
    tenant, client, users, link = tracked
    tenant.set_manager(users[8].id, users[9].id)
    pages, _link = client.round(link)
    assert items(pages) == []


def test_latest_token_returns_only_a_delta_link(tracked):
    tenant, client, users, _link = tracked
    response = client.get("/users/delta", params={"$deltatoken": "latest", "$select": "displayName"})
    body = response.json()
    assert response.status_code == 200 and body["value"] == [] and "@odata.nextLink" not in body
    tenant.update_user(users[10].id, displayName="After Latest")
    pages, _next = client.round(body["@odata.deltaLink"])
    assert items(pages) == [{"id": users[10].id, "displayName": "After Latest"}]


def test_filter_by_ids_tracks_only_those_users(tracked):
    tenant, client, users, _link = tracked
    wanted = [users[0].id, users[11].id]
    clause = " or ".join(f"id eq '{i}'" for i in wanted)
    pages, link = client.round("/users/delta", params={"$filter": clause, "$select": "displayName"})
    assert sorted(v["id"] for v in items(pages)) == sorted(wanted)
    tenant.update_user(users[0].id, displayName="Tracked")
    tenant.update_user(users[1].id, displayName="Untracked")
    pages, _link = client.round(link)
    assert items(pages) == [{"id": users[0].id, "displayName": "Tracked"}]


# ---------------------------------------------------------------- tokens
def test_tokens_expire_after_7_days_with_a_resync_location(tracked):
    tenant, client, users, link = tracked
    tenant.advance_clock(timedelta(days=7, seconds=1))
    response = client.get(link)
    assert_error(response, 410, "syncStateNotFound")
    location = response.headers["Location"]
    assert location.startswith(f"{client.server.graph_url}/users/delta?$select=")
    pages, _link = client.round(location)
    values = items(pages)
    assert sorted(v["id"] for v in values) == sorted(tenant.users)
    assert set(values[0]) == {"id", *SELECT.split(",")}


def test_a_delta_link_a_few_days_old_still_works(tracked):
    tenant, client, users, link = tracked
    tenant.advance_clock(timedelta(days=6))
    tenant.update_user(users[2].id, jobTitle="Manager")
    pages, _link = client.round(link)
    assert [v["id"] for v in items(pages)] == [users[2].id]


def _tamper(link: str) -> str:
    base, _, token = link.partition("$deltatoken=")
    body, _, mac = token.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["since"] = 0
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"{base}$deltatoken={forged}.{mac}"


@pytest.mark.parametrize("mangle, parameter", [
    (lambda link: link.split("$deltatoken=")[0] + "$deltatoken=garbage", "$deltatoken"),
    (lambda link: link[:-4], "$deltatoken"),
    (_tamper, "$deltatoken"),
    (lambda link: link.split("?")[0] + "?$skiptoken=bm90IGEgdG9rZW4", "$skiptoken"),
    (lambda link: link.replace("/users/delta", "/groups/delta"), "$deltatoken"),  # a users token on groups
])
def test_garbled_tampered_or_foreign_tokens_are_refused(shared, mangle, parameter):
    client, link = shared
    error = assert_error(client.get(mangle(link)), 400, "Request_BadRequest")
    assert parameter in error["message"]


# ---------------------------------------------------------------- refusals
@pytest.mark.parametrize("params, message", [
    ({"$top": "5"}, "Unsupported Query. The query option '$top' is not supported by users/delta."),
    ({"$orderby": "displayName"}, "Unsupported Query. The query option '$orderby' is not supported by users/delta."),
    ({"$search": '"displayName:a"'}, "Unsupported Query. The query option '$search' is not supported by users/delta."),
    ({"$count": "true"}, "Unsupported Query. The query option '$count' is not supported by users/delta."),
    ({"$expand": "manager"}, "Unsupported Query. The query option '$expand' is not supported by users/delta."),
    ({"$filter": "department eq 'Sales'"}, "Unsupported Query."),
    ({"$filter": "id ne '00000000-0000-4000-8000-000000000001'"}, "Unsupported Query."),
])
def test_options_delta_does_not_support_are_refused(shared, params, message):
    client, _link = shared
    assert_error(client.get("/users/delta", params=params), 400, "Request_UnsupportedQuery", message)


def test_bad_select_and_bad_filter_syntax_are_bad_requests(shared):
    client, _link = shared
    assert_error(client.get("/users/delta", params={"$select": "displayName,nope"}), 400, "BadRequest",
                 "Could not find a property named 'nope' on type 'microsoft.graph.user'.")
    assert_error(client.get("/users/delta", params={"$filter": "id eq '"}), 400, "BadRequest")
    assert_error(client.get("/users/delta", params={"$filter": "id eq 'nope'"}), 400, "Request_BadRequest",
                 "Invalid object identifier 'nope'.")


def test_users_delta_needs_a_token_and_user_read_permission(tracked):
    tenant, client, _users, _link = tracked
    anonymous = requests.get(f"{client.server.graph_url}/users/delta")
    assert_error(anonymous, 401, "InvalidAuthenticationToken", "Access token is empty.")
    groups_only = tenant.register_application("groups only", permissions=["Group.Read.All"])
    assert_error(Client(client.server, groups_only.appId).get("/users/delta"), 403, "Authorization_RequestDenied",
                 "Insufficient privileges to complete the operation.")
    directory = tenant.register_application("directory reader", permissions=["Directory.Read.All"])
    assert Client(client.server, directory.appId).get("/users/delta").status_code == 200
