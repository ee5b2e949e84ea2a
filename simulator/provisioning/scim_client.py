"""The SCIM client of the provisioning engine: Entra's requests, headers, dialects, retries and pacing.

One ``ScimClient`` talks to one SCIM base URL (the job's Tenant URL) through
keep-alive connections, one per worker (``transport.py``: connections opened
by ``http.client``, requests written as bytes, answers parsed by httptools;
chosen by measurement over requests and urllib3, the numbers are there and in
benchmarks/README.md). Every request carries
``Authorization: Bearer <secret token>`` (or, with no token, a token shaped like
the one Entra issues itself) and bodies go as ``application/scim+json;
charset=utf-8``. No ETags, no PUT, no /Bulk: Entra uses none of them.

Failures, as the provisioning service treats them:

- 429: the whole job pauses for ``Retry-After`` (every worker waits), then only
  the failed request is sent again;
- 502, 503, 504: retried after a bounded exponential backoff, whatever the method
  (a gateway answered; the request was not processed);
- 500, timeouts and dropped connections: retried the same way for GET, PATCH and
  DELETE only. A POST is never re-sent blindly: the server may have created the
  object before failing, and the next cycle's matching query finds it instead,
  which is how Entra avoids duplicates;
- what is still failing after the last attempt is raised (``ScimHttpError``,
  ``ScimTransportError``) for the engine to log and escrow.

``Dialect`` builds PATCH bodies the two ways Entra does: ``default`` (capitalised
ops, one op per attribute, ``active`` as "True"/"False", member removal by
``value``) and ``aadOptscim062020`` (lowercase ops, one path-less replace with
dotted and URN keys, ``active`` boolean, member removal by filtered path), as
shared/reference/entra-provisioning-client.md 2.3-2.6 documents them.

Every exchange is recorded (method, URL, status, bodies, time, attempt) with
credentials redacted, for the provisioning logs; the token never leaves the
``Authorization`` header.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from ..retry_after import retry_after_seconds
from .. import __version__
from ..requestlog import redact
from . import cooperative
from .mappings import ENTERPRISE_USER, TargetPath
from .resources import PATCH_OP, Change, wire_value
from .transport import KeepAliveTransport, RawAnswer, TransportFailure

SCIM_JSON = "application/scim+json; charset=utf-8"
USER_AGENT = f"entrasim-provisioning/{__version__}"
#: Entra's provisioning app: the audience of the token Entra issues itself when no secret token is given.
ENTRA_SCIM_AUDIENCE = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"
BODY_LOG_LIMIT = 4096

IDEMPOTENT = frozenset({"GET", "PATCH", "DELETE"})
GATEWAY_STATUSES = frozenset({502, 503, 504})


# ------------------------------------------------------------------ exchanges and errors


@dataclass
class Exchange:
    """One HTTP request and its answer, as the provisioning logs show it (credentials redacted)."""

    method: str
    url: str
    status: int | None
    duration_ms: float
    attempt: int
    request_body: str | None = None
    response_body: str | None = None
    error: str | None = None
    waited_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "url": self.url, "status": self.status,
                               "durationInMilliseconds": self.duration_ms, "attempt": self.attempt}
        if self.waited_s:
            out["waitedSeconds"] = round(self.waited_s, 3)
        if self.request_body is not None:
            out["requestBody"] = self.request_body
        if self.response_body is not None:
            out["responseBody"] = self.response_body
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass
class ScimResponse:
    """A SCIM answer: status, parsed JSON body (None when empty or not JSON), headers; ``text`` decoded on demand."""

    status: int
    body: Any
    content: bytes
    headers: dict[str, str]
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The body as text (only error messages and reports read it, so it is not decoded for every answer)."""
        return self.content.decode("utf-8", "replace") if self.content else ""

    @property
    def json_ok(self) -> bool:
        return self.body is not None


class ScimClientError(Exception):
    """A request that did not succeed after the retries it was allowed."""

    def __init__(self, message: str, exchanges: list[Exchange]):
        super().__init__(message)
        self.exchanges = exchanges


class ScimHttpError(ScimClientError):
    """The server answered with an error status."""

    def __init__(self, response: ScimResponse, method: str, url: str):
        detail = ""
        if isinstance(response.body, dict):
            detail = str(response.body.get("detail") or "")
        super().__init__(f"{method} {url} answered {response.status}" + (f": {detail}" if detail else ""), response.exchanges)
        self.response = response
        self.status = response.status
        self.method = method


class ScimTransportError(ScimClientError):
    """No HTTP answer: ``kind`` is ``timeout`` or ``connection`` (refused, reset, dropped)."""

    def __init__(self, kind: str, message: str, method: str, exchanges: list[Exchange]):
        super().__init__(message, exchanges)
        self.kind = kind
        self.method = method


