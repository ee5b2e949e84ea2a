"""The provisioning client's HTTP transport: keep-alive sockets, one HTTP/1.1 request per ``send()``.

Why not urllib3 (or requests, built on it): measured against our SCIM LMS on
the project machine (benchmarks/README.md, "Provisioning cycles"), a filtered
GET plus a POST cost 0.50 ms of client CPU per request through urllib3's
PoolManager, 0.42 ms through one of its connection pools, and 0.24 ms through
``http.client`` directly, which also sends the request line, headers and body
in ONE ``send`` (urllib3 2 sends the body separately, a second system call
and a second wake-up of the server for every POST and PATCH).

Why not ``http.client`` for the exchange itself either: profiled in an initial
cycle (issue 4), ``getresponse()`` was the engine's largest cost, two thirds of
it in ``email.parser`` building a ``Message`` from the answer's headers, plus a
buffered file object per answer. So ``http.client`` only OPENS connections
here (TCP_NODELAY, TLS with SNI, a proxy's CONNECT tunnel), and each exchange
is written and read on the socket directly: the request goes out as the very
bytes ``http.client`` wrote (request line, ``Host``, ``Accept-Encoding:
identity``, ``Content-Length``, the caller's headers, the body, in one
``sendall``), and the answer is parsed by httptools (llhttp, the parser
uvicorn uses, in C: status line, headers, ``Content-Length``, chunked, no body
for 1xx/204/304, the keep-alive decision), read to the end of the connection
when it announces no length, with ``http.client``'s own exception classes for
malformed or cut answers, so the provisioning logs name the same errors
(``RemoteDisconnected``, ``IncompleteRead``...).

Sockets are gevent's (``cooperative``): a read or write that would block lets
the engine's other workers (greenlets of the same thread) run, and timeouts
are gevent's. Idle connections are kept per thread, because a gevent socket
waits on the hub of the thread that opened it.

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
import re
import select
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import httptools

from . import cooperative


class TransportFailure(Exception):
    """No HTTP answer: ``kind`` is ``timeout`` or ``connection``; ``name`` is the underlying error's type."""

    def __init__(self, kind: str, name: str):
        super().__init__(f"{kind}: {name}")
        self.kind = kind
        self.name = name


@dataclass(slots=True)
class RawAnswer:
    status: int
    headers: dict[str, str]
    data: bytes


#: http.client's limits: one status or header line, and the number of header lines.
MAX_LINE = 65536
MAX_HEADERS = 100
#: the most a head (status line and header lines) may take before it is refused
_MAX_HEAD = MAX_LINE * (MAX_HEADERS + 1)
#: what http.client refuses in a request target (``InvalidURL``) and in a header value (``ValueError``)
_BAD_TARGET = re.compile("[\x00-\x20\x7f]")
_BAD_HEADER_VALUE = re.compile(r"\n(?![ \t])|\r(?![ \t\n])")
_METHODS_WITH_BODY = frozenset({"PATCH", "POST", "PUT"})
_RECV = 65536
def _tls_context(verify: bool | str | Path) -> ssl.SSLContext:
    """``verify``: True (``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``, else certifi's CAs), False, or a CA bundle path."""
    if verify is False:
        return cooperative.tls_context(ssl.CERT_NONE)
    bundle = str(verify) if verify is not True else (os.environ.get("REQUESTS_CA_BUNDLE")
                                                     or os.environ.get("CURL_CA_BUNDLE"))
    if not bundle:
        import certifi

        bundle = certifi.where()
    return cooperative.tls_context(cafile=bundle)


def _ascii_host(host: str) -> str:
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        return host.encode("idna").decode("ascii")
    return host


def _host_header(host: str, port: int, default_port: int) -> str:
    """``Host`` as http.client writes it for a connection to ``host``: brackets for IPv6 (no zone), no default port."""
    host = _ascii_host(host)
    if ":" in host:
        host = "[" + host.partition("%")[0] + "]"
    return host if port == default_port else f"{host}:{port}"


