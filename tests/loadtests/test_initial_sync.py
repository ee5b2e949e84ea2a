"""Initial sync locustfile: Entra's initial cycle against our SCIM LMS, one process and --processes 2."""

from __future__ import annotations

from loadtests.builders import EntraRequests
from loadtests.directory import Directory, DirectorySpec

from .conftest import TOKEN, run_locust


def scim_args(lms, users: int, groups: int, *extra: str) -> tuple[str, ...]:
    return ("--scim-url", lms.base, "--users-total", str(users), "--groups-total", str(groups), "--seed", "5",
            "--ceiling-seconds", "0.5", *extra)


def test_one_process_provisions_the_whole_directory_and_the_target_holds_exactly_it(scim_lms, tmp_path):
    lms = scim_lms()
    run = run_locust("initial_sync.py", tmp_path, *scim_args(lms, 450, 12), users=3,
                     env={"ENTRASIM_SCIM_TOKEN": TOKEN})
    assert run.returncode == 0, run.output
    assert run.summary["verdict"] == "PASS", run.output
    assert run.summary["complete"] is True
    assert lms.total("Users") == 450 and lms.total("Groups") == 12
    directory = Directory(DirectorySpec(450, 12, seed=5))
    counters = run.summary["counters"]
    assert counters["users_created"] == 450 and counters["groups_created"] == 12
    assert counters["memberships_added"] == directory.memberships()
    assert run.summary["objectsPerSecond"] > 0 and run.summary["targetCeiling"]["requestsPerSecond"] > 0
    # a user and a group read back over SCIM are what the provisioning client's builders send
    user = directory.user(449)
    held = lms.get("/Users", filter=f'userName eq "{user.userPrincipalName}"')["Resources"][0]
    assert EntraRequests().compare(user, held) == []
    group = directory.group(11)
    held = lms.get("/Groups", filter=f'displayName eq "{group.displayName}"')["Resources"][0]
    assert len(held["members"]) == len(group.member_indexes)
    # Locust's own reports are written too, and the token appears in none of them
    for path in run.files.values():
        assert path.exists() and TOKEN not in path.read_text()
    assert "POST /Users" in run.files["csv"].read_text()
    assert TOKEN not in run.output


def test_two_worker_processes_take_disjoint_shards_and_nothing_is_sent_twice(scim_lms, tmp_path):
    lms = scim_lms(profile="rfc")  # the flagged dialect is RFC-clean: the strict profile must accept all of it
    run = run_locust("initial_sync.py", tmp_path, *scim_args(lms, 600, 18, "--dialect", "aadOptscim062020"),
                     "--processes", "2", "--scim-token", TOKEN, users=4)
    assert run.returncode == 0, run.output
    assert run.summary["verdict"] == "PASS", run.output
    assert run.summary["processes"] == 2
    counters = run.summary["counters"]
    # every object created exactly once: no matching query found anything, no create was refused as a duplicate
    assert counters["users_created"] == 600 and counters["groups_created"] == 18
    assert "users_matched" not in counters and "users_failed" not in counters
    assert lms.total("Users") == 600 and lms.total("Groups") == 18


def test_a_target_holding_more_than_the_directory_fails_the_check(scim_lms, tmp_path):
    lms = scim_lms()
    import requests

    stray = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "stray@example.com"}
    assert requests.post(lms.base + "/Users", json=stray, headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=10).status_code == 201
    run = run_locust("initial_sync.py", tmp_path, *scim_args(lms, 150, 3), "--scim-token", TOKEN, users=2)
    assert run.returncode == 1, run.output
    assert run.summary["verdict"] == "FAIL"
    failed = [check["message"] for check in run.summary["checks"] if not check["ok"]]
    assert failed == ["Users on the target: 151 (expected 150)"]
    assert "entrasim load verdict: FAIL" in run.output
