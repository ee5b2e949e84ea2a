"""OData query options on directory collections, with Graph v1.0's own rules and errors.

``parse_options`` turns ``$select``, ``$filter``, ``$search``, ``$orderby``,
``$expand`` and ``$count`` (plus the ``ConsistencyLevel`` header) into a
``QueryOptions`` whose predicates run over the tenant's ``User`` and ``Group``
objects; ``apply`` filters, searches and orders a collection with them.

Why a hand-written parser: the interesting part of Graph's ``$filter`` is not
the grammar but what Entra refuses and how it says so. Each property has its
own operators (reference 1.6 and the advanced-query tables of
aad-advanced-queries): some work by default, some only in an *advanced query*
(``ConsistencyLevel: eventual`` **and** ``$count=true``), some not at all. The
parser builds a small syntax tree; the compiler walks it with the property
table, raises the error Graph raises (``BadRequest`` for syntax and unknown
names, ``Request_UnsupportedQuery`` for what Entra understands but refuses) and
otherwise returns a closure. String comparisons ignore case, as in Entra.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from .errors import BadRequest, ExpandWithAdvancedQuery, RequestBadRequest, UnsupportedQuery

ADVANCED_QUERIES_DOC = "https://aka.ms/graph-docs/advanced-queries"

Predicate = Callable[[object], bool]


# =====================================================================  the public contract
@dataclass
class QueryOptions:
    #: validated property names, or None for the type's default properties.
    select: list[str] | None = None
    #: predicate over User/Group objects, or None when no $filter was given.
    filter: Predicate | None = None
    #: predicate of $search, or None.
    search: Predicate | None = None
    #: (property, descending) pairs, first key first.
    orderby: list[tuple[str, bool]] = field(default_factory=list)
    #: navigation properties to inline: ["manager"] or ["members"].
    expand: list[str] = field(default_factory=list)
    #: $select inside $expand, per navigation property.
    expand_select: dict[str, list[str]] = field(default_factory=dict)
    #: $count=true AND ConsistencyLevel: eventual (without the header $count is silently ignored).
    count: bool = False
    #: ConsistencyLevel: eventual was sent.
    advanced: bool = False


def parse_options(args: Mapping[str, str], headers: Mapping[str, str], entity: str) -> QueryOptions:
    """Validate the query options of a request on a collection of ``entity`` ("user", "group", "directoryObject").

    Raises the ``GraphError`` Graph would answer with; the order of the checks
    follows what a client fixing its query one error at a time would meet.
    """
    ent = entity_named(entity)
    query = QueryArgs(args)
    advanced = (headers.get("ConsistencyLevel") or "").strip().lower() == "eventual"
    count = _parse_count(query.get("$count")) and advanced
    options = QueryOptions(count=count, advanced=advanced)

    raw_select = query.get("$select")
    if raw_select is not None:
        options.select = parse_select(raw_select, ent) or None

    raw_expand = query.get("$expand")
    if raw_expand is not None and raw_expand.strip():
        options.expand, options.expand_select = _parse_expand(raw_expand, ent)

    needs: list[_Requirement] = []
    raw_filter = query.get("$filter")
    if raw_filter is not None and raw_filter.strip():
        options.filter = compile_filter(raw_filter, ent, needs)

    raw_search = query.get("$search")
    if raw_search is not None:
        if not advanced:
            raise UnsupportedQuery("Request with $search query parameter only works through MSGraph with a special "
                                   "request header: 'ConsistencyLevel: eventual'")
        options.search = _compile_search(raw_search, ent)

    raw_orderby = query.get("$orderby")
    if raw_orderby is not None and raw_orderby.strip():
        options.orderby = _parse_orderby(raw_orderby, ent, count)
        if options.filter is not None and not count:
            raise UnsupportedQuery("Sorting not supported for current query.")

    if not count:
        for need in needs:
            need.refuse(ent)

    if options.expand and advanced:
        raise ExpandWithAdvancedQuery()
    return options


def apply(options: QueryOptions, objects: Iterable) -> list:
    """Filter, then search, then order ``objects`` as ``options`` say (a new list)."""
    result = list(objects)
    if options.filter is not None:
        keep = options.filter
        result = [obj for obj in result if keep(obj)]
    if options.search is not None:
        keep = options.search
        result = [obj for obj in result if keep(obj)]
    for name, descending in reversed(options.orderby):
        result.sort(key=_sort_key(name, descending), reverse=descending)
    return result


# =====================================================================  entities and their properties
#: How a property may be filtered: operator -> "default" or "advanced" (absent: refused).
#: Operators: eq (in follows it), startsWith, endsWith, ge, le, null (eq null), count (collection/$count).
#: ne and not are accepted wherever eq is, always as advanced queries.
Ops = dict[str, str]

D, A = "default", "advanced"
_STRING_DEFAULT: Ops = {"eq": D, "startsWith": D, "ge": D, "le": D, "null": A}
_STRING_ADVANCED: Ops = {"eq": A, "startsWith": A, "ge": A, "le": A, "null": A}
_EQ_ONLY: Ops = {"eq": D}
_DATES_DEFAULT: Ops = {"eq": D, "ge": D, "le": D}
_DATES_ADVANCED: Ops = {"eq": A, "ge": A, "le": A}
_COLLECTION: Ops = {"eq": D, "startsWith": D, "ge": D, "le": D, "count": A}


@dataclass(frozen=True)
class Prop:
    """One property of a directory type: its EDM type, $filter operators and $orderby support."""

    name: str
    type: str  # "string", "strings" (collection), "bool", "datetime", "id", "complex"
    filter: Ops | None = None
    orderby: str | None = None  # "default" | "advanced" | None
    #: $search compares tokens (displayName, description) instead of a prefix.
    tokenized: bool = False

    @property
    def edm(self) -> str:
        return {"string": "Edm.String", "strings": "Collection(Edm.String)", "bool": "Edm.Boolean",
                "datetime": "Edm.DateTimeOffset", "id": "Edm.String", "complex": "Edm.ComplexType"}[self.type]


@dataclass(frozen=True)
class Entity:
    name: str  # "user"
    type_name: str  # "microsoft.graph.user"
    resource: str  # "User", as Graph names it in Request_UnsupportedQuery messages
    props: dict[str, Prop]
    #: navigation property -> entity its $select is validated against; None: known but not expandable here.
    navigations: dict[str, str | None]
    _lower: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lower", {n.lower(): n for n in self.props})

    def resolve(self, name: str) -> str | None:
        """Canonical spelling of a property name (Graph matches property names without regard to case)."""
        return self._lower.get(name.lower())

    def not_found(self, name: str) -> BadRequest:
        return BadRequest(f"Could not find a property named '{name}' on type '{self.type_name}'.")

    def unsupported(self, name: str) -> UnsupportedQuery:
        return UnsupportedQuery(f"Unsupported or invalid query filter clause specified for property '{name}' "
                                f"of resource '{self.resource}'.")


def _props(*items: Prop) -> dict[str, Prop]:
    return {p.name: p for p in items}


def _unmodelled(name: str, type_: str, filter_: Ops | None = None) -> Prop:
    """A real Graph property the tenant model does not store: it reads as null (or an empty collection)."""
    return Prop(name, type_, filter_)


USER = Entity("user", "microsoft.graph.user", "User", _props(
    Prop("id", "id", _EQ_ONLY),
    Prop("userPrincipalName", "string", {"eq": D, "startsWith": D, "ge": D, "le": D, "endsWith": A}, orderby=D),
    Prop("displayName", "string", dict(_STRING_DEFAULT), orderby=D, tokenized=True),
    Prop("mail", "string", {**_STRING_DEFAULT, "endsWith": A}),
    Prop("otherMails", "strings", {**_COLLECTION, "endsWith": A}),
    Prop("givenName", "string", dict(_STRING_DEFAULT)),
    Prop("surname", "string", dict(_STRING_DEFAULT)),
    Prop("jobTitle", "string", dict(_STRING_DEFAULT)),
    Prop("department", "string", dict(_STRING_DEFAULT)),
    Prop("companyName", "string", dict(_STRING_ADVANCED)),
    Prop("employeeId", "string", dict(_STRING_DEFAULT)),
    Prop("officeLocation", "string", dict(_STRING_ADVANCED)),
    Prop("preferredLanguage", "string", dict(_STRING_ADVANCED)),
    Prop("country", "string", dict(_STRING_DEFAULT)),
    Prop("usageLocation", "string", dict(_STRING_DEFAULT)),
    Prop("mailNickname", "string", dict(_STRING_DEFAULT)),
    Prop("mobilePhone", "string", dict(_STRING_ADVANCED)),
    Prop("businessPhones", "strings", dict(_COLLECTION)),
    Prop("userType", "string", {"eq": D, "null": A}),
    Prop("accountEnabled", "bool", _EQ_ONLY),
    Prop("createdDateTime", "datetime", dict(_DATES_ADVANCED), orderby=A),
    Prop("deletedDateTime", "datetime", None, orderby=A),
    # Real Graph properties the simulator does not store: selectable (they read as null) and filterable as Graph allows.
    _unmodelled("city", "string", dict(_STRING_DEFAULT)),
    _unmodelled("state", "string", dict(_STRING_DEFAULT)),
    _unmodelled("postalCode", "string", dict(_STRING_ADVANCED)),
    _unmodelled("streetAddress", "string", dict(_STRING_ADVANCED)),
    _unmodelled("faxNumber", "string", dict(_STRING_ADVANCED)),
    _unmodelled("employeeType", "string", {"eq": A}),
    _unmodelled("employeeHireDate", "datetime", dict(_DATES_ADVANCED)),
    _unmodelled("ageGroup", "string", _EQ_ONLY),
    _unmodelled("creationType", "string", _EQ_ONLY),
    _unmodelled("consentProvidedForMinor", "string", _EQ_ONLY),
    _unmodelled("externalUserState", "string", _EQ_ONLY),
    _unmodelled("externalUserStateChangeDateTime", "datetime", dict(_DATES_DEFAULT)),
    _unmodelled("isResourceAccount", "bool", _EQ_ONLY),
    _unmodelled("showInAddressList", "bool", {"eq": A}),
    _unmodelled("onPremisesSyncEnabled", "bool", {"eq": D, "null": A}),
    _unmodelled("onPremisesImmutableId", "string", _EQ_ONLY),
    _unmodelled("onPremisesSamAccountName", "string", {"eq": A, "startsWith": A}),
    _unmodelled("onPremisesLastSyncDateTime", "datetime", dict(_DATES_DEFAULT)),
    _unmodelled("onPremisesUserPrincipalName", "string", {"eq": D, "startsWith": D, "ge": D, "le": D}),
    _unmodelled("onPremisesDistinguishedName", "string"),
    _unmodelled("onPremisesDomainName", "string"),
    _unmodelled("onPremisesSecurityIdentifier", "string", {"null": A}),
    _unmodelled("proxyAddresses", "strings", {**_COLLECTION, "endsWith": A}),
    _unmodelled("imAddresses", "strings", {"eq": D, "startsWith": D, "ge": D, "le": D}),
    _unmodelled("lastPasswordChangeDateTime", "datetime"),
    _unmodelled("passwordPolicies", "string", {"null": A}),
    _unmodelled("securityIdentifier", "string"),
    _unmodelled("signInSessionsValidFromDateTime", "datetime"),
    _unmodelled("assignedLicenses", "complex"),
    _unmodelled("assignedPlans", "complex"),
    _unmodelled("identities", "complex"),
    _unmodelled("onPremisesExtensionAttributes", "complex"),
    _unmodelled("employeeOrgData", "complex"),
    _unmodelled("passwordProfile", "complex"),
), navigations={"manager": "user", "memberOf": None, "transitiveMemberOf": None, "directReports": None,
                "ownedObjects": None, "registeredDevices": None, "ownedDevices": None, "appRoleAssignments": None,
                "extensions": None})

GROUP = Entity("group", "microsoft.graph.group", "Group", _props(
    Prop("id", "id", _EQ_ONLY),
    Prop("displayName", "string", dict(_STRING_DEFAULT), orderby=D, tokenized=True),
    Prop("description", "string", {"eq": A, "startsWith": A}, tokenized=True),
    Prop("mail", "string", dict(_STRING_DEFAULT)),
    Prop("mailNickname", "string", dict(_STRING_DEFAULT)),
    Prop("mailEnabled", "bool", _EQ_ONLY),
    Prop("securityEnabled", "bool", _EQ_ONLY),
    Prop("groupTypes", "strings", {"eq": D, "count": A}),
    Prop("createdDateTime", "datetime", None),
    Prop("deletedDateTime", "datetime", None, orderby=A),
    _unmodelled("classification", "string", {"eq": D, "startsWith": D}),
    _unmodelled("membershipRule", "string", {"eq": D, "startsWith": D}),
    _unmodelled("membershipRuleProcessingState", "string"),
    _unmodelled("visibility", "string"),
    _unmodelled("preferredLanguage", "string", {"eq": A, "startsWith": A, "null": A}),
    _unmodelled("theme", "string"),
    _unmodelled("securityIdentifier", "string"),
    _unmodelled("isAssignableToRole", "bool"),
    _unmodelled("onPremisesSyncEnabled", "bool", {"eq": D, "null": A}),
    _unmodelled("onPremisesSamAccountName", "string", {"eq": A, "startsWith": A}),
    _unmodelled("onPremisesSecurityIdentifier", "string", {"null": A}),
    _unmodelled("onPremisesLastSyncDateTime", "datetime", dict(_DATES_DEFAULT)),
    _unmodelled("onPremisesDomainName", "string"),
    _unmodelled("onPremisesNetBiosName", "string"),
    _unmodelled("expirationDateTime", "datetime", dict(_DATES_ADVANCED)),
    _unmodelled("renewedDateTime", "datetime", dict(_DATES_DEFAULT)),
    _unmodelled("proxyAddresses", "strings", {**_COLLECTION, "endsWith": A}),
    _unmodelled("assignedLicenses", "complex"),
), navigations={"members": "directoryObject", "transitiveMembers": None, "memberOf": None,
                "transitiveMemberOf": None, "owners": None, "appRoleAssignments": None, "extensions": None})


def _directory_object() -> Entity:
    """A relationship of mixed types (members, memberOf): a property of either type, read where it exists.

    Sorting a relationship is an advanced query in Graph, even on displayName.
    """
    merged: dict[str, Prop] = dict(GROUP.props)
    merged.update(USER.props)
    merged["displayName"] = Prop("displayName", "string", dict(_STRING_DEFAULT), orderby=A, tokenized=True)
    merged["description"] = GROUP.props["description"]
    return Entity("directoryObject", "microsoft.graph.directoryObject", "DirectoryObject", merged, navigations={})


DIRECTORY_OBJECT = _directory_object()
ENTITIES = {e.name: e for e in (USER, GROUP, DIRECTORY_OBJECT)}


def entity_named(entity: str) -> Entity:
    try:
        return ENTITIES[entity]
    except KeyError:
        raise ValueError(f"unknown entity '{entity}'; expected one of {', '.join(ENTITIES)}") from None


def value_of(obj: object, name: str) -> Any:
    """A property's value on a model object; properties the object's type lacks read as null."""
    return getattr(obj, name, None)


# =====================================================================  small options
class QueryArgs:
    """System query options by name, matched without regard to case (``$Filter`` is ``$filter``)."""

    def __init__(self, args: Mapping[str, str]):
        self._args: dict[str, str] = {}
        for key in args:
            self._args.setdefault(key.lower(), args[key])

    def get(self, name: str) -> str | None:
        return self._args.get(name.lower())


def _parse_count(raw: str | None) -> bool:
    if raw is None:
        return False
    text = raw.strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise BadRequest(f"Invalid value '{raw}' for $count query option found. Valid values are 'true', 'false'.")


def parse_select(raw: str, entity: str | Entity) -> list[str]:
    """``$select=a,b``: canonical names, in the order given, without repeats; unknown names are refused."""
    ent = entity if isinstance(entity, Entity) else entity_named(entity)
    names: list[str] = []
    parts = raw.split(",")
    if len(parts) == 1 and not raw.strip():
        return names
    for part in parts:
        name = part.strip()
        if not name:
            raise BadRequest(f"Syntax error: character ',' is not valid at position {raw.find(',')} in '{raw}'.")
        canonical = ent.resolve(name)
        if canonical is None:
            raise ent.not_found(name)
        if canonical not in names:
            names.append(canonical)
    return names


def _split_top_level(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside parentheses and quotes."""
    parts, depth, start, quoted = [], 0, 0, False
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise BadRequest(f"Syntax error: ')' at position {i} in '{text}' has no matching '('.")
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise BadRequest(f"Syntax error: missing ')' in '{text}'.")
    parts.append(text[start:])
    return parts