def _netloc_host_header(netloc: str) -> str:
    """``Host`` as http.client writes it for an absolute URL (through a proxy): the URL's netloc, IPv6 zone cut."""
    netloc, percent, _zone = _ascii_host(netloc).partition("%")
    return netloc + "]" if percent else netloc


class _Connection:
    """One kept-alive socket, with the poller that tells whether the server closed it while it was idle."""

    __slots__ = ("poller", "sock")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.poller = select.poll()  # not select(): it refuses descriptors above 1024, which a busy process reaches
        self.poller.register(sock, select.POLLIN)

    def closed_by_server(self) -> bool:
        """An idle keep-alive socket with something to read has the server's EOF (or garbage): not reusable."""
        return bool(self.poller.poll(0))

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class _Answer:
    """The httptools protocol for one answer: collects the final answer's status, headers and body.

    llhttp frames the answer (Content-Length, chunked with extensions and
    trailers, no body for 1xx/204/304, the keep-alive decision); what is kept
    here is what http.client does on top of it: a "100 Continue" is skipped,
    the body of an answer to HEAD is not waited for, the header limits, and
    bytes after the answer (never asked for: no pipelining) end the connection.
    """

    __slots__ = ("began", "complete", "error", "fields", "head_only", "head_size", "headers", "headers_done",
                 "keep_alive", "line_ended", "parser", "pieces", "status", "trailing")

    def __init__(self, method: str):
        self.parser = httptools.HttpResponseParser(self)
        # As http.client: an obsolete folded header line (its line break dropped, RFC 9112 5.2) and control
        # characters in a header value are read, not refused, and any HTTP/1.x version is HTTP/1.1 (others are
        # refused in on_headers_complete); the rest of the status line and the framing stay strict.
        self.parser.set_dangerous_leniencies(lenient_headers=True, lenient_version=True)
        self.head_only = method == "HEAD"
        self.status = 0
        self.headers: dict[str, str] = {}
        self.pieces: list[bytes] = []
        self.fields = 0  # header lines read, repeated names included
        self.head_size = 0  # bytes fed while the head is still incomplete
        self.line_ended = False  # a line break came: the status line is whole
        self.began = False  # a (non-100) message has started
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.trailing = False
        self.error: Exception | None = None  # what a callback raised, for ``feed`` to raise in its place

    def _stop(self, error: Exception) -> None:
        self.error = error
        raise error

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self.complete:  # the first byte of a second answer, or of garbage: the connection is not reused
            self.trailing = True
            self._stop(_Trailing())
        self.began = True

    def on_header(self, name: bytes, value: bytes) -> None:
        self.fields += 1
        if self.fields > MAX_HEADERS:
            self._stop(http.client.HTTPException(f"got more than {MAX_HEADERS} headers"))
        if len(value) > MAX_LINE:
            self._stop(http.client.LineTooLong("header line"))
        self.headers[name.decode("iso-8859-1")] = value.decode("iso-8859-1")  # the last of a repeated field wins

    def on_headers_complete(self) -> None:
        parser = self.parser
        status = parser.get_status_code()
        if status == 100:  # "100 Continue": its (empty) message ends here, the real answer follows
            self.headers = {}
            self.fields = 0
            self.began = False
            self.head_size = 0
            return
        version = parser.get_http_version()
        if version[0] not in "01":  # http.client reads HTTP/0.9 and HTTP/1.x only
            self._stop(http.client.UnknownProtocol(f"HTTP/{version}"))
        self.status = status
        self.keep_alive = parser.should_keep_alive()  # valid only until the message completes
        self.headers_done = True
        if self.head_only:  # whatever length it announces, an answer to HEAD has no body
            self.complete = True

    def on_body(self, data: bytes) -> None:
        if self.complete:  # bytes after an answer to HEAD
            self.trailing = True
            self._stop(_Trailing())
        self.pieces.append(data)

    def on_message_complete(self) -> None:
        if self.headers_done:
            self.complete = True

    # feeding

    def feed(self, data: bytes) -> None:
        """Parse ``data``; errors are http.client's classes, as its ``getresponse()`` would name them."""
        if not self.headers_done:
            self.head_size += len(data)
            if self.head_size > _MAX_HEAD:
                raise http.client.LineTooLong("header line")
            if not self.line_ended and b"\n" in data:
                self.line_ended = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # "101 Switching Protocols": an answer, after which HTTP ends here
            self.complete = self.trailing = True
        except httptools.HttpParserError as exc:
            error, self.error = self.error, None
            if self.complete:  # after the answer: data after "Connection: close", a second answer...
                self.trailing = True
                return
            if error is not None:
                raise error from None
            raise self._malformed(exc, data) from None

    def _malformed(self, exc: httptools.HttpParserError, data: bytes) -> http.client.HTTPException:
        if self.headers_done:  # a broken chunked body
            return http.client.IncompleteRead(b"".join(self.pieces))
        if self.parser.get_status_code() == 0 or isinstance(exc, httptools.HttpParserInvalidStatusError):
            if "version" in str(exc):
                return http.client.UnknownProtocol(data.split(b"\r\n", 1)[0].decode("iso-8859-1"))
            return http.client.BadStatusLine(data.split(b"\r\n", 1)[0].decode("iso-8859-1") + "\r\n")
        return http.client.HTTPException(f"malformed header block: {exc}")

    def end_of_stream(self) -> None:
        """The server closed the connection: the end of a body read to the end, or a cut answer."""
        if not self.began:
            raise http.client.RemoteDisconnected("Remote end closed connection without response")
        if not self.headers_done:
            if not self.line_ended:
                raise http.client.BadStatusLine("")
            raise http.client.IncompleteRead(b"")
        if self._framed():
            raise http.client.IncompleteRead(b"".join(self.pieces))
        self.complete = True  # no Content-Length, not chunked: the body ran to the end of the connection

    def _framed(self) -> bool:
        """Whether the answer announced where its body ends (Content-Length, or chunked): then EOF cut it."""
        for name, value in self.headers.items():
            lowered = name.lower()
            if lowered == "content-length":
                return True
            if lowered == "transfer-encoding" and value.rpartition(",")[2].strip().lower() == "chunked":
                return True
        return False


