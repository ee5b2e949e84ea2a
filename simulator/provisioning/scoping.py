"""Who is in scope: assignment scope, scoping filters, and the ``IsSoftDeleted`` they decide.

Scoping filters, as Entra documents them: a filter is a list of clauses that
must all hold (AND); an object is in scope when any filter holds (OR); no filter
at all means everyone. A clause reads one single-valued source attribute and
returns false when its value is null or empty, except ``IS NULL`` (true then) and
``IS NOT NULL``. Operators, by their Entra names:

``EQUALS`` / ``NOT EQUALS`` (exact, case-sensitive), ``Includes`` (the value
contains the clause's text, case-sensitive), ``&`` / ``!&`` (the value occurs /
does not occur in the clause's text), ``ENDS_WITH``, ``Greater_Than`` /
``Greater_Than_OR_EQUALS`` (whole numbers only), ``IS TRUE`` / ``IS FALSE``,
``IS NULL`` / ``IS NOT NULL``, ``REGEX MATCH`` / ``NOT REGEX MATCH`` (.NET
``IsMatch``: the pattern may match anywhere).

Entra refuses filters on multi-valued attributes, group ``members``,
``appRoleAssignments``, ``userType``, ``manager`` and dates; so does entrasim.

``IsSoftDeleted`` is true in exactly four cases: the user is unassigned (with
"sync only assigned"), fails the scoping filters, is soft-deleted, or has
``accountEnabled`` false.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from .attributes import SourceObject, app_role_assignments, find_attribute, suggest
from .expressions.functions import compile_net_regex
from .expressions.values import to_text

OPERATORS = ("EQUALS", "NOT EQUALS", "Includes", "&", "!&", "ENDS_WITH", "Greater_Than", "Greater_Than_OR_EQUALS",
             "IS TRUE", "IS FALSE", "IS NULL", "IS NOT NULL", "REGEX MATCH", "NOT REGEX MATCH")
UNARY_OPERATORS = frozenset({"IS TRUE", "IS FALSE", "IS NULL", "IS NOT NULL"})
_BY_KEY = {op.upper().replace("_", " "): op for op in OPERATORS}

#: Attributes Entra does not allow in scoping filters, beyond multi-valued ones.
UNSUPPORTED_ATTRIBUTES = frozenset({"userType", "manager", "members", "appRoleAssignments"})

SCOPES = ("assigned", "all")


class ScopingError(ValueError):
    """A clause Entra would not accept; ``field`` names the clause key at fault (attribute, operator or value)."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def canonical_operator(name: str) -> str | None:
    """Entra's spelling of an operator written in any case, with spaces or underscores (``is true`` -> ``IS TRUE``)."""
    return _BY_KEY.get(" ".join(name.upper().replace("_", " ").split()))


