"""Attribute and object mappings: what each source object becomes in the target, attribute by attribute.

An attribute mapping is Entra's row in "Attribute Mappings": a target SCIM path,
a mapping type (Direct from a source attribute, Constant, Expression, or None:
only a default), a default value used only when an object is created and the
value is null, "apply this mapping" always or only during object creation, and
a matching precedence (0: not a matching attribute). An object mapping holds a
type's rows, its scoping filters, whether it is enabled and its target object
actions (Add, Update, Delete).

``ObjectMapping.target_values(source, creating=...)`` computes one object's
target values as ``{target path: value}``. Values are text, lists, or a
``SourceReference`` for reference attributes (manager, members), which the cycle
engine resolves to target ids once the referenced objects exist. Null results are
left out, as Entra never provisions nulls; ``TargetValues.skipped`` says why each
missing path is missing, and ``TargetValues.redacted`` which values logs must hide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .attributes import GROUP, USER, SourceObject, find_attribute, suggest
from .expressions import Environment, Evaluation, Expression, ExpressionSyntaxError, NoValue
from .expressions.values import NULL, to_output
from .scoping import ScopingFilters

ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ACTIONS = ("Add", "Update", "Delete")
APPLY_ALWAYS, APPLY_ON_CREATE = "always", "onCreate"

#: Why a mapped target path has no value in ``TargetValues``.
SKIP_NULL, SKIP_IGNORED, SKIP_SWITCH_NULLED, SKIP_CREATE_ONLY, SKIP_NONE_MAPPING = (
    "null", "ignored", "switchNulled", "createOnly", "noneMapping")


class MappingError(ValueError):
    """A mapping Entra would refuse to save.

    ``path`` locates the offending key inside the object mapping's configuration
    (for example ``("attributes", 3, "expression")``); ``column`` is the column in
    an expression when the error is in one.
    """

    def __init__(self, message: str, path: tuple = (), column: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.column = column


class MappingErrors(ValueError):
    """Every problem of one object mapping, so that a job file's errors are reported all at once."""

    def __init__(self, errors: list[MappingError]):
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


# ------------------------------------------------------------------ target paths

_NAME = r"[A-Za-z$][A-Za-z0-9_$-]*"
_PATH = re.compile(rf"(?P<attr>{_NAME})(?:\[(?P<filter>[^\]]*)\])?(?:\.(?P<sub>{_NAME}))?")
_FILTER = re.compile(rf'\s*(?P<attr>{_NAME})\s+eq\s+"(?P<value>(?:[^"\\]|\\.)*)"\s*', re.IGNORECASE)


@dataclass(frozen=True)
class TargetPath:
    """A target attribute as Entra names it: ``userName``, ``name.givenName``, ``emails[type eq "work"].value``,
    ``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager``."""

    text: str
    attribute: str
    urn: str | None = None
    filter_attribute: str | None = None
    filter_value: str | None = None
    sub_attribute: str | None = None

    @classmethod
    def parse(cls, text: Any) -> "TargetPath":
        """Parse a target path; raise ``ValueError`` saying what is wrong and at which column."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("a target attribute path such as userName or name.givenName is required")
        if text != text.strip():
            raise ValueError(f"target path '{text}' has leading or trailing spaces")
        urn = None
        rest, offset = text, 0
        if text.lower().startswith("urn:"):
            urn, sep, rest = text.rpartition(":")
            offset = len(urn) + 1
            # "...:enterprise:2.0:User" is the schema itself: what follows a version is the resource name
            if not rest or urn.count(":") < 2 or re.fullmatch(r"\d+(\.\d+)*", urn.rpartition(":")[2]):
                raise ValueError(f"'{text}' names a schema, not an attribute: add ':attribute' (e.g. {ENTERPRISE_USER}:department)")
        match = _PATH.match(rest)
        if match is None or match.end() != len(rest):
            column = offset + (match.end() if match else 0) + 1
            raise ValueError(f"'{text}' is not a target attribute path: unexpected text at column {column} "
                             "(expected attr, attr.sub, attr[type eq \"work\"].sub or urn:...:attr)")
        filter_attribute = filter_value = None
        if match.group("filter") is not None:
            inner = _FILTER.fullmatch(match.group("filter"))
            if inner is None:
                column = offset + match.start("filter") + 1
                raise ValueError(f"'{text}': the value filter at column {column} must be of the form "
                                 "[attribute eq \"value\"]")
            filter_attribute = inner.group("attr")
            filter_value = re.sub(r"\\(.)", r"\1", inner.group("value"))
        return cls(text, match.group("attr"), urn, filter_attribute, filter_value, match.group("sub"))

    @property
    def is_extension(self) -> bool:
        return self.urn is not None

    def __str__(self) -> str:
        return self.text


# ------------------------------------------------------------------ values


@dataclass(frozen=True)
class SourceReference:
    """A reference attribute's value: source object ids the engine maps to target ids (manager, members)."""

    object_ids: tuple[str, ...]
    multi_valued: bool = False


