"""The provisioning client's HTTP transport: keep-alive ``http.client`` connections, one request per ``send()``.

Why not urllib3 (or requests, built on it): measured against our SCIM LMS on
the project machine (benchmarks/README.md, "Provisioning cycles"), a filtered
GET plus a POST cost 0.50 ms of client CPU per request through urllib3's
PoolManager, 0.42 ms through one of its connection pools, and 0.24 ms through
``http.client`` directly, which also sends the request line, headers and body
in ONE ``send`` (urllib3 2 sends the body separately, a second system call
and a second wake-up of the server for every POST and PATCH). In an initial
sync of 100,000 users the client sends about half a million requests, so this
is the engine's largest cost after the server's answers.

What urllib3 did that is kept here: one keep-alive connection per worker (idle
connections are reused, most recent first), a connection the server closed
while idle is noticed before reuse and replaced, TLS verified against the
system's or a given CA bundle (or not at all), a connect timeout and a separate
read timeout, and the environment's proxy (``HTTPS_PROXY``/``HTTP_PROXY``,
``NO_PROXY``) for the target: a CONNECT tunnel for https, an absolute URL for
http. Nothing is retried here: the SCIM client decides what may be sent again.
"""

from __future__ import annotations

import http.client
import os
import select
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass


class TransportFailure(Exception):
    """No HTTP answer: ``kind`` is ``timeout`` or ``connection``; ``name`` is the underlying error's type."""

    def __init__(self, kind: str, name: str):
        super().__init__(f"{kind}: {name}")
        self.kind = kind
        self.name = name


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    data: bytes


def _readable(sock: socket.socket) -> bool:
    """Whether an idle socket has something to read (for a kept-alive one: the server's EOF), without waiting.

    ``poll`` rather than ``select``: ``select`` refuses descriptors above 1024, which a busy process reaches.
    """
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _tls_context(verify: bool | str | Path) -> ssl.SSLContext:
    """``verify``: True (``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``, else certifi's CAs), False, or a CA bundle path."""
    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    bundle = str(verify) if verify is not True else (os.environ.get("REQUESTS_CA_BUNDLE")
                                                     or os.environ.get("CURL_CA_BUNDLE"))
    if not bundle:
        import certifi

        bundle = certifi.where()
    return ssl.create_default_context(cafile=bundle)


class KeepAliveTransport:
    """Keep-alive connections to one origin (scheme, host, port), shared by the client's workers."""

    def __init__(self, base_url: str, *, verify: bool | str | Path = True, connect_timeout: float = 10.0,
                 read_timeout: float = 30.0):
        parts = urlsplit(base_url)
        self.scheme = parts.scheme
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.scheme == "https" else 80)
        self.origin = f"{self.scheme}://{parts.netloc}"
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._context = _tls_context(verify) if self.scheme == "https" else None
        proxy = getproxies().get(self.scheme)
        self._proxy = urlsplit(proxy if "://" in proxy else f"http://{proxy}") \
            if proxy and not proxy_bypass(self.host) else None
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _new_connection(self) -> http.client.HTTPConnection:
        proxy = self._proxy
        if self.scheme == "https":
            if proxy is not None:
                conn = http.client.HTTPSConnection(proxy.hostname, proxy.port or 80, timeout=self.connect_timeout,
                                                   context=self._context)
                conn.set_tunnel(self.host, self.port)
            else:
                conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.connect_timeout,
                                                   context=self._context)
        elif proxy is not None:
            conn = http.client.HTTPConnection(proxy.hostname, proxy.port or 80, timeout=self.connect_timeout)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.connect_timeout)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sock.settimeout(self.read_timeout)
        return conn

    def _checkout(self) -> http.client.HTTPConnection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._new_connection()
            sock = conn.sock
            # A keep-alive connection the server closed while idle reads as "ready" (EOF): replace it.
            if sock is not None and not _readable(sock):
                return conn
            conn.close()

    def send(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> RawAnswer:
        """One request on a kept-alive connection; ``TransportFailure`` when no complete answer came."""
        target = url
        if self._proxy is None or self.scheme == "https":
            parts = urlsplit(url)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn = self._checkout()
        except TimeoutError as exc:
            raise TransportFailure("timeout", type(exc).__name__) from None
        except (OSError, http.client.HTTPException) as exc:
            raise TransportFailure("connection", type(exc).__name__) from None
        try:
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except TimeoutError as exc:
            conn.close()
            raise TransportFailure("timeout", type(exc).__name__) from None
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise TransportFailure("connection", type(exc).__name__) from None
        answer = RawAnswer(response.status, dict(response.getheaders()), data)
        if response.will_close or conn.sock is None:
            conn.close()
        else:
            with self._lock:
                self._idle.append(conn)
        return answer

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
