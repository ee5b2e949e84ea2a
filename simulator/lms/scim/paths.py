"""PATCH attribute paths (RFC 7644 §3.5.2): ``attrPath / valuePath [subAttr]``, resolved against the schemas.

Examples of what a client may target::

    userName                                   simple attribute
    name.familyName                            sub-attribute of a complex attribute
    emails[type eq "work"].value               sub-attribute of the elements a value filter selects
    members[value eq "2819c223"]               whole elements a value filter selects
    urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager
    urn:ietf:params:scim:schemas:extension:enterprise:2.0:User   the whole extension

Parsing reuses the filter lexer and parser (a value filter is a filter), so both
grammars read attribute names, URNs and strings the same way; errors here are
``invalidPath`` and name the position and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidPath
from .filters import AttrPath, Node, Parser, parse_attr_path
from .schemas import Attribute, ResourceType, Schema, SchemaRegistry


@dataclass(frozen=True)
class PatchPath:
    """A parsed and resolved PATCH path."""

    text: str
    schema: Schema | None  # the schema holding the attribute; None for common attributes (id, externalId, meta)
    container_urn: str | None  # extension URN whose object holds the attribute; None for core/common
    attr: Attribute | None  # None when the path names a whole extension
    value_filter: Node | None = None
    sub: Attribute | None = None  # sub-attribute (after the attribute, or after the value filter)

    @property
    def whole_extension(self) -> bool:
        return self.attr is None


_MAX_PATHS = 4096


def parse_path(text: str, rtype: ResourceType, registry: SchemaRegistry, search_extensions: bool = False) -> PatchPath:
    """Parse and resolve ``text`` for resources of ``rtype``; raise ``invalidPath`` saying what is wrong.

    ``search_extensions`` lets an unqualified name resolve to an extension attribute ("manager").
    A PATCH names the same few paths again and again ("members", the manager's URN path), so parsed
    paths are remembered per registry (a ``PatchPath`` and its filter are immutable); errors are not.
    """
    cache = registry.patch_paths
    key = (rtype.name, text, search_extensions)
    path = cache.get(key) if isinstance(text, str) else None
    if path is not None and path[0] is rtype:
        return path[1]
    parsed = _parse_path(text, rtype, registry, search_extensions)
    if len(cache) >= _MAX_PATHS:
        cache.clear()
    cache[key] = (rtype, parsed)
    return parsed


def _parse_path(text: str, rtype: ResourceType, registry: SchemaRegistry, search_extensions: bool) -> PatchPath:
    if not isinstance(text, str) or not text.strip():
        raise InvalidPath("the path is empty: expected an attribute path such as \"name.givenName\"")
    text = text.strip()
    for schema, _required in rtype.extensions:
        if text.lower() == schema.id.lower():
            return PatchPath(text, schema, schema.id, None)
    if text.lower() == rtype.schema.id.lower():
        raise InvalidPath(f"'{text}' names the core schema; name one of its attributes (e.g. '{text}:userName')"
                          if rtype.name == "User" else f"'{text}' names the core schema; name one of its attributes")

    parser = Parser(text, InvalidPath)
    tok = parser.tok
    if tok.kind != "WORD":
        raise parser.fail("an attribute name")
    parser.advance()
    attr_path = parse_attr_path(tok.text, tok.pos, InvalidPath)
    value_filter = None
    sub_name = attr_path.sub
    if parser.tok.kind == "LBRACKET":
        if attr_path.sub is not None:
            raise InvalidPath(f"'{tok.text}[': a value filter must follow the multi-valued attribute itself "
                              f"(e.g. '{attr_path.attr}[...].{attr_path.sub}')")
        parser.advance()
        if parser.tok.kind == "RBRACKET":
            raise parser.fail("a filter inside '[ ]'")
        value_filter = parser.or_expr()
        parser.expect("RBRACKET", "']' closing the value filter")
        if parser.tok.kind == "SUBATTR":
            sub_name = parser.advance().text
    if parser.tok.kind != "EOF":
        raise parser.fail("the end of the path")
    return resolve_path(text, attr_path, value_filter, sub_name, rtype, registry, search_extensions)


def resolve_path(text: str, attr_path: AttrPath, value_filter: Node | None, sub_name: str | None,
                 rtype: ResourceType, registry: SchemaRegistry, search_extensions: bool = False) -> PatchPath:
    found = registry.lookup(rtype, attr_path.urn, attr_path.attr, search_extensions)
    if found is None:
        if attr_path.urn is not None and registry.schema(attr_path.urn) is None and rtype.extension(attr_path.urn) is None \
                and attr_path.urn.lower() != rtype.schema.id.lower():
            raise InvalidPath(f"'{text}': the schema '{attr_path.urn}' is not one of {rtype.name}'s "
                              f"({', '.join(rtype.schema_ids)})")
        where = f"schema {attr_path.urn}" if attr_path.urn else rtype.name
        hint = ""
        if attr_path.urn is None:
            for schema, _required in rtype.extensions:
                if schema.attribute(attr_path.attr) is not None:
                    hint = (f"; it is an attribute of the extension, so write '{schema.id}:{attr_path.attr}' "
                            "(RFC 7644 §3.10). The entra-tolerant profile resolves it without the URN")
                    break
        raise InvalidPath(f"'{text}': '{attr_path.attr}' is not an attribute of {where}{hint}")
    schema, attr = found
    container = schema.id if schema is not None and schema.id != rtype.schema.id else None
    sub = None
    if sub_name is not None:
        if not attr.is_complex:
            raise InvalidPath(f"'{text}': '{attr.name}' is a {attr.type}, it has no sub-attribute '{sub_name}'")
        sub = attr.sub(sub_name)
        if sub is None:
            raise InvalidPath(f"'{text}': '{attr.name}' has no sub-attribute '{sub_name}' "
                              f"(it has {', '.join(s.name for s in attr.sub_attributes)})")
    if value_filter is not None and not attr.is_complex:
        raise InvalidPath(f"'{text}': a value filter needs a multi-valued complex attribute, and "
                          f"'{attr.name}' is a {'multi-valued ' if attr.multi_valued else ''}{attr.type}")
    return PatchPath(text, schema, container, attr, value_filter, sub)
