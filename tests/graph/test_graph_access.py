"""Who may call Graph, and how refusals look: 401 for tokens, 403 for permissions, Graph's error body and headers."""

from __future__ import annotations

import json
import uuid

import requests

from simulator.clock import Clock
from simulator.tenant import Tenant

from msal_tokens import msal_token



def get(server, path: str, token: str | None = None, headers: dict | None = None, **kwargs) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    session.verify = server.ca
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    return session.get(f"{server.graph_url}{path}", headers=all_headers, **kwargs)


def populated(graph_server):
    server = graph_server()
    user = server.tenant.create_user(userPrincipalName=f"ann@{server.tenant.primary_domain}", givenName="Ann")
    group = server.tenant.create_group(displayName="Staff", members=[user.id])
    return server, user, group


def error_of(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    return error


def test_missing_and_empty_tokens(graph_server):
    server, _user, _group = populated(graph_server)
    for headers in ({}, {"Authorization": ""}, {"Authorization": "Bearer "}, {"Authorization": "Bearer"}):
        response = get(server, "/users", headers=headers)
        error = error_of(response, 401, "InvalidAuthenticationToken")
        assert error["message"] == "Access token is empty."
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm=""')


def test_invalid_tokens(graph_server):
    server, _user, _group = populated(graph_server)
    assert error_of(get(server, "/users", token="not-a-jwt"), 401, "InvalidAuthenticationToken")["message"] \
        == "CompactToken parsing failed with error code: 80049217"
    token = msal_token(server)
    header, payload, signature = token.split(".")
    tampered = ".".join([header, payload, signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")])
    assert error_of(get(server, "/users", token=tampered), 401, "InvalidAuthenticationToken")["message"] \
        == "Access token validation failure."


def test_expired_token_after_the_clock_passes_exp_and_skew(graph_server):
    server, _user, _group = populated(graph_server)
    token = msal_token(server)
    assert get(server, "/users", token=token).status_code == 200
    server.tenant.advance_clock(3599 + 300 - 10)
    assert get(server, "/users", token=token).status_code == 200, "still inside the tolerated clock skew"
    server.tenant.advance_clock(20)
    error = error_of(get(server, "/users", token=token), 401, "InvalidAuthenticationToken")
    assert error["message"] == "Lifetime validation failed, the token is expired."


def test_token_of_another_tenant_is_refused(graph_server):
    server_a, _user, _group = populated(graph_server)
    other = Tenant(seed=2, clock=Clock.frozen_at("2026-01-15T09:00:00Z"), domain="fabrikam.onmicrosoft.com")
    other.register_application("fabrikam LMS")
    server_b = graph_server(other)
    assert server_a.tenant.id != server_b.tenant.id
    foreign = msal_token(server_b)
    assert get(server_b, "/users", token=foreign).status_code == 200
    error = error_of(get(server_a, "/users", token=foreign), 401, "InvalidAuthenticationToken")
    assert error["message"] == "Access token validation failure. Invalid issuer."


def test_no_consent_means_no_roles_and_403_everywhere(graph_server):
    server, user, group = populated(graph_server)
    server.tenant.revoke_consent(server.client_id)
    token = msal_token(server)
    for path in ("/users", f"/users/{user.id}", f"/users/{user.id}/manager", f"/users/{user.id}/memberOf",
                 "/groups", f"/groups/{group.id}", f"/groups/{group.id}/members",
                 f"/groups/{group.id}/transitiveMembers/microsoft.graph.user"):
        error = error_of(get(server, path, token=token), 403, "Authorization_RequestDenied")
        assert error["message"] == "Insufficient privileges to complete the operation."


def test_user_read_all_alone_reads_users_but_not_groups(graph_server):
    server, user, group = populated(graph_server)
    server.tenant.grant_consent(server.client_id, ["User.Read.All"])
    token = msal_token(server)
    assert get(server, "/users", token=token).status_code == 200
    assert get(server, f"/users/{user.id}", token=token).status_code == 200
    for path in ("/groups", f"/groups/{group.id}", f"/groups/{group.id}/members", f"/users/{user.id}/memberOf"):
        error_of(get(server, path, token=token), 403, "Authorization_RequestDenied")


def test_group_member_read_all_alone_reads_groups_but_not_users(graph_server):
    server, user, group = populated(graph_server)
    server.tenant.grant_consent(server.client_id, ["GroupMember.Read.All"])
    token = msal_token(server)
    members = get(server, f"/groups/{group.id}/members", token=token)
    assert [m["id"] for m in members.json()["value"]] == [user.id]
    error_of(get(server, "/users", token=token), 403, "Authorization_RequestDenied")


def test_directory_read_all_covers_users_and_groups(graph_server):
    server, user, group = populated(graph_server)
    server.tenant.grant_consent(server.client_id, ["Directory.Read.All"])
    token = msal_token(server)
    for path in ("/users", f"/users/{user.id}/memberOf", "/groups", f"/groups/{group.id}/members", "/organization"):
        assert get(server, path, token=token).status_code == 200, path


def test_error_body_and_headers_carry_the_request_ids(graph_server):
    server, _user, _group = populated(graph_server)
    token = msal_token(server)
    client_request_id = str(uuid.uuid4())
    response = get(server, "/groups/not-a-guid", token=token, headers={"client-request-id": client_request_id})
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "innerError"}
    inner = body["error"]["innerError"]
    assert set(inner) == {"date", "request-id", "client-request-id"}
    assert inner["client-request-id"] == client_request_id == response.headers["client-request-id"]
    assert inner["request-id"] == response.headers["request-id"]
    uuid.UUID(inner["request-id"])
    assert len(inner["date"]) == len("2021-05-23T06:39:06") and inner["date"][10] == "T"
    json.loads(response.headers["x-ms-ags-diagnostic"])


def test_success_headers(graph_server):
    server, user, group = populated(graph_server)
    token = msal_token(server)
    response = get(server, "/users", token=token)
    assert response.headers["Content-Type"] == ("application/json;odata.metadata=minimal;odata.streaming=true;"
                                                "IEEE754Compatible=false;charset=utf-8")
    uuid.UUID(response.headers["request-id"])
    assert response.headers["client-request-id"] == response.headers["request-id"]
    assert "ServerInfo" in json.loads(response.headers["x-ms-ags-diagnostic"])


def test_resource_unit_costs_follow_the_throttling_table(graph_server):
    server, user, group = populated(graph_server)
    token = msal_token(server)

    def cost(path: str, **params: str) -> int:
        return int(get(server, path, token=token, params=params).headers["x-ms-resource-unit"])

    assert cost("/users") == 2
    assert cost("/users", **{"$select": "id"}) == 1
    assert cost(f"/groups/{group.id}/members") == 3
    assert cost(f"/groups/{group.id}/members", **{"$top": "5"}) == 2
    assert cost(f"/groups/{group.id}/members", **{"$top": "5", "$select": "id"}) == 1
    assert cost(f"/groups/{group.id}/transitiveMembers") == 5
    assert cost(f"/users/{user.id}/memberOf") == 2
    assert cost(f"/users/{user.id}", **{"$expand": "manager"}) == 2
    assert cost(f"/groups/{group.id}") == 1
