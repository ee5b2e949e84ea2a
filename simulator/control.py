"""The control API under ``/_entrasim/``, shared by every entrasim server.

A test, a scenario or a person at a terminal drives a running server through it:
add and clear fault rules, move the simulated clock, read the request log, and
change the directory (users, groups, memberships, assignments, app secrets,
consent) while a client is connected, the way an administrator would change
the real tenant under a running integration.

Routes translate HTTP to calls on the objects the server already holds (the
``Tenant``, the ``FaultInjector``, the ``RequestLog``); the behaviour lives in
those objects. JSON in, JSON out. Errors are ``{"error": {"code", "message"}}``
with 400, 401, 404, 405 or 409, and their message names the key or value at
fault. Every request is checked completely before anything changes, so a
refused request leaves the server as it was.

The API is off unless a server enables it (``--control``), and when the server
has an admin key every request must carry it in ``X-Entrasim-Admin-Key``.
Fault rules never apply to ``/_entrasim`` itself, so a test can always undo
the faults it set.
"""

from __future__ import annotations

import hmac
import json
import types
import typing
import uuid
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, Callable

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from .clock import Clock, iso, parse_iso
from .faults import FaultInjector, FaultRule, FaultRuleError, check_rule_values, is_number, is_whole_number, short_repr
from .requestlog import RequestLog
from .tenant import Application, Group, ServicePrincipal, Tenant, User
from .tenant.errors import ObjectConflict, ObjectNotFound, TenantError
from .tenant.model import GROUP_ATTRIBUTES, USER_ATTRIBUTES, group_state, user_state

URL_PREFIX = "/_entrasim"
ADMIN_KEY_HEADER = "X-Entrasim-Admin-Key"

_DURATION_UNITS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
_MISSING = object()


# ------------------------------------------------------------------ errors
class ControlError(Exception):
    """An error of the control API, rendered as ``{"error": {"code", "message"}}``."""

    status = 400
    code = "badRequest"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})

    def response(self) -> Response:
        resp = json_response({"error": {"code": self.code, "message": self.message}}, self.status)
        for key, value in self.headers.items():
            resp.headers[key] = value
        return resp


class BadRequest(ControlError):
    status = 400
    code = "badRequest"


class Unauthorized(ControlError):
    status = 401
    code = "unauthorized"


class NotFound(ControlError):
    status = 404
    code = "notFound"


class MethodNotAllowed(ControlError):
    status = 405
    code = "methodNotAllowed"


class Conflict(ControlError):
    status = 409
    code = "conflict"


def _tenant_error(exc: TenantError) -> ControlError:
    """The model's errors carry no HTTP; this is their status on the control API."""
    if isinstance(exc, ObjectNotFound):
        return NotFound(exc.message)
    if isinstance(exc, ObjectConflict):
        return Conflict(exc.message)
    return BadRequest(exc.message)


