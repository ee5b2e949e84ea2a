"""Errors of the expression language: one for text that is not a valid expression, one for evaluation.

They are told apart because they surface at different times, as in Entra: a
syntax error (unknown function, wrong argument count, a missing parenthesis) is
refused when the mapping is saved, so entrasim refuses it when the job file is
validated; an evaluation error (``IIF`` on a null attribute, ``CDate`` on text
that is not a date) only happens for one object during a cycle, and the cycle
engine turns it into a failed entry in the provisioning log.
"""

from __future__ import annotations


class ExpressionError(Exception):
    """Base class: anything wrong with an attribute-mapping expression."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ExpressionSyntaxError(ExpressionError):
    """The text is not a valid expression.

    ``position`` is the 0-based offset in the expression, ``line`` and ``column``
    are 1-based; ``expected`` says what the parser was looking for when it has a
    precise answer (for example ``"',' or ')'"``), ``found`` what it saw instead.
    The message names the column (and the line, for a multi-line expression).
    """

    def __init__(self, reason: str, text: str, position: int, *, expected: str | None = None, found: str | None = None,
                 hint: str | None = None):
        self.reason = reason
        self.text = text
        self.position = position
        self.line, self.column = line_and_column(text, position)
        self.expected = expected
        self.found = found
        where = f"line {self.line}, column {self.column}" if "\n" in text else f"column {self.column}"
        message = f"{reason} at {where}"
        if found:
            message += f" (found {found})"
        if hint:
            message += f": {hint}"
        super().__init__(message)


class UnknownFunction(ExpressionSyntaxError):
    """A call names a function Entra does not have (names are case-sensitive)."""

    def __init__(self, name: str, text: str, position: int, suggestion: str | None = None):
        self.name = name
        reason = f"unknown function '{name}'"
        if suggestion:
            reason += f" (did you mean '{suggestion}'?)"
        super().__init__(reason, text, position)


class ArgumentCountError(ExpressionSyntaxError):
    """A call passes a number of arguments the function does not accept."""

    def __init__(self, name: str, expected: str, got: int, text: str, position: int):
        self.name = name
        self.expected_count = expected
        self.got = got
        plural = "argument" if got == 1 else "arguments"
        super().__init__(f"{name} takes {expected}, got {got} {plural}", text, position)


class ExpressionEvaluationError(ExpressionError):
    """The expression is valid but cannot be computed for this object.

    ``function`` names the function that failed (None for a comparison), so a
    provisioning log can say where; ``expression`` is the whole expression text
    when the evaluator knows it.
    """

    def __init__(self, message: str, function: str | None = None):
        super().__init__(message)
        self.function = function
        self.expression: str | None = None


def line_and_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a 0-based ``position`` in ``text``."""
    before = text[:position]
    line = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1) + 1
    return line, column
