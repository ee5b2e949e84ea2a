"""pytest fixtures for your own test suite: a real Entra tenant mock per test.

Installed with entrasim (the ``pytest11`` entry point), so any project that
depends on entrasim can write::

    def test_import_survives_throttling(entrasim_graph):
        graph = entrasim_graph(users=200, groups=5, seed=7)
        graph.faults.add(surface="graph", path="/v1.0/groups/*/members", kind="throttled", retry_after=1, first=1)
        my_importer.run(**graph.info)            # the same keys as `entrasim serve graph --info-file`
        assert ...

Servers listen on 127.0.0.1 with ephemeral ports over TLS signed by a CA made
once per test session (per xdist worker), and stop when the test ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest

from .faults import FaultInjector
from .graph.app import create_app
from .graph.context import GraphConfig
from .serving import RunningServer, start_in_thread
from .tenant import Tenant
from .tls import CertPaths, ensure_certs


@dataclass
class GraphServer:
    """A running identity + Graph server and what a client needs to reach it."""

    running: RunningServer
    tenant: Tenant
    faults: FaultInjector
    app: Any
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

    @property
    def info(self) -> dict[str, Any]:
        """What `entrasim serve graph --info-file` writes, for this server."""
        secret = self.application.passwordCredentials[0] if self.application.passwordCredentials else None
        return {
            "authority_host": self.url, "authority": self.authority, "tenant_id": self.tenant.id,
            "tenant_domain": self.tenant.primary_domain, "client_id": self.client_id,
            "client_secret": secret.secretText if secret else None, "client_secret_id": secret.keyId if secret else None,
            "graph_url": self.graph_url, "scope": "https://graph.microsoft.com/.default", "ca_bundle": self.ca,
            "provisioning_service_principal_id": self.tenant.provisioning_app.id,
        }


def start_graph_server(tenant: Tenant, certs: CertPaths | None, config: GraphConfig | None = None) -> GraphServer:
    faults = FaultInjector(clock=tenant.clock, seed=tenant.seed)
    app = create_app(tenant, faults=faults, config=config)
    running = start_in_thread(app, tls=certs)
    return GraphServer(running, tenant, faults, app, certs)


@pytest.fixture(scope="session")
def entrasim_certs(tmp_path_factory: pytest.TempPathFactory) -> CertPaths:
    """The local CA and localhost certificate, created once per session (per xdist worker)."""
    return ensure_certs(tmp_path_factory.mktemp("entrasim-certs"))


@pytest.fixture
def entrasim_graph(entrasim_certs: CertPaths) -> Iterator[Callable[..., GraphServer]]:
    """Factory: ``entrasim_graph(users=50, groups=5, seed=7, tenant=None, tls=True, config=None)``.

    Seeds a tenant (or serves the one given) and starts the identity + Graph server;
    every server started in the test stops after it.
    """
    started: list[RunningServer] = []

    def start(users: int = 50, groups: int = 5, seed: int = 7, tenant: Tenant | None = None, tls: bool = True,
              config: GraphConfig | None = None) -> GraphServer:
        if tenant is None:
            from .tenant.seeding import SeedSpec, seed_tenant

            tenant = seed_tenant(SeedSpec(users=users, groups=groups, seed=seed), progress=False)
        server = start_graph_server(tenant, entrasim_certs if tls else None, config)
        started.append(server.running)
        return server

    yield start
    for running in started:
        running.stop()