def _integer(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    return int(text) if re.fullmatch(r"[+-]?\d+", text) else None


@dataclass(frozen=True)
class ScopingClause:
    """One condition on one attribute."""

    attribute: str
    operator: str
    value: str | None = None
    _pattern: re.Pattern | None = field(default=None, compare=False, repr=False)

    @classmethod
    def build(cls, object_type: str, attribute: Any, operator: Any, value: Any = None) -> "ScopingClause":
        """Check a clause as Entra would when it is saved; raise ``ScopingError`` naming the key at fault."""
        if not isinstance(attribute, str) or not attribute:
            raise ScopingError("the attribute must be a source attribute name", "attribute")
        known = find_attribute(object_type, attribute)
        if known is None:
            hint = suggest(object_type, attribute)
            raise ScopingError(f"unknown {object_type.lower()} attribute '{attribute}'" + (f" (did you mean '{hint}'?)" if hint else ""),
                               "attribute")
        if attribute in UNSUPPORTED_ATTRIBUTES or known.multi_valued:
            raise ScopingError(f"Entra does not support scoping filters on '{attribute}'", "attribute")
        op = canonical_operator(operator) if isinstance(operator, str) else None
        if op is None:
            raise ScopingError(f"unknown operator {operator!r}; Entra's operators are: {', '.join(OPERATORS)}", "operator")
        if op in UNARY_OPERATORS:
            if value is not None:
                raise ScopingError(f"'{op}' takes no value", "value")
            return cls(attribute, op)
        if value is None:
            raise ScopingError(f"'{op}' needs a value", "value")
        text = to_text(value) if isinstance(value, (bool, int, float)) else value
        if not isinstance(text, str):
            raise ScopingError(f"the value of '{op}' must be text, got {type(value).__name__}", "value")
        pattern = None
        if op in ("Greater_Than", "Greater_Than_OR_EQUALS") and _integer(text) is None:
            raise ScopingError(f"'{op}' compares whole numbers; '{text}' is not one", "value")
        if op in ("REGEX MATCH", "NOT REGEX MATCH"):
            try:
                pattern = compile_net_regex(text)
            except re.error as exc:
                raise ScopingError(f"invalid regular expression {text!r}: {exc}", "value") from None
        return cls(attribute, op, text, pattern)

    def matches(self, source: SourceObject) -> bool:
        raw = source.get(self.attribute)
        text = to_text(raw) if not isinstance(raw, list) else None
        op = self.operator
        empty = text is None or text == ""
        if op == "IS NULL":
            return empty
        if op == "IS NOT NULL":
            return not empty
        if empty:
            return False
        if op == "IS TRUE":
            return raw is True or text.lower() == "true"
        if op == "IS FALSE":
            return raw is False or text.lower() == "false"
        value = self.value or ""
        if op == "EQUALS":
            return text == value
        if op == "NOT EQUALS":
            return text != value
        if op == "Includes":
            return value in text
        if op == "&":
            return text in value
        if op == "!&":
            return text not in value
        if op == "ENDS_WITH":
            return text.endswith(value)
        if op in ("Greater_Than", "Greater_Than_OR_EQUALS"):
            number, limit = _integer(text), _integer(value)
            if number is None or limit is None:
                return False
            return number > limit if op == "Greater_Than" else number >= limit
        found = self._pattern.search(text) is not None
        return found if op == "REGEX MATCH" else not found


@dataclass(frozen=True)
class ScopingFilter:
    """Clauses that must all hold."""

    title: str
    clauses: tuple[ScopingClause, ...]

    def matches(self, source: SourceObject) -> bool:
        return all(clause.matches(source) for clause in self.clauses)


@dataclass(frozen=True)
class ScopingFilters:
    """Filters of which one must hold; none at all lets everything through."""

    filters: tuple[ScopingFilter, ...] = ()

    def matches(self, source: SourceObject) -> bool:
        return not self.filters or any(f.matches(source) for f in self.filters)

    def __bool__(self) -> bool:
        return bool(self.filters)


@dataclass(frozen=True)
class ScopePolicy:
    """Assignment scope plus each object type's scoping filters: who gets provisioned, and who is soft-deleted."""

    scope: str = "assigned"  # "assigned": only assigned users and groups; "all": every user and group
    user_filters: ScopingFilters = ScopingFilters()
    group_filters: ScopingFilters = ScopingFilters()

    def user_in_scope(self, source: SourceObject, *, assigned: bool) -> bool:
        """Assigned (or sync-all) and passing the user scoping filters."""
        return (self.scope == "all" or assigned) and self.user_filters.matches(source)

    def user_soft_deleted(self, source: SourceObject, *, assigned: bool, deleted: bool) -> bool:
        """Entra's IsSoftDeleted: unassigned, out of scope by filter, soft-deleted, or accountEnabled false."""
        return deleted or source.get("accountEnabled") is False or not self.user_in_scope(source, assigned=assigned)

    def group_in_scope(self, source: SourceObject, *, assigned: bool) -> bool:
        """Assigned (or sync-all) and passing the group scoping filters."""
        return (self.scope == "all" or assigned) and self.group_filters.matches(source)

    def user_source(self, user: Any, *, assigned: bool, deleted: bool = False,
                    roles: Iterable[dict] = ()) -> SourceObject:
        """The user as mappings see it, with ``IsSoftDeleted`` decided by this policy."""
        source = SourceObject.for_user(user, app_role_assignments=roles)
        source.soft_deleted = self.user_soft_deleted(source, assigned=assigned, deleted=deleted)
        return source

    def tenant_user_source(self, tenant: Any, user: Any) -> SourceObject:
        """``user_source`` for a user of the in-process tenant model (assignment, deletion and roles read from it)."""
        deleted = user.id in tenant.deleted_users
        return self.user_source(user, assigned=tenant.is_assigned(user.id), deleted=deleted,
                                roles=app_role_assignments(tenant, user.id))

    def tenant_group_in_scope(self, tenant: Any, group: Any) -> bool:
        """Whether a group of the tenant model is provisioned: assigned (and security-enabled, as Entra requires) or sync-all."""
        assigned = group.id in tenant.assignments and bool(getattr(group, "securityEnabled", True))
        return self.group_in_scope(SourceObject.for_group(group), assigned=assigned)