# ------------------------------------------------------------------ JSON helpers (also for ``extra`` routes)
def json_response(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_body(*, required: bool = True, allow_list: bool = False) -> Any:
    """The request's JSON body: an object (or, when ``allow_list``, a list); ``{}`` when optional and empty."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise BadRequest("this request needs a JSON body")
        return {}
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if isinstance(data, dict) or (allow_list and isinstance(data, list)):
        return data
    raise BadRequest("the body must be a JSON object" + (" or a list of objects" if allow_list else ""))


def query_args(**parsers: Callable[[str, str], Any]) -> dict[str, Any]:
    """Parse the query string with one parser per known parameter; unknown parameters are refused."""
    unknown = sorted(set(request.args) - set(parsers))
    if unknown:
        known = ", ".join(sorted(parsers)) or "none"
        raise BadRequest(f"unknown query parameter(s): {', '.join(unknown)}; known: {known}")
    return {name: parse(name, request.args[name]) for name, parse in parsers.items() if name in request.args}


def _sequence_number(name: str, text: str) -> int:
    if not text.isdigit():
        raise BadRequest(f"'{name}' must be a whole number of at least 0, got '{text}'")
    return int(text)


def _text(_name: str, text: str) -> str:
    return text


# ------------------------------------------------------------------ value checks
def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Check a JSON value against a model field's type hint; ISO strings become datetimes."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(key, value, inner)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise BadRequest(f"'{key}' must be a list, got {short_repr(value)}")
        return [_coerce(f"{key}[{i}]", v, item) for i, v in enumerate(value)]
    if hint is bool and not isinstance(value, bool):
        raise BadRequest(f"'{key}' must be true or false, got {short_repr(value)}")
    if hint is str and not isinstance(value, str):
        raise BadRequest(f"'{key}' must be a string, got {short_repr(value)}")
    if hint is int and not is_whole_number(value):
        raise BadRequest(f"'{key}' must be a whole number, got {short_repr(value)}")
    if hint is datetime:
        if not isinstance(value, str):
            raise BadRequest(f"'{key}' must be an ISO 8601 time, got {short_repr(value)}")
        try:
            return parse_iso(value).replace(microsecond=0)
        except ValueError:
            raise BadRequest(f"'{key}' must be an ISO 8601 time, got {short_repr(value)}") from None
    return value


_USER_HINTS = typing.get_type_hints(User)
_GROUP_HINTS = typing.get_type_hints(Group)


def _attributes(data: dict[str, Any], hints: dict[str, Any], allowed: frozenset[str] | set[str], kind: str) -> dict[str, Any]:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise BadRequest(f"unknown {kind} attribute(s): {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")
    return {key: _coerce(key, value, hints[key]) for key, value in data.items()}


def _object_id(key: str, value: str) -> str:
    """Directory object ids are GUIDs, as Graph requires them in paths."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise BadRequest(f"'{key}' must be a GUID, got {short_repr(value)}") from None


def _duration(data: dict[str, Any], what: str, also_known: tuple[str, ...] = ()) -> timedelta:
    """``{"days": 1, "hours": 2, "minutes": 3, "seconds": 4}`` (any subset, at least one) as a timedelta."""
    unknown = sorted(set(data) - set(_DURATION_UNITS))
    if unknown:
        known = ", ".join([*_DURATION_UNITS, *also_known])
        raise BadRequest(f"unknown key(s) for {what}: {', '.join(unknown)}; known: {known}")
    if not data:
        raise BadRequest(f"give {what} as any of {', '.join(_DURATION_UNITS)}")
    total = 0.0
    for key, value in data.items():
        if not is_number(value) or value < 0:
            raise BadRequest(f"'{key}' must be a number of at least 0, got {short_repr(value)}")
        total += value * _DURATION_UNITS[key]
    try:
        return timedelta(seconds=total)
    except OverflowError:
        raise BadRequest(f"{what} is too long") from None


def rule_json(rule: FaultRule) -> dict[str, Any]:
    """A rule as the API lists it: what was set, plus its ``matched`` and ``fired`` counters."""
    data = asdict(rule)
    hidden_defaults = {"headers": {}, "drop": False, "latency_ms": 0}
    return {k: v for k, v in data.items() if v is not None and hidden_defaults.get(k, _MISSING) != v}


# ------------------------------------------------------------------ directory views
def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, list):
        return list(value)
    return value


def user_json(user: User) -> dict[str, Any]:
    return {k: _plain(v) for k, v in user_state(user).items()}


def group_json(group: Group, tenant: Tenant) -> dict[str, Any]:
    out = {k: _plain(v) for k, v in group_state(group).items()}
    out["members"] = tenant.member_ids(group.id)
    return out


def service_principal_json(sp: ServicePrincipal) -> dict[str, Any]:
    return {"id": sp.id, "appId": sp.appId, "accountEnabled": sp.accountEnabled, "grantedPermissions": list(sp.grantedPermissions)}


