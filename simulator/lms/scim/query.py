"""Query parameters of a list or search (RFC 7644 §3.4.2, §3.4.3): filter, sort, paging, projection.

The same ``Query`` comes from a GET's query string or a POST ``/.search``
body, so both behave identically. Paging follows the RFC's forgiving rules
(``startIndex`` below 1 means 1, a negative ``count`` means 0) and caps the
page at ``filter.maxResults``; sorting follows §3.4.2.3 (primary or first
value of a multi-valued attribute, missing values last when ascending and
first when descending, case-folded unless the attribute is caseExact).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .errors import InvalidSyntax, InvalidValue
from .filters import Node, parse_attr_path, parse_datetime, parse_filter
from .schemas import SEARCH_REQUEST_URN, ResourceType, SchemaRegistry


@dataclass
class Query:
    filter_text: str | None = None
    filter: Node | None = None
    sort_by: str | None = None
    descending: bool = False
    start_index: int = 1
    count: int | None = None
    attributes: Any = None
    excluded: Any = None


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidValue(f"'{name}' must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise InvalidValue(f"'{name}' must be an integer, got {value!r}") from None


def build_query(params: dict[str, Any]) -> Query:
    """Read query parameters (names as in RFC 7644; their case is not significant)."""
    lowered = {str(k).lower(): v for k, v in params.items()}
    query = Query()
    text = lowered.get("filter")
    if text is not None:
        if not isinstance(text, str):
            raise InvalidValue("'filter' must be a string")
        query.filter_text = text
        query.filter = parse_filter(text)
    sort_by = lowered.get("sortby")
    if sort_by is not None:
        if not isinstance(sort_by, str) or not sort_by.strip():
            raise InvalidValue("'sortBy' must name an attribute, e.g. sortBy=userName")
        query.sort_by = sort_by.strip()
    order = lowered.get("sortorder")
    if order is not None:
        if not isinstance(order, str) or order.lower() not in ("ascending", "descending"):
            raise InvalidValue(f"'sortOrder' must be \"ascending\" or \"descending\", got {order!r}")
        query.descending = order.lower() == "descending"
    start = _int(lowered.get("startindex"), "startIndex")
    query.start_index = max(1, start) if start is not None else 1
    count = _int(lowered.get("count"), "count")
    query.count = max(0, count) if count is not None else None
    query.attributes = lowered.get("attributes")
    query.excluded = lowered.get("excludedattributes")
    return query


def search_body_query(body: Any) -> Query:
    """A POST /.search body (RFC 7644 §3.4.3)."""
    if not isinstance(body, dict):
        raise InvalidSyntax("a search body must be a JSON object with \"schemas\": [\"" + SEARCH_REQUEST_URN + "\"]")
    schemas = next((v for k, v in body.items() if k.lower() == "schemas"), None)
    if not isinstance(schemas, list) or SEARCH_REQUEST_URN.lower() not in [str(s).lower() for s in schemas]:
        raise InvalidSyntax(f"'schemas' must be [\"{SEARCH_REQUEST_URN}\"] in a search request (RFC 7644 §3.4.3)")
    known = {"schemas", "filter", "sortby", "sortorder", "startindex", "count", "attributes", "excludedattributes"}
    unknown = [k for k in body if k.lower() not in known]
    if unknown:
        raise InvalidSyntax(f"unknown search parameter(s) {', '.join(unknown)}; known: attributes, excludedAttributes, "
                            "filter, sortBy, sortOrder, startIndex, count")
    return build_query(body)


def sort_key(rtype: ResourceType, registry: SchemaRegistry, sort_by: str,
             computed: dict[str, Callable[[dict[str, Any]], Any]] | None = None) -> Callable[[dict[str, Any]], Any] | None:
    """A key function for ``sort_by`` on ``rtype``; None when the type has no such attribute."""
    from .filters import resolve
    urn, rest = registry.split_urn(rtype, sort_by)
    try:
        path = parse_attr_path(rest if urn is None else f"{urn}:{rest}", 0, InvalidValue)
        res = resolve(path, rtype, registry, computed, error=InvalidValue)
    except InvalidValue:
        return None
    leaf = res.leaf
    if leaf.is_complex:
        value_sub = leaf.sub("value")
        if value_sub is None:
            raise InvalidValue(f"sortBy '{sort_by}' is complex: name one of its sub-attributes")
        leaf = value_sub

    def pick(record: dict[str, Any]) -> Any:
        if res.attr.multi_valued:
            elements = res.elements(record)
            primary = [e for e in elements if isinstance(e, dict) and e.get("primary") is True]
            ordered = primary + [e for e in elements if e not in primary]
            for element in ordered:
                value = element.get(res.sub or "value") if isinstance(element, dict) else element
                if value is not None:
                    return value
            return None
        values = res.values(record)
        value = values[0] if values else None
        if isinstance(value, dict):
            value = value.get("value")
        return value

    def key(record: dict[str, Any]) -> Any:
        value = pick(record)
        if value is None:
            return None
        if leaf.type == "dateTime" and isinstance(value, str):
            return parse_datetime(value) or value
        if isinstance(value, str) and not leaf.case_exact:
            return value.casefold()
        return value

    return key


def sort_records(records: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any], descending: bool) -> list[dict[str, Any]]:
    """Stable sort; resources without a value go last when ascending and first when descending."""
    present = [(key(r), i, r) for i, r in enumerate(records)]
    valued = [t for t in present if t[0] is not None]
    missing = [t[2] for t in present if t[0] is None]
    try:
        valued.sort(key=lambda t: (t[0], t[1]), reverse=descending)
    except TypeError:  # mixed types (root search over User and Group): compare as text
        valued.sort(key=lambda t: (str(t[0]), t[1]), reverse=descending)
    ordered = [t[2] for t in valued]
    return missing + ordered if descending else ordered + missing
