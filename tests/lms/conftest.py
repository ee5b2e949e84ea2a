"""Fixtures for the SCIM LMS: a real server on 127.0.0.1 (ephemeral port) per test, driven with requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pytest
import requests

from simulator.clock import Clock
from simulator.faults import FaultInjector
from simulator.lms.scim import LmsConfig, ScimStore, create_app, load_profile
from simulator.lms.scim.auth import TokenRegistry
from simulator.lms.scim.schemas import build_registry
from simulator.serving import RunningServer, start_in_thread

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
TOKEN = "lms-test-token"


@dataclass
class Lms:
    """A running SCIM LMS and helpers that speak to it over HTTP."""

    running: RunningServer
    store: ScimStore
    tokens: TokenRegistry
    faults: FaultInjector
    app: Any
    clock: Clock
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.headers.update({"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"})

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def base(self) -> str:
        return f"{self.running.url}/scim/v2"

    @property
    def log(self):
        return self.app.extensions["entrasim"].log

    def request(self, method: str, path: str, body: Any = None, **kw: Any) -> requests.Response:
        if body is not None:
            kw["json"] = body
        return self.session.request(method, self.base + path, timeout=30, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.request("PUT", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def patch(self, path: str, *operations: dict[str, Any], **kw: Any) -> requests.Response:
        return self.request("PATCH", path, {"schemas": [PATCH_OP], "Operations": list(operations)}, **kw)

    def user(self, user_name: str = "bjensen@example.com", **attributes: Any) -> dict[str, Any]:
        body = {"schemas": [USER], "userName": user_name, **attributes}
        if any(k.startswith("urn:") for k in attributes):
            body["schemas"] = [USER] + [k for k in attributes if k.startswith("urn:")]
        resp = self.post("/Users", body)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def group(self, display_name: str = "Learners", members: list[str] | None = None, **attributes: Any) -> dict[str, Any]:
        body = {"schemas": [GROUP], "displayName": display_name, **attributes}
        if members is not None:
            body["members"] = [{"value": m} for m in members]
        resp = self.post("/Groups", body)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def fetch(self, kind: str, rid: str) -> dict[str, Any]:
        resp = self.get(f"/{kind}/{rid}")
        assert resp.status_code == 200, resp.text
        return resp.json()

    def state(self) -> dict[str, Any]:
        """The whole server state, for "a failed request changed nothing" assertions."""
        return self.store.export_state()


def assert_error(resp: requests.Response, status: int, scim_type: str | None = None, detail: str | None = None) -> dict:
    """The response is a SCIM error (RFC 7644 §3.12) with this status and scimType; returns its body."""
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/scim+json")
    body = resp.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type, body
    assert body["detail"]
    if detail is not None:
        assert detail in body["detail"], body["detail"]
    return body


@pytest.fixture
def lms_server() -> Iterator[Callable[..., Lms]]:
    """Factory: ``lms_server(profile="rfc", **config)`` starts a SCIM LMS and stops it after the test."""
    started: list[RunningServer] = []

    def start(profile: str = "rfc", **config: Any) -> Lms:
        clock = Clock.frozen_at("2026-01-15T09:00:00Z")
        loaded = load_profile(profile)
        store = ScimStore(clock=clock, registry=build_registry(loaded.extensions))
        tokens = TokenRegistry(clock)
        tokens.add(TOKEN, label="primary")
        faults = FaultInjector(clock=clock)
        app = create_app(store, faults=faults, config=LmsConfig(profile=loaded, tokens=tokens, **config))
        running = start_in_thread(app)
        started.append(running)
        return Lms(running, store, tokens, faults, app, clock)

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def lms(lms_server: Callable[..., Lms]) -> Lms:
    """A strict (rfc profile) SCIM LMS."""
    return lms_server("rfc")


@pytest.fixture
def tolerant(lms_server: Callable[..., Lms]) -> Lms:
    """A SCIM LMS in the entra-tolerant profile."""
    return lms_server("entra-tolerant")
