"""A scenario as the runner sees it: plain data read from a validated file.

The loader builds these; the runner never reads YAML. Each step and each
expectation keeps the line it was written on, so a failure report can say
"step 3 (line 41)" and the reader finds it at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Expectation:
    """One check: its kind (``lms_user``, ``log``...), its arguments, and where it is written."""

    kind: str
    args: Any
    line: int | None = None

    def describe(self) -> str:
        return f"{self.kind} (line {self.line})" if self.line else self.kind


@dataclass(frozen=True)
class Step:
    """One action (``cycle``, ``update_user``, ``http``...) and the expectations checked right after it."""

    index: int
    kind: str
    args: Any
    name: str | None = None
    expect: tuple[Expectation, ...] = ()
    line: int | None = None

    def describe(self) -> str:
        label = self.name or self.kind
        return f"step {self.index + 1} '{label}'" + (f" (line {self.line})" if self.line else "")


@dataclass
class Scenario:
    """A whole scenario file, validated."""

    name: str
    path: Path | None
    steps: list[Step]
    description: str = ""
    documented: str = ""
    tags: list[str] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    tenant: dict[str, Any] = field(default_factory=dict)
    target: dict[str, Any] = field(default_factory=dict)
    job: dict[str, Any] | None = None
    pull_lms: dict[str, Any] | None = None
    faults: list[dict[str, Any]] = field(default_factory=list)

    @property
    def uses_push(self) -> bool:
        return self.job is not None

    @property
    def uses_pull(self) -> bool:
        return self.pull_lms is not None

    @property
    def needs_embedded_lms(self) -> bool:
        """True when the scenario relies on our SCIM LMS itself, so it cannot run against ``--target``."""
        return self.embedded_lms_reason is not None

    @property
    def embedded_lms_reason(self) -> str | None:
        """What ties the scenario to our SCIM LMS (a profile, faults, LMS admin steps), said the way a skip says it.

        Resources seeded under ``target.lms.resources`` do not: they are created in any target over SCIM
        and deleted afterwards. The default profile (``entra-tolerant``) stands for "a server Entra works
        with"; naming another one says the outcome depends on that server's behaviour.
        """
        profile = (self.target.get("lms") or {}).get("profile")
        if profile not in (None, "entra-tolerant"):
            return f"it needs our LMS's '{profile}' profile"
        for fault in self.faults:
            if fault.get("server") == "lms":
                return "it injects faults into our LMS (faults: server: lms)"
        for step in self.steps:
            if step.kind in ("revoke_lms_token", "add_lms_token", "lms_admin_change_email"):
                return f"{step.describe()} is an action of our LMS's own admin ({step.kind})"
            if step.kind == "add_fault" and isinstance(step.args, dict) and step.args.get("server") == "lms":
                return f"{step.describe()} injects a fault into our LMS"
        return None
