"""Discovery endpoints (RFC 7644 §4, RFC 7643 §5-7) and their consistency with each other and with behaviour."""

from __future__ import annotations

from ..context import ENTERPRISE, SPC, USER, CheckContext
from ..registry import check
from ._helpers import expect_list


@check("discovery.spc.served", "GET /ServiceProviderConfig answers 200 with a valid configuration",
       "RFC 7644 §4; RFC 7643 §5", "MUST")
def spc_served(ctx: CheckContext) -> None:
    """Service providers MUST serve /ServiceProviderConfig; its patch, bulk, filter, changePassword, sort, etag and authenticationSchemes are REQUIRED."""
    r = ctx.get("ServiceProviderConfig")
    ctx.expect_status(r, 200, doing="GET /ServiceProviderConfig")
    ctx.validate("ServiceProviderConfig", r.json, "/ServiceProviderConfig")


@check("discovery.spc.no-filter-support", "/ServiceProviderConfig refuses query parameters or ignores them",
       "RFC 7644 §4", "SHOULD")
def spc_filter(ctx: CheckContext) -> None:
    """The configuration is a single resource, not a query: a filter parameter on it should be ignored (200) or refused (400/403), never break the endpoint."""
    r = ctx.get("ServiceProviderConfig", {"filter": 'patch.supported eq true'})
    ctx.expect(r.status in (200, 400, 403) and (r.status != 200 or r.body.get("schemas")),
               f"GET /ServiceProviderConfig?filter=... answered {r.status}")


@check("discovery.spc.auth-schemes", "/ServiceProviderConfig names at least one authentication scheme",
       "RFC 7643 §5 (authenticationSchemes)", "SHOULD")
def spc_auth(ctx: CheckContext) -> None:
    """authenticationSchemes is REQUIRED; a server that authenticates should say how, so clients can configure themselves."""
    spc = ctx.discovery.spc
    ctx.require(spc is not None, "ServiceProviderConfig could not be read")
    ctx.expect(spc.get("authenticationSchemes"), "authenticationSchemes is empty or missing")


@check("discovery.resource-types.list", "GET /ResourceTypes answers a ListResponse of valid resource types",
       "RFC 7644 §4; RFC 7643 §6", "MUST")
def resource_types(ctx: CheckContext) -> None:
    """/ResourceTypes lists the resource types the server supports; each has name, endpoint and schema (REQUIRED)."""
    items = expect_list(ctx, ctx.get("ResourceTypes"), "GET /ResourceTypes")
    ctx.expect(items, "no resource type is listed")
    for rt in items:
        ctx.validate("ResourceType", rt, f"resource type {rt.get('name')!r}")


@check("discovery.resource-types.user", "A User resource type is served at /Users with the core User schema",
       "RFC 7643 §4.1, §6", "MUST")
def user_type(ctx: CheckContext) -> None:
    """The suite targets user provisioning: the User resource type must use urn:ietf:params:scim:schemas:core:2.0:User."""
    rts = ctx.discovery.resource_types
    ctx.require(rts, "GET /ResourceTypes could not be read")
    user = next((rt for rt in rts if rt.get("name") == "User"), None)
    ctx.expect(user, "no resource type named User")
    ctx.expect(user.get("schema") == USER, f"the User resource type's schema is {user.get('schema')!r}")
    ctx.expect(str(user.get("endpoint", "")).strip("/") == "Users", f"the User endpoint is {user.get('endpoint')!r}")


@check("discovery.resource-types.by-name", "Each resource type can be read at /ResourceTypes/{name}",
       "RFC 7644 §4", "SHOULD")
def resource_type_by_name(ctx: CheckContext) -> None:
    """Discovery resources are addressable individually, e.g. GET /ResourceTypes/User."""
    rts = ctx.discovery.resource_types
    ctx.require(rts, "GET /ResourceTypes could not be read")
    for rt in rts:
        name = rt.get("id") or rt.get("name")
        r = ctx.get(f"ResourceTypes/{name}")
        ctx.expect_status(r, 200, doing=f"GET /ResourceTypes/{name}")
        ctx.expect(r.body.get("name") == rt.get("name"), f"/ResourceTypes/{name} returned {r.body.get('name')!r}")


@check("discovery.schemas.list", "GET /Schemas answers a ListResponse of valid schema definitions",
       "RFC 7644 §4; RFC 7643 §7", "MUST")