_EXPAND_ITEM = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.S)


def _parse_expand(raw: str, ent: Entity) -> tuple[list[str], dict[str, list[str]]]:
    """``$expand=manager($select=id,displayName)`` or ``members``: one level, with an optional inner ``$select``."""
    expand: list[str] = []
    selects: dict[str, list[str]] = {}
    for item in _split_top_level(raw, ","):
        match = _EXPAND_ITEM.match(item)
        if match is None:
            raise BadRequest(f"Syntax error in $expand: '{item.strip()}' is not a navigation property.")
        name, inner = match.group(1), match.group(2)
        canonical = next((n for n in ent.navigations if n.lower() == name.lower()), None)
        if canonical is None:
            if ent.resolve(name) is not None:
                raise BadRequest(f"Property '{ent.resolve(name)}' on type '{ent.type_name}' is not a navigation "
                                 "property or complex property. Only navigation properties can be expanded.")
            raise ent.not_found(name)
        target = ent.navigations[canonical]
        if target is None:
            expandable = ", ".join(n for n, t in ent.navigations.items() if t is not None) or "none"
            raise UnsupportedQuery(f"Expanding '{canonical}' is not supported on resource '{ent.resource}'. "
                                   f"Expandable here: {expandable}.")
        if canonical in expand:
            continue
        expand.append(canonical)
        if inner is not None and inner.strip():
            for option in _split_top_level(inner, ";"):
                key, eq, value = option.partition("=")
                if key.strip().lower() != "$select" or not eq:
                    raise BadRequest(f"Query option '{key.strip()}' is not supported inside $expand={canonical}; "
                                     "only $select is.")
                selects[canonical] = parse_select(value, entity_named(target))
    return expand, selects


