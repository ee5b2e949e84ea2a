"""A scenario's failure as plain text: the step, what was expected against what was found, the HTTP exchanges."""

from __future__ import annotations

import json
from typing import Any

#: Characters of a body shown per exchange in text reports (the JSON report keeps more).
BODY_PREVIEW = 400


def short(value: Any, limit: int = 300, *, raw: bool = False) -> str:
    """``value`` on one line, at most ``limit`` characters; as JSON unless ``raw`` (text such as a body)."""
    text = value if raw and isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def exchange_line(exchange: dict[str, Any]) -> list[str]:
    head = f"{exchange.get('server', '?')}: {exchange.get('method', '?')} {exchange.get('path', '')} -> {exchange.get('status')}"
    if exchange.get("fault"):
        head += f" (fault {exchange['fault']})"
    lines = [head]
    for key in ("request", "response"):
        if exchange.get(key):
            lines.append(f"    {key}: {short(exchange[key], BODY_PREVIEW, raw=True)}")
    return lines


def omitted_note(step: dict[str, Any]) -> str:
    """" (the last 12 of 40)" when earlier exchanges of the step were left out, else nothing."""
    omitted = step.get("exchangesOmitted") or 0
    shown = len(step.get("exchanges") or ())
    return f" (the last {shown} of {shown + omitted})" if omitted else ""


def failed_step(scenario: dict[str, Any]) -> dict[str, Any] | None:
    index = scenario.get("failedStep")
    return scenario["steps"][index - 1] if index else None


def failure_text(scenario: dict[str, Any]) -> str:
    """Everything a reader needs to see why a scenario did not pass."""
    lines: list[str] = []
    if scenario.get("message"):
        lines.append(scenario["message"])
    lines.extend(scenario.get("problems") or ())
    step = failed_step(scenario)
    if step is not None:
        label = f"step {step['index']} {step['name'] or step['kind']}" + (f" (line {step['line']})" if step.get("line") else "")
        lines.append(f"{label}: {step['status']}" + (f", expectation {step['expectation']}" if step.get("expectation") else ""))
        if step.get("error") and not step.get("mismatches"):
            lines.append(f"  error: {step['error']}")
        for mismatch in step.get("mismatches") or ():
            lines.append(f"  {mismatch['what']}")
            lines.append(f"    expected: {short(mismatch['expected'])}")
            lines.append(f"    actual:   {short(mismatch['actual'])}")
        if step.get("exchanges"):
            lines.append(f"  HTTP exchanges of the step, oldest first{omitted_note(step)}:")
            for exchange in step["exchanges"]:
                lines.extend("    " + line for line in exchange_line(exchange))
    return "\n".join(lines)
