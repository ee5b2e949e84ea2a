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
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
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
    assert result.exit_code == 2 and "invalid.yaml:2: steps: needs at least 1 item(s)" in result.output


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


def test_target_runs_push_scenarios_against_another_scim_server(tmp_path, entrasim_scim_lms):
    external = entrasim_scim_lms("entra-tolerant")
    ok = write(tmp_path, "ok.yaml", PASSING)
    keyed = write(tmp_path, "keyed.yaml", PASSING.replace("job:\n", "target:\n  lms: {profile: email-keyed}\njob:\n")
                  .replace("scenario: one-learner", "scenario: one-learner-keyed"))
    report = tmp_path / "report.json"
    result = scenario_cli("run", str(ok), str(keyed), "--target", external.base_url, "--token", external.job_token,
                          "--json", str(report))
    assert result.exit_code == 0, result.output
    statuses = {s["name"]: s["status"] for s in json.loads(report.read_text())["scenarios"]}
    assert statuses == {"one-learner": "passed", "one-learner-keyed": "skipped"}
    assert external.store.count("User") == 0  # what the scenario created was removed afterwards