class TargetValues(dict):
    """``{target path: value}`` for one object, plus why absent paths are absent and which values are redacted."""

    def __init__(self) -> None:
        super().__init__()
        self.skipped: dict[str, str] = {}
        self.redacted: set[str] = set()

    def log_value(self, path: str) -> Any:
        """The value as a provisioning log may show it (``[Redact]`` for redacted values)."""
        return "[Redact]" if path in self.redacted else self.get(path)


# ------------------------------------------------------------------ attribute mappings


@dataclass(frozen=True)
class AttributeMapping:
    """One row of Entra's attribute mappings."""

    target: TargetPath
    kind: str  # "Direct", "Constant", "Expression" or "None"
    source: str | None = None
    expression: Expression | None = None
    constant: str | None = None
    default: str | None = None
    apply: str = APPLY_ALWAYS
    matching_priority: int = 0
    reference: bool = False
    multi_valued: bool = False
    #: how a Direct mapping reads its source attribute (resolved once, when the mapping is built)
    reader: Callable[[SourceObject], Any] | None = field(default=None, compare=False, repr=False)

    @property
    def is_matching(self) -> bool:
        return self.matching_priority > 0

    @property
    def source_attributes(self) -> frozenset[str]:
        """Source attributes this mapping reads (what a source must fetch)."""
        if self.kind == "Direct":
            return frozenset({self.source})
        if self.kind == "Expression":
            return self.expression.attributes
        return frozenset()

    def evaluate(self, source: SourceObject, env: Environment | None = None, *, creating: bool = False,
                 changed: frozenset[str] | None = None) -> Evaluation:
        """This mapping's value for ``source`` (a ``NoValue`` when nothing flows); defaults apply only when ``creating``.

        May raise ``ExpressionEvaluationError``: the cycle engine logs it as the object's failure.
        """
        kind = self.kind
        if kind == "Direct":
            raw = self.reader(source) if self.reader is not None else source.get(self.source)
            if self.reference:
                ids = tuple(raw) if isinstance(raw, (list, tuple)) else ((raw,) if raw else ())
                result = Evaluation(SourceReference(ids, self.multi_valued) if ids else NULL)
            else:
                result = Evaluation(to_output(raw))
        elif kind == "Expression":
            result = self.expression.evaluate(source.get, env, changed)
        elif kind == "Constant":
            result = Evaluation(self.constant)
        else:
            result = Evaluation(NULL)
        if creating and self.default is not None and result.value is NULL:
            return Evaluation(self.default, result.redacted)
        return result

    def describe_source(self) -> str:
        """The mapping's source as the portal shows it: ``mail``, ``"constant"`` or the expression."""
        if self.kind == "Direct":
            return self.source
        if self.kind == "Expression":
            return self.expression.text
        if self.kind == "Constant":
            return f'"{self.constant}"'
        return "(none)"


