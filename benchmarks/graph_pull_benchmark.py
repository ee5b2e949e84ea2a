"""Graph-pull LMS import speed: users/s for "Import from Azure AD" of one big group, against a bare client.

One Graph mock process serves a tenant whose one group holds ``--members`` users
(100,000 by default; each with a manager, a department and the other imported
fields). In this process, in turn and on the same server:

- the bare client: one requests session, one token, then ``GET
  /groups/{id}/members/microsoft.graph.user`` with the importer's exact query
  (``$select``, ``$expand=manager``, ``$top=999``) following ``@odata.nextLink``
  to the end, doing nothing with the users but count them;
- the LMS: ``GraphPullLms.import_group`` on a fresh LMS, i.e. the same pages plus
  the import log, the unique-email rule, department precedence, role and
  account creation for every member; then the same import again on that LMS
  (what a daily schedule costs once the accounts exist: every one unchanged).

Both speak https to the same server (its own process, so client and server each
get a core). The ratio LMS/bare is the share of the bare paging speed that the
LMS keeps (1.0: the import costs nothing beyond reading Graph).

    python benchmarks/graph_pull_benchmark.py [--members 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def serve(members: int, info_path: str, cert_dir: str) -> None:
    """The server process: a tenant with one group of ``members`` users, served over https."""
    from simulator.clock import Clock
    from simulator.graph.app import create_app
    from simulator.graph.context import GraphConfig
    from simulator.serving import bind, serve_until_interrupted, write_info_file
    from simulator.tenant import Tenant
    from simulator.tls import ensure_certs

    tenant = Tenant(seed=1, clock=Clock())
    app_reg = tenant.register_application("benchmark")
    domain = tenant.primary_domain
    managers = [tenant.create_user(userPrincipalName=f"manager{i:03}@{domain}", mail=f"manager{i:03}@contoso.com",
                                   record=False) for i in range(100)]
    users = [tenant.create_user(userPrincipalName=f"learner{i:06}@{domain}", givenName=f"Given{i}", surname="Learner",
                                mail=f"learner{i:06}@contoso.com", department=f"Department {i % 40}",
                                preferredLanguage="nl-NL", country="Netherlands", accountEnabled=i % 20 != 0,
                                managerId=managers[i % 100].id, record=False) for i in range(members)]
    group = tenant.create_group(displayName="All learners", members=[u.id for u in users], record=False)
    certs = ensure_certs(cert_dir)
    app = create_app(tenant, config=GraphConfig(log_bodies=False))
    running = bind(app, tls=certs)
    write_info_file(info_path, {"url": running.url, "tenant_id": tenant.id, "client_id": app_reg.appId,
                                "client_secret": app_reg.passwordCredentials[0].secretText, "group": group.id,
                                "ca": str(certs.ca_cert)})
    serve_until_interrupted(running)


def bare_paging(info: dict) -> tuple[int, float]:
    """A minimal client: token, then every page of the importer's query. Returns (users, seconds)."""
    import orjson
    import requests

    from simulator.lms.graph_pull.importer import EXPAND_MANAGER, SELECT

    started = time.perf_counter()
    session = requests.Session()
    session.trust_env = False
    session.verify = info["ca"]
    token = session.post(f"{info['url']}/{info['tenant_id']}/oauth2/v2.0/token", timeout=60, data={
        "client_id": info["client_id"], "client_secret": info["client_secret"], "grant_type": "client_credentials",
        "scope": "https://graph.microsoft.com/.default"}).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    url = f"{info['url']}/v1.0/groups/{info['group']}/members/microsoft.graph.user"
    params: dict | None = {"$select": ",".join(SELECT), "$expand": EXPAND_MANAGER, "$top": "999"}
    count = 0
    while url:
        resp = session.get(url, params=params, timeout=120)
        resp.raise_for_status()
        page = orjson.loads(resp.content)
        count += len(page["value"])
        url, params = page.get("@odata.nextLink"), None
    session.close()
    return count, time.perf_counter() - started


def lms_import(info: dict) -> tuple[int, float, int, float]:
    """A fresh LMS imports the group with the user role, then imports it again (the daily schedule's steady state).

    Returns (accounts created, seconds, accounts left unchanged by the second import, its seconds).
    """
    from simulator.lms.graph_pull import GraphPullLms

    lms = GraphPullLms()
    conn = lms.add_connection(tenant_id=info["tenant_id"], client_id=info["client_id"],
                              client_secret=info["client_secret"], authority_host=info["url"],
                              graph_url=f"{info['url']}/v1.0", ca_bundle=info["ca"])
    timings = []
    try:
        for _ in range(2):
            started = time.perf_counter()
            result = lms.import_group(conn.id, info["group"], "user")
            timings.append((result, time.perf_counter() - started))
            if not result.ok:
                raise SystemExit(f"the import failed: {result.error}")
    finally:
        lms.close()
    (first, first_s), (again, again_s) = timings
    return len(first.created), first_s, len(again.unchanged), again_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", nargs=2, metavar=("INFO", "CERTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.members, *args.serve)
        return

    with tempfile.TemporaryDirectory() as tmp:
        info_path = Path(tmp) / "graph.json"
        print(f"seeding a group of {args.members:,} users and starting the Graph mock...", file=sys.stderr)
        server = subprocess.Popen([sys.executable, __file__, "--members", str(args.members),
                                   "--serve", str(info_path), str(Path(tmp) / "certs")])
        try:
            while not info_path.exists():
                if server.poll() is not None:
                    raise SystemExit("the Graph mock exited early")
                time.sleep(0.2)
            info = json.loads(info_path.read_text())
            bare, lms, again = [], [], []
            for round_no in range(1, args.rounds + 1):
                count, seconds = bare_paging(info)
                bare.append(count / seconds)
                created, seconds, unchanged, again_seconds = lms_import(info)
                assert created == count == unchanged == args.members, (created, count, unchanged)
                lms.append(created / seconds)
                again.append(unchanged / again_seconds)
                print(f"round {round_no}: bare {bare[-1]:,.0f} users/s, LMS import {lms[-1]:,.0f} users/s, "
                      f"re-import {again[-1]:,.0f} users/s", file=sys.stderr)
        finally:
            server.terminate()
            server.wait(timeout=30)
    # Each round's two runs share the machine's load at that moment: the median of per-round ratios is the steadiest.
    ratio = statistics.median(lms_rate / bare_rate for lms_rate, bare_rate in zip(lms, bare))
    print(f"group of {args.members:,} members, {args.rounds} rounds (median users/s)")
    print(f"  bare client paging:       {statistics.median(bare):>10,.0f}")
    print(f"  LMS Import from Azure AD: {statistics.median(lms):>10,.0f}  (first import: every account created)")
    print(f"  LMS re-import:            {statistics.median(again):>10,.0f}  (again: every account unchanged)")
    print(f"  ratio LMS/bare:           {ratio:>10.2f}  (first import; median of the rounds' ratios)")


if __name__ == "__main__":
    main()
