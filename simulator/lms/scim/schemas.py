"""RFC 7643 schemas as data: core User, EnterpriseUser, Group, plus the discovery documents.

Everything that decides how the server reads and writes an attribute comes from
here: its type (validation and filter comparison), ``caseExact`` (filters,
sorting, uniqueness and the indexes), ``mutability`` (PUT and PATCH), ``returned``
(``attributes``/``excludedAttributes``) and ``uniqueness``. The same objects are
served, in RFC 7643 §7 form, by ``/Schemas``, so what a client discovers is what
the server enforces.

Definitions follow RFC 7643 §4 and §8.7.1 (the common attributes ``id``,
``externalId`` and ``meta`` of §3.1 are kept apart, as the RFC does: they belong
to every resource and are not listed in any schema).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SPC_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
LIST_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"

TYPES = ("string", "boolean", "decimal", "integer", "dateTime", "binary", "reference", "complex")
MUTABILITIES = ("readOnly", "readWrite", "immutable", "writeOnly")
RETURNED = ("always", "never", "default", "request")
UNIQUENESS = ("none", "server", "global")


@dataclass(frozen=True)
class Attribute:
    """One attribute definition with the RFC 7643 §7 characteristics."""

    name: str
    type: str = "string"
    multi_valued: bool = False
    description: str = ""
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple["Attribute", ...] = ()
    _subs: dict[str, "Attribute"] = field(default_factory=dict, compare=False, repr=False)
    #: names of the readOnly sub-attributes (what ``validation.strip_read_only`` drops), computed once
    read_only_subs: frozenset[str] = field(default=frozenset(), init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"attribute {self.name}: unknown type {self.type!r}")
        if self.mutability not in MUTABILITIES:
            raise ValueError(f"attribute {self.name}: unknown mutability {self.mutability!r}")
        if self.returned not in RETURNED:
            raise ValueError(f"attribute {self.name}: unknown returned {self.returned!r}")
        if self.uniqueness not in UNIQUENESS:
            raise ValueError(f"attribute {self.name}: unknown uniqueness {self.uniqueness!r}")
        for sub in self.sub_attributes:
            self._subs[sub.name.lower()] = sub
        object.__setattr__(self, "read_only_subs",
                           frozenset(s.name for s in self.sub_attributes if s.mutability == "readOnly"))

    def sub(self, name: str) -> "Attribute | None":
        """The sub-attribute called ``name`` (attribute names are case-insensitive, RFC 7643 §2.1)."""
        return self._subs.get(name.lower())

    @property
    def is_complex(self) -> bool:
        return self.type == "complex"

    @property
    def is_text(self) -> bool:
        """Compared as text: strings, references and binary values."""
        return self.type in ("string", "reference", "binary")

    def to_scim(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "multiValued": self.multi_valued,
                               "description": self.description, "required": self.required}
        if self.canonical_values:
            out["canonicalValues"] = list(self.canonical_values)
        if self.type != "complex" and self.type != "boolean":
            out["caseExact"] = self.case_exact
        out["mutability"] = self.mutability
        out["returned"] = self.returned
        if self.type != "complex" and self.type != "boolean":
            out["uniqueness"] = self.uniqueness
        if self.reference_types:
            out["referenceTypes"] = list(self.reference_types)
        if self.sub_attributes:
            out["subAttributes"] = [s.to_scim() for s in self.sub_attributes]
        return out

    @classmethod
    def from_scim(cls, data: dict[str, Any]) -> "Attribute":
        """Read an attribute definition in RFC 7643 §7 form (profile files use it for custom extensions)."""
        return cls(
            name=data["name"], type=data.get("type", "string"), multi_valued=bool(data.get("multiValued", False)),
            description=data.get("description", ""), required=bool(data.get("required", False)),
            case_exact=bool(data.get("caseExact", False)), mutability=data.get("mutability", "readWrite"),
            returned=data.get("returned", "default"), uniqueness=data.get("uniqueness", "none"),
            canonical_values=tuple(data.get("canonicalValues", ())), reference_types=tuple(data.get("referenceTypes", ())),
            sub_attributes=tuple(cls.from_scim(s) for s in data.get("subAttributes", ())),
        )


def _s(name: str, description: str = "", **kw: Any) -> Attribute:
    return Attribute(name, "string", description=description, **kw)


def _multi(name: str, description: str, value: Attribute, types: tuple[str, ...] = (), *,
           mutability: str = "readWrite", extra: tuple[Attribute, ...] = ()) -> Attribute:
    """The RFC's usual multi-valued shape: value, display, type, primary."""
    subs = [value, _s("display", "A human-readable name, primarily used for display purposes.", mutability=mutability),
            _s("type", "A label indicating the attribute's function.", canonical_values=types, mutability=mutability),
            Attribute("primary", "boolean", description="Whether this is the preferred value.", mutability=mutability)]
    return Attribute(name, "complex", multi_valued=True, description=description, mutability=mutability,
                     sub_attributes=tuple(subs) + extra)


