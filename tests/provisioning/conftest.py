"""Real SCIM targets for the provisioning engine's tests, and helpers to build jobs and tenants.

Two targets, each a real server on 127.0.0.1 (ephemeral port):

- our SCIM LMS (``simulator.lms.scim``) in any profile, with its fault injector
  and its own request log;
- scim2-server (PyPI), the reference third-party implementation, served by
  the same WSGI server, behind a small recorder (our code) that keeps every
  request it is sent.

Assertions read what a user would: the target's resources over HTTP, the
provisioning log records, and the requests the target received.
"""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from click.testing import CliRunner

from simulator.cli import main
from simulator.clock import Clock
from simulator.faults import FaultInjector
from simulator.lms.scim import LmsConfig, ScimStore, create_app, load_profile
from simulator.lms.scim.auth import TokenRegistry
from simulator.lms.scim.schemas import build_registry
from simulator.provisioning.engine import EngineOptions, ProvisioningEngine
from simulator.provisioning.job import Job, parse_job, preset_text
from simulator.provisioning.logs import ProvisioningLog
from simulator.provisioning.scim_client import RetryPolicy
from simulator.provisioning.sources import TenantSource
from simulator.provisioning.state import JobState
from simulator.serving import RunningServer, start_in_thread
from simulator.tenant import Tenant, snapshot

TOKEN = "provisioning-test-token"
START = "2026-01-15T09:00:00Z"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.05, default_retry_after=0.05)


@dataclass
class Sent:
    """A request a target received: method, path below the SCIM base, query parameters, JSON body."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # scim2-server only: what the client sent

    @property
    def filter(self) -> str | None:
        values = self.query.get("filter")
        return values[0] if values else None

    @property
    def operations(self) -> list[dict[str, Any]]:
        return (self.body or {}).get("Operations", [])


@dataclass
class Target:
    """A running SCIM server: where it is, what it holds, what it was sent."""

    kind: str  # "lms:<profile>" or "scim2-server"
    running: RunningServer
    base_path: str
    recorder: Callable[[], list[Sent]]
    faults: FaultInjector | None = None
    store: ScimStore | None = None
    clock: Clock | None = None
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.headers["Authorization"] = f"Bearer {TOKEN}"

    @property
    def base(self) -> str:
        return self.running.url + self.base_path

    def sent(self, since: int = 0) -> list[Sent]:
        """Requests received (from index ``since``), oldest first."""
        return self.recorder()[since:]

    def count(self) -> int:
        return len(self.recorder())

    def list(self, resource: str) -> list[dict[str, Any]]:
        response = self.session.get(f"{self.base}/{resource}", params={"count": "1000"}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json().get("Resources", [])

    def users(self) -> dict[str, dict[str, Any]]:
        """Users by userName."""
        return {u["userName"]: u for u in self.list("Users")}

    def groups(self) -> dict[str, dict[str, Any]]:
        """Groups by displayName, with their members."""
        out = {}
        for group in self.list("Groups"):
            full = self.session.get(f"{self.base}/Groups/{group['id']}", timeout=30).json()
            out[full["displayName"]] = full
        return out

    def member_ids(self, display_name: str) -> set[str]:
        return {m["value"] for m in self.groups()[display_name].get("members", [])}


def _lms_recorder(app: Any, base_path: str) -> Callable[[], list[Sent]]:
    log = app.extensions["entrasim"].log

    def entries() -> list[Sent]:
        out = []
        for entry in log.entries():
            body = json.loads(entry.request_body) if entry.request_body else None
            out.append(Sent(entry.method, entry.path[len(base_path):], parse_qs(entry.query), body, entry.status))
        return out

    return entries


class _Recorder:
    """WSGI middleware that keeps each request (method, path, query, body) before the app sees it."""

    def __init__(self, app: Any, prefix: str):
        self.app = app
        self.prefix = prefix
        self.requests: list[Sent] = []

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        data = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(data)
        path = environ.get("PATH_INFO", "")
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        sent = Sent(environ["REQUEST_METHOD"], path.removeprefix(self.prefix),
                    parse_qs(environ.get("QUERY_STRING", "")), json.loads(data) if data else None, headers=headers)

        def recording_start(status: str, headers: list, exc_info: Any = None) -> Any:
            sent.status = int(status.split()[0])
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        self.requests.append(sent)
        return self.app(environ, recording_start)


@pytest.fixture
def scim_targets() -> Iterator[Callable[..., Target]]:
    """Factory: ``scim_targets("lms", profile="entra-tolerant")`` or ``scim_targets("scim2-server")``."""
    started: list[RunningServer] = []

    def start(kind: str = "lms", profile: str = "entra-tolerant", *, open_access: bool = False) -> Target:
        if kind == "lms":
            clock = Clock.frozen_at(START)
            loaded = load_profile(profile)
            store = ScimStore(clock=clock, registry=build_registry(loaded.extensions))
            tokens = TokenRegistry(clock)
            tokens.add(TOKEN, label="engine")
            faults = FaultInjector(clock=clock)
            app = create_app(store, faults=faults, config=LmsConfig(profile=loaded, tokens=tokens))
            running = start_in_thread(app)
            started.append(running)
            return Target(f"lms:{profile}", running, "/scim/v2", _lms_recorder(app, "/scim/v2"), faults, store, clock)
        if kind == "scim2-server":
            from scim2_models import ScimProvider
            from scim2_server.memory import InMemoryStorage
            from scim2_server.service import ScimService
            from scim2_server.testserver.application import (
                BEARER_TOKEN_SCHEME,
                BearerTokenApplication,
            )
            from scim2_server.utils import (
                load_default_resource_types,
                load_default_schemas,
                load_default_service_provider_config,
            )

            config = load_default_service_provider_config()
            config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
            provider = ScimProvider.from_discovery(load_default_schemas().values(),
                                                   load_default_resource_types().values(), config=config)
            app = BearerTokenApplication(InMemoryStorage(), provider, service=ScimService(provider, secret="tests"),
                                         bearer_tokens=[] if open_access else [TOKEN])
            recorder = _Recorder(app, "/v2")
            running = start_in_thread(recorder)
            started.append(running)
            return Target("scim2-server", running, "/v2", lambda: list(recorder.requests))
        raise ValueError(kind)

    yield start
    for running in started:
        running.stop()


def read_request(conn: socket.socket) -> bytes | None:
    """One request as a raw test server receives it: the head up to the blank line, then ``Content-Length``
    bytes of body; None when the client closed the connection before a whole head came."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


