"""Entra's attribute-mapping expression language: parse once, evaluate per object.

    >>> from simulator.provisioning.expressions import Expression
    >>> Expression.parse('Mid([preferredLanguage], 1, 2)').value({"preferredLanguage": "fr-FR"})
    'fr'
    >>> Expression.parse('Switch([IsSoftDeleted], , "False", "True", "True", "False")').value({"IsSoftDeleted": True})
    'False'

Modules: ``lexer`` (tokens), ``parser`` (recursive descent to ``nodes``),
``functions`` (the function set and its quirks), ``dates`` (.NET date formats),
``values`` (value model, ``NoValue``), ``evaluator`` (``Expression``,
``Environment``), ``errors``. docs/provisioning-expressions.md is the reference.
"""

from .errors import (ArgumentCountError, ExpressionError, ExpressionEvaluationError, ExpressionSyntaxError,
                     UnknownFunction)
from .evaluator import Environment, Evaluation, Expression
from .functions import FUNCTIONS, FunctionSpec
from .values import IGNORED, NULL, SWITCH_NULLED, NoValue, is_no_value

__all__ = [
    "ArgumentCountError", "Environment", "Evaluation", "Expression", "ExpressionError", "ExpressionEvaluationError",
    "ExpressionSyntaxError", "FUNCTIONS", "FunctionSpec", "IGNORED", "NULL", "NoValue", "SWITCH_NULLED",
    "UnknownFunction", "is_no_value",
]
