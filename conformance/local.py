"""Our SCIM LMS, started in-process on an ephemeral port: the default target when no --target is given.

It lets a vendor see what a passing run looks like before pointing the suite at
their own server, and it is what the suite's own tests prove it on.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from simulator.lms.scim import LmsConfig, ScimStore, create_app, load_profile
from simulator.lms.scim.auth import TokenRegistry
from simulator.lms.scim.schemas import build_registry
from simulator.serving import start_in_thread


@contextmanager
def local_lms(profile: str = "rfc") -> Iterator[tuple[str, str]]:
    """Serve a fresh SCIM LMS in ``profile``; yields (base URL, bearer token) and stops it afterwards."""
    loaded = load_profile(profile)
    store = ScimStore(registry=build_registry(loaded.extensions))
    tokens = TokenRegistry(store.clock)
    token = secrets.token_urlsafe(24)
    tokens.add(token, label="conformance")
    config = LmsConfig(profile=loaded, tokens=tokens, log_bodies=False)
    running = start_in_thread(create_app(store, config=config))
    try:
        yield f"{running.url}{config.base_path}", token
    finally:
        running.stop()