# ------------------------------------------------------------------ dialects


class Dialect:
    """PATCH bodies as Entra writes them; ``default`` unless built for ``aadOptscim062020``."""

    def __init__(self, name: str = "default"):
        if name not in ("default", "aadOptscim062020"):
            raise ValueError(f"unknown dialect '{name}'")
        self.name = name
        self.flagged = name == "aadOptscim062020"

    def op(self, name: str) -> str:
        """``Add``/``Replace``/``Remove`` without the flag, lowercase with it."""
        return name.lower() if self.flagged else name

    @staticmethod
    def body(operations: list[dict[str, Any]]) -> dict[str, Any]:
        return {"schemas": [PATCH_OP], "Operations": operations}

    def attribute_operations(self, changes: Iterable[Change]) -> list[dict[str, Any]]:
        """The operations updating ``changes``: one per attribute, or (flag) one merged path-less replace."""
        operations: list[dict[str, Any]] = []
        if not self.flagged:
            for change in changes:
                value = wire_value(change.path, change.new, booleans=False)
                operations.append({"op": "Add" if change.adds else "Replace", "path": change.path.text, "value": value})
            return operations
        merged: dict[str, Any] = {}
        for change in changes:
            path = change.path
            value = wire_value(path, change.new, booleans=True)
            if path.filter_attribute is not None or path.text == "active":
                operations.append({"op": "add" if change.adds else "replace", "path": path.text, "value": value})
            elif change.adds and isinstance(value, str) and path.urn is None and path.sub_attribute is None:
                operations.append({"op": "add", "path": path.text, "value": value})
            else:
                merged[path.text] = value
        if merged:
            operations.append({"op": "replace", "value": merged})
        return operations

    def members_add(self, member_ids: Iterable[str]) -> list[dict[str, Any]]:
        """One ``Add`` of ``members`` carrying every id (``"$ref": null`` entries without the flag)."""
        if self.flagged:
            values = [{"value": member_id} for member_id in member_ids]
        else:
            values = [{"$ref": None, "value": member_id} for member_id in member_ids]
        return [{"op": self.op("Add"), "path": "members", "value": values}]

    def members_remove(self, member_ids: Iterable[str]) -> list[dict[str, Any]]:
        """``Remove`` of ``members`` by value (default), or one ``members[value eq "id"]`` op per id (flag)."""
        ids = list(member_ids)
        if self.flagged:
            return [{"op": "remove", "path": f'members[value eq "{member_id}"]'} for member_id in ids]
        return [{"op": "Remove", "path": "members", "value": [{"$ref": None, "value": member_id} for member_id in ids]}]

    def manager_set(self, path: TargetPath, manager_id: str, had_manager: bool) -> list[dict[str, Any]]:
        """Set the manager reference: a bare id on the URN path (default), ``{"value": id}`` with the flag."""
        op = self.op("Replace" if had_manager else "Add")
        value: Any = {"value": manager_id} if self.flagged else manager_id
        return [{"op": op, "path": path.text, "value": value}]

    def manager_remove(self, path: TargetPath, manager_id: str) -> list[dict[str, Any]]:
        """Clear the manager: ``manager[value eq "id"]``, the removal Entra was observed sending."""
        attribute = path.attribute if path.urn == ENTERPRISE_USER else path.text
        return [{"op": self.op("Remove"), "path": f'{attribute}[value eq "{manager_id}"]'}]


# ------------------------------------------------------------------ pacing


class RateLimiter:
    """At most ``rate`` requests a second across every worker (None: no limit)."""

    def __init__(self, rate: float | None, sleep: Callable[[float], None] = cooperative.sleep,
                 monotonic: Callable[[], float] = time.monotonic):
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self._sleep = sleep
        self._monotonic = monotonic

    def acquire(self) -> float:
        """Wait for this request's slot; returns the seconds waited."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = self._monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; Entra documents none of the numbers, so they are settings."""

    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    #: a Retry-After longer than this is not waited out in the cycle: the request fails (and is escrowed).
    max_retry_after: float = 300.0
    #: 429 without Retry-After: wait this long.
    default_retry_after: float = 5.0

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))


# ------------------------------------------------------------------ tokens


