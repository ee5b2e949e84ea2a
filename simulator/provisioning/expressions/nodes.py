"""The syntax tree of an expression: plain data, evaluated by ``evaluator``.

Every node keeps the 0-based ``position`` of its first character, so that checks
made after parsing (a bad regular expression in a ``Replace``, a nested
``SelectUniqueValue``) can point at the argument at fault.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Node:
    position: int

    def attributes(self) -> set[str]:
        """Names of the attributes this node reads, itself and below."""
        return set()

    def calls(self) -> list["Call"]:
        """Every function call in this node, itself and below, outermost first."""
        return []


@dataclass(frozen=True, slots=True)
class Attribute(Node):
    """``[name]``: a source attribute of the object being provisioned."""

    name: str

    def attributes(self) -> set[str]:
        return {self.name}


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """A string constant or a number."""

    value: Any


@dataclass(frozen=True, slots=True)
class Constant(Node):
    """A named VBA constant (``vbTextCompare``, ``vbBinaryCompare``)."""

    name: str


@dataclass(frozen=True, slots=True)
class Omitted(Node):
    """An argument left empty, as in ``Switch([IsSoftDeleted], , "False", ...)``: null."""


@dataclass(frozen=True, slots=True)
class Comparison(Node):
    """``left op right`` with ``op`` one of ``= <> > >= < <=``: True or False."""

    op: str
    left: Node
    right: Node

    def attributes(self) -> set[str]:
        return self.left.attributes() | self.right.attributes()

    def calls(self) -> list["Call"]:
        return self.left.calls() + self.right.calls()


@dataclass(frozen=True, slots=True)
class Call(Node):
    """``Name(arg, ...)``; ``spec`` is the function's entry in ``functions.FUNCTIONS``."""

    name: str
    args: tuple[Node, ...]
    spec: Any = field(compare=False, repr=False)

    def attributes(self) -> set[str]:
        names: set[str] = set()
        for arg in self.args:
            names |= arg.attributes()
        return names

    def calls(self) -> list["Call"]:
        found: list[Call] = [self]
        for arg in self.args:
            found.extend(arg.calls())
        return found
