"""The provisioning cycle engine: what Entra's provisioning service does to a SCIM endpoint, cycle by cycle.

A cycle (shared/reference/entra-provisioning-client.md 2.1):

1. the test-connection probe (``GET /Users?filter=userName eq "<random GUID>"``),
   as Entra sends it at the start of every activity;
2. read the source: everything (initial cycle) or what changed since the
   watermark (incremental), plus the objects escrowed by earlier cycles;
3. decide each object's fate without touching the target: create (after
   matching), update, disable (``IsSoftDeleted``: unassigned, out of scope,
   soft-deleted or ``accountEnabled`` false), re-enable, delete (purged, with the
   Delete action enabled), or skip, and hold every disable and delete when there
   are more than the accidental-deletion threshold (``StagedDelete``, quarantine
   ``TooManyDeletes``);
4. users, then groups, then group memberships, then references (manager):
   matching queries in precedence order, ``POST`` to create, ``GET`` before an
   update, a diff, a ``PATCH`` of only what changed in the job's dialect, or a
   ``RedundantExport`` skip when nothing did;
5. persist the watermark.

Failures are Entra's: ``DuplicateTargetEntries`` for several matches,
``...EntryConflict`` for a 409, ``InvalidAnchor`` for a linked object that is
gone, 429 waited out, 5xx and timeouts retried and then escrowed for the next
cycle; credential (401/403) and SCIM-compliance errors (a 404 or a non-
ListResponse to a filter) stop the cycle and quarantine the job, as do too many
failures. A quarantined job runs again 6 h, 12 h, 24 h, then every day after
the quarantine began (on the engine's clock).

Objects of one phase are exported by ``settings.concurrency`` workers,
greenlets of the calling thread (``cooperative``); the state store and the
log are written by the cycle itself, never by a worker.
"""

from __future__ import annotations

import hashlib
import http
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ..clock import Clock, iso
from . import cooperative
from .attributes import GROUP, USER, SourceObject
from .expressions import Environment, ExpressionEvaluationError
from .job import Job, SecretUnavailable
from .logs import (
    DELETE_NOT_ALLOWED,
    NOT_EFFECTIVELY_ENTITLED,
    NOT_MANAGED,
    REDUNDANT_EXPORT,
    REFERENCE_NOT_PROVISIONED,
    SKIP_DESCRIPTIONS,
    SKIP_OUT_OF_SCOPE_DELETIONS,
    CycleSummary,
    ErrorInfo,
    LogRecord,
    ProvisioningLog,
    Step,
)
from .mappings import ENTERPRISE_USER, SKIP_SWITCH_NULLED, ObjectMapping, SourceReference, TargetValues
from .resources import (
    LIST_RESPONSE,
    Change,
    creation_body,
    diff,
    display_of,
    read_path,
    reference_id,
    reference_paths,
    target_paths,
)
from .scim_client import (
    Dialect,
    Exchange,
    RetryPolicy,
    ScimClient,
    ScimClientError,
    ScimHttpError,
    ScimTransportError,
    entra_issued_token,
)
from .sources import (
    Source,
    SourceError,
    SourceGroup,
    SourceRead,
    SourceUser,
    WatermarkInvalid,
)
from .state import ESCROW, STAGED, JobState, Link, Quarantine

INVALID_CREDENTIALS = ("You appear to have entered invalid credentials. Please confirm you are using the correct "
                       "information for an administrative account.")
NOT_COMPATIBLE = ("The SCIM endpoint is not fully compatible with the Azure Active Directory SCIM client. Please refer "
                  "to the Azure Active Directory SCIM provisioning documentation and adapt the SCIM endpoint to be able "
                  "to process provisioning requests from Azure Active Directory.")
EXCEPTION_MESSAGE = ("Processing of the HTTP request resulted in an exception. Please see the HTTP response returned "
                     "by the 'Response' property of this exception for details.")
SCIM = "SystemForCrossDomainIdentityManagement"

INITIAL, INCREMENTAL = "initial", "incremental"
#: state writes per SQLite transaction during a cycle's exports (see state.JobState.batch_writes)
STATE_BATCH = 500
ON_DEMAND = "onDemand"
QUARANTINE_EXCEPTION = "EncounteredQuarantineException"
TOO_MANY_DELETES = "TooManyDeletes"


class EngineError(Exception):
    """The engine cannot run as asked (no watermark for an incremental cycle, an unreadable secret...)."""


@dataclass(frozen=True)
class EngineOptions:
    """Behaviour switches beyond the job file; Entra's documented values are the defaults."""

    #: send the test-connection probe at the start of every cycle
    probe_each_cycle: bool = True
    #: probe ``/Groups`` too (when groups are provisioned)
    probe_groups: bool = True
    #: without an IsSoftDeleted-driven mapping, Entra either does nothing or DELETEs a user leaving scope
    delete_without_soft_delete_mapping: bool = False
    #: the group create body lists Entra's legacy ADSCIM schema URN besides the core one
    legacy_group_schema: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: failure-based quarantine: evaluated from this many failures, then >proportion or >cap; total cap always
    escrow_base_threshold: int = 5000
    escrow_proportion: float = 0.4
    escrow_failure_cap: int = 40000
    escrow_total_cap: int = 60000
    #: when an escrowed object is retried (the next cycle, 40 minutes later in Entra)
    escrow_retry_after: timedelta = timedelta(minutes=40)
    #: quarantine retries, counted from the start of the quarantine; then every ``quarantine_repeat``
    quarantine_schedule: tuple[timedelta, ...] = (timedelta(hours=6), timedelta(hours=12), timedelta(hours=24))
    quarantine_repeat: timedelta = timedelta(hours=24)
    quarantine_limit: timedelta = timedelta(days=28)
    seed: int = 0


@dataclass
class ConnectionTest:
    """The result of Test Connection: Entra's message, and what was received."""

    ok: bool
    message: str
    details: list[str] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    credentials: bool = False  # the failure was a 401/403

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "message": self.message, "details": list(self.details),
                "requests": [e.as_dict() for e in self.exchanges]}


@dataclass
class OnDemandResult:
    """What provisioning one user on demand did: the user, the records (with their steps) and the summary."""

    ok: bool
    user: SourceUser | None
    summary: CycleSummary
    records: list[LogRecord]
    connection: ConnectionTest

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "userId": self.user.id if self.user else None,
                "userPrincipalName": self.user.user.userPrincipalName if self.user else None,
                "summary": self.summary.as_dict(), "records": [r.as_dict() for r in self.records],
                "connection": self.connection.as_dict()}


# ------------------------------------------------------------------ plans and outcomes


@dataclass
class Plan:
    """What the engine decided for one object before touching the target."""

    object_type: str
    source_id: str
    intent: str  # create | update | enable | disable | delete | skip
    display: str
    link: Link | None = None
    user: SourceUser | None = None
    group: SourceGroup | None = None
    source: SourceObject | None = None
    skip_reason: str | None = None
    soft_deleted: bool = False
    in_scope: bool = True
    scope_details: dict[str, Any] = field(default_factory=dict)
    retry: bool = False  # an escrowed object retried
    log_skip: bool = True

    @property
    def removes(self) -> bool:
        """Counts toward the accidental-deletion threshold (disables and deletes)."""
        return self.intent in ("disable", "delete")

    @property
    def action(self) -> str:
        return {"create": "create", "update": "update", "enable": "update", "disable": "disable",
                "delete": "delete"}.get(self.intent, "other")


@dataclass
class Outcome:
    """What exporting one plan did; applied to the state and the log by the cycle, not by the worker."""

    plan: Plan
    record: LogRecord
    link: Link | None = None
    drop_link: bool = False
    resource: dict[str, Any] | None = None  # the target resource as read or created (for references)
    created: bool = False
    failure: tuple[str, bool] | None = None  # (error code, reference failure)
    abort: str | None = None  # "credentials" | "compliance": stop the cycle, quarantine


class _Abort(Exception):
    """Stop the cycle: credentials refused or the endpoint is not SCIM compliant."""

    def __init__(self, kind: str, details: str):
        super().__init__(details)
        self.kind = kind
        self.details = details


def _status_name(status: int | None) -> str:
    if status is None:
        return "None"
    try:
        return http.HTTPStatus(status).phrase.title().replace(" ", "").replace("-", "")
    except ValueError:
        return str(status)


