"""A well-behaved Microsoft Graph client: what "Import from Azure AD" runs.

It does what Microsoft asks of a directory-sync client, so that a failure seen
in the LMS is the tenant's doing and not the client's:

- client credentials against ``{authority}/{tenant}/oauth2/v2.0/token`` with
  ``scope=https://graph.microsoft.com/.default``; the token is reused until
  five minutes before it expires (on the LMS clock) and fetched again once if
  Graph answers 401;
- one keep-alive ``requests`` session per connection, trusting only the CA
  bundle configured on the connection (never the environment's);
- ``/groups/{id}/members/microsoft.graph.user`` with ``$select`` of only the
  imported fields, ``$expand=manager($select=userPrincipalName)``, ``$top=999``,
  following ``@odata.nextLink`` verbatim;
- 429: waits ``Retry-After`` (bounded), then retries, at most a few times;
  5xx, timeouts and refused or dropped connections: bounded retries with
  exponential backoff; a TLS failure or a bad URL is not retried (another
  attempt would fail the same way);
- every attempt is written to the import log with status, error code, AADSTS
  code, request and correlation ids and a redacted excerpt. Nothing is ever
  written to Graph: the import is one-way.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import orjson
import requests

from ...clock import Clock, iso
from ...http_session import pinned_session
from ...retry_after import retry_after_seconds
from .connections import Connection
from .errors import admin_text
from .import_log import EXCERPT_CHARS, ImportLog, LogEntry, excerpt, excerpt_of

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
#: The Graph properties the LMS imports, and nothing else ($select keeps pages small).
SELECT = ("id", "userPrincipalName", "mail", "givenName", "surname", "department", "accountEnabled",
          "preferredLanguage", "country")
EXPAND_MANAGER = "manager($select=userPrincipalName)"
USER_AGENT = "entrasim-graph-pull-lms/1.0"
#: Failures without a response that another attempt cannot fix (bad URL, untrusted certificate, unreadable CA file).
PERMANENT_CLIENT_ERRORS = frozenset({"SSLError", "InvalidURL", "MissingSchema", "InvalidSchema", "InvalidHeader",
                                     "OSError"})


@dataclass
class ImporterSettings:
    """Retry and paging policy; tests shorten the waits, nothing else changes."""

    page_size: int = 999
    #: retries after a 5xx or a missing response (so at most 1 + max_retries attempts).
    max_retries: int = 3
    #: retries after a 429.
    max_throttle_retries: int = 5
    #: first backoff in seconds, doubled each retry, capped by max_backoff.
    backoff: float = 0.5
    max_backoff: float = 8.0
    #: a Retry-After above this is cut to it (a stuck server must not hold an import for hours).
    max_retry_after: float = 60.0
    timeout: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)


class GraphCallFailed(Exception):
    """A call to the token endpoint or Graph failed for good; ``entry`` is its last attempt in the log."""

    def __init__(self, entry: LogEntry):
        self.entry = entry
        self.admin_text = admin_text(entry.call, entry.status, entry.error_code, entry.aadsts)
        super().__init__(self.admin_text)

    def detail(self) -> dict[str, Any]:
        """The link from what the admin sees to the response it came from."""
        e = self.entry
        return {"log_seq": e.seq, "call": e.call, "url": e.url, "status": e.status, "error_code": e.error_code,
                "aadsts": e.aadsts, "request_id": e.request_id, "correlation_id": e.correlation_id}


def _error_fields(call: str, resp: requests.Response) -> tuple[str | None, int | None, str | None]:
    """(error code, AADSTS code, request id) from a failed response, whatever its body."""
    request_id = resp.headers.get("request-id") or resp.headers.get("x-ms-request-id")
    try:
        body = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        return None, None, request_id
    if not isinstance(body, dict):
        return None, None, request_id
    if call == "token":
        codes = body.get("error_codes") or []
        aadsts = codes[0] if codes and isinstance(codes[0], int) else None
        return body.get("error"), aadsts, body.get("trace_id") or request_id
    err = body.get("error")
    if isinstance(err, dict):
        inner = err.get("innerError") or {}
        return err.get("code"), None, request_id or inner.get("request-id")
    return None, None, request_id


class GraphImporter:
    """The client of one connection. Not shared between threads: the LMS runs one import at a time."""

    def __init__(self, connection: Connection, log: ImportLog, clock: Clock, settings: ImporterSettings | None = None):
        self.connection = connection
        self.log = log
        self.clock = clock
        self.settings = settings or ImporterSettings()
        self.session = pinned_session(connection.ca_bundle or True)  # the connection's CA wins; proxies still apply
        self.session.headers["User-Agent"] = USER_AGENT
        self._token: str | None = None
        self._token_valid_until = None

    def close(self) -> None:
        self.session.close()

    # ----------------------------------------------------------------------------------------- the calls
    def fetch_group_users(self, group_id: str, import_id: str | None = None) -> list[dict[str, Any]]:
        """Every user that is a direct member of ``group_id``, with the imported properties and manager's UPN."""
        url: str | None = f"{self.connection.graph_url.rstrip('/')}/groups/{quote(group_id, safe='')}/members/microsoft.graph.user"
        params: dict[str, Any] | None = {"$select": ",".join(SELECT), "$expand": EXPAND_MANAGER,
                                         "$top": str(self.settings.page_size)}
        users: list[dict[str, Any]] = []
        while url:
            page = self._graph_get(url, params, import_id)
            users.extend(page.get("value") or ())
            url, params = page.get("@odata.nextLink"), None  # the nextLink keeps the query: follow it verbatim
        return users

    def access_token(self, import_id: str | None = None) -> str:
        now = self.clock.now()
        if self._token is not None and self._token_valid_until is not None and now < self._token_valid_until:
            return self._token
        c = self.connection
        data = {"client_id": c.client_id, "client_secret": c.client_secret, "scope": GRAPH_SCOPE,
                "grant_type": "client_credentials"}
        body, _entry = self._send("token", "POST", c.token_url, import_id, data=data)
        lifetime = int(body.get("expires_in") or 3599)
        self._token = body["access_token"]
        self._token_valid_until = now + timedelta(seconds=max(lifetime - 300, 60))
        return self._token

    def forget_token(self) -> None:
        self._token = None
        self._token_valid_until = None

    def _graph_get(self, url: str, params: dict[str, Any] | None, import_id: str | None) -> dict[str, Any]:
        token = self.access_token(import_id)
        try:
            page, _ = self._send("graph", "GET", url, import_id, params=params, token=token)
        except GraphCallFailed as failed:
            if failed.entry.status != 401:
                raise
            self.forget_token()  # expired or revoked on the tenant's clock: one fresh token, one more try
            page, _ = self._send("graph", "GET", url, import_id, params=params, token=self.access_token(import_id))
        return page

    # ------------------------------------------------------------------------------- retries and the log
    def _send(self, call: str, method: str, url: str, import_id: str | None, *, token: str | None = None,
              **kwargs: Any) -> tuple[dict[str, Any], LogEntry]:
        """One call with its retries; returns the parsed JSON body of the success and its log entry.

        A success whose body is not the JSON object expected (a proxy's page, a
        cut body, a token answer without ``access_token``) counts as a failed
        attempt with error code ``invalid_response``, retried like a 5xx.
        """
        s = self.settings
        attempt = 0
        while True:
            attempt += 1
            correlation_id = str(uuid.uuid4())
            headers = {"client-request-id": correlation_id, "return-client-request-id": "true"}
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            started = time.perf_counter()
            resp: requests.Response | None = None
            error_code: str | None = None
            failure = ""
            try:
                resp = self.session.request(method, url, headers=headers, timeout=s.timeout, **kwargs)
            except requests.Timeout as exc:
                error_code, failure = "timeout", str(exc)
            except requests.RequestException as exc:
                error_code, failure = type(exc).__name__, str(exc)
            except OSError as exc:  # e.g. the connection's CA bundle vanished: requests raises a bare OSError
                error_code, failure = "OSError", str(exc)
            elapsed = round((time.perf_counter() - started) * 1000, 1)
            status = resp.status_code if resp is not None else 0
            aadsts = request_id = None
            retry_after: float | None = None
            body_excerpt = ""
            parsed: dict[str, Any] | None = None
            if resp is not None and status < 400:
                parsed = _json_object(resp.content)
                if parsed is None or (call == "token" and not isinstance(parsed.get("access_token"), str)):
                    parsed, error_code = None, "invalid_response"
            if resp is not None:
                request_id = resp.headers.get("request-id")
                if status >= 400:
                    error_code, aadsts, request_id = _error_fields(call, resp)
                    body_excerpt = excerpt(resp.content)
                elif parsed is not None:
                    body_excerpt = excerpt_of(parsed, limit=200 if call == "graph" else EXCERPT_CHARS)
                else:
                    body_excerpt = excerpt(resp.content)
                retry_after = retry_after_seconds(resp.headers.get("Retry-After"))
            else:
                body_excerpt = excerpt(failure)  # no body: what the client saw instead (redacted like a body)
            entry = self.log.append(at=iso(self.clock.now()), import_id=import_id, call=call, method=method,
                                    url=resp.url if resp is not None else url, attempt=attempt, status=status,
                                    elapsed_ms=elapsed, error_code=error_code, aadsts=aadsts, request_id=request_id,
                                    correlation_id=correlation_id, retry_after=retry_after, excerpt=body_excerpt)
            if parsed is not None:
                return parsed, entry
            throttled = status == 429
            transient = status == 0 and error_code not in PERMANENT_CLIENT_ERRORS
            retryable = throttled or transient or status >= 500 or error_code == "invalid_response"
            limit = s.max_throttle_retries if throttled else s.max_retries
            if not retryable or attempt > limit:
                raise GraphCallFailed(entry)
            if retry_after is not None:
                wait = min(retry_after, s.max_retry_after)
            else:
                wait = min(s.backoff * (2 ** (attempt - 1)), s.max_backoff)
            s.sleep(wait)


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


