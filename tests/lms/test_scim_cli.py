"""``entrasim serve lms`` as a user runs it: a real process, its info file, a request, SIGTERM."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import requests
from cli_process import start_entrasim, wait_for_info

ROOT = Path(__file__).resolve().parents[2]


def _serve(*args: str) -> subprocess.Popen:
    return start_entrasim("serve", "lms", *args)


def test_serve_lms_writes_the_info_file_serves_and_stops_on_sigterm(tmp_path):
    info_file = tmp_path / "lms.json"
    proc = _serve("--port", "0", "--profile", "entra-tolerant", "--info-file", str(info_file))
    try:
        info = wait_for_info(info_file, proc)
        assert info["base_url"].startswith("http://127.0.0.1:") and info["base_url"].endswith("/scim/v2")
        assert info["profile"] == "entra-tolerant"
        headers = {"Authorization": f"Bearer {info['token']}"}
        resp = requests.get(info["base_url"] + "/Users", params={"filter": 'userName eq "nobody"'}, headers=headers,
                            timeout=10)
        assert resp.status_code == 200 and resp.json()["totalResults"] == 0
        assert requests.get(info["base_url"] + "/Users", timeout=10).status_code == 401
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert info["base_url"] in out
    assert info["token"] not in out and info["token"] not in err


def test_serve_lms_accepts_tokens_and_a_profile_file(tmp_path):
    profile = tmp_path / "mine.yaml"
    profile.write_text("name: mine\nextends: rfc\npatch:\n  case_insensitive_ops: true\n")
    info_file = tmp_path / "lms.json"
    proc = _serve("--token", "first-token", "--token", "second-token", "--profile", str(profile),
                  "--info-file", str(info_file))
    try:
        info = wait_for_info(info_file, proc)
        assert info["profile"] == "mine" and info["tokens"] == ["first-token", "second-token"]
        for token in info["tokens"]:
            resp = requests.get(info["base_url"] + "/ServiceProviderConfig",
                                headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert resp.status_code == 200
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0


def test_bad_input_is_one_line_and_a_nonzero_exit(tmp_path):
    for args, message in [(["--profile", "no-such-profile"], "unknown profile 'no-such-profile'"),
                          (["--port", "70000"], "--port must be between 0 and 65535"),
                          (["--profile", str(tmp_path / "missing.yaml")], "does not exist")]:
        proc = _serve(*args)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 2
        assert err.strip().count("\n") == 0 and message in err, err
