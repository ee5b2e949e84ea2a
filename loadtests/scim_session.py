"""What the SCIM locustfiles share: the run's directory/builders/target, the ceiling probe, Entra's match-or-create.

``EntraScimUser`` is an abstract Locust user that sends the provisioning
client's requests on its own keep-alive connection (``scim_http.py``: prebuilt
bytes; half the CPU a request of ``FastHttpUser``, builders included): the matching query,
then ``POST`` when nothing matched or a diff-based ``PATCH`` when something did,
membership PATCHes and manager reference PATCHes. Every request is counted in
the process's ``Coordinator`` so the summary can turn them into objects and
memberships per second, and reported to Locust's statistics once.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import gevent
import orjson
from locust import User
from locust.exception import StopUser
from locust.runners import WorkerRunner

from .builders import EntraRequests
from .coordination import Coordinator
from .directory import Directory, DirectorySpec, GeneratedGroup, GeneratedUser
from .scim_http import Answer, ScimConnection
from .scim_target import ScimTarget, TargetError


def answered(answer: Answer) -> str:
    """``400 (invalidValue: detail...)``: the status and the SCIM error's own words, short enough for Locust's error table.

    No answer at all (status 0) says why: ``no answer ([Errno 104] Connection reset by peer)``.
    """
    if answer.status == 0:
        return f"no answer ({answer.reason()})"
    status = answer.status
    try:
        body = orjson.loads(answer.content or b"{}")
    except orjson.JSONDecodeError:
        return str(status)
    if not isinstance(body, dict):
        return str(status)
    reason = ": ".join(str(body[key]) for key in ("scimType", "detail") if body.get(key))
    return f"{status} ({reason[:120]})" if reason else str(status)


class Run:
    """What every user of this process shares during one test: directory, builders, target, ceiling."""

    directory: Directory | None = None
    builders: EntraRequests | None = None
    target: ScimTarget | None = None
    ceiling: float | None = None
    ceiling_source: str | None = None


def adopt_host(environment: Any) -> None:
    """``--scim-url`` and Locust's ``--host`` name the same thing: either fills the other."""
    options = environment.parsed_options
    if options is None:
        return
    if not options.scim_url and environment.host:
        options.scim_url = environment.host
    if options.scim_url and not environment.host:
        environment.host = options.scim_url


def option_problem(options: Any) -> str | None:
    """What makes these options unusable (a one-line reason), or None: checked before any load is sent."""
    try:
        DirectorySpec(options.users_total, options.groups_total, options.seed, options.block_size)
    except ValueError as exc:
        return f"the generated directory (--users-total, --groups-total, --block-size): {exc}"
    try:
        target = ScimTarget(options.scim_url, options.scim_token, options.scim_ca_bundle or None,
                            options.scim_insecure)
    except ValueError as exc:
        return str(exc)
    if getattr(options, "change_rate", 1.0) <= 0:
        return f"--change-rate must be more than 0, got {options.change_rate:g}"
    if options.check_sample < 0:
        return f"--check-sample must be 0 or more, got {options.check_sample}"
    if options.ceiling_seconds < 0 or options.ceiling_concurrency < 1:
        return ("--ceiling-seconds must be 0 or more and --ceiling-concurrency at least 1, got "
                f"{options.ceiling_seconds:g} and {options.ceiling_concurrency}")
    try:
        target.test_connection()
    except TargetError as exc:
        return f"the SCIM target at {target.url} failed Entra's test connection: {exc}"
    return None


def preflight(environment: Any) -> None:
    """Headless: refuse bad options or a target that fails the test connection, in one line, exit status 2.

    Like Entra, which will not start provisioning until "Test Connection"
    succeeds: a wrong token or URL would otherwise turn into thousands of failed
    requests and a FAIL verdict minutes later. Remote workers are skipped (their
    options arrive from the master); the web UI checks at test start instead
    (``refuse_start``), since its form can change the options.
    """
    options = environment.parsed_options
    if options is None or not options.headless or isinstance(environment.runner, WorkerRunner):
        return
    problem = option_problem(options)
    if problem:
        sys.stderr.write(f"entrasim: error: {problem}\n")
        if getattr(options, "processes", None):
            _stop_forked_workers()
        sys.exit(2)