def application_json(app: Application, tenant: Tenant) -> dict[str, Any]:
    """An app registration without secret values (Graph shows a three-character hint, so do we)."""
    now = tenant.clock.now()
    return {
        "id": app.id,
        "appId": app.appId,
        "displayName": app.displayName,
        "signInAudience": app.signInAudience,
        "createdDateTime": _plain(app.createdDateTime),
        "requiredPermissions": list(app.requiredPermissions),
        "servicePrincipal": service_principal_json(tenant.service_principal(app.appId)),
        "passwordCredentials": [
            {"keyId": c.keyId, "displayName": c.displayName, "hint": c.hint, "startDateTime": iso(c.startDateTime),
             "endDateTime": iso(c.endDateTime), "expired": c.is_expired(now)}
            for c in app.passwordCredentials
        ],
        "keyCredentials": [
            {"keyId": c.keyId, "displayName": c.displayName, "startDateTime": iso(c.startDateTime),
             "endDateTime": iso(c.endDateTime), "expired": c.is_expired(now)}
            for c in app.keyCredentials
        ],
    }


def tenant_json(tenant: Tenant) -> dict[str, Any]:
    with tenant.lock:
        return {
            "id": tenant.id,
            "displayName": tenant.displayName,
            "domains": list(tenant.domains),
            "createdDateTime": iso(tenant.createdDateTime),
            "now": iso(tenant.clock.now()),
            "counts": tenant.counts(),
            "journal": {"lastSeq": tenant.journal.last_seq},
            "applications": [application_json(app, tenant) for app in tenant.applications.values()],
        }


