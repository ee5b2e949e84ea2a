"""Step kinds, one module per family; ``STEPS`` maps each kind a scenario file may use to its function.

A step function takes the environment and its (variable-substituted)
arguments, acts, and leaves what it produced in ``env.outcomes`` for the
expectations. It raises ``StepError`` for an outcome a scenario may expect
(a refused credential, a source Graph will not read); anything else is a bug
in the scenario or in entrasim and is reported as such.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import StepError
from . import clock, directory, faults, http, lms, provisioning, pull

STEPS: dict[str, Callable[[Any, Any], None]] = {}
for _family in (provisioning, directory, clock, faults, http, lms, pull):
    STEPS.update(_family.STEPS)

__all__ = ["STEPS", "StepError"]