def _stop_forked_workers() -> None:
    """End the workers ``--processes`` forked before this check (Locust's own exit handler can miss them)."""
    pids: list[int] = []
    for children in Path("/proc/self/task").glob("*/children"):  # Linux; elsewhere they end on heartbeat loss
        try:
            pids += [int(pid) for pid in children.read_text().split()]
        except (OSError, ValueError):
            continue
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + 5
    for pid in pids:  # wait for them to end, but leave the reaping to Locust's exit handler
        while time.monotonic() < deadline:
            try:
                if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    break
            except ChildProcessError:
                break
            time.sleep(0.05)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def refuse_start(environment: Any) -> bool:
    """At test start (master or lone process): True, with the reason logged and the test stopped, when unusable."""
    if isinstance(environment.runner, WorkerRunner):
        return False
    problem = option_problem(environment.parsed_options)
    if problem is None:
        return False
    logging.getLogger("entrasim.load").error("entrasim: error: %s", problem)
    environment.process_exit_code = 2
    gevent.spawn(environment.runner.quit if environment.parsed_options.headless else environment.runner.stop)
    return True


def configure(options: Any) -> None:
    """Build the run's directory, builders and target from the options (every process, at test start)."""
    Run.directory = Directory(DirectorySpec(options.users_total, options.groups_total, options.seed, options.block_size))
    Run.builders = EntraRequests(options.preset, options.dialect)
    Run.target = ScimTarget(options.scim_url, options.scim_token, options.scim_ca_bundle or None, options.scim_insecure)


def measure_ceiling(options: Any) -> None:
    """The target's ceiling for the summary: given, probed (before the load starts), or unknown."""
    Run.ceiling, Run.ceiling_source = None, None
    if options.target_ceiling > 0:
        Run.ceiling, Run.ceiling_source = options.target_ceiling, "given with --target-ceiling"
    elif options.ceiling_seconds > 0:
        try:
            Run.ceiling = Run.target.probe_ceiling(options.ceiling_seconds, max(1, options.ceiling_concurrency))
            Run.ceiling_source = (f"probe: {options.ceiling_seconds:g} s of GET /Users?filter on "
                                  f"{options.ceiling_concurrency} keep-alive connections")
        except (OSError, TargetError) as exc:
            Run.ceiling_source = f"probe failed: {exc}"


