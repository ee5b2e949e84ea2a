"""Repeated reads are served from caches; every directory change must still show on the very next read.

An importer reads the same group again and again; the mock reuses query results
and encoded objects while nothing changed. These tests change the directory in
every way the model allows between two identical reads and check the second
read sees it.
"""

from __future__ import annotations

import pytest
import requests


def session_for(server) -> requests.Session:
    token = server.app.extensions["entrasim"].tokens.issue(server.client_id)[0]
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {token}"
    return session


@pytest.fixture
def directory(graph_server):
    server = graph_server(tls=False)
    tenant = server.tenant
    domain = tenant.primary_domain
    users = [tenant.create_user(userPrincipalName=f"u{i}@{domain}", givenName=f"U{i}", surname="Fresh", department="Ops")
             for i in range(5)]
    group = tenant.create_group(displayName="Cohort", members=[u.id for u in users[:3]])
    return server, tenant, users, group, session_for(server)


def members(server, session, group, **params) -> list[dict]:
    response = session.get(f"{server.graph_url}/groups/{group.id}/members", params=params)
    assert response.status_code == 200, response.text
    return response.json()["value"]


@pytest.mark.parametrize("change, check", [
    (lambda t, u, g: t.update_user(u[0].id, givenName="Renamed"), lambda v, u: v[0]["givenName"] == "Renamed"),
    (lambda t, u, g: t.add_member(g.id, u[4].id), lambda v, u: [m["id"] for m in v][-1] == u[4].id),
    (lambda t, u, g: t.remove_member(g.id, u[1].id), lambda v, u: u[1].id not in [m["id"] for m in v]),
    (lambda t, u, g: t.soft_delete_user(u[2].id), lambda v, u: u[2].id not in [m["id"] for m in v]),
    (lambda t, u, g: t.change_upn(u[0].id, f"moved@{t.primary_domain}"),
     lambda v, u: v[0]["userPrincipalName"] == f"moved@{u[0].userPrincipalName.split('@')[1]}"),
])
def test_members_page_shows_each_change_on_the_next_read(directory, change, check):
    server, tenant, users, group, session = directory
    before = members(server, session, group)
    assert members(server, session, group) == before  # the second read is served from the caches
    change(tenant, users, group)
    assert check(members(server, session, group), users)


def test_selected_and_filtered_reads_follow_updates(directory):
    server, tenant, users, _group, session = directory
    url = f"{server.graph_url}/users"
    params = {"$filter": "department eq 'Ops'", "$select": "id,department,displayName"}
    assert len(session.get(url, params=params).json()["value"]) == 5
    tenant.update_user(users[3].id, department="Sales")
    after = session.get(url, params=params).json()["value"]
    assert [u["id"] for u in after] == [u.id for u in users if u.id != users[3].id]
    sales = session.get(url, params={"$filter": "department eq 'Sales'", "$select": "id,department"}).json()["value"]
    assert sales == [{"id": users[3].id, "department": "Sales"}]


def test_a_user_created_without_a_journal_entry_is_listed(directory):
    """Seeding and bulk loads skip the journal; they must still invalidate cached results."""
    server, tenant, _users, group, session = directory
    count = len(session.get(f"{server.graph_url}/users", params={"$top": "999"}).json()["value"])
    late = tenant.create_user(userPrincipalName=f"late@{tenant.primary_domain}", record=False)
    tenant.add_member(group.id, late.id, record=False)
    listed = session.get(f"{server.graph_url}/users", params={"$top": "999"}).json()["value"]
    assert len(listed) == count + 1
    assert late.id in [m["id"] for m in members(server, session, group)]