def _parse_orderby(raw: str, ent: Entity, advanced_query: bool) -> list[tuple[str, bool]]:
    keys: list[tuple[str, bool]] = []
    for part in raw.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise BadRequest(f"Syntax error in $orderby: '{part.strip()}' should be 'property [asc|desc]'.")
        canonical = ent.resolve(words[0])
        if canonical is None:
            raise ent.not_found(words[0])
        support = ent.props[canonical].orderby
        if support == D or (support == A and advanced_query):
            keys.append((canonical, len(words) == 2 and words[1].lower() == "desc"))
        elif advanced_query:
            raise UnsupportedQuery("An unsupported property was specified.")
        else:
            raise UnsupportedQuery(f"Unsupported sort property '{canonical}' for '{ent.resource}'.")
    return keys


def _sort_key(name: str, descending: bool) -> Callable[[object], tuple]:
    """Case-insensitive order; missing values sort last in either direction."""
    missing = (0,) if descending else (1,)
    present = 1 if descending else 0

    def key(obj: object) -> tuple:
        value = value_of(obj, name)
        if value is None or value == "":
            return missing
        if isinstance(value, str):
            return (present, value.casefold())
        return (present, value)

    return key


# =====================================================================  $filter: tokens
@dataclass(frozen=True)
class Token:
    kind: str  # "(", ")", ",", ":", "/", "string", "datetime", "guid", "number", "name", "end"
    text: str
    pos: int
    value: Any = None


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-]))
  | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?(?![\w:]))
  | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
  | (?P<name>\$?[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[(),:/])
""", re.X)


class FilterSyntaxError(Exception):
    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] == "'":
                raise FilterSyntaxError(f"There is an unterminated string literal at position {pos} in '{text}'.")
            raise FilterSyntaxError(f"Syntax error: character '{text[pos]}' is not valid at position {pos} in '{text}'.")
        kind = match.lastgroup
        chunk = match.group()
        if kind == "string":
            tokens.append(Token("string", chunk, pos, chunk[1:-1].replace("''", "'")))
        elif kind == "datetime":
            try:
                value = _parse_datetime(chunk)
            except ValueError:
                raise FilterSyntaxError(f"'{chunk}' at position {pos} is not a valid Edm.DateTimeOffset.") from None
            tokens.append(Token("datetime", chunk, pos, value))
        elif kind == "number":
            tokens.append(Token("number", chunk, pos, float(chunk) if "." in chunk else int(chunk)))
        elif kind == "guid":
            tokens.append(Token("guid", chunk, pos, chunk.lower()))
        elif kind == "name":
            tokens.append(Token("name", chunk, pos, chunk))
        elif kind == "punct":
            tokens.append(Token(chunk, chunk, pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _parse_datetime(text: str) -> datetime:
    if "T" not in text:
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


# =====================================================================  $filter: syntax tree
@dataclass(frozen=True)
class Literal:
    kind: str  # "string", "bool", "null", "number", "datetime", "guid"
    value: Any
    text: str


@dataclass(frozen=True)
class Ref:
    """A property (``department``) or a lambda's range variable (``c`` in ``any(c: c eq 'x')``)."""

    name: str
    pos: int
    variable: bool = False


@dataclass(frozen=True)
class Compare:
    left: Ref
    op: str  # eq ne gt ge lt le
    right: Literal


@dataclass(frozen=True)
class InList:
    left: Ref
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class Call:
    name: str  # lower-cased function name
    args: tuple[Any, ...]
    pos: int


@dataclass(frozen=True)
class Lambda:
    collection: Ref
    quantifier: str  # any | all
    variable: str | None
    body: Any


@dataclass(frozen=True)
class CountOf:
    collection: Ref
    op: str
    right: Literal


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or
    operands: tuple[Any, ...]


_COMPARISON = ("eq", "ne", "gt", "ge", "lt", "le")
_FUNCTIONS = {"startswith": "startsWith", "endswith": "endsWith"}
#: OData functions Graph's directory refuses (rather than does not know).
_REFUSED_FUNCTIONS = {"contains", "substringof", "tolower", "toupper", "trim", "length", "indexof", "substring",
                      "concat", "year", "month", "day", "hour", "minute", "second", "date", "time", "round",
                      "floor", "ceiling", "matchespattern", "isof", "cast"}


class _Parser:
    """Recursive descent: or < and < not < comparison/function/lambda/parentheses."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.variables: list[str] = []

    # -- helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def keyword(self, *words: str) -> str | None:
        tok = self.tok
        if tok.kind == "name" and tok.text.lower() in words:
            self.i += 1
            return tok.text.lower()
        return None

    def expect(self, kind: str) -> Token:
        tok = self.tok
        if tok.kind != kind:
            self.fail(f"'{kind}' expected")
        return self.advance()

    def fail(self, what: str) -> None:
        tok = self.tok
        found = f"'{tok.text}'" if tok.kind != "end" else "the end of the clause"
        raise FilterSyntaxError(f"Syntax error at position {tok.pos} in '{self.text}': {what}, found {found}.")

    # -- grammar
    def parse(self) -> Any:
        node = self.parse_or()
        if self.tok.kind != "end":
            self.fail("an operator or the end of the clause expected")
        return node

    def parse_or(self) -> Any:
        items = [self.parse_and()]
        while self.keyword("or"):
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def parse_and(self) -> Any:
        items = [self.parse_unary()]
        while self.keyword("and"):
            items.append(self.parse_unary())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def parse_unary(self) -> Any:
        if self.keyword("not"):
            return Not(self.parse_unary())
        return self.parse_primary()

    def parse_primary(self) -> Any:
        tok = self.tok
        if tok.kind == "(":
            self.advance()
            node = self.parse_or()
            self.expect(")")
            return node
        if tok.kind != "name":
            self.fail("a property, a function or '(' expected")
        if self.tokens[self.i + 1].kind == "(":
            call = self.parse_call()
            if self.keyword("eq"):
                right = self.parse_literal()
                if right.kind != "bool":
                    raise FilterSyntaxError(f"A binary operator with incompatible types was detected. Found operand "
                                            f"types 'Edm.Boolean' and '{_literal_edm(right)}' for operator kind 'Equal'.")
                return call if right.value else Not(call)
            return call
        ref = self.parse_ref()
        if self.tok.kind == "/":
            self.advance()
            segment = self.expect("name")
            if segment.text.lower() in ("any", "all"):
                return self.parse_lambda(ref, segment.text.lower())
            if segment.text == "$count":
                op = self.keyword(*_COMPARISON)
                if op is None:
                    self.fail("a comparison operator expected after '/$count'")
                return CountOf(ref, op, self.parse_literal())
            raise FilterSyntaxError(f"Syntax error at position {segment.pos} in '{self.text}': property paths "
                                    f"('{ref.name}/{segment.text}') are not supported on this resource.")
        op = self.keyword(*_COMPARISON)
        if op is not None:
            return Compare(ref, op, self.parse_literal())
        if self.keyword("in"):
            return InList(ref, self.parse_list())
        self.fail(f"an operator (eq, ne, ge, le, in) expected after '{ref.name}'")

    def parse_ref(self) -> Ref:
        tok = self.expect("name")
        return Ref(tok.text, tok.pos, variable=tok.text in self.variables)

    def parse_call(self) -> Call:
        name_tok = self.advance()
        self.expect("(")
        args: list[Any] = []
        if self.tok.kind != ")":
            while True:
                args.append(self.parse_ref() if self.tok.kind == "name" and self.tok.text.lower() not in ("true", "false", "null")
                            else self.parse_literal())
                if self.tok.kind != ",":
                    break
                self.advance()
        self.expect(")")
        return Call(name_tok.text.lower(), tuple(args), name_tok.pos)

    def parse_lambda(self, collection: Ref, quantifier: str) -> Lambda:
        self.expect("(")
        if self.tok.kind == ")":
            self.advance()
            return Lambda(collection, quantifier, None, None)
        variable = self.expect("name").text
        self.expect(":")
        self.variables.append(variable)
        try:
            body = self.parse_or()
        finally:
            self.variables.pop()
        self.expect(")")
        return Lambda(collection, quantifier, variable, body)

    def parse_list(self) -> tuple[Literal, ...]:
        self.expect("(")
        values = [self.parse_literal()]
        while self.tok.kind == ",":
            self.advance()
            values.append(self.parse_literal())
        self.expect(")")
        return tuple(values)

    def parse_literal(self) -> Literal:
        tok = self.tok
        if tok.kind in ("string", "datetime", "number", "guid"):
            self.advance()
            return Literal(tok.kind, tok.value, tok.text)
        if tok.kind == "name" and tok.text.lower() in ("true", "false"):
            self.advance()
            return Literal("bool", tok.text.lower() == "true", tok.text)
        if tok.kind == "name" and tok.text.lower() == "null":
            self.advance()
            return Literal("null", None, tok.text)
        self.fail("a literal value expected")
        raise AssertionError("unreachable")


def _literal_edm(lit: Literal) -> str:
    return {"string": "Edm.String", "bool": "Edm.Boolean", "number": "Edm.Int32", "datetime": "Edm.DateTimeOffset",
            "guid": "Edm.Guid", "null": "null"}[lit.kind]


def parse_filter(text: str) -> Any:
    """The syntax tree of a ``$filter`` clause; syntax errors as Graph's "Invalid filter clause"."""
    try:
        return _Parser(text).parse()
    except FilterSyntaxError as exc:
        raise BadRequest(f"Invalid filter clause: {exc.detail}") from None
    except RecursionError:
        raise BadRequest("Invalid filter clause: the clause is nested too deeply.") from None


# =====================================================================  $filter: compiler
@dataclass(frozen=True)
class _Requirement:
    """Something only an advanced query may do: an operator (ne, not, endsWith) or a property's operator."""

    kind: str  # "operator" | "property"
    name: str

    def refuse(self, ent: Entity) -> None:
        if self.kind == "operator":
            raise UnsupportedQuery(f"Operator '{self.name}' is not supported because the required parameters might "
                                   "be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual "
                                   f"header. Refer to {ADVANCED_QUERIES_DOC} for more information")
        raise ent.unsupported(self.name)


_OP_NAME = {"eq": "Equal", "ne": "NotEqual", "ge": "GreaterThanOrEqual", "le": "LessThanOrEqual",
            "gt": "GreaterThan", "lt": "LessThan"}
_GUID_TEXT = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def compile_filter(text: str, entity: str | Entity, needs: list | None = None) -> Predicate:
    """A predicate for ``$filter=text``; advanced-only parts are appended to ``needs`` (checked by the caller)."""
    ent = entity if isinstance(entity, Entity) else entity_named(entity)
    tree = parse_filter(text)
    compiler = _Compiler(ent, needs if needs is not None else [])
    try:
        return compiler.node(tree)
    except RecursionError:
        raise BadRequest("Invalid filter clause: the clause is nested too deeply.") from None


class _Compiler:
    def __init__(self, ent: Entity, needs: list[_Requirement]):
        self.ent = ent
        self.needs = needs
        #: the collection property a lambda ranges over, while compiling its body.
        self.element: Prop | None = None
        self.variable: str | None = None

    def need(self, kind: str, name: str, level: str) -> None:
        if level == A:
            req = _Requirement(kind, name)
            if req not in self.needs:
                self.needs.append(req)

    # -- structure
    def node(self, n: Any) -> Predicate:
        if isinstance(n, BoolOp):
            parts = [self.node(x) for x in n.operands]
            if n.op == "and":
                return lambda obj: all(p(obj) for p in parts)
            return lambda obj: any(p(obj) for p in parts)
        if isinstance(n, Not):
            self.need("operator", "not", A)
            inner = self.node(n.operand)
            return lambda obj: not inner(obj)
        if isinstance(n, Compare):
            return self.compare(n)
        if isinstance(n, InList):
            return self.in_list(n)
        if isinstance(n, Call):
            return self.call(n)
        if isinstance(n, Lambda):
            return self.lambda_(n)
        if isinstance(n, CountOf):
            return self.count_of(n)
        raise BadRequest("Invalid filter clause")

    # -- operands
    def prop(self, ref: Ref) -> tuple[Prop, Callable[[object], Any]]:
        """The property a reference names and how to read it (the element itself inside a lambda)."""
        if ref.variable:
            if ref.name != self.variable or self.element is None:
                raise BadRequest(f"Invalid filter clause: range variable '{ref.name}' used outside its lambda.")
            return self.element, lambda element: element
        if self.element is not None:
            # Graph evaluates a lambda's body on the element only.
            raise self.ent.unsupported(self.element.name)
        canonical = self.ent.resolve(ref.name)
        if canonical is None:
            raise self.ent.not_found(ref.name)
        prop = self.ent.props[canonical]
        if prop.filter is None or prop.type == "complex":
            raise self.ent.unsupported(canonical)
        return prop, lambda obj, _n=canonical: value_of(obj, _n)

    def level(self, prop: Prop, op: str) -> str:
        level = (prop.filter or {}).get(op)
        if level is None:
            raise self.ent.unsupported(prop.name)
        return level

    def check_type(self, prop: Prop, lit: Literal, op: str, in_element: bool) -> Any:
        """The literal as a Python value comparable with the property's values; mismatches as Graph words them."""
        edm = "Edm.String" if prop.type == "strings" and in_element else prop.edm
        if prop.type == "strings" and not in_element:
            raise BadRequest(f"Invalid filter clause: A binary operator with incompatible types was detected. Found "
                             f"operand types '{prop.edm}' and '{_literal_edm(lit)}' for operator kind '{_OP_NAME[op]}'.")
        if lit.kind == "null":
            return None
        ok = {"string": ("string",), "strings": ("string",), "bool": ("bool",), "datetime": ("datetime",),
              "id": ("string", "guid")}[prop.type]
        if lit.kind not in ok:
            raise BadRequest(f"Invalid filter clause: A binary operator with incompatible types was detected. Found "
                             f"operand types '{edm}' and '{_literal_edm(lit)}' for operator kind '{_OP_NAME[op]}'.")
        if prop.type == "id":
            if not _GUID_TEXT.match(lit.value):
                raise RequestBadRequest(f"Invalid object identifier '{lit.value}'.")
            return lit.value.lower()
        if isinstance(lit.value, str):
            return lit.value.casefold()
        return lit.value

    # -- comparisons
    def compare(self, n: Compare) -> Predicate:
        prop, read = self.prop(n.left)
        in_element = n.left.variable
        expected = self.check_type(prop, n.right, n.op, in_element)
        name = prop.name
        if n.op in ("gt", "lt"):
            raise self.ent.unsupported(name)
        if expected is None:
            if n.op not in ("eq", "ne") or in_element:
                raise self.ent.unsupported(name)
            self.need("property", name, self.level(prop, "null"))
            if n.op == "ne":
                self.need("operator", "ne", A)
                return lambda obj: not _is_null(read(obj))
            return lambda obj: _is_null(read(obj))
        if n.op in ("eq", "ne"):
            self.need("property", name, self.level(prop, "eq"))
            if n.op == "ne":
                if in_element:
                    raise self.ent.unsupported(name)
                self.need("operator", "ne", A)
                return lambda obj: _norm(read(obj)) != expected
            return lambda obj: _norm(read(obj)) == expected
        self.need("property", name, self.level(prop, n.op))
        if n.op == "ge":
            return lambda obj: (v := _norm(read(obj))) is not None and v >= expected
        return lambda obj: (v := _norm(read(obj))) is not None and v <= expected

    def in_list(self, n: InList) -> Predicate:
        prop, read = self.prop(n.left)
        self.need("property", prop.name, self.level(prop, "eq"))
        values = set()
        for lit in n.values:
            value = self.check_type(prop, lit, "eq", n.left.variable)
            if value is None:
                raise self.ent.unsupported(prop.name)
            values.add(value)
        frozen = frozenset(values)
        return lambda obj: _norm(read(obj)) in frozen

    def call(self, n: Call) -> Predicate:
        op = _FUNCTIONS.get(n.name)
        if op is None:
            if n.name in _REFUSED_FUNCTIONS:
                first = next((a for a in n.args if isinstance(a, Ref)), None)
                if first is not None and not first.variable and self.ent.resolve(first.name):
                    raise self.ent.unsupported(self.ent.resolve(first.name))
                raise UnsupportedQuery(f"The function '{n.name}' is not supported in $filter on directory objects.")
            raise BadRequest(f"Invalid filter clause: An unknown function with name '{n.name}' was found.")
        if len(n.args) != 2 or not isinstance(n.args[0], Ref) or not isinstance(n.args[1], Literal):
            raise BadRequest(f"Invalid filter clause: {op}(property, 'value') takes a property and a string literal.")
        prop, read = self.prop(n.args[0])
        lit = n.args[1]
        if prop.type not in ("string", "strings") or lit.kind != "string":
            raise BadRequest(f"Invalid filter clause: No function signature for the function with name '{n.name}' "
                             f"matches the specified arguments ('{prop.edm}', '{_literal_edm(lit)}').")
        if prop.type == "strings" and not n.args[0].variable:
            raise BadRequest(f"Invalid filter clause: '{prop.name}' is a collection; use "
                             f"{prop.name}/any(x:{op}(x,'{lit.value}')).")
        level = self.level(prop, op)
        if op == "endsWith":
            self.need("operator", "endsWith", A)  # Graph names the operator, not the property
        else:
            self.need("property", prop.name, level)
        needle = lit.value.casefold()
        if op == "startsWith":
            return lambda obj: isinstance(v := read(obj), str) and v.casefold().startswith(needle)
        return lambda obj: isinstance(v := read(obj), str) and v.casefold().endswith(needle)

    def lambda_(self, n: Lambda) -> Predicate:
        if self.element is not None:
            raise self.ent.unsupported(self.element.name)
        canonical = self.ent.resolve(n.collection.name)
        if canonical is None:
            raise self.ent.not_found(n.collection.name)
        prop = self.ent.props[canonical]
        if prop.type != "strings":
            raise BadRequest(f"Invalid filter clause: The Any/All query expression can only be applied to a "
                             f"collection, and '{canonical}' is of type '{prop.edm}'.")
        if prop.filter is None:
            raise self.ent.unsupported(canonical)
        if n.quantifier == "all":
            raise self.ent.unsupported(canonical)
        if n.body is None:
            return lambda obj: bool(value_of(obj, canonical))
        self.element, self.variable = prop, n.variable
        try:
            body = self.node(n.body)
        finally:
            self.element, self.variable = None, None
        return lambda obj: any(body(item) for item in (value_of(obj, canonical) or ()))

    def count_of(self, n: CountOf) -> Predicate:
        canonical = self.ent.resolve(n.collection.name)
        if canonical is None:
            raise self.ent.not_found(n.collection.name)
        prop = self.ent.props[canonical]
        if prop.type != "strings" or n.op not in ("eq", "ne") or n.right.kind != "number":
            raise self.ent.unsupported(canonical)
        self.level(prop, "count")
        self.need("operator", "$count", A)
        expected = n.right.value
        if n.op == "eq":
            return lambda obj: len(value_of(obj, canonical) or ()) == expected
        return lambda obj: len(value_of(obj, canonical) or ()) != expected


def _norm(value: Any) -> Any:
    """Case-insensitive strings, UTC datetimes, everything else as is; empty strings are null."""
    if isinstance(value, str):
        return value.casefold() if value else None
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def _is_null(value: Any) -> bool:
    return value is None or value == "" or value == []


def filter_ids(text: str) -> list[str]:
    """The object ids of ``id eq '…' or id eq '…'``: the only ``$filter`` delta queries accept.

    Anything else (other properties, other operators) is Graph's "Unsupported Query.".
    """
    tree = parse_filter(text)
    clauses = tree.operands if isinstance(tree, BoolOp) and tree.op == "or" else (tree,)
    ids: list[str] = []
    for clause in clauses:
        if not (isinstance(clause, Compare) and clause.op == "eq" and clause.left.name.lower() == "id"
                and clause.right.kind in ("string", "guid")):
            raise UnsupportedQuery("Unsupported Query.")
        value = str(clause.right.value)
        if not _GUID_TEXT.match(value):
            raise RequestBadRequest(f"Invalid object identifier '{value}'.")
        if value.lower() not in ids:
            ids.append(value.lower())
    return ids


# =====================================================================  $search
_SEARCH_CLAUSE = re.compile(r'"((?:[^"\\]|\\.)*)"')
_WORD = re.compile(r"[^\W\d_]+|\d+|[^\w\s]|_", re.UNICODE)
_CASE_SPLIT = re.compile(r"(?<=[a-z])(?=[A-Z])")


def search_tokens(text: str, joined: bool = True) -> list[str]:
    """Graph's tokenization for ``$search``: spaces, lower-to-upper case changes, digits and symbols split words.

    ``HelloWorld`` -> hello, world; ``hello123world`` -> hello, 123, world;
    ``hello.world`` -> hello, ., world. Words split only by case, digits or
    symbols are also kept joined (helloworld) on the value side (``joined``), so
    that searching for the whole word finds them, as Graph documents for
    ``hello-world``; a search text is split only (``OneVideo`` looks for one and video).
    """
    tokens: list[str] = []
    for chunk in text.split():
        words: list[str] = []
        for piece in _WORD.findall(chunk):
            words.extend(_CASE_SPLIT.split(piece))
        tokens.extend(w.casefold() for w in words)
        alnum = [w for w in words if w.isalnum()]
        if joined and len(alnum) > 1:
            tokens.append("".join(alnum).casefold())
    return tokens


def _compile_search(raw: str, ent: Entity) -> Predicate:
    """``"displayName:Pr" OR "mail:x"``: quoted clauses joined by upper-case AND/OR, with parentheses."""
    text = raw.strip()
    pos = 0
    parts: list[Any] = []  # clauses (predicates) and the words AND / OR / ( / )
    while pos < len(text):
        ch = text[pos]
        if ch.isspace():
            pos += 1
        elif ch == '"':
            match = _SEARCH_CLAUSE.match(text, pos)
            if match is None:
                raise BadRequest(f"Syntax error: the search clause starting at position {pos} in '{raw}' is not "
                                 "closed by a double quote.")
            parts.append(_search_clause(re.sub(r"\\(.)", r"\1", match.group(1)), ent, raw))
            pos = match.end()
        elif ch in "()":
            parts.append(ch)
            pos += 1
        elif text.startswith("AND", pos) or text.startswith("OR", pos):
            word = "AND" if text.startswith("AND", pos) else "OR"
            parts.append(word)
            pos += len(word)
        else:
            raise BadRequest(f"Syntax error: character '{ch}' is not valid at position {pos} in '{raw}'. "
                             "$search clauses must be enclosed in double quotes, e.g. \"displayName:Pr\".")
    if not parts:
        raise BadRequest("Syntax error: $search needs at least one clause, e.g. \"displayName:Pr\".")
    try:
        return _SearchParser(parts, raw).parse()
    except RecursionError:
        raise BadRequest("Syntax error: the $search expression is nested too deeply.") from None


def _search_clause(clause: str, ent: Entity, raw: str) -> Predicate:
    name, colon, value = clause.partition(":")
    if not colon:
        raise UnsupportedQuery(f"The search clause \"{clause}\" names no property; use \"property:text\", "
                               "e.g. \"displayName:Pr\".")
    canonical = ent.resolve(name.strip())
    if canonical is None:
        raise ent.not_found(name.strip())
    prop = ent.props[canonical]
    if prop.type not in ("string", "strings") or prop.filter is None:
        raise ent.unsupported(canonical)
    if prop.tokenized:
        wanted = search_tokens(value, joined=False)

        def tokenized(obj: object) -> bool:
            have = search_tokens(value_of(obj, canonical) or "")
            return all(any(t.startswith(w) for t in have) for w in wanted)

        return tokenized
    prefix = value.strip().casefold()
    if prop.type == "strings":
        return lambda obj: any(isinstance(v, str) and v.casefold().startswith(prefix)
                               for v in (value_of(obj, canonical) or ()))
    return lambda obj: isinstance(v := value_of(obj, canonical), str) and v.casefold().startswith(prefix)


class _SearchParser:
    def __init__(self, parts: list[Any], raw: str):
        self.parts, self.raw, self.i = parts, raw, 0

    def peek(self) -> Any:
        return self.parts[self.i] if self.i < len(self.parts) else None

    def fail(self) -> None:
        raise BadRequest(f"Syntax error in $search '{self.raw}': expected \"property:text\" clauses joined by AND or OR.")

    def parse(self) -> Predicate:
        node = self.parse_or()
        if self.peek() is not None:
            self.fail()
        return node

    def parse_or(self) -> Predicate:
        items = [self.parse_and()]
        while self.peek() == "OR":
            self.i += 1
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else (lambda obj: any(p(obj) for p in items))

    def parse_and(self) -> Predicate:
        items = [self.parse_atom()]
        while self.peek() == "AND":
            self.i += 1
            items.append(self.parse_atom())
        return items[0] if len(items) == 1 else (lambda obj: all(p(obj) for p in items))

    def parse_atom(self) -> Predicate:
        part = self.peek()
        if part == "(":
            self.i += 1
            node = self.parse_or()
            if self.peek() != ")":
                self.fail()
            self.i += 1
            return node
        if callable(part):
            self.i += 1
            return part
        self.fail()
        raise AssertionError("unreachable")
