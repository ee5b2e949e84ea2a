"""The Microsoft identity platform's endpoints a daemon app (an LMS syncing from Graph) talks to.

- ``POST /{tenant}/oauth2/v2.0/token`` and the v1 ``POST /{tenant}/oauth2/token``:
  client credentials with a secret (form field or HTTP Basic) or a certificate assertion;
- ``GET /{tenant}/v2.0/.well-known/openid-configuration`` and the v1 document, which
  msal reads before its first token request;
- ``GET /{tenant}/discovery/v2.0/keys``, ``/{tenant}/discovery/keys``: the JWKS that
  verifies the tokens;
- ``GET /common/discovery/instance``: instance discovery, answered for this host, so
  a client pointed at it (msal's ``instance_discovery="<url>"``) works offline.

``{tenant}`` is the tenant id or one of its verified domains. Documents are built
from the host the client called, so they stay right behind any port or name.
Routes only translate HTTP: client_auth decides, identity_errors renders refusals.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, request

from . import identity_errors as errors
from .client_auth import ClientAuthenticator, TokenRequest, basic_credentials, discovery_tenant
from .context import ctx

bp = Blueprint("identity", __name__)

#: Paths other surfaces own; their unknown routes are not the identity platform's to answer.
FOREIGN_PREFIXES = ("/v1.0", "/$batch", "/_entrasim")

AUTH_METHODS = ["client_secret_post", "private_key_jwt", "client_secret_basic"]
CLOUD_FIELDS = {
    "cloud_instance_name": "microsoftonline.com",
    "cloud_graph_host_name": "graph.windows.net",
    "msgraph_host": "graph.microsoft.com",
    "rbac_url": "https://pas.windows.net",
}
CLAIMS_V2 = ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host",
             "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash",
             "c_hash", "email"]
CLAIMS_V1 = ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host",
             "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email", "given_name", "family_name", "nickname"]
TENANT_REGION_SCOPE = "EU"  # the same region the tokens' tenant_region_scope claim names


# ---------------------------------------------------------------------- token

@bp.post("/<tenant>/oauth2/v2.0/token")
def token_v2(tenant: str) -> Response:
    grant = _authenticate(tenant, "v2")
    token, _claims = ctx().tokens.issue(grant.app.appId, credential_type=grant.credential_type, audience=grant.audience)
    lifetime = ctx().config.token_lifetime
    return _sts_json({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token})


@bp.post("/<tenant>/oauth2/token")
def token_v1(tenant: str) -> Response:
    """The v1 answer: numbers as strings, plus expires_on, not_before and the resource asked for."""
    grant = _authenticate(tenant, "v1")
    token, claims = ctx().tokens.issue(grant.app.appId, credential_type=grant.credential_type, audience=grant.audience)
    lifetime = str(ctx().config.token_lifetime)
    return _sts_json({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                      "expires_on": str(claims["exp"]), "not_before": str(claims["nbf"]),
                      "resource": grant.resource, "access_token": token})


def _authenticate(tenant: str, version: str):
    form = request.form if request.mimetype == "application/x-www-form-urlencoded" else {}
    auth = request.authorization
    basic = basic_credentials(auth.username, auth.password) if auth is not None and auth.type == "basic" else None
    token_request = TokenRequest(tenant=tenant, version=version, host=request.host, form=form, basic=basic)
    return ClientAuthenticator(ctx().tenant).authenticate(token_request)


# ------------------------------------------------------------------ discovery

@bp.get("/<tenant>/v2.0/.well-known/openid-configuration")
def openid_configuration_v2(tenant: str) -> Response:
    segment, tid = discovery_tenant(ctx().tenant, tenant)
    base = _base_url()
    at = f"{base}/{segment}"
    document = {
        "token_endpoint": f"{at}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "jwks_uri": f"{at}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{tid}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{at}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{at}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{at}/oauth2/v2.0/logout",
        "claims_supported": CLAIMS_V2,
        "kerberos_endpoint": f"{at}/kerberos",
        "tenant_region_scope": TENANT_REGION_SCOPE if segment == ctx().tenant.id else None,
        **CLOUD_FIELDS,
    }
    return _discovery_json(document)


@bp.get("/<tenant>/.well-known/openid-configuration")
def openid_configuration_v1(tenant: str) -> Response:
    """The v1 document: its issuer is sts.windows.net, as in the Graph tokens themselves."""
    segment, tid = discovery_tenant(ctx().tenant, tenant)
    base = _base_url()
    at = f"{base}/{segment}"
    document = {
        "token_endpoint": f"{at}/oauth2/token",
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "jwks_uri": f"{base}/common/discovery/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "scopes_supported": ["openid"],
        "issuer": f"https://sts.windows.net/{tid}/",
        "microsoft_multi_refresh_token": True,
        "authorization_endpoint": f"{at}/oauth2/authorize",
        "device_authorization_endpoint": f"{at}/oauth2/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{at}/oauth2/logout",
        "claims_supported": CLAIMS_V1,
        "check_session_iframe": f"{at}/oauth2/checksession",
        "userinfo_endpoint": f"{at}/openid/userinfo",
        "kerberos_endpoint": f"{at}/kerberos",
        "tenant_region_scope": TENANT_REGION_SCOPE if segment == ctx().tenant.id else None,
        **CLOUD_FIELDS,
    }
    return _discovery_json(document)


@bp.get("/<tenant>/discovery/v2.0/keys")
def jwks_v2(tenant: str) -> Response:
    _segment, tid = discovery_tenant(ctx().tenant, tenant)
    return _discovery_json(ctx().tokens.jwks(issuer_template=f"{_base_url()}/{tid}/v2.0"))


@bp.get("/<tenant>/discovery/keys")
def jwks_v1(tenant: str) -> Response:
    """v1 keys carry no ``issuer`` member."""
    discovery_tenant(ctx().tenant, tenant)
    keys = [{k: v for k, v in key.items() if k != "issuer"} for key in ctx().tokens.jwks()["keys"]]
    return _discovery_json({"keys": keys})


@bp.get("/common/discovery/instance")
def instance_discovery() -> Response:
    """Entra's instance discovery, answering for this host only (any other host is an unknown instance).

    msal sends the authority's host name without its port (``https://localhost/<tenant>/oauth2/v2.0/authorize``),
    so only host names are compared; the answer points at this server's full address.
    """
    endpoint = request.args.get("authorization_endpoint")
    if not endpoint:
        raise errors.MalformedDiscoveryRequest()
    parts = urlsplit(endpoint)
    segments = [s for s in parts.path.split("/") if s]
    own_host = urlsplit(request.host_url).hostname
    if parts.scheme != "https" or (parts.hostname or "").lower() != (own_host or "").lower() or not segments:
        raise errors.UnknownInstance()
    version = "/v2.0" if "/oauth2/v2.0/" in parts.path else ""
    host = request.host
    return _discovery_json({
        "tenant_discovery_endpoint": f"{_base_url()}/{segments[0]}{version}/.well-known/openid-configuration",
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    })


# --------------------------------------------------------------------- errors

@bp.errorhandler(errors.IdentityError)
def _identity_error(err: errors.IdentityError) -> Response:
    return err.response()


@bp.app_errorhandler(404)
def _not_found(exc: Any) -> Any:
    if request.path.startswith(FOREIGN_PREFIXES):
        return exc
    return errors.EndpointNotFound(request.path).response()


@bp.app_errorhandler(405)
def _method_not_allowed(exc: Any) -> Any:
    """A GET on the token endpoint gets AADSTS900561, as from login.microsoftonline.com."""
    if request.path.startswith(FOREIGN_PREFIXES):
        return exc
    valid = [m for m in (getattr(exc, "valid_methods", None) or []) if m not in ("HEAD", "OPTIONS")]
    return errors.MethodNotAccepted(", ".join(sorted(valid)) or "POST", request.method).response()


# -------------------------------------------------------------------- helpers

def _base_url() -> str:
    return request.host_url.rstrip("/")


def _sts_json(body: dict[str, Any]) -> Response:
    resp = Response(json.dumps(body), status=200, content_type=errors.STS_CONTENT_TYPE)
    return errors.add_sts_headers(resp)


def _discovery_json(body: dict[str, Any]) -> Response:
    """Discovery documents are public and cacheable, unlike token answers."""
    resp = Response(json.dumps(body), status=200, content_type=errors.STS_CONTENT_TYPE)
    resp.headers["Cache-Control"] = "max-age=86400, private"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp
