"""Locustfile: an LMS importer's reads of Microsoft Graph, against entrasim's Graph mock, with or without throttling.

    entrasim serve graph --tls --control --users 10000 --groups 500 --info-file graph.json &
    locust -f loadtests/graph_read.py --headless --graph-info graph.json --users 8 --run-time 1m \\
        --throttle-every 20 --throttle-retry-after 1

What each Locust user does, the way a Graph-pull LMS importer does it:

- gets an app-only token with the client-credentials grant
  (``POST /{tenant}/oauth2/v2.0/token``) and gets a new one when it expires or a
  401 says so;
- pages the members of groups with ``$top=999`` (Graph's maximum) and
  ``$select=id,userPrincipalName,mail``, following ``@odata.nextLink`` to the end
  (weight 5); the groups come from one paged ``GET /groups`` per process, and each
  worker process reads its own share of them (worker ``i`` of ``n`` takes every
  ``n``-th group) so that ``--processes`` spreads the directory, not the same reads;
- runs ``/users/delta`` (weight 1): the first round pages every user to the
  ``@odata.deltaLink``, later rounds ask that link for what changed.

A 429 is waited out as Graph asks (``Retry-After`` seconds) and the request
sent again; Locust records the 429s under the request's name with "(429)", and
the summary counts them. ``--throttle-every N`` installs, through the mock's
control API (serve it with ``--control``), a rule throttling every Nth
``/groups/*/members`` request, and removes it at the end.

The final check, per process: a sample of the groups read in full is counted
again with ``/groups/{id}/members/$count`` (``ConsistencyLevel: eventual``) and
must match the members paged; the delta's first round must have returned every
user (``/users/$count``); and every read must have ended, throttled or not.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import gevent
import orjson
from gevent.lock import Semaphore
from locust import FastHttpUser, between, events, task
from locust.exception import StopUser
from locust.runners import WorkerRunner

if __package__ in (None, ""):  # run as `locust -f loadtests/graph_read.py` outside an installed tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests import summary
from loadtests.coordination import Check, Coordinator
from loadtests.options import add_report_arguments
from loadtests.scim_target import ssl_context
from simulator.retry_after import retry_after_seconds

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
MAX_THROTTLE_RETRIES = 20
MEMBERS_SELECT = "id,userPrincipalName,mail"

coordinator = Coordinator(finite=False)


def _retry_after(response: Any) -> float:
    """Graph's Retry-After (seconds or an HTTP date); 1 s when it gives none."""
    wait = retry_after_seconds(response.headers.get("Retry-After"))
    return 1.0 if wait is None else wait


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument("--graph-info", default="", env_var="ENTRASIM_GRAPH_INFO",
                        help="Info file written by `entrasim serve graph --info-file` (tenant, client, secret, CA)")
    parser.add_argument("--throttle-every", type=int, default=0,
                        help="Throttle (429) every Nth /groups/*/members request through the control API (0: none)")
    parser.add_argument("--throttle-retry-after", type=int, default=1, help="Retry-After seconds of those 429s")
    parser.add_argument("--delta-pause", type=float, default=1.0,
                        help="Seconds between a user's delta rounds after the first")
    add_report_arguments(parser)


class GraphRun:
    """What the users of this process share: connection details, the group list, the reads done, the fault."""

    info: dict[str, Any] = {}
    groups: list[str] = []
    groups_lock = Semaphore()
    groups_loaded = False
    cursor = 0
    members_read: dict[str, int] = {}
    delta_first_round: list[int] = []
    fault_id: str | None = None


def load_info(path: str) -> dict[str, Any]:
    if not path:
        raise ValueError("no --graph-info: give the info file of `entrasim serve graph --info-file`")
    with open(path, encoding="utf-8") as fh:
        info = json.load(fh)
    for key in ("authority_host", "tenant_id", "client_id", "client_secret", "graph_url"):
        if not info.get(key):
            raise ValueError(f"{path} has no '{key}'")
    return info


def _info_problem(options: Any) -> str | None:
    """Why ``--graph-info`` (and ``--throttle-every``) cannot be used, in one line; None when they can."""
    try:
        info = load_info(options.graph_info)
    except FileNotFoundError:
        return f"--graph-info {options.graph_info}: no such file"
    except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
        return f"--graph-info {options.graph_info}: {exc}" if options.graph_info else str(exc)
    if options.throttle_every and not info.get("control_url"):
        return "--throttle-every needs the Graph mock's control API: serve it with --control"
    return None


def _control():
    from simulator.control_client import ControlClient

    info = GraphRun.info
    if not info.get("control_url"):
        raise ValueError("--throttle-every needs the Graph mock's control API: serve it with --control")
    return ControlClient(info["control_url"], admin_key=info.get("admin_key"), verify=info.get("ca_bundle") or True)


