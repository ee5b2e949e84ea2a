"""Application factory of the SCIM LMS: ``create_app(store, faults=None, config=None)``.

The app serves the SCIM endpoints under ``config.base_path`` (``/scim/v2`` by
default), checks bearer tokens, runs the shared fault injector (faults answer
in SCIM error format), records every request in a redacted request log, and
mounts the control API under ``/_entrasim`` when asked. Every error, including
Flask's own 404/405/413, leaves as a SCIM error body; an unexpected exception
is a 500 SCIM error, never an HTML page.

Unless ``config.fast_path`` is off, the hot resource requests skip Flask: a
raw-WSGI layer in front of it (``fast_path.FastPath``) serves them with the same
operations, checks and log, and hands Flask everything else.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, g, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ... import faults as faultlib
from ...faults import FaultInjector, RequestInfo
from ...requestlog import RequestLog
from .config import LmsConfig
from .context import LmsContext
from .errors import MethodNotAllowed, NotFound, PayloadTooLarge, ScimError, ServerError, fault_response
from .model import ScimStore
from .schemas import build_registry
from .service import ScimService

CONTROL_PREFIX = "/_entrasim"
logger = logging.getLogger("entrasim.lms.scim")


class _ScimFlask(Flask):
    """Flask, with the sync-or-async test of each hook and view made once per function, not once per call.

    Flask asks ``inspect`` whether every hook and view is a coroutine function on every request; the
    answer never changes, and asking costs more than some of the hooks themselves.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._synced: dict[Any, Any] = {}

    def ensure_sync(self, func: Any) -> Any:
        synced = self._synced.get(func)
        if synced is None:
            synced = self._synced[func] = super().ensure_sync(func)
        return synced


def _ensure_extensions(store: ScimStore, service_profile: Any) -> None:
    """Give the store's registry the profile's User extensions (the resource types and indexes stay the same)."""
    wanted = {s.id for s in service_profile.extensions}
    have = {s.id for s, _ in store.registry.resource_type("User").extensions}
    if not wanted <= have:
        store.registry = build_registry(service_profile.extensions)


