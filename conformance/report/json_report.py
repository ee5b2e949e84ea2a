"""The JSON report: every check with its metadata, verdict, reason and the exchanges that prove it."""

from __future__ import annotations

from typing import Any

from ..runner import RunResult
from ..verdicts import VERDICT_ORDER

SCHEMA_VERSION = 1
LEVELS = ("MUST", "SHOULD", "MAY")


def summary(checks: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts by verdict, and by requirement level then verdict (what the HTML leads with)."""
    by_verdict = {v.value: 0 for v in VERDICT_ORDER}
    by_level = {lvl: {v.value: 0 for v in VERDICT_ORDER} for lvl in LEVELS}
    for c in checks:
        by_verdict[c["verdict"]] += 1
        by_level[c["level"]][c["verdict"]] += 1
    return {"total": len(checks), "by_verdict": by_verdict, "by_level": by_level}


def to_json(result: RunResult) -> dict[str, Any]:
    checks = [r.to_dict() for r in result.results]
    return {
        "report_version": SCHEMA_VERSION,
        "tool": "entrasim conformance",
        "target": result.target,
        "profiles": list(result.profiles),
        "read_only": result.read_only,
        "namespace_prefix": result.prefix,
        "started_at": result.started_at,
        "duration_s": result.duration_s,
        "exit_code": result.exit_code,
        "fatal": result.fatal,
        "discovery_problems": result.discovery_problems,
        "leftovers": result.leftovers,
        "summary": summary(checks),
        "checks": checks,
        "setup_exchanges": [e.to_dict() for e in result.setup_exchanges],
    }
