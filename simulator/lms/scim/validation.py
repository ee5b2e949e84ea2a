"""Reading client values against the schema: types, canonical names, unknown keys, required attributes.

Every value that enters the store passes through ``coerce``: POST and PUT
bodies, PATCH values, bulk operations. It returns the value as stored
(canonical attribute names, JSON types the schema declares) or raises
``invalidValue`` naming the attribute, what was expected and what came. The
profile's ``ValueOptions`` say which client habits are accepted (Entra's
``"False"`` strings, a bare-string manager, unknown schema URIs...).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from .errors import InvalidSyntax, InvalidValue
from .filters import parse_datetime
from .schemas import Attribute, ResourceType, Schema, SchemaRegistry


@dataclass
class ValueOptions:
    """Client habits a profile accepts when reading values (all off: strict RFC 7643)."""

    #: "True"/"False" (any case) accepted for boolean attributes, as Entra sends active in PATCH.
    string_booleans: bool = False
    #: manager given as a bare id ("manager": "271") or as a one-element list ([{"value": "271"}]).
    manager_as_string: bool = False
    #: unknown URIs in "schemas" (Entra's ADSCIM group URN, the "...2.0User" typo) are dropped, not refused.
    ignore_unknown_schemas: bool = False
    #: a lone object or value where a multi-valued attribute expects a list is read as a one-element list.
    wrap_single_values: bool = False
    #: filters: emails[type eq "work"].value eq "x" (Entra's matching query) read as a value filter.
    subattribute_after_value_filter: bool = False


def _describe(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_error(attr: Attribute, where: str, value: Any, expected: str, hint: str = "") -> InvalidValue:
    return InvalidValue(f"'{where}' must be {expected}, got {_describe(value)}{hint}")


def _as_is(attr: Attribute, value: Any) -> bool:
    """Whether ``coerce_single`` would return ``value`` unchanged, whatever the options: a JSON string for a
    string or reference, a JSON boolean for a boolean. Most values of most bodies are one of these."""
    kind = type(value)
    if kind is str:
        return attr.type == "string" or attr.type == "reference"
    return kind is bool and attr.type == "boolean"


def coerce(attr: Attribute, value: Any, opts: ValueOptions, where: str | None = None) -> Any:
    """Return ``value`` as stored for ``attr`` (None means unassigned), or raise ``invalidValue``."""
    where = where or attr.name
    if value is None:
        return None
    if attr.multi_valued:
        if not isinstance(value, list):
            if opts.wrap_single_values:
                value = [value]
            else:
                raise _type_error(attr, where, value, "a JSON array", " (it is multi-valued)")
        items = [coerce_single(attr, item, opts, f"{where}[{i}]") for i, item in enumerate(value)]
        items = [item for item in items if item is not None]
        if attr.is_complex and attr.sub("primary") is not None:
            primaries = sum(1 for item in items if item.get("primary") is True)
            if primaries > 1:
                raise InvalidValue(f"'{where}' has {primaries} values with primary true; at most one may be "
                                   "primary (RFC 7643 §2.4)")
        return items or None
    if isinstance(value, list) and attr.is_complex and opts.manager_as_string and len(value) == 1:
        value = value[0]
    return coerce_single(attr, value, opts, where)


def coerce_single(attr: Attribute, value: Any, opts: ValueOptions, where: str) -> Any:
    """One value (one element of a multi-valued attribute) of ``attr``."""
    if value is None:
        return None
    kind = attr.type
    if type(value) is str and (kind == "string" or kind == "reference"):
        return value  # most values of most bodies: nothing below could refuse or change them
    if kind == "complex":
        if isinstance(value, str) and opts.manager_as_string and attr.sub("value") is not None and not attr.multi_valued:
            value = {"value": value}
        if not isinstance(value, dict):
            hint = ""
            if isinstance(value, (str, list)) and attr.sub("value") is not None:
                hint = (' (write {"value": "<id>"}. Entra sends the manager as a bare id or a one-element '
                        "list; the entra-tolerant profile accepts both)")
            raise _type_error(attr, where, value, "a JSON object", hint)
        out: dict[str, Any] = {}
        for key, sub_value in value.items():
            sub = attr.sub(key)
            if sub is None:
                raise InvalidValue(f"'{where}' has no sub-attribute '{key}' (known: "
                                   f"{', '.join(s.name for s in attr.sub_attributes)})")
            if _as_is(sub, sub_value):
                out[sub.name] = sub_value  # what coerce_single returns for it, without naming where it is
                continue
            coerced = coerce_single(sub, sub_value, opts, f"{where}.{sub.name}")
            if coerced is not None:
                out[sub.name] = coerced
        return out or None
    if isinstance(value, (list, dict)):
        raise _type_error(attr, where, value, f"a single {kind}")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and opts.string_booleans and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        hint = ""
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            hint = (f" (a string; send {value.strip().lower()} without quotes. Entra sends booleans as strings without "
                    "the aadOptscim062020 flag; the entra-tolerant profile accepts them)")
        raise _type_error(attr, where, value, "a JSON boolean (true or false)", hint)
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _type_error(attr, where, value, "an integer")
    if kind == "decimal":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        raise _type_error(attr, where, value, "a decimal number")
    if not isinstance(value, str):
        raise _type_error(attr, where, value, f"a JSON string ({kind})")
    if kind == "dateTime" and parse_datetime(value) is None:
        raise _type_error(attr, where, value, "an xsd:dateTime such as \"2026-01-15T09:00:00Z\"")
    if kind == "binary":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _type_error(attr, where, value, "base64-encoded binary") from None
    return value


def strip_read_only(attr: Attribute, value: Any) -> Any:
    """Drop readOnly sub-attributes from a coerced value (clients may echo them; RFC 7644 §3.3 ignores them)."""
    if value is None or not attr.is_complex:
        return value
    read_only = attr.read_only_subs
    if not read_only:
        return value
    if attr.multi_valued:
        kept = [{k: v for k, v in item.items() if k not in read_only} for item in value]
        kept = [item for item in kept if item]
        return kept or None
    kept_one = {k: v for k, v in value.items() if k not in read_only}
    return kept_one or None


def read_resource(body: Any, rtype: ResourceType, registry: SchemaRegistry, opts: ValueOptions) -> dict[str, Any]:
    """Read a POST/PUT body into a record (canonical names; readOnly and common server attributes dropped).

    The caller adds id and meta. Group members come back as a list; the model
    keys them by value.
    """
    if not isinstance(body, dict):
        raise InvalidSyntax(f"the body must be a JSON object representing a {rtype.name}, got {type(body).__name__}")
    schemas_value = None
    for key, value in body.items():
        if key.lower() == "schemas":
            schemas_value = value
            break
    if schemas_value is None:
        raise InvalidValue(f"'schemas' is required: expected [\"{rtype.schema.id}\", ...] (RFC 7643 §3)")
    if not isinstance(schemas_value, list) or not all(isinstance(s, str) for s in schemas_value):
        raise InvalidValue("'schemas' must be an array of schema URIs")
    schemas: list[str] = []
    for uri in schemas_value:
        canonical = rtype.schema_id(uri)
        if canonical is None:
            if opts.ignore_unknown_schemas:
                continue
            raise InvalidValue(f"'schemas' lists '{uri}', which is not a schema of {rtype.name} "
                               f"(known: {', '.join(rtype.schema_ids)})")
        if canonical not in schemas:
            schemas.append(canonical)
    if rtype.schema.id not in schemas:
        raise InvalidValue(f"'schemas' must include the core schema '{rtype.schema.id}'")

    record: dict[str, Any] = {}
    body_keys = registry.body_keys(rtype)
    for key, value in body.items():
        low = key.lower()
        if low == "schemas":
            continue
        named = body_keys.get(low)
        if type(named) is Attribute:  # the usual key: a core or common attribute
            if named.mutability == "readOnly":
                continue  # id, meta, groups...: RFC 7644 §3.3 and §3.5.1 ignore them
            if not named.multi_valued and _as_is(named, value):
                record[named.name] = value  # what coerce and strip_read_only would make of it
                continue
            coerced = strip_read_only(named, coerce(named, value, opts))
            if coerced is not None:
                record[named.name] = coerced
            continue
        ext = named if type(named) is Schema else None
        if ext is not None:
            if value is None:
                continue
            if not isinstance(value, dict):
                raise InvalidValue(f"'{key}' must be a JSON object holding the extension's attributes")
            ext_record: dict[str, Any] = {}
            for sub_key, sub_value in value.items():
                if sub_key.lower() == "schemas":
                    continue  # some clients serialise the extension object with its own "schemas"
                attr = ext.attribute(sub_key)
                if attr is None:
                    raise InvalidValue(f"'{sub_key}' is not an attribute of {ext.id} (known: "
                                       f"{', '.join(a.name for a in ext.attributes)})")
                if attr.mutability == "readOnly":
                    continue
                if not attr.multi_valued and _as_is(attr, sub_value):
                    ext_record[attr.name] = sub_value
                    continue
                coerced = strip_read_only(attr, coerce(attr, sub_value, opts, f"{ext.id}:{attr.name}"))
                if coerced is not None:
                    ext_record[attr.name] = coerced
            if ext_record:
                record[ext.id] = ext_record
                if ext.id not in schemas:
                    schemas.append(ext.id)
            continue
        if low == rtype.schema.id.lower():
            raise InvalidValue(f"core attributes go at the top level, not under '{key}'")
        found = registry.lookup(rtype, None, key)
        if found is None:
            raise InvalidValue(f"'{key}' is not an attribute of {rtype.name} (RFC 7643 §4; extension attributes "
                               "go under their schema URN)")
        _schema, attr = found
        if attr.mutability == "readOnly":
            continue  # id, meta, groups...: RFC 7644 §3.3 and §3.5.1 ignore them
        coerced = strip_read_only(attr, coerce(attr, value, opts))
        if coerced is not None:
            record[attr.name] = coerced
    record["schemas"] = [s for s in rtype.schema_ids if s in schemas]
    check_required(record, rtype)
    return record


def check_required(record: dict[str, Any], rtype: ResourceType) -> None:
    """Every required attribute of the core schema and of the extensions in use has a value."""
    for attr in rtype.schema.required_attributes:
        if record.get(attr.name) in (None, "", [], {}):
            raise InvalidValue(f"'{attr.name}' is required for a {rtype.name}")
    for schema, _required in rtype.extensions:
        container = record.get(schema.id)
        if not container:
            continue
        for attr in schema.required_attributes:
            if container.get(attr.name) in (None, "", [], {}):
                raise InvalidValue(f"'{schema.id}:{attr.name}' is required when the extension is present")
