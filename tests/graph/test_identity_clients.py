"""msal and azure-identity get Graph tokens from the identity platform mock, over TLS, as a daemon LMS would.

Tokens are checked the way a resource server checks them: fetched JWKS over HTTP,
PyJWT with audience and issuer. Tenants that must pass PyJWT's expiry check run on
a live clock; the rest use conftest's frozen one.
"""

from __future__ import annotations

import datetime as dt

import jwt
import msal
import pytest
import requests
from azure.identity import CertificateCredential, ClientSecretCredential
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from simulator.clock import Clock
from simulator.graph.context import GraphConfig
from simulator.graph.tokens import BACKDATE
from simulator.tenant import DEFAULT_PERMISSIONS, GRAPH_APP_ID, Tenant

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def http(server) -> requests.Session:
    """A session that trusts only the server's CA, whatever the environment says."""
    session = requests.Session()
    session.trust_env = False
    session.verify = server.ca
    return session


def confidential_app(server, credential, *, authority: str | None = None, **kwargs) -> msal.ConfidentialClientApplication:
    kwargs.setdefault("instance_discovery", False)
    return msal.ConfidentialClientApplication(server.client_id, client_credential=credential,
                                              authority=authority or server.authority, http_client=http(server), **kwargs)


def live_tenant(seed: int = 3) -> Tenant:
    """A tenant on a running clock, so issued tokens are current for PyJWT's own expiry check."""
    tenant = Tenant(seed=seed, clock=Clock())
    tenant.register_application("entrasim test LMS")
    return tenant


def verified_claims(server, token: str) -> dict:
    """Verify ``token`` as Graph would, with keys fetched from the server's JWKS endpoint."""
    jwks = http(server).get(f"{server.authority}/discovery/v2.0/keys").json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    return jwt.decode(token, jwt.PyJWK(key).key, algorithms=["RS256"], audience=["https://graph.microsoft.com", GRAPH_APP_ID],
                      issuer=f"https://sts.windows.net/{server.tenant.id}/")


def unverified_claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


