"""What every route of the identity + Graph app needs, kept on the Flask app.

Routes translate HTTP to calls on these objects and hold no state of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from ..faults import FaultInjector
from ..requestlog import RequestLog
from ..tenant import Tenant
from .result_cache import ResultCache
from .serialize import JsonCache
from .tokens import DEFAULT_LIFETIME, TokenService


@dataclass
class GraphConfig:
    #: Seconds an access token lives (expires_in); Entra's default for this flow is 3599.
    token_lifetime: int = DEFAULT_LIFETIME
    #: Seconds of clock skew Graph tolerates when checking exp and nbf.
    clock_skew: int = 300
    #: Serve the control API under /_entrasim/.
    control: bool = False
    #: Required (X-Entrasim-Admin-Key) on the control API when set; the CLI sets one when not on loopback.
    admin_key: str | None = None
    #: Keep request and response bodies (redacted) in the request log.
    log_bodies: bool = True
    #: Encoded objects kept for reuse across pages (about 0.5 KB each).
    json_cache_size: int = 200_000
    #: Maximum page size ($top) for collections, as Graph documents it.
    max_page_size: int = 999
    default_page_size: int = 100


@dataclass
class GraphContext:
    tenant: Tenant
    tokens: TokenService
    faults: FaultInjector | None
    log: RequestLog
    config: GraphConfig = field(default_factory=GraphConfig)
    json_cache: JsonCache | None = None
    results: ResultCache | None = None

    def __post_init__(self) -> None:
        if self.json_cache is None:
            self.json_cache = JsonCache(self.tenant, self.config.json_cache_size)
        if self.results is None:
            self.results = ResultCache(self.tenant)


def ctx() -> GraphContext:
    """The context of the app serving the current request."""
    return current_app.extensions["entrasim"]
