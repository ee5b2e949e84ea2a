"""SCIM filters (RFC 7644 §3.4.2.2): a recursive-descent parser to an AST, and a compiler to predicates.

Why not scim2-filter-parser (installed, evaluated first): its grammar gives
``and`` and ``or`` the same precedence, so ``a or b and c`` parses as
``(a or b) and c`` where the RFC requires ``a or (b and c)``; it cannot read a
string holding an escaped quote; and its errors ("Parsing error at: None") do
not say what was expected where. Its AST would also need a second pass to tell
value paths from attribute paths. The grammar is small, so it lives here.

Grammar (ABNF of the RFC, precedence: grouping, then ``not`` > ``and`` > ``or``)::

    filter    = or-expr
    or-expr   = and-expr *("or" and-expr)
    and-expr  = not-expr *("and" not-expr)
    not-expr  = "not" "(" filter ")" / atom
    atom      = "(" filter ")" / valuePath / attrExp
    valuePath = attrPath "[" filter "]"          ; inner paths are sub-attributes
    attrExp   = attrPath "pr" / attrPath compareOp compValue
    attrPath  = [URI ":"] ATTRNAME ["." ATTRNAME]

Operators and attribute names are case-insensitive; string comparison follows
the attribute's ``caseExact``. Compilation resolves every attribute against the
schemas first, so an unknown attribute or an operator that does not fit the
attribute's type is an ``invalidFilter`` error before any resource is looked at.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Union

from .errors import InvalidFilter, ScimError
from .schemas import Attribute, ResourceType, SchemaRegistry

COMPARE_OPS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
_NAME = re.compile(r"^(\$ref|[A-Za-z][A-Za-z0-9_-]*)$")
_WORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_\-$:.]*")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_SUBATTR = re.compile(r"\.([A-Za-z_$][A-Za-z0-9_\-$]*)")


# ------------------------------------------------------------------ AST


@dataclass(frozen=True)
class AttrPath:
    """``[urn:]attr[.sub]`` as written; ``text`` is kept for error messages."""

    urn: str | None
    attr: str
    sub: str | None
    text: str


@dataclass(frozen=True)
class Compare:
    path: AttrPath
    op: str
    value: Any


@dataclass(frozen=True)
class Present:
    path: AttrPath


@dataclass(frozen=True)
class And:
    left: "Node"
    right: "Node"


@dataclass(frozen=True)
class Or:
    left: "Node"
    right: "Node"


@dataclass(frozen=True)
class Not:
    expr: "Node"


@dataclass(frozen=True)
class ValuePath:
    """``emails[type eq "work"]``: true when an element of ``path`` matches ``filter``."""

    path: AttrPath
    filter: "Node"
    #: written ``emails[type eq "work"].value eq "x"`` (Entra's form, outside RFC 7644's grammar):
    #: the trailing comparison is folded into ``filter``; only lenient profiles accept it.
    trailing: str | None = None


Node = Union[Compare, Present, And, Or, Not, ValuePath]


# ------------------------------------------------------------------ lexer


@dataclass(frozen=True)
class Token:
    kind: str  # WORD STRING NUMBER LPAREN RPAREN LBRACKET RBRACKET SUBATTR EOF
    text: str
    pos: int
    value: Any = None

    def describe(self) -> str:
        if self.kind == "EOF":
            return "the end of the filter"
        return f"'{self.text}'"


def tokenize(text: str, error: type[ScimError] = InvalidFilter) -> list[Token]:
    """Split a filter (or a PATCH path) into tokens; positions are 0-based offsets into ``text``."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()[]":
            kind = {"(": "LPAREN", ")": "RPAREN", "[": "LBRACKET", "]": "RBRACKET"}[ch]
            tokens.append(Token(kind, ch, i))
            i += 1
            if ch == "]":
                m = _SUBATTR.match(text, i)
                if m:
                    tokens.append(Token("SUBATTR", m.group(1), i))
                    i = m.end()
            continue
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise error(f"unterminated string starting at position {i}: expected a closing '\"'")
            raw = text[i:j + 1]
            try:
                value = json.loads(raw)
            except ValueError:
                raise error(f"invalid string {raw} at position {i}: escapes must follow JSON (RFC 7159)") from None
            tokens.append(Token("STRING", raw, i, value))
            i = j + 1
            continue
        if ch == "-" or ch.isdigit():
            m = _NUMBER.match(text, i)
            if m:
                raw = m.group(0)
                value = float(raw) if any(c in raw for c in ".eE") else int(raw)
                tokens.append(Token("NUMBER", raw, i, value))
                i = m.end()
                continue
        m = _WORD.match(text, i)
        if m:
            tokens.append(Token("WORD", m.group(0), i))
            i = m.end()
            continue
        raise error(f"unexpected character '{ch}' at position {i}")
    tokens.append(Token("EOF", "", n))
    return tokens


