"""Locustfile: Entra's initial provisioning cycle for a generated directory, against any SCIM server.

    locust -f loadtests/initial_sync.py --headless --scim-url http://127.0.0.1:8080/scim/v2 \\
        --users-total 100000 --groups-total 10000 --users 16 --spawn-rate 16 --processes 2 \\
        --run-time 30m --csv out/sync --html out/sync.html

Each Locust user takes a block of the directory from its process's shard
(``coordination.py``) and provisions it the way Entra's initial cycle does
(reference 2.1): for each user, the matching query, then a ``POST /Users`` when
nothing matched (or a diff and a PATCH when something did); then the block's
groups the same way (``excludedAttributes=members`` in the match, an empty
``members`` list in the POST); then the memberships, as ``PATCH /Groups/{id}``
adding ``members`` ids, as many per PATCH as the preset's ``membersPerPatch``;
then the manager references, one ``PATCH /Users/{id}`` per user who has a
manager (the block's reporting tree), now that both ends exist.
Every body comes from the provisioning client's builders (``builders.py``).

The run ends by itself when every block is provisioned (``--run-time`` is an
upper bound). Then the target is checked: ``totalResults`` of Users and Groups
must equal the directory's, every membership and manager reference must have
been accepted, and a sample of users and groups is read back and compared field
by field with what the builders sent, members and managers included. PASS or
FAIL is printed with entrasim's summary (objects/s, memberships/s, ratio to the
target's ceiling); FAIL makes Locust exit with 1.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from locust import constant, events, task
from locust.exception import StopUser

if __package__ in (None, ""):  # run as `locust -f loadtests/initial_sync.py` outside an installed tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests import summary
from loadtests.builders import EntraRequests
from loadtests.coordination import Check, Coordinator
from loadtests.directory import Directory, GeneratedGroup
from loadtests.options import (
    add_ceiling_arguments,
    add_directory_arguments,
    add_report_arguments,
    add_scim_arguments,
)
from loadtests.scim_session import (
    EntraScimUser,
    Run,
    adopt_host,
    configure,
    measure_ceiling,
    preflight,
    refuse_start,
)
from loadtests.scim_target import ScimTarget, TargetError

coordinator = Coordinator(finite=True)


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    add_scim_arguments(parser)
    add_directory_arguments(parser)
    add_report_arguments(parser)
    add_ceiling_arguments(parser)


@events.init.add_listener
def _init(environment: Any, **_kw: Any) -> None:
    adopt_host(environment)
    preflight(environment)
    coordinator.install(environment)
    coordinator.final = _final


@events.test_start.add_listener
def _test_start(environment: Any, **_kw: Any) -> None:
    options = environment.parsed_options
    if not options.headless and refuse_start(environment):  # the web UI's form can change the options
        Run.directory = Run.target = None
        return
    configure(options)
    if not coordinator.is_worker:
        measure_ceiling(options)
    if not coordinator.is_master:
        coordinator.set_blocks(Run.directory.spec.blocks)


class ScimSyncUser(EntraScimUser):
    """One Entra provisioning worker: provisions whole blocks, one after the other, as fast as the target answers."""

    wait_time = constant(0)
    coordinator = coordinator

    @task
    def provision_block(self) -> None:
        self.stop_if_idle()
        block = coordinator.claim()
        if block is None:
            raise StopUser()
        directory = Run.directory
        builders = Run.builders
        user_ids: dict[int, str] = {}
        held_managers: dict[int, str | None] = {}
        for user in directory.users_of_block(block):
            target_id, found = self.match_or_create(user, "Users")
            if target_id is not None:
                user_ids[user.index] = target_id
                held_managers[user.index] = builders.manager_of(found)
        groups: list[tuple[GeneratedGroup, str]] = []
        for group in directory.groups_of_block(block):
            target_id, _found = self.match_or_create(group, "Groups")
            if target_id is not None:
                groups.append((group, target_id))
        for group, target_id in groups:
            self.add_members(target_id, [user_ids[i] for i in group.member_indexes if i in user_ids])
        if builders.manager_row is not None:
            self.resolve_managers(directory, user_ids, held_managers)
        coordinator.block_done()

    def resolve_managers(self, directory: Directory, user_ids: dict[int, str],
                         held_managers: dict[int, str | None]) -> None:
        """Entra's last phase: each user's manager reference, once both users exist (skipped when already held)."""
        for index, target_id in user_ids.items():
            manager = directory.manager_index(index)
            if manager is None:
                continue
            manager_id = user_ids.get(manager)
            if manager_id is None:  # the manager could not be provisioned: Entra leaves the reference unresolved
                self.count("managers_unresolved")
                continue
            held = held_managers.get(index)
            if held == manager_id:
                self.count("managers_unchanged")
                continue
            self.set_manager(target_id, manager_id, had_manager=held is not None)


# ------------------------------------------------------------------ the final check


def check_target(directory: Directory, builders: EntraRequests, target: ScimTarget, sample: int) -> list[Check]:
    """Counts, then a sample of users and groups read back and compared with what the builders sent."""
    spec = directory.spec
    checks: list[Check] = []
    users, groups = target.total("Users"), target.total("Groups")
    checks.append(Check(users == spec.users, f"Users on the target: {users:,} (expected {spec.users:,})"))
    checks.append(Check(groups == spec.groups, f"Groups on the target: {groups:,} (expected {spec.groups:,})"))
    target_ids: dict[int, str | None] = {}

    def target_id(index: int) -> str | None:
        if index not in target_ids:
            match = target.find("Users", "userName", directory.user(index).userPrincipalName)
            target_ids[index] = match[0].get("id") if len(match) == 1 else None
        return target_ids[index]

    bad: list[str] = []
    user_sample = directory.sample_users(sample)
    for index in user_sample:
        user = directory.user(index)
        found = target.find("Users", "userName", user.userPrincipalName)
        if len(found) != 1:
            bad.append(f"user {user.userPrincipalName}: {len(found)} found")
            continue
        target_ids[index] = found[0].get("id")
        bad.extend(f"user {user.userPrincipalName}: {m}" for m in builders.compare(user, found[0]))
        if builders.manager_row is not None:
            manager = directory.manager_index(index)
            expected = None if manager is None else target_id(manager)
            held = builders.manager_of(found[0])
            if held != expected or (manager is not None and expected is None):
                bad.append(f"user {user.userPrincipalName}: manager {held!r}, expected {expected!r}")
    checks.append(Check(not bad, f"{len(user_sample)} sampled users match the builders' bodies field by field"
                        + (", manager included" if builders.manager_row is not None else "")
                        + (": " + "; ".join(bad[:5]) if bad else "")))
    bad = []
    group_sample = directory.sample_groups(max(1, sample // 4)) if spec.groups else []
    for index in group_sample:
        group = directory.group(index)
        found = target.find("Groups", "displayName", group.displayName, members=True)
        if len(found) != 1:
            bad.append(f"group {group.displayName}: {len(found)} found")
            continue
        bad.extend(f"group {group.displayName}: {m}" for m in builders.compare(group, found[0]))
        held = {member.get("value") for member in found[0].get("members") or []}
        expected = {target_id(member_index) for member_index in group.member_indexes} - {None}
        if held != expected or len(expected) != len(group.member_indexes):
            bad.append(f"group {group.displayName}: {len(held)} members held, {len(group.member_indexes)} expected")
    if group_sample:
        checks.append(Check(not bad, f"{len(group_sample)} sampled groups match, members included"
                            + (": " + "; ".join(bad[:5]) if bad else "")))
    return checks


def check_references(directory: Directory, builders: EntraRequests, counters: dict[str, int]) -> list[Check]:
    """Every membership and manager reference of the directory was accepted by the target (no PATCH refused)."""
    memberships = directory.memberships()
    added = counters.get("memberships_added", 0)
    checks = [Check(added == memberships and not counters.get("memberships_failed"),
                    f"memberships accepted: {added:,} (expected {memberships:,}; "
                    f"{counters.get('memberships_failed', 0):,} refused)")]
    if builders.manager_row is not None:
        managers = directory.managers()
        resolved = counters.get("managers_set", 0) + counters.get("managers_unchanged", 0)
        checks.append(Check(resolved == managers,
                            f"manager references resolved: {resolved:,} (expected {managers:,}; "
                            f"{counters.get('managers_failed', 0):,} refused, "
                            f"{counters.get('managers_unresolved', 0):,} left unresolved)"))
    return checks


def _final() -> None:
    environment = coordinator.environment
    options = environment.parsed_options
    if Run.directory is None:
        return
    processes = coordinator.expected_processes()
    complete = coordinator.all_done(processes)
    checks = [Check(complete, f"every block provisioned ({Run.directory.spec.blocks:,} blocks over "
                              f"{processes} process{'es' if processes > 1 else ''})")]
    counters = dict(coordinator.totals())
    if complete:
        checks += check_references(Run.directory, Run.builders, counters)
    try:
        checks += check_target(Run.directory, Run.builders, Run.target, options.check_sample)
    except (OSError, TargetError) as exc:
        checks.append(Check(False, f"the target could not be checked: {exc}"))
    started, finished = coordinator.window()
    end = finished if complete and finished else time.time()
    elapsed = end - started if started else None
    spec = Run.directory.spec
    result = summary.build("initial-sync", elapsed=elapsed, counters=counters, processes=processes,
                           ceiling=Run.ceiling, ceiling_source=Run.ceiling_source, checks=checks,
                           ceiling_requests=Run.target.probe_requests, complete=complete,
                           extra={"directory": {"users": spec.users, "groups": spec.groups,
                                                "memberships": Run.directory.memberships(),
                                                "managers": Run.directory.managers() if Run.builders.manager_row
                                                else 0, "seed": spec.seed,
                                                "blockSize": spec.block_size},
                                  "preset": options.preset, "dialect": options.dialect})
    summary.publish(result, options.summary_json or None)
    if result["verdict"] != "PASS":
        environment.process_exit_code = 1