def job_fingerprint(job: Job) -> str:
    """Changes when what decides provisioning changes (mappings, scoping, scope): Entra then runs an initial cycle."""
    parts: list[str] = [job.scope]
    for mapping in job.object_mappings:
        parts.append(f"{mapping.name}:{mapping.enabled}:{sorted(mapping.actions)}")
        for row in mapping.attributes:
            source = row.expression.text if row.expression is not None else row.source
            parts.append(f"{row.target.text}|{row.kind}|{source}|{row.constant}|{row.default}|{row.apply}|{row.matching_priority}")
        for scoping_filter in mapping.scoping.filters:
            parts.append(";".join(f"{c.attribute} {c.operator} {c.value}" for c in scoping_filter.clauses))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def client_for(job: Job, *, tenant_id: str = "", retry: RetryPolicy | None = None,
               sleep: Callable[[float], None] = cooperative.sleep,
               on_wait: Callable[[float, str], None] | None = None) -> ScimClient:
    """The SCIM client a job describes: Tenant URL, token (or Entra's own), dialect, timeouts, pacing."""
    settings = job.settings
    try:
        token = job.secret_token.reveal() if job.secret_token is not None else ""
    except SecretUnavailable as exc:
        raise EngineError(f"target.secretToken: {exc}") from None
    if not token:
        token = entra_issued_token(tenant_id or "00000000-0000-0000-0000-000000000000")
    verify: Any = str(job.target_ca_bundle) if job.target_ca_bundle is not None else True
    return ScimClient(job.tenant_url, token, dialect=Dialect(job.dialect), connect_timeout=settings.connect_timeout,
                      read_timeout=settings.read_timeout, request_rate=settings.request_rate,
                      concurrency=settings.concurrency, verify=verify, retry=retry, sleep=sleep, on_wait=on_wait)


def test_connection(client: ScimClient, job: Job, *, probe_groups: bool = True) -> ConnectionTest:
    """Entra's Test Connection: query a user (and a group) that cannot exist; only an empty ListResponse passes.

    The filter uses the first matching attribute and a random GUID, as Entra's
    does; any other answer fails with Entra's "invalid credentials" message, and
    the details say what was received.
    """
    exchanges: list[Exchange] = []
    probes = [("Users", job.users)]
    if job.groups.enabled and probe_groups:
        probes.append(("Groups", job.groups))
    for resource, mapping in probes:
        matching = mapping.matching
        attribute = matching[0].target.text if matching else ("userName" if resource == "Users" else "displayName")
        try:
            response = client.find(resource, attribute, str(uuid.uuid4()))
        except ScimHttpError as exc:
            exchanges += exc.exchanges
            detail = (f"GET /{resource} with a filter answered HTTP {exc.status} ({_status_name(exc.status)}) "
                      "rather than the expected HTTP 200 OK with an empty ListResponse")
            if exc.status == 404:
                detail = ("SCIM Compliance issue: An HTTP/404 Not Found response was returned rather than the "
                          f"expected HTTP/200 OK response (GET /{resource} with a filter)")
            return ConnectionTest(False, INVALID_CREDENTIALS, [detail, _response_excerpt(exc.response.text)],
                                  exchanges, credentials=exc.status in (401, 403))
        except ScimTransportError as exc:
            exchanges += exc.exchanges
            return ConnectionTest(False, INVALID_CREDENTIALS,
                                  [f"GET /{resource}: no answer from {client.base_url} ({exc.kind})"], exchanges)
        exchanges += response.exchanges
        body = response.body
        if not _is_list_response(body):
            return ConnectionTest(False, INVALID_CREDENTIALS,
                                  [f"GET /{resource} with a filter did not answer a SCIM ListResponse",
                                   _response_excerpt(response.text)], exchanges)
        if _result_count(body) != 0:
            return ConnectionTest(False, INVALID_CREDENTIALS,
                                  [f"GET /{resource} filtered on a random GUID returned "
                                   f"{_result_count(body)} resources instead of none"], exchanges)
    return ConnectionTest(True, "You are connected to the SCIM endpoint: the credentials are authorized to "
                                "enable provisioning.", [], exchanges)


# ------------------------------------------------------------------ the engine


class ProvisioningEngine:
    """Runs a job's cycles against its SCIM target; reads through ``source``, remembers in ``state``, logs to ``log``."""

    def __init__(self, job: Job, source: Source, state: JobState, log: ProvisioningLog | None = None, *,
                 clock: Clock | None = None, options: EngineOptions | None = None,
                 progress: Callable[[str, int, int], None] | None = None,
                 notify: Callable[[str], None] | None = None,
                 sleep: Callable[[float], None] = cooperative.sleep):
        self.job = job
        self.source = source
        self.state = state
        self.log = log if log is not None else ProvisioningLog()
        self.clock = clock or Clock()
        self.options = options or EngineOptions()
        self.progress = progress
        self.notify = notify
        self.policy = job.scope_policy
        self.env = Environment(rng=random.Random(self.options.seed), clock=self.clock,
                               switch_nulls_unchanged_source=job.settings.switch_nulls_unchanged_source)
        self.user_paths = target_paths(job.users)
        self.group_paths = target_paths(job.groups)
        self.user_references = reference_paths(job.users)
        self.group_references = reference_paths(job.groups)
        self.manager_row = next((row for row in job.users.attributes if row.reference), None)
        self.members_row = next((row for row in job.groups.attributes if row.reference), None)
        self.soft_delete_mapped = any("IsSoftDeleted" in row.source_attributes for row in job.users.attributes)
        self.client = client_for(job, tenant_id=source.tenant_id, retry=self.options.retry, sleep=sleep,
                                 on_wait=self._on_wait)
        self.dialect = self.client.dialect
        job_id = state.get("job_id")
        if job_id is None:
            tenant_hex = (source.tenant_id or "").replace("-", "") or uuid.uuid4().hex
            job_id = f"scim.{tenant_hex}.{uuid.uuid4().hex}"
            state.put("job_id", job_id)
        self.job_id = job_id

    def close(self) -> None:
        self.client.close()
        self.source.close()

    def __enter__(self) -> ProvisioningEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_wait(self, seconds: float, reason: str) -> None:
        if self.notify is not None:
            self.notify(reason)

    # ------------------------------------------------------------------ test connection
    def test_connection(self) -> ConnectionTest:
        """Entra's Test Connection against this job's target (see ``test_connection``)."""
        return test_connection(self.client, self.job, probe_groups=self.options.probe_groups)

    # ------------------------------------------------------------------ cycles
    def run_cycle(self, mode: str = "auto") -> CycleSummary:
        """Run one cycle: ``auto`` (initial without a watermark, else incremental), ``initial`` or ``incremental``."""
        if mode not in ("auto", INITIAL, INCREMENTAL):
            raise ValueError(f"unknown cycle mode '{mode}'")
        now = self.clock.now()
        notes: list[str] = []
        quarantine = self.state.quarantine
        if quarantine is not None and now < quarantine.next_attempt:
            summary = CycleSummary(str(uuid.uuid4()), self.job_id, mode if mode != "auto" else INCREMENTAL, now,
                                   ended=now, state="Skipped", quarantine=quarantine.as_dict())
            summary.notes.append(f"the job is in quarantine ({quarantine.reason}) until {iso(quarantine.next_attempt)}"
                                 + (f": {quarantine.details}" if quarantine.details else ""))
            self.log.add_summary(summary)
            return summary
        fingerprint = job_fingerprint(self.job)
        if self.state.fingerprint != fingerprint:
            if self.state.fingerprint is not None and self.state.watermark is not None:
                notes.append("attribute mappings or scoping changed since the last cycle: running an initial cycle")
            self.state.set_watermark(None)
            self.state.set_fingerprint(fingerprint)
        for cycle_id, kind, started in self.state.unfinished_cycles():
            notes.append(f"the {kind} cycle {cycle_id} started {started} did not finish: its work is resumed")
        self.state.mark_interrupted()
        watermark = self.state.watermark
        if mode == INCREMENTAL and watermark is None:
            raise EngineError("the job has no watermark yet: run an initial cycle first")
        kind = INCREMENTAL if mode != INITIAL and watermark is not None else INITIAL
        cycle = _Cycle(self, kind, notes)
        return cycle.run(watermark)

    def run(self, cycles: int = 1, mode: str = "auto") -> list[CycleSummary]:
        """Run ``cycles`` cycles back to back (the first in ``mode``, the rest incremental)."""
        summaries = []
        for index in range(cycles):
            summaries.append(self.run_cycle(mode if index == 0 else "auto"))
        return summaries

    # ------------------------------------------------------------------ on demand
    def provision_on_demand(self, user: str) -> OnDemandResult:
        """Entra's "Provision on demand" for one user (its source id or userPrincipalName), outside any cycle.

        As in Entra: the test-connection probe, then import, scoping, matching
        and one create, update, disable or skip of that user, then its manager
        reference if the manager is already provisioned. Group memberships are
        not exported (the reference documents no membership step for a user run
        on demand). The watermark and the cycle history are untouched, and a
        refused credential fails the run without quarantining the job. Records
        go to the job's log like any cycle's, under their own cycle id.
        """
        cycle = _Cycle(self, ON_DEMAND, [])
        summary = cycle.summary
        test = self.test_connection()
        if not test.ok:
            summary.state = "Failed"
            summary.notes.append("test connection failed: " + "; ".join([test.message, *test.details]))
            cycle._finish(record=False)
            return OnDemandResult(False, None, summary, [], test)
        read, su = self._on_demand_read(user)
        if su is None:
            raise EngineError(f"no user '{user}' in the source (give its object id or userPrincipalName)")
        written = len(self.log.records)
        cycle.links[USER] = self.state.links(USER)
        cycle.links[GROUP] = self.state.links(GROUP)
        plan = cycle._plan_user(su)
        plan.log_skip = True
        cycle._run_phase("users", [plan], cycle._export_user)
        if cycle.aborted is None and self.manager_row is not None:
            cycle._references(read)
        failed = summary.count(status="failure") > 0
        summary.state = "Failed" if cycle.aborted is not None else ("EntryLevelErrors" if failed else "Succeeded")
        cycle._finish(record=False)
        records = [r for r in self.log.records[written:] if r.cycle_id == summary.cycle_id]
        return OnDemandResult(not failed and cycle.aborted is None, su, summary, records, test)

    def _on_demand_read(self, key: str) -> tuple[SourceRead, SourceUser | None]:
        """The source user ``key`` names (object id or userPrincipalName, any case), read as a cycle reads it."""
        everything = self.source.read_all()
        wanted = key.lower()
        for uid, su in everything.users.items():
            if uid.lower() == wanted or (su.user.userPrincipalName or "").lower() == wanted:
                read = SourceRead(users={uid: su}, full=False)
                return read, su
        if key in self.state.links(USER):  # linked, and gone from the directory since: deleted or soft-deleted
            read = self.source.read_objects([key], [])
            return read, read.users.get(key)
        return SourceRead(), None

    # ------------------------------------------------------------------ quarantine
    def enter_quarantine(self, reason: str, details: str) -> Quarantine:
        now = self.clock.now()
        current = self.state.quarantine
        if current is None:
            quarantine = Quarantine(reason, now, now, now + self.options.quarantine_schedule[0], 1, details)
        else:
            count = current.series_count + 1
            schedule = self.options.quarantine_schedule
            if count <= len(schedule):
                offset = schedule[count - 1]
            else:
                offset = schedule[-1] + self.options.quarantine_repeat * (count - len(schedule))
            next_attempt = max(current.series_began + offset, now + timedelta(seconds=1))
            if now - current.series_began >= self.options.quarantine_limit:
                details += "; in quarantine for more than four weeks: Entra disables the job"
            quarantine = Quarantine(reason, current.series_began, now, next_attempt, count, details)
        self.state.set_quarantine(quarantine)
        return quarantine


