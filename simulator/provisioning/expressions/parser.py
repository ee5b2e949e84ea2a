"""A recursive-descent parser from expression text to the syntax tree of ``nodes``.

Grammar::

    expression := operand [ OPERATOR operand ]          ; one comparison at most
    operand    := NAME "(" [ argument { "," argument } ] ")"
                | ATTRIBUTE | STRING | NUMBER | CONSTANT
    argument   := [ expression ]                          ; empty: omitted (null)

Function names, their argument counts and per-function rules (a ``Replace``
argument combination Entra supports, a regular expression that compiles,
``SelectUniqueValue`` only at the top) are checked here, so that a job file with
a bad expression is refused before any cycle runs, with the column at fault and
what was expected there.
"""

from __future__ import annotations

import difflib

from . import lexer
from .errors import ArgumentCountError, ExpressionSyntaxError, UnknownFunction
from .functions import CONSTANTS, FUNCTIONS
from .lexer import Token
from .nodes import Attribute, Call, Comparison, Constant, Literal, Node, Omitted

#: Deepest nesting of calls accepted (far beyond any real mapping; keeps recursion bounded).
MAX_DEPTH = 100

_OPERAND = "a function call, an [attribute], a \"string\" or a number"
_LOGICAL_WORDS = {"and", "or", "not", "andalso", "orelse"}


def parse(text: str) -> Node:
    """Parse ``text`` into its syntax tree; raise ``ExpressionSyntaxError`` saying where and what was expected."""
    if not isinstance(text, str):
        raise TypeError("an expression is text")
    parser = _Parser(text)
    root = parser.parse()
    for call in root.calls()[1:]:
        if call.spec.top_level_only:
            raise ExpressionSyntaxError(f"{call.name} must be the outermost function of the expression; it cannot be nested",
                                        text, call.position)
    return root


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = lexer.tokenize(text)
        self.index = 0
        self.depth = 0

    # -------------------------------------------------------------- helpers
    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        tok = self.tokens[self.index]
        self.index += 1
        return tok

    def fail(self, expected: str, tok: Token) -> ExpressionSyntaxError:
        return ExpressionSyntaxError(f"expected {expected}", self.text, tok.position, expected=expected, found=tok.describe())

    # -------------------------------------------------------------- grammar
    def parse(self) -> Node:
        if self.peek().kind == lexer.END:
            raise self.fail(_OPERAND, self.peek())
        node = self.expression()
        tok = self.peek()
        if tok.kind != lexer.END:
            raise self._after_operand(tok, "end of expression")
        return node

    def expression(self) -> Node:
        left = self.operand()
        tok = self.peek()
        if tok.kind != lexer.OPERATOR:
            return left
        self.advance()
        if self.peek().kind in (lexer.COMMA, lexer.RPAREN, lexer.END):
            raise self.fail(f"a value to compare after '{tok.value}'", self.peek())
        right = self.operand()
        after = self.peek()
        if after.kind == lexer.OPERATOR:
            raise ExpressionSyntaxError(f"unexpected second comparison operator '{after.value}'", self.text, after.position,
                                        hint="a condition holds a single comparison; nest IIF calls to combine conditions")
        return Comparison(left.position, tok.value, left, right)

    def operand(self) -> Node:
        tok = self.peek()
        if tok.kind == lexer.NAME:
            if self.tokens[self.index + 1].kind == lexer.LPAREN:
                return self.call()
            self.advance()
            if tok.value in CONSTANTS:
                return Constant(tok.position, tok.value)
            if tok.value in FUNCTIONS:
                raise self.fail(f"'(' after function name '{tok.value}'", self.peek())
            raise ExpressionSyntaxError(f"unknown name '{tok.value}': expected {_OPERAND}", self.text, tok.position)
        if tok.kind == lexer.ATTRIBUTE:
            self.advance()
            return Attribute(tok.position, tok.value)
        if tok.kind in (lexer.STRING, lexer.NUMBER):
            self.advance()
            return Literal(tok.position, tok.value)
        raise self.fail(_OPERAND, tok)

    def call(self) -> Call:
        name_tok = self.advance()
        name = name_tok.value
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise UnknownFunction(name, self.text, name_tok.position, _suggest(name))
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionSyntaxError(f"calls are nested more than {MAX_DEPTH} deep", self.text, name_tok.position)
        self.advance()  # "("
        args: list[Node] = []
        if self.peek().kind == lexer.RPAREN:
            self.advance()
        else:
            while True:
                tok = self.peek()
                if tok.kind in (lexer.COMMA, lexer.RPAREN):
                    args.append(Omitted(tok.position))
                else:
                    args.append(self.expression())
                tok = self.peek()
                if tok.kind == lexer.COMMA:
                    self.advance()
                    continue
                if tok.kind == lexer.RPAREN:
                    self.advance()
                    break
                raise self._after_operand(tok, "',' or ')'")
        self.depth -= 1
        call = Call(name_tok.position, name, tuple(args), spec)
        if not spec.accepts(len(args)):
            raise ArgumentCountError(name, spec.expected(), len(args), self.text, name_tok.position)
        if spec.check is not None:
            spec.check(call, self.text)
        return call

    def _after_operand(self, tok: Token, expected: str) -> ExpressionSyntaxError:
        if tok.kind == lexer.NAME and tok.value.lower() in _LOGICAL_WORDS:
            return ExpressionSyntaxError(f"expected {expected}", self.text, tok.position, expected=expected, found=tok.describe(),
                                         hint=f"Entra's expressions have no {tok.value.upper()} operator; nest IIF calls instead")
        return self.fail(expected, tok)


def _suggest(name: str) -> str | None:
    """The function the user probably meant: same name in another case, or a close spelling."""
    for known in FUNCTIONS:
        if known.lower() == name.lower():
            return known
    close = difflib.get_close_matches(name, list(FUNCTIONS), n=1, cutoff=0.75)
    return close[0] if close else None
