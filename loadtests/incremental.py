"""Locustfile: Entra's incremental cycles as a steady stream of changes at a set rate, against any SCIM server.

    locust -f loadtests/incremental.py --headless --scim-url http://127.0.0.1:8080/scim/v2 \\
        --users-total 100000 --groups-total 10000 --change-rate 200 --users 8 --run-time 5m

Each Locust user adopts one block of the directory (from its process's shard,
so no object is changed by two users): it matches the block's users and groups
the way Entra does after a restart, creating what the target does not hold yet,
and reads the groups' members. Then it sends changes, spread so that all users
together make ``--change-rate`` changes per second:

- **update** (weight 5): the user after an HR change (title, office, phones),
  read back with ``GET /Users/{id}`` and sent as Entra's diff PATCH, or nothing
  when the target already holds it (RedundantExport);
- **disable / enable** (weight 1): ``active`` flipped, the way Entra disables a
  user who leaves scope;
- **membership churn** (weight 4): one member added to or removed from a group
  of the block, by ``PATCH /Groups/{id}`` in the job's dialect.

At the end each process reads back a sample of what it changed and compares it
field by field (members included) with what it sent; objects whose last change
was cut short by the stop are left out. PASS or FAIL is printed with the summary
(changes/s, requests/s, ratio to the target's ceiling).
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from locust import constant_throughput, events, task

if __package__ in (None, ""):  # run as `locust -f loadtests/incremental.py` outside an installed tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests import summary
from loadtests.coordination import Check, Coordinator
from loadtests.directory import GeneratedUser
from loadtests.options import (
    add_ceiling_arguments,
    add_directory_arguments,
    add_report_arguments,
    add_scim_arguments,
)
from loadtests.scim_http import Answer
from loadtests.scim_session import (
    EntraScimUser,
    Run,
    adopt_host,
    configure,
    measure_ceiling,
    preflight,
    refuse_start,
)
from loadtests.scim_target import TargetError

coordinator = Coordinator(finite=False)


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    add_scim_arguments(parser)
    add_directory_arguments(parser, users=10_000, groups=1_000)
    add_report_arguments(parser)
    add_ceiling_arguments(parser)
    parser.add_argument("--change-rate", type=float, default=50.0,
                        help="Changes per second, all Locust users together (each change is 1-2 requests)")


@events.init.add_listener
def _init(environment: Any, **_kw: Any) -> None:
    adopt_host(environment)
    preflight(environment)
    coordinator.install(environment)
    coordinator.final = _final
    coordinator.local_checks = _local_checks


@events.test_start.add_listener
def _test_start(environment: Any, **_kw: Any) -> None:
    options = environment.parsed_options
    if not options.headless and refuse_start(environment):  # the web UI's form can change the options
        Run.directory = Run.target = None
        return
    configure(options)
    if not coordinator.is_worker:
        # forwarded to workers with the other custom options: each user's share of --change-rate
        options.entrasim_total_users = environment.runner.target_user_count
        measure_ceiling(options)
    if not coordinator.is_master:
        coordinator.set_blocks(Run.directory.spec.blocks)
        ADOPTED.clear()


@dataclass
class UserState:
    index: int
    target_id: str
    version: int = 0
    enabled: bool = True
    changed: bool = False
    pending: bool = False

    def source(self) -> GeneratedUser:
        return Run.directory.user(self.index, version=self.version, enabled=self.enabled)


@dataclass
class GroupState:
    index: int
    target_id: str
    members: set[str] = field(default_factory=set)
    changed: bool = False
    pending: bool = False


@dataclass
class Adopted:
    """One block as a Locust user holds it: target ids and the state it last sent."""

    block: int
    users: list[UserState]
    groups: list[GroupState]


#: every block this process adopted (the local check reads them back)
ADOPTED: list[Adopted] = []


#: Locust's request names of a membership change, by "removing"
CHURN_NAMES = {True: "PATCH /Groups/[id] (member remove)", False: "PATCH /Groups/[id] (member add)"}


def _per_user_rate() -> float:
    options = coordinator.environment.parsed_options
    users = max(1, int(getattr(options, "entrasim_total_users", 1) or 1))
    return max(options.change_rate, 0.001) / users


class ChangeStreamUser(EntraScimUser):
    """Adopts a block, then changes its users and groups at its share of ``--change-rate``."""

    coordinator = coordinator

    def wait_time(self) -> float:
        return constant_throughput(_per_user_rate())(self)

    def on_start(self) -> None:
        super().on_start()
        self.rng = random.Random()
        self.held = Adopted(-1, [], [])
        block = None if self.idle else coordinator.claim()
        if block is None:  # more Locust users than blocks in this shard: this one stops at its first task
            self.idle = True
            return
        self.held = self.adopt(block)
        ADOPTED.append(self.held)

    def adopt(self, block: int) -> Adopted:
        directory = Run.directory
        users: list[UserState] = []
        ids: dict[int, str] = {}
        for user in directory.users_of_block(block):
            target_id, _found = self.match_or_create(user, "Users")
            if target_id is not None:
                users.append(UserState(user.index, target_id))
                ids[user.index] = target_id
        groups: list[GroupState] = []
        for group in directory.groups_of_block(block):
            target_id, found = self.match_or_create(group, "Groups")
            if target_id is None:
                continue
            state = GroupState(group.index, target_id)
            if found is None:
                wanted = [ids[i] for i in group.member_indexes if i in ids]
                self.add_members(target_id, wanted)
                state.members = set(wanted)
            else:
                state.members = self.read_members(target_id)
            groups.append(state)
        return Adopted(block, users, groups)

    def read_members(self, target_id: str) -> set[str]:
        answer = self.send("GET", f"/Groups/{quote(target_id, safe='')}", "GET /Groups/[id]")
        body = self.read_resource(answer, "group read")
        return set() if body is None else {member.get("value") for member in body.get("members") or []}

    def read_resource(self, answer: Answer, what: str) -> dict[str, Any] | None:
        """The resource a ``GET /<resource>/{id}`` answered, reported; None (a failure) when there is none."""
        if answer.status != 200:
            self.expect(answer, (200,), what)
            return None
        try:
            body = orjson.loads(answer.content)
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            self.scim.report(answer, f"{what} answered 200 without a SCIM resource")
            return None
        self.scim.report(answer)
        return body

    # -- changes
    @task(5)
    def update(self) -> None:
        self.stop_if_idle()
        if self.held.users:
            state = self.rng.choice(self.held.users)
            self.change_user(state, version=state.version + 1, enabled=state.enabled)

    @task(1)
    def disable_or_enable(self) -> None:
        self.stop_if_idle()
        if self.held.users:
            state = self.rng.choice(self.held.users)
            self.change_user(state, version=state.version, enabled=not state.enabled)

    @task(4)
    def churn_membership(self) -> None:
        self.stop_if_idle()
        if not self.held.groups or not self.held.users:
            return
        group = self.rng.choice(self.held.groups)
        member = self.rng.choice(self.held.users).target_id
        removing = member in group.members
        body = Run.builders.members_remove_body([member]) if removing else Run.builders.members_add_bodies([member])[0]
        group.pending = True
        answer = self.send("PATCH", f"/Groups/{quote(group.target_id, safe='')}",
                           CHURN_NAMES[removing], orjson.dumps(body))
        if not self.expect(answer, (200, 204), "membership PATCH"):
            group.pending = False
            return
        if removing:
            group.members.discard(member)
            self.count("memberships_removed")
        else:
            group.members.add(member)
            self.count("memberships_added")
        group.changed, group.pending = True, False
        self.count("changes")

    def change_user(self, state: UserState, *, version: int, enabled: bool) -> None:
        """Entra's update of a linked user: read it back, diff, PATCH only what differs."""
        path = f"/Users/{quote(state.target_id, safe='')}"
        current = self.read_resource(self.send("GET", path, "GET /Users/[id]"), "user read")
        if current is None:
            return
        desired = Run.directory.user(state.index, version=version, enabled=enabled)
        body = Run.builders.update_body(desired, current)
        if body is None:
            self.count("redundant_exports")
        else:
            state.pending = True
            name = "PATCH /Users/[id] (" + ("update" if enabled == state.enabled else
                                            "disable" if not enabled else "enable") + ")"
            if not self.expect(self.send("PATCH", path, name, orjson.dumps(body)), (200, 204), "update"):
                state.pending = False
                return
        state.version, state.enabled, state.changed, state.pending = version, enabled, True, False
        self.count("changes")


