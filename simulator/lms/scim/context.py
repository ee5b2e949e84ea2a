"""What every route of the SCIM LMS app needs, kept on the Flask app (routes hold no state of their own)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request

from ...faults import FaultInjector
from ...requestlog import RequestLog
from .auth import TokenRegistry
from .config import LmsConfig
from .model import ScimStore
from .service import ScimService


@dataclass
class LmsContext:
    service: ScimService
    store: ScimStore
    faults: FaultInjector | None
    log: RequestLog
    config: LmsConfig
    tokens: TokenRegistry | None


def ctx() -> LmsContext:
    """The context of the app serving the current request."""
    return current_app.extensions["entrasim"]


def base_url() -> str:
    """The SCIM base URL as the client reached it (scheme, host and port of the request, plus the base path).

    Read from the WSGI environ and cached on it: werkzeug's ``host_url`` re-encodes the URL on every access,
    which costs more than most SCIM operations here.
    """
    environ = request.environ
    url = environ.get("entrasim.scim.base_url")
    if url is None:
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        url = environ["entrasim.scim.base_url"] = f"{environ['wsgi.url_scheme']}://{host}{ctx().config.base_path}"
    return url
