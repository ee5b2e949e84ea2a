"""OpenID configuration, JWKS and instance discovery; injected faults and the request log of the identity platform."""

from __future__ import annotations

import uuid

import msal
import pytest
import requests

from simulator.graph.tokens import process_signing_key

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
#: Keys of the real v2.0 document (reference 1.3), in Entra's order.
V2_KEYS = ["token_endpoint", "token_endpoint_auth_methods_supported", "jwks_uri", "response_modes_supported",
           "subject_types_supported", "id_token_signing_alg_values_supported", "response_types_supported",
           "scopes_supported", "issuer", "request_uri_parameter_supported", "userinfo_endpoint", "authorization_endpoint",
           "device_authorization_endpoint", "http_logout_supported", "frontchannel_logout_supported",
           "end_session_endpoint", "claims_supported", "kerberos_endpoint", "tenant_region_scope", "cloud_instance_name",
           "cloud_graph_host_name", "msgraph_host", "rbac_url"]


def http(server) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = server.ca
    return session


def test_v2_openid_configuration(graph_server):
    server = graph_server()
    tid = server.tenant.id

    response = http(server).get(f"{server.authority}/v2.0/.well-known/openid-configuration")

    assert response.status_code == 200
    doc = response.json()
    assert list(doc) == V2_KEYS
    assert doc["token_endpoint"] == f"{server.url}/{tid}/oauth2/v2.0/token"
    assert doc["jwks_uri"] == f"{server.url}/{tid}/discovery/v2.0/keys"
    assert doc["issuer"] == f"{server.url}/{tid}/v2.0"
    assert doc["authorization_endpoint"] == f"{server.url}/{tid}/oauth2/v2.0/authorize"
    assert doc["token_endpoint_auth_methods_supported"] == ["client_secret_post", "private_key_jwt", "client_secret_basic"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["msgraph_host"] == "graph.microsoft.com"
    assert doc["request_uri_parameter_supported"] is False


def test_openid_configuration_by_domain_names_the_tenant_by_id(graph_server):
    server = graph_server()
    doc = http(server).get(f"{server.url}/{server.tenant.primary_domain.upper()}/v2.0/.well-known/openid-configuration").json()

    assert doc["token_endpoint"] == f"{server.url}/{server.tenant.id}/oauth2/v2.0/token"
    assert doc["issuer"] == f"{server.url}/{server.tenant.id}/v2.0"


@pytest.mark.parametrize("segment", ["common", "organizations"])
def test_multi_tenant_documents_use_the_tenantid_template(graph_server, segment):
    server = graph_server()
    doc = http(server).get(f"{server.url}/{segment}/v2.0/.well-known/openid-configuration").json()

    assert doc["issuer"] == f"{server.url}/{{tenantid}}/v2.0"
    assert doc["token_endpoint"] == f"{server.url}/{segment}/oauth2/v2.0/token"
    assert doc["tenant_region_scope"] is None


def test_v1_openid_configuration(graph_server):
    server = graph_server()
    doc = http(server).get(f"{server.authority}/.well-known/openid-configuration").json()

    assert doc["issuer"] == f"https://sts.windows.net/{server.tenant.id}/"
    assert doc["token_endpoint"] == f"{server.url}/{server.tenant.id}/oauth2/token"
    assert doc["jwks_uri"] == f"{server.url}/common/discovery/keys"


@pytest.mark.parametrize("path", ["/v2.0/.well-known/openid-configuration", "/.well-known/openid-configuration",
                                  "/discovery/v2.0/keys", "/discovery/keys"])
def test_unknown_tenant_at_discovery(graph_server, path):
    server = graph_server()
    tenant = str(uuid.uuid4())

    response = http(server).get(f"{server.url}/{tenant}{path}")

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_tenant"
    assert body["error_codes"] == [90002]
    assert body["error_description"].startswith(f"AADSTS90002: Tenant '{tenant}' not found.")


def test_jwks_v2_lists_the_signing_key(graph_server):
    server = graph_server()
    jwks = http(server).get(f"{server.authority}/discovery/v2.0/keys").json()

    (key,) = jwks["keys"]
    assert key["kid"] == key["x5t"] == process_signing_key().kid
    assert key["kty"] == "RSA" and key["use"] == "sig" and key["e"] == "AQAB"
    assert key["issuer"] == f"{server.url}/{server.tenant.id}/v2.0"
    assert key["x5c"]


@pytest.mark.parametrize("tenant_path", ["common", "TENANT"])
def test_jwks_v1_has_no_issuer(graph_server, tenant_path):
    server = graph_server()
    segment = server.tenant.id if tenant_path == "TENANT" else tenant_path
    (key,) = http(server).get(f"{server.url}/{segment}/discovery/keys").json()["keys"]

    assert key["kid"] == process_signing_key().kid
    assert "issuer" not in key


def test_instance_discovery_points_at_this_server(graph_server):
    server = graph_server()
    authorize = f"https://localhost/{server.tenant.id}/oauth2/v2.0/authorize"

    response = http(server).get(f"{server.url}/common/discovery/instance",
                                params={"authorization_endpoint": authorize, "api-version": "1.0"})

    assert response.status_code == 200
    body = response.json()
    assert body["tenant_discovery_endpoint"] == f"{server.authority}/v2.0/.well-known/openid-configuration"
    host = server.url.split("://", 1)[1]
    assert body["metadata"] == [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}]


