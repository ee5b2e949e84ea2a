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
