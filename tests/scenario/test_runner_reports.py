"""Running scenarios: a failure names its step, expected against actual, and the HTTP exchanges behind it."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from simulator.scenario.reporters import failure_text, render_html, render_junit
from simulator.scenario.runner import run_file, run_files

from .helpers import FAILING, PASSING, write


def test_a_passing_scenario_passes(tmp_path):
    result = run_file(write(tmp_path, "ok.yaml", PASSING)).as_dict()
    assert result["status"] == "passed", failure_text(result)
    assert result["steps"][0]["status"] == "passed"


def test_a_scenario_written_to_fail_fails_at_its_step_with_expected_and_actual(tmp_path):
    result = run_file(write(tmp_path, "bad.yaml", FAILING)).as_dict()
    assert result["status"] == "failed"
    assert result["failedStep"] == 2
    step = result["steps"][1]
    assert (step["name"], step["line"], step["expectation"]) == ("check the name", 9, "lms_user (line 12)")
    assert step["mismatches"] == [{"what": "user with userName 'ann@contoso.com': name.givenName",
                                   "expected": "Anna", "actual": "Ann"}]
    assert result["steps"][2]["status"] == "not run"  # a failed step ends the scenario


def test_the_exchanges_behind_a_failure_are_shown_without_credentials(tmp_path):
    text = FAILING.replace("  - cycle: {}\n  - name: check the name\n    expect:\n",
                           "  - name: check the name\n    cycle: {}\n    expect:\n", 1)
    result = run_file(write(tmp_path, "bad.yaml", text)).as_dict()
    step = result["steps"][result["failedStep"] - 1]
    posts = [e for e in step["exchanges"] if e["method"] == "POST" and e["path"].endswith("/Users")]
    assert posts and posts[0]["status"] == 201 and '"userName":"ann@contoso.com"' in posts[0]["request"]
    # the expectations' own reads are not part of the step's traffic
    assert not any("startIndex" in e["path"] for e in step["exchanges"])
    text_report = failure_text(result)
    assert "expected: \"Anna\"" in text_report and "actual:   \"Ann\"" in text_report
    assert "lms: POST /scim/v2/Users -> 201" in text_report
    assert not re.search(r"Bearer [A-Za-z0-9_-]{10,}", json.dumps(result))


def test_an_unexpected_refusal_fails_the_step_and_an_expected_one_passes(tmp_path):
    refused = PASSING.replace("  - cycle: {}\n    expect:\n      - cycle: {state: Succeeded}\n",
                              "  - unassign: nobody@contoso.com\n    expect:\n")
    result = run_file(write(tmp_path, "refused.yaml", refused)).as_dict()
    assert result["status"] == "failed"
    assert result["steps"][0]["mismatches"][0]["expected"] == "to succeed"
    assert "nobody@contoso.com" in result["steps"][0]["mismatches"][0]["actual"]
    expected = refused.replace("    expect:\n      - lms_user", "    expect:\n      - error: {contains: nobody@contoso.com}\n      - lms_count: {users: 0}\n      - lms_user")
    expected = expected.replace("{userName: ann@contoso.com, attributes: {active: true, name.givenName: Ann}}",
                                "{userName: ann@contoso.com, exists: false}")
    assert run_file(write(tmp_path, "expected.yaml", expected)).status == "passed"


def test_an_invalid_file_is_reported_not_raised(tmp_path):
    result = run_file(write(tmp_path, "invalid.yaml", PASSING.replace("preset: customappsso", "preset: nope"))).as_dict()
    assert result["status"] == "invalid"
    assert any(":7: job.preset:" in p for p in result["problems"])


def test_reports_render_from_the_json_and_are_well_formed(tmp_path):
    files = [write(tmp_path, "a-ok.yaml", PASSING), write(tmp_path, "b-bad.yaml", FAILING),
             write(tmp_path, "c-invalid.yaml", "scenario: c\nsteps: []\n")]
    report = run_files(files)
    assert report["totals"] == {"passed": 1, "failed": 1, "error": 0, "skipped": 0, "invalid": 1, "total": 3}
    assert json.loads(json.dumps(report)) == report

    suite = ET.fromstring(render_junit(report)).find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert cases["one-learner"].find("failure") is None
    assert "name.givenName" in cases["expects-the-wrong-name"].find("failure").text

    html = render_html(report)
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert not re.search(r"(src|href)=\"https?://", html)
    assert "expects-the-wrong-name" in html and "&quot;Anna&quot;" in html


def test_a_generated_tenant_provisions_clean_into_a_strict_server(tmp_path):
    text = """\
scenario: generated-tenant
tenant:
  generate: {users: 60, groups: 4, seed: 3}
target:
  lms: {profile: rfc}
job:
  dialect: aadOptscim062020
steps:
  - cycle: {}
    expect:
      - cycle: {state: Succeeded}
      - no_duplicates: {resource: Users, key: userName}
  - cycle: {}
    expect:
      - cycle: {state: Succeeded, counts: {create.success: 0, update.success: 0}}
"""
    result = run_file(write(tmp_path, "generated.yaml", text)).as_dict()
    assert result["status"] == "passed", failure_text(result)


def test_a_new_client_secret_for_a_job_that_does_not_read_graph_is_a_clear_step_failure(tmp_path):
    text = PASSING + "  - edit_job: {client_secret: some-new-secret-value}\n"
    result = run_file(write(tmp_path, "secret.yaml", text)).as_dict()
    assert result["status"] == "failed" and result["failedStep"] == 2
    assert "edit_job.client_secret: this job reads the tenant in-process, not through Graph" in \
        result["steps"][1]["mismatches"][0]["actual"]


def test_a_failing_pull_side_scenario_shows_what_the_admin_read_and_the_graph_exchanges(tmp_path):
    text = """\
