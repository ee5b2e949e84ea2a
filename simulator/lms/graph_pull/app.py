"""The Graph-pull LMS's admin API: Flask application factory and routes.

Routes translate HTTP to ``GraphPullLms`` calls and its errors to
``{"error": "..."}`` bodies; they hold no business logic. Every caller
authenticates as an LMS account with its bearer token. Every route but
``GET /api/me`` is an admin action, so an account that is not an enabled admin
(a demoted admin after a lockout, for one) gets 403 ``{"error": "Action
unauthorized"}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from ... import faults as faultlib
from ...faults import FaultInjector, RequestInfo
from .errors import BadRequest, LmsError, Unauthenticated
from .model import MAX_CLOCK_STEP, Account, GraphPullLms

API_PREFIX = "/api"


@dataclass
class GraphPullConfig:
    #: Serve ``POST /api/clock/advance`` (moves the LMS clock: schedules fire). Off when the clock is shared.
    clock_control: bool = True


bp = Blueprint("graph_pull", __name__)


def lms() -> GraphPullLms:
    return current_app.extensions["entrasim.graph_pull"]


def caller() -> Account:
    """The authenticated account (set before every request)."""
    return g.lms_account


def body_json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object (Content-Type: application/json)")
    return data


def _fields(data: dict[str, Any], allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise BadRequest(f"unknown field '{unknown[0]}'; fields: {', '.join(allowed)}")
    for key in required:
        if key not in data:
            raise BadRequest(f"'{key}' is required")
    return data


@bp.before_request
def _authenticate() -> None:
    """Every route needs an account's bearer token; which actions it may take is the model's decision."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated()
    g.lms_account = lms().authenticate(token.strip())


# ------------------------------------------------------------------------------------------------ who am I
@bp.get("/me")
def me() -> Response:
    account = caller()
    return jsonify({"account": account.to_dict(), "role": account.role,
                    "is_admin": account.role == "admin" and account.status == "enabled"})


# ------------------------------------------------------------------------------------------------ accounts
_ACCOUNT_FIELDS = ("login", "email", "first_name", "last_name", "role", "department", "status", "preferred_language",
                   "country", "manager")


@bp.get("/accounts")
def list_accounts() -> Response:
    lms().check_admin(caller())
    return jsonify({"accounts": [a.to_dict() for a in lms().list_accounts()]})


@bp.post("/accounts")
def create_account() -> Response:
    lms().check_admin(caller())
    data = _fields(body_json(), _ACCOUNT_FIELDS, ("login", "email"))
    login, email = data.pop("login"), data.pop("email")
    account = lms().add_account(login, email, actor=caller(), **data)
    return jsonify(account.to_dict()), 201


@bp.get("/accounts/<login>")
def get_account(login: str) -> Response:
    lms().check_admin(caller())
    return jsonify(lms().get_account(login).to_dict())


@bp.patch("/accounts/<login>")
def update_account(login: str) -> Response:
    lms().check_admin(caller())
    data = _fields(body_json(), _ACCOUNT_FIELDS[2:])
    return jsonify(lms().update_account(login, actor=caller(), **data).to_dict())


@bp.post("/accounts/<login>/tokens")
def issue_token(login: str) -> Response:
    """A new bearer token for an account (an admin hands it out; shown once)."""
    lms().check_admin(caller())
    return jsonify({"login": lms().get_account(login).login, "token": lms().issue_token(login)}), 201


# --------------------------------------------------------------------------------------------- departments
@bp.get("/departments")
def list_departments() -> Response:
    lms().check_admin(caller())
    return jsonify({"departments": [d.to_dict() for d in lms().list_departments()]})


@bp.post("/departments/<path:name>/enroll")
def enroll_department(name: str) -> Response:
    """Department names may hold '/', sent as is or as %2F (which cheroot leaves encoded in the path)."""
    name = name.replace("%2F", "/").replace("%2f", "/")
    return jsonify(lms().enroll_department(name, actor=caller()).to_dict())


