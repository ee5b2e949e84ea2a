"""The admin API over HTTP: authentication, admin-only actions, clear errors, JSON state export."""

from __future__ import annotations

from urllib.parse import quote

import requests

from .conftest import ADMIN, upn


def test_calls_without_a_valid_account_token_get_401(pull_world):
    world = pull_world()
    resp = requests.get(f"{world.api_url}/accounts", timeout=10)
    assert resp.status_code == 401 and "Bearer" in resp.json()["error"]
    assert world.call("GET", "/accounts", token="not-a-token").status_code == 401


def test_a_user_account_gets_403_action_unauthorized_on_admin_actions(pull_world):
    world = pull_world()
    world.lms.add_account("learner@lms.example", "learner@lms.example")
    token = world.lms.issue_token("learner@lms.example")
    resp = world.call("POST", "/connections", token=token,
                      json={"tenant_id": "t", "client_id": "c", "client_secret": "s"})
    assert (resp.status_code, resp.json()) == (403, {"error": "Action unauthorized"})
    assert len(world.lms.connections) == 1
    assert world.call("GET", "/me", token=token).json()["account"]["login"] == "learner@lms.example"


def test_import_csv_accounts_departments_and_state_over_http(pull_world):
    world = pull_world()
    gid = world.group("Staff", world.user("ann", department="Sales"), world.user("bob"))

    result = world.call("POST", "/imports", json={"connection_id": world.connection_id, "group_id": gid}).json()
    assert result["status"] == "succeeded" and sorted(result["created"]) == [upn("ann"), upn("bob")]
    csv_text = f"login,email,department,status\n{upn('bob')},bob@contoso.com,Support,disabled\n"
    csv_result = world.call("POST", "/csv-imports", data=csv_text, headers={"Content-Type": "text/csv"})
    assert csv_result.status_code == 200 and csv_result.json()["updated"] == [upn("bob")]

    patched = world.call("PATCH", f"/accounts/{upn('ann')}", json={"department": "Legal"}).json()
    assert (patched["department"], patched["department_source"]) == ("Legal", "admin")
    departments = {d["name"]: d for d in world.call("GET", "/departments").json()["departments"]}
    assert departments["Sales"]["enrolled"] is False and departments["Legal"]["enrolled"] is True

    log = world.call("GET", "/import-log", params={"import_id": result["id"]}).json()["entries"]
    assert [e["call"] for e in log] == ["token", "graph"]
    state = world.call("GET", "/state").json()
    assert {a["login"]: a["status"] for a in state["accounts"]} == {ADMIN: "enabled", upn("ann"): "enabled",
                                                                     upn("bob"): "disabled"}
    assert [i["kind"] for i in state["imports"]] == ["azure", "csv"]
    assert world.graph.client_secret not in str(state) and world.admin_token not in str(state)


def test_connections_never_show_the_secret(pull_world):
    world = pull_world()
    created = world.call("POST", "/connections", json={
        "name": "Second tenant", "tenant_id": "contoso.onmicrosoft.com", "client_id": "11111111-2222-3333-4444-555555555555",
        "client_secret": "abc8Q~very-secret-value", "authority_host": world.graph.url,
        "graph_url": world.graph.graph_url})
    assert created.status_code == 201 and created.json()["secret_hint"] == "abc"
    listed = world.call("GET", "/connections").text
    assert "very-secret-value" not in listed and world.graph.client_secret not in listed