def deserialize_problem(resource: dict[str, Any]) -> str | None:
    """What Entra cannot read in a resource it fetched: ``active`` not a JSON boolean, ``manager`` not an object."""
    active = resource.get("active")
    if active is not None and not isinstance(active, bool):
        return ("We are not able to deserialize the resource received from your SCIM endpoint: "
                f"'active' is {active!r}, not a JSON boolean")
    enterprise = resource.get(ENTERPRISE_USER)
    manager = enterprise.get("manager") if isinstance(enterprise, dict) else None
    if manager is not None and not isinstance(manager, dict):
        return ("We are not able to deserialize the resource received from your SCIM endpoint: the enterprise "
                f"'manager' is {manager!r}, not a complex attribute with a 'value'")
    return None


def _is_list_response(body: Any) -> bool:
    return isinstance(body, dict) and (LIST_RESPONSE in (body.get("schemas") or []) or "Resources" in body
                                       or "totalResults" in body) and isinstance(body.get("Resources", []), list)


def _result_count(body: dict[str, Any]) -> int:
    resources = body.get("Resources") or []
    total = body.get("totalResults")
    return max(len(resources), total if isinstance(total, int) else 0)


def _response_excerpt(text: str) -> str:
    text = " ".join((text or "").split())
    return f"Web Response: {text[:300]}" if text else "Web Response: (empty)"


# ------------------------------------------------------------------ one cycle