# --------------------------------------------------------------------------------------------- connections
_CONNECTION_FIELDS = ("name", "tenant_id", "client_id", "client_secret", "authority_host", "graph_url", "ca_bundle")


@bp.get("/connections")
def list_connections() -> Response:
    lms().check_admin(caller())
    return jsonify({"connections": [c.public() for c in lms().connections.values()]})


@bp.post("/connections")
def create_connection() -> Response:
    lms().check_admin(caller())
    data = _fields(body_json(), _CONNECTION_FIELDS, ("tenant_id", "client_id", "client_secret"))
    return jsonify(lms().add_connection(actor=caller(), **data).public()), 201


@bp.get("/connections/<connection_id>")
def get_connection(connection_id: str) -> Response:
    lms().check_admin(caller())
    return jsonify(lms().get_connection(connection_id).public())


@bp.patch("/connections/<connection_id>")
def update_connection(connection_id: str) -> Response:
    lms().check_admin(caller())
    data = _fields(body_json(), _CONNECTION_FIELDS)
    return jsonify(lms().update_connection(connection_id, actor=caller(), **data).public())


@bp.delete("/connections/<connection_id>")
def delete_connection(connection_id: str) -> Response:
    lms().remove_connection(connection_id, actor=caller())
    return Response(status=204)


# ------------------------------------------------------------------------------------------------- imports
@bp.post("/imports")
def start_import() -> Response:
    """ "Import from Azure AD": one group, one role, now. 200 with the result, also when the import failed."""
    lms().check_admin(caller())
    data = _fields(body_json(), ("connection_id", "group_id", "role"), ("connection_id", "group_id"))
    result = lms().import_group(data["connection_id"], data["group_id"], data.get("role", "user"), actor=caller())
    return jsonify(result.to_dict())


@bp.get("/imports")
def list_imports() -> Response:
    lms().check_admin(caller())
    return jsonify({"imports": [r.to_dict() for r in lms().imports]})


@bp.get("/imports/<import_id>")
def get_import(import_id: str) -> Response:
    lms().check_admin(caller())
    return jsonify(lms().get_import(import_id).to_dict())


@bp.post("/csv-imports")
def csv_import() -> Response:
    """The CSV import: the body is the file (text/csv), or JSON ``{"csv": "..."}``."""
    lms().check_admin(caller())
    if request.mimetype == "application/json":
        text = _fields(body_json(), ("csv",), ("csv",))["csv"]
        if not isinstance(text, str):
            raise BadRequest("'csv' must be a string holding the file")
    else:
        text = request.get_data(as_text=True)
    return jsonify(lms().import_csv(text, actor=caller()).to_dict())


@bp.get("/import-log")
def import_log() -> Response:
    lms().check_admin(caller())
    import_id = request.args.get("import_id") or None
    since = request.args.get("since", "0")
    if not since.isdigit():
        raise BadRequest(f"'since' must be a whole number, got '{since}'")
    if import_id is not None:
        lms().get_import(import_id)
    return jsonify({"entries": [e.to_dict() for e in lms().import_log(import_id=import_id, since=int(since))]})


@bp.get("/import-log/<seq>")
def import_log_entry(seq: str) -> Response:
    """One entry: follow a failed import's ``error_detail.log_seq`` to the response behind the admin's text."""
    lms().check_admin(caller())
    if not seq.isdigit():
        raise BadRequest(f"an import log entry is named by its seq, a whole number, got '{seq}'")
    return jsonify(lms().get_log_entry(int(seq)).to_dict())


# ----------------------------------------------------------------------------------------------- schedules
@bp.get("/schedules")
def list_schedules() -> Response:
    lms().check_admin(caller())
    return jsonify({"schedules": [s.to_dict() for s in lms().list_schedules()], "checks": lms().schedule_checks()})


@bp.post("/schedules")
def create_schedule() -> Response:
    lms().check_admin(caller())
    data = _fields(body_json(), ("connection_id", "group_id", "role", "time"),
                   ("connection_id", "group_id", "role", "time"))
    return jsonify(_schedule_body(lms().add_schedule(actor=caller(), **data))), 201