USER_ATTRIBUTES: tuple[Attribute, ...] = (
    _s("userName", "Unique identifier for the User, used to authenticate.", required=True, uniqueness="server"),
    Attribute("name", "complex", description="The components of the user's real name.", sub_attributes=(
        _s("formatted", "The full name, formatted for display."),
        _s("familyName", "The family name (last name)."),
        _s("givenName", "The given name (first name)."),
        _s("middleName", "The middle name(s)."),
        _s("honorificPrefix", "The honorific prefix(es), e.g. 'Ms.'."),
        _s("honorificSuffix", "The honorific suffix(es), e.g. 'III'."),
    )),
    _s("displayName", "The name of the User, suitable for display to end-users."),
    _s("nickName", "The casual way to address the user."),
    Attribute("profileUrl", "reference", description="A URI to the user's online profile.", case_exact=True,
              reference_types=("external",)),
    _s("title", "The user's title, such as 'Vice President'."),
    _s("userType", "The relationship between the organization and the user."),
    _s("preferredLanguage", "The user's preferred written or spoken language (RFC 7231 §5.3.5)."),
    _s("locale", "The user's default location for localization (e.g. 'en-US')."),
    _s("timezone", "The user's time zone in IANA format (e.g. 'America/Los_Angeles')."),
    Attribute("active", "boolean", description="The user's administrative status."),
    _s("password", "The user's cleartext password; never returned.", case_exact=True, mutability="writeOnly",
       returned="never"),
    _multi("emails", "Email addresses for the user.", _s("value", "Email address (RFC 5321)."), ("work", "home", "other")),
    _multi("phoneNumbers", "Phone numbers for the user.", _s("value", "Phone number (RFC 3966)."),
           ("work", "home", "mobile", "fax", "pager", "other")),
    _multi("ims", "Instant messaging addresses for the user.", _s("value", "Instant messaging address."),
           ("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo")),
    _multi("photos", "URLs of photos of the user.",
           Attribute("value", "reference", description="URL of a photo.", case_exact=True, reference_types=("external",)),
           ("photo", "thumbnail")),
    Attribute("addresses", "complex", multi_valued=True, description="A physical mailing address for this user.",
              sub_attributes=(
                  _s("formatted", "The full mailing address, formatted for display."),
                  _s("streetAddress", "The full street address component."),
                  _s("locality", "The city or locality component."),
                  _s("region", "The state or region component."),
                  _s("postalCode", "The zip code or postal code component."),
                  _s("country", "The country name component (ISO 3166-1 alpha-2)."),
                  _s("type", "A label indicating the attribute's function.", canonical_values=("work", "home", "other")),
                  Attribute("primary", "boolean", description="Whether this is the preferred address."),
              )),
    Attribute("groups", "complex", multi_valued=True, mutability="readOnly",
              description="The groups the user belongs to (direct membership), managed through the Group resource.",
              sub_attributes=(
                  _s("value", "The identifier of the group.", case_exact=True, mutability="readOnly"),
                  Attribute("$ref", "reference", description="The URI of the group.", case_exact=True,
                            mutability="readOnly", reference_types=("Group",)),
                  _s("display", "The group's display name.", mutability="readOnly"),
                  _s("type", "How the membership was derived.", canonical_values=("direct", "indirect"),
                     mutability="readOnly"),
              )),
    _multi("entitlements", "A list of entitlements for the user.", _s("value", "The value of an entitlement.")),
    _multi("roles", "A list of roles for the user.", _s("value", "The value of a role.")),
    _multi("x509Certificates", "A list of certificates issued to the user.",
           Attribute("value", "binary", description="The value of an X.509 certificate (base64).", case_exact=True)),
)

