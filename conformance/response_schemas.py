"""Which JSON Schema a response must match, judged from the request that produced it.

Every response the suite receives (discovery, every check's requests) goes
through ``problems_in``: a 2xx from /Users is a User or a ListResponse of Users,
a SCIM error status carries an Error, /Bulk answers a BulkResponse, and so on.
The findings are collected for the whole run and graded by one check
(``responses.json-schemas``), so a malformed response is reported once, with
the exchange that shows it, whichever check happened to receive it.

Left out on purpose: 401/403 (an authentication layer in front of the SCIM
service may answer them; ``auth.error-body`` grades that as a SHOULD), 404 on
a path that is not a resource (a web framework's page, ``errors.unknown-endpoint``),
and the members of a partial representation (``attributes=`` may legitimately
leave out a Group's displayName, so only the envelope is checked then).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from .schemas import validate

if TYPE_CHECKING:
    from .client import Exchange, Response

#: Error statuses whose body RFC 7644 §3.12 defines for a SCIM endpoint.
SCIM_ERROR_STATUSES = {400, 409, 412, 413, 500, 501}
RESOURCE_ENDPOINTS = {"users": "User", "groups": "Group"}
LISTED = {"resourcetypes": "ResourceType", "schemas": "Schema", **RESOURCE_ENDPOINTS}


@dataclass
class SchemaFinding:
    """A response that does not match the schema its request calls for."""

    exchange: Exchange
    schema: str
    problems: list[str]
    check_id: str | None = None

    def describe(self) -> str:
        where = f" (in {self.check_id})" if self.check_id else " (discovery)"
        path = urlsplit(self.exchange.url).path
        return f"{self.exchange.method} {path} -> {self.exchange.status} is not a valid {self.schema}{where}: " + (
            "; ".join(self.problems[:3]) + (f" (+{len(self.problems) - 3} more)" if len(self.problems) > 3 else ""))


def _segments(url: str, base_url: str) -> tuple[list[str], dict[str, list[str]]]:
    parts = urlsplit(url)
    base_path = urlsplit(base_url).path.rstrip("/")
    path = parts.path.removeprefix(base_path)
    return [s for s in path.split("/") if s], parse_qs(parts.query)


def expected(method: str, url: str, base_url: str, status: int | None) -> tuple[str | None, str | None]:
    """(schema of the body, schema of each listed resource) for this exchange; (None, None) when not judged."""
    segments, params = _segments(url, base_url)
    if not segments or status is None:
        return None, None
    head = segments[0].lower()
    partial = "attributes" in params or "excludedAttributes" in params
    if status in SCIM_ERROR_STATUSES or (status == 404 and head in RESOURCE_ENDPOINTS and len(segments) == 2):
        return "Error", None
    if not 200 <= status < 300:
        return None, None
    if head == "serviceproviderconfig":
        return "ServiceProviderConfig", None
    if head == "bulk" and method == "POST":
        return "BulkResponse", None
    if head == ".search" or (len(segments) == 2 and segments[1] == ".search"):
        return "ListResponse", (RESOURCE_ENDPOINTS.get(head) if not partial else None)
    if head in LISTED:
        item = LISTED[head]
        if len(segments) == 1 and method == "GET":
            return "ListResponse", (item if not partial else None)
        if len(segments) == 1 and method == "POST" and head in RESOURCE_ENDPOINTS:
            return (item if not partial else None), None
        if len(segments) == 2 and method in ("GET", "PUT", "PATCH"):
            return (item if not partial else None), None
    return None, None


def problems_in(method: str, url: str, base_url: str, response: Response) -> tuple[str | None, list[str]]:
    """The schema this response had to match and what is wrong with it (empty when fine or not judged)."""
    schema, item_schema = expected(method, url, base_url, response.status)
    if schema is None and item_schema is None:
        return None, []
    if not response.is_json or not isinstance(response.json, dict):
        if schema == "Error" or not response.text.strip():
            return schema, []  # non-JSON errors and empty bodies are graded by errors.* and patch.response
        return schema, [f"(root): the body is not a JSON object ({response.content_type or 'no content type'})"]
    problems: list[str] = []
    if schema is not None:
        problems += validate(schema, response.json)
    if item_schema is not None:
        for index, resource in enumerate(response.resources()):
            problems += [f"Resources/{index}/{p}" for p in validate(item_schema, resource)]
    return schema or item_schema, problems
