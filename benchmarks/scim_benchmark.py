"""SCIM LMS throughput against scim2-server, side by side in one run, under the same WSGI server.

What it answers (issue 3): requests per second for the three requests Entra
sends most -- POST /Users, GET /Users?filter=userName eq "...", and PATCH
adding one member to a group -- on our SCIM LMS (rfc profile, as
``entrasim serve lms`` runs it) and on scim2-server (PyPI, in-memory storage),
and whether adding a member costs the same on a 10-member and on a
100,000-member group.

Both servers run in their own process, seeded in-process before they listen,
and are served by the same WSGI server (``simulator.serving``, the one every
entrasim server uses). wrk drives them with keep-alive connections; Lua
scripts make every POST a new user and every PATCH a new member.

    python benchmarks/scim_benchmark.py [--seconds 5] [--connections 8] [--big 100000] [--json]

Seeding: both servers get the same ``--users`` users (``user000000@example.com``...)
for the filter GETs, a 10-member group and a ``--big``-member group. Our
server checks that members exist, so its members and the ids the PATCHes add
are real users; scim2-server checks nothing, so it only holds the member ids
(a smaller store, which can only help it). Needs wrk (Debian package ``wrk``).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
IMPLEMENTATIONS = ("entrasim", "scim2-server")
BASE_PATHS = {"entrasim": "/scim/v2", "scim2-server": "/v2"}
WRK_THREADS = 2
LOG_BODIES = True
RUN_BUDGET = 20000  # member ids per wrk thread and run; the pool holds (rounds + 2) slices
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"

# ------------------------------------------------------------------ servers (run in a child process)


def member_id(i: int) -> str:
    return f"m{i:06d}"


def pool_id(thread: int, n: int) -> str:
    return f"p{thread}-{n:06d}"


def serve_entrasim(users: int, big: int, pool: int) -> object:
    sys.path.insert(0, str(ROOT))
    from simulator.lms.scim import LmsConfig, ScimStore, create_app
    from simulator.lms.scim.auth import TokenRegistry

    store = ScimStore(seed=1)
    with store.lock:
        for i in range(users):
            store.insert("User", {"schemas": [USER_URN], "userName": f"user{i:06d}@example.com"}, rid=f"u{i:06d}")
        for i in range(max(big, 10)):
            store.insert("User", {"schemas": [USER_URN], "userName": f"member{i:06d}@example.com"}, rid=member_id(i))
        for t in range(1, WRK_THREADS + 1):
            for n in range(1, pool + 1):
                store.insert("User", {"schemas": [USER_URN], "userName": f"pool{t}-{n:06d}@example.com"}, rid=pool_id(t, n))
        store.insert("Group", {"schemas": [GROUP_URN], "displayName": "small",
                               "members": [{"value": member_id(i)} for i in range(10)]}, rid="group-small")
        store.insert("Group", {"schemas": [GROUP_URN], "displayName": "big",
                               "members": [{"value": member_id(i)} for i in range(big)]}, rid="group-big")
    tokens = TokenRegistry(store.clock)
    tokens.add(TOKEN)
    return create_app(store, config=LmsConfig(profile="rfc", tokens=tokens, log_bodies=LOG_BODIES))


def serve_scim2_server(users: int, big: int, pool: int) -> object:
    import datetime

    from scim2_server.memory import InMemoryStorage
    from scim2_server.service import ScimService
    from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
    from scim2_server.utils import load_default_provider

    provider = load_default_provider()
    provider.config.authentication_schemes = [*(provider.config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    user_model, group_model, _enterprise = provider.models
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()

    def meta(kind: str, n: int) -> dict:
        return {"resourceType": kind, "created": now, "lastModified": now, "version": f'W/"seed-{n}"'}

    resources = [user_model.model_validate({"schemas": [USER_URN], "id": f"u{i:06d}", "meta": meta("User", i),
                                            "userName": f"user{i:06d}@example.com"}) for i in range(users)]
    for gid, name, size in (("group-small", "small", 10), ("group-big", "big", big)):
        resources.append(group_model.model_validate({
            "schemas": [GROUP_URN], "id": gid, "displayName": name, "meta": meta("Group", size),
            "members": [{"value": member_id(i)} for i in range(size)]}))
    storage = InMemoryStorage()
    storage.resources = resources
    return BearerTokenApplication(storage, provider, service=ScimService(provider, secret="b" * 32), bearer_tokens=[TOKEN])


def serve(name: str, users: int, big: int, pool: int, log_bodies: bool = True) -> None:
    global LOG_BODIES
    LOG_BODIES = log_bodies
    sys.path.insert(0, str(ROOT))
    from simulator.serving import bind, serve_until_interrupted

    app = serve_entrasim(users, big, pool) if name == "entrasim" else serve_scim2_server(users, big, pool)
    running = bind(app, "127.0.0.1", 0)
    print(f"READY {running.port}", flush=True)
    serve_until_interrupted(running)


# ------------------------------------------------------------------ load (wrk + Lua)

LUA_COMMON = """
local counter = 0
local tag = "x"
local threads = 0
tid = 0  -- a global: setup() sets it in each thread's own Lua state
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  tag = args[1] or "x"
  counter = tonumber(args[2]) or 0  -- each run adds members from its own slice of the pool
  math.randomseed(tid * 7919)
