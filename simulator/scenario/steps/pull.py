"""Pull-side steps and expectations: the Graph-pull LMS importing users from the Graph mock.

The LMS is the model of ``simulator.lms.graph_pull`` with its admin API served
on 127.0.0.1; it reads the scenario's tenant through the Graph mock with an
app registration's client credentials, over TLS, like a real LMS. Steps act
as an LMS account (``as: <login>``, default the seeded admin), so an admin
demoted by an import meets the LMS's own 403, as in the lockout.
"""

from __future__ import annotations

from typing import Any

from ..errors import StepError


def _lms(env: Any):
    if env.pull is None:
        raise StepError("this scenario has no pull LMS (add a pull_lms: section)")
    return env.pull


def _actor(env: Any, args: dict[str, Any]) -> str:
    return args.get("as") or env.pull.admin_login


def _admin_action(action, *args: Any, **kwargs: Any) -> Any:
    from ...lms.graph_pull import LmsError

    try:
        return action(*args, **kwargs)
    except LmsError as exc:
        raise StepError(f"{exc.status} {exc.body().get('error', exc)}") from None


def _group(env: Any, ident: str) -> str:
    try:
        return env.group_id(ident)
    except LookupError as exc:
        raise StepError(str(exc)) from None


def pull_import(env: Any, args: dict[str, Any]) -> None:
    """"Import from Azure AD": one group's direct members, with one role, now."""
    pull = _lms(env)
    _admin_action(pull.model.import_group, pull.connection_id, _group(env, args["group"]), args.get("role", "user"),
                  actor=_actor(env, args))


def pull_schedule(env: Any, args: dict[str, Any]) -> None:
    """A daily import of a group with a role at a time of day (HH:MM UTC); it fires when the clock passes it."""
    pull = _lms(env)
    _admin_action(pull.model.add_schedule, pull.connection_id, _group(env, args["group"]), args.get("role", "user"),
                  args["time"], actor=_actor(env, args))


def pull_run_schedules(env: Any, args: Any) -> None:
    """Run the schedules that are due now, without moving the clock."""
    _lms(env).model.run_due_schedules()


def pull_csv_import(env: Any, args: dict[str, Any]) -> None:
    _admin_action(_lms(env).model.import_csv, args["csv"], actor=_actor(env, args))


def pull_assign_department(env: Any, args: dict[str, Any]) -> None:
    """An LMS administrator assigns a department: no import may change it afterwards."""
    _admin_action(_lms(env).model.assign_department, args["login"], args["department"], actor=_actor(env, args))


def pull_update_connection(env: Any, args: dict[str, Any]) -> None:
    """The LMS admin edits the Azure connection (a new client secret, after one expired)."""
    pull = _lms(env)
    secret = args.get("client_secret")
    if secret:
        env.redactor.add(str(secret))
    _admin_action(pull.model.update_connection, pull.connection_id, actor=_actor(env, args),
                  **{k: str(v) for k, v in args.items() if k in ("client_secret", "client_id")})


STEPS = {"pull_import": pull_import, "pull_schedule": pull_schedule, "pull_run_schedules": pull_run_schedules,
         "pull_csv_import": pull_csv_import, "pull_assign_department": pull_assign_department,
         "pull_update_connection": pull_update_connection}


# ------------------------------------------------------------------ expectations


def pull_records(env: Any, resource: str) -> list[dict[str, Any]]:
    """``pull_users``: every LMS account as a dict (login, email, role, status, department...)."""
    if env.pull is None:
        raise ValueError("this scenario has no pull LMS")
    if resource != "pull_users":
        raise ValueError(f"the pull LMS has no '{resource}'")
    return [account.to_dict() for account in env.pull.model.list_accounts()]


def _mismatch(what: str, expected: Any, actual: Any):
    from ..expectations import Mismatch

    return Mismatch(what, expected, actual)