def schemas(ctx: CheckContext) -> None:
    """/Schemas lists the schemas the server supports, each with id and attribute definitions (name, type, multiValued, ...)."""
    items = expect_list(ctx, ctx.get("Schemas"), "GET /Schemas")
    ctx.expect(items, "no schema is listed")
    for s in items:
        ctx.validate("Schema", s, f"schema {s.get('id')!r}")


@check("discovery.schemas.by-id", "Each schema can be read at /Schemas/{id}", "RFC 7644 §4", "SHOULD")
def schema_by_id(ctx: CheckContext) -> None:
    """Schemas are addressable by their URN: GET /Schemas/urn:ietf:params:scim:schemas:core:2.0:User."""
    ctx.require(ctx.discovery.schemas, "GET /Schemas could not be read")
    for sid in ctx.discovery.schemas:
        r = ctx.get(f"Schemas/{sid}")
        ctx.expect_status(r, 200, doing=f"GET /Schemas/{sid}")
        ctx.expect(r.body.get("id") == sid, f"/Schemas/{sid} returned id {r.body.get('id')!r}")


@check("discovery.schemas.characteristics", "Every attribute declares its full characteristics",
       "RFC 7643 §7 (attributes)", "SHOULD")
def characteristics(ctx: CheckContext) -> None:
    """Attribute definitions carry required, caseExact, mutability, returned and uniqueness; clients depend on them to know case sensitivity and what they may write."""
    ctx.require(ctx.discovery.schemas, "GET /Schemas could not be read")
    missing = []
    for sid, s in ctx.discovery.schemas.items():
        for a in s.get("attributes") or []:
            for key in ("required", "mutability", "returned"):
                if key not in a:
                    missing.append(f"{sid}:{a.get('name')} has no {key}")
            if a.get("type") == "string" and "caseExact" not in a:
                missing.append(f"{sid}:{a.get('name')} has no caseExact")
    ctx.expect(not missing, "; ".join(missing[:6]) + (f" (+{len(missing) - 6} more)" if len(missing) > 6 else ""))


@check("discovery.schemas.username", "The User schema declares userName required and unique",
       "RFC 7643 §4.1 (userName)", "MUST")
def username_def(ctx: CheckContext) -> None:
    """userName: REQUIRED, caseExact false, uniqueness server."""
    attr = ctx.discovery.attribute(USER, "userName")
    ctx.require(ctx.discovery.schemas, "GET /Schemas could not be read")
    ctx.expect(attr, "the User schema has no userName attribute")
    ctx.expect(attr.get("required") is True, f"userName required is {attr.get('required')!r}")
    ctx.expect(attr.get("uniqueness") in ("server", "global"), f"userName uniqueness is {attr.get('uniqueness')!r}")


@check("discovery.consistency.schemas-served", "Every schema a resource type names is served by /Schemas",
       "RFC 7643 §6, §7", "MUST")
def schemas_served(ctx: CheckContext) -> None:
    """A resource type's schema and schemaExtensions are URIs of schemas the server defines at /Schemas."""
    d = ctx.discovery
    ctx.require(d.resource_types and d.schemas, "discovery could not be read")
    known = {k.lower() for k in d.schemas}
    missing = []
    for rt in d.resource_types:
        for urn in [rt.get("schema")] + [e.get("schema") for e in rt.get("schemaExtensions") or []]:
            if urn and urn.lower() not in known:
                missing.append(f"{rt.get('name')} names {urn}")
    ctx.expect(not missing, "not in /Schemas: " + "; ".join(missing))


@check("discovery.consistency.endpoints-answer", "Every advertised endpoint answers a GET with a ListResponse",
       "RFC 7644 §3.4.2; RFC 7643 §6", "MUST")
def endpoints_answer(ctx: CheckContext) -> None:
    """An endpoint named in /ResourceTypes is where that resource type lives: a GET lists its resources."""
    ctx.require(ctx.discovery.resource_types, "GET /ResourceTypes could not be read")
    for rt in ctx.discovery.resource_types:
        endpoint = str(rt.get("endpoint", "")).strip("/")
        expect_list(ctx, ctx.get(endpoint, {"count": 1}), f"GET /{endpoint}?count=1")


@check("discovery.consistency.resources-declare-schemas",
       "Returned resources list only schemas their resource type declares", "RFC 7643 §3, §6", "MUST", writes=True)
