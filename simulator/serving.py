"""Run any entrasim Flask app on a real socket: in a thread (tests, scenarios) or until interrupted (CLI).

Every server binds 127.0.0.1 by default and port 0 means "any free port": the
bound URL is returned (and printed by the CLI), and the optional info file is
written only once the socket is listening, so a script that waits for the file
can connect at once.

The WSGI server is cheroot (CherryPy's thread-pooled server), chosen by
measurement (benchmarks/wsgi_servers.py): about twice werkzeug's threaded server
on the same app, with TLS built in and embeddable in a thread. A stateful mock
needs all its state in ONE process (a control-API mutation must be seen by the
next request, whatever thread serves it), which rules out multi-process servers.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from .tls import CertPaths

logging.getLogger("cheroot").setLevel(logging.CRITICAL)


class _Gateway(wsgi.Gateway_10):
    """cheroot's WSGI 1.0 gateway, plus the client socket in ``entrasim.socket``.

    Fault injection needs the socket to drop a connection or cut a body short.
    """

    def get_environ(self) -> dict[str, Any]:
        env = super().get_environ()
        env["entrasim.socket"] = self.req.conn.socket
        return env


class _Server(wsgi.Server):
    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        # Dropped connections are expected (fault injection, clients going away); stay quiet.
        return None


@dataclass
class RunningServer:
    """A bound server: its URL, and ``stop()`` to shut it down."""

    server: wsgi.Server
    scheme: str
    host: str
    port: int
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.scheme == "https" and self.host in ("127.0.0.1", "::1"):
            host = "localhost"  # the certificate names localhost; msal needs a hostname-shaped authority
        return f"{self.scheme}://{host}:{self.port}"

    def serve_forever(self) -> None:
        self.server.serve()

    def stop(self) -> None:
        self.server.stop()
        if self.thread is not None:
            self.thread.join(timeout=10)

    def __enter__(self) -> "RunningServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def bind(app: Callable, host: str = "127.0.0.1", port: int = 0, tls: CertPaths | None = None,
         threads: int = 16) -> RunningServer:
    """Bind and listen (not yet serving). Raises OSError when the address is taken."""
    server = _Server((host, port), app, numthreads=threads, server_name="entrasim", request_queue_size=128, timeout=30)
    server.gateway = _Gateway
    server.expiration_interval = 0.05  # the serve loop's tick: stop() returns within it (default 0.5 s)
    if tls is not None:
        adapter = BuiltinSSLAdapter(str(tls.server_cert), str(tls.server_key))
        adapter.context = tls.ssl_context()
        server.ssl_adapter = adapter
    server.prepare()
    bound_port = server.bind_addr[1]
    return RunningServer(server=server, scheme="https" if tls else "http", host=host, port=bound_port)


def start_in_thread(app: Callable, host: str = "127.0.0.1", port: int = 0, tls: CertPaths | None = None) -> RunningServer:
    """Serve ``app`` from a daemon thread; the returned object's ``url`` is ready to use."""
    running = bind(app, host, port, tls)
    thread = threading.Thread(target=running.serve_forever, daemon=True, name=f"entrasim-{running.port}")
    thread.start()
    running.thread = thread
    return running


def write_info_file(path: str | os.PathLike[str], info: dict[str, Any]) -> None:
    """Write JSON atomically (readers never see a half-written file); owner-only, as it holds secrets."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(info, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, target)


def serve_until_interrupted(running: RunningServer, on_stop: Callable[[], None] | None = None) -> None:
    """Serve in the foreground until SIGINT or SIGTERM, then shut down cleanly."""
    def _stop(signum: int, _frame: object) -> None:
        threading.Thread(target=running.server.stop, daemon=True).start()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        running.serve_forever()
    finally:
        if on_stop is not None:
            on_stop()
        print("entrasim: stopped", file=sys.stderr, flush=True)