# ------------------------------------------------------------------ checks and summary


def _local_checks() -> list[Check]:
    """This process's changed objects, read back (a sample) and compared with the last state it sent."""
    options = coordinator.environment.parsed_options
    users = [u for a in ADOPTED for u in a.users if u.changed and not u.pending]
    groups = [g for a in ADOPTED for g in a.groups if g.changed and not g.pending]
    rng = random.Random(options.seed)
    users = rng.sample(users, min(len(users), options.check_sample))
    groups = rng.sample(groups, min(len(groups), max(1, options.check_sample // 4)))
    target, builders = Run.target, Run.builders
    checks: list[Check] = []
    bad: list[str] = []
    try:
        for state in users:
            resource = target.get(f"/Users/{state.target_id}")
            bad.extend(f"user {state.index}: {m}" for m in builders.compare(state.source(), resource))
        for state in groups:
            resource = target.get(f"/Groups/{state.target_id}")
            held = {member.get("value") for member in resource.get("members") or []}
            if held != state.members:
                bad.append(f"group {state.index}: {len(held)} members held, {len(state.members)} expected "
                           f"({len(held - state.members)} unexpected, {len(state.members - held)} missing)")
    except (OSError, TargetError) as exc:
        return [Check(False, f"process {coordinator.local.index}: the target could not be read back: {exc}")]
    if users or groups:
        checks.append(Check(not bad, f"process {coordinator.local.index}: {len(users)} changed users and "
                                     f"{len(groups)} churned groups read back as last sent"
                                     + (": " + "; ".join(bad[:5]) if bad else "")))
    else:
        checks.append(Check(False, f"process {coordinator.local.index}: no change was completed"))
    return checks


def _final() -> None:
    environment = coordinator.environment
    options = environment.parsed_options
    if Run.directory is None:
        return
    processes = coordinator.expected_processes()
    checks = coordinator.checks() or [Check(False, "no process reported")]
    started = coordinator.started_at
    elapsed = time.time() - started if started else None
    totals = dict(coordinator.totals())
    result = summary.build("incremental", elapsed=elapsed, counters=totals, processes=processes,
                           ceiling=Run.ceiling, ceiling_source=Run.ceiling_source, checks=checks,
                           ceiling_requests=Run.target.probe_requests,
                           extra={"changesPerSecond": summary.rate(totals.get("changes", 0), elapsed),
                                  "changeRateAsked": options.change_rate, "preset": options.preset,
                                  "dialect": options.dialect})
    summary.publish(result, options.summary_json or None)
    if result["verdict"] != "PASS":
        environment.process_exit_code = 1
