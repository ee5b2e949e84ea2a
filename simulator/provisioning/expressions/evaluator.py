"""Evaluate a parsed expression for one source object, with injected randomness and time.

``Expression.parse(text)`` checks the text once (when the job is loaded);
``expression.evaluate(lookup, env)`` then runs for every object of every cycle.
``lookup`` reads a source attribute by its Entra name (``lookup("mail")``) and
returns None when the object has no value. The ``Environment`` carries what is
not the object's: the seeded random generator behind ``Guid``/``RandomString``,
the clock behind ``Now``, the uniqueness check ``SelectUniqueValue`` needs, and
the switch for the optional Switch fault.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping, NamedTuple

from ...clock import Clock
from .errors import ExpressionEvaluationError
from .functions import CONSTANTS, FlowIgnored, SwitchNulled
from .nodes import Attribute, Call, Comparison, Constant, Literal, Node, Omitted
from .parser import parse
from .values import IGNORED, SWITCH_NULLED, NoValue, to_output, to_text


@dataclass
class Environment:
    """What an evaluation may draw on besides the object: randomness, time, uniqueness, faults.

    ``rng`` and ``clock`` make ``Guid``, ``RandomString`` and ``Now`` reproducible:
    the same seed and the same (frozen) clock give the same values.
    ``unique_value_check(value) -> bool`` answers "is this value still free in the
    target?" for ``SelectUniqueValue``; without it that function fails, as it does
    for SCIM apps in Entra. ``switch_nulls_unchanged_source`` turns on the
    documented hazard where a Switch whose source attribute did not change
    evaluates to null (it needs the caller to pass the changed attributes).
    """

    rng: random.Random = field(default_factory=lambda: random.Random(0))
    clock: Clock = field(default_factory=Clock)
    unique_value_check: Callable[[str], bool] | None = None
    switch_nulls_unchanged_source: bool = False

    def now(self) -> datetime:
        return self.clock.now()


class Evaluation(NamedTuple):
    """An expression's result: the value to provision (or a ``NoValue``), and whether logs must redact it."""

    value: Any
    redacted: bool = False

    @property
    def provisioned(self) -> bool:
        return not isinstance(self.value, NoValue)

    @property
    def log_value(self) -> Any:
        """What a provisioning log may show: ``[Redact]`` for a redacted value."""
        return "[Redact]" if self.redacted and self.provisioned else self.value


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "<>": lambda a, b: a != b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
}


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip()) if value.strip() else None
        except ValueError:
            return None
    return None


class _Run:
    """One evaluation: the object's attributes, the environment, and what the functions noted on the way."""

    __slots__ = ("lookup", "env", "changed", "redacted")

    def __init__(self, lookup: Callable[[str], Any], env: Environment, changed: frozenset[str] | None):
        self.lookup = lookup
        self.env = env
        self.changed = changed
        self.redacted = False

    def eval(self, node: Node) -> Any:
        kind = type(node)
        if kind is Attribute:
            return self.lookup(node.name)
        if kind is Literal:
            return node.value
        if kind is Call:
            spec = node.spec
            if spec.lazy:
                return spec.impl(self, node.args)
            return spec.impl(self, [self.eval(arg) for arg in node.args])
        if kind is Omitted:
            return None
        if kind is Comparison:
            return self.compare(node)
        if kind is Constant:
            return CONSTANTS[node.name]
        raise TypeError(f"not an expression node: {node!r}")

    def compare(self, node: Comparison) -> bool:
        left, right = self.eval(node.left), self.eval(node.right)
        a, b = _as_number(left), _as_number(right)
        if a is not None and b is not None:
            return _COMPARE[node.op](a, b)
        return _COMPARE[node.op](to_text(left) or "", to_text(right) or "")


class Expression:
    """A parsed expression, ready to evaluate many times."""

    __slots__ = ("text", "root", "attributes", "functions")

    def __init__(self, text: str, root: Node):
        self.text = text
        self.root = root
        #: every source attribute the expression reads
        self.attributes: frozenset[str] = frozenset(root.attributes())
        #: names of the functions it calls, outermost first
        self.functions: tuple[str, ...] = tuple(call.name for call in root.calls())

    @classmethod
    def parse(cls, text: str) -> "Expression":
        """Parse ``text``; raise ``ExpressionSyntaxError`` with the column and what was expected."""
        return cls(text, parse(text))

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def evaluate(self, lookup: Callable[[str], Any] | Mapping[str, Any], env: Environment | None = None,
                 changed: frozenset[str] | set[str] | None = None) -> Evaluation:
        """Compute the value for one object.

        ``changed`` (attribute names changed since the last cycle) only matters with
        the Switch fault on. Raises ``ExpressionEvaluationError`` when Entra would
        fail the object (``IIF`` on a null attribute, ``CDate`` on text that is no date...).
        """
        reader = lookup if callable(lookup) else lookup.get
        run = _Run(reader, env or _DEFAULT_ENV, frozenset(changed) if changed is not None else None)
        try:
            value = to_output(run.eval(self.root))
        except FlowIgnored:
            return Evaluation(IGNORED, run.redacted)
        except SwitchNulled:
            return Evaluation(SWITCH_NULLED, run.redacted)
        except ExpressionEvaluationError as exc:
            exc.expression = self.text
            raise
        return Evaluation(value, run.redacted)

    def value(self, lookup: Callable[[str], Any] | Mapping[str, Any], env: Environment | None = None) -> Any:
        """Shortcut: just the value (text, list, or a ``NoValue``)."""
        return self.evaluate(lookup, env).value


_DEFAULT_ENV = Environment()
