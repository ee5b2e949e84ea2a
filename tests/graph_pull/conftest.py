"""Fixtures for the Graph-pull LMS: a tenant served by the real Graph mock over https, and the LMS importing from it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from simulator.clock import Clock
from simulator.lms.graph_pull import GraphPullLms, ImporterSettings, create_app
from simulator.pytest_plugin import GraphServer
from simulator.serving import RunningServer, start_in_thread
from simulator.tenant import Tenant

ADMIN = "admin@lms.example"
DOMAIN = "contoso.onmicrosoft.com"


def upn(alias: str) -> str:
    return f"{alias}@{DOMAIN}"


@dataclass
class PullWorld:
    """A tenant, its Graph server, and an LMS with one connection to it and one admin account."""

    tenant: Tenant
    graph: GraphServer
    lms: GraphPullLms
    connection_id: str
    admin_token: str
    sleeps: list[float]
    _api: RunningServer | None = None
    _session: requests.Session = field(default_factory=requests.Session)

    # ------------------------------------------------------------------ directory
    def user(self, alias: str, **attrs: Any):
        attrs.setdefault("mail", f"{alias}@contoso.com")
        attrs.setdefault("givenName", alias.capitalize())
        attrs.setdefault("surname", "Tester")
        return self.tenant.create_user(userPrincipalName=upn(alias), **attrs)

    def group(self, name: str, *members) -> str:
        return self.tenant.create_group(displayName=name, members=[m.id for m in members]).id

    @property
    def app_id(self) -> str:
        return self.graph.client_id

    # ------------------------------------------------------------------ the LMS
    def import_group(self, group_id: str, role: str = "user", actor: str | None = ADMIN):
        return self.lms.import_group(self.connection_id, group_id, role, actor=actor)

    @property
    def api_url(self) -> str:
        if self._api is None:
            self._api = start_in_thread(create_app(self.lms))
        return f"{self._api.url}/api"

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        """An HTTP call to the LMS's admin API as the account holding ``token`` (default: the admin)."""
        headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {token or self.admin_token}"}
        return self._session.request(method, f"{self.api_url}{path}", headers=headers, timeout=30, **kwargs)

    def stop(self) -> None:
        if self._api is not None:
            self._api.stop()
        self.lms.close()


@pytest.fixture
def pull_world(graph_server: Callable[..., GraphServer]) -> Iterator[Callable[..., PullWorld]]:
    """Factory: ``pull_world(**settings)`` builds an empty tenant, its Graph server and a connected LMS.

    Retry waits are recorded in ``world.sleeps`` instead of slept, so tests can
    assert on the importer's waits without taking any time.
    """
    worlds: list[PullWorld] = []

    def build(**settings: Any) -> PullWorld:
        tenant = Tenant(seed=3, clock=Clock.frozen_at("2026-01-15T09:00:00Z"))
        tenant.register_application("2LRN4 connector")
        graph = graph_server(tenant)
        sleeps: list[float] = []
        lms = GraphPullLms(clock=tenant.clock, settings=ImporterSettings(sleep=sleeps.append, **settings))
        _admin, token = lms.seed_admin(ADMIN)
        conn = lms.add_connection(tenant_id=tenant.id, client_id=graph.client_id, client_secret=graph.client_secret,
                                  authority_host=graph.url, graph_url=graph.graph_url, ca_bundle=graph.ca)
        world = PullWorld(tenant, graph, lms, conn.id, token, sleeps)
        worlds.append(world)
        return world

    yield build
    for world in worlds:
        world.stop()
