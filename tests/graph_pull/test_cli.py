"""``entrasim serve lms --kind graph-pull`` as a user runs it: a real process pointed at the Graph mock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from click.testing import CliRunner

from simulator.cli import main
from simulator.clock import Clock
from simulator.tenant import Tenant

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("ENTRASIM_CLIENT_SECRET", None)
    return subprocess.Popen([sys.executable, "-m", "simulator.cli", "serve", "lms", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        if proc.poll() is not None:
            raise AssertionError(f"the server exited early: {proc.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError("no info file")


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
        info = _wait_for(info_file, proc)
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
        info = _wait_for(info_file, proc)
        assert info["kind"] == "scim" and info["base_url"].endswith("/scim/v2")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