# ------------------------------------------------------------------ the blueprint
def make_blueprint(*, tenant: Tenant | None = None, faults: FaultInjector | None = None, log: RequestLog | None = None,
                   admin_key: str | None = None, extra: Callable[[Blueprint], None] | None = None) -> Blueprint:
    """The control API for one server, to register on its Flask app.

    ``tenant``, ``faults`` and ``log`` are what the server holds; a server without
    one of them (a SCIM LMS has no directory) answers that part of the API with
    404 and says why. ``admin_key``, when given, is required on every request.
    ``extra(bp)`` may add server-specific routes to the same blueprint: they get
    the admin-key check and the error format for free (use ``json_body``,
    ``query_args``, ``json_response`` and the ``ControlError`` classes).
    """
    if admin_key is not None and not admin_key:
        raise ValueError("admin_key must be a non-empty string (or None for no key)")
    clock: Clock | None = tenant.clock if tenant is not None else (faults.clock if faults is not None else None)
    bp = Blueprint("entrasim_control", __name__, url_prefix=URL_PREFIX)

    @bp.before_request
    def _check_admin_key():
        if admin_key is None:
            return None
        given = request.headers.get(ADMIN_KEY_HEADER, "")
        if not hmac.compare_digest(given.encode("utf-8"), admin_key.encode("utf-8")):
            raise Unauthorized(f"the control API needs the header {ADMIN_KEY_HEADER} with this server's admin key")
        return None

    @bp.errorhandler(ControlError)
    def _control_error(exc: ControlError):
        return exc.response()

    @bp.errorhandler(TenantError)
    def _model_error(exc: TenantError):
        return _tenant_error(exc).response()

    @bp.errorhandler(FaultRuleError)
    def _rule_error(exc: FaultRuleError):
        return BadRequest(str(exc)).response()

    # -------------------------------------------------- what this server holds
    def need_tenant() -> Tenant:
        if tenant is None:
            raise NotFound("this server has no directory: tenant routes are not available here")
        return tenant

    def need_faults() -> FaultInjector:
        if faults is None:
            raise NotFound("this server has no fault injector")
        return faults

    def need_log() -> RequestLog:
        if log is None:
            raise NotFound("this server keeps no request log")
        return log

    def need_clock() -> Clock:
        if clock is None:
            raise NotFound("this server has no simulated clock")
        return clock

    # -------------------------------------------------- health and clock
    @bp.get("/health")
    def health():
        return json_response({"status": "ok", "tenantId": tenant.id if tenant is not None else None,
                              "now": iso(clock.now()) if clock is not None else None})

    def clock_json() -> dict[str, Any]:
        c = need_clock()
        return {"now": iso(c.now()), "frozen": c.is_frozen}

    @bp.get("/clock")
    def get_clock():
        return json_response(clock_json())

    @bp.post("/clock/advance")
    def advance_clock():
        delta = _duration(json_body(), "the advance")
        c = need_clock()
        try:
            if tenant is not None:
                tenant.advance_clock(delta)  # purges soft-deleted users whose retention ended
            else:
                c.advance(delta)
        except OverflowError:
            raise BadRequest("the advance would move the clock past the year 9999") from None
        return json_response(clock_json())

    # -------------------------------------------------- faults
    @bp.get("/faults")
    def list_faults():
        return json_response({"value": [rule_json(r) for r in need_faults().rules]})

    @bp.post("/faults")
    def add_faults():
        injector = need_faults()
        data = json_body(allow_list=True)
        items = data if isinstance(data, list) else [data]
        if not items:
            raise BadRequest("the list of fault rules is empty")
        for index, item in enumerate(items):
            where = f"fault rule {index}: " if isinstance(data, list) else ""
            if not isinstance(item, dict):
                raise BadRequest(f"{where}each fault rule must be a JSON object, got {short_repr(item)}")
            try:
                check_rule_values(item)
            except FaultRuleError as exc:
                raise BadRequest(where + str(exc)) from None
        # Build every rule on a scratch injector first: a list is added whole or not at all.
        scratch = FaultInjector(clock=injector.clock, seed=injector.seed, connection_faults=injector.connection_faults)
        for index, item in enumerate(items):
            try:
                scratch.add(dict(item))
            except (FaultRuleError, ValueError, TypeError) as exc:
                where = f"fault rule {index}: " if isinstance(data, list) else ""
                raise BadRequest(where + str(exc)) from None
        existing = {r.id for r in injector.rules}
        taken = sorted({item["id"] for item in items if item.get("id")} & existing)
        if taken:
            raise Conflict(f"a fault rule with id {', '.join(repr(t) for t in taken)} already exists")
        added: list[FaultRule] = []
        try:
            for item in items:
                added.append(injector.add(dict(item)))
        except FaultRuleError as exc:  # an explicit id equal to an id generated meanwhile
            for rule in added:
                injector.remove(rule.id)
            raise Conflict(str(exc)) from None
        if isinstance(data, list):
            return json_response({"value": [rule_json(r) for r in added]}, 201)
        return json_response(rule_json(added[0]), 201)

    @bp.delete("/faults")
    def clear_faults():
        injector = need_faults()
        count = len(injector.rules)
        injector.clear()
        return json_response({"cleared": count})

    def find_rule(rule_id: str) -> FaultRule:
        for rule in need_faults().rules:
            if rule.id == rule_id:
                return rule
        raise NotFound(f"fault rule '{rule_id}' does not exist")

    @bp.get("/faults/<path:rule_id>")
    def get_fault(rule_id: str):
        return json_response(rule_json(find_rule(rule_id)))

    @bp.delete("/faults/<path:rule_id>")
    def delete_fault(rule_id: str):
        try:
            need_faults().remove(rule_id)
        except KeyError:
            raise NotFound(f"fault rule '{rule_id}' does not exist") from None
        return json_response({"removed": rule_id})

    # -------------------------------------------------- request log
    @bp.get("/requests")
    def list_requests():
        args = query_args(since=_sequence_number, surface=_text)
        since = args.get("since", 0)
        entries = need_log().entries(since=since)
        last = entries[-1].seq if entries else since
        if "surface" in args:
            entries = [e for e in entries if e.surface == args["surface"]]
        return json_response({"value": [e.as_dict() for e in entries], "lastSeq": last})

    @bp.delete("/requests")
    def clear_requests():
        need_log().clear()
        return json_response({"cleared": True})

    # -------------------------------------------------- tenant
    @bp.get("/tenant")
    def get_tenant():
        return json_response(tenant_json(need_tenant()))

    @bp.get("/journal")
    def get_journal():
        t = need_tenant()
        args = query_args(since=_sequence_number, kind=_journal_kind)
        kinds = (args["kind"],) if "kind" in args else None
        entries = t.journal.since(args.get("since", 0), kinds)
        return json_response({"value": [c.as_dict() for c in entries], "lastSeq": t.journal.last_seq})

    # users
    user_create_keys = USER_ATTRIBUTES | {"userPrincipalName", "displayName", "id"}
    user_update_keys = USER_ATTRIBUTES | {"userPrincipalName", "displayName"}

    def manager_id(t: Tenant, data: dict[str, Any]) -> None:
        """Replace ``"manager": "<upn or id>"`` with ``managerId`` (null clears the manager)."""
        manager = data.pop("manager", _MISSING)
        if manager is _MISSING:
            return
        if "managerId" in data:
            raise BadRequest("give 'manager' or 'managerId', not both")
        if manager is None:
            data["managerId"] = None
            return
        if not isinstance(manager, str):
            raise BadRequest(f"'manager' must be a userPrincipalName or id, got {short_repr(manager)}")
        found = t.find_user(manager)
        if found is None:
            raise BadRequest(f"'manager': user '{manager}' does not exist")
        data["managerId"] = found.id

    @bp.post("/users")
    def create_user():
        t = need_tenant()
        data = json_body()
        if "userPrincipalName" not in data:
            raise BadRequest("'userPrincipalName' is required")
        with t.lock:
            manager_id(t, data)
            attrs = _attributes(data, _USER_HINTS, user_create_keys, "user")
            if "id" in attrs:
                attrs["id"] = _object_id("id", attrs["id"])
            user = t.create_user(**attrs)
            return json_response(user_json(user), 201)

    @bp.get("/users/<ident>")
    def get_user(ident: str):
        return json_response(user_json(need_tenant().get_user(ident, include_deleted=True)))

    @bp.patch("/users/<ident>")
    def update_user(ident: str):
        t = need_tenant()
        data = json_body()
        with t.lock:
            manager_id(t, data)
            changes = _attributes(data, _USER_HINTS, user_update_keys, "user")
            return json_response(user_json(t.update_user(ident, **changes)))

    user_actions: dict[str, Callable[[Tenant, str], User]] = {
        "disable": Tenant.disable_user,
        "enable": Tenant.enable_user,
        "soft-delete": Tenant.soft_delete_user,
        "restore": Tenant.restore_user,
    }

    @bp.post("/users/<ident>/<action>")
    def user_action(ident: str, action: str):
        t = need_tenant()
        if action == "purge":
            with t.lock:
                user = t.get_user(ident, include_deleted=True)
                t.purge_user(user.id)
            return json_response({"id": user.id, "userPrincipalName": user.userPrincipalName, "purged": True})
        if action not in user_actions:
            raise NotFound(f"unknown user action '{action}'; known: {', '.join([*user_actions, 'purge'])}")
        return json_response(user_json(user_actions[action](t, ident)))

    # groups
    group_create_keys = GROUP_ATTRIBUTES | {"displayName", "id"}
    group_update_keys = GROUP_ATTRIBUTES | {"displayName"}

    def resolve_member(t: Tenant, ident: str, include_deleted: bool = False) -> str:
        if ident in t.groups:
            return ident
        return t.get_user(ident, include_deleted=include_deleted).id

    @bp.post("/groups")
    def create_group():
        t = need_tenant()
        data = json_body()
        if "displayName" not in data:
            raise BadRequest("'displayName' is required")
        members = data.pop("members", [])
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise BadRequest(f"'members' must be a list of user ids, userPrincipalNames or group ids, got {short_repr(members)}")
        with t.lock:
            attrs = _attributes(data, _GROUP_HINTS, group_create_keys, "group")
            if "id" in attrs:
                attrs["id"] = _object_id("id", attrs["id"])
            # Resolve every member before the group exists, so a bad member creates nothing.
            resolved: list[str] = []
            for ident in members:
                try:
                    member = resolve_member(t, ident)
                except ObjectNotFound:
                    raise BadRequest(f"'members': '{ident}' is neither a user nor a group") from None
                if member in resolved:
                    raise BadRequest(f"'members' names '{ident}' twice")
                if member == attrs.get("id"):
                    raise BadRequest("'members': a group cannot be a member of itself")
                resolved.append(member)
            group = t.create_group(members=resolved, **attrs)
            return json_response(group_json(group, t), 201)

    @bp.get("/groups/<ident>")
    def get_group(ident: str):
        t = need_tenant()
        with t.lock:
            return json_response(group_json(t.get_group(ident), t))

    @bp.patch("/groups/<ident>")
    def update_group(ident: str):
        t = need_tenant()
        data = json_body()
        with t.lock:
            changes = _attributes(data, _GROUP_HINTS, group_update_keys, "group")
            return json_response(group_json(t.update_group(ident, **changes), t))

    @bp.delete("/groups/<ident>")
    def delete_group(ident: str):
        t = need_tenant()
        t.delete_group(ident)
        return json_response({"id": ident, "deleted": True})

    @bp.post("/groups/<ident>/members/<path:member>")
    def add_member(ident: str, member: str):
        t = need_tenant()
        with t.lock:
            t.add_member(ident, member)
            member_id = resolve_member(t, member)
            return json_response({"groupId": ident, "memberId": member_id, "memberCount": len(t.member_ids(ident))}, 201)

    @bp.delete("/groups/<ident>/members/<path:member>")
    def remove_member(ident: str, member: str):
        t = need_tenant()
        with t.lock:
            member_id = resolve_member(t, member, include_deleted=True) if t.groups.get(ident) else member
            t.remove_member(ident, member)
            return json_response({"groupId": ident, "memberId": member_id, "memberCount": len(t.member_ids(ident))})

    # assignments
    def assignment_json(a: Any) -> dict[str, Any]:
        return {"principalId": a.principalId, "principalType": a.principalType, "appRole": a.appRole}

    @bp.get("/assignments")
    def list_assignments():
        t = need_tenant()
        with t.lock:
            return json_response({"value": [assignment_json(a) for a in t.assignments.values()]})

    @bp.post("/assignments/<path:principal>")
    def assign(principal: str):
        t = need_tenant()
        data = json_body(required=False)
        unknown = sorted(set(data) - {"appRole"})
        if unknown:
            raise BadRequest(f"unknown assignment key(s): {', '.join(unknown)}; known: appRole")
        app_role = data.get("appRole", "User")
        if not isinstance(app_role, str) or not app_role:
            raise BadRequest(f"'appRole' must be a non-empty string, got {short_repr(app_role)}")
        return json_response(assignment_json(t.assign(principal, app_role)))

    @bp.delete("/assignments/<path:principal>")
    def unassign(principal: str):
        need_tenant().unassign(principal)
        return json_response({"principal": principal, "unassigned": True})

    # applications
    @bp.get("/apps/<app_id>")
    def get_app(app_id: str):
        t = need_tenant()
        with t.lock:
            return json_response(application_json(t.get_application(app_id), t))

    @bp.post("/apps/<app_id>/secrets")
    def add_secret(app_id: str):
        t = need_tenant()
        data = json_body(required=False)
        display_name = data.pop("displayName", None)
        if display_name is not None and not isinstance(display_name, str):
            raise BadRequest(f"'displayName' must be a string, got {short_repr(display_name)}")
        lifetime = _duration(data, "a new secret", ("displayName",)) if data else timedelta(days=180)
        if lifetime <= timedelta(0):
            raise BadRequest("the secret's lifetime must be longer than 0")
        try:
            cred = t.add_secret(app_id, display_name=display_name, lifetime=lifetime)
        except OverflowError:
            raise BadRequest("the secret's lifetime would end past the year 9999") from None
        # The one response that carries a secret value: creating it is how a client learns it.
        return json_response({"keyId": cred.keyId, "secretText": cred.secretText, "hint": cred.hint,
                              "displayName": cred.displayName, "startDateTime": iso(cred.startDateTime),
                              "endDateTime": iso(cred.endDateTime)}, 201)

    @bp.post("/apps/<app_id>/secrets/<key_id>/expire")
    def expire_secret(app_id: str, key_id: str):
        t = need_tenant()
        cred = t.expire_secret(app_id, key_id)
        return json_response({"keyId": cred.keyId, "hint": cred.hint, "displayName": cred.displayName,
                              "startDateTime": iso(cred.startDateTime), "endDateTime": iso(cred.endDateTime),
                              "expired": cred.is_expired(t.clock.now())})

    @bp.delete("/apps/<app_id>/secrets/<key_id>")
    def delete_secret(app_id: str, key_id: str):
        need_tenant().delete_secret(app_id, key_id)
        return json_response({"keyId": key_id, "deleted": True})

    @bp.post("/apps/<app_id>/consent")
    def grant_consent(app_id: str):
        t = need_tenant()
        data = json_body(required=False)
        unknown = sorted(set(data) - {"permissions"})
        if unknown:
            raise BadRequest(f"unknown consent key(s): {', '.join(unknown)}; known: permissions")
        permissions = data.get("permissions")
        if permissions is not None and (not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions)):
            raise BadRequest(f"'permissions' must be a list of permission names, got {short_repr(permissions)}")
        return json_response(service_principal_json(t.grant_consent(app_id, permissions)))

    @bp.delete("/apps/<app_id>/consent")
    def revoke_consent(app_id: str):
        return json_response(service_principal_json(need_tenant().revoke_consent(app_id)))

    @bp.post("/apps/<app_id>/<action>")
    def app_action(app_id: str, action: str):
        t = need_tenant()
        if action not in ("enable", "disable"):
            raise NotFound(f"unknown application action '{action}'; known: enable, disable")
        return json_response(service_principal_json(t.set_app_enabled(app_id, action == "enable")))

    if extra is not None:
        extra(bp)

    # -------------------------------------------------- anything else under /_entrasim
    def unknown_route(rest: str = ""):
        allowed = _allowed_methods(f"{bp.name}.unknown_route")
        if allowed:
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.path}; allowed: {', '.join(allowed)}",
                                   headers={"Allow": ", ".join(allowed)})
        raise NotFound(f"no control route {request.method} {request.path}; see GET {URL_PREFIX}/health")

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    bp.add_url_rule("", "unknown_route", unknown_route, methods=methods)
    bp.add_url_rule("/", "unknown_route", unknown_route, methods=methods)
    bp.add_url_rule("/<path:rest>", "unknown_route", unknown_route, methods=methods)
    return bp


def _journal_kind(name: str, text: str) -> str:
    kinds = ("user", "group", "application", "assignment")
    if text not in kinds:
        raise BadRequest(f"'{name}' must be one of {', '.join(kinds)}, got '{text}'")
    return text


def _allowed_methods(fallback_endpoint: str) -> list[str]:
    """Methods a real control route accepts on the current path (for 405 versus 404)."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            endpoint, _args = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != fallback_endpoint:
            allowed.append(method)
    return allowed
