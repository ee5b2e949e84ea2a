"""Helpers the conformance tests share: the target under test, its verdict sets, and scim2-server as a subprocess.

A plain module (not conftest) so test modules can import it: tests/conformance is not a package,
because a package named ``conformance`` would shadow the suite itself (loaded early by its pytest11 entry point).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import requests
from scim2_server_process import running_scim2_server

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


def serve_scim2(log: IO[str]) -> Iterator[Target]:
    with running_scim2_server(TOKEN, log) as base:
        yield Target(base)