def resources_schemas(ctx: CheckContext) -> None:
    """A resource's schemas attribute contains its resource type's schema and only extensions that type declares."""
    user = ctx.new_user()
    rt = next((r for r in ctx.discovery.resource_types if r.get("name") == "User"), None)
    ctx.require(rt, "no User resource type")
    allowed = {rt.get("schema")} | {e.get("schema") for e in rt.get("schemaExtensions") or []}
    got = set(ctx.fetch("Users", user["id"]).get("schemas") or [])
    ctx.expect(USER in got, f"schemas {sorted(got)} lacks {USER}")
    ctx.expect(got <= allowed, f"schemas {sorted(got - allowed)} are not declared by the User resource type")




@check("discovery.consistency.enterprise-schema", "An advertised enterprise extension is defined in /Schemas",
       "RFC 7643 §4.3", "MUST", requires=("enterprise",))
def enterprise_schema(ctx: CheckContext) -> None:
    """When the User resource type lists the enterprise extension, /Schemas defines it with its attributes (employeeNumber, manager, ...)."""
    ctx.require(ctx.discovery.schemas, "GET /Schemas could not be read")
    ctx.expect(ctx.discovery.attribute(ENTERPRISE, "employeeNumber"),
               "the enterprise extension is advertised but /Schemas does not define employeeNumber")


@check("discovery.consistency.spc-schemas", "/ServiceProviderConfig carries its schema URI", "RFC 7643 §5", "MUST")
def spc_schema_uri(ctx: CheckContext) -> None:
    """Every SCIM resource, the configuration included, lists its schema in 'schemas'."""
    spc = ctx.discovery.spc
    ctx.require(spc is not None, "ServiceProviderConfig could not be read")
    ctx.expect(SPC in (spc.get("schemas") or []), f"schemas is {spc.get('schemas')!r}")


#: RFC 7643 §2.3 data types -> the JSON types that carry them (a boolean is never an integer here).
_JSON_TYPES = {"string": (str,), "reference": (str,), "binary": (str,), "dateTime": (str,), "boolean": (bool,),
               "integer": (int,), "decimal": (int, float), "complex": (dict,)}
#: Common attributes (RFC 7643 §3.1) that no resource schema defines.
_COMMON = {"schemas", "id", "externalid", "meta"}


def _declared_user(ctx: CheckContext) -> tuple[dict, dict[str, dict]]:
    """A User read back (with the enterprise extension when advertised) and its schemas' definitions by URN."""
    d = ctx.discovery
    ctx.require(d.schemas and d.attribute(USER, "userName"), "the User schema could not be read from /Schemas")
    extra = {"title": "Engineer", "nickName": "Ada"}
    if ctx.supports("enterprise") and d.attribute(ENTERPRISE, "department"):
        extra[ENTERPRISE] = {"department": "Research"}
    user = ctx.new_user("decl", **extra)
    read = ctx.fetch("Users", user["id"])
    schemas = {urn: next(s for k, s in d.schemas.items() if k.lower() == urn.lower())
               for urn in [USER, *[u for u in read.get("schemas") or [] if isinstance(u, str)]]
               if any(k.lower() == urn.lower() for k in d.schemas)}
    return read, schemas


def _walk(attrs: list[dict], values: dict, where: str, undeclared: list[str], mistyped: list[str]) -> None:
    """Compare each value of ``values`` with its definition among ``attrs`` (case-insensitive names, RFC 7643 §2.1)."""
    defs = {str(a.get("name", "")).lower(): a for a in attrs if isinstance(a, dict)}
    for name, value in values.items():
        path = f"{where}{name}"
        definition = defs.get(name.lower())
        if definition is None:
            undeclared.append(path)
            continue
        items = value if definition.get("multiValued") else [value]
        if definition.get("multiValued") and not isinstance(value, list):
            mistyped.append(f"{path} is declared multiValued but returned as {type(value).__name__}")
            continue
        if not definition.get("multiValued") and isinstance(value, list):
            mistyped.append(f"{path} is declared single-valued but returned as a list")
            continue
        wanted = _JSON_TYPES.get(str(definition.get("type")))
        for item in items:
            if item is None or wanted is None:
                continue
            if not isinstance(item, wanted) or (bool not in wanted and isinstance(item, bool)):
                mistyped.append(f"{path} is declared {definition.get('type')} but returned {_json_type(item)} {item!r:.40}")
            elif isinstance(item, dict) and definition.get("subAttributes"):
                _walk(definition["subAttributes"], item, f"{path}.", undeclared, mistyped)


