"""Fault injection end to end: rules added through the control API, observed by a real HTTP client.

Every trigger (nth, first N, every Nth, seeded probability, a window on the
simulated clock), every action (status in the surface's own format, Retry-After,
latency, dropped connection, truncated body) and every way of matching (method,
path glob, path regex, client id) is exercised against a running identity + Graph
server. Faults match before routes run, so the statuses asserted here are the
injected ones whatever the route would have answered.
"""

from __future__ import annotations

import json

import pytest
import requests
import urllib3

from simulator.control_client import ControlClient
from simulator.graph.context import GraphConfig

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


@pytest.fixture
def start(graph_server):
    """Start a server with the control API; returns (server, control client, plain HTTP session)."""
    def _start(tls: bool = False, tenant=None):
        server = graph_server(tenant=tenant, tls=tls, config=GraphConfig(control=True))
        control = ControlClient(server.url, verify=server.ca or True)
        http = requests.Session()
        http.trust_env = False
        http.verify = server.ca or True
        return server, control, http
    return _start


@pytest.fixture
def env(start):
    return start()


def openid_path(server) -> str:
    return f"/{server.tenant.id}/v2.0/.well-known/openid-configuration"


def statuses(http, url: str, count: int, method: str = "GET") -> list[int]:
    return [http.request(method, url).status_code for _ in range(count)]


def token_request(http, server, client_id: str, client_secret: str = "not-the-secret") -> requests.Response:
    return http.post(f"{server.url}/{server.tenant.id}/oauth2/v2.0/token",
                     data={"grant_type": "client_credentials", "client_id": client_id,
                           "client_secret": client_secret, "scope": GRAPH_SCOPE})


def access_token(http, server) -> str:
    response = token_request(http, server, server.client_id, server.client_secret)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


# ------------------------------------------------------------------ triggers
def test_nth_request_fails_only_once(env):
    server, control, http = env
    control.add_fault(path=openid_path(server), nth=2, kind="unavailable")
    assert statuses(http, server.url + openid_path(server), 4) == [200, 503, 200, 200]
    (rule,) = control.faults()
    assert (rule["matched"], rule["fired"]) == (4, 1)


def test_first_n_requests_fail_then_recover(env):
    server, control, http = env
    control.add_fault(path=openid_path(server), first=2, kind="server_error")
    assert statuses(http, server.url + openid_path(server), 4) == [500, 500, 200, 200]


def test_every_nth_request_fails(env):
    server, control, http = env
    control.add_fault(path=openid_path(server), every=3, status=502)
    assert statuses(http, server.url + openid_path(server), 7) == [200, 200, 502, 200, 200, 502, 200]


def test_seeded_probability_repeats_across_servers(start):
    sequences = []
    for _ in range(2):
        server, control, http = start()
        control.add_fault(path=openid_path(server), probability=0.5, seed=7, kind="unavailable")
        sequences.append(statuses(http, server.url + openid_path(server), 24))
    assert sequences[0] == sequences[1]
    assert set(sequences[0]) == {200, 503}  # the seed really mixes outcomes

    server, control, http = start()
    control.add_fault(path=openid_path(server), probability=0.5, seed=8, kind="unavailable")
    assert statuses(http, server.url + openid_path(server), 24) != sequences[0]


def test_window_on_the_simulated_clock(env):
    server, control, http = env  # the test tenant's clock is frozen at 2026-01-15T09:00:00Z
    control.add_fault(path="/v1.0/*", after="2026-01-16T09:00:00Z", before="2026-01-17T09:00:00Z", kind="unavailable")
    url = server.graph_url + "/users"
    assert http.get(url).status_code == 401  # before the window: the real answer (no token)
    control.advance_clock(days=1)
    assert http.get(url).status_code == 503
    control.advance_clock(hours=23, minutes=59)
    assert http.get(url).status_code == 503
    control.advance_clock(minutes=1)
    assert http.get(url).status_code == 401  # ``before`` is exclusive
    (rule,) = control.faults()
    assert (rule["matched"], rule["fired"]) == (4, 2)


