"""The SCIM server under test: its URL, token and TLS trust, a ceiling probe and the reads of the final check.

The ceiling is what the target answers per second to the cheapest request
Entra sends, its test-connection probe (``GET /Users?filter=userName eq
"<random GUID>"``, an empty ListResponse), replayed on a few keep-alive
connections for a couple of seconds before the load starts. It changes nothing
on the target, and it is measured in the same run, on the same machine, so that
"ratio to the target's ceiling" compares like with like. It is bound by this
load generator's own CPU as much as by the target: for a capacity figure, give
``--target-ceiling`` a number measured with wrk.
"""

from __future__ import annotations

import ssl
import time
import uuid
from functools import partial
from typing import Any
from urllib.parse import urlencode, urlsplit

import gevent
import orjson
import urllib3
from geventhttpclient import HTTPClient

from simulator.provisioning.scim_client import SCIM_JSON, ScimClient, split_tenant_url


class TargetError(Exception):
    """The target answered something the check cannot use (status, body)."""


def ssl_context(ca_bundle: str | None, insecure: bool) -> ssl.SSLContext:
    if insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()


class ScimTarget:
    """Connection details of one SCIM base URL; the token only ever goes into the Authorization header."""

    def __init__(self, url: str, token: str, ca_bundle: str | None = None, insecure: bool = False):
        if not url:
            raise ValueError("no SCIM URL: give --scim-url (or --host)")
        if not urlsplit(url).scheme.startswith("http"):
            raise ValueError(f"--scim-url must be an http(s) URL, got '{url}'")
        if any(not " " < ch <= "~" for ch in token):  # it is written into the Authorization header as it is
            raise ValueError("the SCIM token holds characters an HTTP header cannot carry (spaces, line breaks, "
                             "non-ASCII)")
        self.url = split_tenant_url(url)
        self.token = token
        self.ca_bundle = ca_bundle
        self.insecure = insecure
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/scim+json"}
        self.body_headers = {**self.headers, "Content-Type": SCIM_JSON}
        self._pool: urllib3.PoolManager | None = None
        #: requests the last ceiling probe sent (they load the target too: `entrasim load` counts them)
        self.probe_requests = 0

    @property
    def https(self) -> bool:
        return self.url.startswith("https:")

    def context_factory(self):
        """For geventhttpclient's ``ssl_context_factory`` (called with no argument)."""
        return partial(ssl_context, self.ca_bundle, self.insecure)

    # -- plain reads for the checks
    def _http(self) -> urllib3.PoolManager:
        if self._pool is None:
            if self.insecure:
                self._pool = urllib3.PoolManager(cert_reqs="CERT_NONE", maxsize=4)
            else:
                kwargs: dict[str, Any] = {"cert_reqs": "CERT_REQUIRED"}
                if self.ca_bundle:
                    kwargs["ca_certs"] = self.ca_bundle
                else:
                    import certifi

                    kwargs["ca_certs"] = certifi.where()
                self._pool = urllib3.PoolManager(maxsize=4, **kwargs)
        return self._pool

    def get(self, path: str, params: list[tuple[str, str]] | None = None) -> Any:
        url = self.url + path + ("?" + urlencode(params) if params else "")
        try:
            response = self._http().request("GET", url, headers=self.headers, timeout=30.0, retries=False)
        except urllib3.exceptions.HTTPError as exc:  # refused, reset, TLS: say which, without a traceback
            raise TargetError(f"GET {path} failed: {_reason(exc)}") from None
        if response.status != 200:
            raise TargetError(f"GET {path} answered {response.status}")
        try:
            return orjson.loads(response.data)
        except orjson.JSONDecodeError:
            raise TargetError(f"GET {path} did not answer JSON") from None

    def test_connection(self) -> None:
        """Entra's "Test Connection": ``GET /Users?filter=userName eq "<random GUID>"`` must answer 200."""
        self.get("/Users", [("filter", ScimClient.equality_filter("userName", str(uuid.uuid4())))])

    def total(self, resource: str) -> int:
        """``totalResults`` of ``GET /<resource>?count=0`` (RFC 7644 §3.4.2.4)."""
        params = [("count", "0")]
        if resource == "Groups":
            params.append(("excludedAttributes", "members"))
        body = self.get(f"/{resource}", params)
        if not isinstance(body, dict) or not isinstance(body.get("totalResults"), int):
            raise TargetError(f"GET /{resource}?count=0 has no totalResults")
        return body["totalResults"]

    def find(self, resource: str, attribute: str, value: str, members: bool = False) -> list[dict[str, Any]]:
        params = [("filter", ScimClient.equality_filter(attribute, value))]
        if resource == "Groups" and not members:
            params.append(("excludedAttributes", "members"))
        body = self.get(f"/{resource}", params)
        return list(body.get("Resources") or []) if isinstance(body, dict) else []

    # -- the ceiling probe
    def probe_ceiling(self, seconds: float, concurrency: int) -> float:
        """Requests per second the target answers to Entra's test-connection probe on ``concurrency`` connections."""
        parts = urlsplit(self.url)
        kwargs: dict[str, Any] = {"concurrency": concurrency, "connection_timeout": 10, "network_timeout": 30}
        if self.https:
            kwargs["ssl_context_factory"] = self.context_factory()
        client = HTTPClient.from_url(self.url, **kwargs)
        base = parts.path
        done = [0]
        errors: list[str] = []
        deadline = time.monotonic() + seconds

        def loop() -> None:
            while time.monotonic() < deadline and not errors:
                query = urlencode([("filter", ScimClient.equality_filter("userName", str(uuid.uuid4())))])
                try:
                    response = client.get(f"{base}/Users?{query}", headers=self.headers)
                    response.read()
                except (OSError, gevent.Timeout) as exc:
                    errors.append(f"the ceiling probe failed: {_reason(exc)}")
                    return
                if response.status_code != 200:
                    errors.append(f"the ceiling probe got {response.status_code} from GET /Users?filter=...")
                    return
                done[0] += 1

        started = time.monotonic()
        greenlets = [gevent.spawn(loop) for _ in range(concurrency)]
        gevent.joinall(greenlets)
        elapsed = time.monotonic() - started
        client.close()
        self.probe_requests = done[0]
        if errors:
            raise TargetError(errors[0])
        return done[0] / elapsed if elapsed > 0 else 0.0


def _reason(exc: BaseException) -> str:
    """The innermost cause of a connection error, in one line (urllib3 wraps the socket error)."""
    reason = getattr(exc, "reason", None) or exc
    text = (str(reason).strip() or type(reason).__name__).splitlines()[0]
    if text.startswith("<") and ">: " in text:  # "<urllib3.connection.HTTPConnection object at 0x...>: Failed..."
        text = text.split(">: ", 1)[1]
    return text
