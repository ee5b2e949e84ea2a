"""Real SCIM servers to prove the conformance suite on: our SCIM LMS (any profile) and scim2-server (subprocess)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from conformance_support import TOKEN, Target, serve_scim2

from simulator.clock import Clock
from simulator.faults import FaultInjector
from simulator.lms.scim import LmsConfig, ScimStore, create_app, load_profile
from simulator.lms.scim.auth import TokenRegistry
from simulator.lms.scim.schemas import build_registry
from simulator.serving import RunningServer, start_in_thread


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


@pytest.fixture(scope="module")
def scim2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """``scim2-server --port N --bearer-token T`` as a subprocess (as its users start it), shared by a module's tests.

    Sharing is safe: every run namespaces and deletes what it creates, and each test that
    probes the server directly deletes its probe. Its request log goes to a file: the
    suite sends hundreds of requests, and an unread stderr pipe would fill and stall the server.
    """
    with open(tmp_path_factory.mktemp("scim2-server") / "scim2-server.log", "w") as log:
        yield from serve_scim2(log)
