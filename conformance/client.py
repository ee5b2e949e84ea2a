"""The suite's HTTP client: one keep-alive session to the target, and every exchange kept for the report.

Each check gets its own ``Recorder`` so its verdict carries exactly the
requests that prove it. Credentials never reach a report: the Authorization
header and any header the user supplied are replaced by ``<redacted>``, and the
token's value is scrubbed from any body that echoes it back.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests

REDACTED = "<redacted>"
SCIM_JSON = "application/scim+json"
BODY_LIMIT = 16_000


@dataclass
class Exchange:
    """One request and its response, as a report shows them."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str | None
    status: int | None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None
    elapsed_ms: float = 0.0
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Response:
    """What a check reads from a response: status, headers, parsed JSON (None if the body is not JSON)."""

    def __init__(self, raw: requests.Response | None, error: str | None = None):
        self.raw = raw
        self.error = error
        self.status = raw.status_code if raw is not None else None
        self.headers = raw.headers if raw is not None else {}
        self.text = raw.text if raw is not None else ""
        self._json: Any = None
        self.is_json = False
        if raw is not None and self.text.strip():
            try:
                self._json = json.loads(self.text)
                self.is_json = True
            except ValueError:
                pass

    @property
    def json(self) -> Any:
        return self._json

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body as an object ({} when it is absent or not an object)."""
        return self._json if isinstance(self._json, dict) else {}

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def resources(self) -> list[dict[str, Any]]:
        found = self.body.get("Resources")
        return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []

    def __repr__(self) -> str:
        return f"<Response {self.status}>"


class Recorder:
    """Collects the exchanges of one check."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []


class ScimClient:
    """Sends requests to ``base_url``; ``headers`` are the credentials (Authorization or the user's --header)."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None, timeout: float = 30.0,
                 verify: bool | str = True):
        self.base_url = base_url.rstrip("/")
        self.auth_headers = dict(headers or {})
        self.timeout = timeout
        self.session = requests.Session()
        self.session.verify = verify
        self.session.trust_env = False
        self.session.headers.update({"Accept": SCIM_JSON, "User-Agent": "entrasim-conformance"})
        self.recorder: Recorder | None = None
        self._secrets = [v.split(" ", 1)[-1] for v in self.auth_headers.values() if v]

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"
        if params:
            url += ("&" if "?" in url else "?") + urlencode({k: v for k, v in params.items() if v is not None})
        return url

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json_body: Any = None,
                data: str | bytes | None = None, headers: dict[str, str] | None = None, auth: bool = True,
                content_type: str | None = SCIM_JSON, note: str | None = None) -> Response:
        """Send one request; ``auth=False`` leaves the credentials out; a transport error is a Response with .error."""
        sent_headers: dict[str, str] = {}
        if auth:
            sent_headers.update(self.auth_headers)
        body: bytes | None = None
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
        elif data is not None:
            body = data.encode("utf-8") if isinstance(data, str) else data
        if body is not None and content_type:
            sent_headers["Content-Type"] = content_type
        sent_headers.update(headers or {})
        url = self.url(path, params)
        started = time.perf_counter()
        raw: requests.Response | None = None
        error: str | None = None
        try:
            raw = self.session.request(method, url, data=body, headers=sent_headers, timeout=self.timeout,
                                       allow_redirects=False)
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        elapsed = (time.perf_counter() - started) * 1000
        response = Response(raw, error)
        if self.recorder is not None:
            self.recorder.exchanges.append(self._exchange(method, url, sent_headers, body, response, elapsed, note))
        return response

    # ------------------------------------------------------------ redaction

    def scrub(self, text: str | None) -> str | None:
        if text is None:
            return None
        for secret in self._secrets:
            if secret and len(secret) >= 4:
                text = text.replace(secret, REDACTED)
        return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + f"... ({len(text)} characters)"

    def _exchange(self, method: str, url: str, headers: dict[str, str], body: bytes | None, response: Response,
                  elapsed: float, note: str | None) -> Exchange:
        secret_names = {k.lower() for k in self.auth_headers} | {"authorization", "cookie", "proxy-authorization"}
        shown = {k: (REDACTED if k.lower() in secret_names else v) for k, v in headers.items()}
        response_headers = {k: (REDACTED if k.lower() == "set-cookie" else v) for k, v in response.headers.items()}
        request_text = body.decode("utf-8", "replace") if body is not None else None
        return Exchange(method=method, url=self.scrub(url) or url, request_headers=shown,
                        request_body=self.scrub(request_text), status=response.status,
                        response_headers=response_headers, response_body=self.scrub(response.text),
                        elapsed_ms=round(elapsed, 1), note=note if response.error is None else response.error)
