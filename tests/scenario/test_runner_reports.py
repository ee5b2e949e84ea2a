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
