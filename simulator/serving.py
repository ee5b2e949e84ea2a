"""Run any entrasim Flask app on a real socket: in a thread (tests, scenarios) or until interrupted (CLI).

Every server binds 127.0.0.1 by default and port 0 means "any free port": the
bound URL is returned (and printed by the CLI), and the optional info file is
written only once the socket is listening, so a script that waits for the file
can connect at once.

The server is werkzeug's threaded WSGI server speaking HTTP/1.1 with keep-alive
(TLS handshakes are paid once per connection, not per request). It keeps all
state in one process, which a stateful mock needs: a control-API mutation must
be seen by the next request whatever thread serves it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .tls import CertPaths

logging.getLogger("werkzeug").setLevel(logging.WARNING)


class _KeepAliveHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:  # our own request log records requests
        return None


@dataclass
class RunningServer:
    """A started server: its URL, and ``stop()`` to shut it down."""

    server: BaseWSGIServer
    scheme: str
    host: str
    port: int
    thread: threading.Thread | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.scheme == "https" and self.host in ("127.0.0.1", "::1"):
            host = "localhost"  # the certificate names localhost; msal needs a hostname-shaped authority
        return f"{self.scheme}://{host}:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def __enter__(self) -> "RunningServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def bind(app: Callable, host: str = "127.0.0.1", port: int = 0, tls: CertPaths | None = None) -> RunningServer:
    """Bind and listen (not yet serving)."""
    ssl_context = tls.ssl_context() if tls is not None else None
    server = make_server(host, port, app, threaded=True, request_handler=_KeepAliveHandler, ssl_context=ssl_context)
    server.daemon_threads = True
    return RunningServer(server=server, scheme="https" if tls else "http", host=host, port=server.server_port)


def start_in_thread(app: Callable, host: str = "127.0.0.1", port: int = 0, tls: CertPaths | None = None) -> RunningServer:
    """Serve ``app`` from a daemon thread; the returned object's ``url`` is ready to use."""
    running = bind(app, host, port, tls)
    thread = threading.Thread(target=running.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                              name=f"entrasim-{running.port}")
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
        threading.Thread(target=running.server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        running.server.serve_forever(poll_interval=0.2)
    finally:
        running.server.server_close()
        if on_stop is not None:
            on_stop()
        print("entrasim: stopped", file=sys.stderr, flush=True)