class _Cycle:
    """One run of the engine over one source read."""

    def __init__(self, engine: ProvisioningEngine, kind: str, notes: list[str]):
        self.engine = engine
        self.job = engine.job
        self.state = engine.state
        self.client = engine.client
        self.dialect = engine.dialect
        self.kind = kind
        self.cycle_id = str(uuid.uuid4())
        self.started = engine.clock.now()
        self.summary = CycleSummary(self.cycle_id, engine.job_id, kind, self.started, notes=notes)
        self.links: dict[str, dict[str, Link]] = {}
        self.resources: dict[str, dict[str, Any] | None] = {}  # user id -> resource read this cycle (None: created)
        self.exported_users: set[str] = set()
        self.aborted: _Abort | None = None
        self.requests_before = self.client.requests_sent
        self.t0 = time.perf_counter()
        self.retried: set[tuple[str, str]] = set()  # (object type, source id) of escrowed objects retried
        self.failed: set[str] = set()  # source ids whose export failed in this cycle
        #: (object type, source id, kind) of every escrow the state holds, once read: clearing a missing one is skipped
        self.escrow_keys: set[tuple[str, str, str]] | None = None
        self.cycle_failures = 0

    # -- driver
    def run(self, watermark: str | None) -> CycleSummary:
        engine, state, summary = self.engine, self.state, self.summary
        state.begin_cycle(self.cycle_id, self.kind, self.started)
        try:
            if engine.options.probe_each_cycle:
                test = engine.test_connection()
                if not test.ok:
                    raise _Abort("credentials" if test.credentials else "compliance", "; ".join(test.details))
            read = self._read(watermark)
            with state.batch_writes(STATE_BATCH):
                self._process(read)
            if self.aborted is not None:
                raise self.aborted
            self._evaluate_escrows()
            state.set_watermark(read.watermark)
            summary.watermark_saved = True
            if state.force_deletes and not any(e.kind == STAGED for e in state.escrows()):
                state.set_force_deletes(False)
            summary.state = "EntryLevelErrors" if summary.count(status="failure") else "Succeeded"
            quarantine = state.quarantine
            if quarantine is not None and quarantine.current_began < self.started and summary.state != "Failed" \
                    and quarantine.reason != TOO_MANY_DELETES:
                state.set_quarantine(None)
                summary.notes.append(f"the job left quarantine ({quarantine.reason})")
        except _Abort as abort:
            quarantine = engine.enter_quarantine(QUARANTINE_EXCEPTION, abort.details)
            summary.state = "Failed"
            summary.notes.append(("the SCIM endpoint refused the credentials" if abort.kind == "credentials"
                                  else "the SCIM endpoint is not SCIM compliant") +
                                 f": {abort.details}; quarantined until {iso(quarantine.next_attempt)}")
        except SourceError as exc:
            summary.state = "Failed"
            summary.notes.append(f"cannot read the source: {exc}")
            self._finish()
            raise
        except BaseException:
            summary.state = "Interrupted"
            self._finish(record=False)
            raise
        self._finish()
        return summary

    def _finish(self, record: bool = True) -> None:
        summary, engine = self.summary, self.engine
        summary.ended = engine.clock.now()
        summary.duration_s = time.perf_counter() - self.t0
        summary.requests = self.client.requests_sent - self.requests_before
        summary.escrowed = len(self.state.escrows(ESCROW))
        summary.staged = len(self.state.escrows(STAGED))
        quarantine = self.state.quarantine
        summary.quarantine = quarantine.as_dict() if quarantine else None
        if record:
            self.state.end_cycle(self.cycle_id, summary.ended, summary.state, summary.as_dict())
        engine.log.add_summary(summary)

    def _read(self, watermark: str | None) -> SourceRead:
        source = self.engine.source
        if self.kind == INCREMENTAL:
            try:
                read = source.read_changes(watermark)
            except WatermarkInvalid as exc:
                self.summary.notes.append(f"{exc}: running an initial cycle")
                self.kind = self.summary.kind = INITIAL
                read = source.read_all()
        else:
            read = source.read_all()
        pending = self.state.escrows()
        self.escrow_keys = {(e.object_type, e.source_id, e.kind) for e in pending}
        users = {e.source_id for e in pending if e.object_type == USER}
        groups = {e.source_id for e in pending if e.object_type == GROUP}
        if read.full:
            # Linked objects a whole-directory read does not hold: deleted (or, from Graph, soft-deleted) since.
            users |= set(self.state.links(USER))
            groups |= set(self.state.links(GROUP))
        users -= set(read.users) | read.purged_users
        groups -= set(read.groups) | read.deleted_groups
        if users or groups:
            read.merge(source.read_objects(sorted(users), sorted(groups)))
        self.retried = {(e.object_type, e.source_id) for e in pending}
        self.summary.imported = len(read.users) + len(read.groups) + len(read.purged_users) + len(read.deleted_groups)
        for note in source.notes:
            if note not in self.summary.notes:
                self.summary.notes.append(note)
        return read

    # -- planning
    def _process(self, read: SourceRead) -> None:
        job = self.job
        self.links[USER] = self.state.links(USER)
        self.links[GROUP] = self.state.links(GROUP)
        user_plans = [self._plan_user(u) for u in read.users.values()]
        user_plans += [p for p in (self._plan_purged_user(uid) for uid in sorted(read.purged_users)) if p is not None]
        group_plans: list[Plan] = []
        if job.groups.enabled:
            group_plans = [self._plan_group(g) for g in read.groups.values()]
            group_plans += [p for p in (self._plan_deleted_group(gid) for gid in sorted(read.deleted_groups))
                            if p is not None]
        self._hold_deletions(user_plans + group_plans)
        self._run_phase("users", user_plans, self._export_user)
        if self.aborted:
            return
        self._run_phase("groups", group_plans, self._export_group)
        if self.aborted:
            return
        if job.groups.enabled and self.members_mapped:
            self._memberships(read)
        if self.aborted:
            return
        if self.engine.manager_row is not None:
            self._references(read)

    @property
    def members_mapped(self) -> bool:
        return self.engine.members_row is not None

    def _plan_user(self, su: SourceUser) -> Plan:
        engine, job = self.engine, self.job
        policy = engine.policy
        source = policy.user_source(su.user, assigned=su.assigned, deleted=su.deleted, roles=su.roles)
        # A tombstone (a user Graph reports removed) is known only by its id: it was in scope, and is now deleted.
        in_scope = policy.user_in_scope(source, assigned=su.assigned) if not su.tombstone else True
        inactive = su.deleted or su.user.accountEnabled is False
        soft = source.soft_deleted
        link = self.links[USER].get(su.id)
        display = (link.display if link and link.display else None) or su.user.userPrincipalName or su.id
        details = {"IsActive": not inactive, "Assigned": su.assigned, "IsInProvisioningScope": in_scope,
                   "ScopeEvaluationResult": "in scope" if not soft else "out of scope"}
        plan = Plan(USER, su.id, "skip", display, link=link, user=su, source=source, soft_deleted=soft,
                    in_scope=in_scope and not inactive, scope_details=details, retry=(USER, su.id) in self.retried)
        if link is None:
            if soft:
                plan.skip_reason = NOT_EFFECTIVELY_ENTITLED
                plan.log_skip = su.assigned or policy.scope == "all" or plan.retry
                return plan
            plan.intent = "create" if job.users.allows("Add") else "skip"
            if plan.intent == "skip":
                plan.skip_reason = DELETE_NOT_ALLOWED
            return plan
        if not link.managed:
            if soft:
                plan.skip_reason = NOT_MANAGED
                return plan
            plan.intent = "enable"
            return plan
        if soft:
            if not job.users.allows("Update"):
                plan.skip_reason = DELETE_NOT_ALLOWED
                return plan
            if not engine.soft_delete_mapped:
                if engine.options.delete_without_soft_delete_mapping and job.users.allows("Delete"):
                    plan.intent = "delete"
                else:
                    plan.intent = "update"
                return plan
            if link.disabled:
                plan.intent = "update"
                return plan
            if not in_scope and not inactive and job.settings.skip_out_of_scope_deletions:
                plan.skip_reason = SKIP_OUT_OF_SCOPE_DELETIONS
                return plan
            plan.intent = "disable"
            return plan
        plan.intent = "enable" if link.disabled else "update"
        return plan

    def _plan_purged_user(self, user_id: str) -> Plan | None:
        link = self.links[USER].get(user_id)
        if link is None:
            return None
        plan = Plan(USER, user_id, "skip", link.display or user_id, link=link, soft_deleted=True, in_scope=False,
                    retry=(USER, user_id) in self.retried)
        if not link.managed:
            plan.skip_reason = NOT_MANAGED
        elif not self.job.users.allows("Delete"):
            plan.skip_reason = DELETE_NOT_ALLOWED
        else:
            plan.intent = "delete"
        return plan

    def _plan_group(self, sg: SourceGroup) -> Plan:
        policy = self.engine.policy
        source = SourceObject.for_group(sg.group)
        in_scope = policy.group_in_scope(source, assigned=sg.assigned)
        link = self.links[GROUP].get(sg.id)
        display = sg.group.displayName or sg.id
        details = {"Assigned": sg.assigned, "IsInProvisioningScope": in_scope}
        plan = Plan(GROUP, sg.id, "skip", display, link=link, group=sg, source=source, in_scope=in_scope,
                    scope_details=details, retry=(GROUP, sg.id) in self.retried)
        mapping = self.job.groups
        if link is None:
            if not in_scope:
                plan.skip_reason = NOT_EFFECTIVELY_ENTITLED
                plan.log_skip = sg.assigned or policy.scope == "all" or plan.retry
            elif mapping.allows("Add"):
                plan.intent = "create"
            else:
                plan.skip_reason = DELETE_NOT_ALLOWED
            return plan
        if in_scope:
            plan.intent = "update" if mapping.allows("Update") else "skip"
            if plan.intent == "skip":
                plan.skip_reason = DELETE_NOT_ALLOWED
        elif mapping.allows("Delete"):
            plan.intent = "delete"
        else:
            plan.skip_reason = DELETE_NOT_ALLOWED
        return plan

    def _plan_deleted_group(self, group_id: str) -> Plan | None:
        link = self.links[GROUP].get(group_id)
        if link is None:
            return None
        plan = Plan(GROUP, group_id, "skip", link.display or group_id, link=link, in_scope=False,
                    retry=(GROUP, group_id) in self.retried)
        if self.job.groups.allows("Delete"):
            plan.intent = "delete"
        else:
            plan.skip_reason = DELETE_NOT_ALLOWED
        return plan

    def _hold_deletions(self, plans: list[Plan]) -> None:
        """Accidental-deletion prevention: more disables and deletes than the threshold are held, not sent."""
        threshold = self.job.settings.accidental_deletion_threshold
        removals = [p for p in plans if p.removes]
        if threshold is None or len(removals) <= threshold:
            return
        if self.state.force_deletes:
            self.summary.notes.append(f"{len(removals)} disables and deletes exceed the threshold of {threshold}; "
                                      "sent because deletions were allowed (ForceDeletes)")
            return
        now = self.engine.clock.now()
        for plan in removals:
            verb = "deleted" if plan.intent == "delete" else "disabled"
            record = self._record(plan, "stagedDelete", "skipped")
            record.skip_reason = TOO_MANY_DELETES
            record.steps.append(Step("EntrySynchronizationSkip", "processing", "skipped",
                                     f"The {plan.object_type} '{plan.display}' would be {verb}, but the cycle holds "
                                     f"{len(removals)} deletions, more than the accidental-deletion threshold of "
                                     f"{threshold}: it is staged until deletions are allowed.",
                                     {"SkipReason": "StagedDelete"}))
            self.engine.log.write(record, self.summary)
            if self.escrow_keys is not None:
                self.escrow_keys.add((plan.object_type, plan.source_id, STAGED))
            self.state.put_escrow(plan.object_type, plan.source_id, STAGED, "StagedDelete",
                                  f"held: {len(removals)} deletions exceed the threshold of {threshold}",
                                  display=plan.display, reference=False, now=now, next_retry=None)
            plan.intent = "held"
        quarantine = self.engine.enter_quarantine(
            TOO_MANY_DELETES, f"{len(removals)} disables and deletes in one cycle exceed the accidental-deletion "
                              f"threshold of {threshold}")
        self.summary.notes.append(f"accidental-deletion prevention: {len(removals)} disables and deletes held "
                                  f"(threshold {threshold}); the job is quarantined ({quarantine.reason}) until "
                                  f"deletions are allowed (restart --reset forcedeletes)")

    # -- running a phase
    def _run_phase(self, phase: str, plans: list[Plan], export: Callable[[Plan], Outcome]) -> None:
        work: list[Plan] = []
        for plan in plans:
            if plan.intent == "held":
                continue
            if plan.intent == "skip":
                if plan.log_skip:
                    self._log_skip(plan)
                if plan.retry:  # nothing left to do for an escrowed or held object
                    self.state.clear_escrow(plan.object_type, plan.source_id)
                continue
            work.append(plan)
        total = len(work)
        progress = self.engine.progress
        if progress is not None:
            progress(phase, 0, total)
        concurrency = self.job.settings.concurrency
        if concurrency <= 1 or total <= 1:
            for done, plan in enumerate(work, 1):
                if self.aborted is not None:
                    break
                self._apply(self._guarded(export, plan))
                if progress is not None:
                    progress(phase, done, total)
            return
        window = concurrency * 2
        with cooperative.Workers(concurrency, lambda plan: self._guarded(export, plan)) as workers:
            remaining = iter(work)
            in_flight = 0
            for plan in remaining:
                workers.submit(plan)
                in_flight += 1
                if in_flight >= window:
                    break
            done = 0
            while in_flight:
                outcome = workers.next_result()
                in_flight -= 1
                self._apply(outcome)
                done += 1
                if progress is not None:
                    progress(phase, done, total)
                if self.aborted is None:
                    for plan in remaining:
                        workers.submit(plan)
                        in_flight += 1
                        break

    def _guarded(self, export: Callable[[Plan], Outcome], plan: Plan) -> Outcome:
        """Run an export; HTTP and expression failures become a failed outcome, never an exception."""
        started = time.perf_counter()
        try:
            outcome = export(plan)
        except ScimClientError as exc:
            outcome = self._failed(plan, exc)
        except ExpressionEvaluationError as exc:
            record = self._record(plan, plan.action, "failure")
            record.error = ErrorInfo("ExpressionEvaluationFailed",
                                     f"An attribute mapping expression failed for '{plan.display}': {exc}",
                                     "nonServiceFailure", "Fix the expression or the source data.")
            outcome = Outcome(plan, record, failure=("ExpressionEvaluationFailed", False))
        outcome.record.duration_ms = (time.perf_counter() - started) * 1000
        return outcome

    def _apply(self, outcome: Outcome) -> None:
        """Record an outcome: state first (so a kill right after keeps the link), then the log."""
        plan, state, now = outcome.plan, self.state, self.engine.clock.now()
        if outcome.link is not None:
            state.save_link(outcome.link)
            self.links[plan.object_type][plan.source_id] = outcome.link
        if outcome.drop_link:
            state.drop_link(plan.object_type, plan.source_id)
            state.forget_memberships_of(plan.source_id)
            self.links[plan.object_type].pop(plan.source_id, None)
        if outcome.failure is not None:
            code, reference = outcome.failure
            if self.escrow_keys is not None:
                self.escrow_keys.add((plan.object_type, plan.source_id, ESCROW))
            self.failed.add(plan.source_id)
            previous = state.escrow(plan.object_type, plan.source_id, ESCROW)
            attempts = previous.attempts + 1 if previous else 0
            next_retry = now + self.engine.options.escrow_retry_after
            if outcome.record.error is not None and outcome.abort is None:
                outcome.record.error.reason += (f" This operation was retried {attempts} times. It will be retried "
                                                f"again after this date: {_net_time(next_retry)} UTC")
            if outcome.abort is None:
                state.put_escrow(plan.object_type, plan.source_id, ESCROW, code, outcome.record.error.reason,
                                 display=plan.display, reference=reference, now=now, next_retry=next_retry)
            if not reference:
                self.cycle_failures += 1
            if outcome.abort is not None and self.aborted is None:
                self.aborted = _Abort(outcome.abort, outcome.record.error.reason)
        else:
            self._clear_escrow(plan.object_type, plan.source_id, ESCROW)
            if plan.intent != "held":
                self._clear_escrow(plan.object_type, plan.source_id, STAGED)
        if plan.object_type == USER and outcome.failure is None and plan.intent != "delete":
            self.exported_users.add(plan.source_id)
            self.resources[plan.source_id] = outcome.resource
        if outcome.record.status == "success" and plan.intent in ("create", "update", "enable", "disable", "delete"):
            self.summary.exported += 1
        self.engine.log.write(outcome.record, self.summary)

    def _clear_escrow(self, object_type: str, source_id: str, kind: str) -> None:
        keys = self.escrow_keys
        if keys is None or (object_type, source_id, kind) in keys:
            self.state.clear_escrow(object_type, source_id, kind)
            if keys is not None:
                keys.discard((object_type, source_id, kind))

    # -- records
    def _record(self, plan: Plan, action: str, status: str, *, object_type: str | None = None) -> LogRecord:
        engine = self.engine
        link = plan.link
        record = LogRecord(job_id=engine.job_id, cycle_id=self.cycle_id, tenant_id=engine.source.tenant_id,
                           activity=engine.clock.now(), object_type=object_type or plan.object_type, action=action,
                           status=status, source_id=plan.source_id, source_display=plan.display,
                           target_id=link.target_id if link else None, target_display=plan.display)
        noun = plan.object_type
        record.steps.append(Step("EntryImport", "import", "success",
                                 f"Retrieved {noun} '{plan.display}' from {self._source_name()}",
                                 {"objectId": plan.source_id}))
        if plan.retry:
            record.steps.append(Step("EntryImport", "import", "success",
                                     "We are retrying an operation that previously failed."))
        if plan.scope_details:
            record.steps.append(Step("EntrySynchronizationScoping", "scoping", "success",
                                     f"Determine if {noun} '{plan.display}' is in scope", plan.scope_details))
        return record

    def _source_name(self) -> str:
        return "Azure Active Directory"

    def _log_skip(self, plan: Plan) -> None:
        record = self._record(plan, plan.action if plan.intent != "skip" else "other", "skipped")
        reason = plan.skip_reason or REDUNDANT_EXPORT
        record.skip_reason = reason
        record.steps.append(Step("EntrySynchronizationSkip", "processing", "skipped",
                                 SKIP_DESCRIPTIONS.get(reason, reason).format(noun=plan.object_type),
                                 {"SkipReason": reason}))
        self.engine.log.write(record, self.summary)

    def _failed(self, plan: Plan, exc: ScimClientError, *, reference: bool = False, operation: str | None = None) -> Outcome:
        code, category, explanation, abort = classify_failure(exc, operation or plan.intent)
        record = self._record(plan, plan.action, "failure")
        record.exchanges = list(exc.exchanges)
        verb = {"create": "create", "delete": "delete", "match": "query", "read": "retrieve"}.get(
            operation or plan.intent, "update")
        status = exc.status if isinstance(exc, ScimHttpError) else None
        body = exc.response.text if isinstance(exc, ScimHttpError) else ""
        reason = (f"Failed to {verb} {plan.object_type} '{plan.display}' in customappsso; Error: {explanation}\n"
                  f"StatusCode: {_status_name(status) if status else (exc.kind.title() if isinstance(exc, ScimTransportError) else 'None')}\n"
                  f"Message: {EXCEPTION_MESSAGE}\n{_response_excerpt(body)} .")
        record.error = ErrorInfo(code, reason, category, _recommendation(code))
        record.steps.append(Step(_export_step(plan.intent, operation), "export", "failure", reason.splitlines()[0]))
        return Outcome(plan, record, failure=(code, reference), abort=abort)

    # -- values
    def _values(self, plan: Plan, mapping: ObjectMapping, *, creating: bool) -> TargetValues:
        changed = None
        if (not creating and self.kind == INCREMENTAL and self.job.settings.switch_nulls_unchanged_source
                and plan.user is not None):
            # The optional Switch hazard: Switch expressions see which source attributes changed.
            changed = plan.user.changed
        values = mapping.target_values(plan.source, self.engine.env, creating=creating, changed=changed)
        if plan.user is not None and plan.user.tombstone:
            # Only IsSoftDeleted is known about a user Graph reports as removed.
            allowed = {row.target.text for row in mapping.attributes
                       if row.source_attributes and row.source_attributes <= {"IsSoftDeleted"}}
            for key in [k for k in values if k not in allowed]:
                del values[key]
        return values

    # -- users and groups
    def _export_user(self, plan: Plan) -> Outcome:
        return self._export(plan, self.job.users, "Users", self.engine.user_paths, self.engine.user_references)

    def _export_group(self, plan: Plan) -> Outcome:
        return self._export(plan, self.job.groups, "Groups", self.engine.group_paths, self.engine.group_references)

    def _export(self, plan: Plan, mapping: ObjectMapping, resource: str, paths: dict, references: frozenset) -> Outcome:
        if plan.intent == "delete":
            return self._delete(plan, resource)
        if plan.intent == "create":
            return self._match_or_create(plan, mapping, resource, paths, references)
        return self._update(plan, mapping, resource, paths, references)

    def _match_or_create(self, plan: Plan, mapping: ObjectMapping, resource: str, paths: dict,
                         references: frozenset) -> Outcome:
        exchanges: list[Exchange] = []
        creating_values = self._values(plan, mapping, creating=True)
        plan.display = display_of(plan.object_type, creating_values, plan.display)
        matching = mapping.matching_values(plan.source, self.engine.env)
        if not matching:
            record = self._record(plan, "other", "skipped")
            record.skip_reason = "ImportSkipped"
            record.steps.append(Step("EntryImport", "matching", "skipped",
                                     f"The {plan.object_type} has no value for any matching attribute "
                                     f"({', '.join(row.target.text for row in mapping.matching)}): it cannot be matched "
                                     "and is skipped."))
            return Outcome(plan, record)
        found: dict[str, Any] | None = None
        for row, value in matching:
            try:
                response = self.client.find(resource, row.target.text, str(value))
            except ScimHttpError as exc:
                exc.exchanges[:0] = exchanges
                if exc.status == 404:
                    return self._compliance(plan, exc.exchanges,
                                            f"SCIM Compliance issue: An HTTP/404 Not Found response was returned rather "
                                            f"than the expected HTTP/200 OK response to GET /{resource}?filter=...")
                return self._failed(plan, exc, operation="match")
            exchanges += response.exchanges
            if not _is_list_response(response.body):
                return self._compliance(plan, exchanges, f"GET /{resource}?filter=... did not answer a SCIM "
                                                         "ListResponse: unable to parse the response")
            count = _result_count(response.body)
            if count > 1:
                record = self._record(plan, "create", "failure")
                record.exchanges = exchanges
                reason = (f"More than one {plan.object_type} in customappsso matches {row.target.text} "
                          f"'{value}' ({count} found): the {plan.object_type} cannot be linked.")
                record.error = ErrorInfo("DuplicateTargetEntries", reason, "nonServiceFailure",
                                         "Make the matching attribute unique in the target, or choose another "
                                         "matching attribute.")
                record.steps.append(Step("EntryImport", "matching", "failure", reason,
                                         {"MatchingAttribute": row.target.text, "Matches": count}))
                return Outcome(plan, record, failure=("DuplicateTargetEntries", False))
            if count == 1:
                resources = response.body.get("Resources") or []
                if not resources or not isinstance(resources[0], dict) or not resources[0].get("id"):
                    return self._compliance(plan, exchanges, f"GET /{resource}?filter=... counted a match but sent "
                                                             "no resource with an id")
                found = resources[0]
                matched_on = (row.target.text, value)
                problem = deserialize_problem(found)
                if problem is not None:
                    return self._compliance(plan, exchanges, problem, escrow=True)
                break
        if found is not None:
            link = Link(plan.object_type, plan.source_id, str(found["id"]), plan.display, disabled=False, managed=True)
            plan.link = link
            values = self._values(plan, mapping, creating=False)
            match_step = Step("EntryImport", "matching", "success",
                              f"Retrieved '{plan.display}' from customappsso",
                              {"MatchingAttribute": matched_on[0], "MatchingValue": matched_on[1], "id": found["id"]})
            return self._patch_differences(plan, resource, found, values, paths, references, exchanges, match_step,
                                           action="update", link=link, keep_link_on_failure=True)
        body = creation_body(plan.object_type, creating_values, paths,
                             legacy_group_schema=self.engine.options.legacy_group_schema)
        try:
            response = self.client.create(resource, body)
        except ScimClientError as exc:
            exc.exchanges[:0] = exchanges
            return self._failed(plan, exc, operation="create")
        exchanges += response.exchanges
        created = response.body if isinstance(response.body, dict) else None
        if created is None or not created.get("id"):
            return self._compliance(plan, exchanges, f"POST /{resource} answered {response.status} without a "
                                                     "resource id: unable to parse the response", escrow=True)
        target_id = str(created["id"])
        link = Link(plan.object_type, plan.source_id, target_id, plan.display, disabled=False, managed=True)
        plan.link = link
        record = self._record(plan, "create", "success")
        record.target_id = target_id
        record.exchanges = exchanges
        record.steps.append(Step("EntryImport", "matching", "success",
                                 f"No matching {plan.object_type} was found in customappsso",
                                 {"MatchingAttributes": ", ".join(row.target.text for row, _ in matching)}))
        record.steps.append(Step("EntrySynchronizationAdd", "processing", "success",
                                 f"{plan.object_type} '{plan.display}' will be created in customappsso "
                                 f"({plan.object_type} is active and assigned in Azure Active Directory, but no "
                                 f"matching {plan.object_type} was found in customappsso)"))
        record.steps.append(Step("EntryExportAdd", "export", "success",
                                 f"{plan.object_type} '{plan.display}' was created in customappsso",
                                 {"id": target_id, "StatusCode": response.status}))
        record.modified = [(text, None, creating_values.log_value(text)) for text, value in creating_values.items()
                           if not isinstance(value, SourceReference)]
        outcome = Outcome(plan, record, link=link, resource=None, created=True)
        return outcome

    def _update(self, plan: Plan, mapping: ObjectMapping, resource: str, paths: dict, references: frozenset) -> Outcome:
        link = plan.link
        try:
            response = self.client.read(resource, link.target_id)
        except ScimHttpError as exc:
            if exc.status == 404:
                record = self._record(plan, plan.action, "failure")
                record.exchanges = exc.exchanges
                reason = (f"The {plan.object_type} '{plan.display}' was provisioned as {link.target_id}, which no "
                          "longer exists in customappsso (GET answered 404). It is not created again; restart the "
                          "job (--reset connectordatastore) to match it anew.")
                record.error = ErrorInfo("InvalidAnchor", reason, "nonServiceFailure",
                                         "Restart provisioning to clear the object connection.")
                record.steps.append(Step("EntryImport", "matching", "failure", reason))
                return Outcome(plan, record, failure=("InvalidAnchor", False))
            return self._failed(plan, exc, operation="read")
        current = response.body
        if not isinstance(current, dict):
            return self._compliance(plan, response.exchanges, f"GET /{resource}/{link.target_id} did not answer a "
                                                              "SCIM resource: unable to parse the response", escrow=True)
        problem = deserialize_problem(current)
        if problem is not None:
            return self._compliance(plan, response.exchanges, problem, escrow=True)
        values = self._values(plan, mapping, creating=False)
        match_step = Step("EntryImport", "matching", "success", f"Retrieved '{plan.display}' from customappsso",
                          {"id": link.target_id})
        disabled, managed = link.disabled, link.managed
        if plan.object_type == USER:
            disabled = plan.soft_deleted if self.engine.soft_delete_mapped else link.disabled
            # Disabled because it left scope (unassigned, filtered out): no longer managed, as Entra documents.
            managed = not (plan.soft_deleted and plan.scope_details.get("IsInProvisioningScope") is False)
        new_link = replace(link, disabled=disabled, managed=managed, display=plan.display)
        return self._patch_differences(plan, resource, current, values, paths, references, list(response.exchanges),
                                       match_step, action=plan.action, link=new_link, keep_link_on_failure=False)

    def _patch_differences(self, plan: Plan, resource: str, current: dict[str, Any], values: TargetValues,
                           paths: dict, references: frozenset, exchanges: list[Exchange], match_step: Step, *,
                           action: str, link: Link, keep_link_on_failure: bool) -> Outcome:
        changes = diff(values, current, paths, skip=references)
        nulled = [path for path, reason in values.skipped.items() if reason == SKIP_SWITCH_NULLED]
        for path in nulled:
            held = read_path(current, paths[path])
            if held is not None and held != "" and held != []:
                changes.append(Change(paths[path], held, None))
        nulled = [path for path in nulled if any(change.path.text == path for change in changes)]
        if not changes:
            record = self._record(plan, action, "skipped")
            record.target_id = link.target_id
            record.exchanges = exchanges
            record.skip_reason = REDUNDANT_EXPORT
            record.steps.append(match_step)
            record.steps.append(Step("EntrySynchronizationSkip", "processing", "skipped",
                                     SKIP_DESCRIPTIONS[REDUNDANT_EXPORT].format(noun=plan.object_type.lower()),
                                     {"SkipReason": REDUNDANT_EXPORT}))
            return Outcome(plan, record, link=link, resource=current)
        operations = self.dialect.attribute_operations(changes)
        try:
            response = self.client.patch(resource, link.target_id, operations)
        except ScimClientError as exc:
            exc.exchanges[:0] = exchanges
            outcome = self._failed(plan, exc, operation="update")
            if keep_link_on_failure:
                outcome.link = link  # a match is kept even when the update after it fails
            return outcome
        exchanges += response.exchanges
        record = self._record(plan, action, "success")
        record.target_id = link.target_id
        record.exchanges = exchanges
        record.steps.append(match_step)
        soft_delete = action == "disable"
        record.steps.append(Step("EntrySynchronizationUpdate", "processing", "success",
                                 f"{plan.object_type} '{plan.display}' will be "
                                 + ("disabled" if soft_delete else "updated") + " in customappsso"))
        if nulled:
            record.steps.append(Step(
                "EntrySynchronizationUpdate", "processing", "warning",
                f"{', '.join(nulled)} set to null: a Switch expression whose source attribute did not change in this "
                "cycle evaluates to null while another attribute changed (Entra's documented Switch hazard, "
                "settings.quirks.switchNullsUnchangedSource)", {"SwitchNulled": ", ".join(nulled)}))
        record.steps.append(Step("EntryExportUpdateSoftDelete" if soft_delete else "EntryExportUpdate", "export",
                                 "success", f"{plan.object_type} '{plan.display}' was updated in customappsso",
                                 {"StatusCode": response.status}))
        record.modified = [(change.path.text, change.old, values.log_value(change.path.text)) for change in changes]
        updated = dict(current)
        return Outcome(plan, record, link=link, resource=updated)

    def _delete(self, plan: Plan, resource: str) -> Outcome:
        link = plan.link
        try:
            response = self.client.delete(resource, link.target_id)
            status, exchanges, gone = response.status, response.exchanges, False
        except ScimHttpError as exc:
            if exc.status != 404:
                raise
            status, exchanges, gone = 404, exc.exchanges, True
        record = self._record(plan, "delete", "success")
        record.target_id = link.target_id
        record.exchanges = list(exchanges)
        description = (f"{plan.object_type} '{plan.display}' was deleted in customappsso" if not gone else
                       f"{plan.object_type} '{plan.display}' was already gone from customappsso (404)")
        record.steps.append(Step("EntrySynchronizationDelete", "processing", "success",
                                 f"{plan.object_type} '{plan.display}' will be deleted in customappsso"))
        record.steps.append(Step("EntryExportDelete", "export", "success", description, {"StatusCode": status}))
        return Outcome(plan, record, drop_link=True)

    def _compliance(self, plan: Plan, exchanges: list[Exchange], details: str, escrow: bool = False) -> Outcome:
        """A SCIM-compliance failure: logged as ServiceIncompatible; a filter problem also quarantines the job."""
        code = f"{SCIM}ServiceIncompatible"
        record = self._record(plan, plan.action, "failure")
        record.exchanges = list(exchanges)
        reason = (f"Failed to process {plan.object_type} '{plan.display}' in customappsso; Error: {NOT_COMPATIBLE} "
                  f"{details}")
        record.error = ErrorInfo(code, reason, "nonServiceFailure", _recommendation(code))
        record.steps.append(Step("EntryImport", "matching", "failure", details))
        return Outcome(plan, record, failure=(code, False), abort=None if escrow else "compliance")

    # -- memberships
    def _memberships(self, read: SourceRead) -> None:
        group_links, user_links = self.links[GROUP], self.links[USER]
        work: list[tuple[SourceGroup, Link, list[tuple[str, str]], list[tuple[str, str]]]] = []
        for gid, sg in read.groups.items():
            link = group_links.get(gid)
            if link is None or not self.engine.policy.group_in_scope(SourceObject.for_group(sg.group), assigned=sg.assigned):
                continue
            desired: dict[str, str] = {}
            for member in sg.members:
                target = user_links.get(member) or group_links.get(member)
                if target is not None:
                    desired[member] = target.target_id
            exported = self.state.memberships(gid)
            adds = [(m, t) for m, t in desired.items() if exported.get(m) != t]
            removes = [(m, t) for m, t in exported.items() if m not in desired]
            if adds or removes:
                work.append((sg, link, adds, removes))
        plans = [Plan(GROUP, sg.id, "members", link.display or sg.group.displayName, link=link, group=sg,
                      retry=(GROUP, sg.id) in self.retried) for sg, link, _a, _r in work]
        by_id = {sg.id: (adds, removes) for sg, _l, adds, removes in work}
        self._membership_changes = by_id
        self._run_phase("memberships", plans, self._export_members)
        for gid, sg in read.groups.items():
            unresolved = [m for m in sg.members if m in self.failed and m not in user_links and m not in group_links]
            if unresolved and gid in group_links:
                self._unresolved(GROUP, gid, group_links[gid].display or gid,
                                 f"{len(unresolved)} members could not be provisioned in this cycle; the group's "
                                 "memberships are resolved again in the next cycle")

    def _export_members(self, plan: Plan) -> Outcome:
        adds, removes = self._membership_changes[plan.source_id]
        size = self.job.settings.members_per_patch
        exchanges: list[Exchange] = []
        added: list[tuple[str, str]] = []
        removed: list[tuple[str, str]] = []
        target_id = plan.link.target_id
        try:
            for start in range(0, len(adds), size):
                chunk = adds[start:start + size]
                response = self.client.patch("Groups", target_id, self.dialect.members_add(t for _m, t in chunk))
                exchanges += response.exchanges
                added += chunk
            for start in range(0, len(removes), size):
                chunk = removes[start:start + size]
                response = self.client.patch("Groups", target_id, self.dialect.members_remove(t for _m, t in chunk))
                exchanges += response.exchanges
                removed += chunk
        except ScimClientError as exc:
            exc.exchanges[:0] = exchanges
            outcome = self._failed(plan, exc, reference=True, operation="update")
            outcome.record.action = "update"
            self._membership_done(plan.source_id, added, removed)
            outcome.record.modified = self._member_changes(added, removed)
            return outcome
        self._membership_done(plan.source_id, added, removed)
        record = self._record(plan, "update", "success")
        record.target_id = target_id
        record.exchanges = exchanges
        record.steps.append(Step("EntryReferenceResolution", "referenceResolution", "success",
                                 f"Resolved {len(adds) + len(removes)} member references of group '{plan.display}'",
                                 {"MembersAdded": len(added), "MembersRemoved": len(removed)}))
        record.steps.append(Step("EntryExportUpdate", "export", "success",
                                 f"Group '{plan.display}' memberships were updated in customappsso",
                                 {"Requests": len(exchanges)}))
        record.modified = self._member_changes(added, removed)
        return Outcome(plan, record)

    def _membership_done(self, group_id: str, added: list[tuple[str, str]], removed: list[tuple[str, str]]) -> None:
        # Called from workers: the state store serialises its writes, and a kill keeps every chunk sent.
        if added:
            self.state.add_memberships(group_id, added)
        if removed:
            self.state.remove_memberships(group_id, [m for m, _t in removed])

    @staticmethod
    def _member_changes(added: list[tuple[str, str]], removed: list[tuple[str, str]]) -> list[tuple[str, Any, Any]]:
        changes = []
        if added:
            changes.append(("members", None, [t for _m, t in added]))
        if removed:
            changes.append(("members", [t for _m, t in removed], None))
        return changes

    # -- references (manager)
    def _references(self, read: SourceRead) -> None:
        row = self.engine.manager_row
        user_links = self.links[USER]
        plans: list[Plan] = []
        self._manager_changes: dict[str, tuple[str | None, str | None]] = {}
        for uid in read.users:
            if uid not in self.exported_users or uid not in user_links:
                continue
            su = read.users[uid]
            if su.tombstone:
                continue
            resource = self.resources.get(uid)
            current = reference_id(read_path(resource, row.target)) if resource is not None else None
            manager_source = su.user.managerId
            desired = None
            if manager_source is not None:
                manager_link = user_links.get(manager_source)
                if manager_link is None:
                    if manager_source in self.failed:
                        self._unresolved(USER, uid, user_links[uid].display or uid,
                                         "the manager could not be provisioned in this cycle; the reference is "
                                         "resolved again in the next cycle")
                    continue  # the manager is not provisioned: Entra leaves the reference until a restart
                desired = manager_link.target_id
            if desired == current:
                continue
            self._manager_changes[uid] = (current, desired)
            link = user_links[uid]
            plans.append(Plan(USER, uid, "reference", link.display or uid, link=link, user=su,
                              retry=(USER, uid) in self.retried))
        self._run_phase("references", plans, self._export_manager)

    def _unresolved(self, object_type: str, source_id: str, display: str, reason: str) -> None:
        """A reference failure: the object is escrowed so that the next cycle resolves its references again."""
        now = self.engine.clock.now()
        if self.escrow_keys is not None:
            self.escrow_keys.add((object_type, source_id, ESCROW))
        self.state.put_escrow(object_type, source_id, ESCROW, REFERENCE_NOT_PROVISIONED, reason, display=display,
                              reference=True, now=now, next_retry=now + self.engine.options.escrow_retry_after)

    def _export_manager(self, plan: Plan) -> Outcome:
        row = self.engine.manager_row
        current, desired = self._manager_changes[plan.source_id]
        if desired is None:
            operations = self.dialect.manager_remove(row.target, current)
        else:
            operations = self.dialect.manager_set(row.target, desired, had_manager=current is not None)
        try:
            response = self.client.patch("Users", plan.link.target_id, operations)
        except ScimClientError as exc:
            outcome = self._failed(plan, exc, reference=True, operation="update")
            outcome.record.action = "update"
            return outcome
        record = self._record(plan, "update", "success")
        record.target_id = plan.link.target_id
        record.exchanges = list(response.exchanges)
        record.steps.append(Step("EntryReferenceResolution", "referenceResolution", "success",
                                 f"Resolved the manager reference of '{plan.display}'",
                                 {"manager": desired or "(none)"}))
        record.steps.append(Step("EntryExportUpdate", "export", "success",
                                 f"User '{plan.display}' was updated in customappsso", {"StatusCode": response.status}))
        record.modified = [(row.target.text, current, desired)]
        return Outcome(plan, record)

    # -- failure-based quarantine
    def _evaluate_escrows(self) -> None:
        options = self.engine.options
        escrows = self.state.escrows(ESCROW)
        total = len(escrows)
        failures = self.cycle_failures
        events = max(self.summary.processed, 1)
        reason = None
        if total > options.escrow_total_cap:
            reason = "EncounteredTotalEscrowThreshold"
        elif failures >= options.escrow_base_threshold:
            if failures > options.escrow_failure_cap:
                reason = "EncounteredBaseEscrowThreshold"
            elif failures / events > options.escrow_proportion:
                reason = "EncounteredEscrowProportionThreshold"
        if reason is not None:
            quarantine = self.engine.enter_quarantine(
                reason, f"{failures} of {events} objects failed in this cycle; {total} escrowed in all")
            self.summary.notes.append(f"too many failures: the job is quarantined ({reason}) until "
                                      f"{iso(quarantine.next_attempt)}")


