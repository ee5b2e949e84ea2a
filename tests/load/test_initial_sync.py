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
    assert counters["managers_set"] == directory.managers() == 450 - 5  # every user but each block's head
    assert run.summary["objectsPerSecond"] > 0 and run.summary["targetCeiling"]["requestsPerSecond"] > 0
    assert run.summary["managerReferencesPerSecond"] > 0 and run.summary["requestsPerSecond"] > 0
    # the load generator's own cost is in the summary, so what bounds the run is visible
    assert 0 < run.summary["client"]["cpuMsPerRequest"] and run.summary["client"]["requestsPerSecondPerCore"] > 0
    assert "ms CPU a request" in run.output
    # a user and a group read back over SCIM are what the provisioning client's builders send
    user = directory.user(449)
    held = lms.get("/Users", filter=f'userName eq "{user.userPrincipalName}"')["Resources"][0]
    assert EntraRequests().compare(user, held) == []
    # ...and the user reports to its manager in the block's reporting tree, by target id
    manager = directory.user(directory.manager_index(449))
    manager_held = lms.get("/Users", filter=f'userName eq "{manager.userPrincipalName}"')["Resources"][0]
    enterprise = held["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
    assert enterprise["manager"]["value"] == manager_held["id"]
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
    assert counters["managers_set"] == 600 - 6 and "managers_failed" not in counters
    assert lms.total("Users") == 600 and lms.total("Groups") == 18
    assert run.summary["requestsPerSecondPerProcess"] > 0


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


def test_entras_default_dialect_against_a_strict_server_fails_with_the_servers_reason(scim_lms, tmp_path):
    """The default dialect's membership and manager PATCHes are not RFC 7644: the strict profile refuses them."""
    lms = scim_lms(profile="rfc")
    run = run_locust("initial_sync.py", tmp_path, *scim_args(lms, 40, 2, "--block-size", "20"),
                     "--scim-token", TOKEN, users=2)
    assert run.returncode == 1, run.output
    assert run.summary["verdict"] == "FAIL"
    failed = [check["message"] for check in run.summary["checks"] if not check["ok"]]
    assert any(message.startswith("memberships accepted: 0 (expected 40; 40 refused)") for message in failed)
    assert any(message.startswith("manager references resolved: 0 (expected 38; 38 refused") for message in failed)
    # users and groups themselves were created; Locust's error table says what the server answered
    assert lms.total("Users") == 40 and lms.total("Groups") == 2
    assert "membership PATCH answered 400 (" in run.files["html"].read_text()


def test_a_wrong_token_is_refused_before_any_load_and_changes_nothing(scim_lms, tmp_path):
    lms = scim_lms()
    run = run_locust("initial_sync.py", tmp_path, *scim_args(lms, 100, 2), "--scim-token", "not-the-token", users=2)
    assert run.returncode == 2, run.output
    errors = [line for line in run.output.splitlines() if "error" in line.lower()]
    assert errors == [(f"entrasim: error: the SCIM target at {lms.base} failed Entra's test connection: "
                       "GET /Users answered 401")]
    assert run.summary is None
    assert lms.total("Users") == 0 and lms.total("Groups") == 0


def test_impossible_options_are_one_line_errors(scim_lms, tmp_path):
    lms = scim_lms()
    run = run_locust("initial_sync.py", tmp_path, *scim_args(lms, 0, 2), "--scim-token", TOKEN, users=1)
    assert run.returncode == 2, run.output
    assert ("entrasim: error: the generated directory (--users-total, --groups-total, --block-size): users must be "
            "between 1 and 10,000,000, got 0") in run.output.splitlines()
    assert "Traceback" not in run.output and lms.total("Users") == 0


def test_a_token_an_http_header_cannot_carry_is_refused_without_being_echoed(scim_lms, tmp_path):
    """The token is written into every request's Authorization header as it is: a line break would split the request."""
    lms = scim_lms()
    token = "abc\r\nX-Injected: 1"
    run = run_locust("initial_sync.py", tmp_path, *scim_args(lms, 10, 1), users=1, env={"ENTRASIM_SCIM_TOKEN": token})
    assert run.returncode == 2, run.output
    assert ("entrasim: error: the SCIM token holds characters an HTTP header cannot carry (spaces, line breaks, "
            "non-ASCII)") in run.output.splitlines()
    assert "X-Injected" not in run.output and lms.total("Users") == 0


def test_a_second_run_matches_everything_and_creates_nothing(scim_lms, tmp_path):
    """Entra restarted over a target that already holds the directory: every object matched, no duplicate."""
    lms = scim_lms()
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = run_locust("initial_sync.py", tmp_path / "first", *scim_args(lms, 100, 2), "--scim-token", TOKEN,
                       users=2)
    assert first.returncode == 0, first.output
    second = run_locust("initial_sync.py", tmp_path / "second", *scim_args(lms, 100, 2), "--scim-token", TOKEN,
                        users=2)
    assert second.returncode == 0, second.output
    assert second.summary["verdict"] == "PASS", second.output
    counters = second.summary["counters"]
    assert counters["users_matched"] == 100 and counters["groups_matched"] == 2
    assert "users_created" not in counters and "groups_created" not in counters
    # the references the first run set are read back from the match and left alone
    assert counters["managers_unchanged"] == 99 and "managers_set" not in counters
    assert lms.total("Users") == 100 and lms.total("Groups") == 2
