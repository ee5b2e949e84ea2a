"""Scheduled imports fired by the simulated clock, their first-run delay, and the admin-group-last check."""

from __future__ import annotations

from datetime import timedelta

import pytest

from simulator.lms.graph_pull import ActionUnauthorized, BadRequest

from .conftest import upn


def _lockout_world(pull_world):
    world = pull_world()
    boss = world.user("boss")
    admins = world.group("LMS admins", boss)
    staff = world.group("All staff", boss, world.user("ann"))
    world.import_group(admins, role="admin")
    world.import_group(staff, role="user")  # the lockout
    with pytest.raises(ActionUnauthorized):
        world.lms.check_admin(upn("boss"))
    return world, admins, staff


def test_scheduled_imports_with_the_admin_group_last_resolve_the_lockout(pull_world):
    world, admins, staff = _lockout_world(pull_world)
    world.lms.add_schedule(world.connection_id, staff, "user", "02:00")
    world.lms.add_schedule(world.connection_id, admins, "admin", "02:30")
    assert world.lms.schedule_checks() == []

    world.tenant.advance_clock(timedelta(days=1))  # 2026-01-16T09:00Z: both ran, staff first

    runs = [(r.group_id, r.trigger) for r in world.lms.imports[-2:]]
    assert runs == [(staff, "schedule:schedule-1"), (admins, "schedule:schedule-2")]
    assert world.lms.get_account(upn("boss")).role == "admin"
    assert world.lms.check_admin(upn("boss")).login == upn("boss")


def test_the_admin_group_scheduled_before_the_others_is_flagged_and_leaves_the_lockout(pull_world):
    world, admins, staff = _lockout_world(pull_world)
    world.lms.add_schedule(world.connection_id, staff, "user", "02:00")
    admin_schedule = world.lms.add_schedule(world.connection_id, admins, "admin", "02:15")

    checks = world.lms.schedule_checks()
    assert [(c["check"], c["schedule_id"]) for c in checks] == [("admin-group-last", admin_schedule.id)]
    assert "30 minutes" in checks[0]["message"]

    world.lms.update_schedule(admin_schedule.id, time="01:00")
    world.tenant.advance_clock(timedelta(days=1))
    assert world.lms.get_account(upn("boss")).role == "user"  # the staff import ran last and demoted again
    world.lms.update_schedule(admin_schedule.id, time="02:30")
    assert world.lms.schedule_checks() == []


def test_a_new_schedule_first_runs_at_the_next_occurrence_of_its_time(pull_world):
    world = pull_world()
    gid = world.group("Staff", world.user("ann"))
    same_time = world.lms.add_schedule(world.connection_id, gid, "user", "09:00")  # clock: 09:00
    later = world.lms.add_schedule(world.connection_id, gid, "user", "10:00")
    assert same_time.next_run.isoformat() == "2026-01-16T09:00:00+00:00"  # the full 24 hours
    assert later.next_run.isoformat() == "2026-01-15T10:00:00+00:00"

    world.tenant.advance_clock(timedelta(minutes=59))
    assert world.lms.imports == []
    world.tenant.advance_clock(timedelta(minutes=1))
    assert [r.trigger for r in world.lms.imports] == [f"schedule:{later.id}"]
    world.tenant.advance_clock(timedelta(hours=23))
    assert [r.trigger for r in world.lms.imports][1:] == [f"schedule:{same_time.id}"]
    assert world.lms.get_account(upn("ann")).role == "user"


def test_a_changed_schedule_waits_for_its_next_occurrence_again(pull_world):
    world = pull_world()
    gid = world.group("Staff", world.user("ann"))
    schedule = world.lms.add_schedule(world.connection_id, gid, "user", "10:00")
    world.tenant.advance_clock(timedelta(minutes=30))  # 09:30
    world.lms.update_schedule(schedule.id, time="09:30")
    assert schedule.next_run.isoformat() == "2026-01-16T09:30:00+00:00"
    world.tenant.advance_clock(timedelta(hours=2))
    assert world.lms.imports == []


def test_a_clock_jump_over_several_days_runs_each_schedule_once(pull_world):
    world = pull_world()
    gid = world.group("Staff", world.user("ann"))
    schedule = world.lms.add_schedule(world.connection_id, gid, "user", "03:00")
    world.tenant.advance_clock(timedelta(days=3))
    assert len(world.lms.imports) == 1
    assert (schedule.runs, schedule.skipped) == (1, 2)
    assert schedule.next_run.isoformat() == "2026-01-19T03:00:00+00:00"


def test_bad_schedules_are_refused_and_change_nothing(pull_world):
    world = pull_world()
    for time in ("24:00", "7:00", "noon", None):
        with pytest.raises(BadRequest, match="HH:MM"):
            world.lms.add_schedule(world.connection_id, "g", "user", time)
    with pytest.raises(BadRequest, match="role"):
        world.lms.add_schedule(world.connection_id, "g", "owner", "02:00")
    assert world.lms.list_schedules() == []


def test_creating_a_schedule_over_http_tells_at_once_when_the_admin_group_does_not_run_last(pull_world):
    world = pull_world()
    staff = world.group("All staff", world.user("ann"))
    admins = world.group("LMS admins", world.user("boss"))
    body = {"connection_id": world.connection_id}
    first = world.call("POST", "/schedules", json={**body, "group_id": staff, "role": "user", "time": "02:00"})
    assert first.status_code == 201 and first.json()["checks"] == []

    admin = world.call("POST", "/schedules", json={**body, "group_id": admins, "role": "admin", "time": "02:10"})

    assert admin.status_code == 201  # saved anyway: the check advises, it does not forbid
    assert [(c["check"], c["schedule_id"], c["other_schedule_id"]) for c in admin.json()["checks"]] == \
        [("admin-group-last", admin.json()["id"], first.json()["id"])]
    moved = world.call("PATCH", f"/schedules/{admin.json()['id']}", json={"time": "02:30"})
    assert moved.json()["checks"] == [] and moved.json()["next_run"] == "2026-01-16T02:30:00Z"
    assert world.call("GET", "/schedules/checks").json() == {"checks": []}
