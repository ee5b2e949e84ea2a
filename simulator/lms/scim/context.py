"""What every route of the SCIM LMS app needs, kept on the Flask app (routes hold no state of their own)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

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

