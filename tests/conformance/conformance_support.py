"""Helpers the conformance tests share: the target under test, its verdict sets, and scim2-server as a subprocess.

A plain module (not conftest) so test modules can import it: tests/conformance is not a package,
because a package named ``conformance`` would shadow the suite itself (loaded early by its pytest11 entry point).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import requests

from conformance.runner import RunOptions, RunResult, run_suite
from simulator.faults import FaultInjector
from simulator.lms.scim import ScimStore

TOKEN = "conformance-test-token-0123456789"


@dataclass
class Target:
    """A SCIM server under test: its base URL, its token, and (for our LMS) its store and fault injector."""

    base: str
    token: str = TOKEN
    store: ScimStore | None = None
    faults: FaultInjector | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def run(self, profiles: tuple[str, ...] = ("rfc",), **kw) -> RunResult:
        return run_suite(RunOptions(base_url=self.base, headers=self.headers, profiles=profiles, **kw))

    def resources(self, endpoint: str) -> list[dict]:
        r = requests.get(f"{self.base}/{endpoint}", headers=self.headers, params={"count": 1000}, timeout=30)
        assert r.status_code == 200, r.text
        return r.json().get("Resources", [])


def verdicts(result: RunResult, verdict: str) -> set[str]:
    return {r.check.id for r in result.results if r.verdict.value == verdict}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_scim2(log: IO[str]) -> Iterator[Target]:
    command = shutil.which("scim2-server") or str(Path(sys.executable).with_name("scim2-server"))
    for _attempt in range(5):  # another process may take the port between the probe and the bind
        port = free_port()
        proc = subprocess.Popen([command, "--hostname", "127.0.0.1", "--port", str(port), "--bearer-token", TOKEN],
                                stdout=subprocess.DEVNULL, stderr=log, text=True)
        base = f"http://127.0.0.1:{port}/v2"
        deadline = time.time() + 30
        while time.time() < deadline and proc.poll() is None:
            try:
                if requests.get(f"{base}/ServiceProviderConfig", timeout=1).status_code < 500:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        if proc.poll() is None:
            break
    else:
        raise AssertionError("scim2-server did not start")
    try:
        yield Target(base)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
