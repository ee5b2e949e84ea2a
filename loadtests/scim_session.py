"""What the SCIM locustfiles share: the run's directory/builders/target, the ceiling probe, Entra's match-or-create.

``EntraScimUser`` is an abstract FastHttpUser (geventhttpclient: about 3x the
requests per second of ``HttpUser`` from one process here) that sends the
provisioning client's requests: the matching query, then ``POST`` when nothing
matched or a diff-based ``PATCH`` when something did, and membership PATCHes.
Every request is counted in the process's ``Coordinator`` so the summary can
turn them into objects and memberships per second.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import gevent
import orjson
from locust import FastHttpUser
from locust.exception import StopUser
from locust.runners import WorkerRunner

from .builders import EntraRequests
from .coordination import Coordinator
from .directory import Directory, DirectorySpec, GeneratedGroup, GeneratedUser
from .scim_target import ScimTarget, TargetError


def answered(response: Any) -> str:
    """``400 (invalidValue: detail...)``: the status and the SCIM error's own words, short enough for Locust's error table."""
    status = response.status_code
    try:
        body = orjson.loads(response.content or b"{}")
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


def configure(options: Any, user_class: type[FastHttpUser]) -> None:
    """Build the run's directory, builders and target from the options (every process, at test start)."""
    Run.directory = Directory(DirectorySpec(options.users_total, options.groups_total, options.seed, options.block_size))
    Run.builders = EntraRequests(options.preset, options.dialect)
    Run.target = ScimTarget(options.scim_url, options.scim_token, options.scim_ca_bundle or None, options.scim_insecure)
    if Run.target.https:
        user_class.insecure = options.scim_insecure
        user_class.ssl_context_factory = Run.target.context_factory()


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


class EntraScimUser(FastHttpUser):
    """A Locust user sending Entra's provisioning requests for generated objects."""

    abstract = True
    coordinator: Coordinator  # set by the locustfile

    #: True when this user has nothing to do (no block left, or the test start was refused): its next task stops it
    idle = False

    def on_start(self) -> None:
        # StopUser here would be logged by Locust as an error with a traceback; a task stops the user quietly
        if Run.target is None:  # the test start was refused (see refuse_start)
            self.idle = True
            return
        self.headers = Run.target.headers
        self.body_headers = Run.target.body_headers

    def count(self, key: str, amount: int = 1) -> None:
        self.coordinator.count(key, amount)

    def stop_if_idle(self) -> None:
        if self.idle:
            raise StopUser()

    def match_or_create(self, obj: GeneratedUser | GeneratedGroup, resource: str) -> tuple[str | None, dict | None]:
        """Entra's first look at an object: ``(target id, resource found)``; ``(id, None)`` when it was created."""
        builders = Run.builders
        kind = resource[:-1].lower()
        query, create = builders.match_and_create(obj)
        self.count("requests")
        with self.client.get(query, name=f"GET /{resource}?filter= (match)",
                             headers=self.headers, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"matching query answered {answered(response)}")
                self.count(f"{kind}s_failed")
                return None, None
            found = orjson.loads(response.content or b"{}").get("Resources") or []
            if len(found) > 1:
                response.failure(f"DuplicateTargetEntries: {len(found)} {resource} match")
                self.count(f"{kind}s_failed")
                return None, None
        if found:
            existing = found[0]
            self.count(f"{kind}s_matched")
            body = builders.update_body(obj, existing)
            if body is not None:
                self.count("requests")
                self.client.request("PATCH", f"/{resource}/{existing['id']}", name=f"PATCH /{resource}/[id] (update)",
                                    data=orjson.dumps(body), headers=self.body_headers)
            return existing.get("id"), existing
        self.count("requests")
        with self.client.post(f"/{resource}", name=f"POST /{resource}", data=orjson.dumps(create),
                              headers=self.body_headers, catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"create answered {answered(response)}, not 201")
                self.count(f"{kind}s_failed")
                return None, None
            target_id = orjson.loads(response.content).get("id")
            if not target_id:
                response.failure("create answered 201 without an id")
                self.count(f"{kind}s_failed")
                return None, None
        self.count(f"{kind}s_created")
        return target_id, None

    def set_manager(self, target_id: str, manager_target_id: str, had_manager: bool) -> bool:
        """Entra's reference PATCH: user ``target_id`` reports to ``manager_target_id`` (both exist on the target)."""
        body = Run.builders.manager_body(manager_target_id, had_manager)
        self.count("requests")
        with self.client.request("PATCH", f"/Users/{target_id}", name="PATCH /Users/[id] (manager)",
                                 data=orjson.dumps(body), headers=self.body_headers, catch_response=True) as response:
            if response.status_code not in (200, 204):
                response.failure(f"manager PATCH answered {answered(response)}")
                self.count("managers_failed")
                return False
        self.count("managers_set")
        return True

    def add_members(self, target_id: str, member_ids: list[str]) -> int:
        """The membership PATCHes adding ``member_ids`` to group ``target_id``; returns the members added."""
        added_total = 0
        for body in Run.builders.members_add_bodies(member_ids):
            self.count("requests")
            added = len(body["Operations"][0]["value"])
            with self.client.request("PATCH", f"/Groups/{target_id}", name="PATCH /Groups/[id] (members)",
                                     data=orjson.dumps(body), headers=self.body_headers,
                                     catch_response=True) as response:
                if response.status_code not in (200, 204):
                    response.failure(f"membership PATCH answered {answered(response)}")
                    self.count("memberships_failed", added)
                    continue
            self.count("memberships_added", added)
            added_total += added
        return added_total