def pull_user(env: Any, args: dict[str, Any]) -> list:
    from ..expectations import matches, read_path, shown

    login = args["login"]
    found = [a for a in pull_records(env, "pull_users") if a["login"].lower() == login.lower()]
    if not args.get("exists", True):
        return [_mismatch(f"account '{login}' in the pull LMS", "absent", found[0])] if found else []
    if not found:
        return [_mismatch(f"account '{login}' in the pull LMS", "present", "absent")]
    out = []
    for path, expected in (args.get("attributes") or {}).items():
        actual = read_path(found[0], path)
        if not matches(expected, actual):
            out.append(_mismatch(f"account '{login}': {path}", expected, shown(actual)))
    return out


def pull_count(env: Any, args: dict[str, Any]) -> list:
    accounts = pull_records(env, "pull_users")
    actual = {"accounts": len(accounts), "admins": sum(a["role"] == "admin" for a in accounts),
              "enabled": sum(a["status"] == "enabled" for a in accounts),
              "disabled": sum(a["status"] == "disabled" for a in accounts)}
    return [_mismatch(f"{key} in the pull LMS", value, actual[key]) for key, value in args.items() if actual[key] != value]


def pull_import_expectation(env: Any, args: dict[str, Any]) -> list:
    """The last import (of ``group`` when given): its status, error text, created/updated/rejected logins."""
    if env.pull is None:
        raise ValueError("this scenario has no pull LMS")
    imports = env.pull.model.imports
    if "group" in args:
        group_id = env.group_id(args["group"])
        imports = [i for i in imports if i.group_id == group_id]
    if not imports:
        raise ValueError("no import has run" + (f" for group '{args['group']}'" if "group" in args else ""))
    result = imports[-1].to_dict()
    out = []
    for key in ("status", "error", "role"):
        if key in args and result.get(key) != args[key]:
            actual = result.get(key)
            if key == "status" and result.get("error"):  # what the admin read is why it failed
                actual = f"{actual} (the admin reads: {result['error']})"
            out.append(_mismatch(f"import {result['id']}: {key}", args[key], actual))
    if "aadsts" in args and (result.get("error_detail") or {}).get("aadsts") != args["aadsts"]:
        out.append(_mismatch(f"import {result['id']}: AADSTS code behind the error", args["aadsts"],
                             (result.get("error_detail") or {}).get("aadsts")))
    if "error_contains" in args and args["error_contains"] not in (result.get("error") or ""):
        out.append(_mismatch(f"import {result['id']}: error", f"contains '{args['error_contains']}'", result.get("error")))
    for key in ("created", "updated", "unchanged", "new_departments"):
        if key in args and sorted(x.lower() for x in result[key]) != sorted(x.lower() for x in args[key]):
            out.append(_mismatch(f"import {result['id']}: {key}", sorted(args[key]), sorted(result[key])))
    if "rejected" in args:
        actual = sorted(str(r["login"]).lower() for r in result["rejected"])
        if actual != sorted(x.lower() for x in args["rejected"]):
            out.append(_mismatch(f"import {result['id']}: rejected", sorted(args["rejected"]), actual))
    if "message_contains" in args and not any(args["message_contains"] in m for m in result["messages"]):
        out.append(_mismatch(f"import {result['id']}: messages", f"one containing '{args['message_contains']}'",
                             result["messages"]))
    return out


def pull_schedule_checks(env: Any, args: dict[str, Any]) -> list:
    if env.pull is None:
        raise ValueError("this scenario has no pull LMS")
    checks = env.pull.model.schedule_checks()
    if "warnings" in args and len(checks) != args["warnings"]:
        return [_mismatch("schedule warnings (admin group last)", args["warnings"], checks)]
    return []


PULL_EXPECTATIONS = {"pull_user": pull_user, "pull_count": pull_count, "pull_import": pull_import_expectation,
                     "pull_schedule_checks": pull_schedule_checks}
