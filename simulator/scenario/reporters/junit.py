"""JUnit XML from the JSON report: one testcase per scenario, the failure text as its body."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from .text import failure_text


def render_junit(report: dict[str, Any]) -> str:
    totals = report["totals"]
    suites = ET.Element("testsuites")
    suite = ET.SubElement(suites, "testsuite", {
        "name": "entrasim scenarios", "tests": str(totals["total"]),
        "failures": str(totals.get("failed", 0)), "errors": str(totals.get("error", 0) + totals.get("invalid", 0)),
        "skipped": str(totals.get("skipped", 0)), "time": f"{report['durationSeconds']:.3f}",
        "timestamp": report["started"]})
    for scenario in report["scenarios"]:
        case = ET.SubElement(suite, "testcase", {"classname": "entrasim.scenarios", "name": scenario["name"],
                                                 "file": scenario.get("file") or "",
                                                 "time": f"{scenario['durationSeconds']:.3f}"})
        status = scenario["status"]
        text = failure_text(scenario)
        if status == "failed":
            element = ET.SubElement(case, "failure", {"message": text.splitlines()[0] if text else "failed"})
            element.text = text
        elif status in ("error", "invalid"):
            element = ET.SubElement(case, "error", {"message": text.splitlines()[0] if text else status})
            element.text = text
        elif status == "skipped":
            ET.SubElement(case, "skipped", {"message": scenario.get("message") or "skipped"})
        if scenario.get("documented"):
            properties = ET.SubElement(case, "properties")
            ET.SubElement(properties, "property", {"name": "documented", "value": scenario["documented"]})
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
