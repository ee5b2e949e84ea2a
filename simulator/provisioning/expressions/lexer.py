"""Tokens of Entra's expression language.

What the language has (Microsoft's "Reference for writing expressions for
attribute mappings"): function names (case-sensitive), attributes in square
brackets (``[userPrincipalName]``, ``[extension_<appId>_costCenter]``), string
constants in double quotes where a backslash escapes the next character
(``"Company name: \\"Contoso\\""``, ``"C:\\\\temp"``), numbers (``1``, ``-10``,
and VBA hex such as ``&HF7`` as ``BitAnd`` shows), the comparison operators
``= <> > >= < <=`` that ``IIF`` and ``CBool`` conditions use, and the VBA
constants ``vbTextCompare``/``vbBinaryCompare`` of ``InStr``. ``""`` is the
empty string. Whitespace, line breaks included, separates tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ExpressionSyntaxError

#: Longest expression Entra accepts.
MAX_LENGTH = 10_000

# Token kinds.
NAME, ATTRIBUTE, STRING, NUMBER, LPAREN, RPAREN, COMMA, OPERATOR, END = (
    "name", "attribute", "string", "number", "'('", "')'", "','", "operator", "end")

OPERATORS = ("<>", ">=", "<=", "=", ">", "<")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    value: object  # the name, attribute name, decoded string, number or operator
    position: int  # 0-based offset of the token's first character
    text: str  # the token as written

    def describe(self) -> str:
        if self.kind == END:
            return "end of expression"
        if self.kind == STRING:
            return f"string {self.text}"
        if self.kind == ATTRIBUTE:
            return f"attribute {self.text}"
        if self.kind == NAME:
            return f"name '{self.text}'"
        if self.kind == NUMBER:
            return f"number {self.text}"
        return f"'{self.text}'"


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``END`` token; raise ``ExpressionSyntaxError`` on bad input."""
    if len(text) > MAX_LENGTH:
        raise ExpressionSyntaxError(f"the expression is {len(text)} characters long; Entra accepts at most {MAX_LENGTH}",
                                    text, MAX_LENGTH)
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        start = i
        if ch == "(":
            tokens.append(Token(LPAREN, ch, i, ch))
            i += 1
        elif ch == ")":
            tokens.append(Token(RPAREN, ch, i, ch))
            i += 1
        elif ch == ",":
            tokens.append(Token(COMMA, ch, i, ch))
            i += 1
        elif ch == "[":
            end = text.find("]", i + 1)
            newline = text.find("\n", i + 1)
            if end == -1 or (newline != -1 and newline < end):
                raise ExpressionSyntaxError("unterminated attribute name: expected ']'", text, start)
            name = text[i + 1:end]
            if not name.strip():
                raise ExpressionSyntaxError("empty attribute name: expected a name between '[' and ']'", text, start)
            if name != name.strip():
                raise ExpressionSyntaxError(f"attribute name '{name}' has leading or trailing spaces", text, start)
            tokens.append(Token(ATTRIBUTE, name, start, text[start:end + 1]))
            i = end + 1
        elif ch == '"':
            value, i = _read_string(text, i)
            tokens.append(Token(STRING, value, start, text[start:i]))
        elif ch.isdigit() or (ch == "-" and i + 1 < n and text[i + 1].isdigit()):
            i += 1
            while i < n and text[i].isdigit():
                i += 1
            is_float = False
            if i + 1 < n and text[i] == "." and text[i + 1].isdigit():
                is_float = True
                i += 1
                while i < n and text[i].isdigit():
                    i += 1
            literal = text[start:i]
            if i < n and (text[i].isalpha() or text[i] == "_"):
                raise ExpressionSyntaxError(f"'{literal}{text[i]}' is not a number", text, start)
            tokens.append(Token(NUMBER, float(literal) if is_float else int(literal), start, literal))
        elif ch == "&" and i + 1 < n and text[i + 1] in "Hh":
            i += 2
            while i < n and text[i] in "0123456789abcdefABCDEF":
                i += 1
            literal = text[start:i]
            if len(literal) == 2:
                raise ExpressionSyntaxError("expected hexadecimal digits after '&H'", text, i)
            tokens.append(Token(NUMBER, int(literal[2:], 16), start, literal))
        elif ch.isalpha() or ch == "_":
            i += 1
            while i < n and (text[i].isalnum() or text[i] == "_"):
                i += 1
            name = text[start:i]
            tokens.append(Token(NAME, name, start, name))
        elif ch in "=<>":
            op = next(op for op in OPERATORS if text.startswith(op, i))
            tokens.append(Token(OPERATOR, op, i, op))
            i += len(op)
        else:
            raise ExpressionSyntaxError(f"unexpected character '{ch}'", text, start)
    tokens.append(Token(END, None, n, ""))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    """Decode the string constant opening at ``start``; return its value and the offset after it.

    A backslash takes the next character literally: ``\\"`` is a quote and
    ``\\\\`` a backslash (so a regular expression's ``\\d`` is written ``\\\\d``).
    """
    out: list[str] = []
    i, n = start + 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 >= n:
                break
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise ExpressionSyntaxError("unterminated string: expected a closing '\"'", text, start)
