"""`entrasim serve graph` as a user runs it: a subprocess, an info file, real clients, a clean stop."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import msal
import pytest
import requests
from cli_process import wait_for_info

CLI = [sys.executable, "-m", "simulator.cli"]


@pytest.fixture(params=["cheroot", "granian"])
def served(tmp_path: Path, request):
    info_file = tmp_path / "graph.json"
    proc = subprocess.Popen(
        CLI + ["serve", "graph", "--users", "60", "--groups", "6", "--seed", "7", "--tls", "--cert-dir", str(tmp_path / "certs"),
               "--control", "--info-file", str(info_file), "--quiet", "--server", request.param],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc, wait_for_info(info_file, proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_info_file_gives_clients_everything_they_need(served):
    proc, info = served
    for key in ("authority_host", "tenant_id", "client_id", "client_secret", "client_secret_id", "graph_url", "ca_bundle", "control_url"):
        assert info.get(key), key
    session = requests.Session()
    session.trust_env = False
    session.verify = info["ca_bundle"]
    app = msal.ConfidentialClientApplication(info["client_id"], client_credential=info["client_secret"],
                                             authority=f"{info['authority_host']}/{info['tenant_id']}",
                                             instance_discovery=False, http_client=session)
    result = app.acquire_token_for_client(scopes=[info["scope"]])
    assert "access_token" in result, result
    users = session.get(f"{info['graph_url']}/users", params={"$top": "999"},
                        headers={"Authorization": f"Bearer {result['access_token']}"})
    assert users.status_code == 200
    assert len(users.json()["value"]) == 60
    health = session.get(f"{info['control_url']}/health")
    assert health.status_code == 200


def test_secret_never_printed_and_sigterm_stops_cleanly(served):
    proc, info = served
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert info["client_secret"] not in out + err
    assert info["graph_url"].rsplit("/v1.0", 1)[0] in out
    assert "stopped" in err


def test_same_seed_same_tenant(tmp_path: Path):
    """Two servers from one seed serve the same tenant id and app registration."""
    infos = []
    for name in ("a", "b"):
        info_file = tmp_path / f"{name}.json"
        proc = subprocess.Popen(CLI + ["serve", "graph", "--users", "5", "--groups", "1", "--seed", "11", "--info-file", str(info_file), "--quiet"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            infos.append(wait_for_info(info_file, proc))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    assert infos[0]["tenant_id"] == infos[1]["tenant_id"]
    assert infos[0]["client_id"] == infos[1]["client_id"]
    assert infos[0]["client_secret"] == infos[1]["client_secret"]


@pytest.mark.parametrize("args, message", [
    (["--port", "70000"], "70000"),
    (["--tenant-file", "/nonexistent/tenant.json"], "cannot load tenant file"),
    (["--users", "-3"], "-3"),
])
def test_bad_input_is_one_line_and_nonzero(args, message):
    proc = subprocess.run(CLI + ["serve", "graph", "--quiet"] + args, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(lines) <= 3  # click's usage line + the error, never a traceback


def test_port_in_use_is_reported(tmp_path: Path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = subprocess.run(CLI + ["serve", "graph", "--quiet", "--users", "1", "--groups", "0", "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("entrasim: error: cannot bind 127.0.0.1:")