# ------------------------------------------------------------------ jobs and tenants


def job_yaml(target: Target, *, preset: str = "customappsso", dialect: str = "default", settings: dict | None = None,
             replace: dict[str, str] | None = None) -> str:
    """A preset job pointed at ``target``, reading the in-process tenant, without pacing."""
    text = preset_text(preset)
    text = text.replace("https://localhost:8443/scim/v2", target.base).replace("${LMS_TOKEN}", TOKEN)
    text = text.replace("  type: snapshot", "  type: tenant").replace("  path: tenant.json", "")
    text = text.replace("dialect: default", f"dialect: {dialect}").replace("requestRate: 25", "requestRate: null")
    for key, value in (settings or {}).items():
        marker = f"  {key}:"
        lines = text.splitlines()
        for index, line in enumerate(lines):
            if line.startswith(marker):
                lines[index] = f"{marker} {value}"
                break
        else:
            raise KeyError(key)
        text = "\n".join(lines) + "\n"
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def make_job(target: Target, **kwargs: Any) -> Job:
    return parse_job(job_yaml(target, **kwargs))


def new_tenant() -> Tenant:
    return Tenant(seed=3, clock=Clock.frozen_at(START))


@dataclass
class Harness:
    """An engine wired to a tenant, a target, an in-memory state and log."""

    tenant: Tenant
    target: Target
    job: Job
    engine: ProvisioningEngine
    state: JobState
    log: ProvisioningLog

    def cycle(self, mode: str = "auto"):
        return self.engine.run_cycle(mode)

    def records(self, summary) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self.log.for_cycle(summary.cycle_id)]

    def record_for(self, summary, display: str) -> dict[str, Any]:
        found = [r for r in self.records(summary) if r["sourceIdentity"]["displayName"] == display]
        assert len(found) == 1, [(r["sourceIdentity"]["displayName"], r["provisioningAction"]) for r in self.records(summary)]
        return found[0]


@pytest.fixture
def harness(tmp_path) -> Iterator[Callable[..., Harness]]:
    """Factory: ``harness(tenant, target, **job_kwargs, options=..., state_path=...)``."""
    built: list[Harness] = []

    def build(tenant: Tenant, target: Target, *, options: EngineOptions | None = None, state_path: Any = None,
              **job_kwargs: Any) -> Harness:
        job = make_job(target, **job_kwargs)
        state = JobState(state_path or tmp_path / f"state-{len(built)}.db")
        log = ProvisioningLog()
        options = options or EngineOptions(retry=FAST_RETRY)
        engine = ProvisioningEngine(job, TenantSource(tenant), state, log, clock=tenant.clock, options=options)
        harness = Harness(tenant, target, job, engine, state, log)
        built.append(harness)
        return harness

    yield build
    for item in built:
        item.engine.close()
        item.state.close()


def add_people(tenant: Tenant, count: int = 3, *, group: str | None = "Learners", assign_group: bool = True,
               manager: bool = True) -> list:
    """``count`` users (the first manages the others), optionally in an assigned group."""
    users = []
    for index in range(count):
        users.append(tenant.create_user(
            userPrincipalName=f"user{index}@contoso.com", givenName=f"Given{index}", surname=f"Sur{index}",
            mail=f"user{index}@contoso.com", jobTitle="Learner", department="Sales",
            managerId=users[0].id if manager and index else None))
    if group is not None:
        created = tenant.create_group(displayName=group, members=[u.id for u in users])
        if assign_group:
            tenant.assign(created.id)
    return users


def make_tenant_for_graph() -> Tenant:
    """A tenant with an app registration (consented, with a secret) that reads it through Graph, and 3 users."""
    tenant = new_tenant()
    tenant.register_application("entrasim provisioning source")
    add_people(tenant, 3)
    group_id = next(iter(tenant.groups))
    tenant.remove_member(group_id, tenant.get_user("user2@contoso.com").id)
    return tenant


# ------------------------------------------------------------------ the provision CLI
@pytest.fixture
def workspace(tmp_path, scim_targets, monkeypatch):
    """A job written by ``init``, pointed at a SCIM LMS, reading a snapshot next to it."""
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    add_people(tenant, 3)
    snapshot.save(tenant, tmp_path / "tenant.json")
    runner = CliRunner()
    job = tmp_path / "job.yaml"
    result = runner.invoke(main, ["provision", "init", "-o", str(job)])
    assert result.exit_code == 0, result.output
    text = job.read_text().replace("https://localhost:8443/scim/v2", target.base).replace("requestRate: 25", "requestRate: null")
    job.write_text(text)
    monkeypatch.setenv("LMS_TOKEN", TOKEN)
    return runner, job, tenant, target


def run(runner: CliRunner, *args: str):
    return runner.invoke(main, ["provision", *args])
