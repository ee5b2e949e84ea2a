"""Real SCIM servers to prove the conformance suite on: our SCIM LMS (any profile) and scim2-server (subprocess)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
import requests

from conformance.runner import RunOptions, RunResult, run_suite
from simulator.clock import Clock
from simulator.faults import FaultInjector
from simulator.lms.scim import LmsConfig, ScimStore, create_app, load_profile
from simulator.lms.scim.auth import TokenRegistry
from simulator.lms.scim.schemas import build_registry
from simulator.serving import RunningServer, start_in_thread

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


@pytest.fixture
def lms_target() -> Iterator[Callable[..., Target]]:
    """Factory: ``lms_target("email-keyed")`` serves our SCIM LMS in that profile until the test ends."""
    started: list[RunningServer] = []

    def start(profile: str = "rfc", **config) -> Target:
        clock = Clock.frozen_at("2026-01-15T09:00:00Z")
        loaded = load_profile(profile)
        store = ScimStore(clock=clock, registry=build_registry(loaded.extensions))
        tokens = TokenRegistry(clock)
        tokens.add(TOKEN, label="conformance")
        faults = FaultInjector(clock=clock)
        app = create_app(store, faults=faults, config=LmsConfig(profile=loaded, tokens=tokens, log_bodies=False,
                                                                **config))
        running = start_in_thread(app)
        started.append(running)
        return Target(f"{running.url}/scim/v2", store=store, faults=faults)

    yield start
    for running in started:
        running.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def scim2_server(tmp_path: Path) -> Iterator[Target]:
    """``scim2-server --port N --bearer-token T`` as a subprocess (as its users start it); stopped after the test.

    Its request log goes to a file: the suite sends hundreds of requests, and an
    unread stderr pipe would fill and stall the server.
    """
    with open(tmp_path / "scim2-server.log", "w") as log:
        yield from _serve_scim2(log)


def _serve_scim2(log: IO[str]) -> Iterator[Target]:
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