# ------------------------------------------------------------------ error mapping


def classify_failure(exc: ScimClientError, operation: str) -> tuple[str, str, str, str | None]:
    """Entra's error code, category, explanation and (for job-stopping errors) the abort kind of a failed request."""
    if isinstance(exc, ScimTransportError):
        if exc.kind == "timeout":
            return (f"{SCIM}Timeout", "nonServiceFailure",
                    "The target application took too long to respond; the request timed out.", None)
        return (f"{SCIM}ConnectionFailure", "nonServiceFailure",
                "The connection to the SCIM endpoint failed before an answer was received.", None)
    assert isinstance(exc, ScimHttpError)
    status = exc.status
    if status in (401, 403):
        code = f"{SCIM}Unauthorized" if status == 401 else f"{SCIM}InsufficientRights"
        return code, "nonServiceFailure", ("The SCIM endpoint refused the credentials (HTTP "
                                          f"{status}): {INVALID_CREDENTIALS}"), "credentials"
    if status == 409:
        return (f"{SCIM}EntryConflict", "nonServiceFailure",
                "The SCIM endpoint reported a conflict with an existing object (HTTP 409).", None)
    if status == 429:
        return (f"{SCIM}TooManyRequests", "nonServiceFailure",
                "The SCIM endpoint kept throttling the request (HTTP 429); this attempt is retried automatically.", None)
    if status == 400:
        code = f"{SCIM}BadRequest" if operation == "create" else f"{SCIM}ServiceIncompatible"
        return code, "nonServiceFailure", NOT_COMPATIBLE, None
    if status == 404:
        return f"{SCIM}ServiceIncompatible", "nonServiceFailure", NOT_COMPATIBLE, None
    if status == 405:
        return f"{SCIM}MethodNotAllowed", "nonServiceFailure", NOT_COMPATIBLE, None
    if status == 501:
        return f"{SCIM}NotImplemented", "nonServiceFailure", NOT_COMPATIBLE, None
    if status >= 500:
        return (f"{SCIM}InternalServerError", "nonServiceFailure",
                f"The SCIM endpoint failed with HTTP {status}; the operation is retried in a later cycle.", None)
    return f"{SCIM}ServiceIncompatible", "nonServiceFailure", NOT_COMPATIBLE, None


def _recommendation(code: str) -> str:
    if code.endswith("EntryConflict"):
        return "Fix the conflicting data in the target or the matching attributes so the object is matched."
    if code.endswith(("Unauthorized", "InsufficientRights")):
        return "Check the Secret Token and the Tenant URL, then test the connection."
    if code.endswith(("InternalServerError", "Timeout", "TooManyRequests", "ConnectionFailure")):
        return "No action needed if the target recovers: the operation is retried in the next cycle."
    return "Adapt the SCIM endpoint to the requests the provisioning service sends, or the attribute mappings."


def _export_step(intent: str, operation: str | None) -> str:
    if operation == "create" or intent == "create":
        return "EntryExportAdd"
    if intent == "delete":
        return "EntryExportDelete"
    if intent == "disable":
        return "EntryExportUpdateSoftDelete"
    return "EntryExportUpdate"


def _net_time(moment: datetime) -> str:
    """Times the way Entra's retry message prints them: ``2019-10-30T15:13:17.6715300Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"
