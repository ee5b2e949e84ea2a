"""Fault injection shared by every HTTP surface.

A ``FaultRule`` matches requests (surface, method, path pattern, client id,
tenant) and, when its trigger fires (nth matching request, first N, every Nth,
a seeded probability, a window on the simulated clock), acts: a status with a
body in the surface's own format (Graph error JSON, AADSTS JSON, SCIM error,
or a gateway's HTML page for 504), a Retry-After, added latency, a dropped
connection or a truncated body.

Scenario files, the control API and the pytest plugin all create the same rules
through ``FaultInjector.add``. Each Flask app installs the injector with
``install(app, injector, surface)``; the surface supplies how to identify the
caller and how to render an error in its format, so this module knows no
emulated API.
"""

from __future__ import annotations

import errno
import fnmatch
import json
import math
import random
import re
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable

from .clock import Clock, parse_iso

#: Kinds of canned failure a surface knows how to render in its own format.
FAULT_KINDS = ("throttled", "unavailable", "gateway_timeout", "server_error", "bad_gateway", "custom")

_DEFAULT_STATUS = {"throttled": 429, "unavailable": 503, "gateway_timeout": 504, "server_error": 500, "bad_gateway": 502}


class FaultRuleError(ValueError):
    """A rule that cannot work as written (unknown key, bad pattern, impossible trigger)."""

#: Upper bound on an injected delay: long enough to outlast any client timeout, short enough not to wedge a worker.
MAX_LATENCY_MS = 600_000
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_METHOD = re.compile(r"^[A-Za-z]+$")


def short_repr(value: Any) -> str:
    """A value as an error message quotes it: JSON, strings in quotes, at most 60 characters."""
    text = json.dumps(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 60 else text[:57] + "..."


def is_whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value)


_RULE_TYPES: dict[str, tuple[str, bool]] = {
    # key: (type, None allowed)
    "surface": ("str", True), "method": ("str", True), "path": ("str", True), "client_id": ("str", True),
    "tenant": ("str", True), "after": ("str", True), "before": ("str", True), "content_type": ("str", True),
    "id": ("str", False), "kind": ("str", False),
    "nth": ("int", True), "first": ("int", True), "every": ("int", True), "status": ("int", True),
    "retry_after": ("int", True), "truncate": ("int", True), "latency_ms": ("int", False), "seed": ("int", False),
    "probability": ("number", True), "drop": ("bool", False), "headers": ("headers", False),
}


def check_rule_values(rule: dict[str, Any]) -> None:
    """What ``FaultRule`` assumes of its values, checked before it is built: a rule from JSON or YAML can hold anything."""
    for key, value in rule.items():
        if key not in _RULE_TYPES:
            continue  # unknown keys are named by FaultInjector.add
        expected, nullable = _RULE_TYPES[key]
        if value is None:
            if nullable:
                continue
            raise FaultRuleError(f"'{key}' must not be null")
        if expected == "str" and not isinstance(value, str):
            raise FaultRuleError(f"'{key}' must be a string, got {short_repr(value)}")
        if expected == "int" and not is_whole_number(value):
            raise FaultRuleError(f"'{key}' must be a whole number, got {short_repr(value)}")
        if expected == "number" and not is_number(value):
            raise FaultRuleError(f"'{key}' must be a number, got {short_repr(value)}")
        if expected == "bool" and not isinstance(value, bool):
            raise FaultRuleError(f"'{key}' must be true or false, got {short_repr(value)}")
        if expected == "headers":
            if not isinstance(value, dict):
                raise FaultRuleError(f"'headers' must be an object of header names to strings, got {short_repr(value)}")
            for name, text in value.items():
                if not _HEADER_NAME.match(name):
                    raise FaultRuleError(f"'headers' has an invalid header name {short_repr(name)}")
                if not isinstance(text, str) or "\r" in text or "\n" in text:
                    raise FaultRuleError(f"'headers.{name}' must be a one-line string, got {short_repr(text)}")
    for key in ("retry_after", "truncate", "latency_ms"):
        value = rule.get(key)
        if value is not None and value < 0:
            raise FaultRuleError(f"'{key}' must be at least 0, got {value}")
    if (rule.get("latency_ms") or 0) > MAX_LATENCY_MS:
        raise FaultRuleError(f"'latency_ms' must be at most {MAX_LATENCY_MS}, got {rule['latency_ms']}")
    if rule.get("status") is not None and not 200 <= rule["status"] <= 599:
        raise FaultRuleError(f"'status' must be between 200 and 599, got {rule['status']}")
    if rule.get("method") is not None and not _METHOD.match(rule["method"]):
        raise FaultRuleError(f"'method' must be an HTTP method name, got {short_repr(rule['method'])}")
    content_type = rule.get("content_type")
    if content_type is not None and ("\r" in content_type or "\n" in content_type):
        raise FaultRuleError("'content_type' must be one line")