GROUP_ATTRIBUTES: tuple[Attribute, ...] = (
    _s("displayName", "A human-readable name for the Group.", required=True),
    Attribute("members", "complex", multi_valued=True, description="A list of members of the Group.", sub_attributes=(
        _s("value", "Identifier of the member of this Group.", case_exact=True, mutability="immutable"),
        Attribute("$ref", "reference", description="The URI of the member resource.", case_exact=True,
                  mutability="immutable", reference_types=("User", "Group")),
        _s("type", "The type of the member resource.", canonical_values=("User", "Group"), mutability="immutable"),
        _s("display", "A human-readable name of the member."),
    )),
)

ENTERPRISE_ATTRIBUTES: tuple[Attribute, ...] = (
    _s("employeeNumber", "Numeric or alphanumeric identifier assigned to a person by the organization."),
    _s("costCenter", "Identifies the name of a cost center."),
    _s("organization", "Identifies the name of an organization."),
    _s("division", "Identifies the name of a division."),
    _s("department", "Identifies the name of a department."),
    Attribute("manager", "complex", description="The user's manager.", sub_attributes=(
        _s("value", "The id of the SCIM resource representing the user's manager.", case_exact=True),
        Attribute("$ref", "reference", description="The URI of the manager's resource.", case_exact=True,
                  reference_types=("User",)),
        _s("displayName", "The displayName of the manager.", mutability="readOnly"),
    )),
)

#: RFC 7643 §3.1: attributes every resource has, outside any schema.
COMMON_ATTRIBUTES: tuple[Attribute, ...] = (
    _s("id", "Unique identifier assigned by the service provider.", case_exact=True, mutability="readOnly",
       returned="always", uniqueness="server"),
    _s("externalId", "Identifier assigned by the provisioning client.", case_exact=True),
    Attribute("meta", "complex", mutability="readOnly", description="Resource metadata.", sub_attributes=(
        _s("resourceType", "The name of the resource type.", case_exact=True, mutability="readOnly"),
        Attribute("created", "dateTime", description="When the resource was added.", mutability="readOnly"),
        Attribute("lastModified", "dateTime", description="When the resource was last changed.", mutability="readOnly"),
        Attribute("location", "reference", description="The URI of the resource.", case_exact=True,
                  mutability="readOnly", reference_types=("uri",)),
        _s("version", "The resource's version (ETag).", case_exact=True, mutability="readOnly"),
    )),
)

#: ``schemas`` is filterable (RFC 7644 §3.4.2.2, figure 2) though it is no attribute of a schema.
SCHEMAS_ATTRIBUTE = Attribute("schemas", "reference", multi_valued=True, case_exact=True, mutability="readOnly",
                              returned="always", reference_types=("uri",))


@dataclass
class Schema:
    """A schema (core or extension): its URN, names and attribute definitions."""

    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]
    _by_name: dict[str, Attribute] = field(default_factory=dict, repr=False)
    #: the attributes with ``required: true``, which every stored resource must have (validation.check_required)
    required_attributes: tuple[Attribute, ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name = {a.name.lower(): a for a in self.attributes}
        self.required_attributes = tuple(a for a in self.attributes if a.required)

    def attribute(self, name: str) -> Attribute | None:
        return self._by_name.get(name.lower())

    def to_scim(self, base_url: str) -> dict[str, Any]:
        return {"schemas": [SCHEMA_URN], "id": self.id, "name": self.name, "description": self.description,
                "attributes": [a.to_scim() for a in self.attributes],
                "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{self.id}"}}