class EntraScimUser(User):
    """A Locust user sending Entra's provisioning requests for generated objects, on its own keep-alive connection.

    Not a ``FastHttpUser``: its client costs more CPU a request than the target
    we want to measure (``scim_http.py`` says why); ``self.scim`` sends the
    builders' bodies as prebuilt bytes and reports each request to Locust once.
    """

    abstract = True
    coordinator: Coordinator  # set by the locustfile

    #: True when this user has nothing to do (no block left, or the test start was refused): its next task stops it
    idle = False
    scim: ScimConnection | None = None

    def on_start(self) -> None:
        # StopUser here would be logged by Locust as an error with a traceback; a task stops the user quietly
        if Run.target is None:  # the test start was refused (see refuse_start)
            self.idle = True
            return
        self.scim = ScimConnection(Run.target, self.environment)

    def on_stop(self) -> None:
        if self.scim is not None:
            self.scim.close()

    def count(self, key: str, amount: int = 1) -> None:
        self.coordinator.count(key, amount)

    def stop_if_idle(self) -> None:
        if self.idle:
            raise StopUser()

    def send(self, method: str, path: str, name: str, body: bytes | None = None) -> Answer:
        """One request of the run: counted, sent, and left for the caller to judge and report."""
        self.coordinator.count("requests")
        return self.scim.send(method, path, name, body)

    def expect(self, answer: Answer, statuses: tuple[int, ...], what: str) -> bool:
        """Report ``answer``: a success when its status is one of ``statuses``, else a failure saying what it was."""
        if answer.status in statuses:
            self.scim.report(answer)
            return True
        self.scim.report(answer, f"{what} answered {answered(answer)}")
        return False

    def match_or_create(self, obj: GeneratedUser | GeneratedGroup, resource: str) -> tuple[str | None, dict | None]:
        """Entra's first look at an object: ``(target id, resource found)``; ``(id, None)`` when it was created."""
        builders = Run.builders
        kind = KINDS[resource]
        query, create = builders.match_and_create(obj)
        answer = self.send("GET", query, MATCH_NAMES[resource])
        if answer.status != 200:
            self.expect(answer, (200,), "matching query")
            self.count(f"{kind}s_failed")
            return None, None
        found = _resources(answer.content)
        if found is None or len(found) > 1:
            self.scim.report(answer, "matching query answered 200 without a ListResponse" if found is None
                             else f"DuplicateTargetEntries: {len(found)} {resource} match")
            self.count(f"{kind}s_failed")
            return None, None
        self.scim.report(answer)
        if found:
            existing = found[0]
            self.count(f"{kind}s_matched")
            body = builders.update_body(obj, existing)
            existing_id = existing.get("id")
            if body is not None and isinstance(existing_id, str):
                answer = self.send("PATCH", f"/{resource}/{quote(existing_id, safe='')}", UPDATE_NAMES[resource],
                                   orjson.dumps(body))
                self.expect(answer, (200, 204), "update PATCH")
            return existing_id, existing
        answer = self.send("POST", f"/{resource}", CREATE_NAMES[resource], orjson.dumps(create))
        if answer.status != 201:
            self.scim.report(answer, f"create answered {answered(answer)}, not 201")
            self.count(f"{kind}s_failed")
            return None, None
        target_id = _created_id(answer.content)
        if not target_id:
            self.scim.report(answer, "create answered 201 without an id")
            self.count(f"{kind}s_failed")
            return None, None
        self.scim.report(answer)
        self.count(f"{kind}s_created")
        return target_id, None

    def set_manager(self, target_id: str, manager_target_id: str, had_manager: bool) -> bool:
        """Entra's reference PATCH: user ``target_id`` reports to ``manager_target_id`` (both exist on the target)."""
        body = Run.builders.manager_bytes(manager_target_id, had_manager)
        answer = self.send("PATCH", f"/Users/{quote(target_id, safe='')}", "PATCH /Users/[id] (manager)", body)
        if not self.expect(answer, (200, 204), "manager PATCH"):
            self.count("managers_failed")
            return False
        self.count("managers_set")
        return True

    def add_members(self, target_id: str, member_ids: list[str]) -> int:
        """The membership PATCHes adding ``member_ids`` to group ``target_id``; returns the members added."""
        added_total = 0
        path = f"/Groups/{quote(target_id, safe='')}"
        for added, body in Run.builders.members_add_bytes(member_ids):
            answer = self.send("PATCH", path, "PATCH /Groups/[id] (members)", body)
            if not self.expect(answer, (200, 204), "membership PATCH"):
                self.count("memberships_failed", added)
                continue
            self.count("memberships_added", added)
            added_total += added
        return added_total


KINDS = {"Users": "user", "Groups": "group"}
#: Locust's request names (its statistics group requests by them); built once, not per request
MATCH_NAMES = {resource: f"GET /{resource}?filter= (match)" for resource in KINDS}
CREATE_NAMES = {resource: f"POST /{resource}" for resource in KINDS}
UPDATE_NAMES = {resource: f"PATCH /{resource}/[id] (update)" for resource in KINDS}


def _resources(content: bytes) -> list[dict[str, Any]] | None:
    """The ``Resources`` of a ListResponse (``[]`` when it has none), or None when it is not one."""
    try:
        body = orjson.loads(content or b"{}")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    found = body.get("Resources") or []
    return found if isinstance(found, list) else None


def _created_id(content: bytes) -> str | None:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    target_id = body.get("id") if isinstance(body, dict) else None
    return target_id if isinstance(target_id, str) and target_id else None
