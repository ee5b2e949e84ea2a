"""The identity + Graph mock served in a thread, and what a client needs to reach it.

Shared by scenarios, the Graph-pull LMS tests and the pytest fixtures (``simulator.pytest_plugin``
re-exports these names), and free of pytest so that ``entrasim scenario run``
works without the test extra installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..faults import FaultInjector
from .app import create_app
from .context import GraphConfig
from ..serving import RunningServer, start_in_thread
from ..tenant import Tenant
from ..tls import CertPaths


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
