"""Every refusal of the token endpoint, as msal, azure-identity and a plain HTTP client see it.

msal returns the STS's error body as a dict; azure-identity raises
ClientAuthenticationError with the AADSTS text; requests shows the HTTP status.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import time
import uuid

import jwt
import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from simulator.clock import Clock
from simulator.tenant import Tenant

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ERROR_FIELDS = {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"}


def http(server) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = server.ca
    return session


def confidential_app(server, credential, *, client_id: str | None = None) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(client_id or server.client_id, client_credential=credential,
                                              authority=server.authority, instance_discovery=False, http_client=http(server))


def msal_token(server, credential, scopes=(GRAPH_SCOPE,), client_id: str | None = None) -> dict:
    return confidential_app(server, credential, client_id=client_id).acquire_token_for_client(scopes=list(scopes))


def post_token(server, data=None, *, path: str | None = None, **kwargs) -> requests.Response:
    return http(server).post(path or f"{server.authority}/oauth2/v2.0/token", data=data, **kwargs)


def secret_form(server, **overrides) -> dict:
    form = {"grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret,
            "scope": GRAPH_SCOPE}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def assert_aadsts(body: dict, error: str, code: int) -> None:
    assert body.get("error") == error, body
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}:")


def make_certificate(not_before: dt.datetime, not_after: dt.datetime) -> dict:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "entrasim test LMS")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    return {
        "private_key": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()).decode(),
        "public_certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "thumbprint": cert.fingerprint(hashes.SHA1()).hex(),
        "x5t": base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA1())).decode(),
    }


@pytest.fixture(scope="module")
def certificate() -> dict:
    return make_certificate(dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc),
                            dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=365))


@pytest.fixture(scope="module")
def other_certificate() -> dict:
    return make_certificate(dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc),
                            dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=365))


def assertion(server, cert: dict, **claims) -> str:
    """A client assertion as msal builds it (RS256, padded x5t, float times, no nbf), with overrides."""
    now = time.time()
    payload = {"aud": f"{server.authority}/oauth2/v2.0/token", "iss": server.client_id, "sub": server.client_id,
               "exp": now + 600, "iat": now, "jti": str(uuid.uuid4())}
    payload.update(claims)
    return jwt.encode(payload, cert["private_key"], algorithm="RS256", headers={"x5t": cert["x5t"]})


def assertion_form(server, client_assertion: str, **overrides) -> dict:
    form = {"grant_type": "client_credentials", "client_id": server.client_id, "scope": GRAPH_SCOPE,
            "client_assertion_type": JWT_BEARER, "client_assertion": client_assertion}
    form.update(overrides)
    return form


# ------------------------------------------------------------------ the body itself

def test_error_body_has_the_sts_fields_and_echoes_the_correlation_id(graph_server):
    server = graph_server()
    correlation = str(uuid.uuid4())

    response = post_token(server, secret_form(server, client_secret="wrong"), headers={"client-request-id": correlation})

    assert response.status_code == 401
    body = response.json()
    assert set(body) == ERROR_FIELDS
    assert body["correlation_id"] == correlation
    assert body["timestamp"] == "2026-01-15 09:00:00Z"  # the tenant's (frozen) clock
    assert body["error_uri"] == "https://login.microsoftonline.com/error?code=7000215"
    assert body["error_description"].endswith(
        f"\r\nTrace ID: {body['trace_id']}\r\nCorrelation ID: {correlation}\r\nTimestamp: 2026-01-15 09:00:00Z")
    assert re.fullmatch(r"[0-9a-f-]{36}", body["trace_id"])
    assert response.headers["client-request-id"] == correlation
    assert response.headers["x-ms-request-id"] == body["trace_id"]


# -------------------------------------------------------------- secrets, through msal

def test_wrong_secret(graph_server):
    server = graph_server()
    result = msal_token(server, server.client_secret + "x")

    assert_aadsts(result, "invalid_client", 7000215)
    assert server.client_id in result["error_description"]


def test_secret_id_sent_instead_of_its_value(graph_server):
    server = graph_server()
    key_id = server.application.passwordCredentials[0].keyId

    assert_aadsts(msal_token(server, key_id), "invalid_client", 7000215)


def test_expired_secret(graph_server):
    server = graph_server()
    server.tenant.expire_secret(server.client_id, server.application.passwordCredentials[0].keyId)

    assert_aadsts(msal_token(server, server.client_secret), "invalid_client", 7000222)


def test_secret_that_expires_as_the_clock_moves(graph_server):
    server = graph_server()
    server.tenant.advance_clock(dt.timedelta(days=181))  # conftest's secret lives 180 days

    assert_aadsts(msal_token(server, server.client_secret), "invalid_client", 7000222)


def test_secret_not_valid_yet_is_refused_like_a_wrong_one(graph_server):
    server = graph_server()
    future = server.tenant.add_secret(server.client_id, start=server.tenant.clock.now() + dt.timedelta(days=1))

    assert_aadsts(msal_token(server, future.secretText), "invalid_client", 7000215)


def test_second_secret_works_while_the_first_is_expired(graph_server):
    server = graph_server()
    server.tenant.expire_secret(server.client_id, server.application.passwordCredentials[0].keyId)
    fresh = server.tenant.add_secret(server.client_id)

    assert "access_token" in msal_token(server, fresh.secretText)


@pytest.mark.parametrize("case, status, error, code", [
    ("wrong", 401, "invalid_client", 7000215),
    ("key_id", 401, "invalid_client", 7000215),
    ("expired", 401, "invalid_client", 7000222),
])
def test_secret_errors_have_the_documented_status(graph_server, case, status, error, code):
    server = graph_server()
    cred = server.application.passwordCredentials[0]
    secret = {"wrong": "not-the-secret", "key_id": cred.keyId, "expired": cred.secretText}[case]
    if case == "expired":
        server.tenant.expire_secret(server.client_id, cred.keyId)

    response = post_token(server, secret_form(server, client_secret=secret))

    assert response.status_code == status
    assert_aadsts(response.json(), error, code)


def test_wrong_secret_with_client_secret_basic(graph_server):
    server = graph_server()
    response = post_token(server, {"grant_type": "client_credentials", "scope": GRAPH_SCOPE}, auth=(server.client_id, "nope"))

    assert response.status_code == 401
    assert_aadsts(response.json(), "invalid_client", 7000215)


# ----------------------------------------------------------------- apps and scopes

def test_unknown_application(graph_server):
    server = graph_server()
    stranger = str(uuid.uuid4())
    result = msal_token(server, server.client_secret, client_id=stranger)

    assert_aadsts(result, "unauthorized_client", 700016)
    assert f"'{stranger}'" in result["error_description"]
    assert f"directory '{server.tenant.displayName}'" in result["error_description"]
    assert post_token(server, secret_form(server, client_id=stranger)).status_code == 400


def test_disabled_application(graph_server):
    server = graph_server()
    server.tenant.set_app_enabled(server.client_id, False)
    result = msal_token(server, server.client_secret)

    assert_aadsts(result, "unauthorized_client", 7000112)
    assert result["error_description"].startswith(
        f"AADSTS7000112: Application '{server.client_id}'({server.application.displayName}) is disabled.")


@pytest.mark.parametrize("scope", ["https://graph.microsoft.com/User.Read.All", "User.Read.All"])
def test_scope_without_default(graph_server, scope):
    server = graph_server()
    result = msal_token(server, server.client_secret, scopes=[scope])

    assert_aadsts(result, "invalid_scope", 1002012)
    assert scope in result["error_description"]


def test_two_resources_in_one_scope(graph_server):
    server = graph_server()
    result = msal_token(server, server.client_secret, scopes=[GRAPH_SCOPE, "https://management.azure.com/.default"])

    assert_aadsts(result, "invalid_scope", 70011)


def test_unknown_resource(graph_server):
    server = graph_server()
    result = msal_token(server, server.client_secret, scopes=["https://localhost/.default"])

    assert_aadsts(result, "invalid_resource", 500011)
    assert "The resource principal named https://localhost was not found" in result["error_description"]


def test_unknown_tenant_fails_msal_discovery(graph_server):
    server = graph_server()
    with pytest.raises(ValueError, match="double check your tenant name or GUID") as raised:
        msal.ConfidentialClientApplication(server.client_id, client_credential=server.client_secret,
                                           authority=f"{server.url}/{uuid.uuid4()}", instance_discovery=False,
                                           http_client=http(server)).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    cause = raised.value.__cause__ or raised.value.__context__
    assert "HTTP status: 400" in str(cause) and "AADSTS90002" in str(cause)


def test_unknown_tenant_at_the_token_endpoint(graph_server):
    server = graph_server()
    response = post_token(server, secret_form(server), path=f"{server.url}/fabrikam.onmicrosoft.com/oauth2/v2.0/token")

    assert response.status_code == 400
    assert_aadsts(response.json(), "invalid_request", 90002)
    assert "Tenant 'fabrikam.onmicrosoft.com' not found" in response.json()["error_description"]


@pytest.mark.parametrize("segment", ["common", "consumers"])
def test_client_credentials_over_common_or_consumers(graph_server, segment):
    server = graph_server()
    response = post_token(server, secret_form(server), path=f"{server.url}/{segment}/oauth2/v2.0/token")

    assert response.status_code == 400
    assert_aadsts(response.json(), "invalid_request", 9001023)


# --------------------------------------------------------------------- certificates

def test_unregistered_certificate(graph_server, certificate):
    server = graph_server()
    result = msal_token(server, {"private_key": certificate["private_key"], "thumbprint": certificate["thumbprint"]})

    assert_aadsts(result, "invalid_client", 700027)
    assert certificate["thumbprint"].upper() in result["error_description"]


def test_assertion_signed_with_another_key(graph_server, certificate, other_certificate):
    server = graph_server()
    server.tenant.add_certificate(server.client_id, certificate["public_certificate"])
    forged = {"private_key": other_certificate["private_key"], "thumbprint": certificate["thumbprint"]}

    result = msal_token(server, forged)

    assert_aadsts(result, "invalid_client", 700027)
    assert "signature validation" in result["error_description"]


def test_expired_certificate(graph_server):
    server = graph_server()
    old = make_certificate(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc))
    server.tenant.add_certificate(server.client_id, old["public_certificate"])

    result = msal_token(server, {"private_key": old["private_key"], "thumbprint": old["thumbprint"]})

    assert_aadsts(result, "invalid_client", 700027)
    assert "The key used is expired" in result["error_description"]


def test_assertion_for_another_audience(graph_server, certificate):
    server = graph_server()
    server.tenant.add_certificate(server.client_id, certificate["public_certificate"])
    bad = assertion(server, certificate, aud="https://login.microsoftonline.com/common/oauth2/v2.0/token")

    response = post_token(server, assertion_form(server, bad))

    assert response.status_code == 401
    assert_aadsts(response.json(), "invalid_client", 700023)


def test_unpadded_thumbprint_and_v1_audience_are_accepted(graph_server, certificate):
    server = graph_server()
    server.tenant.add_certificate(server.client_id, certificate["public_certificate"])
    token = jwt.encode({"aud": f"https://login.microsoftonline.com/{server.tenant.id}/oauth2/token", "iss": server.client_id,
                        "sub": server.client_id, "exp": int(time.time()) + 600, "nbf": int(time.time()) - 10},
                       certificate["private_key"], algorithm="RS256", headers={"x5t": certificate["x5t"].rstrip("=")})

    assert post_token(server, assertion_form(server, token)).status_code == 200


@pytest.mark.parametrize("naming", ["x5t#S256", "x5c"])
def test_ps256_assertion_named_by_sha256_thumbprint_or_chain(graph_server, certificate, naming):
    server = graph_server()
    server.tenant.add_certificate(server.client_id, certificate["public_certificate"])
    cert = x509.load_pem_x509_certificate(certificate["public_certificate"].encode())
    if naming == "x5t#S256":
        header = {"x5t#S256": base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA256())).decode().rstrip("=")}
    else:
        header = {"x5c": [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]}
    now = time.time()
    token = jwt.encode({"aud": f"{server.authority}/oauth2/v2.0/token", "iss": server.client_id, "sub": server.client_id,
                        "exp": now + 600, "iat": now, "jti": str(uuid.uuid4())},
                       certificate["private_key"], algorithm="PS256", headers=header)

    response = post_token(server, assertion_form(server, token))

    assert response.status_code == 200, response.text
    assert jwt.decode(response.json()["access_token"], options={"verify_signature": False})["appidacr"] == "2"


def test_expired_assertion(graph_server, certificate):
    tenant = Tenant(seed=5, clock=Clock())
    tenant.register_application("entrasim test LMS")
    server = graph_server(tenant=tenant)
    server.tenant.add_certificate(server.client_id, certificate["public_certificate"])
    stale = assertion(server, certificate, exp=time.time() - 3600, iat=time.time() - 4200)

    response = post_token(server, assertion_form(server, stale))

    assert response.status_code == 401
    assert_aadsts(response.json(), "invalid_client", 700024)


def test_assertion_issued_by_another_client(graph_server, certificate):
    server = graph_server()
    server.tenant.add_certificate(server.client_id, certificate["public_certificate"])
    other = str(uuid.uuid4())

    response = post_token(server, assertion_form(server, assertion(server, certificate, iss=other, sub=other)))

    assert response.status_code == 401
    assert_aadsts(response.json(), "invalid_client", 700021)


def test_assertion_that_is_not_a_jwt(graph_server):
    server = graph_server()
    response = post_token(server, assertion_form(server, "not-a-jwt"))

    assert response.status_code == 401
    assert_aadsts(response.json(), "invalid_client", 50027)


def test_unknown_assertion_type(graph_server, certificate):
    server = graph_server()
    server.tenant.add_certificate(server.client_id, certificate["public_certificate"])
    form = assertion_form(server, assertion(server, certificate), client_assertion_type="urn:example:saml")

    response = post_token(server, form)

    assert response.status_code == 400
    assert_aadsts(response.json(), "invalid_request", 9002313)


# ------------------------------------------------------------------ protocol errors

@pytest.mark.parametrize("drop, code", [("grant_type", 900144), ("client_id", 900144), ("scope", 900144)])
def test_missing_parameter(graph_server, drop, code):
    server = graph_server()
    response = post_token(server, secret_form(server, **{drop: None}))

    assert response.status_code == 400
    assert_aadsts(response.json(), "invalid_request", code)
    assert response.json()["error_description"].startswith(
        f"AADSTS900144: The request body must contain the following parameter: '{drop}'.")


def test_neither_secret_nor_assertion(graph_server):
    server = graph_server()
    response = post_token(server, secret_form(server, client_secret=None))

    assert response.status_code == 401
    assert_aadsts(response.json(), "invalid_client", 7000218)


def test_secret_and_assertion_together(graph_server):
    server = graph_server()
    form = assertion_form(server, "x.y.z", client_secret=server.client_secret)

    response = post_token(server, form)

    assert response.status_code == 400
    assert_aadsts(response.json(), "invalid_request", 9002313)


@pytest.mark.parametrize("grant", ["password", "authorization_code", "banana"])
def test_unsupported_grant_type(graph_server, grant):
    server = graph_server()
    response = post_token(server, secret_form(server, grant_type=grant))

    assert response.status_code == 400
    assert_aadsts(response.json(), "unsupported_grant_type", 70003)
    assert f"'{grant}'" in response.json()["error_description"]


def test_json_body_is_not_a_token_request(graph_server):
    server = graph_server()
    response = http(server).post(f"{server.authority}/oauth2/v2.0/token", json=secret_form(server))

    assert response.status_code == 400
    assert_aadsts(response.json(), "invalid_request", 900144)


def test_get_on_the_token_endpoint(graph_server):
    server = graph_server()
    response = http(server).get(f"{server.authority}/oauth2/v2.0/token")

    assert response.status_code == 400
    assert_aadsts(response.json(), "invalid_request", 900561)
    assert "The endpoint only accepts POST requests. Received a GET request." in response.json()["error_description"]


def test_resource_sent_to_the_v2_endpoint(graph_server):
    server = graph_server()
    response = post_token(server, secret_form(server, resource="https://graph.microsoft.com"))

    assert response.status_code == 400
    assert_aadsts(response.json(), "invalid_request", 901002)


def test_v1_endpoint_without_resource(graph_server):
    server = graph_server()
    response = post_token(server, secret_form(server, scope=None), path=f"{server.authority}/oauth2/token")

    assert response.status_code == 400
    assert_aadsts(response.json(), "invalid_resource", 50001)


def test_v1_endpoint_with_unknown_resource(graph_server):
    server = graph_server()
    form = secret_form(server, scope=None, resource="https://outlook.office365.com")

    response = post_token(server, form, path=f"{server.authority}/oauth2/token")

    assert response.status_code == 400
    assert_aadsts(response.json(), "invalid_resource", 500011)


@pytest.mark.parametrize("body, content_type", [
    (b"", "application/x-www-form-urlencoded"),
    (b"\xff\xfe\x00garbage=%%%", "application/x-www-form-urlencoded"),
    (b"grant_type=client_credentials&grant_type=password", "application/x-www-form-urlencoded"),
    (b"<xml/>", "text/xml"),
    (b"--b\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--b--\r\n",
     "multipart/form-data; boundary=b"),
    (b"grant_type=client_credentials&client_id=" + b"a" * 5000, "application/x-www-form-urlencoded"),
])
def test_malformed_bodies_get_an_sts_error_never_a_500(graph_server, body, content_type):
    server = graph_server()
    response = http(server).post(f"{server.authority}/oauth2/v2.0/token", data=body, headers={"Content-Type": content_type})

    assert 400 <= response.status_code < 500
    assert response.json()["error"] in {"invalid_request", "unauthorized_client", "invalid_client"}
    assert response.json()["error_codes"]


# --------------------------------------------------------------- azure-identity

@pytest.mark.parametrize("case, code", [("wrong", "AADSTS7000215"), ("expired", "AADSTS7000222"), ("unknown_app", "AADSTS700016")])
def test_azure_identity_raises_with_the_aadsts_code(graph_server, case, code):
    server = graph_server()
    client_id, secret = server.client_id, server.client_secret
    if case == "wrong":
        secret = "not-the-secret"
    elif case == "expired":
        server.tenant.expire_secret(client_id, server.application.passwordCredentials[0].keyId)
    else:
        client_id = str(uuid.uuid4())
    credential = ClientSecretCredential(server.tenant.id, client_id, secret, authority=server.url,
                                        disable_instance_discovery=True, connection_verify=server.ca)

    with pytest.raises(ClientAuthenticationError, match=code):
        credential.get_token(GRAPH_SCOPE)
