"""A CA bundle given to a client wins over REQUESTS_CA_BUNDLE from the environment (psf/requests#3829)."""

from __future__ import annotations

import certifi
import pytest
import requests

from simulator.control_client import ControlClient
from simulator.graph.context import GraphConfig
from simulator.http_session import pinned_session


@pytest.fixture
def foreign_ca_bundle(monkeypatch):
    """The environment points requests at a CA bundle that did not sign our certificate."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())


def test_plain_requests_session_lets_the_environment_replace_its_ca(graph_server, certs, foreign_ca_bundle):
    server = graph_server(tls=True)
    session = requests.Session()
    session.verify = str(certs.ca_cert)
    with pytest.raises(requests.exceptions.SSLError):
        session.get(f"{server.authority}/v2.0/.well-known/openid-configuration", timeout=10)


def test_pinned_session_keeps_its_ca_with_a_foreign_bundle_in_the_environment(graph_server, certs, foreign_ca_bundle):
    server = graph_server(tls=True)
    response = pinned_session(certs.ca_cert).get(f"{server.authority}/v2.0/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200
    assert response.json()["issuer"].endswith("/v2.0")


def test_control_client_trusts_the_ca_it_was_given(graph_server, certs, foreign_ca_bundle):
    server = graph_server(tls=True, config=GraphConfig(control=True))
    with ControlClient(server.url, verify=str(certs.ca_cert)) as control:
        assert control.health()["tenantId"] == server.tenant.id