@dataclass
class FaultRule:
    # --- matching
    surface: str | None = None  # "identity", "graph", "lms", ... None = any
    method: str | None = None
    path: str | None = None  # glob ("/v1.0/groups/*/members") or regex when it starts with "^"
    client_id: str | None = None
    tenant: str | None = None
    # --- triggers (all given ones must hold)
    nth: int | None = None  # only the nth matching request (1-based)
    first: int | None = None  # the first N matching requests
    every: int | None = None  # every Nth matching request
    probability: float | None = None  # seeded
    after: str | None = None  # window on the simulated clock (ISO 8601)
    before: str | None = None
    # --- action
    kind: str = "custom"  # see FAULT_KINDS; decides the rendered body when ``body`` is not given
    status: int | None = None
    body: Any = None  # str or JSON-able; overrides the surface's rendering
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: int | None = None
    latency_ms: int = 0  # added before answering (or before passing the request on)
    drop: bool = False  # close the connection without an answer
    truncate: int | None = None  # send the real response's headers and only this many body bytes
    # --- identity and state
    id: str = ""
    seed: int = 0
    matched: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultRuleError(f"unknown fault kind '{self.kind}'; expected one of {', '.join(FAULT_KINDS)}")
        for name in ("nth", "first", "every"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise FaultRuleError(f"'{name}' must be a whole number of at least 1, got {value!r}")
        if self.probability is not None and not 0 <= float(self.probability) <= 1:
            raise FaultRuleError(f"'probability' must be between 0 and 1, got {self.probability!r}")
        if self.status is not None and not 100 <= int(self.status) <= 599:
            raise FaultRuleError(f"'status' must be an HTTP status, got {self.status!r}")
        if self.path and self.path.startswith("^"):
            try:
                re.compile(self.path)
            except re.error as exc:
                raise FaultRuleError(f"'path' is not a valid regular expression: {exc}") from None
        for name in ("after", "before"):
            value = getattr(self, name)
            if value is not None:
                try:
                    parse_iso(value)
                except ValueError:
                    raise FaultRuleError(f"'{name}' must be an ISO 8601 time, got {value!r}") from None
        if self.kind == "custom" and self.status is None and not (self.drop or self.latency_ms or self.truncate is not None):
            raise FaultRuleError("a rule must act: give a 'kind', a 'status', 'latency_ms', 'drop' or 'truncate'")
        self._rng = random.Random(f"{self.seed}:{self.id}")

    @property
    def effective_status(self) -> int | None:
        if self.status is not None:
            return int(self.status)
        return _DEFAULT_STATUS.get(self.kind)

    def matches(self, request: "RequestInfo") -> bool:
        if self.surface and self.surface != request.surface:
            return False
        if self.method and self.method.upper() != request.method.upper():
            return False
        if self.path:
            if self.path.startswith("^"):
                if not re.search(self.path, request.path):
                    return False
            elif not fnmatch.fnmatchcase(request.path, self.path):
                return False
        if self.client_id and (request.client_id or "").lower() != self.client_id.lower():
            return False
        if self.tenant and (request.tenant or "").lower() != self.tenant.lower():
            return False
        return True

    def triggers(self, now: datetime) -> bool:
        """Called once per matching request, in order; decides whether this one fails."""
        self.matched += 1
        n = self.matched
        if self.nth is not None and n != self.nth:
            return False
        if self.first is not None and n > self.first:
            return False
        if self.every is not None and n % self.every != 0:
            return False
        if self.after is not None and now < parse_iso(self.after):
            return False
        if self.before is not None and now >= parse_iso(self.before):
            return False
        if self.probability is not None and self._rng.random() >= float(self.probability):
            return False
        self.fired += 1
        return True

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: v for k, v in data.items() if v not in (None, {}, 0, False) or k in ("id", "matched", "fired", "kind")}


