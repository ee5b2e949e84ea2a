"""Verdicts and the exceptions a check raises to reach one.

A check never decides between "fail" and "warning" itself: it says a
requirement was not met (``Unmet``), and the runner grades that by the check's
level (MUST -> fail, SHOULD or MAY -> warning). ``Skip`` is for a feature the
server does not advertise (or a run mode that forbids the check); ``Broken``
is for a check that could not reach the point of judging (a prerequisite such
as creating a user failed), which is the suite's "error", not the server's fail.
"""

from __future__ import annotations

from enum import Enum


class Verdict(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    WARNING = "warning"
    SKIPPED = "skipped"
    ERROR = "error"


#: Report order: what a vendor must fix first.
VERDICT_ORDER = [Verdict.FAIL, Verdict.ERROR, Verdict.WARNING, Verdict.SKIPPED, Verdict.PASS]


class CheckOutcome(Exception):
    """Base of the exceptions that end a check early with a reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Unmet(CheckOutcome):
    """The server did not do what the requirement asks."""


class Skip(CheckOutcome):
    """The check does not apply (feature not advertised, read-only run, ...)."""


class Broken(CheckOutcome):
    """The check could not run to its verdict (a prerequisite failed)."""
