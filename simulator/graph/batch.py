"""JSON batching: ``POST /v1.0/$batch`` with up to 20 requests.

Each inner request is dispatched through this same Flask app, in process, as a
request of its own: it carries the batch's ``Authorization`` header plus its own
headers (``ConsistencyLevel`` goes there), so token checks, permissions, fault
rules (an inner 429 with ``Retry-After`` while the batch itself answers 200)
and the request log apply to it exactly as to a direct call, and its
``@odata.nextLink`` stays absolute to the server the client reached.

``dependsOn`` orders requests; a request whose dependency did not succeed is not
run and answers 424 Failed Dependency. A malformed batch (not JSON, no
``requests`` array, more than 20 requests, duplicate ids, unknown or circular
dependencies) is refused whole with 400, as Graph does.
"""

from __future__ import annotations

import base64
import errno
import json
from dataclasses import dataclass, field
from typing import Any, Iterable
from urllib.parse import quote

from flask import Blueprint, Response, current_app, request
from werkzeug.test import EnvironBuilder, run_wsgi_app

from .api import Endpoint, install_gateway
from .errors import BatchTooLarge, FailedDependency, GraphError, InvalidBatchRequest
from .resources import json_response

bp = Blueprint("graph_batch", __name__)
install_gateway(bp, {"batch": Endpoint(needs=())})

MAX_REQUESTS = 20
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
VERSION_PREFIX = "/v1.0"
#: Response headers that describe the inner HTTP exchange rather than the response, left out of ``headers``.
_HOP_BY_HOP = {"content-length", "connection", "keep-alive", "transfer-encoding", "date", "server"}
_MALFORMED_JSON = ("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of "
                   "valid JSON format.")


def register(app: Any) -> None:
    """Mount ``/v1.0/$batch`` (app.py calls this next to the main Graph blueprint)."""
    app.register_blueprint(bp, url_prefix=VERSION_PREFIX)


@dataclass
class InnerRequest:
    id: str
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    has_body: bool = False
    depends_on: list[str] = field(default_factory=list)


class ConnectionDropped(Exception):
    """A fault rule dropped (or cut short) the connection while an inner request was answered."""


@bp.route("/$batch", methods=["POST"], endpoint="batch")
def batch() -> Response:
    requests_ = parse_batch(request.get_data(cache=True))
    results: dict[str, dict[str, Any]] = {}
    try:
        for inner in execution_order(requests_):
            failed = [d for d in inner.depends_on if not 200 <= results[d.lower()]["status"] < 300]
            if failed:
                results[inner.id.lower()] = _error_result(inner.id, FailedDependency(inner.id, failed))
            else:
                results[inner.id.lower()] = dispatch(inner)
    except ConnectionDropped:
        # The client's connection is already shut down; end the exchange the way the server expects a
        # vanished client to end it, from inside its write loop.
        return Response(_connection_gone(), status=500)
    return json_response({"responses": [results[r.id.lower()] for r in requests_]})


def _connection_gone() -> Iterable[bytes]:
    raise BrokenPipeError(errno.EPIPE, "entrasim fault: connection dropped during a batch")
    yield b""  # pragma: no cover - makes this a generator


# =====================================================================  parsing and ordering
def parse_batch(raw: bytes) -> list[InnerRequest]:
    """The batch's requests, validated; anything malformed refuses the whole batch (400)."""
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidBatchRequest(_MALFORMED_JSON) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise InvalidBatchRequest("Invalid batch payload format: the body must be a JSON object with a 'requests' "
                                  "array.")
    items = payload["requests"]
    if not items:
        raise InvalidBatchRequest("Invalid batch payload format: the 'requests' array is empty.")
    if len(items) > MAX_REQUESTS:
        raise BatchTooLarge(len(items), MAX_REQUESTS)
    parsed: list[InnerRequest] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        inner = _parse_one(index, item)
        key = inner.id.lower()  # ids are not case-sensitive
        if key in seen:
            raise InvalidBatchRequest(f"Invalid batch payload format: the request id '{inner.id}' is used more "
                                      "than once; ids must be unique within a batch.")
        seen.add(key)
        parsed.append(inner)
    for inner in parsed:
        for dep in inner.depends_on:
            if dep.lower() not in seen:
                raise InvalidBatchRequest(f"Invalid batch payload format: request '{inner.id}' depends on "
                                          f"'{dep}', which is not in the batch.")
            if dep.lower() == inner.id.lower():
                raise InvalidBatchRequest(f"Invalid batch payload format: request '{inner.id}' depends on itself.")
    return parsed


def _parse_one(index: int, item: Any) -> InnerRequest:
    where = f"requests[{index}]"
    if not isinstance(item, dict):
        raise InvalidBatchRequest(f"Invalid batch payload format: {where} is not a JSON object.")
    rid, method, url = item.get("id"), item.get("method"), item.get("url")
    if not isinstance(rid, str) or not rid.strip():
        raise InvalidBatchRequest(f"Invalid batch payload format: {where} needs an 'id' string.")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise InvalidBatchRequest(f"Invalid batch payload format: request '{rid}' needs a 'method' among "
                                  f"{', '.join(METHODS)}.")
    if not isinstance(url, str) or not url.strip():
        raise InvalidBatchRequest(f"Invalid batch payload format: request '{rid}' needs a 'url' string.")
    headers = item.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, (str, int, float))
                                                for k, v in headers.items()):
        raise InvalidBatchRequest(f"Invalid batch payload format: the 'headers' of request '{rid}' must be an "
                                  "object of header names and string values.")
    depends = item.get("dependsOn") or []
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        raise InvalidBatchRequest(f"Invalid batch payload format: the 'dependsOn' of request '{rid}' must be an "
                                  "array of request ids.")
    has_body = "body" in item and item["body"] is not None
    if has_body and not any(k.lower() == "content-type" for k in headers):
        raise InvalidBatchRequest(f"Invalid batch payload format: request '{rid}' has a body but no Content-Type "
                                  "header.")
    return InnerRequest(id=rid, method=method.upper(), url=url.strip(), headers={k: str(v) for k, v in headers.items()},
                        body=item.get("body"), has_body=has_body, depends_on=depends)


