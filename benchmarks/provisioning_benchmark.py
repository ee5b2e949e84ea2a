"""Provisioning benchmark: objects per second of an initial cycle into our SCIM LMS and into scim2-server.

Builds a tenant of N users (default 10,000), all in scope, and runs one initial
cycle of the real engine (test-connection probe, then for each user Entra's
matching ``GET /Users?filter=userName eq "..."`` and ``POST /Users``, with the
job state in SQLite and the provisioning log written as JSON lines) against:

- the candidate: our SCIM LMS (``simulator.lms.scim``, profile entra-tolerant);
- the baseline: scim2-server (PyPI), the reference third-party SCIM server.

Each server runs in its own process on the same WSGI server (cheroot, as
``entrasim serve`` uses), so the comparison is the SCIM implementation, not the
HTTP stack; the engine runs in this process. It prints users/s, requests/s and
the client's CPU per user for each target, and the ratio LMS / scim2-server.

    python benchmarks/provisioning_benchmark.py [--users N] [--concurrency C] [--no-log] [--json]

Not a test: printed, never asserted; run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TOKEN = "benchmark-token"


# ------------------------------------------------------------------ the servers (child processes)


def build_app(kind: str):
    if kind == "lms":
        from simulator.lms.scim import LmsConfig, ScimStore, create_app, load_profile
        from simulator.lms.scim.auth import TokenRegistry
        from simulator.lms.scim.schemas import build_registry

        profile = load_profile("entra-tolerant")
        tokens = TokenRegistry()
        tokens.add(TOKEN, label="benchmark")
        store = ScimStore(registry=build_registry(profile.extensions))
        return create_app(store, config=LmsConfig(profile=profile, tokens=tokens, log_bodies=False)), "/scim/v2"
    from scim2_models import ScimProvider
    from scim2_server.memory import InMemoryStorage
    from scim2_server.service import ScimService
    from scim2_server.testserver.application import (
        BEARER_TOKEN_SCHEME,
        BearerTokenApplication,
    )
    from scim2_server.utils import (
        load_default_resource_types,
        load_default_schemas,
        load_default_service_provider_config,
    )

    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(load_default_schemas().values(), load_default_resource_types().values(),
                                           config=config)
    return BearerTokenApplication(InMemoryStorage(), provider, service=ScimService(provider, secret="benchmark"),
                                  bearer_tokens=[TOKEN]), "/v2"


def serve(kind: str, info_file: str) -> None:
    from simulator.serving import bind, serve_until_interrupted, write_info_file

    app, base_path = build_app(kind)
    running = bind(app)
    write_info_file(info_file, {"base_url": running.url + base_path})
    serve_until_interrupted(running)


class Server:
    """One SCIM server in a child process, stopped with SIGTERM."""

    def __init__(self, kind: str, workdir: Path):
        self.kind = kind
        info = workdir / f"{kind}.json"
        self.process = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--info-file", str(info)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not info.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the {kind} server did not start")
            time.sleep(0.05)
        self.base_url = json.loads(info.read_text())["base_url"]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# ------------------------------------------------------------------ the engine (this process)


def build_tenant(users: int):
    from simulator.clock import Clock
    from simulator.tenant import Tenant
    from simulator.tenant.model import User

    tenant = Tenant(seed=11, clock=Clock.frozen_at("2026-01-15T09:00:00Z"))
    ids = [tenant.new_id() for _ in range(users)]
    tenant.bulk_load_users(
        User(uid, f"learner{i}@contoso.onmicrosoft.com", f"Learner {i}", mail=f"learner{i}@contoso.com",
             givenName="Learner", surname=str(i), jobTitle="Learner", department=("Sales", "Support", "R&D")[i % 3],
             mailNickname=f"learner{i}", employeeId=str(100000 + i), preferredLanguage="en-US")
        for i, uid in enumerate(ids))
    return tenant


def bench_job_text(base_url: str, token: str, concurrency: int, members_per_patch: int = 1) -> str:
    """Entra's non-gallery preset pointed at ``base_url``, reading the in-process tenant, all users in scope, unpaced.

    Shared with initial_sync_benchmark.py: both benchmarks run the same job.
    """
    from simulator.provisioning.job import preset_text

    text = preset_text("customappsso").replace("https://localhost:8443/scim/v2", base_url)
    text = text.replace("${LMS_TOKEN}", token).replace("requestRate: 25", "requestRate: null")
    text = re.sub(r"concurrency: 1\b", f"concurrency: {concurrency}", text)
    text = re.sub(r"membersPerPatch: 1\b", f"membersPerPatch: {members_per_patch}", text)
    lines = []
    for line in text.splitlines():
        if line.startswith("  type: snapshot"):
            line = "  type: tenant"
        elif line.startswith("  path: tenant.json"):
            continue
        elif line.startswith("scope:"):
            line = "scope: all"
        lines.append(line)
    return "\n".join(lines) + "\n"


def job_for(base_url: str, concurrency: int):
    """The benchmark's job with groups off: this benchmark compares user creation only."""
    from simulator.provisioning.job import parse_job

    text = bench_job_text(base_url, TOKEN, concurrency)
    groups_start = text.index("  groups:\n    enabled: true")
    text = text[:groups_start] + "  groups:\n    enabled: false\n    attributes:\n      - {target: displayName, source: displayName, matchingPriority: 1}\n"
    return parse_job(text)


