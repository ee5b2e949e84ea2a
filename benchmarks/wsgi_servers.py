"""Which WSGI server should `entrasim serve` use? Measured, side by side, in one run.

A stateful mock must keep all its state in ONE process (a control-API mutation
must be visible to the next request, whatever serves it), so the candidates are
single-process servers plus gunicorn with one worker and threads:

- werkzeug's threaded server (HTTP/1.1 keep-alive), the baseline;
- simulator.serving as entrasim runs it: cheroot (CherryPy's thread-pooled server,
  the default) and granian (``--server granian``, a Rust HTTP server forking one worker);
- gunicorn -w 1 -k gthread.

Each serves the same Flask app: a small JSON body and a 999-item, ~200 KB
pre-serialized page. wrk drives it with keep-alive connections. The first server
in the list is the baseline; every other line prints its ratio to it, and each
line gives the server's CPU per request (its process and descendants, from
/proc): on a 2-core machine shared with the client, CPU per request is what
bounds a benchmark, more than requests/s with an idle client.

    python benchmarks/wsgi_servers.py [--seconds 5] [--connections 8]

Needs wrk (Debian package ``wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVERS = ("werkzeug", "entrasim", "entrasim-granian", "gunicorn-gthread")


def make_app():
    from flask import Flask, Response

    page = json.dumps({"@odata.context": "x", "value": [
        {"@odata.type": "#microsoft.graph.user", "id": f"{i:08d}-0000-4000-8000-000000000000", "displayName": f"User {i}",
         "userPrincipalName": f"user{i}@contoso.onmicrosoft.com", "mail": f"user{i}@contoso.com", "givenName": "Given",
         "surname": "Surname", "jobTitle": "Engineer", "officeLocation": "Amsterdam", "preferredLanguage": "nl-NL",
         "businessPhones": [], "mobilePhone": None} for i in range(999)]}).encode()
    app = Flask("bench")

    @app.get("/small")
    def small():
        return Response(b'{"ok":true}', content_type="application/json")

    @app.get("/page")
    def big():
        return Response(page, content_type="application/json")

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(name: str, port: int) -> None:
    app = make_app()
    if name == "werkzeug":
        from werkzeug.serving import WSGIRequestHandler, make_server

        class KeepAlive(WSGIRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_request(self, *args: object) -> None:
                return None

        make_server("127.0.0.1", port, app, threaded=True, request_handler=KeepAlive).serve_forever()
    elif name in ("entrasim", "entrasim-granian"):
        sys.path.insert(0, str(ROOT))
        from simulator.serving import bind, serve_until_interrupted

        serve_until_interrupted(bind(app, "127.0.0.1", port, server="granian" if name == "entrasim-granian" else "cheroot"))
    else:
        raise SystemExit(f"unknown server {name}")


def start(name: str, port: int) -> subprocess.Popen:
    if name == "gunicorn-gthread":
        cmd = [sys.executable, "-m", "gunicorn", "-w", "1", "-k", "gthread", "--threads", "16", "-b", f"127.0.0.1:{port}",
               "--log-level", "warning", "benchmarks.wsgi_servers:make_app()"]
    else:
        cmd = [sys.executable, __file__, "serve", name, str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{name} did not start")


def wrk(url: str, seconds: int, connections: int, pid: int) -> tuple[float, float]:
    """Requests/s, and the server's CPU milliseconds per request over the run."""
    from simulator.process_cpu import process_tree_cpu_seconds

    before = process_tree_cpu_seconds(pid) or 0.0
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url], capture_output=True, text=True).stdout
    cpu = (process_tree_cpu_seconds(pid) or 0.0) - before
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    rate = float(match.group(1)) if match else 0.0
    return rate, (cpu * 1000 / (rate * seconds) if rate else 0.0)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
        return
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    results: dict[str, dict[str, float]] = {}
    for name in SERVERS:
        port = free_port()
        proc = start(name, port)
        try:
            results[name] = {path: wrk(f"http://127.0.0.1:{port}/{path}", args.seconds, args.connections, proc.pid)
                             for path in ("small", "page")}
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    base = results[SERVERS[0]]
    print(f"{'server':<18}{'small req/s':>12}{'ratio':>7}{'CPU ms/req':>11}{'page req/s':>12}{'ratio':>7}{'CPU ms/req':>11}")
    for name, r in results.items():
        (small, small_cpu), (page, page_cpu) = r["small"], r["page"]
        print(f"{name:<18}{small:>12.0f}{small / base['small'][0]:>7.2f}{small_cpu:>11.3f}"
              f"{page:>12.0f}{page / base['page'][0]:>7.2f}{page_cpu:>11.3f}")
    print(f"load average {[round(x, 2) for x in os.getloadavg()]}")


if __name__ == "__main__":
    main()
