"""Clock step: move the simulated time every server and the job share (secrets expire, quarantines end)."""

from __future__ import annotations

from typing import Any

from ..environment import parse_duration


def advance_clock(env: Any, duration: Any) -> None:
    env.clock.advance(parse_duration(duration))


STEPS = {"advance_clock": advance_clock}