def run_cycle(tenant, base_url: str, concurrency: int, log: bool, workdir: Path) -> dict:
    from simulator.provisioning.engine import ProvisioningEngine
    from simulator.provisioning.logs import ProvisioningLog
    from simulator.provisioning.sources import TenantSource
    from simulator.provisioning.state import JobState

    job = job_for(base_url, concurrency)
    state_path = workdir / f"state-{time.monotonic_ns()}.db"
    log_path = workdir / f"log-{time.monotonic_ns()}.jsonl" if log else None
    with JobState(state_path) as state, ProvisioningLog(log_path, keep=False) as plog:
        engine = ProvisioningEngine(job, TenantSource(tenant), state, plog, clock=tenant.clock)
        cpu = time.process_time()
        summary = engine.run_cycle()
        cpu = time.process_time() - cpu
        engine.close()
    created = summary.count("create", "success")
    return {"users": created, "failures": summary.count(status="failure"), "seconds": round(summary.duration_s, 3),
            "users_per_second": round(created / summary.duration_s, 1),
            "requests_per_second": round(summary.requests / summary.duration_s, 1), "requests": summary.requests,
            "client_cpu_ms_per_user": round(cpu * 1000 / max(created, 1), 3), "state": summary.state}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=1, help="engine workers (the job's settings.concurrency)")
    parser.add_argument("--no-log", action="store_true", help="do not write the provisioning log")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve", choices=["lms", "scim2-server"], help=argparse.SUPPRESS)
    parser.add_argument("--info-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.info_file)
        return
    tenant = build_tenant(args.users)
    results = {}
    with tempfile.TemporaryDirectory(prefix="entrasim-bench-") as tmp:
        workdir = Path(tmp)
        for kind in ("lms", "scim2-server"):
            server = Server(kind, workdir)
            try:
                results[kind] = run_cycle(tenant, server.base_url, args.concurrency, not args.no_log, workdir)
            finally:
                server.stop()
    ratio = results["lms"]["users_per_second"] / results["scim2-server"]["users_per_second"]
    report = {"users": args.users, "concurrency": args.concurrency, "log": not args.no_log, "python": sys.version.split()[0],
              "cpus": os.cpu_count(), "load_average": round(os.getloadavg()[0], 2), "results": results,
              "ratio_lms_to_scim2_server": round(ratio, 2)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"initial cycle of {args.users:,} users, engine concurrency {args.concurrency}, "
          f"log {'on' if not args.no_log else 'off'} (load average {report['load_average']})")
    print(f"{'target':<14} {'users/s':>9} {'requests/s':>11} {'seconds':>9} {'client CPU ms/user':>19} {'failures':>9}")
    for kind, r in results.items():
        print(f"{kind:<14} {r['users_per_second']:>9,.1f} {r['requests_per_second']:>11,.1f} {r['seconds']:>9.2f} "
              f"{r['client_cpu_ms_per_user']:>19.3f} {r['failures']:>9}")
    print(f"ratio (our LMS / scim2-server): {ratio:.2f}")


if __name__ == "__main__":
    main()
