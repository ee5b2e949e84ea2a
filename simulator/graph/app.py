"""Application factory for the identity platform + Graph v1.0 mock.

One Flask app serves both surfaces, as one TLS server: the identity platform
(``/{tenant}/oauth2/v2.0/token``, OIDC metadata, JWKS) and Graph under ``/v1.0``.
Faults and the request log wrap both; the control API is mounted under
``/_entrasim`` when enabled.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, g, request

from .. import faults as faultlib
from ..faults import FaultInjector, RequestInfo
from ..requestlog import RequestLog
from ..tenant import Tenant
from .context import GraphConfig, GraphContext
from .tokens import TokenService, caller_of

GRAPH_PREFIX = "/v1.0"


def _describe(req: Any) -> RequestInfo:
    """Name the surface and the caller of a request, for fault rules and the request log (once per request)."""
    info = g.get("entrasim_request_info")
    if info is None:
        info = g.entrasim_request_info = _caller(req)
    return RequestInfo(info.surface, info.method, info.path, info.client_id, info.tenant)


def _caller(req: Any) -> RequestInfo:
    path = req.path
    if path.startswith(GRAPH_PREFIX) or path == "/$batch":
        client_id = tenant = None
        auth = req.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            client_id, tenant = caller_of(auth[7:].strip())
        return RequestInfo("graph", req.method, path, client_id, tenant)
    segments = [s for s in path.split("/") if s]
    tenant = segments[0] if segments else None
    client_id = None
    if req.method == "POST" and req.mimetype == "application/x-www-form-urlencoded":
        client_id = req.form.get("client_id")
    if client_id is None and req.authorization is not None and req.authorization.type == "basic":
        client_id = req.authorization.username
    return RequestInfo("identity", req.method, path, client_id, tenant)


def _render_fault(kind: str, status: int, rule: faultlib.FaultRule):
    from . import errors, identity_errors

    if request.path.startswith(GRAPH_PREFIX):
        return errors.fault_response(kind, status, rule)
    return identity_errors.fault_response(kind, status, rule)


def create_app(tenant: Tenant, faults: FaultInjector | None = None, config: GraphConfig | None = None,
               log: RequestLog | None = None) -> Flask:
    """Build the app serving ``tenant``. ``faults`` defaults to an empty injector on the tenant's clock."""
    from . import api, batch, delta, identity

    config = config or GraphConfig()
    faults = faults if faults is not None else FaultInjector(clock=tenant.clock, seed=tenant.seed)
    log = log or RequestLog(keep_bodies=config.log_bodies)
    app = Flask("entrasim.graph")
    app.json.sort_keys = False
    app.extensions["entrasim"] = GraphContext(tenant=tenant, tokens=TokenService(tenant, config.token_lifetime, config.clock_skew),
                                              faults=faults, log=log, config=config)

    @app.before_request
    def _start_timer():
        g.entrasim_started = time.perf_counter()
        if config.log_bodies and (request.content_length or 0) <= 1 << 20:
            request.get_data(cache=True)  # keep the raw body for the log; form parsing reads the cached copy

    faultlib.install(app, faults, "graph", _describe, _render_fault)

    @app.after_request
    def _log_request(response):
        if request.path.startswith("/_entrasim"):
            return response
        info = _describe(request)
        fault = g.get("entrasim_fault")
        body = None
        if config.log_bodies and not response.is_streamed:
            body = response.get_data()
        dropped = fault is not None and fault.drop
        log.record(surface=info.surface, method=request.method, path=request.path,
                   query=request.query_string.decode("latin-1"), status=0 if dropped else response.status_code,
                   started=g.get("entrasim_started", time.perf_counter()), client_id=info.client_id,
                   fault=fault.id if fault is not None else None,
                   request_body=request.get_data(cache=True) if config.log_bodies else None,
                   response_body=body)
        return response

    app.register_blueprint(identity.bp)
    app.register_blueprint(api.bp, url_prefix=GRAPH_PREFIX)
    delta.register(app)
    batch.register(app)
    if config.control:
        from ..control import make_blueprint

        app.register_blueprint(make_blueprint(tenant=tenant, faults=faults, log=log, admin_key=config.admin_key))
    return app
