"""The SCIM LMS's own control routes, added to the shared control API under ``/_entrasim/scim``.

Tests and scenarios reach into the mock through these: export or replace the
whole state (``GET``/``PUT /_entrasim/scim/state``), list, add and revoke bearer
tokens (``/_entrasim/scim/tokens``). They ride on ``simulator.control``'s
blueprint (``make_blueprint(extra=register)``), so they share its admin-key
check and its error format. Token values are accepted but never returned:
listings show labels and states only.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from ...clock import parse_iso
from ...control import BadRequest, NotFound, json_body, json_response
from .context import ctx
from .model import StateError


def register(bp: Blueprint) -> None:
    """Add the SCIM routes to the control blueprint (called by ``make_blueprint``)."""

    @bp.get("/scim/state")
    def scim_export_state() -> Response:
        return json_response(ctx().service.export_state())

    @bp.put("/scim/state")
    def scim_import_state() -> Response:
        try:
            counts = ctx().service.import_state(json_body())
        except StateError as exc:
            raise BadRequest(str(exc)) from None
        return json_response({"loaded": counts})

    @bp.get("/scim/tokens")
    def scim_list_tokens() -> Response:
        tokens = ctx().tokens
        return json_response({"tokens": tokens.describe() if tokens is not None else []})

    @bp.post("/scim/tokens")
    def scim_add_token() -> Response:
        tokens = ctx().tokens
        if tokens is None:
            raise BadRequest("this server runs without authentication; it has no tokens to manage")
        body: dict[str, Any] = json_body()
        if not isinstance(body.get("token"), str):
            raise BadRequest("expected {\"token\": \"...\", \"label\": \"...\", and optionally \"expires_at\" "
                             "(ISO 8601) or \"lifetime_seconds\"}")
        expires_at = None
        if body.get("expires_at") is not None:
            try:
                expires_at = parse_iso(str(body["expires_at"]))
            except ValueError:
                raise BadRequest("'expires_at' must be an ISO 8601 time") from None
        lifetime = body.get("lifetime_seconds")
        if lifetime is not None and (not isinstance(lifetime, (int, float)) or isinstance(lifetime, bool) or lifetime <= 0):
            raise BadRequest("'lifetime_seconds' must be a positive number")
        try:
            info = tokens.add(body["token"], label=body.get("label"), expires_at=expires_at, lifetime=lifetime)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return json_response(info.describe(tokens.clock.now()), 201)

    @bp.delete("/scim/tokens/<label>")
    def scim_revoke_token(label: str) -> Response:
        tokens = ctx().tokens
        if tokens is None:
            raise NotFound("this server runs without authentication; it has no tokens")
        try:
            info = tokens.revoke(label)
        except KeyError:
            raise NotFound(f"no token labelled '{label}'") from None
        return json_response(info.describe(tokens.clock.now()))