@pytest.fixture(scope="module")
def certificate() -> dict:
    """A client certificate valid on both the frozen test clock (January 2026) and today."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "entrasim test LMS")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)).not_valid_after(now + dt.timedelta(days=365))
            .sign(key, hashes.SHA256()))
    return {
        "private_key": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()).decode(),
        "public_certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "thumbprint": cert.fingerprint(hashes.SHA1()).hex(),
    }


def test_msal_secret_token_verifies_against_the_jwks(graph_server):
    server = graph_server(tenant=live_tenant())
    result = confidential_app(server, server.client_secret).acquire_token_for_client(scopes=[GRAPH_SCOPE])

    assert result["token_type"] == "Bearer"
    assert result["expires_in"] == 3599
    assert result["token_source"] == "identity_provider"
    claims = verified_claims(server, result["access_token"])
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["tid"] == server.tenant.id
    assert claims["appid"] == server.client_id
    assert claims["appidacr"] == "1"
    assert claims["idtyp"] == "app"
    assert sorted(claims["roles"]) == sorted(DEFAULT_PERMISSIONS)
    assert "scp" not in claims
    assert claims["exp"] - claims["iat"] == 3599 + int(BACKDATE.total_seconds())


def test_token_lifetime_follows_the_server_config(graph_server):
    server = graph_server(tenant=live_tenant(), config=GraphConfig(token_lifetime=1234))
    result = confidential_app(server, server.client_secret).acquire_token_for_client(scopes=[GRAPH_SCOPE])

    assert result["expires_in"] == 1234
    assert result["ext_expires_in"] == 1234
    claims = verified_claims(server, result["access_token"])
    assert claims["exp"] - claims["nbf"] == 1234 + int(BACKDATE.total_seconds())


def test_msal_certificate_with_thumbprint_signs_rs256(graph_server, certificate):
    server = graph_server(tenant=live_tenant())
    server.tenant.add_certificate(server.client_id, certificate["public_certificate"])
    credential = {"private_key": certificate["private_key"], "thumbprint": certificate["thumbprint"]}

    result = confidential_app(server, credential).acquire_token_for_client(scopes=[GRAPH_SCOPE])

    claims = verified_claims(server, result["access_token"])
    assert claims["appid"] == server.client_id
    assert claims["appidacr"] == "2"


def test_msal_certificate_with_public_certificate_signs_ps256(graph_server, certificate):
    server = graph_server(tenant=live_tenant())
    server.tenant.add_certificate(server.client_id, certificate["public_certificate"])
    credential = {"private_key": certificate["private_key"], "public_certificate": certificate["public_certificate"]}

    result = confidential_app(server, credential).acquire_token_for_client(scopes=[GRAPH_SCOPE])

    assert verified_claims(server, result["access_token"])["appidacr"] == "2"


def test_azure_identity_client_secret_credential(graph_server):
    server = graph_server(tenant=live_tenant())
    credential = ClientSecretCredential(server.tenant.id, server.client_id, server.client_secret, authority=server.url,
                                        disable_instance_discovery=True, connection_verify=server.ca)

    token = credential.get_token(GRAPH_SCOPE)

    claims = verified_claims(server, token.token)
    assert claims["appid"] == server.client_id
    assert sorted(claims["roles"]) == sorted(DEFAULT_PERMISSIONS)


def test_azure_identity_certificate_credential(graph_server, certificate):
    server = graph_server(tenant=live_tenant())
    server.tenant.add_certificate(server.client_id, certificate["public_certificate"])
    pem = (certificate["private_key"] + certificate["public_certificate"]).encode()
    credential = CertificateCredential(server.tenant.id, server.client_id, certificate_data=pem, authority=server.url,
                                       disable_instance_discovery=True, connection_verify=server.ca)

    token = credential.get_token(GRAPH_SCOPE)

    assert verified_claims(server, token.token)["appidacr"] == "2"


def test_verified_domain_works_as_the_authority(graph_server):
    server = graph_server()
    domain = server.tenant.primary_domain
    result = confidential_app(server, server.client_secret, authority=f"{server.url}/{domain}").acquire_token_for_client(scopes=[GRAPH_SCOPE])

    assert unverified_claims(result["access_token"])["tid"] == server.tenant.id


def test_msal_validating_the_authority_through_our_instance_discovery(graph_server):
    server = graph_server()
    app = confidential_app(server, server.client_secret, instance_discovery=f"{server.url}/common/discovery/instance")

    result = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])

    assert "access_token" in result, result
    assert any(e.path == "/common/discovery/instance" for e in server.log.entries())


def test_v1_endpoint_takes_resource_and_answers_with_strings(graph_server):
    server = graph_server()
    response = http(server).post(f"{server.authority}/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret,
        "resource": "https://graph.microsoft.com"})

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == "3599" and body["ext_expires_in"] == "3599"
    assert body["resource"] == "https://graph.microsoft.com"
    claims = unverified_claims(body["access_token"])
    assert body["expires_on"] == str(claims["exp"]) and body["not_before"] == str(claims["nbf"])
    assert claims["ver"] == "1.0" and claims["aud"] == "https://graph.microsoft.com"


def test_client_secret_basic(graph_server):
    server = graph_server()
    response = http(server).post(f"{server.authority}/oauth2/v2.0/token", auth=(server.client_id, server.client_secret),
                                 data={"grant_type": "client_credentials", "scope": GRAPH_SCOPE})

    assert response.status_code == 200
    assert unverified_claims(response.json()["access_token"])["appid"] == server.client_id


def test_graph_app_id_scope_gives_the_app_id_audience(graph_server):
    server = graph_server()
    result = confidential_app(server, server.client_secret).acquire_token_for_client(scopes=[f"{GRAPH_APP_ID}/.default"])

    assert unverified_claims(result["access_token"])["aud"] == GRAPH_APP_ID


def test_revoked_consent_still_gets_a_token_without_roles(graph_server):
    server = graph_server()
    server.tenant.revoke_consent(server.client_id)

    result = confidential_app(server, server.client_secret).acquire_token_for_client(scopes=[GRAPH_SCOPE])

    claims = unverified_claims(result["access_token"])
    assert claims["appid"] == server.client_id
    assert "roles" not in claims


def test_organizations_endpoint_infers_the_tenant_from_the_app(graph_server):
    server = graph_server()
    response = http(server).post(f"{server.url}/organizations/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret,
        "scope": GRAPH_SCOPE})

    assert response.status_code == 200
    assert unverified_claims(response.json()["access_token"])["tid"] == server.tenant.id


def test_unknown_fields_sent_by_clients_are_ignored(graph_server):
    server = graph_server()
    response = http(server).post(f"{server.authority}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret,
        "scope": GRAPH_SCOPE, "client_info": "1", "claims": '{"access_token": {"xms_cc": {"values": ["CP1"]}}}'})

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store, no-cache"