def create_app(store: ScimStore | None = None, faults: FaultInjector | None = None, config: LmsConfig | None = None,
               log: RequestLog | None = None) -> Flask:
    """Build the app serving ``store``; ``faults`` defaults to an empty injector on the store's clock."""
    from . import routes

    store = store if store is not None else ScimStore()
    config = config or LmsConfig()
    profile = config.loaded_profile
    _ensure_extensions(store, profile)
    service = ScimService(store, profile, realm=config.realm)
    faults = faults if faults is not None else FaultInjector(clock=store.clock)
    log = log or RequestLog(keep_bodies=config.log_bodies)
    tokens = config.tokens
    app = _ScimFlask("entrasim.lms.scim")
    app.json.sort_keys = False
    limits = profile.limits
    app.config["MAX_CONTENT_LENGTH"] = max(limits.max_body_bytes, limits.bulk_max_payload_bytes) + 1
    app.extensions["entrasim"] = LmsContext(service=service, store=store, faults=faults, log=log, config=config,
                                            tokens=tokens)

    def describe(req: Any) -> RequestInfo:
        return RequestInfo("lms", req.method, req.path, g.get("lms_token_label"))

    inject_fault, truncate_body = faultlib.hooks(faults, "lms", describe, fault_response,
                                                 exempt_prefixes=(CONTROL_PREFIX,))

    # One before- and one after-request hook, not one per concern: Flask pays for every hook on every
    # request, and each reads the request through context-local proxies; here they are read once.
    @app.before_request
    def _admit():  # noqa: ANN202 - Flask hook
        started = time.perf_counter()
        req = request._get_current_object()
        context = g._get_current_object()
        context.entrasim_started = started
        authorization = req.environ.get("HTTP_AUTHORIZATION")
        # Which token the caller presents (its label, never its value), for fault rules and the log.
        context.lms_token_label = tokens.identify(authorization) if tokens is not None else None
        if faults.has_rules:
            injected = inject_fault()
            if injected is not None:
                return injected
        if tokens is not None and not req.path.startswith(CONTROL_PREFIX):
            tokens.check(authorization)
        return None

    @app.after_request
    def _finish(response):  # noqa: ANN001, ANN202 - Flask hook
        req = request._get_current_object()
        context = g._get_current_object()
        if not req.path.startswith(CONTROL_PREFIX):
            _log_request(req, context, response)
        if getattr(context, "entrasim_fault", None) is not None:
            return truncate_body(response)
        return response

    def _log_request(req: Any, context: Any, response: Any) -> None:
        fault = getattr(context, "entrasim_fault", None)
        request_body = response_body = None
        if config.log_bodies:
            try:
                request_body = req.get_data(cache=True)
            except RequestEntityTooLarge:
                request_body = None
            response_body = response.get_data() if not response.is_streamed else None
        record_request(log, req.environ, req.path, response.status_code,
                       getattr(context, "entrasim_started", None) or time.perf_counter(),
                       getattr(context, "lms_token_label", None), fault.id if fault is not None else None,
                       request_body, response_body)

    @app.errorhandler(ScimError)
    def _scim_error(exc: ScimError):  # noqa: ANN202
        return exc.response()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # noqa: ANN202
        return scim_error_for_http(exc, request.method, request.path, request.host_url, limits,
                                   config.base_path).response()

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # noqa: ANN202
        return unexpected_error(request.method, request.path, exc).response()

    app.register_blueprint(routes.bp, url_prefix=config.base_path or None)
    if config.control:
        from ...control import make_blueprint
        from . import control_routes

        app.register_blueprint(make_blueprint(faults=faults, log=log, admin_key=config.admin_key,
                                              extra=control_routes.register))
    # (A base path inside the control prefix, or one werkzeug would redirect to merge slashes, stays with Flask.)
    if config.fast_path and not config.base_path.startswith(CONTROL_PREFIX) and "//" not in config.base_path:
        from .fast_path import FastPath

        app.wsgi_app = FastPath(app.wsgi_app, app.extensions["entrasim"], app.config["MAX_CONTENT_LENGTH"])
    return app


def record_request(log: RequestLog, environ: dict[str, Any], path: str, status: int, started: float,
                   client_id: str | None, fault: str | None, request_body: bytes | None,
                   response_body: bytes | None) -> None:
    """One request-log entry of an answered SCIM request (the Flask hooks and the fast path both write them)."""
    log.record(surface="lms", method=environ["REQUEST_METHOD"], path=path, query=environ.get("QUERY_STRING", ""),
               status=status, started=started, client_id=client_id, fault=fault, request_body=request_body,
               response_body=response_body)


def scim_error_for_http(exc: HTTPException, method: str, path: str, host_url: str, limits: Any,
                        base_path: str) -> ScimError:
    """werkzeug's own HTTP errors (no route, wrong method, body too large) as SCIM errors."""
    if isinstance(exc, RequestEntityTooLarge):
        return PayloadTooLarge(f"the body is larger than this server accepts ({limits.max_body_bytes} bytes; "
                               f"{limits.bulk_max_payload_bytes} for /Bulk)")
    if exc.code == 405:
        allowed = sorted(getattr(exc, "valid_methods", None) or [])
        return MethodNotAllowed(f"{method} is not allowed on {path}"
                                + (f"; allowed: {', '.join(allowed)}" if allowed else ""), allowed)
    if exc.code == 404:
        return NotFound(f"no SCIM endpoint at {path} (the SCIM base URL is {host_url.rstrip('/')}{base_path})")
    return ScimError(exc.description or exc.name, status=exc.code or 500)


def unexpected_error(method: str, path: str, exc: Exception) -> ScimError:
    """A bug met while serving: logged with its traceback (call it inside the ``except``), answered as a SCIM 500."""
    logger.exception("unexpected error serving %s %s", method, path)
    return ServerError(f"internal error: {type(exc).__name__}")
