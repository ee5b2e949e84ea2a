"""Run checks against one SCIM server and collect graded results.

Each check runs with its own context and exchanges; what it created is deleted
in ``finally`` whatever its verdict, and the run ends with a sweep of anything
left under the run's namespace prefix. Grading lives here: ``Unmet`` is a fail
for a MUST and a warning for a SHOULD or MAY; ``Skip`` is skipped; ``Broken``
and unexpected exceptions are errors (the suite could not judge).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .client import Exchange, ScimClient
from .context import CheckContext, RunState
from .registry import Check, Level, select
from .verdicts import VERDICT_ORDER, Broken, Skip, Unmet, Verdict

EXIT_OK, EXIT_FAILURES, EXIT_COULD_NOT_RUN = 0, 1, 2


@dataclass
class RunOptions:
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    profiles: tuple[str, ...] = ("rfc",)
    read_only: bool = False
    patterns: tuple[str, ...] = ()
    timeout: float = 30.0
    verify: bool | str = True
    prefix: str | None = None


@dataclass
class CheckResult:
    check: Check
    verdict: Verdict
    reason: str
    exchanges: list[Exchange]
    duration_ms: float
    notes: list[str] = field(default_factory=list)
    cleanup_failed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        c = self.check
        return {"id": c.id, "title": c.title, "section": c.section, "level": c.level.value, "area": c.area,
                "profiles": list(c.profiles), "writes": c.writes, "requires": list(c.requires),
                "requirement": c.requirement, "verdict": self.verdict.value, "reason": self.reason,
                "notes": self.notes, "cleanup_failed": self.cleanup_failed, "duration_ms": round(self.duration_ms, 1),
                "exchanges": [e.to_dict() for e in self.exchanges]}


@dataclass
class RunResult:
    target: str
    profiles: tuple[str, ...]
    read_only: bool
    prefix: str
    started_at: str
    duration_s: float
    results: list[CheckResult]
    discovery_problems: list[str]
    leftovers: list[str]
    setup_exchanges: list[Exchange]
    fatal: str | None = None

    def counts(self) -> dict[str, int]:
        out = {v.value: 0 for v in VERDICT_ORDER}
        for r in self.results:
            out[r.verdict.value] += 1
        return out

    @property
    def exit_code(self) -> int:
        if self.fatal:
            return EXIT_COULD_NOT_RUN
        return EXIT_FAILURES if any(r.verdict == Verdict.FAIL for r in self.results) else EXIT_OK


def grade(check: Check, outcome: BaseException | None) -> tuple[Verdict, str]:
    if outcome is None:
        return Verdict.PASS, ""
    if isinstance(outcome, Unmet):
        return (Verdict.FAIL if check.level == Level.MUST else Verdict.WARNING), outcome.reason
    if isinstance(outcome, Skip):
        return Verdict.SKIPPED, outcome.reason
    if isinstance(outcome, Broken):
        return Verdict.ERROR, outcome.reason
    frame = traceback.extract_tb(outcome.__traceback__)[-1] if outcome.__traceback__ else None
    where = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
    return Verdict.ERROR, f"the check itself raised {type(outcome).__name__}: {outcome}{where}"


def run_check(check: Check, state: RunState) -> CheckResult:
    """Run one check: feature gates, the check, then cleanup of what it created (always)."""
    ctx = CheckContext(state)
    ctx.check_id = check.id
    started = time.perf_counter()
    outcome: BaseException | None = None
    cleanup_failed: list[str] = []
    try:
        if state.read_only and check.writes:
            raise Skip("read-only run: this check creates or changes resources")
        for feature in check.requires:
            if not state.supports(feature):
                ctx.used_discovery = True  # the proof of a skip is what discovery said
                said = state.discovery.advertises(feature)
                raise Skip(f"'{feature}' is not advertised by the server" if said is not None
                           else f"'{feature}' support is unknown (ServiceProviderConfig could not be read)")
        check.func(ctx)
    except Exception as exc:  # noqa: BLE001 - every exception becomes a verdict
        outcome = exc
    finally:
        cleanup_failed = ctx.cleanup()
    verdict, reason = grade(check, outcome)
    exchanges = ctx.recorder.exchanges
    if ctx.used_discovery:
        exchanges = state.discovery_exchanges + exchanges
    return CheckResult(check, verdict, reason, exchanges, (time.perf_counter() - started) * 1000, ctx.notes,
                       cleanup_failed)


def preflight(state: RunState) -> str | None:
    """Why the run cannot start (server unreachable, credentials refused), or None."""
    setup = state.setup.exchanges
    if not setup or all(e.status is None for e in setup):
        return "could not reach the server: " + ((setup[0].note if setup else None) or "no answer")
    state.client.recorder = state.setup
    try:
        probe = state.client.request("GET", "Users", params={"count": 1}, note="credentials probe")
    finally:
        state.client.recorder = None
    if probe.status in (401, 403):
        detail = probe.body.get("detail") if probe.body else None
        return (f"the target refused the credentials: GET /Users answered {probe.status}"
                + (f" ({state.client.scrub(str(detail)[:160])})" if detail else "") + "; check --token or --header")
    d = state.discovery
    lists_users = probe.status == 200 and isinstance(probe.body.get("Resources", []), list) and (
        "totalResults" in probe.body or "Resources" in probe.body)
    if d.spc is None and not d.resource_types and not d.schemas and not lists_users:
        # Nothing answered like SCIM: grading would only produce a wall of errors about a wrong URL.
        kind = probe.content_type or "no content type"
        return (f"the target does not look like a SCIM service: /ServiceProviderConfig, /ResourceTypes and /Schemas "
                f"failed and GET /Users answered {probe.status or probe.error} ({kind}), not a ListResponse; "
                "check the base URL (it usually ends in /scim/v2 or /scim)")
    return None


def prepare(options: RunOptions) -> RunState:
    """Discovery and the preflight probe; ``state.fatal`` says why the run cannot start."""
    client = ScimClient(options.base_url, options.headers, timeout=options.timeout, verify=options.verify)
    state = RunState(client, read_only=options.read_only, prefix=options.prefix)
    state.discover()
    state.fatal = preflight(state)
    return state


def run_suite(options: RunOptions, checks: Iterable[Check] | None = None,
              progress: Callable[[CheckResult], None] | None = None) -> RunResult:
    """Discover, run the selected checks in order, sweep the namespace; never raises for server behaviour.

    An interrupt (Ctrl-C) ends the run early as "could not run" (``fatal``), after the sweep.
    """
    selected = list(checks) if checks is not None else select(options.profiles, options.patterns)
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    t0 = time.perf_counter()
    state = prepare(options)
    fatal = state.fatal
    started = fatal is None  # what decides the final sweep (an interrupt sets fatal later, and must still sweep)
    results: list[CheckResult] = []
    leftovers: list[str] = []
    try:
        if fatal is None:
            for check in selected:
                result = run_check(check, state)
                results.append(result)
                if progress is not None:
                    progress(result)
    except KeyboardInterrupt:
        # Ctrl-C: the check under way already deleted what it made; sweep the rest and report what ran.
        fatal = (f"interrupted after {len(results)} of {len(selected)} checks; "
                 "the reports hold the verdicts reached so far")
    finally:
        if started and not state.read_only:
            leftovers = state.sweep() + [x for r in results for x in r.cleanup_failed]
    return RunResult(target=options.base_url, profiles=tuple(options.profiles), read_only=options.read_only,
                     prefix=state.prefix, started_at=started_at, duration_s=round(time.perf_counter() - t0, 3),
                     results=results, discovery_problems=state.discovery.problems, leftovers=sorted(set(leftovers)),
                     setup_exchanges=state.setup.exchanges, fatal=fatal)
