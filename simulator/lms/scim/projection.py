"""Rendering stored records as SCIM JSON, honouring ``returned``, ``attributes`` and ``excludedAttributes``.

RFC 7644 §3.9 and RFC 7643 §2.2: ``returned: always`` attributes (``id``,
``schemas``) always come back; ``never`` ones (``password``) never do;
``request`` ones only when named in ``attributes``; ``default`` ones unless
``attributes`` names others or ``excludedAttributes`` names them.

Rendering is where a group's members dict becomes a list, and where the
computed parts appear: ``meta.location`` (from the base URL the client used)
and a User's ``groups`` (from the store's reverse membership index). An
excluded attribute is never built, so ``excludedAttributes=members`` on a
100,000-member group costs what it costs on an empty one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .errors import InvalidValue
from .filters import parse_attr_path
from .schemas import Attribute, ResourceType, SchemaRegistry


@dataclass(frozen=True)
class Selector:
    """One name from ``attributes``/``excludedAttributes``, resolved: (container URN or None, attribute, sub)."""

    container: str | None
    attr: str | None  # None: the whole extension
    sub: str | None


@dataclass
class Projection:
    attributes: list[Selector] | None = None
    excluded: list[Selector] | None = None

    @property
    def explicit(self) -> bool:
        return bool(self.attributes or self.excluded)


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        items = []
        for v in value:
            if not isinstance(v, str):
                raise InvalidValue("'attributes' and 'excludedAttributes' must be attribute names")
            items.extend(v.split(","))
        return [s.strip() for s in items if s.strip()]
    if not isinstance(value, str):
        raise InvalidValue("'attributes' and 'excludedAttributes' must be comma-separated attribute names")
    return [s.strip() for s in value.split(",") if s.strip()]


def _selector(text: str, rtypes: list[ResourceType], registry: SchemaRegistry) -> Selector | None:
    """Resolve one name against the resource types; None when no type knows it (ignored for the others)."""
    for rtype in rtypes:
        for schema, _required in rtype.extensions:
            if text.lower() == schema.id.lower():
                return Selector(schema.id, None, None)
        urn, rest = registry.split_urn(rtype, text) if text.lower().startswith("urn:") else (None, text)
        path = parse_attr_path(rest if urn is None else f"{urn}:{rest}", 0, InvalidValue)
        found = registry.lookup(rtype, path.urn, path.attr)
        if found is None:
            continue
        schema, attr = found
        container = schema.id if schema is not None and schema.id != rtype.schema.id else None
        sub = None
        if path.sub is not None:
            sub_attr = attr.sub(path.sub) if attr.is_complex else None
            if sub_attr is None:
                continue
            sub = sub_attr.name
        return Selector(container, attr.name, sub)
    return None


def parse_projection(attributes: Any, excluded: Any, rtypes: list[ResourceType],
                     registry: SchemaRegistry) -> Projection:
    """Read the two parameters; naming an attribute no served type has is ``invalidValue``."""
    names, exclude_names = _split(attributes), _split(excluded)
    if names and exclude_names:
        raise InvalidValue("'attributes' and 'excludedAttributes' are mutually exclusive (RFC 7644 §3.9)")

    def resolve(items: list[str], param: str) -> list[Selector] | None:
        if not items:
            return None
        out = []
        for text in items:
            selector = _selector(text, rtypes, registry)
            if selector is None:
                raise InvalidValue(f"{param}: '{text}' is not an attribute of "
                                   f"{' or '.join(rt.name for rt in rtypes)}")
            out.append(selector)
        return out

    return Projection(resolve(names, "attributes"), resolve(exclude_names, "excludedAttributes"))


@dataclass(frozen=True)
class _Field:
    """One attribute to render: which sub-attributes to keep (None: all) and which to drop."""

    attr: Attribute
    subs: frozenset[str] | None
    drop: frozenset[str]

    @property
    def trims(self) -> bool:
        """Whether ``trim`` can change a value (when not, rendering copies the stored value as it is)."""
        return self.attr.is_complex and (self.subs is not None or bool(self.drop))

    def trim(self, value: Any) -> Any:
        if not self.attr.is_complex or (self.subs is None and not self.drop):
            return value
        subs, drop = self.subs, self.drop

        def one(element: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in element.items() if k not in drop and (subs is None or k in subs)}

        if self.attr.multi_valued:
            return [one(e) for e in value]
        return one(value)


#: How ``render`` produces a core attribute: copied from the record, a User's computed ``groups``,
#: or a Group's ``members`` (a dict in the store, a list on the wire).
_STORED, _GROUPS, _MEMBERS = 0, 1, 2


@dataclass
class _Plan:
    """What to render for one resource type and one projection, worked out once and reused.

    ``steps`` and ``extension_steps`` are the fields as (name, how, field or None when it never trims),
    so the per-resource loop does no schema look-ups.
    """

    core: list[_Field]
    external_id: bool
    extensions: list[tuple[str, list[_Field]]]
    meta: _Field | None
    steps: tuple[tuple[str, int, _Field | None], ...] = ()
    extension_steps: tuple[tuple[str, tuple[tuple[str, _Field | None], ...]], ...] = ()

    def __post_init__(self) -> None:
        self.steps = tuple((f.attr.name, _STORED, f if f.trims else None) for f in self.core)
        self.extension_steps = tuple((urn, tuple((f.attr.name, f if f.trims else None) for f in fields))
                                     for urn, fields in self.extensions)

    def for_type(self, rtype_name: str) -> "_Plan":
        """Mark the computed attributes of ``rtype_name`` (User ``groups``, Group ``members``)."""
        special = {"User": ("groups", _GROUPS), "Group": ("members", _MEMBERS)}.get(rtype_name)
        if special is not None:
            name, how = special
            self.steps = tuple((n, how if n == name else h, f) for n, h, f in self.steps)
        return self


class Renderer:
    """Turns records of one server into response JSON."""

    _MAX_PLANS = 512

    def __init__(self, registry: SchemaRegistry, groups_of: Callable[[str], list[dict[str, Any]]]):
        self.registry = registry
        self.groups_of = groups_of  # id -> [{"value", "display"}] of the groups it belongs to
        self._plans: dict[tuple[Any, ...], _Plan] = {}

    def _plan(self, rtype: ResourceType, projection: Projection) -> _Plan:
        key = (rtype.name, tuple(projection.attributes) if projection.attributes is not None else None,
               tuple(projection.excluded or ()))
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= self._MAX_PLANS:
                self._plans.clear()
            plan = self._plans[key] = self._make_plan(rtype, projection)
        return plan

    def _make_plan(self, rtype: ResourceType, projection: Projection) -> _Plan:
        wanted = projection.attributes
        excluded = projection.excluded or []

        def field_for(container: str | None, attr: Attribute) -> _Field | None:
            if attr.returned == "never":
                return None
            subs: frozenset[str] | None = None
            if attr.returned != "always":
                if wanted is not None:
                    hits = [s for s in wanted if s.container == container and (s.attr == attr.name or s.attr is None)]
                    if not hits:
                        return None
                    if all(s.sub is not None for s in hits):
                        subs = frozenset(s.sub for s in hits if s.sub)
                elif attr.returned == "request":
                    return None
                for s in excluded:
                    if s.container == container and (s.attr == attr.name or s.attr is None) and s.sub is None:
                        return None
            drop = {s.name for s in attr.sub_attributes if s.returned == "never"}
            drop |= {s.sub for s in excluded if s.container == container and s.attr == attr.name and s.sub}
            return _Field(attr, subs, frozenset(drop))

        core = [f for a in rtype.schema.attributes if (f := field_for(None, a)) is not None]
        external = self.registry.common("externalId")
        meta = self.registry.common("meta")
        assert external is not None and meta is not None
        extensions = []
        for schema, _required in rtype.extensions:
            fields = [f for a in schema.attributes if (f := field_for(schema.id, a)) is not None]
            if fields:
                extensions.append((schema.id, fields))
        return _Plan(core, field_for(None, external) is not None, extensions, field_for(None, meta)).for_type(rtype.name)

    def render(self, rtype: ResourceType, record: dict[str, Any], base_url: str,
               projection: Projection | None = None) -> dict[str, Any]:
        plan = self._plan(rtype, projection or Projection())
        rid = record["id"]
        out: dict[str, Any] = {"schemas": list(record.get("schemas") or [rtype.schema.id]), "id": rid}
        for name, how, field in plan.steps:
            if how == _STORED:
                value = record.get(name)
                if value is not None:
                    out[name] = value if field is None else field.trim(value)
            elif how == _GROUPS:
                groups = self.groups_of(rid)
                if groups:
                    listed = [{k: v for k, v in (("value", g["value"]), ("$ref", f"{base_url}/Groups/{g['value']}"),
                                                 ("display", g.get("display")), ("type", "direct"))
                               if v is not None} for g in groups]
                    out["groups"] = listed if field is None else field.trim(listed)
            else:
                members = list((record.get(name) or {}).values())
                out["members"] = members if field is None else field.trim(members)
        if plan.external_id and record.get("externalId") is not None:
            out["externalId"] = record["externalId"]
        for urn, fields in plan.extension_steps:
            container = record.get(urn)
            if not container:
                continue
            ext_out = {}
            for name, field in fields:
                value = container.get(name)
                if value is not None:
                    ext_out[name] = value if field is None else field.trim(value)
            if ext_out:
                out[urn] = ext_out
        if plan.meta is not None:
            meta = dict(record["meta"])
            meta["location"] = f"{base_url}{rtype.endpoint}/{rid}"
            out["meta"] = plan.meta.trim(meta)
        return out
