"""What a run found, as plain data; its JSON form is the report every other format is rendered from.

``Report.as_dict()`` is what ``--json`` writes; the console table, JUnit XML and
HTML reporters take that dict, never the objects, so they cannot show anything
the JSON does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASSED, FAILED, ERROR, SKIPPED, INVALID, NOT_RUN = "passed", "failed", "error", "skipped", "invalid", "not run"
REPORT_VERSION = 1


@dataclass
class StepResult:
    index: int
    kind: str
    name: str | None
    line: int | None
    status: str = NOT_RUN
    duration_s: float = 0.0
    #: the refusal the step met (a StepError), shown whether or not it was expected
    error: str | None = None
    #: the expectation that failed, as "kind (line N)"
    expectation: str | None = None
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    #: earlier exchanges of the step left out of ``exchanges`` (only the last ones are kept)
    exchanges_omitted: int = 0

    @property
    def label(self) -> str:
        text = f"step {self.index + 1} {self.name or self.kind}"
        return text + (f" (line {self.line})" if self.line else "")

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index + 1, "kind": self.kind, "name": self.name, "line": self.line,
                "status": self.status, "durationSeconds": round(self.duration_s, 3), "error": self.error,
                "expectation": self.expectation, "mismatches": self.mismatches, "exchanges": self.exchanges,
                "exchangesOmitted": self.exchanges_omitted}


@dataclass
class ScenarioResult:
    name: str
    file: str | None
    status: str = PASSED
    duration_s: float = 0.0
    description: str = ""
    documented: str = ""
    #: why the scenario did not run (invalid file, setup error, skipped against an external target)
    message: str | None = None
    problems: list[str] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.status in (FAILED, ERROR)), None)

    def as_dict(self) -> dict[str, Any]:
        failed = self.failed_step
        return {"name": self.name, "file": self.file, "status": self.status,
                "durationSeconds": round(self.duration_s, 3), "description": self.description,
                "documented": self.documented, "message": self.message, "problems": self.problems,
                "failedStep": failed.index + 1 if failed else None,
                "steps": [s.as_dict() for s in self.steps]}


def summarize(scenarios: list[dict[str, Any]]) -> dict[str, int]:
    totals = {status: 0 for status in (PASSED, FAILED, ERROR, SKIPPED, INVALID)}
    for scenario in scenarios:
        totals[scenario["status"]] = totals.get(scenario["status"], 0) + 1
    totals["total"] = len(scenarios)
    return totals


def report_dict(scenarios: list[dict[str, Any]], *, started: str, duration_s: float, target: str | None) -> dict[str, Any]:
    """The JSON report of a run, from each scenario's ``as_dict()``."""
    return {"version": REPORT_VERSION, "tool": "entrasim scenario", "started": started,
            "durationSeconds": round(duration_s, 3), "target": target or "embedded mocks",
            "totals": summarize(scenarios), "scenarios": scenarios}


def exit_code(report: dict[str, Any]) -> int:
    """0 all passed (or skipped), 1 some failed, 2 some files invalid."""
    totals = report["totals"]
    if totals.get(INVALID):
        return 2
    if totals.get(FAILED) or totals.get(ERROR):
        return 1
    return 0
