"""Expectation kinds: each reads what a user could see and returns the mismatches, expected against actual.

LMS state is read over SCIM with the scenario's own token, as a tester would
read it, so the same expectations hold for an external target. Provisioning
expectations read the cycle summaries and the provisioning log records (the
``provisioningObjectSummary`` shapes Entra shows). ``response`` reads the last
``http`` step's answer; ``error`` the last step's refusal.

Attribute paths: dots walk into sub-attributes; on a list, the next part is
read from every element (``emails.value`` is every email); an element index is
allowed (``emails.0.value``); an extension URN is written whole
(``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department``).
A path that yields several values matches when the expected value is one of
them (or equals all of them, when a list is expected).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .environment import parse_duration
from .steps.pull import PULL_EXPECTATIONS, pull_records

_MISSING = object()


@dataclass
class Mismatch:
    """One way the system differs from the expectation."""

    what: str
    expected: Any
    actual: Any

    def as_dict(self) -> dict[str, Any]:
        return {"what": self.what, "expected": self.expected, "actual": self.actual}


def read_path(resource: Any, path: str) -> Any:
    """The value at ``path`` (see the module docstring); ``_MISSING`` when absent."""
    if path.startswith("urn:"):
        urn, _, rest = path.rpartition(":")
        extension = resource.get(urn) if isinstance(resource, dict) else None
        if extension is None:
            return _MISSING
        return read_path(extension, rest)
    values = [resource]
    many = False
    for part in path.split("."):
        found = []
        for value in values:
            if isinstance(value, list):
                if part.isdigit():
                    if int(part) < len(value):
                        found.append(value[int(part)])
                    continue
                many = True
                found.extend(item[part] for item in value if isinstance(item, dict) and part in item)
            elif isinstance(value, dict):
                for key in value:  # SCIM attribute names are case-insensitive
                    if key.lower() == part.lower():
                        found.append(value[key])
                        break
        if not found:
            return _MISSING
        values = found
    return values if many else values[0]


def _equal(expected: Any, actual: Any) -> bool:
    return expected == actual


def matches(expected: Any, actual: Any) -> bool:
    if actual is _MISSING:
        return expected is None
    if isinstance(actual, list) and not isinstance(expected, list):
        return any(_equal(expected, item) for item in actual)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(matches(v, read_path(actual, k)) for k, v in expected.items())
    return _equal(expected, actual)


def shown(value: Any) -> Any:
    return None if value is _MISSING else value


def _attribute_mismatches(resource: dict[str, Any], attributes: dict[str, Any], label: str) -> list[Mismatch]:
    out = []
    for path, expected in (attributes or {}).items():
        actual = read_path(resource, path)
        if not matches(expected, actual):
            out.append(Mismatch(f"{label}: {path}", expected, shown(actual)))
    return out


def _find_users(env: Any, args: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    users = env.scim_list("Users")
    if "userName" in args:
        key, value = "userName", args["userName"]
        found = [u for u in users if str(u.get("userName", "")).lower() == value.lower()]
    elif "email" in args:
        key, value = "email", args["email"]
        found = [u for u in users if any(str(e.get("value", "")).lower() == value.lower() for e in u.get("emails") or ())]
    elif "externalId" in args:
        key, value = "externalId", args["externalId"]
        found = [u for u in users if u.get("externalId") == value]
    else:
        raise ValueError("lms_user needs userName, email or externalId")
    return f"user with {key} '{value}'", found


def lms_user(env: Any, args: dict[str, Any]) -> list[Mismatch]:
    label, found = _find_users(env, args)
    exists = args.get("exists", True)
    if not exists:
        return [Mismatch(f"{label} in the LMS", "absent", f"{len(found)} account(s)")] if found else []
    if len(found) != 1:
        return [Mismatch(f"{label} in the LMS", "exactly one account", f"{len(found)} account(s)")]
    return _attribute_mismatches(found[0], args.get("attributes") or {}, label)


def _groups_named(env: Any, name: str) -> list[dict[str, Any]]:
    return [g for g in env.scim_list("Groups") if str(g.get("displayName", "")).lower() == name.lower()]


def lms_group(env: Any, args: dict[str, Any]) -> list[Mismatch]:
    name = args["displayName"]
    found = _groups_named(env, name)
    label = f"group '{name}'"
    if "count" in args:
        return [] if len(found) == args["count"] else [Mismatch(f"groups named '{name}' in the LMS", args["count"], len(found))]
    if not args.get("exists", True):
        return [Mismatch(f"{label} in the LMS", "absent", f"{len(found)} group(s)")] if found else []
    if len(found) != 1:
        return [Mismatch(f"{label} in the LMS", "exactly one group", f"{len(found)} group(s)")]
    group = found[0]
    out = _attribute_mismatches(group, args.get("attributes") or {}, label)
    if "members" in args:
        full = env.session.get(f"{env.target_url}/Groups/{group['id']}", headers=env.admin_headers(), timeout=30).json()
        by_id = {u["id"]: u.get("userName") for u in env.scim_list("Users")}
        actual = sorted(str(by_id.get(m.get("value"), m.get("value"))).lower() for m in full.get("members") or ())
        expected = sorted(m.lower() for m in args["members"])
        if actual != expected:
            out.append(Mismatch(f"{label}: members (userName)", expected, actual))
    return out


def lms_count(env: Any, args: dict[str, Any]) -> list[Mismatch]:
    out = []
    users = env.scim_list("Users") if ("users" in args or "active_users" in args) else []
    if "users" in args and len(users) != args["users"]:
        out.append(Mismatch("users in the LMS", args["users"], len(users)))
    if "active_users" in args:
        active = sum(1 for u in users if u.get("active", True) in (True, "True", "true"))
        if active != args["active_users"]:
            out.append(Mismatch("active users in the LMS", args["active_users"], active))
    if "groups" in args:
        groups = env.scim_list("Groups")
        if len(groups) != args["groups"]:
            out.append(Mismatch("groups in the LMS", args["groups"], len(groups)))
    return out


def no_duplicates(env: Any, args: dict[str, Any]) -> list[Mismatch]:
    resource, key = args["resource"], args["key"]
    if resource.startswith("pull_"):
        items = pull_records(env, resource)
    else:
        items = env.scim_list(resource)
    seen: dict[str, int] = {}
    for item in items:
        value = read_path(item, key)
        for one in value if isinstance(value, list) else [value]:
            if one is _MISSING or one is None:
                continue
            text = str(one).lower()
            seen[text] = seen.get(text, 0) + 1
    duplicated = sorted(v for v, n in seen.items() if n > 1)
    return [Mismatch(f"{resource} sharing a {key}", [], duplicated)] if duplicated else []


def _last_cycle(env: Any):
    if not env.outcomes.cycles:
        raise ValueError("no provisioning cycle has run yet")
    return env.outcomes.cycles[-1]


def cycle(env: Any, args: dict[str, Any]) -> list[Mismatch]:
    summary = _last_cycle(env)
    data = summary.as_dict()
    out = []
    if "state" in args and data["state"] != args["state"]:
        out.append(Mismatch("cycle state", args["state"], data["state"]))
    for key, expected in (args.get("counts") or {}).items():
        action, _, status = key.partition(".")
        actual = summary.count(action or None, status or None)
        if actual != expected:
            out.append(Mismatch(f"cycle count {key}", expected, actual))
    for code, expected in (args.get("reasons") or {}).items():
        actual = data["reasons"].get(code, 0)
        if actual != expected:
            out.append(Mismatch(f"cycle reason {code}", expected, actual))
    if "notes_contain" in args and not any(args["notes_contain"] in note for note in data["notes"]):
        out.append(Mismatch("cycle notes", f"a note containing '{args['notes_contain']}'", data["notes"]))
    quarantine = env.state.quarantine if env.state is not None else None
    if "quarantined" in args and (quarantine is not None) != args["quarantined"]:
        out.append(Mismatch("job in quarantine", args["quarantined"], quarantine is not None))
    if "quarantine_reason" in args:
        actual = quarantine.reason if quarantine else None
        if actual != args["quarantine_reason"]:
            out.append(Mismatch("quarantine reason", args["quarantine_reason"], actual))
    return out


def _record_matches(record: dict[str, Any], args: dict[str, Any]) -> bool:
    if "source" in args and str(record["sourceIdentity"]["displayName"]).lower() != args["source"].lower():
        return False
    if "type" in args and record["sourceIdentity"]["identityType"] != args["type"]:
        return False
    if "action" in args and record["provisioningAction"] != args["action"]:
        return False
    if "status" in args and record["provisioningStatusInfo"]["status"] != args["status"]:
        return False
    error = record["provisioningStatusInfo"].get("errorInformation") or {}
    if "code" in args and args["code"] not in (error.get("errorCode"), record["entrasim"].get("reason")):
        return False
    if "reason_contains" in args and args["reason_contains"] not in str(error.get("reason", "")):
        return False
    return "modified" not in args or any(p["displayName"] == args["modified"] for p in record["modifiedProperties"])


def log(env: Any, args: dict[str, Any]) -> list[Mismatch]:
    if args.get("cycles", "last") == "all":
        records = [r.as_dict() for r in env.log.records]
    else:
        cycles = {s.cycle_id for s in env.outcomes.step_cycles} or {_last_cycle(env).cycle_id}
        records = [r.as_dict() for r in env.log.records if r.cycle_id in cycles]
    criteria = {k: v for k, v in args.items() if k not in ("cycles", "count")}
    found = [r for r in records if _record_matches(r, criteria)]
    if "count" in args:
        if len(found) == args["count"]:
            return []
        expected: Any = args["count"]
    elif found:
        return []
    else:
        expected = "at least one"
    seen = [f"{r['sourceIdentity']['displayName']}: {r['provisioningAction']} {r['provisioningStatusInfo']['status']}"
            + (f" ({r['entrasim']['reason']})" if r["entrasim"].get("reason") else "") for r in records]
    return [Mismatch(f"provisioning log records matching {criteria}", expected,
                     {"matching": len(found), "records": seen[:20]})]


def response(env: Any, args: dict[str, Any]) -> list[Mismatch]:
    answer = env.outcomes.response
    if answer is None:
        raise ValueError("no http step has run yet")
    out = []
    if "status" in args and answer.status_code != args["status"]:
        out.append(Mismatch("HTTP status", args["status"], answer.status_code))
    if "body" in args and not matches(args["body"], env.outcomes.response_json):
        out.append(Mismatch("response body", args["body"], env.outcomes.response_json))
    if "body_contains" in args and args["body_contains"] not in answer.text:
        out.append(Mismatch("response body text", f"contains '{args['body_contains']}'", answer.text[:500]))
    for name, value in (args.get("header") or {}).items():
        if answer.headers.get(name) != value:
            out.append(Mismatch(f"header {name}", value, answer.headers.get(name)))
    return out


def error(env: Any, args: dict[str, Any]) -> list[Mismatch]:
    actual = env.outcomes.error
    if actual is None or args["contains"] not in actual:
        return [Mismatch("the step's error", f"contains '{args['contains']}'", actual or "no error")]
    return []


def requests_made(env: Any, args: dict[str, Any]) -> list[Mismatch]:
    """Requests a server received during this step (from its redacted request log)."""
    on = args.get("server", "lms")
    # against --target the SCIM server is shown as "target" (its exchanges come from the provisioning log)
    names = ("lms", "target") if on == "lms" else (on,)
    exchanges = [e for e in env.step_exchanges(limit=100_000) if e["server"] in names]
    found = [e for e in exchanges
             if ("method" not in args or e["method"] == args["method"].upper())
             and ("path" not in args or args["path"] in e["path"])
             and ("status" not in args or e["status"] == args["status"])]
    label = f"requests to {on} matching {({k: v for k, v in args.items() if k not in ('count', 'min', 'server')})}"
    if "count" in args and len(found) != args["count"]:
        return [Mismatch(label, args["count"], len(found))]
    if "min" in args and len(found) < args["min"]:
        return [Mismatch(label, f"at least {args['min']}", len(found))]
    return []


def clock(env: Any, args: dict[str, Any]) -> list[Mismatch]:
    moved = env.clock.now() - env.outcomes.clock_before_step
    wanted = parse_duration(args["advanced_at_least"])
    return [] if moved >= wanted else [Mismatch("simulated time spent in the step", f">= {wanted}", str(moved))]


EXPECTATIONS: dict[str, Callable[[Any, Any], list[Mismatch]]] = {
    "lms_user": lms_user, "lms_group": lms_group, "lms_count": lms_count, "no_duplicates": no_duplicates,
    "cycle": cycle, "log": log, "response": response, "error": error, "requests": requests_made, "clock": clock,
}
EXPECTATIONS.update(PULL_EXPECTATIONS)
