"""entrasim's summary of a load run: rates that mean something to a provisioning engineer, and the verdict.

Locust's own CSV and HTML reports give requests, latencies and failures per
request name. This adds what they cannot know: objects and memberships per
second (an object costs a matching GET and a POST; a membership a share of a
PATCH), manager references per second, the ratio of the achieved request rate
to the target's ceiling, the load generator's own CPU per request (and the
request rate one of its processes could drive on a free core at that cost), and
PASS/FAIL from the final check. JSON is the source of truth; the text is
printed from it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .coordination import Check


def rate(amount: float, seconds: float | None) -> float | None:
    return round(amount / seconds, 1) if seconds and seconds > 0 else None


def build(scenario: str, *, elapsed: float | None, counters: dict[str, int], processes: int,
          ceiling: float | None, ceiling_source: str | None, checks: list[Check],
          extra: dict[str, Any] | None = None, complete: bool = True, ceiling_requests: int = 0) -> dict[str, Any]:
    requests = counters.get("requests", 0)
    objects = counters.get("users_created", 0) + counters.get("groups_created", 0) + \
        counters.get("users_matched", 0) + counters.get("groups_matched", 0)
    requests_per_s = rate(requests, elapsed)
    cpu_ms = counters.get("client_cpu_ms")
    cpu_per_request = round(cpu_ms / requests, 3) if cpu_ms and requests else None
    summary: dict[str, Any] = {
        "scenario": scenario,
        "processes": processes,
        "elapsedSeconds": round(elapsed, 3) if elapsed else None,
        "complete": complete,
        "counters": dict(sorted(counters.items())),
        "objectsPerSecond": rate(objects, elapsed),
        "membershipsPerSecond": rate(counters.get("memberships_added", 0) + counters.get("memberships_removed", 0),
                                     elapsed),
        "managerReferencesPerSecond": rate(counters.get("managers_set", 0), elapsed),
        "requestsPerSecond": requests_per_s,
        "requestsPerSecondPerProcess": round(requests_per_s / processes, 1) if requests_per_s and processes else None,
        "client": {
            "cpuSeconds": round(cpu_ms / 1000, 2) if cpu_ms else None,
            "cpuMsPerRequest": cpu_per_request,
            "requestsPerSecondPerCore": round(1000 / cpu_per_request) if cpu_per_request else None,
        },
        "targetCeiling": {"requestsPerSecond": round(ceiling, 1) if ceiling else None, "source": ceiling_source,
                          "probeRequests": ceiling_requests},
        "ratioToCeiling": round(requests_per_s / ceiling, 3) if requests_per_s and ceiling else None,
        "checks": [check.as_dict() for check in checks],
        "verdict": "PASS" if checks and all(check.ok for check in checks) else "FAIL",
    }
    if extra:
        summary.update(extra)
    return summary


def render(summary: dict[str, Any]) -> str:
    def number(value: Any) -> str:
        return "n/a" if value is None else f"{value:,}"

    lines = [f"entrasim load summary ({summary['scenario']})"]
    if "directory" in summary:
        d = summary["directory"]
        lines.append(f"  directory: {d['users']:,} users, {d['groups']:,} groups, {d['memberships']:,} memberships, "
                     f"{d.get('managers', 0):,} manager references (seed {d['seed']}, blocks of {d['blockSize']})")
    lines.append(f"  processes: {summary['processes']}, elapsed: {number(summary['elapsedSeconds'])} s"
                 + ("" if summary["complete"] else " (incomplete: stopped before every shard was done)"))
    counters = summary["counters"]
    if counters:
        lines.append("  counters: " + ", ".join(f"{key} {value:,}" for key, value in counters.items()))
    rates = [("objects/s", summary["objectsPerSecond"]), ("memberships/s", summary["membershipsPerSecond"]),
             ("manager refs/s", summary.get("managerReferencesPerSecond")),
             ("changes/s", summary.get("changesPerSecond")), ("members read/s", summary.get("membersPerSecond")),
             ("requests/s", summary["requestsPerSecond"])]
    lines.append("  " + "   ".join(f"{label}: {number(value)}" for label, value in rates if value))
    if summary["processes"] > 1 and summary.get("requestsPerSecondPerProcess"):
        lines.append(f"  requests/s per worker process: {number(summary['requestsPerSecondPerProcess'])}")
    client = summary.get("client") or {}
    if client.get("cpuMsPerRequest"):
        lines.append(f"  load generator: {client['cpuMsPerRequest']} ms CPU a request over {client['cpuSeconds']} s "
                     f"of CPU, so one process drives at most ~{client['requestsPerSecondPerCore']:,} req/s "
                     "on a free core")
    ceiling = summary["targetCeiling"]
    if ceiling["requestsPerSecond"]:
        lines.append(f"  target ceiling: {ceiling['requestsPerSecond']:,} req/s ({ceiling['source']}); "
                     f"ratio: {number(summary['ratioToCeiling'])}")
    for check in summary["checks"]:
        lines.append(f"  [{'ok' if check['ok'] else 'FAIL'}] {check['message']}")
    lines.append(f"entrasim load verdict: {summary['verdict']}")
    return "\n".join(lines)


def publish(summary: dict[str, Any], path: str | None) -> None:
    """Print the summary and write it as JSON when asked (the directory is created)."""
    print(render(summary), flush=True)
    if path:
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=2)
            fh.write("\n")
