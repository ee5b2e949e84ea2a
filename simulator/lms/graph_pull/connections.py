"""Azure Graph configurations: how the LMS reaches one tenant (several may exist side by side).

A connection is what the LMS admin fills in on the "Azure AD" settings page:
tenant id, client id and client secret, plus, because entrasim points the LMS
at a mock, the authority host and Graph base URL and the CA bundle to trust.
The secret is kept for the importer and never shown again: listings and the
state export carry only its first three characters, as Entra's portal does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .errors import BadRequest

PUBLIC_AUTHORITY = "https://login.microsoftonline.com"
PUBLIC_GRAPH = "https://graph.microsoft.com/v1.0"


@dataclass
class Connection:
    id: str
    name: str
    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    authority_host: str = PUBLIC_AUTHORITY
    graph_url: str = PUBLIC_GRAPH
    ca_bundle: str | None = None
    created_at: str = ""

    @property
    def token_url(self) -> str:
        return f"{self.authority_host.rstrip('/')}/{self.tenant_id}/oauth2/v2.0/token"

    @property
    def secret_hint(self) -> str:
        return self.client_secret[:3]

    def public(self) -> dict[str, Any]:
        """The connection as the admin API shows it: everything but the secret."""
        return {"id": self.id, "name": self.name, "tenant_id": self.tenant_id, "client_id": self.client_id,
                "secret_hint": self.secret_hint, "authority_host": self.authority_host, "graph_url": self.graph_url,
                "ca_bundle": self.ca_bundle, "created_at": self.created_at}


def check_connection_fields(*, name: str, tenant_id: str, client_id: str, client_secret: str, authority_host: str,
                            graph_url: str, ca_bundle: str | None) -> None:
    """Refuse what cannot possibly work, naming the field (the rest is for Entra to refuse)."""
    for key, value in (("name", name), ("tenant_id", tenant_id), ("client_id", client_id),
                       ("client_secret", client_secret), ("authority_host", authority_host), ("graph_url", graph_url)):
        if not isinstance(value, str) or not value.strip():
            raise BadRequest(f"'{key}' is required and must be a non-empty string")
    for key, value in (("authority_host", authority_host), ("graph_url", graph_url)):
        if not value.startswith(("https://", "http://")) or not _has_host(value) or any(c.isspace() for c in value):
            raise BadRequest(f"'{key}' must be an http(s) URL with a host, got '{value}'")
    if ca_bundle is not None and (not isinstance(ca_bundle, str) or not ca_bundle.strip()):
        raise BadRequest("'ca_bundle' must be a file path or null")
    if ca_bundle is not None and not os.path.isfile(ca_bundle):
        raise BadRequest(f"'ca_bundle' must name a readable PEM file, '{ca_bundle}' is not a file")


def _has_host(url: str) -> bool:
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