_ATTR_PATHS: dict[tuple[str, int], AttrPath] = {}
_MAX_ATTR_PATHS = 4096


def attr_path(text: str, pos: int) -> AttrPath:
    """``parse_attr_path`` for filters, remembered: a server sees the same few attribute names again and again.

    Only successful parses are kept (an error names ``pos``, so it is raised anew each time).
    """
    key = (text, pos)
    path = _ATTR_PATHS.get(key)
    if path is None:
        path = parse_attr_path(text, pos)
        if len(_ATTR_PATHS) >= _MAX_ATTR_PATHS:
            _ATTR_PATHS.clear()
        _ATTR_PATHS[key] = path
    return path


def parse_attr_path(text: str, pos: int = 0, error: type[ScimError] = InvalidFilter) -> AttrPath:
    """Read ``[urn:]attr[.sub]``; ``pos`` is only used in error messages."""
    urn = None
    rest = text
    if text.lower().startswith("urn:"):
        urn, _, rest = text.rpartition(":")
        if not urn or not rest:
            raise error(f"'{text}' at position {pos} is not an attribute path: expected 'urn:...:attributeName'")
    parts = rest.split(".")
    if len(parts) > 2:
        raise error(f"'{text}' at position {pos} has more than one sub-attribute: expected 'attribute' or "
                    "'attribute.subAttribute'")
    for part in parts:
        if not _NAME.match(part):
            raise error(f"'{text}' at position {pos} is not an attribute path: '{part}' is not an attribute name")
    return AttrPath(urn, parts[0], parts[1] if len(parts) == 2 else None, text)


# ------------------------------------------------------------------ parser


