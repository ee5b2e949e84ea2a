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
        """True when the scenario relies on our SCIM LMS itself (its profile, faults, seeded resources, tokens)."""
        lms = self.target.get("lms") or {}
        if lms.get("resources") or lms.get("profile") not in (None, "rfc", "entra-tolerant"):
            return True
        if any(f.get("server") == "lms" for f in self.faults):
            return True
        return any(s.kind in ("revoke_lms_token", "add_lms_token", "lms_admin_change_email") or
                   (s.kind == "add_fault" and s.args.get("server") == "lms") for s in self.steps)