class _Trailing(Exception):
    """Raised from a callback to stop parsing at bytes that follow the answer."""


def _read_answer(sock: socket.socket, method: str) -> tuple[RawAnswer, bool]:
    """Read one answer from ``sock``: the answer, and whether the connection must be closed after it.

    Errors are http.client's (``RemoteDisconnected``, ``BadStatusLine``,
    ``IncompleteRead``, ``LineTooLong``...) or the socket's (timeouts, resets).
    """
    recv = sock.recv
    answer = _Answer(method)
    try:
        while not answer.complete:
            data = recv(_RECV)
            if not data:
                answer.end_of_stream()
                return RawAnswer(answer.status, answer.headers, b"".join(answer.pieces)), True
            answer.feed(data)
    finally:
        answer.parser = None  # the parser holds the answer's callbacks: no reference cycle left for the GC
    close = answer.trailing or not answer.keep_alive
    return RawAnswer(answer.status, answer.headers, b"".join(answer.pieces)), close


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
        #: plain http through a proxy sends absolute URLs; everything else sends the path and query
        self._absolute = self._proxy is not None and self.scheme != "https"
        if self._absolute:
            self._host_line = f"Host: {_netloc_host_header(parts.netloc)}\r\n".encode("ascii")
        else:
            default_port = 443 if self.scheme == "https" else 80
            self._host_line = f"Host: {_host_header(self.host, self.port, default_port)}\r\n".encode("ascii")
        self._prefix_length = len(self.origin)
        #: idle connections by the thread that opened them: a gevent socket waits on its own thread's hub only
        self._idle: dict[int, list[_Connection]] = {}
        self._lock = threading.Lock()

    def _new_connection(self) -> _Connection:
        """Open a connection the way http.client does (TCP_NODELAY, TLS with SNI, a CONNECT tunnel)."""
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
        conn._create_connection = cooperative.create_connection  # the one seam http.client offers for its socket
        conn.connect()
        sock, conn.sock = conn.sock, None  # the socket is ours from here on
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.read_timeout)
        return _Connection(sock)

    def _checkout(self, thread: int) -> _Connection:
        while True:
            with self._lock:
                idle = self._idle.get(thread)
                conn = idle.pop() if idle else None
            if conn is None:
                return self._new_connection()
            if not conn.closed_by_server():
                return conn
            conn.close()

    @staticmethod
    def encode_headers(headers: dict[str, str]) -> bytes:
        """A caller's header lines for ``send``, as http.client encodes them (ASCII names, Latin-1 values).

        A value http.client would refuse (a line break not folding the value) is refused the same way, here,
        once: callers encode their fixed headers when they are built, not on every request.
        """
        lines = []
        for name, value in headers.items():
            if _BAD_HEADER_VALUE.search(value):
                raise ValueError(f"Invalid header value {value.encode('latin-1')!r}")
            lines.append(name.encode("ascii") + b": " + value.encode("latin-1") + b"\r\n")
        return b"".join(lines)

    def _request_bytes(self, method: str, url: str, body: bytes | None, header_block: bytes) -> bytes:
        """The request exactly as http.client writes it, body included."""
        if self._absolute:
            target = url
        elif url.startswith(self.origin):
            target = url[self._prefix_length:] or "/"
        else:
            parts = urlsplit(url)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if _BAD_TARGET.search(target):
            raise http.client.InvalidURL(f"URL can't contain control characters. {target!r} "
                                         f"(found at least {_BAD_TARGET.search(target).group()!r})")
        if body is not None:
            length = b"Content-Length: %d\r\n" % len(body)
        else:
            length = b"Content-Length: 0\r\n" if method in _METHODS_WITH_BODY else b""
        return b"".join((f"{method} {target} HTTP/1.1\r\n".encode("ascii"), self._host_line,
                         b"Accept-Encoding: identity\r\n", length, header_block, b"\r\n", body or b""))

    def send(self, method: str, url: str, body: bytes | None, header_block: bytes) -> RawAnswer:
        """One request on a kept-alive connection; ``TransportFailure`` when no complete answer came.

        ``header_block``: the caller's headers from ``encode_headers``.
        """
        try:
            request = self._request_bytes(method, url, body, header_block)
        except http.client.HTTPException as exc:
            raise TransportFailure("connection", type(exc).__name__) from None
        thread = threading.get_ident()
        try:
            conn = self._checkout(thread)
        except TimeoutError as exc:
            raise TransportFailure("timeout", type(exc).__name__) from None
        except (OSError, http.client.HTTPException) as exc:
            raise TransportFailure("connection", type(exc).__name__) from None
        try:
            sock = conn.sock
            # One system call: a request fits the socket's buffer. gevent's sendall would add a getsockopt and a
            # timer to every request (7% of the engine's CPU in the PATCH phases), so it only sends what is left.
            sent = sock.send(request)
            if sent < len(request):
                sock.sendall(memoryview(request)[sent:])
            answer, close = _read_answer(sock, method)
        except TimeoutError as exc:
            conn.close()
            raise TransportFailure("timeout", type(exc).__name__) from None
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise TransportFailure("connection", type(exc).__name__) from None
        if close:
            conn.close()
        else:
            with self._lock:
                self._idle.setdefault(thread, []).append(conn)
        return answer

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for conn in connections:
                conn.close()
