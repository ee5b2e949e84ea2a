"""Shared fixtures: real servers on 127.0.0.1, ephemeral ports, one CA per test worker."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Iterator

import pytest

from simulator.clock import Clock
from simulator.faults import FaultInjector
from simulator.graph.app import create_app
from simulator.graph.context import GraphConfig
from simulator.serving import RunningServer, start_in_thread
from simulator.tenant import Tenant
from simulator.tls import CertPaths, ensure_certs

# Clients must trust our CA explicitly, never a CA bundle from the environment.
for _var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
    os.environ.pop(_var, None)


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertPaths:
    """The local CA and localhost certificate, created once per test worker."""
    return ensure_certs(tmp_path_factory.mktemp("certs"))


@dataclass
class GraphServer:
    """A running identity + Graph server and what a client needs to reach it."""

    running: RunningServer
    tenant: Tenant
    faults: FaultInjector
    app: object
    certs: CertPaths | None

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def graph_url(self) -> str:
        return f"{self.url}/v1.0"

    @property
    def authority(self) -> str:
        return f"{self.url}/{self.tenant.id}"

    @property
    def ca(self) -> str | None:
        return str(self.certs.ca_cert) if self.certs else None

    @property
    def application(self):
        return next(iter(self.tenant.applications.values()))

    @property
    def client_id(self) -> str:
        return self.application.appId

    @property
    def client_secret(self) -> str:
        return self.application.passwordCredentials[0].secretText

    @property
    def log(self):
        return self.app.extensions["entrasim"].log


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
        tenant = tenant or make_tenant()
        faults = FaultInjector(clock=tenant.clock, seed=tenant.seed)
        app = create_app(tenant, faults=faults, config=config)
        running = start_in_thread(app, tls=certs if tls else None)
        started.append(running)
        return GraphServer(running, tenant, faults, app, certs if tls else None)

    yield start
    for running in started:
        running.stop()