def entra_issued_token(tenant_id: str, lifetime: timedelta = timedelta(hours=1)) -> str:
    """A bearer token shaped like the one Entra sends when the Secret Token is empty (testing only, says Microsoft).

    Signed with a throwaway RSA key: a SCIM server can read its claims (``iss``
    ``https://sts.windows.net/<tenant>/``, ``aud`` Entra's SCIM app id) but, as with
    the real one, must not be able to mint it.
    """
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    claims = {"aud": ENTRA_SCIM_AUDIENCE, "iss": f"https://sts.windows.net/{tenant_id}/", "tid": tenant_id,
              "iat": int(now.timestamp()), "nbf": int(now.timestamp()), "exp": int((now + lifetime).timestamp()),
              "appid": ENTRA_SCIM_AUDIENCE, "oid": str(uuid.uuid4()), "sub": str(uuid.uuid4()), "ver": "1.0"}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": uuid.uuid4().hex})


def split_tenant_url(tenant_url: str) -> str:
    """The SCIM base URL of a Tenant URL: query (``?aadOptscim062020``) and trailing slash removed."""
    parts = urlsplit(tenant_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


#: what ``urlencode`` leaves as it is in a query value (unreserved ASCII; a space becomes "+")
_FORM_UNSAFE = re.compile(r"[^A-Za-z0-9_.~ -]+")
#: each byte of a UTF-8 query value as ``urlencode`` writes it when it is not left as it is: "%XX"
_FORM_ESCAPES = tuple(f"%{b:02X}" for b in range(256))


def _form_escape(match: re.Match) -> str:
    return "".join([_FORM_ESCAPES[b] for b in match.group().encode()])


def form_encode(params: list[tuple[str, str]]) -> str:
    """``urllib.parse.urlencode(params)``, byte for byte, for string keys and values, at a fraction of its cost.

    Why: every matching query encodes a filter value; ``urlencode`` quotes it
    through a Python-level loop over each of its bytes, this escapes only the
    few runs of characters that need it (the quotes, ``@``, non-ASCII).
    """
    sub = _FORM_UNSAFE.sub
    return "&".join(sub(_form_escape, key).replace(" ", "+") + "=" + sub(_form_escape, value).replace(" ", "+")
                    for key, value in params)


def _clip(data: bytes | str | None) -> str | None:
    """A body as logs keep it: at most ``BODY_LOG_LIMIT`` characters, credentials redacted.

    ``redact``'s regexes run only on a body naming a secret, token, password,
    assertion or bearer/basic credential: the substring tests (no generator,
    one ``lower()``) cost a fraction of them, on two bodies per request.
    """
    if not data:
        return None
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if len(text) > BODY_LOG_LIMIT:
        text = text[:BODY_LOG_LIMIT] + "...(truncated)"
    lowered = text.lower()
    if ("secret" in lowered or "token" in lowered or "password" in lowered or "assertion" in lowered
            or "bearer" in lowered or "basic" in lowered):
        return redact(text)
    return text


# ------------------------------------------------------------------ the client


class ScimClient:
    """Requests to one SCIM service, with Entra's headers, the job's pacing and the retry rules above."""

    def __init__(self, tenant_url: str, token: str, *, dialect: Dialect | None = None,
                 connect_timeout: float = 10.0, read_timeout: float = 30.0, request_rate: float | None = None,
                 concurrency: int = 1, verify: bool | str | Path = True, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = cooperative.sleep,
                 on_wait: Callable[[float, str], None] | None = None):
        self.base_url = split_tenant_url(tenant_url)
        self.dialect = dialect or Dialect()
        self.retry = retry or RetryPolicy()
        self._headers = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT}
        self._body_headers = {**self._headers, "Content-Type": SCIM_JSON}
        self._transport = KeepAliveTransport(self.base_url, verify=verify, connect_timeout=connect_timeout,
                                             read_timeout=read_timeout)
        # Encoded (and checked) once: every request sends one of these two blocks.
        self._header_block = self._transport.encode_headers(self._headers)
        self._body_header_block = self._transport.encode_headers(self._body_headers)
        self._limiter = RateLimiter(request_rate, sleep)
        self._sleep = sleep
        self._on_wait = on_wait
        self._pause_lock = threading.Lock()
        self._paused_until = 0.0
        self.requests_sent = 0
        self._count_lock = threading.Lock()
        #: called with every exchange in full (``transcript.TranscriptWriter.record``): method, URL, request headers,
        #: request body, status (None without an answer), response body, error
        self.exchange_hook: Callable[..., None] | None = None

    def __repr__(self) -> str:
        return f"ScimClient({self.base_url}, dialect={self.dialect.name})"

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> ScimClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str, params: list[tuple[str, str]] | None = None) -> str:
        """Absolute URL; query values encoded as Entra's are (``+`` for spaces, ``%22`` for quotes)."""
        url = self.base_url + path
        if params:
            url += "?" + form_encode(params)
        return url

    def _pause(self, seconds: float, reason: str) -> None:
        """Pause the whole job (every worker) for ``seconds``."""
        with self._pause_lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)
        if self._on_wait is not None:
            self._on_wait(seconds, reason)

    def _wait_if_paused(self) -> float:
        if not self._paused_until:  # never paused (a float read is atomic): no lock, no clock
            return 0.0
        with self._pause_lock:
            remaining = self._paused_until - time.monotonic()
        if remaining > 0:
            self._sleep(remaining)
            return remaining
        return 0.0

    # -- requests
    def request(self, method: str, path: str, *, params: list[tuple[str, str]] | None = None,
                body: Any = None) -> ScimResponse:
        """Send one SCIM request with the retry rules; a 2xx answer is returned, anything else raised."""
        url = self.url(path, params)
        data = orjson.dumps(body) if body is not None else None
        if data is not None:
            headers, header_block = self._body_headers, self._body_header_block
        else:
            headers, header_block = self._headers, self._header_block
        exchanges: list[Exchange] = []
        attempt = 0
        while True:
            attempt += 1
            waited = self._wait_if_paused() + self._limiter.acquire()
            started = time.perf_counter()
            with self._count_lock:
                self.requests_sent += 1
            try:
                raw = self._transport.send(method, url, data, header_block)
            except TransportFailure as exc:
                kind = exc.kind
                exchanges.append(Exchange(method, url, None, round((time.perf_counter() - started) * 1000, 3), attempt,
                                          _clip(data), None, f"{kind}: {exc.name}", waited))
                if self.exchange_hook is not None:
                    self.exchange_hook(method, url, headers, data, None, None, f"{kind}: {exc.name}")
                if method in IDEMPOTENT and attempt < self.retry.max_attempts:
                    self._sleep(self.retry.backoff(attempt))
                    continue
                message = ("the request timed out" if kind == "timeout" else "the connection failed") + \
                          f" ({exc.name})"
                raise ScimTransportError(kind, f"{method} {url}: {message}", method, exchanges) from None
            response = self._response(raw, method, url, data, started, attempt, waited, exchanges)
            if self.exchange_hook is not None:
                self.exchange_hook(method, url, headers, data, response.status, raw.data, None)
            status = response.status
            if 200 <= status < 300:
                return response
            if status == 429 and attempt < self.retry.max_attempts:
                delay = retry_after_seconds(response.headers.get("Retry-After"))
                if delay is None:
                    delay = self.retry.default_retry_after
                if delay <= self.retry.max_retry_after:
                    self._pause(delay, f"429 from {method} {path}: waiting {delay:g} s (Retry-After)")
                    continue
            elif attempt < self.retry.max_attempts and (
                    status in GATEWAY_STATUSES or (status >= 500 and method in IDEMPOTENT)):
                self._sleep(self.retry.backoff(attempt))
                continue
            raise ScimHttpError(response, method, url)

    def _response(self, raw: RawAnswer, method: str, url: str, data: bytes | None, started: float,
                  attempt: int, waited: float, exchanges: list[Exchange]) -> ScimResponse:
        content = raw.data
        body = None
        if content:
            try:
                body = orjson.loads(content)
            except orjson.JSONDecodeError:
                body = None
        exchanges.append(Exchange(method, url, raw.status, round((time.perf_counter() - started) * 1000, 3),
                                  attempt, _clip(data), _clip(content), None, waited))
        return ScimResponse(raw.status, body, content, raw.headers, exchanges)

    # -- Entra's requests
    @staticmethod
    def equality_filter(attribute: str, value: str) -> str:
        """``attribute eq "value"`` with the value's quotes and backslashes escaped."""
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{attribute} eq "{escaped}"'

    def find(self, resource: str, attribute: str, value: str) -> ScimResponse:
        """The matching query: ``GET /Users?filter=...``; groups as ``GET /Groups?excludedAttributes=members&filter=...``."""
        params = [("excludedAttributes", "members")] if resource == "Groups" else []
        params.append(("filter", self.equality_filter(attribute, value)))
        return self.request("GET", f"/{resource}", params=params)

    def read(self, resource: str, target_id: str) -> ScimResponse:
        params = [("excludedAttributes", "members")] if resource == "Groups" else None
        return self.request("GET", f"/{resource}/{target_id}", params=params)

    def create(self, resource: str, body: dict[str, Any]) -> ScimResponse:
        return self.request("POST", f"/{resource}", body=body)

    def patch(self, resource: str, target_id: str, operations: list[dict[str, Any]]) -> ScimResponse:
        return self.request("PATCH", f"/{resource}/{target_id}", body=Dialect.body(operations))

    def delete(self, resource: str, target_id: str) -> ScimResponse:
        return self.request("DELETE", f"/{resource}/{target_id}")