def build_attribute_mapping(object_type: str, entry: dict) -> AttributeMapping:
    """An ``AttributeMapping`` from a job file entry; ``MappingError`` paths are relative to the entry."""
    try:
        target = TargetPath.parse(entry.get("target"))
    except ValueError as exc:
        raise MappingError(str(exc), ("target",)) from None
    given = [key for key in ("source", "expression", "constant") if entry.get(key) is not None]
    if len(given) > 1:
        raise MappingError(f"give one of source, expression or constant, not {' and '.join(given)}", (given[1],))
    default = entry.get("default")
    apply = entry.get("apply", APPLY_ALWAYS)
    priority = entry.get("matchingPriority", 0) or 0
    kind = {"source": "Direct", "expression": "Expression", "constant": "Constant"}[given[0]] if given else "None"
    if kind == "None" and default is None:
        raise MappingError("a mapping needs a source, an expression, a constant or at least a default value", ())
    noun = "user" if object_type == USER else "group"
    mapping_kwargs: dict[str, Any] = {}
    if kind == "Direct":
        name = entry["source"]
        attribute = find_attribute(object_type, name)
        if attribute is None:
            hint = suggest(object_type, name)
            raise MappingError(f"unknown {noun} source attribute '{name}'" + (f" (did you mean '{hint}'?)" if hint else ""),
                               ("source",))
        mapping_kwargs.update(source=name, reference=attribute.reference, multi_valued=attribute.multi_valued,
                              reader=attribute.read)
        if priority and (attribute.reference or attribute.multi_valued):
            raise MappingError(f"'{name}' cannot be a matching attribute: Entra matches on single values only",
                               ("matchingPriority",))
    elif kind == "Expression":
        expression = _parse_expression(object_type, entry["expression"])
        if "SelectUniqueValue" in expression.functions:
            raise MappingError("SelectUniqueValue is supported only for provisioning to Active Directory "
                               "(Workday, SuccessFactors, API-driven), not for SCIM apps", ("expression",))
        mapping_kwargs.update(expression=expression)
    elif kind == "Constant":
        mapping_kwargs.update(constant=str(entry["constant"]))
    if priority and kind in ("Constant", "None"):
        raise MappingError("a matching attribute needs a source attribute or an expression", ("matchingPriority",))
    return AttributeMapping(target=target, kind=kind, default=None if default is None else str(default),
                            apply=apply, matching_priority=priority, **mapping_kwargs)


def _parse_expression(object_type: str, text: str) -> Expression:
    try:
        expression = Expression.parse(text)
    except ExpressionSyntaxError as exc:
        raise MappingError(str(exc), ("expression",), exc.column) from None
    noun = "user" if object_type == USER else "group"
    for name in sorted(expression.attributes):
        attribute = find_attribute(object_type, name)
        position = text.find(f"[{name}]") + 1
        if attribute is None:
            hint = suggest(object_type, name)
            raise MappingError(f"unknown {noun} source attribute [{name}] at column {position}"
                               + (f" (did you mean [{hint}]?)" if hint else ""), ("expression",), position)
        if attribute.reference:
            raise MappingError(f"[{name}] is a reference attribute: map it directly (source: {name}), "
                               "not inside an expression", ("expression",), position)
    return expression


# ------------------------------------------------------------------ object mappings