# ------------------------------------------------------------------ actions
def test_gateway_timeout_is_a_gateways_html_page(env):
    server, control, http = env
    control.add_fault(path="/v1.0/users", kind="gateway_timeout")
    control.add_fault(path=openid_path(server), kind="gateway_timeout")
    for url in (server.graph_url + "/users", server.url + openid_path(server)):
        response = http.get(url)
        assert response.status_code == 504
        assert response.headers["Content-Type"].startswith("text/html")
        assert "<title>504 Gateway Time-out</title>" in response.text


def test_throttling_on_graph_has_retry_after_and_graphs_body(env):
    server, control, http = env
    control.add_fault(path="/v1.0/users", kind="throttled", retry_after=7)
    response = http.get(server.graph_url + "/users")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    error = response.json()["error"]
    assert error["code"] == "TooManyRequests"
    assert error["message"] == "Please retry again later."
    assert error["innerError"]["status"] == "429"
    assert response.headers["request-id"] == error["innerError"]["request-id"]


def test_custom_status_429_renders_graph_throttling_too(env):
    server, control, http = env
    control.add_fault(path="/v1.0/groups", status=429, retry_after=1)
    response = http.get(server.graph_url + "/groups")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "1")
    assert response.json()["error"]["code"] == "TooManyRequests"


def test_identity_faults_use_the_sts_error_format(env):
    server, control, http = env
    control.add_fault(path="/*/oauth2/v2.0/token", kind="unavailable", retry_after=3)
    response = token_request(http, server, server.client_id, server.client_secret)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"
    body = response.json()
    assert body["error"] == "temporarily_unavailable"
    assert body["error_description"].startswith("AADSTS")


def test_explicit_body_and_headers_replace_the_rendered_error(env):
    server, control, http = env
    control.add_fault(path="/v1.0/users", status=503, body={"custom": True}, headers={"X-Injected": "yes"})
    response = http.get(server.graph_url + "/users")
    assert (response.status_code, response.json(), response.headers["X-Injected"]) == (503, {"custom": True}, "yes")


def test_latency_only_passes_the_request_on(env):
    server, control, http = env
    control.add_fault(path=openid_path(server), latency_ms=30)
    response = http.get(server.url + openid_path(server))
    assert response.status_code == 200
    assert response.json()["issuer"]
    assert control.faults()[0]["fired"] == 1


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_dropped_connection(start, tls):
    server, control, http = start(tls=tls)
    control.add_fault(path=openid_path(server), drop=True, first=1)
    with pytest.raises(requests.ConnectionError):
        http.get(server.url + openid_path(server))
    assert http.get(server.url + openid_path(server)).status_code == 200  # the server lives on
    assert control.faults()[0]["fired"] == 1


def test_dropped_token_request_with_a_body(env):
    server, control, http = env
    control.add_fault(path="/*/oauth2/v2.0/token", method="POST", drop=True, nth=1)
    with pytest.raises(requests.ConnectionError):
        token_request(http, server, server.client_id, server.client_secret)
    assert token_request(http, server, server.client_id, server.client_secret).status_code == 200


def test_server_outlives_more_drops_than_it_has_worker_threads(env):
    server, control, http = env
    control.add_fault(path=openid_path(server), drop=True, first=40)
    for _ in range(40):
        with pytest.raises(requests.ConnectionError):
            http.get(server.url + openid_path(server))
    assert http.get(server.url + openid_path(server)).status_code == 200


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_truncated_body(start, tls):
    server, control, http = start(tls=tls)
    url = server.url + openid_path(server)
    full = http.get(url).content
    control.add_fault(path=openid_path(server), truncate=20, first=1)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        http.get(url).content  # noqa: B018 - reading the body is what fails
    with http.get(url, stream=True) as response:
        assert response.content == full  # first=1: the next answer is whole again


def test_truncated_body_announces_the_full_length(env):
    server, control, http = env
    url = server.url + openid_path(server)
    full = http.get(url).content
    control.add_fault(path=openid_path(server), truncate=25)
    response = http.get(url, stream=True)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(full)
    received = b""
    with pytest.raises(urllib3.exceptions.ProtocolError):
        while True:
            byte = response.raw.read(1, decode_content=False)
            if not byte:
                break
            received += byte
    assert received == full[:25]


