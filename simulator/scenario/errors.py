"""The scenario runner's errors, each saying what a scenario's author must fix or what the system refused."""

from __future__ import annotations

from typing import Any


class ScenarioFileError(Exception):
    """The file cannot be run; ``problems`` lists everything wrong with it, each with its line and key."""

    def __init__(self, problems: list[Any], filename: str | None = None):
        self.problems = problems
        self.filename = filename
        super().__init__("\n".join(p.format(filename) for p in problems))


class VariableError(Exception):
    """A reference to a variable nobody defined."""


class SetupError(Exception):
    """The scenario's tenant, target or job cannot be built as written (an unknown user, a bad profile...)."""


class StepError(Exception):
    """The step ran and the system under test refused it (the message is what a user would read).

    A step may expect it with ``error: {contains: ...}``; otherwise it fails the step.
    """
