"""``entrasim serve lms --server granian``: the fast server, as a user runs it.

granian forks one worker that holds all the LMS's state, so these tests check
what could break in that arrangement: state kept across requests and
connections, the control API in the same process, clean shutdown of both
processes, a taken port, TLS, and the fault rules granian cannot honour
refused with a reason instead of silently misbehaving.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest
import requests
from cli_process import ROOT, start_entrasim, wait_for_info


def _stop(proc: subprocess.Popen) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.fixture
def granian_lms(tmp_path):
    info_file = tmp_path / "lms.json"
    proc = start_entrasim("serve", "lms", "--server", "granian", "--profile", "entra-tolerant", "--control",
                          "--info-file", str(info_file))
    try:
        info = wait_for_info(info_file, proc)
        yield info, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_state_is_kept_across_requests_and_connections_and_sigterm_stops_both_processes(granian_lms):
    info, proc = granian_lms
    headers = {"Authorization": f"Bearer {info['token']}", "Content-Type": "application/scim+json"}
    with requests.Session() as session:
        created = session.post(info["base_url"] + "/Users", headers=headers, timeout=10, json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@contoso.com", "active": True})
        assert created.status_code == 201
        assert created.headers["Location"].endswith("/Users/" + created.json()["id"])
    # a new connection sees what the first one created: one process holds the state
    found = requests.get(info["base_url"] + "/Users", params={"filter": 'userName eq "ada@contoso.com"'},
                         headers=headers, timeout=10)
    assert found.status_code == 200 and found.json()["totalResults"] == 1
    log = requests.get(info["control_url"] + "/requests", timeout=10).json()
    assert [(e["method"], e["status"]) for e in log["value"]][-2:] == [("POST", 201), ("GET", 200)]
    port = int(info["base_url"].split(":")[2].split("/")[0])

    out, err = _stop(proc)
    assert proc.returncode == 0
    assert "on granian" in out and info["base_url"] in out
    assert info["token"] not in out + err
    assert "entrasim: stopped" in err
    with pytest.raises(OSError):  # the worker went with its supervisor: nothing listens any more
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_connection_faults_are_refused_with_the_reason_and_status_faults_work(granian_lms):
    info, _ = granian_lms
    faults = info["control_url"] + "/faults"
    for rule in ({"drop": True}, {"kind": "custom", "truncate": 10}):
        refused = requests.post(faults, json=rule, timeout=10)
        assert refused.status_code == 400
        assert "--server cheroot" in refused.json()["error"]["message"]
    assert requests.get(faults, timeout=10).json()["value"] == []

    added = requests.post(faults, json={"kind": "throttled", "retry_after": 7, "first": 1}, timeout=10)
    assert added.status_code == 201
    headers = {"Authorization": f"Bearer {info['token']}"}
    throttled = requests.get(info["base_url"] + "/Users", headers=headers, timeout=10)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert requests.get(info["base_url"] + "/Users", headers=headers, timeout=10).status_code == 200


def test_tls_with_the_generated_ca(tmp_path):
    info_file = tmp_path / "lms.json"
    proc = start_entrasim("serve", "lms", "--server", "granian", "--tls", "--cert-dir", str(tmp_path / "certs"),
                          "--info-file", str(info_file))
    try:
        info = wait_for_info(info_file, proc)
        assert info["base_url"].startswith("https://localhost:")
        resp = requests.get(info["base_url"] + "/ServiceProviderConfig", verify=info["ca_bundle"],
                            headers={"Authorization": f"Bearer {info['token']}"}, timeout=10)
        assert resp.status_code == 200 and resp.json()["patch"]["supported"] is True
    finally:
        _stop(proc)
    assert proc.returncode == 0


def test_a_taken_port_is_one_line_and_a_nonzero_exit():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = start_entrasim("serve", "lms", "--server", "granian", "--port", str(port))
        out, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert err.strip().splitlines() == [f"entrasim: error: cannot bind 127.0.0.1:{port}: Address already in use"]


def test_the_worker_ends_when_its_supervisor_is_killed_outright(granian_lms):
    info, proc = granian_lms
    port = int(info["base_url"].split(":")[2].split("/")[0])
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    proc.kill()  # SIGKILL: granian's own shutdown never runs
    proc.communicate(timeout=20)  # returns only once the worker has closed the pipes it inherited
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_environment_variables_of_the_server_never_pose_as_request_headers(tmp_path):
    """granian seeds each WSGI environ from os.environ: HTTP_AUTHORIZATION there must not log anyone in."""
    info_file = tmp_path / "lms.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), HTTP_AUTHORIZATION="Bearer sesame", HTTP_PROXY="http://evil:1")
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "serve", "lms", "--server", "granian",
                             "--token", "sesame", "--info-file", str(info_file)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = wait_for_info(info_file, proc)
        session = requests.Session()
        session.trust_env = False  # the test's own environment has no say either
        anonymous = session.get(info["base_url"] + "/Users", timeout=10)
        assert anonymous.status_code == 401
        allowed = session.get(info["base_url"] + "/Users", headers={"Authorization": "Bearer sesame"}, timeout=10)
        assert allowed.status_code == 200
    finally:
        _stop(proc)
