"""What the SCIM locustfiles share: the run's directory/builders/target, the ceiling probe, Entra's match-or-create.

``EntraScimUser`` is an abstract FastHttpUser (geventhttpclient: about 3x the
requests per second of ``HttpUser`` from one process here) that sends the
provisioning client's requests: the matching query, then ``POST`` when nothing
matched or a diff-based ``PATCH`` when something did, and membership PATCHes.
Every request is counted in the process's ``Coordinator`` so the summary can
turn them into objects and memberships per second.
"""

from __future__ import annotations

from typing import Any

import orjson
from locust import FastHttpUser

from .builders import EntraRequests
from .coordination import Coordinator
from .directory import Directory, DirectorySpec, GeneratedGroup, GeneratedUser
from .scim_target import ScimTarget, TargetError


class Run:
    """What every user of this process shares during one test: directory, builders, target, ceiling."""

    directory: Directory | None = None
    builders: EntraRequests | None = None
    target: ScimTarget | None = None
    ceiling: float | None = None
    ceiling_source: str | None = None


def adopt_host(environment: Any) -> None:
    """``--scim-url`` and Locust's ``--host`` name the same thing: either fills the other."""
    options = environment.parsed_options
    if options is None:
        return
    if not options.scim_url and environment.host:
        options.scim_url = environment.host
    if options.scim_url and not environment.host:
        environment.host = options.scim_url


def configure(options: Any, user_class: type[FastHttpUser]) -> None:
    """Build the run's directory, builders and target from the options (every process, at test start)."""
    Run.directory = Directory(DirectorySpec(options.users_total, options.groups_total, options.seed, options.block_size))
    Run.builders = EntraRequests(options.preset, options.dialect)
    Run.target = ScimTarget(options.scim_url, options.scim_token, options.scim_ca_bundle or None, options.scim_insecure)
    if Run.target.https:
        user_class.insecure = options.scim_insecure
        user_class.ssl_context_factory = Run.target.context_factory()


def measure_ceiling(options: Any) -> None:
    """The target's ceiling for the summary: given, probed (before the load starts), or unknown."""
    Run.ceiling, Run.ceiling_source = None, None
    if options.target_ceiling > 0:
        Run.ceiling, Run.ceiling_source = options.target_ceiling, "given with --target-ceiling"
    elif options.ceiling_seconds > 0:
        try:
            Run.ceiling = Run.target.probe_ceiling(options.ceiling_seconds, max(1, options.ceiling_concurrency))
            Run.ceiling_source = (f"probe: {options.ceiling_seconds:g} s of GET /Users?filter on "
                                  f"{options.ceiling_concurrency} keep-alive connections")
        except (OSError, TargetError) as exc:
            Run.ceiling_source = f"probe failed: {exc}"


class EntraScimUser(FastHttpUser):
    """A Locust user sending Entra's provisioning requests for generated objects."""

    abstract = True
    coordinator: Coordinator  # set by the locustfile

    def on_start(self) -> None:
        self.headers = Run.target.headers
        self.body_headers = Run.target.body_headers

    def count(self, key: str, amount: int = 1) -> None:
        self.coordinator.count(key, amount)

    def match_or_create(self, obj: GeneratedUser | GeneratedGroup, resource: str) -> tuple[str | None, dict | None]:
        """Entra's first look at an object: ``(target id, resource found)``; ``(id, None)`` when it was created."""
        builders = Run.builders
        kind = resource[:-1].lower()
        query, create = builders.match_and_create(obj)
        self.count("requests")
        with self.client.get(query, name=f"GET /{resource}?filter= (match)",
                             headers=self.headers, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"matching query answered {response.status_code}")
                self.count(f"{kind}s_failed")
                return None, None
            found = orjson.loads(response.content or b"{}").get("Resources") or []
            if len(found) > 1:
                response.failure(f"DuplicateTargetEntries: {len(found)} {resource} match")
                self.count(f"{kind}s_failed")
                return None, None
        if found:
            existing = found[0]
            self.count(f"{kind}s_matched")
            body = builders.update_body(obj, existing)
            if body is not None:
                self.count("requests")
                self.client.request("PATCH", f"/{resource}/{existing['id']}", name=f"PATCH /{resource}/[id] (update)",
                                    data=orjson.dumps(body), headers=self.body_headers)
            return existing.get("id"), existing
        self.count("requests")
        with self.client.post(f"/{resource}", name=f"POST /{resource}", data=orjson.dumps(create),
                              headers=self.body_headers, catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"create answered {response.status_code}, not 201")
                self.count(f"{kind}s_failed")
                return None, None
            target_id = orjson.loads(response.content).get("id")
            if not target_id:
                response.failure("create answered 201 without an id")
                self.count(f"{kind}s_failed")
                return None, None
        self.count(f"{kind}s_created")
        return target_id, None

    def add_members(self, target_id: str, member_ids: list[str]) -> int:
        """The membership PATCHes adding ``member_ids`` to group ``target_id``; returns the members added."""
        added_total = 0
        for body in Run.builders.members_add_bodies(member_ids):
            self.count("requests")
            added = len(body["Operations"][0]["value"])
            with self.client.request("PATCH", f"/Groups/{target_id}", name="PATCH /Groups/[id] (members)",
                                     data=orjson.dumps(body), headers=self.body_headers,
                                     catch_response=True) as response:
                if response.status_code not in (200, 204):
                    response.failure(f"membership PATCH answered {response.status_code}")
                    self.count("memberships_failed", added)
                    continue
            self.count("memberships_added", added)
            added_total += added
        return added_total
