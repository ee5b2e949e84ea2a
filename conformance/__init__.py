"""A SCIM 2.0 conformance suite for any SCIM server (RFC 7643 / RFC 7644, plus client profiles such as Entra's).

Point it at a base URL and a token; every check names the RFC section it tests,
its requirement level (MUST, SHOULD, MAY) and the profiles it belongs to, and
keeps the HTTP exchanges that prove its verdict. ``run_suite`` is the library
entry point; ``entrasim conformance`` and the pytest plugin are built on it.
"""

from .registry import Check, Level, all_checks
from .runner import RunOptions, RunResult, run_suite
from .verdicts import Verdict

__all__ = ["Check", "Level", "RunOptions", "RunResult", "Verdict", "all_checks", "run_suite"]
