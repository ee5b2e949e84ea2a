"""Fixtures for the load tests: our SCIM LMS on an ephemeral port, and Locust run as a subprocess.

Locust monkey-patches the standard library with gevent when imported, so it never
runs inside the pytest process: each test runs ``python -m locust`` headless,
bounded by ``--run-time`` and a handful of Locust users, and then asserts what
the target holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from loadtests.cli import free_port
from simulator.lms.scim import LmsConfig, ScimStore, create_app, load_profile
from simulator.lms.scim.auth import TokenRegistry
from simulator.lms.scim.schemas import build_registry
from simulator.serving import RunningServer, start_in_thread

LOADTESTS = Path(__file__).resolve().parents[2] / "loadtests"
TOKEN = "load-test-token-6f1e0c"
#: generous: a run ends by itself when its work is done; this only bounds a broken one
RUN_TIMEOUT = 120


@dataclass
class ScimLms:
    running: RunningServer
    store: ScimStore
    ca_bundle: str | None = None

    @property
    def base(self) -> str:
        return f"{self.running.url}/scim/v2"

    def get(self, path: str, **params: Any) -> Any:
        response = requests.get(self.base + path, params=params, headers={"Authorization": f"Bearer {TOKEN}"},
                                timeout=30, verify=self.ca_bundle or True)
        assert response.status_code == 200, response.text
        return response.json()

    def total(self, resource: str) -> int:
        return self.get(f"/{resource}", count=0)["totalResults"]


@pytest.fixture
def scim_lms(certs) -> Iterator[Callable[..., ScimLms]]:
    """Factory: ``scim_lms(profile="entra-tolerant", tls=False)`` starts a SCIM LMS and stops it after the test."""
    started: list[RunningServer] = []

    def start(profile: str = "entra-tolerant", tls: bool = False) -> ScimLms:
        loaded = load_profile(profile)
        store = ScimStore(registry=build_registry(loaded.extensions))
        tokens = TokenRegistry(store.clock)
        tokens.add(TOKEN, label="load")
        app = create_app(store, config=LmsConfig(profile=loaded, tokens=tokens))
        running = start_in_thread(app, tls=certs if tls else None)
        started.append(running)
        return ScimLms(running, store, str(certs.ca_cert) if tls else None)

    yield start
    for running in started:
        running.stop()


@dataclass
class LocustRun:
    returncode: int
    output: str
    summary: dict[str, Any] | None
    files: dict[str, Path]


def run_locust(locustfile: str, tmp_path: Path, *args: str, users: int = 2, run_time: str = "60s",
               env: dict[str, str] | None = None) -> LocustRun:
    """``locust -f loadtests/<locustfile> --headless`` with CSV, HTML and entrasim's summary written to tmp_path."""
    summary = tmp_path / "summary.json"
    if "--processes" in args:  # Locust's master port defaults to 5557: parallel tests need their own
        port = str(free_port())
        args = (*args, "--master-bind-port", port, "--master-port", port)
    command = [sys.executable, "-m", "locust", "-f", str(LOADTESTS / locustfile), "--headless", "--only-summary",
               "--users", str(users), "--spawn-rate", str(users), "--run-time", run_time,
               "--csv", str(tmp_path / "locust"), "--html", str(tmp_path / "report.html"),
               "--summary-json", str(summary), *args]
    environment = {**os.environ, **(env or {})}
    completed = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=environment, check=False,
                               cwd=tmp_path)
    output = completed.stdout + completed.stderr
    data = json.loads(summary.read_text()) if summary.exists() else None
    files = {"csv": tmp_path / "locust_stats.csv", "html": tmp_path / "report.html", "summary": summary}
    return LocustRun(completed.returncode, output, data, files)
