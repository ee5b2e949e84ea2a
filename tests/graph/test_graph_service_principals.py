"""``/servicePrincipals/{id}`` and ``appRoleAssignedTo``: the provisioning app's assignments over HTTP."""

from __future__ import annotations

import pytest
import requests

from simulator.tenant.model import DEFAULT_ACCESS_ROLE_ID

from msal_tokens import msal_token



def session_for(server) -> requests.Session:
    http = requests.Session()
    http.trust_env = False
    http.verify = server.ca
    http.headers["Authorization"] = f"Bearer {msal_token(server)}"
    return http


def reader_server(graph_server):
    """A server whose app has consent to read the provisioning app (Application.Read.All), as an admin grants it."""
    server = graph_server()
    server.tenant.grant_consent(server.client_id, ["User.Read.All", "Group.Read.All", "Application.Read.All"])
    return server


@pytest.fixture
def assigned(graph_server):
    """Ann assigned directly, the group Learners (Bob inside) assigned as "Teacher", Cid not assigned."""
    server = reader_server(graph_server)
    t = server.tenant
    ann = t.create_user(userPrincipalName=f"ann@{t.primary_domain}", displayName="Ann")
    bob = t.create_user(userPrincipalName=f"bob@{t.primary_domain}", displayName="Bob")
    t.create_user(userPrincipalName=f"cid@{t.primary_domain}", displayName="Cid")
    learners = t.create_group(displayName="Learners", members=[bob.id])
    t.assign(ann.id)
    t.assign(learners.id, app_role="Teacher")
    return server, session_for(server), ann, learners


def test_service_principal_is_the_provisioning_app(assigned):
    server, http, _ann, _learners = assigned
    sp = server.tenant.provisioning_app
    response = http.get(f"{server.graph_url}/servicePrincipals/{sp.id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == sp.id
    assert body["appId"] == sp.appId
    assert body["displayName"] == "entrasim LMS (provisioning)"
    assert body["@odata.context"].endswith("#servicePrincipals/$entity")


def test_app_role_assigned_to_lists_users_and_groups(assigned):
    server, http, ann, learners = assigned
    sp = server.tenant.provisioning_app
    response = http.get(f"{server.graph_url}/servicePrincipals/{sp.id}/appRoleAssignedTo")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith(f"#servicePrincipals('{sp.id}')/appRoleAssignedTo")
    by_principal = {item["principalId"]: item for item in body["value"]}
    assert set(by_principal) == {ann.id, learners.id}
    user_item, group_item = by_principal[ann.id], by_principal[learners.id]
    assert user_item["principalType"] == "User"
    assert user_item["principalDisplayName"] == "Ann"
    assert user_item["appRoleId"] == DEFAULT_ACCESS_ROLE_ID
    assert user_item["resourceId"] == sp.id
    assert user_item["resourceDisplayName"] == "entrasim LMS (provisioning)"
    assert user_item["createdDateTime"] == "2026-01-15T09:00:00Z"
    assert group_item["principalType"] == "Group"
    assert group_item["principalDisplayName"] == "Learners"
    assert group_item["appRoleId"] not in (DEFAULT_ACCESS_ROLE_ID, "")
    assert user_item["id"] != group_item["id"]


def test_app_role_assigned_to_pages_with_next_link(graph_server):
    server = reader_server(graph_server)
    t = server.tenant
    users = [t.create_user(userPrincipalName=f"p{i}@{t.primary_domain}") for i in range(5)]
    for user in users:
        t.assign(user.id)
    http = session_for(server)
    url = f"{server.graph_url}/servicePrincipals/{t.provisioning_app.id}/appRoleAssignedTo?$top=2"
    seen, pages = [], 0
    while url:
        body = http.get(url).json()
        seen.extend(item["principalId"] for item in body["value"])
        url = body.get("@odata.nextLink")
        pages += 1
    assert pages == 3
    assert seen == [u.id for u in users]


def test_unassigned_principal_disappears(assigned):
    server, http, ann, learners = assigned
    server.tenant.unassign(ann.id)
    sp = server.tenant.provisioning_app
    body = http.get(f"{server.graph_url}/servicePrincipals/{sp.id}/appRoleAssignedTo").json()
    assert [item["principalId"] for item in body["value"]] == [learners.id]


def test_unknown_and_malformed_ids(assigned):
    server, http, _ann, _learners = assigned
    unknown = "11111111-2222-4333-8444-555555555555"
    response = http.get(f"{server.graph_url}/servicePrincipals/{unknown}/appRoleAssignedTo")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "Request_ResourceNotFound"
    response = http.get(f"{server.graph_url}/servicePrincipals/not-a-guid")
    assert response.status_code == 400


def test_needs_application_read_permission(assigned):
    server, _http, _ann, _learners = assigned
    server.tenant.grant_consent(server.client_id, ["User.Read.All", "Group.Read.All"])
    http = session_for(server)
    sp = server.tenant.provisioning_app
    response = http.get(f"{server.graph_url}/servicePrincipals/{sp.id}/appRoleAssignedTo")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "Authorization_RequestDenied"
    server.tenant.grant_consent(server.client_id, ["Directory.Read.All"])
    response = session_for(server).get(f"{server.graph_url}/servicePrincipals/{sp.id}/appRoleAssignedTo")
    assert response.status_code == 200



def test_plugin_info_names_the_provisioning_app(graph_server):
    server = graph_server()
    assert server.info["provisioning_service_principal_id"] == server.tenant.provisioning_app.id