end
local headers = {["Authorization"] = "Bearer %(token)s", ["Content-Type"] = "application/scim+json"}
"""

LUA = {
    "post_users": LUA_COMMON + """
request = function()
  counter = counter + 1
  local name = string.format("bench-%%s-%%d-%%d@example.com", tag, tid, counter)
  local body = '{"schemas":["%(user)s"],"userName":"' .. name .. '","name":{"givenName":"Bench","familyName":"User"},'
    .. '"emails":[{"value":"' .. name .. '","type":"work","primary":true}],"active":true}'
  return wrk.format("POST", "%(base)s/Users", headers, body)
end
""",
    "filter_users": LUA_COMMON + """
request = function()
  local i = math.random(0, %(users)d - 1)
  local path = string.format('%(base)s/Users?filter=userName+eq+%%%%22user%%06d%%%%40example.com%%%%22', i)
  return wrk.format("GET", path, headers)
end
""",
    "add_member": LUA_COMMON + """
request = function()
  counter = counter + 1
  local member = string.format("p%%d-%%06d", tid, counter)
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members",'
    .. '"value":[{"value":"' .. member .. '"}]}]}'
  return wrk.format("PATCH", "%(base)s/Groups/%(group)s", headers, body)
end
""",
}


def lua_script(kind: str, directory: Path, base: str, users: int, group: str = "") -> Path:
    path = directory / f"{kind}-{group or 'x'}-{base.strip('/').replace('/', '_')}.lua"
    path.write_text(LUA[kind] % {"token": TOKEN, "base": base, "users": users, "group": group, "user": USER_URN})
    return path


def wrk(url: str, script: Path, seconds: int, connections: int, tag: str, offset: int = 0) -> dict:
    out = subprocess.run(["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "--timeout", "120s", "--latency",
                          "-s", str(script), url, "--", tag, str(offset)], capture_output=True, text=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)

    def ms(match: re.Match | None) -> float | None:
        if match is None:
            return None
        return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]

    return {"rps": float(rps.group(1)) if rps else 0.0, "requests": int(total.group(1)) if total else 0,
            "errors": int(bad.group(1)) if bad else 0, "p50_ms": ms(p50), "p99_ms": ms(p99)}


def sequential_patches(port: int, base: str, group: str, offset: int, count: int = 2) -> dict:
    """Requests per second from ``count`` member-adding PATCHes sent one after the other."""
    import urllib.request

    began = time.perf_counter()
    errors = 0
    for n in range(count):
        body = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": pool_id(1, offset + 10 * n + 1)}]}]}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}{base}/Groups/{group}", data=body, method="PATCH",
                                     headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"})
        with urllib.request.urlopen(req, timeout=600) as resp:
            errors += resp.status >= 300
    elapsed = time.perf_counter() - began
    return {"rps": count / elapsed, "requests": count, "errors": errors, "p50_ms": elapsed / count * 1000,
            "p99_ms": elapsed / count * 1000, "sequential": True}


def start(name: str, users: int, big: int, pool: int, log_bodies: bool) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, __file__, "serve", name, str(users), str(big), str(pool),
                             "1" if log_bodies else "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"{name} did not start")
    return proc, int(line.split()[1])


SCENARIOS = (("POST /Users", "post_users", ""), ("GET /Users?filter=userName eq", "filter_users", ""),
             ("PATCH add member, 10-member group", "add_member", "group-small"),
             ("PATCH add member, big group", "add_member", "group-big"))


def run(args: argparse.Namespace) -> dict:
    """Both servers up at once; each measurement alternates between them, best of ``--rounds``.

    On a shared machine a neighbour's load comes and goes; alternating and keeping each server's best
    round compares the two under the same conditions instead of whichever ran during a quiet minute.
    """
    results: dict[str, dict[str, dict]] = {name: {} for name in IMPLEMENTATIONS}
    servers: dict[str, tuple[subprocess.Popen, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for name in IMPLEMENTATIONS:
                began = time.perf_counter()
                servers[name] = start(name, args.users, args.big, args.pool, args.log_bodies)
                results[name]["seed_seconds"] = round(time.perf_counter() - began, 1)
            for label, kind, group in SCENARIOS:
                slow = set()
                if kind == "add_member":
                    # A server that needs seconds per PATCH would keep working on wrk's abandoned requests long
                    # after each run and skew the next ones: time it request by request instead.
                    for name in IMPLEMENTATIONS:
                        probe = sequential_patches(servers[name][1], BASE_PATHS[name], group,
                                                   (args.rounds + 1) * RUN_BUDGET, count=1)
                        if probe["rps"] < 2:
                            slow.add(name)
                            results[name][label] = sequential_patches(servers[name][1], BASE_PATHS[name], group,
                                                                      (args.rounds + 1) * RUN_BUDGET + 1, count=2)
                fast = [name for name in IMPLEMENTATIONS if name not in slow]
                for name in fast:
                    script = lua_script(kind, Path(tmp), BASE_PATHS[name], args.users, group)
                    if args.warmup:
                        wrk(f"http://127.0.0.1:{servers[name][1]}", script, args.warmup, args.connections,
                            f"warm{kind}{group}")
                rounds: dict[str, list[dict]] = {name: [] for name in fast}
                for r in range(args.rounds):
                    for name in fast:
                        script = lua_script(kind, Path(tmp), BASE_PATHS[name], args.users, group)
                        rounds[name].append(wrk(f"http://127.0.0.1:{servers[name][1]}", script, args.seconds,
                                                args.connections, f"r{r}{kind}{group}", (r + 1) * RUN_BUDGET))
                for name in fast:
                    best = max(rounds[name], key=lambda m: m["rps"])
                    best["rounds_rps"] = [m["rps"] for m in rounds[name]]
                    best["errors"] = sum(m["errors"] for m in rounds[name])
                    best["requests"] = sum(m["requests"] for m in rounds[name])
                    results[name][label] = best
        finally:
            for proc, _port in servers.values():
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return results


def report(results: dict, args: argparse.Namespace) -> None:
    ours, theirs = results["entrasim"], results["scim2-server"]
    print(f"SCIM throughput, wrk -t{WRK_THREADS} -c{args.connections} -d{args.seconds}s, keep-alive, best of "
          f"{args.rounds} alternating rounds; {args.users:,} users, big group = {args.big:,} members; "
          f"both served by simulator.serving; entrasim request log {'with' if args.log_bodies else 'without'} bodies")
    print(f"{'request':40} {'entrasim req/s':>15} {'scim2-server req/s':>19} {'ratio':>7}   p99 ms (entrasim / scim2-server)")
    for label, _kind, _group in SCENARIOS:
        a, b = ours[label], theirs[label]
        ratio = a["rps"] / b["rps"] if b["rps"] else float("inf")
        shown = label.replace("big group", f"{args.big:,}-member group")
        note = "  (scim2-server: sequential requests, too slow for wrk's window)" if b.get("sequential") else ""
        print(f"{shown:40} {a['rps']:15.0f} {b['rps']:19.2f} {ratio:6.1f}x   {a['p99_ms'] or 0:.1f} / "
              f"{b['p99_ms'] or 0:.1f}{note}")
        for who, r in (("entrasim", a), ("scim2-server", b)):
            if r["errors"]:
                print(f"   ! {who}: {r['errors']} non-2xx answers out of {r['requests']}")
    for who, r in (("entrasim", ours), ("scim2-server", theirs)):
        small, large = r["PATCH add member, 10-member group"]["rps"], r["PATCH add member, big group"]["rps"]
        flat = large / small if small else 0.0
        print(f"member-add cost flatness, {who}: {args.big:,}-member / 10-member throughput = {flat:.2f}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "1")
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="Measured seconds per request kind.")
    parser.add_argument("--warmup", type=int, default=1, help="Unmeasured seconds before each request kind.")
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds per request kind; the best counts.")
    parser.add_argument("--connections", type=int, default=8, help="Keep-alive connections wrk holds open.")
    parser.add_argument("--users", type=int, default=20000, help="Users seeded for the filter GETs.")
    parser.add_argument("--big", type=int, default=100000, help="Members of the big group.")
    parser.add_argument("--no-log-bodies", dest="log_bodies", action="store_false",
                        help="Run entrasim without request/response bodies in its request log (default: as served).")
    parser.add_argument("--json", action="store_true", help="Print one JSON object instead of the table.")
    parser.add_argument("--json-out", help="Also write the results as JSON to this file.")
    args = parser.parse_args()
    args.pool = (args.rounds + 2) * RUN_BUDGET
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    results = run(args)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2) + "\n")
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results, args)


if __name__ == "__main__":
    main()
