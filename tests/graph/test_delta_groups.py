"""``/groups/delta`` over HTTP: groups with ``members@delta``, big groups split across pages, membership changes.

Each test builds its own tenant, changes it through the model's API and checks
what a syncing client sees (and what it rebuilds by merging pages) against the model.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from simulator.clock import Clock
from simulator.tenant import Tenant

from delta_client import Client

USER = "#microsoft.graph.user"
GROUP = "#microsoft.graph.group"


def items(pages: list[dict]) -> list[dict]:
    return [item for page in pages for item in page["value"]]


def merged(pages: list[dict]) -> dict[str, dict]:
    """What a client keeps: one record per group, members@delta merged across repeated appearances."""
    groups: dict[str, dict] = {}
    for item in items(pages):
        record = groups.setdefault(item["id"], {"members": [], "removed": []})
        record.update({k: v for k, v in item.items() if k != "members@delta"})
        for member in item.get("members@delta", []):
            (record["removed"] if "@removed" in member else record["members"]).append((member["@odata.type"], member["id"]))
    return groups


def make_tenant() -> Tenant:
    tenant = Tenant(seed=4, clock=Clock.frozen_at("2026-01-15T09:00:00Z"))
    tenant.register_application("entrasim groups delta test")
    return tenant


@pytest.fixture
def directory(graph_server):
    """Staff (6 users, one nested group), Admins (nested), an empty group; a completed initial round."""
    tenant = make_tenant()
    d = tenant.primary_domain
    users = [tenant.create_user(userPrincipalName=f"m{i}@{d}", displayName=f"Member {i}") for i in range(8)]
    admins = tenant.create_group(displayName="Admins", members=[users[6].id, users[7].id])
    staff = tenant.create_group(displayName="Staff", description="Everyone",
                                members=[u.id for u in users[:6]] + [admins.id])
    empty = tenant.create_group(displayName="Empty")
    server = graph_server(tenant=tenant, tls=False)
    client = Client(server)
    pages, link = client.round("/groups/delta")
    return tenant, client, users, dict(staff=staff, admins=admins, empty=empty), pages, link


def assert_error(response: requests.Response, status: int, code: str, message: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    if message is not None:
        assert error["message"] == message
    return error


# ---------------------------------------------------------------- the initial round
def test_initial_round_carries_every_group_with_its_members(directory):
    tenant, _client, _users, groups, pages, _link = directory
    records = merged(pages)
    assert set(records) == set(tenant.groups)
    for group in tenant.groups.values():
        expected = [(GROUP if m in tenant.groups else USER, m) for m in group.members]
        assert records[group.id]["members"] == expected
        assert records[group.id]["displayName"] == group.displayName
    empty_item = next(i for i in items(pages) if i["id"] == groups["empty"].id)
    assert "members@delta" not in empty_item  # no members, no members@delta


def test_a_big_group_is_split_across_pages_and_repeated(graph_server):
    tenant = make_tenant()
    d = tenant.primary_domain
    people = [tenant.create_user(userPrincipalName=f"p{i:03d}@{d}") for i in range(75)]
    big = tenant.create_group(displayName="Big", members=[p.id for p in people])
    small = tenant.create_group(displayName="Small", members=[people[0].id])
    server = graph_server(tenant=tenant, tls=False)
    pages, _link = Client(server).round("/groups/delta", headers={"Prefer": "odata.maxpagesize=3"})
    appearances = [item for item in items(pages) if item["id"] == big.id]
    assert len(appearances) > 1  # the same group object, repeated
    assert all(a["displayName"] == "Big" for a in appearances)
    assert all(len(page["value"]) <= 3 for page in pages)
    records = merged(pages)
    assert [m for _t, m in records[big.id]["members"]] == list(big.members)
    assert [m for _t, m in records[small.id]["members"]] == [people[0].id]


def test_select_without_members_tracks_no_membership(directory):
    tenant, client, users, groups, _pages, _link = directory
    pages, link = client.round("/groups/delta", params={"$select": "displayName"})
    assert all(set(i) == {"id", "displayName"} for i in items(pages))
    tenant.add_member(groups["empty"].id, users[0].id)
    pages, _next = client.round(link)
    assert items(pages) == []


@pytest.mark.parametrize("params", [{"$select": "displayName,members"},
                                    {"$select": "displayName", "$expand": "members"}])
def test_members_are_tracked_when_selected_or_expanded(directory, params):
    tenant, client, users, groups, _pages, _link = directory
    pages, link = client.round("/groups/delta", params=params)
    staff = next(i for i in items(pages) if i["id"] == groups["staff"].id)
    assert set(staff) == {"id", "displayName", "members@delta"}
    tenant.add_member(groups["empty"].id, users[0].id)
    pages, _next = client.round(link)
    assert items(pages) == [{"id": groups["empty"].id, "displayName": "Empty",
                             "members@delta": [{"@odata.type": USER, "id": users[0].id}]}]


# ---------------------------------------------------------------- following rounds
def test_member_added_and_removed(directory):
    tenant, client, users, groups, _pages, link = directory
    tenant.remove_member(groups["staff"].id, users[0].id)
    tenant.add_member(groups["admins"].id, users[1].id)
    pages, _next = client.round(link, params=None)
    records = merged(pages)
    assert set(records) == {groups["staff"].id, groups["admins"].id}
    assert records[groups["staff"].id]["removed"] == [(USER, users[0].id)]
    assert records[groups["staff"].id]["members"] == []
    assert records[groups["admins"].id]["members"] == [(USER, users[1].id)]
    assert records[groups["staff"].id]["displayName"] == "Staff"  # unchanged properties come with it


def test_renamed_and_deleted_groups(directory):
    tenant, client, _users, groups, _pages, link = directory
    tenant.rename_group(groups["staff"].id, "All Staff")
    tenant.delete_group(groups["empty"].id)
    pages, _next = client.round(link)
    by_id = {i["id"]: i for i in items(pages)}
    assert by_id[groups["staff"].id]["displayName"] == "All Staff"
    assert "members@delta" not in by_id[groups["staff"].id]  # membership did not change
    assert by_id[groups["empty"].id] == {"id": groups["empty"].id, "@removed": {"reason": "deleted"}}


def test_deleting_a_nested_group_removes_it_from_its_parent(directory):
    tenant, client, _users, groups, _pages, link = directory
    tenant.delete_group(groups["admins"].id)
    records = merged(client.round(link)[0])
    assert records[groups["admins"].id]["@removed"] == {"reason": "deleted"}
    assert records[groups["staff"].id]["removed"] == [(GROUP, groups["admins"].id)]


def test_soft_deleted_members_leave_and_restored_members_return(directory):
    tenant, client, users, groups, _pages, link = directory
    tenant.soft_delete_user(users[2].id)
    pages, link = client.round(link)
    assert merged(pages)[groups["staff"].id]["removed"] == [(USER, users[2].id)]
    tenant.restore_user(users[2].id)
    pages, _link = client.round(link)
    assert merged(pages)[groups["staff"].id]["members"] == [(USER, users[2].id)]


def test_purged_users_leave_their_groups(directory):
    tenant, client, users, groups, _pages, link = directory
    tenant.soft_delete_user(users[7].id)
    tenant.advance_clock(timedelta(days=5))
    pages, link = client.round(link)
    tenant.advance_clock(timedelta(days=5))
    pages, link = client.round(link)
    assert items(pages) == []
    tenant.purge_user(users[7].id)
    pages, _link = client.round(link)
    assert merged(pages)[groups["admins"].id]["removed"] == [(USER, users[7].id)]


def test_return_minimal_on_groups(directory):
    tenant, client, _users, groups, _pages, link = directory
    tenant.update_group(groups["staff"].id, description="Everyone at Contoso")
    response = client.get(link, headers={"Prefer": "return=minimal"})
    assert response.json()["value"] == [{"id": groups["staff"].id, "description": "Everyone at Contoso"}]


# ---------------------------------------------------------------- refusals and permissions
@pytest.mark.parametrize("params", [{"$expand": "owners"}, {"$expand": "members($select=id)"}, {"$top": "2"},
                                    {"$orderby": "displayName"}])
def test_groups_delta_refuses_other_options(directory, params):
    _tenant, client, *_rest = directory
    assert_error(client.get("/groups/delta", params=params), 400, "Request_UnsupportedQuery")


def test_groups_delta_needs_group_read_permission(directory):
    tenant, client, *_rest = directory
    users_only = tenant.register_application("users only", permissions=["User.Read.All"])
    assert_error(Client(client.server, users_only.appId).get("/groups/delta"), 403, "Authorization_RequestDenied")
    members_only = tenant.register_application("members only", permissions=["GroupMember.Read.All"])
    assert Client(client.server, members_only.appId).get("/groups/delta").status_code == 200