def _schedule_body(schedule: Any) -> dict[str, Any]:
    """A schedule as created or changed, with the admin-group-last warnings it takes part in (saved anyway)."""
    return {**schedule.to_dict(), "checks": lms().schedule_checks(schedule.id)}


@bp.get("/schedules/checks")
def schedule_checks() -> Response:
    lms().check_admin(caller())
    return jsonify({"checks": lms().schedule_checks()})


@bp.patch("/schedules/<schedule_id>")
def update_schedule(schedule_id: str) -> Response:
    lms().check_admin(caller())
    data = _fields(body_json(), ("connection_id", "group_id", "role", "time"))
    return jsonify(_schedule_body(lms().update_schedule(schedule_id, actor=caller(), **data)))


@bp.delete("/schedules/<schedule_id>")
def delete_schedule(schedule_id: str) -> Response:
    lms().remove_schedule(schedule_id, actor=caller())
    return Response(status=204)


# --------------------------------------------------------------------------------------------- clock, state
@bp.get("/clock")
def get_clock() -> Response:
    lms().check_admin(caller())
    return jsonify({"now": lms()._now()})


@bp.post("/clock/advance")
def advance_clock() -> Response:
    """Move the LMS clock forward (schedules that come due run before the answer); returns the imports they ran."""
    lms().check_admin(caller())
    if not current_app.extensions["entrasim.graph_pull.config"].clock_control:
        raise LmsError("the clock is shared with the tenant: move it there", status=403)
    data = _fields(body_json(), ("days", "hours", "minutes", "seconds"))
    for key, value in data.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise BadRequest(f"'{key}' must be a number of at least 0, got {value!r}")
    try:
        delta = timedelta(**{k: float(v) for k, v in data.items()})
    except OverflowError:
        raise BadRequest(f"the clock moves forward by 0 to {MAX_CLOCK_STEP.days} days at a time") from None
    imports = lms().advance_clock(delta, actor=caller())
    return jsonify({"now": lms()._now(), "imports": [r.to_dict() for r in imports]})


@bp.get("/state")
def export_state() -> Response:
    lms().check_admin(caller())
    return jsonify(lms().export_state(caller=caller()))


# ------------------------------------------------------------------------------------------------- factory
def create_app(model: GraphPullLms | None = None, faults: FaultInjector | None = None,
               config: GraphPullConfig | None = None) -> Flask:
    """Build the admin API serving ``model``; ``faults`` (surface ``lms``) apply to every route."""
    model = model if model is not None else GraphPullLms()
    config = config or GraphPullConfig()
    app = Flask("entrasim.lms.graph_pull")
    app.json.sort_keys = False
    app.extensions["entrasim.graph_pull"] = model
    app.extensions["entrasim.graph_pull.config"] = config

    def describe(req: Any) -> RequestInfo:
        return RequestInfo("lms", req.method, req.path, None)

    faultlib.install(app, faults, "lms", describe, lambda kind, status, rule: _json_response(
        LmsError(f"Injected fault: {kind} ({rule.id})", status=status)))

    app.register_blueprint(bp, url_prefix=API_PREFIX)

    @app.errorhandler(LmsError)
    def _lms_error(err: LmsError) -> Response:
        return _json_response(err)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Response:
        if err.code == 404:
            return _json_response(LmsError(f"no such endpoint: {request.method} {request.path}", status=404))
        if err.code == 405:
            return _json_response(LmsError(f"method {request.method} is not allowed on {request.path}", status=405))
        return _json_response(LmsError(err.description or err.name, status=err.code or 400))

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        current_app.logger.exception("unexpected error serving %s %s", request.method, request.path)
        return _json_response(LmsError("internal error", status=500))

    return app


def _json_response(err: LmsError) -> Response:
    resp = jsonify(err.body())
    resp.status_code = err.status
    return resp
