"""A raw-WSGI path in front of the SCIM LMS's Flask app, for the requests a provisioning sync sends by the thousand.

An initial sync costs the LMS a filtered GET and a POST per user, then group
creates and PATCHes; at about half a millisecond of CPU per request, Flask's
own machinery (request context, URL map, hooks, Response object) was half the
cost. ``FastPath`` serves list, get, create, replace, patch and delete of
``{base}/Users`` and ``{base}/Groups`` itself, with the very operations the
Flask views call (``routes.*_op``), the same token check, the same request-log
entry and the same status line, headers and body bytes. Anything it cannot
answer identically goes to Flask untouched: another path or method, a fault
rule in force, a body without a usable Content-Length or larger than Flask
accepts, a mounted script name, a non-ASCII path, a client waiting for
``100 Continue``.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from flask import Response
from werkzeug.exceptions import HTTPException
from werkzeug.urls import iri_to_uri
from werkzeug.wsgi import get_current_url

from .app import record_request, scim_error_for_http, unexpected_error
from .context import LmsContext
from .errors import SCIM_CONTENT_TYPE, ScimError
from .routes import (
    BASE_URL_KEY,
    COLLECTION_OPERATIONS,
    RESOURCE_OPERATIONS,
    Answer,
    ScimRequest,
    base_url_of,
    to_response,
)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Characters ``iri_to_uri`` leaves as they are in a URL path (so a Location made of them needs no re-encoding).
_URI_SAFE_TAIL = re.compile(r"[A-Za-z0-9_.~!$&'()*+,/:;=@%-]*")
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))
#: Flask's empty Response (a 204) keeps werkzeug's default media type.
_EMPTY_CONTENT_TYPE = Response.default_mimetype + "; charset=utf-8"
_MAX_REMEMBERED_BASES = 64


@cache
def status_line(code: int) -> str:
    """The WSGI status line werkzeug writes for ``code`` ("201 CREATED")."""
    return Response(status=code).status


def _read_exactly(stream: Any, size: int) -> bytes:
    """``size`` bytes of the request body, or fewer if the client stopped sending (a server may return short reads)."""
    chunks = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _werkzeug_parts(response: Response, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes, bytes]:
    """Status line, headers, bytes sent and body as logged, exactly as werkzeug would send ``response``."""
    headers = response.get_wsgi_headers(environ).to_wsgi_list()
    data = response.get_data()
    sent = b"".join(response.get_app_iter(environ))
    return response.status, headers, sent, data


class FastPath:
    """WSGI middleware: answers the hot SCIM resource requests itself, passes every other request to ``flask_app``."""

    def __init__(self, flask_app: WsgiApp, context: LmsContext, max_content_length: int):
        self._flask = flask_app
        self._context = context
        self._max_content_length = max_content_length
        base = context.config.base_path
        self._base_path = base
        self._collections = {f"{base}{rt.endpoint}": rt.endpoint.strip("/")
                             for rt in context.service.registry.resource_types.values()
                             if rt.endpoint.strip("/") in ("Users", "Groups")}
        #: base URL -> whether werkzeug would send a Location under it unchanged
        self._plain_bases: dict[str, bool] = {}

    # ------------------------------------------------------------ routing

    def _operation(self, method: str, path: str) -> tuple[Callable[..., Answer], tuple[str, ...]] | None:
        endpoint = self._collections.get(path)
        if endpoint is not None:
            operation = COLLECTION_OPERATIONS.get(method)
            return (operation, (endpoint,)) if operation is not None else None
        head, _, rid = path.rpartition("/")
        endpoint = self._collections.get(head)
        if endpoint is None or not rid or rid == ".search":
            return None
        operation = RESOURCE_OPERATIONS.get(method)
        return (operation, (endpoint, rid)) if operation is not None else None

    def _body_length(self, environ: dict[str, Any], method: str) -> int | None:
        """The body size to read (0: none), or None when Flask must serve the request to read it the same way."""
        if environ.get("HTTP_TRANSFER_ENCODING") is not None or environ.get("HTTP_EXPECT") is not None:
            return None
        declared = environ.get("CONTENT_LENGTH")
        if not declared:
            # HTTP/1.x: no Content-Length and no Transfer-Encoding means no body (RFC 9112 §6.3), which a GET or
            # DELETE reads as empty on both paths. A POST without one, or another protocol, is Flask's.
            if method in _BODY_METHODS or not environ.get("SERVER_PROTOCOL", "").startswith("HTTP/1."):
                return None
            return 0
        if not (declared.isascii() and declared.isdigit()):
            return None
        length = int(declared)
        return length if length <= self._max_content_length else None

    # ------------------------------------------------------------ serving

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        found = self._operation(method, path)
        if (found is None or environ.get("SCRIPT_NAME") or not path.isascii()
                or self._context.faults is not None and self._context.faults.has_rules):
            return self._flask(environ, start_response)
        length = self._body_length(environ, method)
        if length is None or not self._plain_base(environ):
            return self._flask(environ, start_response)
        raw = b""
        if length and (method in _BODY_METHODS or self._context.config.log_bodies):
            raw = _read_exactly(environ["wsgi.input"], length)
            if len(raw) < length:
                # The client sent less than it announced: let werkzeug meet the same short stream.
                environ["wsgi.input"] = io.BytesIO(raw)
                return self._flask(environ, start_response)
        return self._serve(environ, start_response, method, path, found, raw)

    def _serve(self, environ: dict[str, Any], start_response: Callable[..., Any], method: str, path: str,
               found: tuple[Callable[..., Answer], tuple[str, ...]], raw: bytes) -> Iterable[bytes]:
        started = time.perf_counter()
        context = self._context
        tokens = context.tokens
        authorization = environ.get("HTTP_AUTHORIZATION")
        label = tokens.identify(authorization) if tokens is not None else None
        try:
            if tokens is not None:
                tokens.check(authorization)
            operation, args = found
            answer = operation(context.service, ScimRequest(environ, self._base_path, lambda: raw), *args)
            status, headers, sent, logged = self._parts(answer, environ)
        except ScimError as exc:
            status, headers, sent, logged = _werkzeug_parts(exc.response(), environ)
        except HTTPException as exc:
            error = scim_error_for_http(exc, method, path, get_current_url(environ, host_only=True),
                                        context.service.profile.limits, self._base_path)
            status, headers, sent, logged = _werkzeug_parts(error.response(), environ)
        except Exception as exc:  # noqa: BLE001 - a bug answers 500 in SCIM format, as the Flask path does
            status, headers, sent, logged = _werkzeug_parts(unexpected_error(method, path, exc).response(), environ)
        log_bodies = context.config.log_bodies
        record_request(context.log, environ, path, int(status[:3]), started, label, None,
                       raw if log_bodies else None, logged if log_bodies else None)
        start_response(status, headers)
        return [sent]

    # ------------------------------------------------------------ writing

    def _parts(self, answer: Answer, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes, bytes]:
        """What werkzeug would send for ``routes.to_response(answer)``, written directly for the common answers."""
        status = answer.status
        if answer.body is not None and status in (200, 201):
            headers = [("Content-Type", SCIM_CONTENT_TYPE), ("Content-Length", str(len(answer.body)))]
        elif answer.body is None and status == 204:
            headers = [("Content-Type", _EMPTY_CONTENT_TYPE)]
        else:
            return _werkzeug_parts(to_response(answer), environ)
        for key, value in answer.headers.items():
            if key in ("Location", "Content-Location"):
                value = self._as_uri(value, environ)
            headers.append((key, value))
        body = answer.body if answer.body is not None else b""
        return status_line(status), headers, body, body

    def _plain_base(self, environ: dict[str, Any]) -> bool:
        """Whether werkzeug would send a Location under this request's base URL as it is (``iri_to_uri`` changes
        nothing); when it would not (an unusual Host header), Flask serves the request."""
        try:
            base = base_url_of(environ, self._base_path)
        except KeyError:
            return False
        plain = self._plain_bases.get(base)
        if plain is None:
            if len(self._plain_bases) >= _MAX_REMEMBERED_BASES:
                self._plain_bases.clear()
            plain = self._plain_bases[base] = _sent_unchanged(base)
        return plain

    @staticmethod
    def _as_uri(url: str, environ: dict[str, Any]) -> str:
        """``url`` as werkzeug sends a Location: through ``iri_to_uri``, skipped when it would change nothing."""
        base = environ[BASE_URL_KEY]
        if url.startswith(base) and _URI_SAFE_TAIL.fullmatch(url, len(base)):
            return url
        return iri_to_uri(url)


def _sent_unchanged(base: str) -> bool:
    """True when ``iri_to_uri`` leaves ``base``, and ``base`` followed by any URI-safe path, unchanged."""
    if "?" in base or "#" in base:
        return False
    try:
        return iri_to_uri(base) == base
    except ValueError:
        return False