def execution_order(items: list[InnerRequest]) -> list[InnerRequest]:
    """Requests in batch order, each after the ones it depends on; a dependency cycle refuses the batch."""
    by_id = {r.id.lower(): r for r in items}
    done: set[str] = set()
    visiting: set[str] = set()
    order: list[InnerRequest] = []

    def visit(r: InnerRequest) -> None:
        key = r.id.lower()
        if key in done:
            return
        if key in visiting:
            raise InvalidBatchRequest(f"Invalid batch payload format: the dependsOn chain through request "
                                      f"'{r.id}' is circular.")
        visiting.add(key)
        for dep in r.depends_on:
            visit(by_id[dep.lower()])
        visiting.discard(key)
        done.add(key)
        order.append(r)

    for r in items:
        visit(r)
    return order


# =====================================================================  dispatching
def _inner_target(url: str) -> tuple[str, str] | None:
    """(path under the app, query string) of a relative batch URL, or None when it is not relative."""
    if "://" in url or url.startswith("//"):
        return None
    path, _, query = url.partition("?")
    path = "/" + path.lstrip("/")
    if path.lower() == VERSION_PREFIX or path.lower().startswith(VERSION_PREFIX + "/"):
        path = path[len(VERSION_PREFIX):] or "/"
    return VERSION_PREFIX + path, query


def dispatch(inner: InnerRequest) -> dict[str, Any]:
    """Run one request through the app as if it had arrived on its own; its response as a batch entry."""
    target = _inner_target(inner.url)
    if target is None:
        return _error_result(inner.id, InvalidBatchRequest(
            f"Invalid request URL '{inner.url}': batched requests use URLs relative to the version root, "
            "such as /users."))
    path, query = target
    if path.rstrip("/").lower() == VERSION_PREFIX + "/$batch":
        return _error_result(inner.id, InvalidBatchRequest("A batch cannot contain a $batch request."))
    headers = dict(inner.headers)
    if not any(k.lower() == "authorization" for k in headers) and "Authorization" in request.headers:
        headers["Authorization"] = request.headers["Authorization"]
    data = _body_bytes(inner) if inner.has_body else None
    builder = EnvironBuilder(path=quote(path, safe="/$@!'()*,;=:+~%"),
                             query_string=quote(query, safe="=&$@!'()*,;:/?+~%\""),
                             method=inner.method, base_url=request.host_url.rstrip("/") + request.script_root,
                             headers=headers, data=data)
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    environ["REMOTE_ADDR"] = request.remote_addr or "127.0.0.1"
    # A fault that drops the connection drops the one the batch arrived on, as a gateway failure would.
    for key in ("entrasim.socket", "werkzeug.socket", "gunicorn.socket"):
        if key in request.environ:
            environ[key] = request.environ[key]
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # A fresh app context: Flask would otherwise reuse the batch's, and with it ``g`` (request id, fault, claims).
    try:
        with app.app_context():
            app_iter, status, response_headers = run_wsgi_app(app.wsgi_app, environ, buffered=True)
            try:
                body = b"".join(app_iter)
            finally:
                if hasattr(app_iter, "close"):
                    app_iter.close()
    except (BrokenPipeError, ConnectionAbortedError):
        raise ConnectionDropped() from None
    return _result(inner.id, int(status.split(" ", 1)[0]), response_headers, body)


def _body_bytes(inner: InnerRequest) -> bytes:
    """A JSON body as JSON; a string body under a non-JSON Content-Type is base64 (Graph's convention for binaries)."""
    content_type = next((v for k, v in inner.headers.items() if k.lower() == "content-type"), "")
    if isinstance(inner.body, str) and "json" not in content_type.lower():
        try:
            return base64.b64decode(inner.body, validate=True)
        except ValueError:
            return inner.body.encode("utf-8")
    return json.dumps(inner.body).encode("utf-8")


def _result(rid: str, status: int, headers: Any, body: bytes) -> dict[str, Any]:
    out_headers: dict[str, str] = {}
    content_type = ""
    for key, value in headers.items():
        if key.lower() in _HOP_BY_HOP:
            continue
        out_headers[key] = value
        if key.lower() == "content-type":
            content_type = value.lower()
    result: dict[str, Any] = {"id": rid, "status": status, "headers": out_headers}
    if body:
        if "json" in content_type:
            try:
                result["body"] = json.loads(body)
            except (UnicodeDecodeError, json.JSONDecodeError):
                result["body"] = body.decode("utf-8", "replace")
        elif content_type.startswith("text/"):
            result["body"] = body.decode("utf-8", "replace")
        else:
            result["body"] = base64.b64encode(body).decode()
    return result


def _error_result(rid: str, err: GraphError) -> dict[str, Any]:
    """A batch entry for a request the batch itself answered (bad URL, failed dependency)."""
    headers = {"Content-Type": "application/json"}
    headers.update(err.headers)
    return {"id": rid, "status": err.status, "headers": headers, "body": err.body()}