@dataclass(frozen=True)
class ObjectMapping:
    """A type's mapping: users or groups, enabled or not, target actions, scoping filters and attribute rows."""

    name: str  # "users" or "groups"
    object_type: str  # "User" or "Group": the source and target object type
    enabled: bool = True
    actions: frozenset[str] = frozenset(ACTIONS)
    attributes: tuple[AttributeMapping, ...] = ()
    scoping: ScopingFilters = field(default_factory=ScopingFilters)

    @property
    def matching(self) -> tuple[AttributeMapping, ...]:
        """Matching attributes in precedence order (Entra stops at the first one that finds a match)."""
        return tuple(sorted((m for m in self.attributes if m.is_matching), key=lambda m: m.matching_priority))

    @property
    def source_attributes(self) -> frozenset[str]:
        """Every source attribute the mappings read, computed ones (IsSoftDeleted...) included."""
        names: set[str] = set()
        for mapping in self.attributes:
            names |= mapping.source_attributes
        for scoping_filter in self.scoping.filters:
            names |= {clause.attribute for clause in scoping_filter.clauses}
        return frozenset(names)

    def allows(self, action: str) -> bool:
        return self.enabled and action in self.actions

    def mapping_for(self, target: str) -> AttributeMapping | None:
        for mapping in self.attributes:
            if mapping.target.text == target:
                return mapping
        return None

    def target_values(self, source: SourceObject, env: Environment | None = None, *, creating: bool,
                      changed: frozenset[str] | None = None) -> TargetValues:
        """The target values of one object: ``{target path: value}`` without the ones that do not flow.

        ``creating`` selects create-time behaviour (defaults, "only during object
        creation" rows). Raises ``ExpressionEvaluationError`` when an expression fails.
        """
        values = TargetValues()
        for mapping in self.attributes:
            path = mapping.target.text
            if mapping.apply == APPLY_ON_CREATE and not creating:
                values.skipped[path] = SKIP_CREATE_ONLY
                continue
            if mapping.reader is not None and not mapping.reference:  # Direct: the common case, kept cheap
                raw = mapping.reader(source)
                if type(raw) is str:
                    values[path] = raw
                    continue
                if raw is not None:
                    value = to_output(raw)
                    if value is not NULL:
                        values[path] = value
                        continue
                if creating and mapping.default is not None:
                    values[path] = mapping.default
                else:
                    values.skipped[path] = SKIP_NULL
                continue
            result = mapping.evaluate(source, env, creating=creating, changed=changed)
            value = result.value
            if isinstance(value, NoValue):
                values.skipped[path] = SKIP_NONE_MAPPING if mapping.kind == "None" and value is NULL else value.reason
                continue
            values[path] = value
            if result.redacted:
                values.redacted.add(path)
        return values

    def matching_values(self, source: SourceObject, env: Environment | None = None) -> list[tuple[AttributeMapping, Any]]:
        """``(mapping, value)`` for each matching attribute with a value, in precedence order.

        An empty list means Entra skips the object (``ImportSkipped``: no value to match on).
        """
        found = []
        for mapping in self.matching:
            value = mapping.evaluate(source, env, creating=True).value
            if not isinstance(value, NoValue) and value != "":
                found.append((mapping, value))
        return found


def build_object_mapping(name: str, config: dict, scoping: ScopingFilters | None = None) -> ObjectMapping:
    """An ``ObjectMapping`` from a job file's ``mappings.users`` or ``mappings.groups``, checked as Entra checks it.

    Raises ``MappingErrors`` with every problem found, each located by its path.
    """
    object_type = USER if name == "users" else GROUP
    errors: list[MappingError] = []
    enabled = config.get("enabled", True)
    if name == "users" and not enabled:
        errors.append(MappingError("the users mapping cannot be disabled (Entra allows disabling the groups mapping only)",
                                   ("enabled",)))
    rows: list[AttributeMapping] = []
    targets: dict[str, int] = {}
    priorities: dict[int, int] = {}
    for index, entry in enumerate(config.get("attributes", [])):
        try:
            mapping = build_attribute_mapping(object_type, entry)
        except MappingError as exc:
            errors.append(MappingError(exc.message, ("attributes", index) + exc.path, exc.column))
            continue
        if mapping.target.text in targets:
            errors.append(MappingError(f"target '{mapping.target.text}' is already mapped by attributes[{targets[mapping.target.text]}]",
                                       ("attributes", index, "target")))
        targets.setdefault(mapping.target.text, index)
        if mapping.matching_priority:
            if mapping.matching_priority in priorities:
                errors.append(MappingError(f"matching precedence {mapping.matching_priority} is already used by "
                                           f"attributes[{priorities[mapping.matching_priority]}]",
                                           ("attributes", index, "matchingPriority")))
            priorities.setdefault(mapping.matching_priority, index)
        rows.append(mapping)
    if enabled and not priorities and not errors:
        errors.append(MappingError(f"the {name} mapping needs at least one matching attribute (matchingPriority: 1)",
                                   ("attributes",)))
    if errors:
        raise MappingErrors(errors)
    return ObjectMapping(name=name, object_type=object_type, enabled=enabled,
                         actions=frozenset(config.get("actions", ACTIONS)), attributes=tuple(rows),
                         scoping=scoping or ScopingFilters())
