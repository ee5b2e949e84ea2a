"""Graph v1.0 directory endpoints over HTTPS with plain `requests` and an msal token.

Each test builds its own small tenant directly with the model's API and states
what a client must see: shapes, ids, ``@odata.context``, ``@odata.type``, casts,
nesting, soft-deleted users, and Graph's errors for bad identifiers.
"""

from __future__ import annotations

import pytest
import requests

from simulator.tenant import guest_upn

from msal_tokens import msal_token

METADATA = "https://graph.microsoft.com/v1.0/$metadata"
USER_DEFAULT_KEYS = {"businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone",
                     "officeLocation", "preferredLanguage", "surname", "userPrincipalName"}
UNKNOWN_ID = "00000000-0000-4000-8000-000000000001"
NOT_PRESENT = "does not exist or one of its queried reference-property objects are not present."


def graph(server) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = server.ca
    session.headers["Authorization"] = f"Bearer {msal_token(server)}"
    return session


def build_directory(tenant):
    """Alice reports to Bob; Carol is a B2B guest; Platform is nested in Engineering; Dave will be soft-deleted."""
    domain = tenant.primary_domain
    bob = tenant.create_user(userPrincipalName=f"bob@{domain}", givenName="Bob", surname="Baker", mail=f"bob@{domain}",
                             department="Engineering", jobTitle="Lead")
    alice = tenant.create_user(userPrincipalName=f"alice@{domain}", givenName="Alice", surname="Adams",
                               mail=f"alice@{domain}", department="Engineering", managerId=bob.id)
    carol = tenant.create_user(userPrincipalName=guest_upn("carol@fabrikam.com", domain), givenName="Carol",
                               surname="Clark", mail="carol@fabrikam.com")
    dave = tenant.create_user(userPrincipalName=f"dave@{domain}", givenName="Dave", surname="Dunn")
    platform = tenant.create_group(displayName="Platform", members=[carol.id, dave.id])
    engineering = tenant.create_group(displayName="Engineering", members=[alice.id, bob.id, platform.id])
    empty = tenant.create_group(displayName="Engineering")  # display names are not unique in Entra
    return dict(alice=alice, bob=bob, carol=carol, dave=dave, platform=platform, engineering=engineering,
                        empty=empty)


@pytest.fixture
def directory(graph_server):
    server = graph_server()
    objects = build_directory(server.tenant)
    return server, graph(server), objects


