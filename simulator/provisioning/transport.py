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
``sendall``), and the answer is framed by hand (status line, headers,
``Content-Length``, chunked, or read to the end), with ``http.client``'s own
exception classes for malformed or cut answers, so the provisioning logs name
the same errors (``RemoteDisconnected``, ``IncompleteRead``...).

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
import struct
import sys
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


@dataclass(slots=True)
class RawAnswer:
    status: int
    headers: dict[str, str]
    data: bytes


#: http.client's limits: one status or header line, and the number of header lines.
MAX_LINE = 65536
MAX_HEADERS = 100
#: what http.client refuses in a request target (``InvalidURL``) and in a header value (``ValueError``)
_BAD_TARGET = re.compile("[\x00-\x20\x7f]")
_BAD_HEADER_VALUE = re.compile(r"\n(?![ \t])|\r(?![ \t\n])")
_METHODS_WITH_BODY = frozenset({"PATCH", "POST", "PUT"})
_RECV = 65536
#: Linux enforces a blocking socket's read and write timeouts itself (SO_RCVTIMEO, SO_SNDTIMEO, a struct timeval)
_KERNEL_TIMEOUTS = sys.platform.startswith("linux")


def _set_timeouts(sock: socket.socket, seconds: float) -> None:
    """The read timeout on a connected socket, enforced by the kernel where it can be.

    Why: a socket with a Python-level timeout costs a ``poll`` before every
    ``send`` and every ``recv`` (CPython waits for readiness first), two or three
    extra system calls per exchange. A blocking socket with SO_RCVTIMEO and
    SO_SNDTIMEO goes straight to the call, and a timeout comes back as EAGAIN
    (``BlockingIOError``), which ``send`` reports as the ``TimeoutError`` it is.
    TLS sockets keep the Python timeout: ``ssl`` reads EAGAIN as "want read".
    """
    if _KERNEL_TIMEOUTS and not isinstance(sock, ssl.SSLSocket):
        sock.settimeout(None)
        whole = int(seconds)
        timeval = struct.pack("@ll", whole, round((seconds - whole) * 1_000_000))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
    else:
        sock.settimeout(seconds)


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


def _read_answer(sock: socket.socket, method: str) -> tuple[RawAnswer, bool]:
    """Read one answer from ``sock``: the answer, and whether the connection must be closed after it.

    Errors are http.client's (``RemoteDisconnected``, ``BadStatusLine``,
    ``IncompleteRead``, ``LineTooLong``...) or the socket's (timeouts, resets).
    """
    recv = sock.recv
    buffer = recv(_RECV)
    if not buffer:
        raise http.client.RemoteDisconnected("Remote end closed connection without response")
    while True:  # the head of an answer other than "100 Continue"
        end = buffer.find(b"\r\n\r\n")
        while end < 0:
            if len(buffer) > MAX_LINE * (MAX_HEADERS + 1):
                raise http.client.LineTooLong("header line")
            chunk = recv(_RECV)
            if not chunk:
                if buffer.find(b"\n") < 0:
                    raise http.client.BadStatusLine(buffer.decode("iso-8859-1"))
                raise http.client.IncompleteRead(b"")
            buffer += chunk
            end = buffer.find(b"\r\n\r\n")
        status_line, _, fields = buffer[:end].decode("iso-8859-1").partition("\r\n")
        buffer = buffer[end + 4:]
        if len(status_line) > MAX_LINE:
            raise http.client.LineTooLong("status line")
        parts = status_line.split(None, 2)
        version = parts[0] if len(parts) >= 2 else ""
        if not version.startswith("HTTP/"):
            raise http.client.BadStatusLine(status_line + "\r\n")
        try:
            status = int(parts[1])
        except ValueError:
            raise http.client.BadStatusLine(status_line + "\r\n") from None
        if status < 100 or status > 999:
            raise http.client.BadStatusLine(status_line + "\r\n")
        if status != 100:
            break
        if not buffer:
            buffer = recv(_RECV)
            if not buffer:
                raise http.client.RemoteDisconnected("Remote end closed connection without response")
    if version in ("HTTP/1.0", "HTTP/0.9"):
        http11 = False
    elif version.startswith("HTTP/1."):
        http11 = True
    else:
        raise http.client.UnknownProtocol(version)
    headers = _parse_fields(fields)
    # Framing reads the FIRST of each field, as http.client's Message.get() does.
    lowered = "\r\n" + fields.lower()
    length_text = _first_field(lowered, "\r\ncontent-length:")
    encoding = _first_field(lowered, "\r\ntransfer-encoding:") if "\r\ntransfer-encoding:" in lowered else None
    connection = _first_field(lowered, "\r\nconnection:") if "\r\nconnection:" in lowered else None
    keep_alive = proxy_connection = None
    if not http11:
        keep_alive = _first_field(lowered, "\r\nkeep-alive:")
        proxy_connection = _first_field(lowered, "\r\nproxy-connection:")

    chunked = bool(encoding) and encoding.lower() == "chunked"
    if http11:
        will_close = bool(connection) and "close" in connection.lower()
    else:
        will_close = not (keep_alive or (connection and "keep-alive" in connection.lower())
                          or (proxy_connection and "keep-alive" in proxy_connection.lower()))
    length: int | None = None
    if length_text and not chunked:
        try:
            length = int(length_text)
        except ValueError:
            length = None
        else:
            if length < 0:
                length = None
    if status in (204, 304) or status < 200 or method == "HEAD":
        length = 0
    if not will_close and not chunked and length is None:
        will_close = True

    if chunked and length != 0:
        data, buffer = _read_chunked(recv, buffer)
    elif length is not None:
        if len(buffer) < length:
            pieces = [buffer]
            have = len(buffer)
            while have < length:
                chunk = recv(_RECV)
                if not chunk:
                    raise http.client.IncompleteRead(b"".join(pieces), length - have)
                pieces.append(chunk)
                have += len(chunk)
            buffer = b"".join(pieces)
        data, buffer = buffer[:length], buffer[length:]
    else:  # no length: the body runs to the end of the connection
        pieces = [buffer]
        while chunk := recv(_RECV):
            pieces.append(chunk)
        data, buffer = b"".join(pieces), b""
    # Bytes after the answer were never asked for (no pipelining): the connection is not reused.
    return RawAnswer(status, headers, data), will_close or bool(buffer)


