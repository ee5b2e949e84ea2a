"""Fault steps: add a fault rule to a server mid-scenario, or clear them."""

from __future__ import annotations

from typing import Any

from ..errors import StepError


def injector(env: Any, on: str):
    """The fault injector of the server named ``on`` (lms, pull_lms, graph or identity: Graph and the STS share one)."""
    if on == "lms":
        if env.lms is None:
            raise StepError("faults on the LMS need the embedded SCIM LMS (not an external target)")
        return env.lms.faults
    if on == "pull_lms":
        if env.pull_faults is None:
            raise StepError("this scenario has no pull LMS")
        return env.pull_faults
    return env.ensure_graph().faults


def add_fault(env: Any, rule: dict[str, Any]) -> None:
    rule = dict(rule)
    on = rule.pop("server")
    if on in ("graph", "identity"):
        rule.setdefault("surface", on)
    injector(env, on).add(rule)


def clear_faults(env: Any, on: str) -> None:
    for name in (("lms", "graph", "pull_lms") if on == "all" else (on,)):
        if (name == "lms" and env.lms is None) or (name == "pull_lms" and env.pull is None) \
                or (name in ("graph", "identity") and env.graph is None):
            continue
        injector(env, name).clear()


STEPS = {"add_fault": add_fault, "clear_faults": clear_faults}