@events.init.add_listener
def _init(environment: Any, **_kw: Any) -> None:
    options = environment.parsed_options
    if options is not None and options.headless and not isinstance(environment.runner, WorkerRunner):
        problem = _info_problem(options)
        if problem:  # one line and exit status 2, before any load (as the SCIM locustfiles do)
            sys.stderr.write(f"entrasim: error: {problem}\n")
            sys.exit(2)
    if options is not None and options.graph_info and not environment.host:
        environment.host = load_info(options.graph_info)["authority_host"]
    coordinator.install(environment)
    coordinator.final = _final
    coordinator.local_checks = _local_checks


@events.test_start.add_listener
def _test_start(environment: Any, **_kw: Any) -> None:
    options = environment.parsed_options
    GraphRun.info = load_info(options.graph_info)
    GraphRun.groups, GraphRun.groups_loaded, GraphRun.cursor = [], False, 0
    GraphRun.members_read, GraphRun.delta_first_round = {}, []
    if GraphRun.info.get("ca_bundle"):
        GraphReader.insecure = False
        GraphReader.ssl_context_factory = staticmethod(lambda: ssl_context(GraphRun.info["ca_bundle"], False))
    if not coordinator.is_worker and options.throttle_every > 0:
        with _control() as control:
            rule = control.add_fault(surface="graph", path="/v1.0/groups/*/members", kind="throttled",
                                     every=options.throttle_every, retry_after=options.throttle_retry_after)
        GraphRun.fault_id = rule["id"]
    if not coordinator.is_master:
        coordinator.begin_process()
        coordinator.local.started = time.time()


class GraphReader(FastHttpUser):
    """An LMS importer's Graph client: app-only token, members paged with $top=999, users delta."""

    wait_time = between(0, 0)
    concurrency = 1

    def on_start(self) -> None:
        self.rng = random.Random()
        self.token = None
        self.token_expires = 0.0
        self.delta_link: str | None = None
        self.next_delta = 0.0
        self.load_groups()

    # -- token
    def authorization(self) -> dict[str, str]:
        if self.token is None or time.time() > self.token_expires - 60:
            self.fetch_token()
        return {"Authorization": f"Bearer {self.token}"}

    def fetch_token(self) -> None:
        info = GraphRun.info
        form = {"grant_type": "client_credentials", "client_id": info["client_id"],
                "client_secret": info["client_secret"], "scope": info.get("scope") or GRAPH_SCOPE}
        body = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in form.items())
        url = f"{info['authority_host']}/{info['tenant_id']}/oauth2/v2.0/token"
        coordinator.count("requests")
        with self.client.post(url, name="POST /{tenant}/oauth2/v2.0/token", data=body,
                              headers={"Content-Type": "application/x-www-form-urlencoded"},
                              catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"token endpoint answered {response.status_code}")
                raise StopUser()
            data = orjson.loads(response.content)
        self.token = data["access_token"]
        self.token_expires = time.time() + float(data.get("expires_in", 3599))
        coordinator.count("tokens")

    # -- one Graph GET, throttling waited out
    def graph_get(self, url: str, name: str, headers: dict[str, str] | None = None) -> Any:
        """The body of a 200 (JSON, or text for $count); None when the read failed."""
        for _attempt in range(MAX_THROTTLE_RETRIES):
            coordinator.count("requests")
            with self.client.get(url, name=name, headers={**self.authorization(), **(headers or {})},
                                 catch_response=True) as response:
                status = response.status_code
                if status == 429:
                    wait = _retry_after(response)
                    response.request_meta["name"] = f"{name} (429)"
                    response.success()
                    coordinator.count("throttled")
                    coordinator.count("throttle_wait_ms", int(wait * 1000))
                elif status == 401 and self.token is not None:
                    response.request_meta["name"] = f"{name} (401, new token)"
                    response.success()
                    self.token = None
                    continue
                elif status != 200:
                    response.failure(f"answered {status}")
                    coordinator.count("reads_failed")
                    return None
                else:
                    content = response.content or b""
                    if "json" in (response.headers.get("Content-Type") or ""):
                        return orjson.loads(content)
                    return content.decode()
            gevent.sleep(wait)
        coordinator.count("reads_failed")
        return None

    def graph_url(self, path: str) -> str:
        return GraphRun.info["graph_url"] + path

    # -- the importer's reads
    def load_groups(self) -> None:
        """Every group id, once per process (paged), then this process's share of them."""
        with GraphRun.groups_lock:
            if GraphRun.groups_loaded:
                return
            ids: list[str] = []
            url: str | None = self.graph_url("/groups?$select=id,displayName&$top=999")
            while url:
                page = self.graph_get(url, "GET /groups")
                if page is None:
                    raise StopUser()
                ids.extend(group["id"] for group in page.get("value", []))
                url = page.get("@odata.nextLink")
            index, count = coordinator.shard()
            GraphRun.groups = sorted(ids)[index::count]
            GraphRun.groups_loaded = True

    @task(5)
    def read_members(self) -> None:
        if not GraphRun.groups:
            return
        group_id = GraphRun.groups[GraphRun.cursor % len(GraphRun.groups)]
        GraphRun.cursor += 1
        url: str | None = self.graph_url(f"/groups/{group_id}/members?$select={MEMBERS_SELECT}&$top=999")
        members = 0
        while url:
            page = self.graph_get(url, "GET /groups/[id]/members")
            if page is None:
                return
            members += len(page.get("value", []))
            url = page.get("@odata.nextLink")
        GraphRun.members_read[group_id] = members
        coordinator.count("member_pages_read_groups")
        coordinator.count("members_read", members)

    @task(1)
    def users_delta(self) -> None:
        if time.time() < self.next_delta:
            return
        first = self.delta_link is None
        url: str | None = self.delta_link or self.graph_url("/users/delta?$select=id,displayName,mail")
        objects = 0
        while url:
            page = self.graph_get(url, "GET /users/delta" + (" (first round)" if first else ""))
            if page is None:
                return
            objects += len(page.get("value", []))
            url = page.get("@odata.nextLink")
            if "@odata.deltaLink" in page:
                self.delta_link = page["@odata.deltaLink"]
        coordinator.count("delta_objects", objects)
        coordinator.count("delta_rounds")
        if first:
            GraphRun.delta_first_round.append(objects)
        self.next_delta = time.time() + coordinator.environment.parsed_options.delta_pause


