"""Values inside an expression, and what an expression finally hands to the provisioning flow.

Inside an evaluation a value is one of:

- ``None``: null, an attribute the object does not have (Entra: "a Null is
  expressed by the absence of the attribute");
- ``str``; ``bool`` (source booleans such as ``accountEnabled``, comparisons);
  ``int``/``float`` (number literals, ``Count``, ``BitAnd``...); an aware UTC
  ``datetime`` (``CDate``, ``Now``, ``DateAdd``...);
- ``list``: a multi-valued attribute (``otherMails``, ``Split``...), whose items
  are strings, or dicts for complex app-role values.

What leaves the expression is text, as in Entra: booleans become the strings
``"True"``/``"False"``, numbers their decimal text, dates ``M/d/yyyy h:mm:ss tt``.
A null result is not provisioned; it comes out as a ``NoValue`` that says why, so
the caller can tell "nothing to send" from an empty string.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import ExpressionEvaluationError


@dataclass(frozen=True)
class NoValue:
    """An expression result that must not be provisioned.

    ``reason`` is ``"null"`` (the value is null: Entra never provisions nulls),
    ``"ignored"`` (``IgnoreFlowIfNullOrEmpty`` dropped the attribute from the flow)
    or ``"switchNulled"`` (the optional fault reproducing Entra's documented Switch
    hazard: a Switch whose source did not change evaluates to null).
    """

    reason: str

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"NoValue({self.reason})"


NULL = NoValue("null")
IGNORED = NoValue("ignored")
SWITCH_NULLED = NoValue("switchNulled")


def is_no_value(value: Any) -> bool:
    return isinstance(value, NoValue)


def format_datetime(moment: datetime) -> str:
    """Entra's date output, ``M/d/yyyy h:mm:ss tt`` in UTC, e.g. ``3/16/2020 7:00:00 AM``."""
    hour12 = moment.hour % 12 or 12
    ampm = "AM" if moment.hour < 12 else "PM"
    return f"{moment.month}/{moment.day}/{moment.year} {hour12}:{moment.minute:02d}:{moment.second:02d} {ampm}"


def format_number(number: int | float) -> str:
    if isinstance(number, float) and number.is_integer():
        return str(int(number))
    return str(number)


def to_text(value: Any, function: str | None = None) -> str | None:
    """The text of a single value (None stays None); a multi-valued value is an error here."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        return format_number(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, list):
        where = f"{function}: " if function else ""
        raise ExpressionEvaluationError(f"{where}expected a single value, got a multi-valued attribute with {len(value)} values", function)
    if isinstance(value, dict):
        return str(value.get("value")) if value.get("value") is not None else None
    return str(value)


def is_null_or_empty(value: Any) -> bool:
    """Null, an empty string or an empty multi-valued attribute."""
    return value is None or value == "" or (isinstance(value, list) and not value)


def as_list(value: Any) -> list:
    """A multi-valued view: null is no values, a single value is one."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def to_output(value: Any) -> Any:
    """Convert a final result for the provisioning flow: text, a list of texts (or role dicts), or ``NULL``."""
    if value is None:
        return NULL
    if isinstance(value, list):
        items = [item if isinstance(item, dict) else to_text(item) for item in value if item is not None]
        return items if items else NULL
    return to_text(value)
