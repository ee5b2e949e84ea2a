"""One Locust user's keep-alive connection to the SCIM target: prebuilt bytes out, status and body back.

Why not ``FastHttpUser.client``: every request through it goes through
geventhttpclient's user agent (URL parsing, a cookie jar, redirect handling,
header merging and validation, a response wrapper) and Locust's
``catch_response`` context manager. Against a target that costs nearly nothing
that was about 0.27 ms of CPU a request, half of the 0.54 ms one Locust
process spent in an initial sync (builders included), and it capped one
process near 1,850 requests/s on a free core.

Here the parts of a request that never change (``Host``, the bearer token,
``Accept``, ``Content-Type``) are encoded once per connection, a request is one
``sendall`` of the request line, those bytes, ``Content-Length`` and the body
(already JSON bytes), and the response is parsed by geventhttpclient's C parser
(llhttp) through its public ``ConnectionPool`` and ``HTTPSocketPoolResponse``.
Each request is still reported to Locust's ``request`` event exactly once
(``report``), so its statistics, error table, CSV and HTML reports are the same
as with ``FastHttpUser``: the caller judges the answer first (a 201 without an
id is a failure too), then reports it.

Transport errors never raise: the answer has status 0 and the error, and is
reported as a failure with it. Like geventhttpclient's own client, a ``GET``
whose reused connection turned out closed is sent once more on a new one; a
``POST`` or ``PATCH`` is not (the server may have processed it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from geventhttpclient.connectionpool import ConnectionPool, SSLConnectionPool
from geventhttpclient.response import HTTPConnectionClosed, HTTPParseError, HTTPSocketPoolResponse
from locust.exception import CatchResponseError

from .scim_target import ScimTarget

CONNECTION_TIMEOUT = 10.0
NETWORK_TIMEOUT = 60.0
_HTTP11 = b" HTTP/1.1\r\n"


@dataclass(slots=True)
class Answer:
    """What the target answered to one request (status 0: no answer, ``error`` says why)."""

    method: str
    name: str
    url: str
    status: int
    content: bytes
    elapsed_ms: float
    #: wall clock when it was sent (Locust's ``start_time``)
    started_at: float
    error: BaseException | None = None
    reported: bool = False

    def reason(self) -> str:
        """The transport error in one line (``[Errno 111] Connection refused``)."""
        if self.error is None:
            return ""
        return (str(self.error).strip() or type(self.error).__name__).splitlines()[0]


class ScimConnection:
    """A keep-alive connection to ``target`` (reopened when the server closes it) that reports to Locust."""

    def __init__(self, target: ScimTarget, environment: Any):
        parts = urlsplit(target.url)
        https = parts.scheme == "https"
        host = parts.hostname or ""
        port = parts.port or (443 if https else 80)
        if https:
            self._pool: ConnectionPool = SSLConnectionPool(
                host, port, host, port, size=1, connection_timeout=CONNECTION_TIMEOUT,
                network_timeout=NETWORK_TIMEOUT, insecure=target.insecure,
                ssl_context_factory=target.context_factory())
        else:
            self._pool = ConnectionPool(host, port, host, port, size=1, connection_timeout=CONNECTION_TIMEOUT,
                                        network_timeout=NETWORK_TIMEOUT)
        self._base = parts.path.rstrip("/")
        self._fire = environment.events.request.fire
        self._url_base = target.url.rstrip("/")
        host_header = f"[{host}]" if ":" in host else host
        if parts.port is not None and parts.port != (443 if https else 80):
            host_header += f":{parts.port}"
        common = (f"Host: {host_header}\r\nAuthorization: Bearer {target.token}\r\n"
                  "Accept: application/scim+json\r\n").encode("latin-1")
        self._no_body = common + b"\r\n"
        self._with_body = common + b"Content-Type: application/scim+json\r\nContent-Length: "

    def close(self) -> None:
        self._pool.close()

    def send(self, method: str, path: str, name: str, body: bytes | None = None) -> Answer:
        """Send ``method base+path`` with ``body`` (JSON bytes) and read the whole answer; never raises on I/O."""
        head = method.encode("ascii") + b" " + (self._base + path).encode("latin-1") + _HTTP11
        if body is None:
            data = head + self._no_body
        else:
            data = head + self._with_body + str(len(body)).encode("ascii") + b"\r\n\r\n" + body
        started_at, started = time.time(), time.perf_counter()
        attempts = 2 if method == "GET" else 1
        while True:
            attempts -= 1
            try:
                status, content = self._exchange(method, data)
            except HTTPConnectionClosed as exc:
                if attempts > 0:
                    continue
                return self._failed(method, name, path, started_at, started, exc)
            except (OSError, HTTPParseError, RuntimeError) as exc:  # refused, reset, timeout, TLS, bad framing
                return self._failed(method, name, path, started_at, started, exc)
            return Answer(method, name, self._url_base + path, status, content,
                          (time.perf_counter() - started) * 1000, started_at)

    def _exchange(self, method: str, data: bytes) -> tuple[int, bytes]:
        pool = self._pool
        sock = pool.get_socket()
        try:
            sock.sendall(data)
        except BaseException:
            pool.release_socket(sock)
            raise
        response = HTTPSocketPoolResponse(sock, pool, method=method)  # releases the socket itself on errors
        try:
            content = bytes(response.read())
        finally:
            response.release()
        return response.status_code, content

    def _failed(self, method: str, name: str, path: str, started_at: float, started: float,
                error: BaseException) -> Answer:
        return Answer(method, name, self._url_base + path, 0, b"", (time.perf_counter() - started) * 1000,
                      started_at, error)

    def report(self, answer: Answer, failure: str | None = None) -> None:
        """Tell Locust about ``answer`` once: a success, or a failure with ``failure`` (or the transport error)."""
        if answer.reported:
            return
        answer.reported = True
        exception: BaseException | None = None
        if failure is not None:
            exception = CatchResponseError(failure)
        elif answer.error is not None:
            exception = answer.error
        self._fire(request_type=answer.method, name=answer.name, response_time=answer.elapsed_ms,
                   response_length=len(answer.content), exception=exception, context={}, response=None,
                   url=answer.url, start_time=answer.started_at)
