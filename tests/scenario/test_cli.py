"""`entrasim scenario run | list | validate` as a user runs them, exit codes and report files included."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

from click.testing import CliRunner

from simulator.cli import main
from simulator.scenario.runner import catalogue_dir, discover

from .helpers import FAILING, PASSING, write


def scenario_cli(*args: str):
    return CliRunner().invoke(main, ["scenario", *args])


def test_run_without_paths_passes_the_whole_catalogue(tmp_path):
    """README's main job, in a subprocess started outside the repository: the catalogue is found as installed."""
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "simulator.cli", "scenario", "run", "--json", str(report)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    data = json.loads(report.read_text())
    assert data["totals"]["passed"] == data["totals"]["total"] == len(discover([catalogue_dir()])) >= 27
    assert "passed in" in done.stdout


def test_exit_codes_and_report_files(tmp_path):
    ok, bad = write(tmp_path, "ok.yaml", PASSING), write(tmp_path, "bad.yaml", FAILING)
    junit, html, report = tmp_path / "junit.xml", tmp_path / "report.html", tmp_path / "report.json"
    result = scenario_cli("run", str(ok), str(bad), "--junit", str(junit), "--html", str(html), "--json", str(report))
    assert result.exit_code == 1, result.output
    assert "expects-the-wrong-name" in result.output and "expected: \"Anna\"" in result.output
    assert ET.parse(junit).getroot().find("testsuite").get("failures") == "1"
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert json.loads(report.read_text())["totals"]["failed"] == 1
    assert scenario_cli("run", str(ok)).exit_code == 0
    invalid = write(tmp_path, "invalid.yaml", "scenario: broken\nsteps: []\n")
    result = scenario_cli("run", str(ok), str(invalid))
    assert result.exit_code == 2 and "invalid.yaml:2: steps: needs at least 1 item" in result.output


def test_k_selects_by_file_name(tmp_path):
    write(tmp_path, "ok.yaml", PASSING)
    write(tmp_path, "bad.yaml", FAILING)
    result = scenario_cli("run", str(tmp_path), "-k", "ok")
    assert result.exit_code == 0 and "one-learner" in result.output and "expects-the-wrong-name" not in result.output
    result = scenario_cli("run", str(tmp_path), "-k", "nothing-like-this")
    assert result.exit_code == 2 and "entrasim: error: no scenario files found matching -k nothing-like-this" in result.output


def test_bad_options_are_one_line_errors(tmp_path):
    result = scenario_cli("run", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 2 and "entrasim: error: no such file or directory" in result.output
    result = scenario_cli("run", "--target", "ftp://example", "--token", "t")
    assert result.exit_code == 2 and "--target must be an http(s) SCIM base URL" in result.output
    assert scenario_cli("run", "--target", "http://127.0.0.1:9/scim").exit_code == 2


def test_validate_and_list(tmp_path):
    ok = write(tmp_path, "ok.yaml", PASSING)
    invalid = write(tmp_path, "invalid.yaml", PASSING.replace("cycle: {}", "cycle: {mode: sometimes}"))
    result = scenario_cli("validate", str(ok))
    assert result.exit_code == 0 and "ok.yaml: ok" in result.output
    result = scenario_cli("validate", str(invalid))
    assert result.exit_code == 2 and "invalid.yaml:9: steps[0].cycle.mode" in result.output
    listed = scenario_cli("list")
    assert listed.exit_code == 0 and "admin-lockout" in listed.output and "credentials-revoked-quarantine" in listed.output


#: Links to a group the target already holds (seeded over SCIM, whatever the target), then checks it.
SEEDED_GROUP = """\
scenario: seeded-group-linked
tenant:
  users:
    - {upn: ann@contoso.com, givenName: Ann, surname: Lee, mail: ann@contoso.com}
  groups:
    - {displayName: Sales Team, members: [ann@contoso.com], assigned: true}
target:
  lms:
    resources:
      Groups:
        - {schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: Sales Team}
job:
  preset: customappsso
steps:
  - cycle: {}
    expect:
      - lms_group: {displayName: Sales Team, count: 1, members: [ann@contoso.com]}
      - requests: {server: lms, method: POST, path: /Groups, count: 0}
      - requests: {server: lms, method: PATCH, path: /Groups/, status: 204, min: 1}
"""


def test_target_runs_push_scenarios_against_another_scim_server(tmp_path, entrasim_scim_lms):
    external = entrasim_scim_lms("entra-tolerant")
    ok = write(tmp_path, "ok.yaml", PASSING)
    seeded = write(tmp_path, "seeded.yaml", SEEDED_GROUP)
    keyed = write(tmp_path, "keyed.yaml", PASSING.replace("job:\n", "target:\n  lms: {profile: email-keyed}\njob:\n")
                  .replace("scenario: one-learner", "scenario: one-learner-keyed"))
    revoked = write(tmp_path, "revoked.yaml", PASSING.replace("scenario: one-learner", "scenario: token-revoked")
                    + "  - revoke_lms_token: job\n")
    report, html = tmp_path / "report.json", tmp_path / "report.html"
    result = scenario_cli("run", str(ok), str(seeded), str(keyed), str(revoked), "--target", external.base_url + "/",
                          "--token", external.job_token, "--json", str(report), "--html", str(html),
                          "-j", "2")  # both create ann@contoso.com there: they take turns
    assert result.exit_code == 0, result.output
    scenarios = {s["name"]: s for s in json.loads(report.read_text())["scenarios"]}
    assert {name: s["status"] for name, s in scenarios.items()} == {
        "one-learner": "passed", "seeded-group-linked": "passed", "one-learner-keyed": "skipped",
        "token-revoked": "skipped"}
    assert scenarios["one-learner-keyed"]["message"] == "not for --target: it needs our LMS's 'email-keyed' profile"
    assert scenarios["token-revoked"]["message"] == (
        "not for --target: step 2 'revoke_lms_token' (line 13) is an action of our LMS's own admin (revoke_lms_token)")
    assert "not for --target: it needs our LMS&#x27;s &#x27;email-keyed&#x27; profile" in html.read_text()
    # what the scenarios created there, the seeded group included, was removed afterwards
    assert external.store.count("User") == 0 and external.store.count("Group") == 0
    assert external.job_token not in result.output + report.read_text()


def test_validate_without_paths_checks_the_catalogue_and_reports_go_to_existing_directories(tmp_path):
    result = scenario_cli("validate")
    assert result.exit_code == 0 and "17b-default-dialect-each-quirk.yaml: ok" in result.output
    assert "rfc-but-any-op-case.profile.yaml" not in result.output  # a profile file, not a scenario
    result = scenario_cli("run", str(write(tmp_path, "ok.yaml", PASSING)), "--json", str(tmp_path / "no" / "r.json"))
    assert result.exit_code == 2
    assert "entrasim: error: cannot write" in result.output and "its directory does not exist" in result.output
    assert "one-learner" not in result.output  # refused before running anything


def test_a_target_named_in_the_file_is_cleaned_up_too(tmp_path, entrasim_scim_lms):
    external = entrasim_scim_lms("entra-tolerant")
    text = PASSING.replace("job:\n", "target:\n  external: {url: '${env.MY_SCIM_URL}', token: '${env.MY_SCIM_TOKEN}'}\njob:\n")
    path = write(tmp_path, "external.yaml", text)
    result = CliRunner().invoke(main, ["scenario", "run", str(path)],
                                env={"MY_SCIM_URL": external.base_url, "MY_SCIM_TOKEN": external.job_token})
    assert result.exit_code == 0, result.output
    assert "1 passed" in result.output
    assert external.store.count("User") == 0