def _parse_fields(fields: str) -> dict[str, str]:
    """The answer's header fields by name (the last of a repeated one, as ``dict(getheaders())`` kept it).

    Values lose their leading blanks, as email.parser's compat32 policy strips
    them; an obsolete folded continuation line is kept, after "\r\n", as it keeps it.
    """
    headers: dict[str, str] = {}
    if not fields:
        return headers
    lines = fields.split("\r\n")
    if len(lines) > MAX_HEADERS:
        raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
    if len(fields) > MAX_LINE and max(map(len, lines)) > MAX_LINE:
        raise http.client.LineTooLong("header line")
    if "\r\n " in fields or "\r\n\t" in fields:  # folded lines: the slow, line-by-line way
        name = ""
        for line in lines:
            if line[:1] in (" ", "\t") and name:
                headers[name] += "\r\n" + line
                continue
            name, colon, value = line.partition(":")
            if colon:
                headers[name] = value.lstrip(" \t")
            else:
                name = ""
        return headers
    for line in lines:
        name, colon, value = line.partition(":")
        if colon:
            headers[name] = value.lstrip(" \t")
    return headers


def _first_field(lowered: str, prefix: str) -> str | None:
    """The value of the first field whose line starts with ``prefix`` ("\r\nname:") in ``lowered`` (lowercase lines)."""
    start = lowered.find(prefix)
    if start < 0:
        return None
    start += len(prefix)
    end = lowered.find("\r\n", start)
    return (lowered[start:end] if end >= 0 else lowered[start:]).lstrip(" \t")


def _read_chunked(recv, buffer: bytes) -> tuple[bytes, bytes]:
    """A chunked body (RFC 9112 7.1), trailers discarded; returns (body, bytes left after it)."""
    pieces: list[bytes] = []

    def line() -> bytes:
        nonlocal buffer
        end = buffer.find(b"\n")
        while end < 0:
            if len(buffer) > MAX_LINE:
                raise http.client.LineTooLong("chunk size")
            chunk = recv(_RECV)
            if not chunk:
                raise http.client.IncompleteRead(b"".join(pieces))
            buffer += chunk
            end = buffer.find(b"\n")
        text, buffer = buffer[:end + 1], buffer[end + 1:]
        return text

    def exactly(n: int) -> bytes:
        nonlocal buffer
        while len(buffer) < n:
            chunk = recv(_RECV)
            if not chunk:
                raise http.client.IncompleteRead(b"".join(pieces), n - len(buffer))
            buffer += chunk
        data, buffer = buffer[:n], buffer[n:]
        return data

    while True:
        size_line = line().split(b";", 1)[0]
        try:
            size = int(size_line, 16)
        except ValueError:
            raise http.client.IncompleteRead(b"".join(pieces)) from None
        if size == 0:
            break
        pieces.append(exactly(size))
        exactly(2)  # the CRLF closing the chunk
    while line() not in (b"\r\n", b"\n"):  # trailers, up to the empty line
        pass
    return b"".join(pieces), buffer


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
        self._idle: list[_Connection] = []
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
        conn.connect()
        sock, conn.sock = conn.sock, None  # the socket is ours from here on
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _set_timeouts(sock, self.read_timeout)
        return _Connection(sock)

    def _checkout(self) -> _Connection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
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
        try:
            conn = self._checkout()
        except TimeoutError as exc:
            raise TransportFailure("timeout", type(exc).__name__) from None
        except (OSError, http.client.HTTPException) as exc:
            raise TransportFailure("connection", type(exc).__name__) from None
        try:
            conn.sock.sendall(request)
            answer, close = _read_answer(conn.sock, method)
        except TimeoutError as exc:
            conn.close()
            raise TransportFailure("timeout", type(exc).__name__) from None
        except BlockingIOError:  # a kernel-enforced timeout (_set_timeouts)
            conn.close()
            raise TransportFailure("timeout", TimeoutError.__name__) from None
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise TransportFailure("connection", type(exc).__name__) from None
        if close:
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