def test_instance_discovery_of_another_host(graph_server):
    server = graph_server()
    response = http(server).get(f"{server.url}/common/discovery/instance", params={
        "authorization_endpoint": "https://login.example.com/contoso/oauth2/v2.0/authorize", "api-version": "1.0"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_instance"
    assert response.json()["error_codes"] == [50049]


def test_unknown_identity_route_is_a_404_in_sts_shape(graph_server):
    server = graph_server()
    response = http(server).get(f"{server.authority}/oauth2/v2.0/nothing-here")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_post_on_discovery_gets_aadsts900561(graph_server):
    server = graph_server()
    response = http(server).post(f"{server.authority}/v2.0/.well-known/openid-configuration")

    assert response.status_code == 400
    assert response.json()["error_codes"] == [900561]
    assert "only accepts GET requests. Received a POST request." in response.json()["error_description"]


# --------------------------------------------------------------------- faults

def test_injected_unavailable_fault_on_the_token_endpoint(graph_server):
    server = graph_server()
    server.faults.add(surface="identity", path="*/oauth2/v2.0/token", kind="unavailable", first=1, retry_after=1)
    form = {"grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret,
            "scope": GRAPH_SCOPE}
    session = http(server)

    failed = session.post(f"{server.authority}/oauth2/v2.0/token", data=form)
    recovered = session.post(f"{server.authority}/oauth2/v2.0/token", data=form)

    assert failed.status_code == 503
    assert failed.headers["Retry-After"] == "1"
    body = failed.json()
    assert body["error"] == "temporarily_unavailable"
    assert body["error_description"].startswith(f"AADSTS{body['error_codes'][0]}:")
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= set(body)
    assert recovered.status_code == 200


def test_injected_throttling_is_a_429_msal_reports(graph_server):
    server = graph_server()
    server.faults.add(surface="identity", path="*/oauth2/v2.0/token", kind="throttled", retry_after=7)
    session = http(server)
    app = msal.ConfidentialClientApplication(server.client_id, client_credential=server.client_secret,
                                             authority=server.authority, instance_discovery=False, http_client=session)

    result = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])

    assert result["error"] == "temporarily_unavailable"
    assert "access_token" not in result
    token_calls = [e for e in server.log.entries() if e.path.endswith("/oauth2/v2.0/token")]
    assert token_calls and all(e.status == 429 and e.fault for e in token_calls)


def test_injected_server_error_in_sts_format(graph_server):
    server = graph_server()
    server.faults.add(surface="identity", path="*/discovery/v2.0/keys", kind="server_error")

    response = http(server).get(f"{server.authority}/discovery/v2.0/keys")

    assert response.status_code == 500
    assert response.json()["error"] == "server_error"
    assert response.json()["error_codes"] == [50000]


# ---------------------------------------------------------------- request log

def test_request_log_never_holds_the_secret_or_the_token(graph_server):
    server = graph_server()
    session = http(server)
    app = msal.ConfidentialClientApplication(server.client_id, client_credential=server.client_secret,
                                             authority=server.authority, instance_discovery=False, http_client=session)
    token = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])["access_token"]
    session.post(f"{server.authority}/oauth2/v2.0/token", auth=(server.client_id, server.client_secret),
                 data={"grant_type": "client_credentials", "scope": GRAPH_SCOPE})
    session.post(f"{server.authority}/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret,
        "resource": "https://graph.microsoft.com"})

    entries = server.log.entries(surface="identity")
    assert len(entries) >= 4
    dumped = repr([e.as_dict() for e in entries])
    assert server.client_secret not in dumped
    assert token not in dumped
    assert any(e.client_id == server.client_id for e in entries)
