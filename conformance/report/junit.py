"""JUnit XML rendered from the JSON report: one testcase per check, classname = area.

fail -> <failure>, error -> <error>, skipped -> <skipped>; a run that could not start or was
interrupted adds an <error> testcase ``scim.run``; a warning passes
in JUnit terms (CI should not break on SHOULD) but its reason is kept in
<system-out> with the level, so it stays visible in CI dashboards.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any


def _exchanges_text(check: dict[str, Any]) -> str:
    lines = []
    for e in check["exchanges"]:
        lines.append(f"> {e['method']} {e['url']}")
        if e.get("request_body"):
            lines.append(f"> {e['request_body'][:2000]}")
        lines.append(f"< {e['status']}")
        if e.get("response_body"):
            lines.append(f"< {e['response_body'][:2000]}")
    return "\n".join(lines)


def render_junit(report: dict[str, Any]) -> str:
    counts = report["summary"]["by_verdict"]
    fatal = report.get("fatal")
    suite = ET.Element("testsuite", {
        "name": "scim-conformance " + ",".join(report["profiles"]),
        "tests": str(report["summary"]["total"] + (1 if fatal else 0)), "failures": str(counts["fail"]),
        "errors": str(counts["error"] + (1 if fatal else 0)), "skipped": str(counts["skipped"]),
        "time": f"{report['duration_s']:.3f}", "timestamp": report["started_at"]})
    props = ET.SubElement(suite, "properties")
    for key in ("target", "namespace_prefix", "read_only"):
        ET.SubElement(props, "property", {"name": key, "value": str(report[key])})
    for check in report["checks"]:
        case = ET.SubElement(suite, "testcase", {"classname": f"scim.{check['area']}", "name": check["id"],
                                                 "time": f"{check['duration_ms'] / 1000:.3f}"})
        message = f"[{check['level']}] {check['section']}: {check['reason']}"
        if check["verdict"] == "fail":
            ET.SubElement(case, "failure", {"message": message, "type": check["level"]}).text = _exchanges_text(check)
        elif check["verdict"] == "error":
            ET.SubElement(case, "error", {"message": message}).text = _exchanges_text(check)
        elif check["verdict"] == "skipped":
            ET.SubElement(case, "skipped", {"message": check["reason"]})
        out = f"{check['title']}\n{check['section']} ({check['level']}) -> {check['verdict']}"
        if check["verdict"] == "warning":
            out += f"\nWARNING: {check['reason']}\n{_exchanges_text(check)}"
        ET.SubElement(case, "system-out").text = out
    if fatal:
        # A run that could not start (or was interrupted) must not look like an empty green suite in CI.
        case = ET.SubElement(suite, "testcase", {"classname": "scim.run", "name": "run", "time": "0"})
        ET.SubElement(case, "error", {"message": fatal}).text = "\n".join(
            f"> {e['method']} {e['url']}\n< {e['status'] or e.get('note')}" for e in report.get("setup_exchanges", []))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
