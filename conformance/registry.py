"""Check metadata and the registry that collects checks as their modules are imported.

A check is a plain function taking a ``CheckContext``; the ``@check`` decorator
records what a report needs to explain it: a stable id, a title, the RFC
section, the requirement level, the profiles it belongs to, whether it writes
to the server, and which advertised feature it needs. New client profiles are
new ``profiles=`` values on new checks: nothing else in the suite changes.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .context import CheckContext


class Level(str, Enum):
    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


#: Profiles the suite knows. ``rfc`` is the core; the others are clients' expectations.
PROFILES = {
    "rfc": "RFC 7643 / RFC 7644 core requirements",
    "entra": "What Microsoft Entra's provisioning service sends (both PATCH dialects) and needs back",
}

#: Features a check can need; the key is the ServiceProviderConfig member (or a resource type name).
FEATURES = ("patch", "bulk", "filter", "sort", "etag", "changePassword", "Group", "enterprise")


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    section: str
    level: Level
    area: str
    func: Callable[[CheckContext], None] = field(compare=False, repr=False)
    profiles: tuple[str, ...] = ("rfc",)
    writes: bool = False
    requires: tuple[str, ...] = ()
    requirement: str = ""

    def matches(self, pattern: str) -> bool:
        """``-k``: terms joined by ``or`` / ``and``, each optionally prefixed by ``not``; a term is a glob or a
        case-insensitive substring of the id or title (like pytest's -k, without parentheses)."""
        return any(all(self._term(t) for t in alt.split(" and ")) for alt in pattern.lower().split(" or "))

    def _term(self, term: str) -> bool:
        term = term.strip()
        if term.startswith("not "):
            return not self._term(term[4:])
        hay = (self.id.lower(), self.title.lower())
        if any(c in term for c in "*?["):
            return any(fnmatch.fnmatch(h, term) for h in hay)
        return any(term in h for h in hay)


_REGISTRY: dict[str, Check] = {}


def check(id: str, title: str, section: str, level: Level | str, *, profiles: Iterable[str] = ("rfc",),
          writes: bool = False, requires: Iterable[str] = ()) -> Callable:
    """Register the decorated function as a check; its docstring is the requirement it tests."""
    level = Level(level)
    profiles = tuple(profiles)
    requires = tuple(requires)
    unknown = [p for p in profiles if p not in PROFILES] + [r for r in requires if r not in FEATURES]
    if unknown:
        raise ValueError(f"check {id}: unknown profile or feature {unknown}")

    def register(func: Callable[[CheckContext], None]) -> Callable[[CheckContext], None]:
        if id in _REGISTRY:
            raise ValueError(f"duplicate check id {id}")
        area = func.__module__.rsplit(".", 1)[-1]
        doc = " ".join((func.__doc__ or "").split())
        _REGISTRY[id] = Check(id=id, title=title, section=section, level=level, area=area, func=func,
                              profiles=profiles, writes=writes, requires=requires, requirement=doc)
        return func

    return register


def all_checks() -> list[Check]:
    """Every registered check, in module then definition order."""
    from . import checks  # noqa: F401 - importing registers the checks

    return list(_REGISTRY.values())


def select(profiles: Iterable[str], patterns: Iterable[str] = ()) -> list[Check]:
    """The checks of any of ``profiles`` that match every ``-k`` pattern."""
    wanted = set(profiles)
    unknown = wanted - set(PROFILES)
    if unknown:
        raise ValueError(f"unknown profile(s): {', '.join(sorted(unknown))}; known: {', '.join(PROFILES)}")
    patterns = [p for p in patterns if p and p.strip()]
    return [c for c in all_checks() if wanted & set(c.profiles) and all(c.matches(p) for p in patterns)]
