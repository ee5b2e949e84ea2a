"""Initial-sync benchmark: 100,000 users and 1,000 groups provisioned into our SCIM LMS, against the LMS's ceiling.

What it answers: how fast the provisioning engine runs a whole initial cycle,
with Entra's request sequence unchanged, and how close that is to what the
target itself can take. One run:

1. seeds a tenant (``simulator.tenant.seeding``): N users (none disabled), G
   groups, about two direct memberships per user (nested groups included), a
   manager tree; the job's scope is ``all``, so everything is in scope;
2. starts our SCIM LMS (profile entra-tolerant) in its own process, as
   ``entrasim serve lms --server granian`` runs it (``--server cheroot`` for
   the default server);
3. runs one initial cycle of the real engine in this process: the
   test-connection probes, per user the matching ``GET /Users?filter=...`` then
   ``POST /Users``, per group ``GET /Groups?excludedAttributes=members&filter=...``
   then ``POST /Groups``, the membership PATCHes (the job's members per PATCH),
   then the manager PATCHes, with the job state in SQLite and the provisioning
   log written as JSON lines. Every request is recorded through the client's
   exchange hook;
4. starts a FRESH LMS process and replays the very same requests through a
   minimal keep-alive load generator (``--connections`` threads, one raw
   socket each, every request's bytes built before the clock starts), phase
   by phase; ids the fresh server
   assigns are mapped back into the membership and manager PATCHes before the
   PATCH phases start (outside the timed part);
5. prints users/s, memberships/s, requests/s, the engine's CPU per request, the
   engine process's peak RSS, the ceiling (the replay's requests/s) and the
   ratio engine / ceiling, with the load average.

    python benchmarks/initial_sync_benchmark.py                      # 100,000 users, 1,000 groups
    python benchmarks/initial_sync_benchmark.py --users 10000 --groups 100
    python benchmarks/initial_sync_benchmark.py --concurrency 4 --members-per-patch 1 --json

Peak RSS is the engine process's high-water mark (``resource.getrusage``), so
it includes the seeded tenant the engine reads from; the RSS after seeding is
printed beside it. Not a test: printed, never asserted.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TOKEN = "benchmark-token"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# ------------------------------------------------------------------ the LMS (a child process)


def serve(info_file: str, server: str) -> None:
    from simulator.lms.scim import LmsConfig, ScimStore, create_app, load_profile
    from simulator.lms.scim.auth import TokenRegistry
    from simulator.lms.scim.schemas import build_registry
    from simulator.serving import bind, serve_until_interrupted, write_info_file

    profile = load_profile("entra-tolerant")
    tokens = TokenRegistry()
    tokens.add(TOKEN, label="benchmark")
    store = ScimStore(registry=build_registry(profile.extensions))
    app = create_app(store, config=LmsConfig(profile=profile, tokens=tokens, log_bodies=False))
    running = bind(app, server=server)
    serve_until_interrupted(running, on_ready=lambda: write_info_file(info_file, {"base_url": running.url + "/scim/v2"}))


class Lms:
    """A fresh SCIM LMS in a child process; ``cpu_seconds`` reads its CPU time (granian's worker included) from /proc."""

    def __init__(self, workdir: Path, name: str, server: str):
        info = workdir / f"{name}.json"
        self.process = subprocess.Popen([sys.executable, __file__, "--serve", "--server", server, "--info-file", str(info)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not info.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the SCIM LMS did not start")
            time.sleep(0.05)
        self.base_url = json.loads(info.read_text())["base_url"]

    def cpu_seconds(self) -> float:
        from simulator.process_cpu import process_tree_cpu_seconds

        return process_tree_cpu_seconds(self.process.pid) or 0.0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# ------------------------------------------------------------------ the engine (this process)


def seed(users: int, groups: int, groups_per_user: float):
    from simulator.tenant.seeding import SeedSpec, seed_tenant

    return seed_tenant(SeedSpec(users=users, groups=groups, seed=11, disabled_share=0.0,
                                groups_per_user=groups_per_user))


def job_for(base_url: str, concurrency: int, members_per_patch: int):
    from provisioning_benchmark import bench_job_text

    from simulator.provisioning.job import parse_job

    return parse_job(bench_job_text(base_url, TOKEN, concurrency, members_per_patch))


class Recorder:
    """The client's exchange hook: every request (method, path, body) and each POST's answer, to a file.

    One record per request: a line ``METHOD STATUS LEN(path) LEN(body) LEN(answer)``, then the three as raw
    bytes. Why not JSON: the hook runs in the engine's workers, inside the measured cycle, and decoding
    and re-encoding every body as JSON cost the engine 5% of its CPU.
    """

    def __init__(self, path: Path, base_url: str):
        self.path = path
        self.prefix = len(base_url)
        self._file = open(path, "wb")  # noqa: SIM115 - closed by close()
        self._lock = threading.Lock()
        self.count = 0

    def __call__(self, method, url, headers, request_body, status, response_body, error) -> None:
        path = url[self.prefix:].encode()
        body = request_body or b""
        answer = response_body if method == "POST" and response_body else b""
        record = b"%s %d %d %d %d\n%s%s%s" % (method.encode(), status or 0, len(path), len(body), len(answer),
                                              path, body, answer)
        with self._lock:
            self._file.write(record)
            self.count += 1

    def close(self) -> None:
        self._file.close()


def recorded(path: Path) -> Iterator[tuple[str, str, bytes, bytes]]:
    """The records ``Recorder`` wrote: method, path, request body and answer (both b"" when none)."""
    with open(path, "rb") as handle:
        while head := handle.readline():
            method, _status, path_length, body_length, answer_length = head.split()
            request_path = handle.read(int(path_length)).decode()
            yield method.decode(), request_path, handle.read(int(body_length)), handle.read(int(answer_length))


class PhaseClock:
    """The engine's progress callback: when each phase (users, groups, memberships, references) began and ended."""

    def __init__(self):
        self.spans: dict[str, list[float]] = {}
        self.totals: dict[str, int] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.perf_counter()
        span = self.spans.setdefault(phase, [now, now])
        span[1] = now
        self.totals[phase] = total

    def seconds(self, phase: str) -> float:
        start, end = self.spans.get(phase, (0.0, 0.0))
        return end - start


def run_engine(tenant, base_url: str, args, workdir: Path) -> dict:
    from simulator.provisioning.engine import ProvisioningEngine
    from simulator.provisioning.logs import ProvisioningLog
    from simulator.provisioning.sources import TenantSource
    from simulator.provisioning.state import JobState

    job = job_for(base_url, args.concurrency, args.members_per_patch)
    phases = PhaseClock()
    recorder = Recorder(workdir / "requests.bin", base_url)
    log_path = workdir / "provisioning.jsonl" if not args.no_log else None
    with JobState(workdir / "state.db") as state, ProvisioningLog(log_path, keep=False) as plog:
        engine = ProvisioningEngine(job, TenantSource(tenant), state, plog, clock=tenant.clock, progress=phases)
        engine.client.exchange_hook = recorder
        cpu = time.process_time()
        summary = engine.run_cycle()
        cpu = time.process_time() - cpu
        engine.close()
        memberships = state.membership_count()
        links = state.link_counts()
    recorder.close()
    users = links.get("User", 0)
    user_s = phases.seconds("users")
    member_s = phases.seconds("memberships")
    return {
        "state": summary.state, "failures": summary.count(status="failure"), "requests": summary.requests,
        "seconds": round(summary.duration_s, 2), "users": users, "groups": links.get("Group", 0),
        "memberships": memberships,
        "phase_seconds": {p: round(phases.seconds(p), 2) for p in phases.spans},
        "users_per_second": round(users / user_s, 1) if user_s else None,
        "memberships_per_second": round(memberships / member_s, 1) if member_s else None,
        "requests_per_second": round(summary.requests / summary.duration_s, 1),
        "client_cpu_ms_per_request": round(cpu * 1000 / max(summary.requests, 1), 3),
        "client_cpu_ms_per_user": round(cpu * 1000 / max(users, 1), 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


# ------------------------------------------------------------------ the ceiling: the same requests, replayed


def load_phases(path: Path) -> tuple[list[tuple[str, str, str | None, str | None]], list[tuple[str, str, str | None]]]:
    """The recorded requests split where ids matter: creates and queries first, then PATCHes naming created ids.

    The engine sends every user and group request before the first PATCH, so
    the split keeps its order; each create carries the id the engine's server
    gave it, to map onto the fresh server's.
    """
    creates: list[tuple[str, str, str | None, str | None]] = []
    patches: list[tuple[str, str, str | None]] = []
    for method, request_path, data, answer in recorded(path):
        body = data.decode() if data else None
        if method == "PATCH":
            patches.append((method, request_path, body))
        else:
            old_id = orjson.loads(answer)["id"] if method == "POST" and answer else None
            creates.append((method, request_path, body, old_id))
    return creates, patches


class Generator:
    """A minimal keep-alive load generator: ``connections`` threads, one raw socket each, prebuilt request bytes.

    It must cost the machine less than the engine does, or the "ceiling" would
    measure the generator: every request is encoded before the clock starts,
    sent with one ``sendall``, and its answer framed by Content-Length (our LMS
    always sends it; a 204 has none) with no header parsing beyond that.
    """

    def __init__(self, base_url: str, connections: int):
        parts = urlsplit(base_url)
        self.host, self.port, self.prefix = parts.hostname, parts.port, parts.path
        self.connections = connections
        self.fixed = (f"Host: {self.host}:{self.port}\r\nAuthorization: Bearer {TOKEN}\r\n"
                      "Content-Type: application/scim+json; charset=utf-8\r\n").encode()

    def encode(self, requests: list[tuple]) -> list[bytes]:
        """Each request's bytes on the wire (not timed)."""
        encoded = []
        for method, path, body, *_ in requests:
            data = body.encode() if body else b""
            head = f"{method} {self.prefix}{path} HTTP/1.1\r\n".encode() + self.fixed
            encoded.append(head + (f"Content-Length: {len(data)}\r\n\r\n".encode() + data if body else b"\r\n"))
        return encoded

    def run(self, requests: list[tuple], on_answer=None) -> tuple[float, int]:
        """Send every request once; returns (seconds, non-2xx answers). ``on_answer(index, body)`` sees POST answers."""
        wire = self.encode(requests)
        posts = {i for i, request in enumerate(requests) if request[0] == "POST"} if on_answer is not None else set()
        counter = itertools.count()
        errors = [0]

        def worker() -> None:
            sock = socket.create_connection((self.host, self.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            buffer, total = b"", len(wire)
            while True:
                index = next(counter)
                if index >= total:
                    break
                sock.sendall(wire[index])
                while b"\r\n\r\n" not in buffer:
                    buffer += sock.recv(65536)
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                status, length = int(head[9:12]), 0
                for field in head.split(b"\r\n")[1:]:
                    if field[:15].lower() == b"content-length:":
                        length = int(field[15:])
                        break
                while len(buffer) < length:
                    buffer += sock.recv(65536)
                data, buffer = buffer[:length], buffer[length:]
                if status >= 300:
                    errors[0] += 1
                if index in posts:
                    on_answer(index, data)
            sock.close()

        threads = [threading.Thread(target=worker) for _ in range(self.connections)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started, errors[0]


def run_ceiling(workdir: Path, connections: int, server: str) -> dict:
    creates, patches = load_phases(workdir / "requests.bin")
    lms = Lms(workdir, "fresh-lms", server)
    try:
        generator = Generator(lms.base_url, connections)
        new_ids: dict[str, str] = {}

        def remember(index: int, data: bytes) -> None:
            old = creates[index][3]
            if old is not None:
                new_ids[old] = orjson.loads(data)["id"]

        cpu, server_cpu = time.process_time(), lms.cpu_seconds()
        create_s, create_errors = generator.run(creates, remember)
        cpu, server_cpu = time.process_time() - cpu, lms.cpu_seconds() - server_cpu
        swap = lambda match: new_ids.get(match.group(0), match.group(0))  # noqa: E731
        rewritten = [(m, UUID.sub(swap, p), UUID.sub(swap, b) if b else b) for m, p, b in patches]  # not timed
        cpu2, server_cpu2 = time.process_time(), lms.cpu_seconds()
        patch_s, patch_errors = generator.run(rewritten)
        cpu += time.process_time() - cpu2
        server_cpu += lms.cpu_seconds() - server_cpu2
    finally:
        lms.stop()
    total = len(creates) + len(patches)
    seconds = create_s + patch_s
    return {"requests": total, "create_phase_requests": len(creates), "patch_phase_requests": len(patches),
            "seconds": round(seconds, 2), "requests_per_second": round(total / seconds, 1),
            "create_phase_requests_per_second": round(len(creates) / create_s, 1),
            "patch_phase_requests_per_second": round(len(patches) / patch_s, 1) if patches else None,
            "errors": create_errors + patch_errors, "connections": connections,
            "generator_cpu_ms_per_request": round(cpu * 1000 / total, 3),
            "server_cpu_ms_per_request": round(server_cpu * 1000 / total, 3)}


# ------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--groups-per-user", type=float, default=2.0,
                        help="mean direct group memberships per user (2.0: about 200,000 for 100,000 users)")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="engine workers (the job's settings.concurrency); 16: the workers are greenlets, and "
                             "with 8 the users phase of 100,000 users took 86 s instead of 80")
    parser.add_argument("--members-per-patch", type=int, default=1, help="the job's settings.membersPerPatch")
    parser.add_argument("--connections", type=int, default=None,
                        help="keep-alive connections of the replay (default: the engine's concurrency)")
    parser.add_argument("--no-log", action="store_true", help="do not write the provisioning log")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--server", choices=("granian", "cheroot"), default="granian",
                        help="the LMS's HTTP server (entrasim serve lms --server): granian, the fast one, by default")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--info-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.info_file, args.server)
        return
    started = time.perf_counter()
    tenant = seed(args.users, args.groups, args.groups_per_user)
    seeded_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seed_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="entrasim-initial-sync-") as tmp:
        workdir = Path(tmp)
        lms = Lms(workdir, "lms", args.server)
        try:
            server_cpu = lms.cpu_seconds()
            engine = run_engine(tenant, lms.base_url, args, workdir)
            engine["server_cpu_ms_per_request"] = round((lms.cpu_seconds() - server_cpu) * 1000 / engine["requests"], 3)
        finally:
            lms.stop()
        del tenant
        ceiling = run_ceiling(workdir, args.connections or args.concurrency, args.server)
    ratio = engine["requests_per_second"] / ceiling["requests_per_second"]
    # The same split for the engine: users and groups (queries and creates), then memberships and managers (PATCHes).
    phase = engine["phase_seconds"]
    create_s = phase.get("users", 0) + phase.get("groups", 0)
    patch_s = phase.get("memberships", 0) + phase.get("references", 0)
    phase_ratios = {
        "create_phase": round(ceiling["create_phase_requests"] / create_s / ceiling["create_phase_requests_per_second"], 3)
        if create_s else None,
        "patch_phase": round(ceiling["patch_phase_requests"] / patch_s / ceiling["patch_phase_requests_per_second"], 3)
        if patch_s and ceiling["patch_phase_requests_per_second"] else None}
    report = {"users": args.users, "groups": args.groups, "server": args.server, "concurrency": args.concurrency,
              "members_per_patch": args.members_per_patch, "log": not args.no_log,
              "python": sys.version.split()[0], "cpus": os.cpu_count(), "seed_seconds": round(seed_s, 1),
              "rss_after_seeding_mib": round(seeded_rss, 1), "engine": engine, "ceiling": ceiling,
              "ratio_to_ceiling": round(ratio, 3), "phase_ratios_to_ceiling": phase_ratios, "load_average": [round(x, 2) for x in os.getloadavg()]}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    e, c = engine, ceiling
    print(f"initial cycle: {e['users']:,} users, {e['groups']:,} groups, {e['memberships']:,} memberships "
          f"({e['state']}, {e['failures']} failures), engine concurrency {args.concurrency}, "
          f"{args.members_per_patch} member(s) per PATCH, log {'off' if args.no_log else 'on'}, LMS on {args.server}")
    print("  phases (s): " + ", ".join(f"{p} {s}" for p, s in e["phase_seconds"].items()) + f"; cycle {e['seconds']} s")
    print(f"  users/s {e['users_per_second']:,}   memberships/s {e['memberships_per_second']:,}   "
          f"requests/s {e['requests_per_second']:,} ({e['requests']:,} requests)")
    print(f"  engine CPU {e['client_cpu_ms_per_request']} ms/request ({e['client_cpu_ms_per_user']} ms/user); "
          f"server CPU {e['server_cpu_ms_per_request']} ms/request")
    print(f"  peak RSS {e['peak_rss_mib']:,} MiB (after seeding: {report['rss_after_seeding_mib']:,} MiB)")
    print(f"ceiling (same requests, {c['connections']} keep-alive connections, fresh LMS): "
          f"{c['requests_per_second']:,} requests/s in {c['seconds']} s ({c['errors']} errors; generator "
          f"{c['generator_cpu_ms_per_request']} ms/request, server {c['server_cpu_ms_per_request']} ms/request)")
    print(f"ratio engine / ceiling: {ratio:.2f} (users and groups {phase_ratios['create_phase']}, "
          f"memberships and managers {phase_ratios['patch_phase']})   load average {report['load_average']}")


if __name__ == "__main__":
    main()