def test_bad_input_gets_a_specific_400_and_changes_nothing(pull_world):
    world = pull_world()
    cases = [
        ("POST", "/imports", {"connection_id": world.connection_id}, "'group_id' is required"),
        ("POST", "/imports", {"connection_id": world.connection_id, "group_id": "g", "role": "owner"}, "'role'"),
        ("POST", "/connections", {"tenant_id": "t", "client_id": "c", "client_secret": "s",
                                  "graph_url": "ftp://x"}, "'graph_url' must be an http(s) URL"),
        ("POST", "/schedules", {"connection_id": world.connection_id, "group_id": "g", "role": "user",
                                "time": "25:00"}, "HH:MM"),
        ("POST", "/accounts", {"login": "x", "email": "y", "colour": "red"}, "unknown field 'colour'"),
        ("PATCH", f"/accounts/{ADMIN}", {"role": "owner"}, "'role' must be one of admin, manager, user"),
    ]
    before = world.call("GET", "/state").json()
    for method, path, body, message in cases:
        resp = world.call(method, path, json=body)
        assert resp.status_code == 400, (path, resp.text)
        assert message in resp.json()["error"], resp.json()
    not_json = world.call("POST", "/imports", data="nope", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 400 and "JSON object" in not_json.json()["error"]
    bad_csv = world.call("POST", "/csv-imports", data="login,shoe_size\nx,42\n", headers={"Content-Type": "text/csv"})
    assert bad_csv.status_code == 400 and "unknown column 'shoe_size'" in bad_csv.json()["error"]
    assert world.call("GET", "/state").json() == before


def test_unknown_things_get_404(pull_world):
    world = pull_world()
    resp = world.call("POST", "/imports", json={"connection_id": "conn-9", "group_id": "g"})
    assert (resp.status_code, resp.json()) == (404, {"error": "connection 'conn-9' does not exist"})
    assert world.call("GET", "/accounts/nobody").status_code == 404
    assert world.call("GET", "/nothing-here").json()["error"].startswith("no such endpoint")


def test_advancing_the_clock_over_http_fires_schedules(pull_world):
    world = pull_world()
    gid = world.group("Staff", world.user("ann"))
    created = world.call("POST", "/schedules", json={"connection_id": world.connection_id, "group_id": gid,
                                                     "role": "manager", "time": "10:00"})
    assert created.status_code == 201 and created.json()["next_run"] == "2026-01-15T10:00:00Z"
    moved = world.call("POST", "/clock/advance", json={"hours": 1}).json()
    assert moved["now"] == "2026-01-15T10:00:00Z"
    assert [(i["trigger"], i["created"]) for i in moved["imports"]] == [("schedule:schedule-1", [upn("ann")])]
    assert world.lms.get_account(upn("ann")).role == "manager"


def test_fault_rules_apply_to_the_admin_api_in_its_own_error_format(pull_world):
    from simulator.faults import FaultInjector
    from simulator.lms.graph_pull import create_app
    from simulator.lms.graph_pull.app import GraphPullConfig
    from simulator.serving import start_in_thread

    world = pull_world()
    faults = FaultInjector(clock=world.lms.clock)
    faults.add(surface="lms", path="/api/accounts", kind="unavailable", retry_after=3, first=1)
    with start_in_thread(create_app(world.lms, faults=faults, config=GraphPullConfig(clock_control=False))) as server:
        headers = {"Authorization": f"Bearer {world.admin_token}"}
        first = requests.get(f"{server.url}/api/accounts", headers=headers, timeout=10)
        assert first.status_code == 503 and first.headers["Retry-After"] == "3"
        assert "unavailable" in first.json()["error"]
        assert requests.get(f"{server.url}/api/accounts", headers=headers, timeout=10).status_code == 200
        refused = requests.post(f"{server.url}/api/clock/advance", headers=headers, json={"days": 1}, timeout=10)
        assert refused.status_code == 403 and "shared" in refused.json()["error"]
    assert world.lms.clock.now().isoformat() == "2026-01-15T09:00:00+00:00"


def test_a_failed_imports_log_seq_leads_to_the_response_behind_it(pull_world):
    world = pull_world()
    unknown_group = "00000000-0000-4000-8000-000000000000"
    failed = world.call("POST", "/imports", json={"connection_id": world.connection_id, "group_id": unknown_group})
    detail = failed.json()["error_detail"]
    entry = world.call("GET", f"/import-log/{detail['log_seq']}")
    assert entry.status_code == 200
    assert entry.json()["import_id"] == failed.json()["id"] and entry.json()["status"] == detail["status"] == 404
    assert entry.json()["error_code"] == "Request_ResourceNotFound"
    assert entry.json()["correlation_id"] == detail["correlation_id"]
    missing = world.call("GET", "/import-log/999")
    assert (missing.status_code, missing.json()) == (404, {"error": "import log entry '999' does not exist"})
    assert world.call("GET", "/import-log/first").status_code == 400


def test_the_state_export_says_who_is_calling(pull_world):
    world = pull_world()
    world.lms.add_account("second@lms.example", "second@lms.example", role="admin")
    token = world.lms.issue_token("second@lms.example")
    state = world.call("GET", "/state", token=token).json()
    assert state["caller"] == {"login": "second@lms.example", "email": "second@lms.example", "role": "admin",
                               "status": "enabled", "is_admin": True}
    assert {a["login"] for a in state["accounts"]} == {ADMIN, "second@lms.example"}
    assert world.call("GET", "/state").json()["caller"]["login"] == ADMIN


def test_the_last_enabled_admin_cannot_demote_or_disable_itself_by_hand(pull_world):
    world = pull_world()
    for change in ({"role": "user"}, {"status": "disabled"}):
        refused = world.call("PATCH", f"/accounts/{ADMIN}", json=change)
        assert refused.status_code == 409 and "last enabled administrator" in refused.json()["error"]
    assert world.call("GET", "/me").json()["is_admin"] is True
    world.call("POST", "/accounts", json={"login": "deputy@lms.example", "email": "deputy@lms.example",
                                          "role": "admin"})
    demoted = world.call("PATCH", f"/accounts/{ADMIN}", json={"role": "user"})
    assert demoted.status_code == 200 and demoted.json()["role"] == "user"
    assert world.call("GET", "/accounts").json() == {"error": "Action unauthorized"}


def test_clock_moves_out_of_range_are_refused_and_leave_the_clock_alone(pull_world):
    world = pull_world()
    for body, message in (({"days": 1e12}, "0 to 3650 days"), ({"days": 4000}, "got 4000 days"),
                          ({"hours": -1}, "at least 0"), ({"minutes": "5"}, "'minutes' must be a number")):
        resp = world.call("POST", "/clock/advance", json=body)
        assert resp.status_code == 400 and message in resp.json()["error"], (body, resp.text)
    nan = world.call("POST", "/clock/advance", data='{"days": NaN}', headers={"Content-Type": "application/json"})
    assert nan.status_code == 400
    assert world.call("GET", "/clock").json() == {"now": "2026-01-15T09:00:00Z"}


def test_a_connection_that_cannot_work_is_refused_when_configured(pull_world, tmp_path):
    world = pull_world()
    base = {"tenant_id": "t", "client_id": "c", "client_secret": "s"}
    for extra, message in (({"ca_bundle": str(tmp_path / "missing.pem")}, "'ca_bundle' must name a readable PEM file"),
                           ({"graph_url": "https://exa mple/v1.0"}, "'graph_url' must be an http(s) URL with a host"),
                           ({"authority_host": "http://[::1"}, "'authority_host' must be an http(s) URL with a host"),
                           ({"authority_host": "https://"}, "'authority_host' must be an http(s) URL with a host")):
        resp = world.call("POST", "/connections", json={**base, **extra})
        assert resp.status_code == 400 and message in resp.json()["error"], (extra, resp.text)
    assert [c["id"] for c in world.call("GET", "/connections").json()["connections"]] == [world.connection_id]


def test_a_new_department_is_listed_not_enrolled_and_enrolled_over_http(pull_world):
    world = pull_world()
    world.import_group(world.group("Staff", world.user("ann", department="Sales / EMEA")))
    listed = world.call("GET", "/departments").json()["departments"]
    assert [(d["name"], d["created_by"], d["enrolled"]) for d in listed] == [("Sales / EMEA", "azure", False)]

    enrolled = world.call("POST", f"/departments/{quote('Sales / EMEA', safe='')}/enroll")

    assert enrolled.status_code == 200 and enrolled.json()["enrolled"] is True
    assert world.call("GET", "/departments").json()["departments"][0]["enrolled"] is True
    assert world.call("POST", "/departments/Nowhere/enroll").json() == {"error": "department 'Nowhere' does not exist"}
