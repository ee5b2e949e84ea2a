"""What a check works with: the run's shared state (discovery, namespace, credentials) and its own context.

``RunState`` is built once per run: it reads the discovery endpoints, picks a
run-unique namespace prefix (every userName, displayName, externalId and email
the suite creates starts with it), and at the end sweeps anything left under
that prefix. ``CheckContext`` is one check's view: HTTP helpers recorded for
its report, factories that create namespaced resources and register their
deletion, and ``expect`` / ``skip`` / ``require`` to reach a verdict.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from .client import Recorder, Response, ScimClient
from .response_schemas import SchemaFinding, problems_in
from .schemas import validate
from .verdicts import Broken, Skip, Unmet

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
EMAIL_DOMAIN = "example.test"


@dataclass
class Discovery:
    """What the server says about itself (RFC 7644 §4), read once per run."""

    spc: dict[str, Any] | None = None
    resource_types: list[dict[str, Any]] = field(default_factory=list)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def advertises(self, feature: str) -> bool | None:
        """True/False from ServiceProviderConfig (or the resource types); None when it could not be read."""
        if feature == "Group":
            if not self.resource_types:
                return None
            return any(str(rt.get("endpoint", "")).strip("/").lower() == "groups" for rt in self.resource_types)
        if feature == "enterprise":
            if not self.resource_types:
                return None
            return any(ext.get("schema") == ENTERPRISE for rt in self.resource_types
                       for ext in rt.get("schemaExtensions") or [] if isinstance(ext, dict))
        if self.spc is None:
            return None
        member = self.spc.get(feature)
        return bool(member.get("supported")) if isinstance(member, dict) else False

    def attribute(self, schema_id: str, name: str) -> dict[str, Any] | None:
        """An attribute definition (``name`` or ``name.sub``) from /Schemas, case-insensitively."""
        schema = next((s for k, s in self.schemas.items() if k.lower() == schema_id.lower()), None)
        if schema is None:
            return None
        head, _, sub = name.partition(".")
        attr = next((a for a in schema.get("attributes") or [] if str(a.get("name", "")).lower() == head.lower()), None)
        if attr is None or not sub:
            return attr
        return next((a for a in attr.get("subAttributes") or [] if str(a.get("name", "")).lower() == sub.lower()), None)


#: Assumed when ServiceProviderConfig cannot be read: the core operations are tried, the optional ones skipped.
ASSUMED_WHEN_UNKNOWN = {"patch": True, "filter": True, "Group": True, "enterprise": False}


class RunState:
    """Shared by every check of one run."""

    def __init__(self, client: ScimClient, read_only: bool = False, prefix: str | None = None):
        self.client = client
        self.read_only = read_only
        self.prefix = prefix or f"scimconf-{secrets.token_hex(4)}"
        self.discovery = Discovery()
        self.setup = Recorder()
        self.discovery_exchanges: list = []
        self.fatal: str | None = None
        self._counter = 0
        #: Responses that do not match their JSON Schema, and how many were checked (see response_schemas).
        self.schema_findings: list[SchemaFinding] = []
        self.responses_validated = 0
        #: The first valid response of each schema: what a passing report shows as its proof.
        self.schema_examples: dict[str, Any] = {}

    def next_name(self, tag: str) -> str:
        self._counter += 1
        return f"{self.prefix}-{tag}-{self._counter}"

    def discover(self) -> Discovery:
        """Read /ServiceProviderConfig, /ResourceTypes and /Schemas (recorded as the run's setup exchanges)."""
        self.client.recorder = self.setup
        try:
            d = self.discovery
            spc = self.client.request("GET", "ServiceProviderConfig")
            if spc.status == 200 and spc.body:
                d.spc = spc.body
            else:
                d.problems.append(f"GET /ServiceProviderConfig answered {spc.status or spc.error}")
            rts = self.client.request("GET", "ResourceTypes")
            if rts.status == 200:
                d.resource_types = rts.resources() or ([rts.json] if isinstance(rts.json, dict) and "endpoint" in rts.json
                                                       else [r for r in rts.json or [] if isinstance(r, dict)]
                                                       if isinstance(rts.json, list) else [])
            else:
                d.problems.append(f"GET /ResourceTypes answered {rts.status or rts.error}")
            schemas = self.client.request("GET", "Schemas")
            if schemas.status == 200:
                items = schemas.resources() or ([s for s in schemas.json if isinstance(s, dict)]
                                                if isinstance(schemas.json, list) else [])
                d.schemas = {str(s.get("id")): s for s in items if s.get("id")}
            else:
                d.problems.append(f"GET /Schemas answered {schemas.status or schemas.error}")
            self.discovery_exchanges = list(self.setup.exchanges)
            for exchange, response in zip(self.discovery_exchanges, (spc, rts, schemas), strict=True):
                self.judge_response(exchange, response, None)
            return d
        finally:
            self.client.recorder = None

    def judge_response(self, exchange, response: Response, check_id: str | None) -> SchemaFinding | None:
        """Validate one response against the schema its request calls for; keep and return a finding."""
        schema, problems = problems_in(exchange.method, exchange.url, self.client.base_url, response)
        if schema is None:
            return None
        self.responses_validated += 1
        if not problems:
            self.schema_examples.setdefault(schema, exchange)
            return None
        finding = SchemaFinding(exchange, schema, problems, check_id)
        self.schema_findings.append(finding)
        return finding

    def supports(self, feature: str) -> bool:
        said = self.discovery.advertises(feature)
        return ASSUMED_WHEN_UNKNOWN.get(feature, False) if said is None else said

    def sweep(self) -> list[str]:
        """Delete whatever is still namespaced under this run's prefix; returns what it could not delete."""
        leftovers: list[str] = []
        self.client.recorder = self.setup
        try:
            for endpoint, attr in (("Users", "userName"), ("Groups", "displayName")):
                if endpoint == "Groups" and not self.supports("Group"):
                    continue
                for _round in range(5):
                    found = self.client.request("GET", endpoint, params={"filter": f'{attr} sw "{self.prefix}"',
                                                                           "count": 200, "attributes": "id"},
                                                note="cleanup sweep")
                    ids = [r.get("id") for r in found.resources() if r.get("id")]
                    if found.status != 200 or not ids:
                        break
                    for rid in ids:
                        gone = self.client.request("DELETE", f"{endpoint}/{rid}", note="cleanup sweep")
                        if gone.status not in (200, 204, 404):
                            leftovers.append(f"{endpoint}/{rid}")
                    if leftovers:
                        break
        finally:
            self.client.recorder = None
        return leftovers


class CheckContext:
    """One check's helpers; every request goes into this check's exchanges."""

    def __init__(self, run: RunState):
        self.run = run
        self.client = run.client
        self.recorder = Recorder()
        self.check_id: str | None = None
        self.created: list[tuple[str, str]] = []
        self.notes: list[str] = []
        #: Set when the check judged what discovery said: the report then shows the discovery exchanges too.
        self.used_discovery = False

    # ------------------------------------------------------------ discovery shortcuts

    @property
    def discovery(self) -> Discovery:
        self.used_discovery = True
        return self.run.discovery

    def supports(self, feature: str) -> bool:
        return self.run.supports(feature)

    # ------------------------------------------------------------ HTTP

    def request(self, method: str, path: str, **kw: Any) -> Response:
        if self.run.read_only and method not in ("GET", "HEAD"):
            raise Skip(f"read-only run: this check would send {method} /{path}")
        self.client.recorder = self.recorder
        try:
            response = self.client.request(method, path, **kw)
        finally:
            self.client.recorder = None
        if response.error is not None:
            raise Broken(f"{method} {path}: the request did not complete ({response.error})")
        if self.recorder.exchanges:
            finding = self.run.judge_response(self.recorder.exchanges[-1], response, self.check_id)
            if finding is not None:
                self.note(finding.describe())
        return response

    def get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Response:
        return self.request("GET", path, params=params, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Response:
        return self.request("POST", path, json_body=body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Response:
        return self.request("PUT", path, json_body=body, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.request("DELETE", path, **kw)

    def patch(self, path: str, *operations: dict[str, Any], **kw: Any) -> Response:
        return self.request("PATCH", path, json_body={"schemas": [PATCH_OP], "Operations": list(operations)}, **kw)

    # ------------------------------------------------------------ verdicts

    def expect(self, condition: Any, reason: str) -> None:
        if not condition:
            raise Unmet(reason)

    def expect_status(self, response: Response, *statuses: int, doing: str) -> None:
        if response.status not in statuses:
            wanted = " or ".join(str(s) for s in statuses)
            raise Unmet(f"{doing}: expected HTTP {wanted}, got {response.status}{_detail(response)}")

    def require(self, condition: Any, reason: str) -> None:
        if not condition:
            raise Broken(reason)

    def skip(self, reason: str) -> None:
        raise Skip(reason)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def validate(self, schema: str, document: Any, what: str) -> None:
        problems = validate(schema, document)
        if problems:
            raise Unmet(f"{what} does not match the {schema} JSON Schema: " + "; ".join(problems[:5]))

    # ------------------------------------------------------------ namespaced resources

    def name(self, tag: str) -> str:
        return self.run.next_name(tag)

    def user_body(self, tag: str = "u", **overrides: Any) -> dict[str, Any]:
        """A User every profile we know accepts: userName, name, one work email, active; all namespaced."""
        user_name = overrides["userName"] if isinstance(overrides.get("userName"), str) else self.name(tag)
        body: dict[str, Any] = {
            "schemas": [USER],
            "userName": user_name,
            "externalId": f"{user_name}-ext",
            "name": {"givenName": "Ada", "familyName": f"Lovelace {user_name[-6:]}"},
            "emails": [{"value": f"{user_name}@{EMAIL_DOMAIN}", "type": "work", "primary": True}],
            "active": True,
        }
        body.update(overrides)
        if any(k.startswith("urn:") for k in body):
            body["schemas"] = [USER] + [k for k in body if k.startswith("urn:")]
        return body

    def group_body(self, tag: str = "g", members: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
        display = self.name(tag)
        body: dict[str, Any] = {"schemas": [GROUP], "displayName": display, "externalId": f"{display}-ext"}
        if members is not None:
            body["members"] = [{"value": m} for m in members]
        body.update(overrides)
        return body

    def track(self, endpoint: str, rid: str) -> None:
        if (endpoint, rid) not in self.created:
            self.created.append((endpoint, rid))

    def create(self, endpoint: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        """POST ``body``; a prerequisite: anything but a 2xx with an id makes the check an error."""
        if self.run.read_only:
            raise Skip("read-only run: this check creates resources")
        response = self.post(endpoint, body)
        rid = response.body.get("id") if response.status in (200, 201) else None
        if rid:
            self.track(endpoint, str(rid))
        self.require(rid, f"could not create {what} (POST /{endpoint} answered {response.status}{_detail(response)})")
        return response.body

    def new_user(self, tag: str = "u", **overrides: Any) -> dict[str, Any]:
        return self.create("Users", self.user_body(tag, **overrides), "a test User")

    def new_group(self, tag: str = "g", members: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
        if not self.supports("Group"):
            raise Skip("the server does not advertise a Group resource type")
        return self.create("Groups", self.group_body(tag, members, **overrides), "a test Group")

    def fetch(self, endpoint: str, rid: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET a resource this check needs to read back (a prerequisite)."""
        response = self.get(f"{endpoint}/{rid}", params)
        self.require(response.status == 200 and response.body,
                     f"could not read back {endpoint}/{rid} (GET answered {response.status}{_detail(response)})")
        return response.body

    def cleanup(self) -> list[str]:
        """Delete what this check created, newest first; returns what could not be deleted."""
        failed = []
        for endpoint, rid in reversed(self.created):
            try:
                gone = self.request("DELETE", f"{endpoint}/{rid}", note="cleanup")
                if gone.status not in (200, 204, 404):
                    failed.append(f"{endpoint}/{rid}")
            except Broken:
                failed.append(f"{endpoint}/{rid}")
        return failed


def _detail(response: Response) -> str:
    body = response.body
    detail = body.get("detail") if body else None
    if detail:
        return f" ({str(detail)[:200]})"
    if response.text and not response.is_json:
        return f" (body: {response.text[:120]!r})"
    return ""