scenario: import-expected-to-succeed
tenant:
  users:
    - {upn: ann@contoso.com, givenName: Ann, surname: Lee, mail: ann@contoso.com}
  groups:
    - {key: staff, displayName: Staff, members: [ann@contoso.com]}
  apps:
    - {key: connector, name: 2LRN4 connector}
pull_lms:
  app: connector
faults:
  - {server: graph, path: '/v1.0/groups/*/members/*', kind: gateway_timeout}
steps:
  - pull_import: {group: staff}
    expect:
      - pull_import: {status: succeeded}
"""
    result = run_file(write(tmp_path, "pull.yaml", text)).as_dict()
    assert result["status"] == "failed"
    step = result["steps"][0]
    assert step["mismatches"][0]["expected"] == "succeeded"
    assert step["mismatches"][0]["actual"] == "failed (the admin reads: Error 504 Gateway Time-out)"
    timeouts = [e for e in step["exchanges"] if e["server"] == "graph" and e["status"] == 504]
    assert timeouts and "/members/" in timeouts[0]["path"] and "504 Gateway Time-out" in timeouts[0]["response"]
    assert "graph: GET /v1.0/groups/" in failure_text(result)


def test_variables_reach_the_tenant_and_a_graph_call_without_an_app_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("ENTRASIM_TEST_MAIL", "ann.lee@contoso.com")
    text = PASSING.replace("mail: ann@contoso.com", "mail: '${env.ENTRASIM_TEST_MAIL}', jobTitle: '${title}'")
    text = text.replace("tenant:\n", "variables: {title: Coach}\ntenant:\n")
    text = text.replace("name.givenName: Ann}", "name.givenName: Ann, emails.value: ann.lee@contoso.com, title: Coach}")
    result = run_file(write(tmp_path, "vars.yaml", text)).as_dict()
    assert result["status"] == "passed", failure_text(result)

    monkeypatch.delenv("ENTRASIM_TEST_MAIL")
    result = run_file(write(tmp_path, "vars.yaml", text)).as_dict()
    assert result["status"] == "error"
    assert result["message"] == ("cannot set the scenario up: environment variable ENTRASIM_TEST_MAIL is not set "
                                 "(referenced as ${env.ENTRASIM_TEST_MAIL})")

    graph_call = PASSING + "  - http: {server: graph, as: app, method: GET, path: /v1.0/users}\n"
    result = run_file(write(tmp_path, "graph.yaml", graph_call)).as_dict()
    assert result["status"] == "error" and result["failedStep"] == 2
    assert result["steps"][1]["error"] == "no app is registered in this scenario's tenant (declare one under tenant.apps)"


def test_a_long_step_keeps_its_last_exchanges_and_says_how_many_it_left_out(tmp_path):
    text = """\
scenario: many-users-one-wrong-count
tenant:
  generate: {users: 20, groups: 1, seed: 5}
job:
  scope: all
steps:
  - cycle: {}
    expect:
      - lms_count: {users: 1000}
"""
    result = run_file(write(tmp_path, "many.yaml", text)).as_dict()
    step = result["steps"][0]
    assert result["status"] == "failed" and len(step["exchanges"]) == 12 and step["exchangesOmitted"] > 12
    total = 12 + step["exchangesOmitted"]
    assert f"HTTP exchanges of the step, oldest first (the last 12 of {total}):" in failure_text(result)
    assert f"HTTP exchanges of the step (the last 12 of {total})" in render_html(run_files_report(result))


def run_files_report(scenario: dict) -> dict:
    return {"totals": {"failed": 1, "total": 1}, "durationSeconds": 0.0, "target": "embedded mocks",
            "started": "2026-01-15T09:00:00Z", "scenarios": [scenario]}


def test_a_users_own_job_file_is_the_base_its_dialect_flag_included(tmp_path, monkeypatch):
    from simulator.provisioning.job import preset_text

    job_text = preset_text("customappsso").replace("tenantUrl: https://localhost:8443/scim/v2",
                                                   "tenantUrl: https://lms.example/scim/v2?aadOptscim062020", 1)
    assert "?aadOptscim062020" in job_text
    write(tmp_path, "my-job.yaml", job_text)
    text = """\
scenario: my-job-on-a-strict-server
tenant:
  users:
    - {upn: ann@contoso.com, givenName: Ann, surname: Lee, mail: ann@contoso.com, assigned: true}
target:
  lms: {profile: rfc}
job:
  file: my-job.yaml
steps:
  - cycle: {}
  - disable_user: ann@contoso.com
  - cycle: {}
    expect:
      - cycle: {state: Succeeded}
      - lms_user: {userName: ann@contoso.com, attributes: {active: false}}
"""
    scenario = write(tmp_path, "mine.yaml", text)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # the job file is found next to the scenario, not in the cwd
    result = run_file(scenario).as_dict()
    assert result["status"] == "passed", failure_text(result)

    write(tmp_path, "my-job.yaml", job_text.replace("?aadOptscim062020", ""))
    result = run_file(scenario).as_dict()
    assert result["status"] == "failed" and result["failedStep"] == 3  # the default dialect's "False" is refused