@dataclass
class ResourceType:
    """A resource type (RFC 7643 §6): name, endpoint, core schema and its extensions."""

    name: str
    endpoint: str
    schema: Schema
    extensions: list[tuple[Schema, bool]] = field(default_factory=list)  # (schema, required)
    description: str = ""
    #: (number of extensions it was built for, extension by lower-cased URN, schema URN by lower-cased URN)
    _urn_index: tuple[int, dict[str, Schema], dict[str, str]] | None = field(
        default=None, init=False, repr=False, compare=False)

    @property
    def schema_ids(self) -> list[str]:
        return [self.schema.id] + [s.id for s, _ in self.extensions]

    def _urns(self) -> tuple[int, dict[str, Schema], dict[str, str]]:
        """URN look-ups as dicts (asked for every key of every body), rebuilt if extensions were added."""
        index = self._urn_index
        if index is None or index[0] != len(self.extensions):
            by_urn = {s.id.lower(): s for s, _required in reversed(self.extensions)}
            names = {u.lower(): u for u in self.schema_ids}
            index = self._urn_index = (len(self.extensions), by_urn, names)
        return index

    def extension(self, urn: str) -> Schema | None:
        """The extension schema whose URN is ``urn`` (case-insensitively), or None."""
        return self._urns()[1].get(urn.lower())

    def schema_id(self, urn: str) -> str | None:
        """The canonical spelling of ``urn`` if it is the core schema or an extension of this type, else None."""
        return self._urns()[2].get(urn.lower())

    def to_scim(self, base_url: str) -> dict[str, Any]:
        out: dict[str, Any] = {"schemas": [RESOURCE_TYPE_URN], "id": self.name, "name": self.name,
                               "endpoint": self.endpoint, "description": self.description, "schema": self.schema.id}
        if self.extensions:
            out["schemaExtensions"] = [{"schema": s.id, "required": req} for s, req in self.extensions]
        out["meta"] = {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/{self.name}"}
        return out


_COMMON_BY_NAME = {a.name.lower(): a for a in COMMON_ATTRIBUTES}


class SchemaRegistry:
    """The schemas and resource types one server serves, and attribute lookup across them."""

    _MAX_LOOKUPS = 4096

    def __init__(self, resource_types: Iterable[ResourceType]):
        self.resource_types: dict[str, ResourceType] = {}
        self.schemas: dict[str, Schema] = {}
        self._lookups: dict[tuple[str, str | None, str, bool], tuple[Schema | None, Attribute] | None] = {}
        self._body_keys: dict[str, tuple[ResourceType, dict[str, Schema | Attribute]]] = {}
        #: parsed PATCH paths, (type name, text, search_extensions) -> (type, PatchPath); see paths.parse_path
        self.patch_paths: dict[tuple[str, str, bool], tuple[ResourceType, Any]] = {}
        for rt in resource_types:
            self.resource_types[rt.name] = rt
            for schema in [rt.schema] + [s for s, _ in rt.extensions]:
                self.schemas[schema.id.lower()] = schema

    def resource_type(self, name: str) -> ResourceType:
        return self.resource_types[name]

    def schema(self, urn: str) -> Schema | None:
        return self.schemas.get(urn.lower())

    def common(self, name: str) -> Attribute | None:
        if name.lower() == "schemas":
            return SCHEMAS_ATTRIBUTE
        return _COMMON_BY_NAME.get(name.lower())

    def lookup(self, rtype: ResourceType, urn: str | None, name: str,
               search_extensions: bool = False) -> tuple[Schema | None, Attribute] | None:
        """Find the attribute ``name`` of ``rtype``: (its schema or None for common attributes, its definition).

        Without a URN, common attributes come first, then the core schema
        (RFC 7644 §3.10: an unqualified name is the core schema's); with
        ``search_extensions``, the extensions after that (Entra writes "manager"
        for the enterprise extension's manager).

        Answers are remembered per resource type: every key of every body and every filter and path
        asks, and the schemas of a registry do not change.
        """
        key = (rtype.name, urn, name, search_extensions)
        try:
            return self._lookups[key]
        except KeyError:
            pass
        found = self._lookup(rtype, urn, name, search_extensions)
        if len(self._lookups) >= self._MAX_LOOKUPS:
            self._lookups.clear()
        if self.resource_types.get(rtype.name) is rtype:
            self._lookups[key] = found
        return found

    def _lookup(self, rtype: ResourceType, urn: str | None, name: str,
                search_extensions: bool) -> tuple[Schema | None, Attribute] | None:
        if urn is not None:
            low = urn.lower()
            if low == rtype.schema.id.lower():
                attr = rtype.schema.attribute(name)
                return (rtype.schema, attr) if attr else None
            ext = rtype.extension(urn)
            if ext is None:
                return None
            attr = ext.attribute(name)
            return (ext, attr) if attr else None
        common = self.common(name)
        if common is not None:
            return None, common
        attr = rtype.schema.attribute(name)
        if attr is not None:
            return rtype.schema, attr
        if search_extensions:
            for schema, _required in rtype.extensions:
                attr = schema.attribute(name)
                if attr is not None:
                    return schema, attr
        return None

    def body_keys(self, rtype: ResourceType) -> dict[str, Schema | Attribute]:
        """What each top-level key of a ``rtype`` body may name, by its lower-cased text: an extension's
        schema, or a common or core attribute (RFC 7643: names are case-insensitive). Built once per type;
        a key not listed is an error the reader explains."""
        tables = self._body_keys
        table = tables.get(rtype.name)
        if table is None or table[0] is not rtype:
            keys: dict[str, Schema | Attribute] = {}
            for attr in list(COMMON_ATTRIBUTES) + list(rtype.schema.attributes):
                keys.setdefault(attr.name.lower(), attr)
            for schema, _required in reversed(rtype.extensions):
                keys[schema.id.lower()] = schema
            table = tables[rtype.name] = (rtype, keys)
        return table[1]

    def split_urn(self, rtype: ResourceType, text: str) -> tuple[str | None, str]:
        """Split ``urn:...:User:name.givenName`` into (schema URN, rest); a bare name has no URN.

        The longest known schema URN wins, so extension URNs that extend a core
        URN's text are told apart; an unknown URN is split at its last colon.
        """
        if not text.lower().startswith("urn:"):
            return None, text
        low = text.lower()
        best = None
        for schema_id in rtype.schema_ids:
            sl = schema_id.lower()
            if low.startswith(sl) and (len(low) == len(sl) or low[len(sl)] == ":"):
                if best is None or len(sl) > len(best):
                    best = schema_id
        if best is not None:
            return best, text[len(best) + 1:]
        head, _, tail = text.rpartition(":")
        return head, tail


def core_schemas() -> tuple[Schema, Schema, Schema]:
    user = Schema(USER_URN, "User", "User Account", USER_ATTRIBUTES)
    group = Schema(GROUP_URN, "Group", "Group", GROUP_ATTRIBUTES)
    enterprise = Schema(ENTERPRISE_URN, "EnterpriseUser", "Enterprise User", ENTERPRISE_ATTRIBUTES)
    return user, group, enterprise


def build_registry(extra_user_extensions: Iterable[Schema] = ()) -> SchemaRegistry:
    """The registry of the server: User (with EnterpriseUser and any profile extensions) and Group."""
    user, group, enterprise = core_schemas()
    user_rt = ResourceType("User", "/Users", user, [(enterprise, False)] + [(s, False) for s in extra_user_extensions],
                           "User Account")
    group_rt = ResourceType("Group", "/Groups", group, [], "Group")
    return SchemaRegistry([user_rt, group_rt])


def service_provider_config(base_url: str, *, bulk_max_operations: int, bulk_max_payload: int,
                            filter_max_results: int, realm: str) -> dict[str, Any]:
    """RFC 7643 §5: what this server supports, with its real limits."""
    return {
        "schemas": [SPC_URN],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": {"supported": True},
        "bulk": {"supported": True, "maxOperations": bulk_max_operations, "maxPayloadSize": bulk_max_payload},
        "filter": {"supported": True, "maxResults": filter_max_results},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": True,
            "description": f"Authentication with a bearer token issued for the realm '{realm}'.",
            "specUri": "https://datatracker.ietf.org/doc/html/rfc6750",
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base_url}/ServiceProviderConfig"},
    }
