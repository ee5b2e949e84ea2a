"""Run any entrasim Flask app on a real socket: in a thread (tests, scenarios) or until interrupted (CLI).

Every server binds 127.0.0.1 by default and port 0 means "any free port": the
bound URL is returned (and printed by the CLI), and the optional info file is
written only once the socket is listening, so a script that waits for the file
can connect at once.

Two WSGI servers, chosen by measurement (benchmarks/wsgi_servers.py):

- cheroot (CherryPy's thread-pooled server), the default: about twice werkzeug's
  threaded server on the same app, TLS built in, embeddable in a thread (tests
  and scenarios), and it hands the app the client socket, which the fault
  injector needs to drop a connection or cut a body short;
- granian (an HTTP server written in Rust), for throughput: its own cost per
  request is a tenth of cheroot's, whose thread hand-off per keep-alive
  request dominates a cheap request. It only runs in the foreground: granian
  forks ONE worker process that serves while the first process supervises, and
  it cannot drop connections.

A stateful mock needs all its state in ONE process (a control-API mutation must
be seen by the next request, whatever thread serves it), so both run a single
serving process.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from .tls import CertPaths

logging.getLogger("cheroot").setLevel(logging.CRITICAL)

#: The servers ``bind`` knows, the default first.
SERVER_KINDS = ("cheroot", "granian")
#: Threads granian runs the app on: one is the fastest (no GIL hand-off), a second keeps a request
#: delayed by a latency fault from holding up every other connection.
GRANIAN_THREADS = 2


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
        return _url(self.scheme, self.host, self.port)

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


def connection_faults_refusal(server: str) -> str | None:
    """Why a fault injector must refuse drop and truncate rules on ``server`` (None: it can honour them).

    Both need the client socket, which only cheroot hands the app.
    """
    if server == "granian":
        return "it runs on granian; serve it with --server cheroot for drop and truncate rules"
    return None


def _url(scheme: str, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    if scheme == "https" and host in ("127.0.0.1", "::1"):
        shown = "localhost"  # the certificate names localhost; msal needs a hostname-shaped authority
    return f"{scheme}://{shown}:{port}"


@dataclass
class GranianServer:
    """A port reserved for granian, which binds it when ``serve_forever`` starts its worker.

    The reservation is a socket bound with SO_REUSEPORT that never listens: it
    holds the port (port 0 becomes a real port before granian starts, and a
    port someone else listens on fails here, with a plain OSError) while
    receiving no connections, because only listening sockets do. granian's
    worker binds the same port with SO_REUSEPORT and is the only listener.
    """

    app: Callable
    scheme: str
    host: str
    port: int
    tls: CertPaths | None
    threads: int
    reservation: socket.socket
    _server: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return _url(self.scheme, self.host, self.port)

    def serve_forever(self) -> None:
        """Serve until SIGINT/SIGTERM (granian's own handlers). The app object is inherited by the forked worker."""
        from granian.constants import Interfaces
        from granian.log import LogLevels
        from granian.server import MPServer

        tls = {}
        if self.tls is not None:
            tls = {"ssl_cert": Path(self.tls.server_cert), "ssl_key": Path(self.tls.server_key)}
        self._server = MPServer("entrasim", address=self.host, port=self.port, interface=Interfaces.WSGI, workers=1,
                                blocking_threads=self.threads, log_level=LogLevels.warning, **tls)
        app = self.app
        supervisor = os.getpid()
        # The worker must inherit ``app`` (and the state it holds) by fork: granian follows multiprocessing's
        # start method, which is "spawn" or "forkserver" on some platforms and Pythons (3.14 on Linux).
        multiprocessing.set_start_method("fork", force=True)

        def load_in_worker(*_args: Any, **_kwargs: Any) -> Callable:
            _die_with(supervisor)
            _forget_request_shaped_environment()
            return app

        try:
            self._server.serve(target_loader=load_in_worker, wrap_loader=False)
        finally:
            self.reservation.close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.signal_handler_interrupt()

    def wait_listening(self, timeout: float = 30.0) -> bool:
        """True once granian's worker accepts connections (the reservation never does)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.02)
        return False


def _die_with(supervisor: int) -> None:
    """In granian's worker: end when the supervisor ends, even by SIGKILL.

    granian stops its worker on SIGINT/SIGTERM, but a supervisor killed outright
    would leave the worker serving (and holding the port and the caller's
    pipes). Linux's parent-death signal closes that gap.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != supervisor:  # it died before the line above
        os._exit(1)


def _forget_request_shaped_environment() -> None:
    """In granian's worker: drop environment variables that would pose as request headers.

    granian starts every WSGI environ from a copy of ``os.environ`` (CGI's
    habit), so an ``HTTP_AUTHORIZATION`` or ``HTTP_PROXY`` variable of the
    server's own environment would reach the app as a header of every request
    that lacks it ("httpoxy"). The worker is a fork, so the supervisor keeps its
    environment.
    """
    for name in [n for n in os.environ if n.startswith("HTTP_") or n in ("CONTENT_TYPE", "CONTENT_LENGTH")]:
        del os.environ[name]


def _reserve(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def bind(app: Callable, host: str = "127.0.0.1", port: int = 0, tls: CertPaths | None = None,
         threads: int | None = None, server: str = "cheroot") -> "RunningServer | GranianServer":
    """Bind (cheroot: and listen; granian: reserve the port), not yet serving. OSError when the address is taken."""
    if server == "granian":
        reservation = _reserve(host, port)
        return GranianServer(app=app, scheme="https" if tls else "http", host=host,
                             port=reservation.getsockname()[1], tls=tls, threads=threads or GRANIAN_THREADS,
                             reservation=reservation)
    if server != "cheroot":
        raise ValueError(f"unknown server {server!r}; expected one of {', '.join(SERVER_KINDS)}")
    return _bind_cheroot(app, host, port, tls, threads or 16)


def _bind_cheroot(app: Callable, host: str, port: int, tls: CertPaths | None, threads: int) -> RunningServer:
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
    running = _bind_cheroot(app, host, port, tls, 16)
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


def serve_until_interrupted(running: "RunningServer | GranianServer", on_stop: Callable[[], None] | None = None,
                            on_ready: Callable[[], None] | None = None) -> None:
    """Serve in the foreground until SIGINT or SIGTERM, then shut down cleanly.

    ``on_ready`` (announce the URL, write the info file) runs once the server
    accepts connections: at once for cheroot, whose socket already listens;
    for granian, when its worker answers a TCP connect.
    """
    if isinstance(running, GranianServer):
        _serve_granian(running, on_ready)
        if on_stop is not None:
            on_stop()
        print("entrasim: stopped", file=sys.stderr, flush=True)
        return
    if on_ready is not None:
        on_ready()

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


def _serve_granian(running: GranianServer, on_ready: Callable[[], None] | None) -> None:
    def announce() -> None:
        if not running.wait_listening():
            print("entrasim: error: granian did not start listening within 30 s", file=sys.stderr, flush=True)
            running.stop()
            return
        if on_ready is not None:
            on_ready()

    threading.Thread(target=announce, daemon=True, name="entrasim-ready").start()
    running.serve_forever()
