"""Group members kept as a dict keyed by member id, and a copy-on-write view for atomic PATCHes.

Entra adds and removes group members one PATCH at a time. With members in a
list, each such PATCH costs O(group size) (find duplicates, copy for
atomicity); on a 100,000-member group that is the difference between a server
and a stall. Here a group's ``members`` is an insertion-ordered dict
``{value: element}``: membership tests, adds and removes by id are O(1).

A PATCH is applied to a working copy and committed only if every operation
succeeds. Copying 100,000 members to add one would defeat the dict, so the
working copy holds a ``MemberView``: it reads through to the stored dict and
records additions and removals on the side; ``commit`` replays them onto the
stored dict, O(changes). Operations that need every member (replace them all,
a value filter on ``display``) iterate the view, as they must.
"""

from __future__ import annotations

from typing import Any, Iterator, MutableMapping

Element = dict[str, Any]


class MemberView(MutableMapping[str, Element]):
    """A mutable overlay over a stored members dict; the base is never touched until ``commit``."""

    __slots__ = ("_base", "_added", "_removed", "_cleared")

    def __init__(self, base: dict[str, Element]):
        self._base = base
        self._added: dict[str, Element] = {}
        self._removed: set[str] = set()
        self._cleared = False

    def _in_base(self, key: str) -> bool:
        return not self._cleared and key not in self._removed and key in self._base

    def __getitem__(self, key: str) -> Element:
        if key in self._added:
            return self._added[key]
        if self._in_base(key):
            return self._base[key]
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (key in self._added or self._in_base(key))

    def __setitem__(self, key: str, element: Element) -> None:
        self._added[key] = element

    def __delitem__(self, key: str) -> None:
        found = False
        if key in self._added:
            del self._added[key]
            found = True
        if self._in_base(key):
            self._removed.add(key)
            found = True
        if not found:
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        if not self._cleared:
            for key in self._base:
                if key not in self._removed and key not in self._added:
                    yield key
        yield from self._added

    def __len__(self) -> int:
        base = 0 if self._cleared else len(self._base) - sum(1 for k in self._removed if k in self._base)
        overlap = 0 if self._cleared else sum(1 for k in self._added if k in self._base and k not in self._removed)
        return base + len(self._added) - overlap

    def clear(self) -> None:
        self._cleared = True
        self._removed.clear()
        self._added.clear()

    @property
    def changed(self) -> bool:
        return self._cleared or bool(self._added) or bool(self._removed)

    def changes(self) -> tuple[list[str], list[str]]:
        """(ids that became members, ids that stopped being members), for the reverse index."""
        if self._cleared:
            removed = [k for k in self._base if k not in self._added]
            added = [k for k in self._added if k not in self._base]
        else:
            removed = [k for k in self._removed if k in self._base and k not in self._added]
            added = [k for k in self._added if k not in self._base or k in self._removed]
        return added, removed

    def commit(self) -> dict[str, Element]:
        """Apply the recorded changes to the base dict in place and return it."""
        if self._cleared:
            self._base.clear()
        for key in self._removed:
            self._base.pop(key, None)
        self._base.update(self._added)
        return self._base
