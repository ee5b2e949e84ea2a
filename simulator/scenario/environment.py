"""Everything a scenario runs against, built in-process: tenant, Graph mock, SCIM LMS, provisioning job.

One simulated clock drives them all, frozen at the scenario's start: secrets,
tokens, quarantines and schedules move only when a step advances it, and the
provisioning client's waits (Retry-After, backoff) advance it instead of
sleeping, so a scenario that waits out a 429 takes milliseconds and is
deterministic. Servers listen on 127.0.0.1 with ephemeral ports and stop when
the environment closes.

The environment also keeps what the steps produced (cycle summaries, the last
HTTP response, the last error) for the expectations to read, and a cursor in
each server's request log so a failure can show the HTTP exchanges behind it.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

from ..requestlog import Redactor
from ..clock import Clock
from ..faults import FaultInjector
from ..graph.server import GraphServer, start_graph_server
from ..lms.scim import LmsConfig, ScimStore, create_app, load_profile
from ..lms.scim.auth import TokenRegistry
from ..lms.scim.schemas import build_registry
from ..provisioning.engine import EngineOptions, ProvisioningEngine
from ..provisioning.logs import CycleSummary, ProvisioningLog
from ..provisioning.scim_client import RetryPolicy
from ..provisioning.sources import SourceError, source_for
from ..provisioning.state import JobState
from ..serving import RunningServer, start_in_thread
from ..tenant import Tenant
from ..tenant.errors import TenantError
from ..tls import CertPaths, ensure_certs
from .errors import SetupError, StepError
from .jobs import build_job
from .loader import profile_location
from .model import Scenario
from .variables import substitute

DEFAULT_START = "2026-01-15T09:00:00Z"
BASE_PATH = "/scim/v2"
#: The body of an exchange kept in a report, at most.
BODY_LIMIT = 2000

_certs_lock = threading.Lock()
_certs: CertPaths | None = None


def scenario_certs() -> CertPaths:
    """The local CA and localhost certificate, made once per process in a private temporary directory."""
    global _certs
    with _certs_lock:
        if _certs is None:
            directory = tempfile.mkdtemp(prefix="entrasim-scenario-certs-")
            atexit.register(shutil.rmtree, directory, True)
            _certs = ensure_certs(directory)
        return _certs


def parse_duration(value: Any) -> timedelta:
    """``90``, ``"30s"``, ``"40m"``, ``"6h"``, ``"2d"`` -> a timedelta (the schema has checked the form)."""
    if isinstance(value, (int, float)):
        return timedelta(seconds=value)
    text = str(value).strip()
    number, unit = float(text[:-1]), text[-1]
    return timedelta(seconds=number * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])


@dataclass
class EmbeddedLms:
    """Our SCIM LMS, served on 127.0.0.1: its model, tokens and faults, for a scenario or a test."""

    store: ScimStore
    app: Any
    faults: FaultInjector
    tokens: TokenRegistry
    running: RunningServer
    profile: str
    #: the token a provisioning job uses (label "job"; steps may revoke it)
    job_token: str = field(default="", repr=False)
    #: the token the scenario itself reads with (label "scenario"; never revoked by a step)
    admin_token: str = field(default="", repr=False)

    @property
    def base_url(self) -> str:
        return self.running.url + BASE_PATH

    @property
    def log(self):
        return self.app.extensions["entrasim"].log


def start_scim_lms(profile: str, clock: Clock, *, seed: int = 0) -> EmbeddedLms:
    """Serve our SCIM LMS with ``profile`` on an ephemeral port, with a job token and an admin token."""
    try:
        loaded = load_profile(profile)
    except Exception as exc:  # noqa: BLE001 - an unknown profile or a broken profile file: one clear line
        raise SetupError(f"target.lms.profile: {exc}") from None
    store = ScimStore(clock=clock, registry=build_registry(loaded.extensions))
    tokens = TokenRegistry(clock)
    job_token, admin_token = TokenRegistry.generate(), TokenRegistry.generate()
    tokens.add(job_token, label="job")
    tokens.add(admin_token, label="scenario")
    faults = FaultInjector(clock=clock, seed=seed)
    app = create_app(store, faults=faults, config=LmsConfig(profile=loaded, tokens=tokens))
    running = start_in_thread(app)
    return EmbeddedLms(store, app, faults, tokens, running, loaded.name, job_token, admin_token)


@dataclass
class PullLms:
    """The Graph-pull LMS of a scenario: its model, its admin API, and the connection to the Graph mock."""

    model: Any
    running: RunningServer
    connection_id: str
    admin_login: str
    admin_token: str = field(default="", repr=False)

    @property
    def base_url(self) -> str:
        return self.running.url

    def close(self) -> None:
        self.model.close()


def start_pull_lms(graph: GraphServer, *, client_id: str | None = None, client_secret: str | None = None,
                   admin_login: str = "admin@lms.example", accounts: Any = ()) -> tuple[PullLms, FaultInjector]:
    """The Graph-pull LMS on the tenant's clock, connected to ``graph``, its admin API on an ephemeral port.

    Its waits (Retry-After, backoff) cost no time: scenarios check what is retried, not how long it took.
    """
    from ..lms.graph_pull import GraphPullLms, ImporterSettings
    from ..lms.graph_pull.app import GraphPullConfig
    from ..lms.graph_pull.app import create_app as create_pull_app

    tenant = graph.tenant
    model = GraphPullLms(clock=tenant.clock, settings=ImporterSettings(sleep=lambda _seconds: None))
    try:
        _admin, admin_token = model.seed_admin(admin_login)
        for account in accounts:
            model.add_account(**account)
        connection = model.add_connection(
            tenant_id=tenant.id, client_id=client_id or graph.client_id,
            client_secret=client_secret if client_secret is not None else graph.client_secret,
            authority_host=graph.url, graph_url=graph.graph_url, ca_bundle=graph.ca)
    except BaseException:
        model.close()
        raise
    faults = FaultInjector(clock=tenant.clock, seed=tenant.seed)
    try:
        running = start_in_thread(create_pull_app(model, faults=faults, config=GraphPullConfig(clock_control=False)))
    except BaseException:
        model.close()
        raise
    return PullLms(model, running, connection.id, admin_login, admin_token), faults


@dataclass
class Outcomes:
    """What the steps so far produced, for expectations to read."""

    cycles: list[CycleSummary] = field(default_factory=list)
    step_cycles: list[CycleSummary] = field(default_factory=list)
    response: requests.Response | None = None
    response_json: Any = None
    error: str | None = None
    clock_before_step: Any = None


class ScenarioEnvironment:
    """Builds and holds the scenario's world; ``close`` stops every server."""

    def __init__(self, scenario: Scenario, *, workdir: Path, target_url: str | None = None,
                 target_token: str | None = None):
        self.scenario = scenario
        self.workdir = workdir
        self.values: dict[str, Any] = dict(scenario.variables)
        self.redactor = Redactor()
        self.outcomes = Outcomes()
        self.graph: GraphServer | None = None
        self.lms: EmbeddedLms | None = None
        self.pull: PullLms | None = None
        self.pull_faults: FaultInjector | None = None
        self.engine: ProvisioningEngine | None = None
        self.state: JobState | None = None
        self.log = ProvisioningLog()
        self.session = requests.Session()
        self.job_edits: list[dict[str, Any]] = []
        self.group_keys: dict[str, str] = {}
        self.app_keys: dict[str, str] = {}
        self._servers: list[RunningServer] = []
        self._cursors: dict[str, int] = {}
        self._exchanges: list[dict[str, Any]] = []
        self._log_cursor = 0
        self._log_end = 0
        self._end_cursors: dict[str, int] | None = None
        self.job_token = self.admin_token = ""
        #: resources created by ``target.lms.resources`` (type, id), deleted after a run against ``--target``
        self.seeded: list[tuple[str, str]] = []
        self.exchanges_omitted = 0
        try:
            self._build(scenario, target_url, target_token)
        except BaseException:
            self.clean_external()  # what was seeded into an external server before the failure
            self.close()  # a half-built environment still stops the servers it started
            raise

    def _build(self, scenario: Scenario, target_url: str | None, target_token: str | None) -> None:
        tenant_spec = scenario.tenant
        self.clock = Clock.frozen_at(tenant_spec.get("start", DEFAULT_START))
        try:
            # ${name} and ${env.NAME} in the directory; ${id.KEY} cannot name what is being built
            self.tenant = self._build_tenant({k: v if k == "generate" else substitute(v, self.values)
                                              for k, v in tenant_spec.items()})
        except (TenantError, ValueError, KeyError, LookupError) as exc:
            raise SetupError(f"tenant: {exc}") from None
        for key, object_id in {**self.group_keys, **self.app_keys}.items():
            self.values[f"id.{key}"] = object_id
        for key, app_id in self.app_keys.items():
            credentials = self.tenant.get_application(app_id).passwordCredentials
            if credentials:
                self.values[f"secret_id.{key}"] = credentials[0].keyId
        external = scenario.target.get("external")
        if target_url is not None:
            self.target_url, self.job_token, self.admin_token = target_url, target_token or "", target_token or ""
            self.redactor.add(self.job_token)
            self.seed_resources((scenario.target.get("lms") or {}).get("resources") or {})
        elif external is not None:
            self.target_url = substitute(external["url"], self.values)
            self.job_token = self.admin_token = substitute(external["token"], self.values)
        elif scenario.uses_push or scenario.target.get("lms") is not None:
            self._start_lms(scenario.target.get("lms") or {})
        if self.job_token:
            self.redactor.add(self.job_token, self.admin_token)
        self.job_spec = substitute(scenario.job, self.values)
        if scenario.job is not None:
            self._start_job(self.job_spec)
        if scenario.pull_lms is not None:
            self._start_pull(substitute(scenario.pull_lms, self.values))

    # ------------------------------------------------------------------ building
    def _build_tenant(self, spec: dict[str, Any]) -> Tenant:
        generate = spec.get("generate")
        if generate:
            from ..tenant.seeding import SeedSpec, seed_tenant

            tenant = seed_tenant(SeedSpec(users=generate.get("users", 20), groups=generate.get("groups", 3),
                                          seed=generate.get("seed", spec.get("seed", 1)),
                                          start=spec.get("start", DEFAULT_START)), progress=False)
            self.clock = tenant.clock
        else:
            tenant = Tenant(seed=spec.get("seed", 1), clock=self.clock, domain=spec.get("domain", "contoso.onmicrosoft.com"))
        for app in spec.get("apps") or ():
            kwargs: dict[str, Any] = {"consent": app.get("consent", True)}
            if "permissions" in app:
                kwargs["permissions"] = app["permissions"]
            if "secret_lifetime" in app:
                kwargs["secret_lifetime"] = parse_duration(app["secret_lifetime"])
            registered = tenant.register_application(app["name"], **kwargs)
            self.app_keys[app.get("key", app["name"])] = registered.appId
        for registered in tenant.applications.values():  # the seeded connector's secret too
            self.redactor.add(*(cred.secretText for cred in registered.passwordCredentials))
        users = spec.get("users") or ()
        for user in users:
            self.create_user(tenant, user, managers=False)
        for user in users:
            if user.get("manager"):
                tenant.set_manager(user["upn"], tenant.get_user(user["manager"]).id)
        for group in spec.get("groups") or ():
            self.create_group(tenant, group)
        return tenant

    def create_user(self, tenant: Tenant, spec: dict[str, Any], managers: bool = True) -> None:
        attrs = {k: v for k, v in spec.items() if k not in ("upn", "assigned", "manager", "enabled", "role")}
        if "enabled" in spec:
            attrs["accountEnabled"] = spec["enabled"]
        if managers and spec.get("manager"):
            attrs["managerId"] = tenant.get_user(spec["manager"]).id
        attrs.setdefault("mailNickname", spec["upn"].split("@")[0])
        user = tenant.create_user(userPrincipalName=spec["upn"], **attrs)
        if spec.get("assigned"):
            tenant.assign(user.id)

    def create_group(self, tenant: Tenant, spec: dict[str, Any]) -> None:
        members = [self.resolve_principal(tenant, m) for m in spec.get("members") or ()]
        extra = {"description": spec["description"]} if "description" in spec else {}
        group = tenant.create_group(displayName=spec["displayName"], members=members, **extra)
        self.group_keys[spec.get("key", spec["displayName"])] = group.id
        if spec.get("assigned"):
            tenant.assign(group.id)

    def _start_lms(self, spec: dict[str, Any]) -> None:
        profile_name = profile_location(spec.get("profile", "entra-tolerant"), self.scenario.path)
        self.lms = start_scim_lms(profile_name, self.clock, seed=self.tenant.seed)
        self._servers.append(self.lms.running)
        self.job_token, self.admin_token = self.lms.job_token, self.lms.admin_token
        self.target_url = self.lms.base_url
        self.seed_resources(spec.get("resources") or {})

    def seed_resources(self, resources_by_type: dict[str, Any]) -> None:
        """Create ``target.lms.resources`` in the target over SCIM, as its admin would, before the first step."""
        for resource_type, resources in resources_by_type.items():
            for resource in substitute(resources, self.values):
                try:
                    response = self.session.post(f"{self.target_url}/{resource_type}", json=resource,
                                                 headers=self.admin_headers(), timeout=30)
                except requests.RequestException as exc:
                    raise SetupError(f"target.lms.resources.{resource_type}: cannot reach {self.target_url}: "
                                     f"{type(exc).__name__}") from None
                if response.status_code != 201:
                    raise SetupError(f"target.lms.resources.{resource_type}: the LMS refused {resource!r}: "
                                     f"{response.status_code} {self.redactor.clean(response.text[:300])}")
                try:
                    created_id = response.json().get("id")
                except (ValueError, AttributeError):
                    created_id = None
                if created_id:
                    self.seeded.append((resource_type, str(created_id)))

    def ensure_graph(self) -> GraphServer:
        """The identity + Graph mock over TLS, started the first time something needs it."""
        if self.graph is None:
            self.graph = start_graph_server(self.tenant, scenario_certs())
            self._servers.append(self.graph.running)
        return self.graph

    def _start_pull(self, spec: dict[str, Any]) -> None:
        from ..lms.graph_pull import LmsError
        graph = self.ensure_graph()
        app_id = self.app_id(spec.get("app"))
        secret = spec.get("client_secret")
        if secret is None:
            secret = self.tenant.get_application(app_id).passwordCredentials[0].secretText
        else:
            secret = str(substitute(secret, self.values))
        self.redactor.add(secret)
        try:
            self.pull, self.pull_faults = start_pull_lms(graph, client_id=app_id, client_secret=secret,
                                                         admin_login=spec.get("admin", "admin@lms.example"),
                                                         accounts=spec.get("accounts") or ())
        except (LmsError, TypeError) as exc:
            raise SetupError(f"pull_lms: {exc}") from None
        self._servers.append(self.pull.running)

    def _start_job(self, spec: dict[str, Any]) -> None:
        source = spec.get("source", "tenant")
        source = {"type": source} if isinstance(source, str) else dict(source)
        if source["type"] == "graph":
            graph = self.ensure_graph()
            app_id = self.app_id(source.get("app")) if source.get("app") else graph.client_id
            secret = source.get("client_secret")
            if secret is None:
                secret = self.tenant.get_application(app_id).passwordCredentials[0].secretText
            else:
                    secret = str(substitute(secret, self.values))
            self.redactor.add(secret)
            job_source = {"type": "graph", "tenantId": self.tenant.id, "clientId": app_id, "clientSecret": secret,
                          "authority": graph.url, "graphUrl": graph.graph_url, "caBundle": graph.ca}
            if source.get("scope_by_assignments", True):
                job_source["servicePrincipalId"] = self.tenant.provisioning_app.id
        else:
            job_source = {"type": "tenant"}
        self.job = build_job(spec, tenant_url=self.target_url, token=self.job_token, source=job_source)
        self.state = JobState(self.workdir / "job.state.db")
        try:
            self.engine = self._new_engine()
        except SourceError as exc:
            raise SetupError(f"job.source: {exc}") from None

    def _new_engine(self) -> ProvisioningEngine:
        options = EngineOptions(retry=RetryPolicy(max_attempts=4, backoff_base=0.5, backoff_max=5,
                                                  default_retry_after=1.0))
        return ProvisioningEngine(self.job, source_for(self.job, self.tenant), self.state, self.log, clock=self.clock,
                                  options=options, sleep=lambda seconds: self.clock.advance(seconds))

    def reconfigure_job(self, *, token: str | None = None, edit: dict[str, Any] | None = None,
                        client_secret: str | None = None) -> None:
        """What an admin does in the Provisioning blade: a new Secret Token, new mappings or settings,
        or (a job reading Graph) a new client secret for the app it reads with.

        The job state is kept; a change of mappings or scoping makes the next cycle an initial one, as in Entra.
        """
        source = _job_source_dict(self.job)
        if client_secret is not None:
            if source["type"] != "graph":
                raise StepError("edit_job.client_secret: this job reads the tenant in-process, not through Graph "
                                "(give it job.source: {type: graph, app: KEY})")
            self.redactor.add(client_secret)
            source["clientSecret"] = client_secret
        if token is not None:
            self.redactor.add(token)
        edits = [*self.job_edits, edit] if edit else self.job_edits
        # Built first, kept only when it builds: a refused edit (a step expecting that error) is not replayed later.
        job = build_job(self.job_spec, tenant_url=self.target_url, token=token if token is not None else self.job_token,
                        source=source, edits=edits)
        if token is not None:
            self.job_token = token
        self.job_edits = edits
        self.engine.close()
        self.job = job
        self.engine = self._new_engine()

    # ------------------------------------------------------------------ lookups
    def resolve_principal(self, tenant: Tenant, ident: str) -> str:
        if ident in self.group_keys:
            return self.group_keys[ident]
        if "@" in ident:
            return tenant.get_user(ident, include_deleted=True).id
        return self.group_id(ident, tenant)

    def group_id(self, ident: str, tenant: Tenant | None = None) -> str:
        """A group by its scenario key, its id, or its display name when only one group has it."""
        tenant = tenant or self.tenant
        if ident in self.group_keys:
            return self.group_keys[ident]
        if ident in tenant.groups:
            return ident
        named = [g.id for g in tenant.groups.values() if g.displayName == ident]
        if len(named) == 1:
            return named[0]
        if not named:
            raise LookupError(f"no group '{ident}' in the tenant")
        raise LookupError(f"{len(named)} groups are named '{ident}': give each a key: and use it")

    def app_id(self, ident: str | None) -> str:
        if ident is None:
            if not self.tenant.applications:
                raise LookupError("no app is registered in this scenario's tenant (declare one under tenant.apps)")
            if len(self.tenant.applications) > 1:
                raise LookupError(f"{len(self.tenant.applications)} apps are registered: name one (app: KEY)")
            return next(iter(self.tenant.applications))
        if ident in self.app_keys:
            return self.app_keys[ident]
        if ident in self.tenant.applications:
            return ident
        raise LookupError(f"no app '{ident}' in the tenant (declare it under tenant.apps)")

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}", "Content-Type": "application/scim+json"}

    # ------------------------------------------------------------------ traffic
    def begin_step(self) -> None:
        """Forget the exchanges of earlier steps; the next failure shows only this step's traffic."""
        self._exchanges = []
        self.outcomes.step_cycles = []
        self.outcomes.error = None
        self.outcomes.clock_before_step = self.clock.now()
        for name, log in self._request_logs():
            entries = log.entries(self._cursors.get(name, 0))
            if entries:
                self._cursors[name] = entries[-1].seq
        self._log_cursor = len(self.log.records)
        self._end_cursors = None

    def end_action(self) -> None:
        """The step's action is done: what the expectations read next is not part of its traffic."""
        self._end_cursors = {}
        for name, log in self._request_logs():
            entries = log.entries(self._cursors.get(name, 0))
            self._end_cursors[name] = entries[-1].seq if entries else self._cursors.get(name, 0)
        self._log_end = len(self.log.records)

    def _request_logs(self) -> list[tuple[str, Any]]:
        logs = []
        if self.lms is not None:
            logs.append(("lms", self.lms.log))
        if self.graph is not None:
            logs.append(("graph", self.graph.log))
        return logs

    def record_exchange(self, exchange: dict[str, Any]) -> None:
        self._exchanges.append(exchange)

    def step_exchanges(self, limit: int = 12) -> list[dict[str, Any]]:
        """The HTTP exchanges of the current step, last ``limit`` of them, redacted and clipped."""
        out: list[dict[str, Any]] = []
        ends = self._end_cursors or {}
        for name, log in self._request_logs():
            for entry in log.entries(self._cursors.get(name, 0)):
                if name in ends and entry.seq > ends[name]:
                    break
                out.append({"server": name, "method": entry.method,
                            "path": entry.path + (f"?{entry.query}" if entry.query else ""), "status": entry.status,
                            "request": entry.request_body, "response": entry.response_body,
                            "fault": entry.fault, "order": entry.time})
        if self.lms is None:  # an external target: the provisioning log kept the exchanges
            end = self._log_end if self._end_cursors is not None else len(self.log.records)
            for record in self.log.records[self._log_cursor:end]:
                for exchange in record.exchanges:
                    out.append({"server": "target", "method": exchange.method, "path": exchange.url,
                                "status": exchange.status, "request": exchange.request_body,
                                "response": exchange.response_body, "order": 0})
        out.extend(self._exchanges)
        out.sort(key=lambda e: e.get("order") or 0)
        #: how many earlier exchanges of the step the list leaves out (a report says so)
        self.exchanges_omitted = max(0, len(out) - limit)
        clipped = []
        for exchange in out[-limit:]:
            exchange = {k: v for k, v in exchange.items() if k != "order" and v is not None}
            for key in ("request", "response"):
                if isinstance(exchange.get(key), str):
                    exchange[key] = self.redactor.clean(exchange[key])[:BODY_LIMIT]
            exchange["path"] = self.redactor.clean(str(exchange.get("path", "")))
            clipped.append(exchange)
        return clipped

    # ------------------------------------------------------------------ LMS reads (as a user would, over HTTP)
    def scim_list(self, resource: str) -> list[dict[str, Any]]:
        """Every resource of a type in the target, read with the scenario's own token, full members included."""
        out: list[dict[str, Any]] = []
        start = 1
        while True:
            response = self.session.get(f"{self.target_url}/{resource}", params={"startIndex": start, "count": 200},
                                        headers=self.admin_headers(), timeout=30)
            if response.status_code != 200:
                raise SetupError(f"cannot list {resource} in the target: {response.status_code} {response.text[:200]}")
            body = response.json()
            page = body.get("Resources") or []
            out.extend(page)
            start += len(page)
            if not page or start > int(body.get("totalResults", 0)):
                return out

    def clean_external(self) -> None:
        """Delete from an external SCIM server what the scenario created there (its job's users and groups,
        and the resources it seeded), groups first, so the next scenario starts clean. Our LMS needs none."""
        if self.lms is not None or not getattr(self, "target_url", None):
            return
        created: list[tuple[str, str]] = list(self.seeded)
        if self.state is not None:
            for object_type, resource in (("Group", "Groups"), ("User", "Users")):
                created += [(resource, link.target_id) for link in self.state.links(object_type).values()]
        created.sort(key=lambda item: item[0] != "Groups")
        for resource, target_id in dict.fromkeys(created):
            try:
                self.session.delete(f"{self.target_url}/{resource}/{target_id}", headers=self.admin_headers(),
                                    timeout=30)
            except requests.RequestException:  # best effort: a target that is gone cannot be cleaned
                continue

    def close(self) -> None:
        """Stop everything, even when one piece fails to close: servers must not outlive the scenario."""
        try:
            if self.engine is not None:
                self.engine.close()
            if self.state is not None:
                self.state.close()
            if self.pull is not None:
                self.pull.close()
            self.session.close()
        finally:
            for running in self._servers:
                running.stop()


def _job_source_dict(job: Any) -> dict[str, Any]:
    """The job file ``source`` section of a built job (to rebuild it with a new token)."""
    config = job.source
    if config.kind != "graph":
        return {"type": config.kind}
    graph = config.graph
    out = {"type": "graph", "tenantId": graph.tenant_id, "clientId": graph.client_id,
           "clientSecret": graph.client_secret.reveal(), "authority": graph.authority, "graphUrl": graph.graph_url,
           "caBundle": str(graph.ca_bundle) if graph.ca_bundle else None}
    if graph.service_principal_id:
        out["servicePrincipalId"] = graph.service_principal_id
    return {k: v for k, v in out.items() if v is not None}
