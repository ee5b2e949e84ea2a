"""Run ``entrasim`` the way a user does, as a subprocess, and wait for the info file it writes once it listens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_entrasim(*args: str, drop_env: tuple[str, ...] = ()) -> subprocess.Popen:
    """``entrasim ARGS…`` from this checkout, with stdout and stderr captured as text."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for name in drop_env:
        env.pop(name, None)
    return subprocess.Popen([sys.executable, "-m", "simulator.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_info(path: Path, proc: subprocess.Popen, seconds: float = 60) -> dict:
    """The info file's JSON once it exists; fails with the server's stderr if it exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        if proc.poll() is not None:
            raise AssertionError(f"the server exited early: {proc.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError(f"no info file at {path} after {seconds} s")
