"""``entrasim serve lms --kind graph-pull`` as a user runs it: a real process pointed at the Graph mock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests
from cli_process import start_entrasim, wait_for_info
from click.testing import CliRunner

from simulator.cli import main
from simulator.clock import Clock
from simulator.tenant import Tenant

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.Popen:
    return start_entrasim("serve", "lms", *args, drop_env=("ENTRASIM_CLIENT_SECRET",))


def test_serve_graph_pull_imports_from_the_graph_mock_and_stops_on_sigterm(tmp_path, graph_server):
    tenant = Tenant(seed=5, clock=Clock.frozen_at("2026-01-15T09:00:00Z"))
    tenant.register_application("2LRN4 connector")
    ann = tenant.create_user(userPrincipalName="ann@contoso.onmicrosoft.com", mail="ann@contoso.com")
    group = tenant.create_group(displayName="Staff", members=[ann.id])
    graph = graph_server(tenant)
    graph_info = tmp_path / "graph.json"
    graph_info.write_text(json.dumps(graph.info))
    info_file = tmp_path / "lms.json"

    proc = _run("--kind", "graph-pull", "--port", "0", "--graph-info", str(graph_info), "--info-file", str(info_file))
    try:
        info = wait_for_info(info_file, proc)
        headers = {"Authorization": f"Bearer {info['admin_token']}"}
        result = requests.post(f"{info['api_url']}/imports", headers=headers, timeout=30,
                               json={"connection_id": info["connection_id"], "group_id": group.id}).json()
        assert result["status"] == "succeeded" and result["created"] == ["ann@contoso.onmicrosoft.com"]
        me = requests.get(f"{info['api_url']}/me", headers=headers, timeout=10).json()
        assert me["account"]["login"] == "admin@lms.example" and me["role"] == "admin"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert info["api_url"] in out
    for secret in (info["admin_token"], graph.client_secret):
        assert secret not in out and secret not in err


def test_serve_graph_pull_refuses_bad_options_with_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("ENTRASIM_CLIENT_SECRET", raising=False)
    cases = [
        (("--tenant-id", "t"), "needs --client-id"),
        (("--admin-token", "short"), "at least 16 characters"),
        (("--graph-info", str(tmp_path / "missing.json")), "cannot read --graph-info"),
        (("--port", "70000"), "--port must be between 0 and 65535"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(main, ["serve", "lms", "--kind", "graph-pull", *args])
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("entrasim: error: ") and message in result.stderr
        assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_serve_lms_without_kind_is_still_the_scim_server(tmp_path):
    info_file = tmp_path / "scim.json"
    proc = _run("--port", "0", "--info-file", str(info_file))
    try:
        info = wait_for_info(info_file, proc)
        assert info["kind"] == "scim" and info["base_url"].endswith("/scim/v2")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)


def test_serve_lms_names_both_kinds_and_refuses_an_unknown_one(tmp_path):
    unknown = CliRunner().invoke(main, ["serve", "lms", "--kind", "moodle"])
    assert unknown.exit_code == 2 and unknown.stdout == ""
    assert unknown.stderr == "entrasim: error: --kind must be one of scim, graph-pull, got 'moodle'\n"
    helped = CliRunner().invoke(main, ["serve", "lms", "--help"])
    assert helped.exit_code == 0 and "--kind graph-pull" in helped.stdout and "--profile" in helped.stdout
    pull_help = CliRunner().invoke(main, ["serve", "lms", "--kind", "graph-pull", "--help"])
    assert "--graph-info" in pull_help.stdout and "ENTRASIM_LMS_ADMIN_TOKEN" in pull_help.stdout


def test_a_graph_info_file_without_connection_details_is_refused(tmp_path):
    wrong_file = tmp_path / "lms.json"  # e.g. the LMS's own info file instead of the Graph mock's
    wrong_file.write_text(json.dumps({"url": "http://127.0.0.1:1", "admin_token": "x" * 20}))
    result = CliRunner().invoke(main, ["serve", "lms", "--kind", "graph-pull", "--graph-info", str(wrong_file)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "no tenant_id, client_id, client_secret, authority_host, graph_url" in result.stderr


def test_the_admin_token_can_come_from_the_environment(tmp_path):
    info_file = tmp_path / "lms.json"
    token = "env-token-0123456789abcdef"
    env = dict(os.environ, PYTHONPATH=str(ROOT), ENTRASIM_LMS_ADMIN_TOKEN=token)
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "serve", "lms", "--kind", "graph-pull",
                             "--info-file", str(info_file)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        info = wait_for_info(info_file, proc)
        me = requests.get(f"{info['api_url']}/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert me.status_code == 200 and me.json()["is_admin"] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert token not in out and token not in err