class Parser:
    """Recursive descent over the token list; ``error`` is the SCIM error class raised (filters vs paths)."""

    def __init__(self, text: str, error: type[ScimError] = InvalidFilter):
        self.text = text
        self.error = error
        self.tokens = tokenize(text, error)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, expected: str) -> ScimError:
        tok = self.tok
        return self.error(f"expected {expected} at position {tok.pos}, found {tok.describe()}")

    def is_word(self, *words: str) -> bool:
        return self.tok.kind == "WORD" and self.tok.text.lower() in words

    def expect(self, kind: str, expected: str) -> Token:
        if self.tok.kind != kind:
            raise self.fail(expected)
        return self.advance()

    def parse_filter(self) -> Node:
        node = self.or_expr()
        if self.tok.kind != "EOF":
            raise self.fail("'and', 'or' or the end of the filter")
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.is_word("or"):
            self.advance()
            node = Or(node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while self.is_word("and"):
            self.advance()
            node = And(node, self.not_expr())
        return node

    def not_expr(self) -> Node:
        if self.is_word("not") and self.tokens[self.i + 1].kind == "LPAREN":
            self.advance()
            self.advance()
            inner = self.or_expr()
            self.expect("RPAREN", "')' closing 'not ('")
            return Not(inner)
        if self.is_word("not"):
            self.advance()
            raise self.fail("'(' after 'not' (RFC 7644: not \"(\" FILTER \")\")")
        return self.atom()

    def atom(self) -> Node:
        if self.tok.kind == "LPAREN":
            self.advance()
            inner = self.or_expr()
            self.expect("RPAREN", "')'")
            return inner
        if self.tok.kind != "WORD" or self.tok.text.lower() in ("and", "or"):
            raise self.fail("an attribute path, '(' or 'not ('")
        word = self.advance()
        path = parse_attr_path(word.text, word.pos, self.error)
        if self.tok.kind == "LBRACKET":
            return self.value_path(path, word)
        return self.attr_exp(path)

    def value_path(self, path: AttrPath, word: Token) -> Node:
        if path.sub is not None:
            raise self.error(f"'{word.text}[' at position {word.pos}: a value filter applies to a multi-valued "
                             "attribute, not to a sub-attribute (expected 'attribute[...]')")
        self.advance()
        if self.tok.kind == "RBRACKET":
            raise self.fail("a filter inside '[ ]'")
        inner = self.or_expr()
        self.expect("RBRACKET", "']' closing the value filter")
        if self.tok.kind == "SUBATTR":
            sub = self.advance()
            name = sub.text.lstrip(".")
            tail = self.attr_exp(AttrPath(None, name, None, name))
            return ValuePath(path, And(inner, tail), trailing=f"{word.text}[...].{name}")
        return ValuePath(path, inner)

    def attr_exp(self, path: AttrPath) -> Node:
        if self.tok.kind != "WORD":
            raise self.fail(f"an operator ({', '.join(COMPARE_OPS)} or pr) after '{path.text}'")
        op = self.tok.text.lower()
        if op == "pr":
            self.advance()
            return Present(path)
        if op not in COMPARE_OPS:
            raise self.error(f"the operator '{self.tok.text}' at position {self.tok.pos} is not supported; "
                             f"expected one of {', '.join(COMPARE_OPS)} or pr")
        self.advance()
        return Compare(path, op, self.comp_value(op))

    def comp_value(self, op: str) -> Any:
        tok = self.tok
        if tok.kind in ("STRING", "NUMBER"):
            self.advance()
            return tok.value
        if tok.kind == "WORD" and tok.text.lower() in ("true", "false", "null"):
            self.advance()
            return {"true": True, "false": False, "null": None}[tok.text.lower()]
        raise self.fail(f"a value after '{op}' (a quoted string, a number, true, false or null)")


#: ``attr op "literal"``, the shape of nearly every filter a provisioning client sends (Entra's matching
#: query). Only plain spaces and literals without escapes or control characters qualify: for those the
#: literal's JSON value is its text, so the parser would build exactly the node built here.
_SIMPLE_COMPARISON = re.compile(r' *([A-Za-z_$][A-Za-z0-9_\-$:.]*) +([A-Za-z]+) *"([^"\\\x00-\x1f]*)" *')
_KEYWORDS = frozenset({"and", "or", "not"})


def _simple_comparison(text: str) -> Node | None:
    """The node of a one-comparison filter, read without running the parser; None for any other filter."""
    m = _SIMPLE_COMPARISON.fullmatch(text)
    if m is None:
        return None
    word, op = m.group(1), m.group(2).lower()
    if op not in COMPARE_OPS or word.lower() in _KEYWORDS:
        return None
    return Compare(attr_path(word, m.start(1)), op, m.group(3))


def parse_filter(text: str) -> Node:
    """Parse a filter; any error is ``invalidFilter`` with the position and what was expected.

    ``attr eq "literal"`` (the matching query sent once per resource in a sync) skips the lexer and
    the parser; the node, and any error, is the same as the parser's.
    """
    if text is None or not text.strip():
        raise InvalidFilter("the filter is empty: expected an expression such as userName eq \"bjensen\"")
    return _simple_comparison(text) or Parser(text).parse_filter()


# ------------------------------------------------------------------ compilation

Predicate = Callable[[dict[str, Any]], bool]
Computed = Callable[[dict[str, Any]], Any]


@dataclass
class FilterOptions:
    """How strictly compValues are read (profiles loosen this)."""

    #: accept "True"/"False" (any case) as booleans, as Entra writes roles[primary eq "True"]
    string_booleans: bool = False
    #: accept emails[type eq "work"].value eq "x", as Entra filters when the email is a matching attribute
    subattribute_after_value_filter: bool = False


def parse_datetime(value: str) -> datetime | None:
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if dt.tzinfo is None:
        from datetime import timezone
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


class UnknownAttribute(InvalidFilter):
    """A filter names an attribute the resource type does not have."""


class Resolved:
    """An attribute path resolved against the schemas: how to read its values from a stored resource."""

    def __init__(self, attr: Attribute, leaf: Attribute, container_urn: str | None, sub: str | None,
                 computed: Computed | None):
        self.attr = attr  # the top-level attribute
        self.leaf = leaf  # what values are compared as (the sub-attribute, or attr itself)
        self.container_urn = container_urn  # extension URN holding the attribute, None for core/common
        self.sub = sub
        self.computed = computed

    def values(self, record: dict[str, Any]) -> list[Any]:
        """Every value at the path (multi-valued attributes contribute one per element)."""
        if self.computed is not None:
            value = self.computed(record)
        else:
            container = record.get(self.container_urn) if self.container_urn else record
            if not container:
                return []
            value = container.get(self.attr.name)
        if value is None:
            return []
        if self.attr.multi_valued:
            items = list(value.values()) if isinstance(value, dict) else value
        else:
            items = [value]
        if self.sub is None:
            return [v for v in items if v is not None]
        return [v.get(self.sub) for v in items if isinstance(v, dict) and v.get(self.sub) is not None]

    def elements(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The elements of a multi-valued complex attribute (for value paths)."""
        if self.computed is not None:
            value = self.computed(record)
        else:
            container = record.get(self.container_urn) if self.container_urn else record
            value = container.get(self.attr.name) if container else None
        if value is None:
            return []
        if isinstance(value, dict) and self.attr.multi_valued:
            return list(value.values())
        return value if isinstance(value, list) else [value]


def resolve(path: AttrPath, rtype: ResourceType, registry: SchemaRegistry,
            computed: dict[str, Computed] | None = None, parent: Attribute | None = None,
            error: type[ScimError] = InvalidFilter) -> Resolved:
    """Resolve ``path`` (relative to ``parent`` inside a value filter) or raise ``error`` naming it."""
    if parent is not None:
        if path.urn is not None or path.sub is not None:
            raise error(f"'{path.text}' inside '{parent.name}[...]' must name a sub-attribute of {parent.name}")
        sub = parent.sub(path.attr)
        if sub is None:
            raise error(f"'{path.text}' is not a sub-attribute of '{parent.name}'")
        return Resolved(sub, sub, None, None, None)
    found = registry.lookup(rtype, path.urn, path.attr)
    if found is None:
        where = f" in schema {path.urn}" if path.urn else f" of {rtype.name}"
        raise (UnknownAttribute if error is InvalidFilter else error)(f"'{path.text}' is not an attribute{where}")
    schema, attr = found
    container = schema.id if schema is not None and schema.id != rtype.schema.id else None
    leaf = attr
    sub_name = None
    if path.sub is not None:
        if not attr.is_complex:
            raise error(f"'{path.text}': '{attr.name}' is not complex and has no sub-attribute '{path.sub}'")
        sub = attr.sub(path.sub)
        if sub is None:
            raise error(f"'{path.text}': '{attr.name}' has no sub-attribute '{path.sub}'")
        leaf, sub_name = sub, sub.name
    fn = (computed or {}).get(attr.name) if container is None else None
    return Resolved(attr, leaf, container, sub_name, fn)


def _text_matcher(op: str, expected: str, case_exact: bool) -> Callable[[Any], bool]:
    e = expected if case_exact else expected.casefold()
    if op == "eq":  # the common case, as one closure (building all nine per filter cost more than matching)
        if case_exact:
            return lambda v: isinstance(v, str) and v == e
        return lambda v: isinstance(v, str) and v.casefold() == e
    norm = (lambda s: s) if case_exact else (lambda s: s.casefold())
    checks: dict[str, Callable[[str], bool]] = {
        "ne": lambda v: v != e, "co": lambda v: e in v,
        "sw": lambda v: v.startswith(e), "ew": lambda v: v.endswith(e),
        "gt": lambda v: v > e, "ge": lambda v: v >= e, "lt": lambda v: v < e, "le": lambda v: v <= e,
    }
    check = checks[op]
    return lambda v: isinstance(v, str) and check(norm(v))


def _ordered_matcher(op: str, expected: Any, convert: Callable[[Any], Any]) -> Callable[[Any], bool]:
    checks: dict[str, Callable[[Any], bool]] = {
        "eq": lambda v: v == expected, "ne": lambda v: v != expected, "gt": lambda v: v > expected,
        "ge": lambda v: v >= expected, "lt": lambda v: v < expected, "le": lambda v: v <= expected,
    }
    check = checks[op]

    def match(raw: Any) -> bool:
        value = convert(raw)
        return value is not None and check(value)

    return match


def _leaf_matcher(node: Compare, leaf: Attribute, options: FilterOptions) -> Callable[[Any], bool]:
    """A test for one value, chosen by the attribute's type; a value or operator that cannot apply is an error."""
    op, value, text = node.op, node.value, node.path.text
    kind = leaf.type
    if leaf.is_complex:
        value_sub = leaf.sub("value")
        if value_sub is None:
            raise InvalidFilter(f"'{text}' is complex: compare one of its sub-attributes "
                                f"({', '.join(s.name for s in leaf.sub_attributes)})")
        inner = _leaf_matcher(node, value_sub, options)
        return lambda v: isinstance(v, dict) and inner(v.get("value"))
    if kind == "boolean":
        if op not in ("eq", "ne"):
            raise InvalidFilter(f"'{op}' cannot compare the boolean '{text}': use eq or ne")
        if isinstance(value, str) and options.string_booleans and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if not isinstance(value, bool):
            raise InvalidFilter(f"'{text}' is boolean: expected true or false after '{op}', got {json.dumps(value)}")
        return (lambda v: v is value) if op == "eq" else (lambda v: v is not value)
    if kind in ("integer", "decimal"):
        if op in ("co", "sw", "ew"):
            raise InvalidFilter(f"'{op}' cannot compare the {kind} '{text}': use eq, ne, gt, ge, lt or le")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidFilter(f"'{text}' is {kind}: expected a number after '{op}', got {json.dumps(value)}")
        return _ordered_matcher(op, value, lambda v: v if isinstance(v, (int, float)) and not isinstance(v, bool) else None)
    if kind == "dateTime":
        if not isinstance(value, str):
            raise InvalidFilter(f"'{text}' is a dateTime: expected a quoted xsd:dateTime after '{op}'")
        if op in ("co", "sw", "ew"):
            return _text_matcher(op, value, True)
        moment = parse_datetime(value)
        if moment is None:
            raise InvalidFilter(f"'{text}' is a dateTime: {json.dumps(value)} is not an xsd:dateTime "
                                "such as \"2011-05-13T04:42:34Z\"")
        return _ordered_matcher(op, moment, lambda v: parse_datetime(v) if isinstance(v, str) else None)
    # string, reference, binary
    if kind == "binary" and op in ("gt", "ge", "lt", "le"):
        raise InvalidFilter(f"'{op}' cannot compare the binary '{text}' (RFC 7644 §3.4.2.2)")
    if not isinstance(value, str):
        raise InvalidFilter(f"'{text}' is a {kind}: expected a quoted string after '{op}', got {json.dumps(value)}")
    return _text_matcher(op, value, leaf.case_exact)


def compile_filter(node: Node, rtype: ResourceType, registry: SchemaRegistry, *,
                   computed: dict[str, Computed] | None = None, options: FilterOptions | None = None,
                   parent: Attribute | None = None, lenient: bool = False) -> Predicate:
    """Turn an AST into ``predicate(record) -> bool`` for resources of ``rtype``.

    ``computed`` supplies attributes that are not stored in the record (a
    User's ``groups``); ``parent`` is set inside a value filter, where paths
    name sub-attributes of one element. ``lenient`` reads an attribute the
    type does not have as absent instead of refusing the filter (a root
    search spans types that do not share attributes).
    """
    options = options or FilterOptions()

    def top_level(path: AttrPath) -> Any:
        try:
            return resolve(path, rtype, registry, computed)
        except UnknownAttribute:
            if not lenient:
                raise
            return None

    def build(n: Node) -> Predicate:
        if isinstance(n, And):
            left, right = build(n.left), build(n.right)
            return lambda r: left(r) and right(r)
        if isinstance(n, Or):
            left, right = build(n.left), build(n.right)
            return lambda r: left(r) or right(r)
        if isinstance(n, Not):
            inner = build(n.expr)
            return lambda r: not inner(r)
        if isinstance(n, ValuePath):
            if n.trailing is not None and not options.subattribute_after_value_filter:
                raise InvalidFilter(f"'{n.trailing}': a filter cannot compare a sub-attribute after a value "
                                    "filter (RFC 7644 §3.4.2.2); write it inside the brackets, e.g. "
                                    "emails[type eq \"work\" and value eq \"...\"]")
            if parent is not None:
                raise InvalidFilter(f"'{n.path.text}[...]' cannot be nested inside another value filter")
            res = top_level(n.path)
            if res is None:
                return lambda r: False
            if not res.attr.is_complex:
                raise InvalidFilter(f"'{n.path.text}[...]': a value filter needs a complex attribute, and "
                                    f"'{res.attr.name}' is a {res.attr.type}")
            inner = compile_filter(n.filter, rtype, registry, options=options, parent=res.attr)
            return lambda r: any(inner(e) for e in res.elements(r) if isinstance(e, dict))
        if parent is not None:
            res = resolve(n.path, rtype, registry, parent=parent)

            def values(element: dict[str, Any], _name: str = res.attr.name) -> list[Any]:
                v = element.get(_name)
                return [] if v is None else [v]
        else:
            res = top_level(n.path)
            if res is None:  # an attribute this type does not have: it has no value
                if isinstance(n, Compare) and (n.op == "ne") != (n.value is None):
                    return lambda r: True
                return lambda r: False
            values = res.values
        if isinstance(n, Present):
            return lambda r: any(v not in ("", [], {}) for v in values(r))
        assert isinstance(n, Compare)
        if n.value is None:
            if n.op not in ("eq", "ne"):
                raise InvalidFilter(f"'{n.op} null' is meaningless for '{n.path.text}': use eq null, ne null or pr")
            if n.op == "eq":
                return lambda r: not values(r)
            return lambda r: bool(values(r))
        match = _leaf_matcher(n, res.leaf, options)
        if n.op == "ne":
            positive = _leaf_matcher(Compare(n.path, "eq", n.value), res.leaf, options)
            return lambda r: not any(positive(v) for v in values(r))
        return lambda r: any(match(v) for v in values(r))

    return build(node)


# ------------------------------------------------------------------ index hints


def equality_terms(node: Node) -> list[tuple[str, str]] | None:
    """Equalities any match must satisfy, as ("attr" or "attr.sub", value), for index lookups.

    Returns None when the filter gives no such guarantee (so every resource
    must be tested). For ``or``, both sides must give terms; the caller then
    unions the candidates of each side (see ``alternatives``).
    """
    if isinstance(node, Compare) and node.op == "eq" and isinstance(node.value, str) and node.path.urn is None:
        key = node.path.attr if node.path.sub is None else f"{node.path.attr}.{node.path.sub}"
        return [(key, node.value)]
    if isinstance(node, ValuePath) and node.path.urn is None:
        inner = equality_terms(node.filter)
        if inner is None:
            return None
        return [(f"{node.path.attr}.{k}", v) for k, v in inner if "." not in k]
    if isinstance(node, And):
        left, right = equality_terms(node.left), equality_terms(node.right)
        if left is None and right is None:
            return None
        return (left or []) + (right or [])
    return None


def alternatives(node: Node) -> list[Node]:
    """The top-level ``or`` branches of a filter (a filter without ``or`` is its own single branch)."""
    if isinstance(node, Or):
        return alternatives(node.left) + alternatives(node.right)
    return [node]


def walk(node: Node) -> Iterable[Node]:
    yield node
    if isinstance(node, (And, Or)):
        yield from walk(node.left)
        yield from walk(node.right)
    elif isinstance(node, Not):
        yield from walk(node.expr)
    elif isinstance(node, ValuePath):
        yield from walk(node.filter)