def assert_graph_error(response: requests.Response, status: int, code: str, message: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    if message is not None:
        assert error["message"] == message
    return error


# ---------------------------------------------------------------------- users
def test_list_users_returns_default_properties_without_odata_type(directory):
    server, s, objs = directory
    body = s.get(f"{server.graph_url}/users").json()
    assert body["@odata.context"] == f"{METADATA}#users"
    assert "@odata.nextLink" not in body
    assert {u["id"] for u in body["value"]} == {objs[n].id for n in ("alice", "bob", "carol", "dave")}
    for user in body["value"]:
        assert set(user) == USER_DEFAULT_KEYS
    alice = next(u for u in body["value"] if u["id"] == objs["alice"].id)
    assert alice["displayName"] == "Alice Adams" and alice["mail"] == objs["alice"].mail


def test_select_limits_properties_and_names_them_in_the_context(directory):
    server, s, objs = directory
    body = s.get(f"{server.graph_url}/users", params={"$select": "id,department,accountEnabled"}).json()
    assert body["@odata.context"] == f"{METADATA}#users(id,department,accountEnabled)"
    alice = next(u for u in body["value"] if u["id"] == objs["alice"].id)
    assert alice == {"id": objs["alice"].id, "department": "Engineering", "accountEnabled": True}


def test_get_user_by_id_and_by_upn_including_a_guest_upn(directory):
    server, s, objs = directory
    by_id = s.get(f"{server.graph_url}/users/{objs['alice'].id}").json()
    assert by_id["@odata.context"] == f"{METADATA}#users/$entity"
    assert by_id["userPrincipalName"] == objs["alice"].userPrincipalName
    by_upn = s.get(f"{server.graph_url}/users/{objs['alice'].userPrincipalName.upper()}").json()
    assert by_upn["id"] == objs["alice"].id
    guest = s.get(f"{server.graph_url}/users/{requests.utils.quote(objs['carol'].userPrincipalName)}").json()
    assert guest["id"] == objs["carol"].id
    selected = s.get(f"{server.graph_url}/users/{objs['bob'].id}", params={"$select": "displayName,jobTitle"}).json()
    assert selected == {"@odata.context": f"{METADATA}#users(displayName,jobTitle)/$entity",
                        "displayName": "Bob Baker", "jobTitle": "Lead", "id": objs["bob"].id}


def test_invalid_object_identifier_and_unknown_ids(directory):
    server, s, _objs = directory
    assert_graph_error(s.get(f"{server.graph_url}/users/not-a-guid"), 400, "Request_BadRequest",
                       "Invalid object identifier 'not-a-guid'.")
    assert_graph_error(s.get(f"{server.graph_url}/groups/not-a-guid"), 400, "Request_BadRequest",
                       "Invalid object identifier 'not-a-guid'.")
    assert_graph_error(s.get(f"{server.graph_url}/groups/not-a-guid/members"), 400, "Request_BadRequest",
                       "Invalid object identifier 'not-a-guid'.")
    not_found = f"Resource '{UNKNOWN_ID}' {NOT_PRESENT}"
    assert_graph_error(s.get(f"{server.graph_url}/users/{UNKNOWN_ID}"), 404, "Request_ResourceNotFound", not_found)
    assert_graph_error(s.get(f"{server.graph_url}/groups/{UNKNOWN_ID}"), 404, "Request_ResourceNotFound", not_found)
    assert_graph_error(s.get(f"{server.graph_url}/groups/{UNKNOWN_ID}/transitiveMembers"), 404,
                       "Request_ResourceNotFound", not_found)
    assert_graph_error(s.get(f"{server.graph_url}/users/nobody@contoso.onmicrosoft.com"), 404,
                       "Request_ResourceNotFound")


def test_a_user_id_is_not_a_group(directory):
    server, s, objs = directory
    assert_graph_error(s.get(f"{server.graph_url}/groups/{objs['alice'].id}"), 404, "Request_ResourceNotFound")


def test_manager_is_a_directory_object_with_its_type(directory):
    server, s, objs = directory
    body = s.get(f"{server.graph_url}/users/{objs['alice'].id}/manager").json()
    assert body["@odata.context"] == f"{METADATA}#directoryObjects/$entity"
    assert body["@odata.type"] == "#microsoft.graph.user"
    assert body["id"] == objs["bob"].id and body["displayName"] == "Bob Baker"


def test_no_manager_is_a_404_about_the_manager(directory):
    server, s, objs = directory
    assert_graph_error(s.get(f"{server.graph_url}/users/{objs['bob'].id}/manager"), 404, "Request_ResourceNotFound",
                       f"Resource 'manager' {NOT_PRESENT}")


def test_expand_manager_with_select_inside(directory):
    server, s, objs = directory
    body = s.get(f"{server.graph_url}/users",
                 params={"$select": "id,displayName", "$expand": "manager($select=id,displayName)"}).json()
    by_id = {u["id"]: u for u in body["value"]}
    assert by_id[objs["alice"].id]["manager"] == {"@odata.type": "#microsoft.graph.user", "id": objs["bob"].id,
                                                  "displayName": "Bob Baker"}
    assert "manager" not in by_id[objs["bob"].id]
    single = s.get(f"{server.graph_url}/users/{objs['alice'].id}", params={"$expand": "manager"}).json()
    assert single["manager"]["id"] == objs["bob"].id
    assert single["manager"]["userPrincipalName"] == objs["bob"].userPrincipalName


def test_expand_is_refused_with_advanced_queries(directory):
    server, s, _objs = directory
    response = s.get(f"{server.graph_url}/users", params={"$expand": "manager", "$count": "true"},
                     headers={"ConsistencyLevel": "eventual"})
    assert_graph_error(response, 400, "Request_UnsupportedQuery")


def test_member_of_direct_and_transitive_with_casts(directory):
    server, s, objs = directory
    carol = objs["carol"].id
    direct = s.get(f"{server.graph_url}/users/{carol}/memberOf").json()
    assert direct["@odata.context"] == f"{METADATA}#directoryObjects"
    assert [(g["@odata.type"], g["id"]) for g in direct["value"]] == [("#microsoft.graph.group", objs["platform"].id)]
    nested = s.get(f"{server.graph_url}/users/{carol}/transitiveMemberOf").json()
    assert {g["id"] for g in nested["value"]} == {objs["platform"].id, objs["engineering"].id}
    assert all(g["@odata.type"] == "#microsoft.graph.group" for g in nested["value"])
    cast = s.get(f"{server.graph_url}/users/{carol}/transitiveMemberOf/microsoft.graph.group",
                 params={"$select": "id,displayName"}).json()
    assert cast["@odata.context"] == f"{METADATA}#groups(id,displayName)"
    assert {g["displayName"] for g in cast["value"]} == {"Platform", "Engineering"}
    roles = s.get(f"{server.graph_url}/users/{carol}/memberOf/microsoft.graph.directoryRole").json()
    assert roles["value"] == [] and roles["@odata.context"] == f"{METADATA}#directoryRoles"
    assert_graph_error(s.get(f"{server.graph_url}/users/{carol}/memberOf/microsoft.graph.user"), 400,
                       "Request_UnsupportedQuery")


def test_count_segment_with_an_advanced_filter(directory):
    server, s, _objs = directory
    url = f"{server.graph_url}/users/$count"
    params = {"$filter": "endswith(mail,'@fabrikam.com')"}
    response = s.get(url, params=params, headers={"ConsistencyLevel": "eventual"})
    assert response.status_code == 200 and response.text == "1"
    assert_graph_error(s.get(url, params=params), 400, "Request_BadRequest", "$count is not currently supported.")
    listed = s.get(f"{server.graph_url}/users", params={**params, "$count": "true"},
                   headers={"ConsistencyLevel": "eventual"}).json()
    assert listed["@odata.count"] == 1 and listed["value"][0]["mail"] == "carol@fabrikam.com"


def test_soft_deleted_users_are_hidden_until_restored(directory):
    server, s, objs = directory
    dave = objs["dave"]
    server.tenant.soft_delete_user(dave.id)
    listed = {u["id"] for u in s.get(f"{server.graph_url}/users").json()["value"]}
    assert dave.id not in listed and objs["alice"].id in listed
    assert_graph_error(s.get(f"{server.graph_url}/users/{dave.id}"), 404, "Request_ResourceNotFound")
    assert_graph_error(s.get(f"{server.graph_url}/users/{dave.userPrincipalName}"), 404, "Request_ResourceNotFound")
    members = s.get(f"{server.graph_url}/groups/{objs['platform'].id}/members").json()["value"]
    assert [m["id"] for m in members] == [objs["carol"].id]
    nested = s.get(f"{server.graph_url}/groups/{objs['engineering'].id}/transitiveMembers").json()["value"]
    assert dave.id not in {m["id"] for m in nested}
    server.tenant.restore_user(dave.id)
    members = s.get(f"{server.graph_url}/groups/{objs['platform'].id}/members").json()["value"]
    assert {m["id"] for m in members} == {objs["carol"].id, dave.id}


# ---------------------------------------------------------------------- groups
def test_list_groups_and_get_one(directory):
    server, s, objs = directory
    body = s.get(f"{server.graph_url}/groups").json()
    assert body["@odata.context"] == f"{METADATA}#groups"
    names = sorted(g["displayName"] for g in body["value"])
    assert names == ["Engineering", "Engineering", "Platform"]
    assert all("@odata.type" not in g for g in body["value"])
    one = s.get(f"{server.graph_url}/groups/{objs['platform'].id}").json()
    assert one["@odata.context"] == f"{METADATA}#groups/$entity"
    assert one["id"] == objs["platform"].id and one["securityEnabled"] is True and one["groupTypes"] == []


def test_members_carry_their_odata_type(directory):
    server, s, objs = directory
    body = s.get(f"{server.graph_url}/groups/{objs['engineering'].id}/members").json()
    assert body["@odata.context"] == f"{METADATA}#directoryObjects"
    assert [(m["@odata.type"], m["id"]) for m in body["value"]] == [
        ("#microsoft.graph.user", objs["alice"].id), ("#microsoft.graph.user", objs["bob"].id),
        ("#microsoft.graph.group", objs["platform"].id)]
    selected = s.get(f"{server.graph_url}/groups/{objs['engineering'].id}/members",
                     params={"$select": "id,displayName"}).json()
    assert selected["@odata.context"] == f"{METADATA}#directoryObjects(id,displayName)"
    assert selected["value"][2] == {"@odata.type": "#microsoft.graph.group", "id": objs["platform"].id,
                                    "displayName": "Platform"}


def test_member_casts_narrow_to_one_type(directory):
    server, s, objs = directory
    base = f"{server.graph_url}/groups/{objs['engineering'].id}"
    users = s.get(f"{base}/members/microsoft.graph.user").json()
    assert users["@odata.context"] == f"{METADATA}#users"
    assert [u["id"] for u in users["value"]] == [objs["alice"].id, objs["bob"].id]
    groups = s.get(f"{base}/members/microsoft.graph.group", params={"$select": "displayName,id"}).json()
    assert groups["@odata.context"] == f"{METADATA}#groups(displayName,id)"
    assert [g["id"] for g in groups["value"]] == [objs["platform"].id]
    nested_users = s.get(f"{base}/transitiveMembers/microsoft.graph.user").json()["value"]
    assert {u["id"] for u in nested_users} == {objs[n].id for n in ("alice", "bob", "carol", "dave")}
    devices = s.get(f"{base}/members/microsoft.graph.device").json()
    assert devices["value"] == []
    assert_graph_error(s.get(f"{base}/members/microsoft.graph.directoryRole"), 400, "Request_UnsupportedQuery")
    assert_graph_error(s.get(f"{base}/members/microsoft.graph.message"), 400, "BadRequest",
                       "Resource not found for the segment 'microsoft.graph.message'.")


def expected_transitive(tenant, root_id: str) -> set[str]:
    """Every user and group reachable from ``root_id`` through nesting, computed here, apart from the server."""
    found: set[str] = set()
    stack, seen_groups = [root_id], {root_id}
    while stack:
        for member in tenant.groups[stack.pop()].members:
            if member in tenant.users or member in tenant.groups:
                found.add(member)
            if member in tenant.groups and member not in seen_groups:
                seen_groups.add(member)
                stack.append(member)
    return found


def test_transitive_members_with_deep_nesting_and_a_cycle(graph_server):
    server = graph_server()
    tenant = server.tenant
    domain = tenant.primary_domain
    users = [tenant.create_user(userPrincipalName=f"n{i}@{domain}") for i in range(9)]
    a = tenant.create_group(displayName="A", members=[users[0].id, users[1].id])
    b = tenant.create_group(displayName="B", members=[users[2].id, users[3].id, users[0].id])
    c = tenant.create_group(displayName="C", members=[users[4].id])
    d = tenant.create_group(displayName="D", members=[users[5].id, users[6].id])
    tenant.add_member(a.id, b.id)
    tenant.add_member(b.id, c.id)
    tenant.add_member(c.id, d.id)
    tenant.add_member(d.id, b.id)  # B -> C -> D -> B
    s = graph(server)
    body = s.get(f"{server.graph_url}/groups/{a.id}/transitiveMembers").json()
    ids = [m["id"] for m in body["value"]]
    assert len(ids) == len(set(ids)), "each object once, even through a cycle"
    assert set(ids) == expected_transitive(tenant, a.id)
    assert {users[i].id for i in range(7)} <= set(ids)
    assert users[7].id not in ids
    types = {m["id"]: m["@odata.type"] for m in body["value"]}
    assert types[b.id] == types[c.id] == types[d.id] == "#microsoft.graph.group"
    direct = [m["id"] for m in s.get(f"{server.graph_url}/groups/{a.id}/members").json()["value"]]
    assert direct == [users[0].id, users[1].id, b.id]


def test_expand_members_returns_at_most_twenty_without_a_next_link(graph_server):
    server = graph_server()
    tenant = server.tenant
    users = [tenant.create_user(userPrincipalName=f"m{i}@{tenant.primary_domain}") for i in range(25)]
    big = tenant.create_group(displayName="Big", members=[u.id for u in users])
    s = graph(server)
    one = s.get(f"{server.graph_url}/groups/{big.id}", params={"$expand": "members($select=id)"}).json()
    assert [m["id"] for m in one["members"]] == [u.id for u in users[:20]]
    assert all(m["@odata.type"] == "#microsoft.graph.user" for m in one["members"])
    assert not any(key.startswith("members@") for key in one)
    listed = s.get(f"{server.graph_url}/groups", params={"$expand": "members"}).json()
    assert len(listed["value"][0]["members"]) == 20


# ---------------------------------------------------------------------- organization
def test_organization_needs_an_organization_or_directory_permission(directory):
    server, s, _objs = directory
    assert_graph_error(s.get(f"{server.graph_url}/organization"), 403, "Authorization_RequestDenied")
    server.tenant.grant_consent(server.client_id, ["User.Read.All", "Directory.Read.All"])
    s = graph(server)
    body = s.get(f"{server.graph_url}/organization").json()
    assert body["@odata.context"] == f"{METADATA}#organization"
    [org] = body["value"]
    assert org["id"] == server.tenant.id and org["displayName"] == server.tenant.displayName
    assert org["verifiedDomains"][0]["name"] == server.tenant.primary_domain
    assert org["verifiedDomains"][0]["isDefault"] is True
    assert org["createdDateTime"] == "2026-01-15T09:00:00Z"
    one = s.get(f"{server.graph_url}/organization/{server.tenant.id}", params={"$select": "id,displayName"}).json()
    assert one == {"@odata.context": f"{METADATA}#organization(id,displayName)/$entity", "id": server.tenant.id,
                   "displayName": server.tenant.displayName}
    assert_graph_error(s.get(f"{server.graph_url}/organization", params={"$select": "shoeSize"}), 400, "BadRequest")


# ---------------------------------------------------------------------- routing
def test_unknown_segments_name_the_first_segment_graph_cannot_resolve(directory):
    server, s, objs = directory
    cases = {"/frobnicate": "frobnicate", "/frobnicate/users": "frobnicate",
             f"/users/{objs['alice'].id}/frobnicate": "frobnicate",
             f"/groups/{objs['platform'].id}/owners": "owners",
             f"/groups/{objs['platform'].id}/members/microsoft.graph.user/extra": "extra"}
    for path, segment in cases.items():
        assert_graph_error(s.get(f"{server.graph_url}{path}"), 400, "BadRequest",
                           f"Resource not found for the segment '{segment}'.")
    anonymous = requests.get(f"{server.graph_url}/frobnicate", verify=server.ca)
    assert_graph_error(anonymous, 400, "BadRequest", "Resource not found for the segment 'frobnicate'.")


def test_methods_the_read_only_directory_does_not_serve(directory):
    server, s, objs = directory
    for method, path in (("POST", "/users"), ("PATCH", f"/users/{objs['alice'].id}"),
                         ("DELETE", f"/groups/{objs['platform'].id}")):
        response = s.request(method, f"{server.graph_url}{path}", json={})
        assert response.status_code == 405, response.text
        assert response.json()["error"]["code"] == "Request_BadRequest"
        assert response.headers["request-id"]


def test_service_document_lists_the_entity_sets(directory):
    server, _s, _objs = directory
    body = requests.get(f"{server.graph_url}/", verify=server.ca).json()
    assert body["@odata.context"] == METADATA
    assert {entry["name"] for entry in body["value"]} == {"users", "groups", "organization"}
