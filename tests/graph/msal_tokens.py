"""Tokens for Graph tests, obtained the way an LMS does: msal against our token endpoint over TLS."""

from __future__ import annotations

import msal
import requests

SCOPES = ["https://graph.microsoft.com/.default"]


def msal_token(server) -> str:
    """A fresh msal app each call, so a token issued after a consent change carries the new roles."""
    http = requests.Session()
    http.trust_env = False
    http.verify = server.ca
    app = msal.ConfidentialClientApplication(server.client_id, client_credential=server.client_secret,
                                             authority=server.authority, instance_discovery=False, http_client=http)
    result = app.acquire_token_for_client(scopes=SCOPES)
    assert "access_token" in result, result.get("error_description")
    return result["access_token"]