# ------------------------------------------------------------------ checks and summary


def _local_checks() -> list[Check]:
    options = coordinator.environment.parsed_options
    index = coordinator.local.index
    coordinator.local.finished = time.time()
    if not GraphRun.members_read:
        return [Check(False, f"process {index}: no group was read to the end")]
    reader = _Checker()
    sample = random.Random(0).sample(sorted(GraphRun.members_read), min(len(GraphRun.members_read),
                                                                      max(1, options.check_sample)))
    bad = []
    for group_id in sample:
        expected = reader.count(f"/groups/{group_id}/members/$count")
        if expected != GraphRun.members_read[group_id]:
            bad.append(f"group {group_id}: {GraphRun.members_read[group_id]} members paged, $count says {expected}")
    checks = [Check(not bad, f"process {index}: {len(sample)} groups paged with $top=999 hold the members "
                             f"$count reports" + (": " + "; ".join(bad[:5]) if bad else ""))]
    if GraphRun.delta_first_round:
        users = reader.count("/users/$count")
        wrong = [n for n in GraphRun.delta_first_round if n != users]
        checks.append(Check(not wrong, f"process {index}: {len(GraphRun.delta_first_round)} first delta rounds "
                                       f"returned every user ({users:,})"
                                       + (f": got {wrong[:5]}" if wrong else "")))
    failed = coordinator.local.counters.get("reads_failed", 0)
    checks.append(Check(failed == 0, f"process {index}: every read ended ({failed} failed; "
                                     f"{coordinator.local.counters.get('throttled', 0)} throttled and retried)"))
    return checks


class _Checker:
    """Plain reads for the check, with their own token (not part of the load)."""

    def __init__(self):
        import urllib3

        info = GraphRun.info
        ca = info.get("ca_bundle")
        self.http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca) if ca else urllib3.PoolManager()
        token = self.http.request("POST", f"{info['authority_host']}/{info['tenant_id']}/oauth2/v2.0/token",
                                  fields={"grant_type": "client_credentials", "client_id": info["client_id"],
                                          "client_secret": info["client_secret"],
                                          "scope": info.get("scope") or GRAPH_SCOPE}, encode_multipart=False)
        self.token = orjson.loads(token.data)["access_token"]

    def count(self, path: str) -> int | None:
        for _attempt in range(MAX_THROTTLE_RETRIES):
            response = self.http.request("GET", GraphRun.info["graph_url"] + path,
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "ConsistencyLevel": "eventual"})
            if response.status == 429:
                gevent.sleep(_retry_after(response))
                continue
            if response.status != 200:
                return None
            return int(response.data.decode().strip())
        return None


def _final() -> None:
    environment = coordinator.environment
    options = environment.parsed_options
    checks = coordinator.checks() or [Check(False, "no process reported")]
    totals = dict(coordinator.totals())
    if GraphRun.fault_id is not None:
        try:
            with _control() as control:
                fired = control.fault(GraphRun.fault_id).get("fired", 0)
                control.remove_fault(GraphRun.fault_id)
            checks.append(Check(fired > 0 and totals.get("throttled", 0) > 0,
                                f"the throttling rule fired {fired} times; {totals.get('throttled', 0)} 429s waited "
                                "out and retried"))
        except Exception as exc:  # noqa: BLE001 - the mock may be gone; say so in the verdict
            checks.append(Check(False, f"the throttling rule could not be read back: {exc}"))
        GraphRun.fault_id = None
    started = coordinator.started_at
    elapsed = time.time() - started if started else None
    result = summary.build("graph-read", elapsed=elapsed, counters=totals, processes=coordinator.expected_processes(),
                           ceiling=None, ceiling_source=None, checks=checks,
                           extra={"membersPerSecond": summary.rate(totals.get("members_read", 0), elapsed),
                                  "graph": urlsplit(GraphRun.info.get("graph_url", "")).netloc,
                                  "throttleEvery": options.throttle_every})
    summary.publish(result, options.summary_json or None)
    if result["verdict"] != "PASS":
        environment.process_exit_code = 1