def test_truncated_error_response(env):
    server, control, http = env
    control.add_fault(path="/v1.0/users", kind="throttled", truncate=5)
    response = http.get(server.graph_url + "/users", stream=True)
    assert response.status_code == 429
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        response.content  # noqa: B018


# ------------------------------------------------------------------ matching
def test_match_by_method(env):
    server, control, http = env
    control.add_fault(method="POST", path="/v1.0/users", kind="unavailable")
    assert http.get(server.graph_url + "/users").status_code == 401
    assert http.post(server.graph_url + "/users", json={}).status_code == 503
    assert control.faults()[0]["matched"] == 1


def test_match_by_path_glob(env):
    server, control, http = env
    control.add_fault(path="/v1.0/groups/*/members", kind="unavailable")
    assert http.get(server.graph_url + "/groups/some-id/members").status_code == 503
    assert http.get(server.graph_url + "/groups/some-id").status_code != 503
    assert http.get(server.graph_url + "/groups").status_code != 503


def test_match_by_path_regex(env):
    server, control, http = env
    control.add_fault(path=r"^/v1\.0/(users|groups)$", kind="unavailable")
    assert http.get(server.graph_url + "/users").status_code == 503
    assert http.get(server.graph_url + "/groups").status_code == 503
    assert http.get(server.graph_url + "/users/someone").status_code != 503
    assert control.faults()[0]["matched"] == 2


def test_match_by_client_id_on_the_token_endpoint(env):
    server, control, http = env
    other_app = server.tenant.register_application("another LMS")
    control.add_fault(client_id=server.client_id, path="/*/oauth2/v2.0/token", kind="unavailable")
    assert token_request(http, server, server.client_id, server.client_secret).status_code == 503
    other = token_request(http, server, other_app.appId, other_app.passwordCredentials[0].secretText)
    assert other.status_code == 200
    rule = control.faults()[0]
    assert (rule["matched"], rule["fired"]) == (1, 1)


def test_match_by_client_id_of_a_graph_bearer_token(env):
    server, control, http = env
    token = access_token(http, server)
    control.add_fault(client_id=server.client_id, surface="graph", kind="throttled", retry_after=2)
    response = http.get(server.graph_url + "/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 429
    assert http.get(server.url + openid_path(server)).status_code == 200  # identity surface: not matched


def test_first_matching_rule_wins_and_every_matching_rule_counts(env):
    server, control, http = env
    control.add_faults([{"id": "outer", "path": "/v1.0/*", "status": 502},
                        {"id": "inner", "path": "/v1.0/users", "status": 503}])
    assert http.get(server.graph_url + "/users").status_code == 502
    counters = {r["id"]: (r["matched"], r["fired"]) for r in control.faults()}
    assert counters == {"outer": (1, 1), "inner": (1, 1)}


# ------------------------------------------------------------------ control API and request log
def test_the_control_api_is_exempt_from_faults(env):
    server, control, http = env
    control.add_fault(path="*", kind="unavailable")
    assert http.get(server.url + openid_path(server)).status_code == 503
    assert control.health()["status"] == "ok"
    assert control.faults()[0]["matched"] == 1  # control calls are not even counted
    assert control.clear_faults() == 1
    assert http.get(server.url + openid_path(server)).status_code == 200


def test_request_log_names_the_fault_and_holds_no_secrets(env):
    server, control, http = env
    control.add_fault(path="/v1.0/users", kind="throttled", nth=1)
    token = access_token(http, server)
    http.get(server.graph_url + "/users", headers={"Authorization": f"Bearer {token}"})
    entries = control.requests()
    assert [(e["surface"], e["path"], e["status"]) for e in entries] == [
        ("identity", f"/{server.tenant.id}/oauth2/v2.0/token", 200),
        ("graph", "/v1.0/users", 429),
    ]
    assert entries[0]["client_id"] == server.client_id
    assert entries[1]["fault"] == control.faults()[0]["id"]
    dump = json.dumps(control.request_log())
    assert server.client_secret not in dump
    assert token not in dump
    assert token.split(".")[1] not in dump  # not even the payload of the JWT
    assert "[redacted]" in entries[0]["request_body"]
