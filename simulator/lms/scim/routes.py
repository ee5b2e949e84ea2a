"""SCIM endpoints (RFC 7644 §3, §4): each route reads HTTP, calls the service, and writes HTTP.

Bodies are read as ``application/scim+json`` or ``application/json`` (the RFC's
media type and the one many clients send); anything else is 415. A body that
is not JSON is ``invalidSyntax``; one over the profile's size limit is 413.
Answers are ``application/scim+json`` with ``ETag`` (the resource's
``meta.version``) and, on creation, ``Location``.

The resource operations (list, create, get, replace, patch, delete) are written
once, as functions of a ``ScimRequest`` (what they read of a request) returning
an ``Answer`` (status, headers, body). The Flask views below wrap them, and so
does the raw-WSGI fast path (``fast_path.py``) that serves the hot requests
without Flask: both paths run the same code, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from flask import Blueprint, Response, request
from werkzeug.http import parse_options_header

from .bulk import run_bulk
from .context import ctx
from .errors import SCIM_CONTENT_TYPE, InvalidSyntax, NotFound, NotImplementedFeature, PayloadTooLarge, UnsupportedMediaType
from .projection import Projection
from .query import build_query, search_body_query
from .service import Outcome, ScimService

bp = Blueprint("scim", __name__)

JSON_TYPES = ("application/scim+json", "application/json")
ENDPOINTS = "any(Users, Groups)"
#: Where the base URL of a request is cached on its WSGI environ (several parts of one answer need it).
BASE_URL_KEY = "entrasim.scim.base_url"


# ---------------------------------------------------------------- what an operation reads and writes


def base_url_of(environ: dict[str, Any], base_path: str) -> str:
    """The SCIM base URL as the client reached it (scheme, host and port of the request, plus the base path).

    Read from the WSGI environ and cached on it: werkzeug's ``host_url`` re-encodes the URL on every access,
    which costs more than most SCIM operations here.
    """
    url = environ.get(BASE_URL_KEY)
    if url is None:
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        url = environ[BASE_URL_KEY] = f"{environ['wsgi.url_scheme']}://{host}{base_path}"
    return url


def mimetype_of(environ: dict[str, Any]) -> str:
    """The request's media type, lower-cased and without parameters (werkzeug's ``Request.mimetype``)."""
    return parse_options_header(environ.get("CONTENT_TYPE", ""))[0].lower()


def query_params(environ: dict[str, Any]) -> dict[str, str]:
    """The first value of each query parameter, decoded as werkzeug decodes ``Request.args``."""
    pairs = parse_qsl(environ.get("QUERY_STRING", "").encode("latin1").decode(), keep_blank_values=True,
                      errors="werkzeug.url_quote")
    params: dict[str, str] = {}
    for key, value in pairs:
        params.setdefault(key, value)
    return params


def decode_body(mimetype: str, read_raw: Callable[[], bytes], limit: int) -> Any:
    """A request's JSON body, or the SCIM error saying why it cannot be read (media type first, then size, then JSON)."""
    if mimetype and mimetype not in JSON_TYPES:
        raise UnsupportedMediaType(f"the body must be application/scim+json (or application/json), not {mimetype}")
    raw = read_raw()
    if len(raw) > limit:
        raise PayloadTooLarge(f"the body is {len(raw)} bytes; this server accepts at most {limit}")
    if not raw.strip():
        raise InvalidSyntax("the request has no body: expected a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidSyntax(f"the body is not valid JSON: {exc}") from None


class ScimRequest:
    """What a resource operation reads of one request: its query, preconditions, body and base URL.

    Built over the WSGI environ, so the Flask views and the fast path read a request the same way;
    only how the raw body is fetched differs (Flask's cached ``get_data``, or bytes already read).
    """

    __slots__ = ("_read_raw", "base_url", "environ")

    def __init__(self, environ: dict[str, Any], base_path: str, read_raw: Callable[[], bytes]):
        self.environ = environ
        self.base_url = base_url_of(environ, base_path)
        self._read_raw = read_raw

    def params(self) -> dict[str, str]:
        return query_params(self.environ) if self.environ.get("QUERY_STRING") else {}

    def header(self, environ_key: str) -> str | None:
        return self.environ.get(environ_key)

    def body(self, limit: int) -> Any:
        return decode_body(mimetype_of(self.environ), self._read_raw, limit)


@dataclass
class Answer:
    """An operation's HTTP answer: a SCIM JSON body (or none, for 204 and 304) and the headers it adds."""

    status: int
    body: bytes | None
    headers: dict[str, str] = field(default_factory=dict)


def json_answer(body: Any, status: int = 200) -> Answer:
    return Answer(status, orjson.dumps(body))


def outcome_answer(outcome: Outcome) -> Answer:
    headers: dict[str, str] = {}
    if outcome.version:
        headers["ETag"] = outcome.version
    if outcome.location and outcome.status in (200, 201, 204, 304):
        if outcome.status == 201:
            headers["Location"] = outcome.location
        else:
            headers["Content-Location"] = outcome.location
    body = orjson.dumps(outcome.body) if outcome.body is not None else None
    return Answer(outcome.status, body, headers)


def to_response(answer: Answer) -> Response:
    """The Flask response of an answer (the fast path writes the same status, headers and bytes itself)."""
    if answer.body is None:
        response = Response(b"", status=answer.status)
    else:
        response = Response(answer.body, status=answer.status, content_type=SCIM_CONTENT_TYPE)
    for key, value in answer.headers.items():
        response.headers[key] = value
    return response


# ---------------------------------------------------------------- resource operations (RFC 7644 §3.3-3.6), shared


def rtype_of(service: ScimService, endpoint: str) -> str:
    for rt in service.registry.resource_types.values():
        if rt.endpoint.strip("/") == endpoint:
            return rt.name
    raise NotFound(f"no resource endpoint /{endpoint}")


def projection_of(service: ScimService, req: ScimRequest, rtype: str) -> Projection:
    if not req.environ.get("QUERY_STRING"):
        # No parameters at all (Entra's POSTs and PATCHes): parsing the empty query string costs more than the rest.
        return service.projection([service.resource_type(rtype)], None, None)
    params = req.params()
    return service.projection([service.resource_type(rtype)], params.get("attributes"),
                              params.get("excludedAttributes"))


def _body(service: ScimService, req: ScimRequest) -> Any:
    return req.body(service.profile.limits.max_body_bytes)


def list_resources_op(service: ScimService, req: ScimRequest, endpoint: str) -> Answer:
    return json_answer(service.query([rtype_of(service, endpoint)], build_query(req.params()), req.base_url,
                                     in_uri=True))


def create_resource_op(service: ScimService, req: ScimRequest, endpoint: str) -> Answer:
    rtype = rtype_of(service, endpoint)
    return outcome_answer(service.create(rtype, _body(service, req), req.base_url, projection_of(service, req, rtype)))


def get_resource_op(service: ScimService, req: ScimRequest, endpoint: str, rid: str) -> Answer:
    rtype = rtype_of(service, endpoint)
    return outcome_answer(service.get(rtype, rid, req.base_url, projection_of(service, req, rtype),
                                      if_none_match=req.header("HTTP_IF_NONE_MATCH")))


def _modify(write: Callable[..., Outcome], service: ScimService, req: ScimRequest, endpoint: str,
            rid: str) -> Answer:
    """PUT and PATCH: the same arguments (body, projection, both preconditions) to ``service.replace``/``patch``."""
    rtype = rtype_of(service, endpoint)
    return outcome_answer(write(rtype, rid, _body(service, req), req.base_url, projection_of(service, req, rtype),
                                if_match=req.header("HTTP_IF_MATCH"), if_none_match=req.header("HTTP_IF_NONE_MATCH")))


def replace_resource_op(service: ScimService, req: ScimRequest, endpoint: str, rid: str) -> Answer:
    return _modify(service.replace, service, req, endpoint, rid)


def patch_resource_op(service: ScimService, req: ScimRequest, endpoint: str, rid: str) -> Answer:
    return _modify(service.patch, service, req, endpoint, rid)


def delete_resource_op(service: ScimService, req: ScimRequest, endpoint: str, rid: str) -> Answer:
    service.delete(rtype_of(service, endpoint), rid, if_match=req.header("HTTP_IF_MATCH"))
    return Answer(204, None)


#: The operations on a collection ({base}/Users) and on one resource ({base}/Users/{id}), by method.
COLLECTION_OPERATIONS = {"GET": list_resources_op, "POST": create_resource_op}
RESOURCE_OPERATIONS = {"GET": get_resource_op, "PUT": replace_resource_op, "PATCH": patch_resource_op,
                       "DELETE": delete_resource_op}


# ---------------------------------------------------------------- Flask views


def _scim_request() -> ScimRequest:
    return ScimRequest(request.environ, ctx().config.base_path, lambda: request.get_data(cache=True))


def base_url() -> str:
    return base_url_of(request.environ, ctx().config.base_path)


def scim_json(body: Any, status: int = 200) -> Response:
    return to_response(json_answer(body, status))


def read_body(limit: int | None = None) -> Any:
    """The request's JSON body, or the SCIM error saying why it cannot be read."""
    return decode_body(mimetype_of(request.environ), lambda: request.get_data(cache=True),
                       limit or ctx().service.profile.limits.max_body_bytes)


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
    return to_response(list_resources_op(ctx().service, _scim_request(), endpoint))


@bp.post(f"/<{ENDPOINTS}:endpoint>/.search")
def search_resources(endpoint: str) -> Response:
    service = ctx().service
    return scim_json(service.query([rtype_of(service, endpoint)], search_body_query(read_body()), base_url()))


@bp.post(f"/<{ENDPOINTS}:endpoint>")
def create_resource(endpoint: str) -> Response:
    return to_response(create_resource_op(ctx().service, _scim_request(), endpoint))


@bp.get(f"/<{ENDPOINTS}:endpoint>/<rid>")
def get_resource(endpoint: str, rid: str) -> Response:
    return to_response(get_resource_op(ctx().service, _scim_request(), endpoint, rid))


@bp.put(f"/<{ENDPOINTS}:endpoint>/<rid>")
def replace_resource(endpoint: str, rid: str) -> Response:
    return to_response(replace_resource_op(ctx().service, _scim_request(), endpoint, rid))


@bp.patch(f"/<{ENDPOINTS}:endpoint>/<rid>")
def patch_resource(endpoint: str, rid: str) -> Response:
    return to_response(patch_resource_op(ctx().service, _scim_request(), endpoint, rid))


@bp.delete(f"/<{ENDPOINTS}:endpoint>/<rid>")
def delete_resource(endpoint: str, rid: str) -> Response:
    return to_response(delete_resource_op(ctx().service, _scim_request(), endpoint, rid))


# ---------------------------------------------------------------- root search, bulk, /Me


def _all_types() -> list[str]:
    return list(ctx().service.registry.resource_types)


@bp.get("/")
def root_query() -> Response:
    return scim_json(ctx().service.query(_all_types(), build_query(query_params(request.environ)), base_url(),
                                         in_uri=True))


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
