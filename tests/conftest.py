"""Shared fixtures: real servers on 127.0.0.1, ephemeral ports, one CA per test worker."""

from __future__ import annotations

import os
from typing import Callable, Iterator

import pytest

from simulator.clock import Clock
from simulator.graph.context import GraphConfig
from simulator.pytest_plugin import GraphServer, start_graph_server
from simulator.serving import RunningServer
from simulator.tenant import Tenant
from simulator.tls import CertPaths

# Clients must trust our CA explicitly, never a CA bundle from the environment.
for _var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
    os.environ.pop(_var, None)


pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def certs(entrasim_certs: CertPaths) -> CertPaths:
    """The local CA and localhost certificate, created once per test worker (the plugin's)."""
    return entrasim_certs


def make_tenant(seed: int = 1) -> Tenant:
    """A small tenant with one app registration (consented, with a secret) on a frozen clock."""
    tenant = Tenant(seed=seed, clock=Clock.frozen_at("2026-01-15T09:00:00Z"))
    tenant.register_application("entrasim test LMS")
    return tenant


@pytest.fixture
def graph_server(certs: CertPaths) -> Iterator[Callable[..., GraphServer]]:
    """Factory: ``graph_server(tenant=None, tls=True, config=None)`` starts a server and stops it after the test."""
    started: list[RunningServer] = []

    def start(tenant: Tenant | None = None, tls: bool = True, config: GraphConfig | None = None) -> GraphServer:
        server = start_graph_server(tenant or make_tenant(), certs if tls else None, config)
        started.append(server.running)
        return server

    yield start
    for running in started:
        running.stop()