@dataclass
class RequestInfo:
    """What a rule can match on, extracted by the surface from the HTTP request."""

    surface: str
    method: str
    path: str
    client_id: str | None = None
    tenant: str | None = None


@dataclass
class FaultAction:
    """What to do with one request: the rule that fired and its parameters."""

    rule: FaultRule

    @property
    def status(self) -> int | None:
        return self.rule.effective_status


class FaultInjector:
    """Holds the rules of one server (or of several sharing a fault plan)."""

    def __init__(self, clock: Clock | None = None, seed: int = 0, connection_faults: str | None = None):
        """``connection_faults`` is None when the server can drop and cut connections, else why it cannot."""
        self.clock = clock or Clock()
        self.seed = seed
        self.connection_faults = connection_faults
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._counter = 0

    def add(self, rule: FaultRule | dict[str, Any] | None = None, **kwargs: Any) -> FaultRule:
        """Add a rule (a ``FaultRule``, a dict as in scenario files, or keyword arguments)."""
        if rule is None:
            rule = kwargs
        if isinstance(rule, dict):
            known = {f for f in FaultRule.__dataclass_fields__ if f not in ("matched", "fired")}
            unknown = set(rule) - known
            if unknown:
                raise FaultRuleError(f"unknown fault rule key(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
            check_rule_values(rule)
            rule = FaultRule(**{"seed": self.seed, **rule})
        if self.connection_faults is not None and (rule.drop or rule.truncate is not None):
            raise FaultRuleError(f"this server cannot drop or cut connections: {self.connection_faults}")
        with self._lock:
            self._counter += 1
            if not rule.id:
                rule.id = f"fault-{self._counter}"
                rule._rng = random.Random(f"{rule.seed}:{rule.id}")
            if any(r.id == rule.id for r in self._rules):
                raise FaultRuleError(f"a fault rule with id '{rule.id}' already exists")
            self._rules.append(rule)
        return rule

    def extend(self, rules: Iterable[FaultRule | dict[str, Any]]) -> list[FaultRule]:
        return [self.add(r) for r in rules]

    def remove(self, rule_id: str) -> None:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            if len(self._rules) == before:
                raise KeyError(rule_id)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def has_rules(self) -> bool:
        """Cheap test for the common case of no faults at all (read without the lock)."""
        return bool(self._rules)

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def decide(self, request: RequestInfo) -> FaultAction | None:
        """The first rule that matches and triggers wins; every matching rule counts the request."""
        now = self.clock.now()
        chosen: FaultAction | None = None
        with self._lock:
            for rule in self._rules:
                if not rule.matches(request):
                    continue
                if rule.triggers(now) and chosen is None:
                    chosen = FaultAction(rule)
        return chosen


# ----------------------------------------------------------------- Flask glue

#: ``describe(request) -> RequestInfo``: how a surface names the caller.
Describe = Callable[[Any], RequestInfo]
#: ``render(kind, status, rule) -> flask.Response``: an error in the surface's format.
Render = Callable[[str, int, FaultRule], Any]


def gateway_timeout_page() -> str:
    """The HTML a gateway in front of Graph answers with when the backend times out."""
    return (
        "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
        "<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n"
    )


def install(app: Any, injector: FaultInjector | None, surface: str, describe: Describe, render: Render,
            exempt_prefixes: tuple[str, ...] = ("/_entrasim",)) -> None:
    """Hook ``injector`` into a Flask app: faults are decided before the route runs.

    The control API (``/_entrasim``) is exempt so a test can always clear faults.
    A rule that truncates cuts whatever response the request gets: the real one
    when the rule has no status, the injected error when it has one.
    """
    if injector is None:
        return
    before, after = hooks(injector, surface, describe, render, exempt_prefixes)
    app.before_request(before)
    app.after_request(after)


def hooks(injector: FaultInjector, surface: str, describe: Describe, render: Render,
          exempt_prefixes: tuple[str, ...] = ("/_entrasim",)) -> tuple[Callable[[], Any], Callable[[Any], Any]]:
    """The two Flask hooks ``install`` registers, for an app that calls them from hooks of its own.

    ``before()`` returns the injected response (or None to go on); ``after(response)`` returns the
    response to send (cut short when the rule truncates). An app on a hot path calls them from its
    single before/after hook instead of paying for two more hooks per request.
    """
    from flask import Response, g, request

    def _inject_fault():  # noqa: ANN202 - Flask hook
        if not injector.has_rules or request.path.startswith(exempt_prefixes):
            return None
        info = describe(request)
        info.surface = info.surface or surface
        action = injector.decide(info)
        if action is None:
            return None
        rule = action.rule
        g.entrasim_fault = rule
        if rule.latency_ms:
            time.sleep(rule.latency_ms / 1000.0)
        if rule.drop:
            return Response(_cut_connection(request, b""), status=500)
        status = action.status
        if status is None:
            return None  # latency only, or the real response is cut in after_request
        if rule.body is not None:
            body = rule.body
            if isinstance(body, (dict, list)):
                from flask import json

                response = Response(json.dumps(body), status=status, content_type=rule.content_type or "application/json")
            else:
                response = Response(str(body), status=status, content_type=rule.content_type or "text/plain; charset=utf-8")
        elif rule.kind == "gateway_timeout":
            response = Response(gateway_timeout_page(), status=status, content_type="text/html")
        else:
            response = render(rule.kind, status, rule)
        if rule.retry_after is not None:
            response.headers["Retry-After"] = str(rule.retry_after)
        for key, value in rule.headers.items():
            response.headers[key] = value
        return response

    def _truncate_body(response):  # noqa: ANN001, ANN202 - Flask hook
        rule = g.get("entrasim_fault")
        if rule is None or rule.truncate is None or rule.drop:
            return response
        data = response.get_data()
        keep = data[: max(0, int(rule.truncate))]
        truncated = Response(_cut_connection(request, keep), status=response.status_code, headers=response.headers.copy())
        truncated.headers["Content-Length"] = str(len(data))  # announce the whole body, send only ``keep``
        return truncated

    return _inject_fault, _truncate_body


def _cut_connection(request: Any, sent: bytes) -> Iterable[bytes]:
    """A response body that sends ``sent`` (status and headers go with it), then cuts the connection.

    It runs inside the server's write loop, after every Flask hook, so the client
    has received exactly the headers and ``sent`` when the socket shuts down. The
    request body is read first: a socket closed with unread input answers with
    a reset, which could destroy the bytes already sent before the client reads them.
    """
    try:
        request.get_data(cache=True)
    except Exception:  # noqa: BLE001 - an unreadable body must not stop the fault
        pass
    environ = request.environ  # taken now: the body runs after the request context is gone

    def body() -> Iterable[bytes]:
        if sent:
            yield sent
        _drop_connection(environ)

    return body()


def _drop_connection(environ: dict) -> None:
    """Shut the client's TCP connection down now, then stop the server's write loop.

    Only ``shutdown``, never ``close``: the server still owns the socket and closes
    it itself (cheroot treats a socket closed under it as fatal for its worker
    thread, and a freed descriptor could be reused by another connection).
    The ``BrokenPipeError`` that follows is what every server takes for a client
    that went away: werkzeug and cheroot end the connection quietly.
    """
    sock = environ.get("entrasim.socket") or environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise BrokenPipeError(errno.EPIPE, "entrasim fault: connection dropped")
