"""`entrasim load`: locust as a subprocess, mocks started and stopped around it, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys


def entrasim(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator.cli", *args], capture_output=True, text=True,
                          timeout=180, cwd=cwd, check=False)


def test_initial_sync_starts_our_scim_lms_and_reports_pass(tmp_path):
    result = entrasim("load", "initial-sync", "--users-total", "200", "--groups-total", "4", "--users", "2",
                      "--run-time", "60s", "--summary-json", str(tmp_path / "s.json"), "--csv", str(tmp_path / "r"),
                      "--", "--ceiling-seconds", "0", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["verdict"] == "PASS"
    assert summary["counters"]["users_created"] == 200
    assert (tmp_path / "r_stats.csv").exists()
    assert "SCIM LMS (entra-tolerant, granian)" in result.stderr
    # both sides' CPU per request: the load generator's and the SCIM LMS's (its processes: granian forks a worker)
    assert summary["client"]["cpuMsPerRequest"] > 0
    assert summary["target"]["what"] == "SCIM LMS (entra-tolerant, granian)"
    assert summary["target"]["cpuMsPerRequest"] > 0
    assert summary["target"]["requests"] >= summary["counters"]["requests"]
    assert "target, SCIM LMS (entra-tolerant, granian): " in result.stdout


def test_fewer_users_than_processes_is_a_one_line_error(tmp_path):
    result = entrasim("load", "initial-sync", "--target", "http://127.0.0.1:9/scim", "--token", "t", "--users", "1",
                      "--processes", "2", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        ("entrasim: error: --users (1) must be at least --processes (2): every worker process needs a Locust user "
         "to work its shard")]


def test_a_target_without_a_token_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("ENTRASIM_SCIM_TOKEN", raising=False)
    result = entrasim("load", "incremental", "--target", "http://127.0.0.1:9/scim", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == ("entrasim: error: --target needs a token: --token or the ENTRASIM_SCIM_TOKEN "
                                     "environment variable")


def test_an_unreachable_target_is_one_line_and_exit_code_2(tmp_path):
    result = entrasim("load", "initial-sync", "--target", "http://127.0.0.1:9/scim", "--token", "t", "--users", "2",
                      "--processes", "2", "--users-total", "10", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert errors == [("entrasim: error: the SCIM target at http://127.0.0.1:9/scim failed Entra's test connection: "
                       "GET /Users failed: HTTPConnection(host='127.0.0.1', port=9): Failed to establish a new "
                       "connection: [Errno 111] Connection refused")]
    assert "Traceback" not in result.stderr