def _json_type(value: object) -> str:
    return {bool: "boolean", int: "number", float: "number", str: "string", dict: "object", list: "array"}.get(
        type(value), type(value).__name__)


def _compare(ctx: CheckContext) -> tuple[list[str], list[str]]:
    read, schemas = _declared_user(ctx)
    undeclared: list[str] = []
    mistyped: list[str] = []
    core = {k: v for k, v in read.items() if not k.startswith("urn:") and k.lower() not in _COMMON}
    _walk(schemas[USER].get("attributes") or [], core, "", undeclared, mistyped)
    for urn, values in read.items():
        if urn.startswith("urn:") and isinstance(values, dict):
            definition = next((s for k, s in schemas.items() if k.lower() == urn.lower()), None)
            if definition is None:
                undeclared.append(f"{urn} (not in /Schemas)")
            else:
                _walk(definition.get("attributes") or [], values, f"{urn}:", undeclared, mistyped)
    return undeclared, mistyped


@check("discovery.consistency.attribute-types", "Returned attributes have the type and plurality /Schemas declares",
       "RFC 7643 §2.3, §2.4, §7", "MUST", writes=True)
def attribute_types(ctx: CheckContext) -> None:
    """A client reads values by the server's own schema: an attribute declared boolean, complex or multiValued comes back as a JSON boolean, an object, an array (RFC 7643 §2.3 data types, §2.4 multi-valued attributes)."""
    _undeclared, mistyped = _compare(ctx)
    ctx.expect(not mistyped, "; ".join(mistyped[:5]) + (f" (+{len(mistyped) - 5} more)" if len(mistyped) > 5 else ""))


@check("discovery.consistency.attributes-declared", "Every returned attribute is defined in /Schemas",
       "RFC 7643 §3, §7", "SHOULD", writes=True)
def attributes_declared(ctx: CheckContext) -> None:
    """A resource's attributes are those of the schemas it lists (RFC 7643 §3: 'schemas ... indicate the namespaces of the SCIM schemas that define the attributes present'); an attribute /Schemas does not define cannot be discovered by a client."""
    undeclared, _mistyped = _compare(ctx)
    ctx.expect(not undeclared, "not defined in /Schemas: " + ", ".join(undeclared[:8])
               + (f" (+{len(undeclared) - 8} more)" if len(undeclared) > 8 else ""))


_SAMPLE = {"boolean": True, "integer": 1, "decimal": 1.5, "dateTime": "2026-01-01T00:00:00Z"}


def _sample(ctx: CheckContext, attr: dict) -> object:
    """A value of the declared type for a required attribute (namespaced when it is a string)."""
    kind = str(attr.get("type"))
    if kind == "complex":
        value: object = {str(s.get("name")): _sample(ctx, s) for s in attr.get("subAttributes") or []
                         if s.get("required") is True}
    elif kind in _SAMPLE:
        value = _SAMPLE[kind]
    else:
        value = f"{ctx.name('req')}@example.test" if "mail" in str(attr.get("name")).lower() else ctx.name("req")
    return [value] if attr.get("multiValued") else value


@check("discovery.consistency.required-declared", "A User with only the attributes /Schemas declares required is created",
       "RFC 7643 §2.2 (required), §7", "SHOULD", writes=True)
def required_declared(ctx: CheckContext) -> None:
    """'required: A Boolean value that specifies whether or not the attribute is required' (RFC 7643 §7). A generic client builds a User from /Schemas; a server that refuses one carrying every declared required attribute requires more than it declares, and every such client fails against it."""
    d = ctx.discovery
    ctx.require(d.attribute(USER, "userName"), "the User schema could not be read from /Schemas")
    schema = next(s for k, s in d.schemas.items() if k.lower() == USER.lower())
    required = [a for a in schema.get("attributes") or [] if a.get("required") is True]
    body: dict = {"schemas": [USER], "userName": ctx.name("min")}
    for attr in required:
        if str(attr.get("name")).lower() != "username":
            body[str(attr.get("name"))] = _sample(ctx, attr)
    r = ctx.post("Users", body)
    if r.status in (200, 201) and r.body.get("id"):
        ctx.track("Users", str(r.body["id"]))
    names = ", ".join(str(a.get("name")) for a in required) or "none"
    ctx.expect_status(r, 201, doing=f"POST /Users with only the declared required attributes ({names})")
