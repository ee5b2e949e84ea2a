"""SCIM endpoints (RFC 7644 §3, §4): each route reads HTTP, calls the service, and writes HTTP.

Bodies are read as ``application/scim+json`` or ``application/json`` (the RFC's
media type and the one many clients send); anything else is 415. A body that
is not JSON is ``invalidSyntax``; one over the profile's size limit is 413.
Answers are ``application/scim+json`` with ``ETag`` (the resource's
``meta.version``) and, on creation, ``Location``.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Blueprint, Response, request

from .bulk import run_bulk
from .context import base_url, ctx
from .errors import SCIM_CONTENT_TYPE, InvalidSyntax, NotFound, NotImplementedFeature, PayloadTooLarge, UnsupportedMediaType
from .query import build_query, search_body_query
from .service import Outcome

bp = Blueprint("scim", __name__)

JSON_TYPES = ("application/scim+json", "application/json")
ENDPOINTS = "any(Users, Groups)"


def scim_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(orjson.dumps(body), status=status, content_type=SCIM_CONTENT_TYPE)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def read_body(limit: int | None = None) -> Any:
    """The request's JSON body, or the SCIM error saying why it cannot be read."""
    limit = limit or ctx().service.profile.limits.max_body_bytes
    mimetype = request.mimetype
    if mimetype and mimetype not in JSON_TYPES:
        raise UnsupportedMediaType(f"the body must be application/scim+json (or application/json), not {mimetype}")
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise PayloadTooLarge(f"the body is {len(raw)} bytes; this server accepts at most {limit}")
    if not raw.strip():
        raise InvalidSyntax("the request has no body: expected a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidSyntax(f"the body is not valid JSON: {exc}") from None


def rtype_of(endpoint: str) -> str:
    for rt in ctx().service.registry.resource_types.values():
        if rt.endpoint.strip("/") == endpoint:
            return rt.name
    raise NotFound(f"no resource endpoint /{endpoint}")


def _projection(rtype: str):
    service = ctx().service
    if not request.environ.get("QUERY_STRING"):
        # No parameters at all (Entra's POSTs and PATCHes): parsing the empty query string costs more than the rest.
        return service.projection([service.resource_type(rtype)], None, None)
    return service.projection([service.resource_type(rtype)], request.args.get("attributes"),
                              request.args.get("excludedAttributes"))


def _answer(outcome: Outcome) -> Response:
    headers: dict[str, str] = {}
    if outcome.version:
        headers["ETag"] = outcome.version
    if outcome.location and outcome.status in (200, 201, 204, 304):
        if outcome.status == 201:
            headers["Location"] = outcome.location
        else:
            headers["Content-Location"] = outcome.location
    if outcome.body is None:
        response = Response(b"", status=outcome.status)
        for key, value in headers.items():
            response.headers[key] = value
        return response
    return scim_json(outcome.body, outcome.status, headers)


# ---------------------------------------------------------------- discovery (RFC 7644 §4)


@bp.get("/ServiceProviderConfig")
def service_provider_config() -> Response:
    return scim_json(ctx().service.service_provider_config(base_url()))


@bp.get("/ResourceTypes")
def resource_types() -> Response:
    service = ctx().service
    return scim_json(service.list_response(service.resource_types(base_url())))


@bp.get("/ResourceTypes/<name>")
def resource_type(name: str) -> Response:
    for item in ctx().service.resource_types(base_url()):
        if item["id"] == name:
            return scim_json(item)
    raise NotFound(f"no resource type '{name}'")


@bp.get("/Schemas")
def schemas() -> Response:
    service = ctx().service
    return scim_json(service.list_response(service.schemas(base_url())))


@bp.get("/Schemas/<path:schema_id>")
def schema(schema_id: str) -> Response:
    for item in ctx().service.schemas(base_url()):
        if item["id"].lower() == schema_id.lower():
            return scim_json(item)
    raise NotFound(f"no schema '{schema_id}'")


# ---------------------------------------------------------------- resources (RFC 7644 §3.3-3.6)


@bp.get(f"/<{ENDPOINTS}:endpoint>")
def list_resources(endpoint: str) -> Response:
    return scim_json(ctx().service.query([rtype_of(endpoint)], build_query(request.args.to_dict()), base_url(),
                                         in_uri=True))


@bp.post(f"/<{ENDPOINTS}:endpoint>/.search")
def search_resources(endpoint: str) -> Response:
    return scim_json(ctx().service.query([rtype_of(endpoint)], search_body_query(read_body()), base_url()))


@bp.post(f"/<{ENDPOINTS}:endpoint>")
def create_resource(endpoint: str) -> Response:
    rtype = rtype_of(endpoint)
    return _answer(ctx().service.create(rtype, read_body(), base_url(), _projection(rtype)))


@bp.get(f"/<{ENDPOINTS}:endpoint>/<rid>")
def get_resource(endpoint: str, rid: str) -> Response:
    rtype = rtype_of(endpoint)
    return _answer(ctx().service.get(rtype, rid, base_url(), _projection(rtype),
                                     if_none_match=request.headers.get("If-None-Match")))


@bp.put(f"/<{ENDPOINTS}:endpoint>/<rid>")
def replace_resource(endpoint: str, rid: str) -> Response:
    rtype = rtype_of(endpoint)
    return _answer(ctx().service.replace(rtype, rid, read_body(), base_url(), _projection(rtype),
                                         if_match=request.headers.get("If-Match"),
                                         if_none_match=request.headers.get("If-None-Match")))


@bp.patch(f"/<{ENDPOINTS}:endpoint>/<rid>")
def patch_resource(endpoint: str, rid: str) -> Response:
    rtype = rtype_of(endpoint)
    return _answer(ctx().service.patch(rtype, rid, read_body(), base_url(), _projection(rtype),
                                       if_match=request.headers.get("If-Match"),
                                       if_none_match=request.headers.get("If-None-Match")))


@bp.delete(f"/<{ENDPOINTS}:endpoint>/<rid>")
def delete_resource(endpoint: str, rid: str) -> Response:
    ctx().service.delete(rtype_of(endpoint), rid, if_match=request.headers.get("If-Match"))
    return Response(b"", status=204)


# ---------------------------------------------------------------- root search, bulk, /Me


def _all_types() -> list[str]:
    return list(ctx().service.registry.resource_types)


@bp.get("/")
def root_query() -> Response:
    return scim_json(ctx().service.query(_all_types(), build_query(request.args.to_dict()), base_url(), in_uri=True))


@bp.post("/.search")
def root_search() -> Response:
    return scim_json(ctx().service.query(_all_types(), search_body_query(read_body()), base_url()))


@bp.post("/Bulk")
def bulk() -> Response:
    limit = ctx().service.profile.limits.bulk_max_payload_bytes
    raw_size = request.content_length or 0
    if raw_size > limit:
        raise PayloadTooLarge(f"The size of the bulk operation exceeds the maxPayloadSize ({limit}).")
    body = read_body(limit)
    return scim_json(run_bulk(ctx().service, body, base_url(), len(request.get_data(cache=True))))


@bp.route("/Me", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def me() -> Response:
    raise NotImplementedFeature("/Me is not supported: this server does not map bearer tokens to users (RFC 7644 §3.11)")
