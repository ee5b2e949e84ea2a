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

The other fixtures build the rest of entrasim's world for a test:
``entrasim_tenant`` (a small tenant on a frozen clock), ``entrasim_scim_lms``
(our SCIM LMS in a profile), ``entrasim_provisioner`` (an Entra-style
provisioning engine from the tenant to any SCIM URL) and ``entrasim_pull_lms``
(the Graph-pull LMS connected to an ``entrasim_graph`` server).

The plugin also collects scenario files (YAML with a top-level ``scenario:``
key) as test items, so ``pytest scenarios/ -n auto`` runs entrasim's catalogue
or your own; ``--entrasim-target URL --entrasim-token T`` points their push
side at another SCIM server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .clock import Clock
from .graph.context import GraphConfig
from .graph.server import GraphServer, start_graph_server
from .serving import RunningServer
from .tenant import Tenant
from .tls import CertPaths, ensure_certs

__all__ = ["GraphServer", "start_graph_server"]


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


# ------------------------------------------------------------------ scenario files as test items


def pytest_addoption(parser: pytest.Parser) -> None:
    from .scenario.pytest_items import add_options

    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    from .scenario.pytest_items import check_options

    check_options(config)


def pytest_collect_file(file_path, parent):
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    from .scenario.pytest_items import collect_file

    return collect_file(file_path, parent)


# ------------------------------------------------------------------ the rest of the world, for users' tests

#: When the fixtures' simulated clock starts (frozen: time moves only when a test moves it).
FIXTURE_START = "2026-01-15T09:00:00Z"


@pytest.fixture
def entrasim_tenant() -> Tenant:
    """A small tenant on a frozen clock, with one app registration (consented, with a secret) and no users."""
    tenant = Tenant(seed=1, clock=Clock.frozen_at(FIXTURE_START))
    tenant.register_application("entrasim test LMS")
    return tenant


@pytest.fixture
def entrasim_scim_lms() -> Iterator[Callable[..., Any]]:
    """Factory: ``entrasim_scim_lms(profile="entra-tolerant", clock=None)`` serves our SCIM LMS.

    The result has ``base_url``, ``job_token`` and ``admin_token`` (bearer tokens it
    accepts), ``store`` (its model), ``faults`` and ``tokens``; it stops after the test.
    """
    from .scenario.environment import start_scim_lms

    started: list[RunningServer] = []

    def start(profile: str = "entra-tolerant", clock: Clock | None = None):
        lms = start_scim_lms(profile, clock or Clock.frozen_at(FIXTURE_START))
        started.append(lms.running)
        return lms

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def entrasim_provisioner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    """Factory: ``entrasim_provisioner(tenant, url, token, preset="customappsso", dialect="default", **changes)``.

    Returns a ``ProvisioningEngine`` reading ``tenant`` in-process and writing to the
    SCIM server at ``url``; ``changes`` are what a scenario's ``job:`` section takes
    (``scope``, ``settings``, ``mappings``). Its waits advance the tenant's clock
    instead of sleeping. Call ``engine.run_cycle()``; the log is ``engine.log``.
    """
    from .provisioning.engine import ProvisioningEngine
    from .provisioning.sources import TenantSource
    from .provisioning.state import JobState
    from .scenario.jobs import build_job

    engines: list[Any] = []

    def build(tenant: Tenant, url: str, token: str, *, preset: str = "customappsso", dialect: str = "default",
              **changes: Any):
        job = build_job({"preset": preset, "dialect": dialect, **changes}, tenant_url=url, token=token)
        state = JobState(tmp_path_factory.mktemp("entrasim-job") / "job.state.db")
        engine = ProvisioningEngine(job, TenantSource(tenant), state, clock=tenant.clock,
                                    sleep=lambda seconds: tenant.clock.advance(seconds))
        engines.append((engine, state))
        return engine

    yield build
    for engine, state in engines:
        engine.close()
        state.close()


@pytest.fixture
def entrasim_pull_lms() -> Iterator[Callable[..., Any]]:
    """Factory: ``entrasim_pull_lms(graph)`` starts the Graph-pull LMS connected to an ``entrasim_graph`` server.

    The result has ``model`` (``GraphPullLms``: ``import_group``, ``add_schedule``,
    ``list_accounts``...), ``connection_id``, ``admin_login``, ``admin_token`` and
    ``base_url`` (its admin API, under ``/api``). It runs on the tenant's clock.
    """
    from .scenario.environment import start_pull_lms

    started: list[Any] = []

    def start(graph: GraphServer, *, client_secret: str | None = None):
        pull, _faults = start_pull_lms(graph, client_secret=client_secret)
        started.append(pull)
        return pull

    yield start
    for pull in started:
        pull.running.stop()
        pull.close()
