"""The raw-WSGI fast path answers exactly as the Flask path does: same status, body bytes, headers and log.

Two servers from the same seed and frozen clock, one with ``fast_path`` on and
one with it off, get the same requests (with the same Host header, so URLs in
bodies and headers agree); every answer and every request-log entry must be
identical but for Date, Server and timings.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask import request_started

from .conftest import ENTERPRISE, GROUP, PATCH_OP, TOKEN, USER, Lms

HOST = "lms.example.test:8443"
BASE = "/scim/v2"
IGNORED_HEADERS = {"date", "server"}
LOG_TIMINGS = {"time", "duration_ms"}


class Pair:
    """The same SCIM LMS twice, fast path on and off, asked the same questions."""

    def __init__(self, fast: Lms, flask: Lms):
        self.fast = fast
        self.flask = flask
        self.session = requests.Session()

    def send(self, method: str, path: str, *, json: Any = None, data: bytes | None = None,
             headers: dict[str, str] | None = None, token: str | None = TOKEN) -> requests.Response:
        """Send to both servers; assert identical answers; return the fast path's."""
        sent = {"Host": HOST, "Content-Type": "application/scim+json"}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        sent = {k: v for k, v in sent.items() if v is not None}
        answers = [self.session.request(method, server.url + path, json=json, data=data, headers=sent, timeout=30)
                   for server in (self.fast, self.flask)]
        fast, flask = answers
        assert (fast.status_code, fast.reason) == (flask.status_code, flask.reason), (method, path)
        assert fast.content == flask.content, (method, path)
        assert _headers(fast) == _headers(flask), (method, path)
        return fast

    def assert_same_logs(self) -> None:
        fast, flask = ([{k: v for k, v in e.as_dict().items() if k not in LOG_TIMINGS} for e in server.log.entries()]
                       for server in (self.fast, self.flask))
        assert fast == flask
        assert fast, "the request log is empty"


def _headers(resp: requests.Response) -> list[tuple[str, str]]:
    """The response headers in the order the server sent them, without Date and Server."""
    return [(k, v) for k, v in resp.raw.headers.items() if k.lower() not in IGNORED_HEADERS]


@pytest.fixture
def pair(lms_server: Callable[..., Lms]) -> Callable[..., Pair]:
    def start(profile: str = "rfc", **config: Any) -> Pair:
        return Pair(lms_server(profile, fast_path=True, **config), lms_server(profile, fast_path=False, **config))

    return start


def _user(name: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER, ENTERPRISE], "userName": name, "externalId": f"ext-{name}", "active": True,
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": name, "type": "work", "primary": True}], "title": "Learner",
            ENTERPRISE: {"department": "Sales"}, **extra}


def _patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def _run_corpus(pair: Pair, base: str = BASE) -> None:
    """Successes and every kind of error on the routes the fast path serves, and a few it hands to Flask."""
    send = pair.send
    # ---- create
    ada = send("POST", f"{base}/Users", json=_user("ada@example.com")).json()["id"]
    bob = send("POST", f"{base}/Users", json=_user("bob@example.com")).json()["id"]
    send("POST", f"{base}/Users", json=_user("hal@example.com", displayName="Hal"))  # refused by email-keyed
    send("POST", f"{base}/Users?attributes=userName", json=_user("cy@example.com"))
    send("POST", f"{base}/Users?excludedAttributes=emails", json=_user("di@example.com"))
    send("POST", f"{base}/Users", json=_user("ada@example.com"))  # uniqueness conflict
    send("POST", f"{base}/Users", data=b'{"userName": ')  # invalid JSON
    send("POST", f"{base}/Users", data=b"  ")  # no body
    send("POST", f"{base}/Users", data=b"[1, 2]")  # not an object
    send("POST", f"{base}/Users", json={"schemas": [USER], "displayName": "No Name"})  # userName missing
    send("POST", f"{base}/Users", json={"schemas": [USER], "userName": 7})  # wrong type
    send("POST", f"{base}/Users", data=b"userName=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    send("POST", f"{base}/Users", json=_user("eve@example.com"), headers={"Content-Type": "application/json"})
    send("POST", f"{base}/Users", json=_user("fay@example.com"), headers={"Content-Type": None})
    send("POST", f"{base}/Users?attributes=nonsense", json=_user("gus@example.com"))  # unknown attribute
    # ---- list and filter
    send("GET", f"{base}/Users")
    send("GET", f'{base}/Users?filter=userName eq "ada@example.com"')
    send("GET", f'{base}/Users?filter=userName eq "nobody@example.com"')
    send("GET", f'{base}/Users?filter=userName eq "ada@example.com" or externalId eq "ext-bob@example.com"')
    send("GET", f'{base}/Users?filter=emails[type eq "work" and value co "example"]&sortBy=userName&sortOrder=descending')
    send("GET", f"{base}/Users?filter=userName eq")  # bad filter
    send("GET", f'{base}/Users?filter=shoeSize eq "44"')  # unknown attribute in a filter
    send("GET", f'{base}/Users?filter=password eq "x"')  # sensitive
    send("GET", f"{base}/Users?attributes=userName,emails")
    send("GET", f"{base}/Users?excludedAttributes=emails,name")
    send("GET", f"{base}/Users?attributes=userName&excludedAttributes=emails")  # mutually exclusive
    send("GET", f"{base}/Users?attributes=shoeSize")
    send("GET", f"{base}/Users?startIndex=2&count=2")
    send("GET", f"{base}/Users?startIndex=0&count=0")
    send("GET", f"{base}/Users?count=many")
    send("GET", f"{base}/Users?sortBy=shoeSize")
    send("GET", f"{base}/Users?filter=userName%20eq%20%22ada%40example.com%22&filter=ignored")
    # ---- read one
    etag = send("GET", f"{base}/Users/{ada}").headers["ETag"]
    send("GET", f"{base}/Users/{ada}?attributes=userName")
    send("GET", f"{base}/Users/{ada}", headers={"If-None-Match": etag})  # 304
    send("GET", f"{base}/Users/{ada}", headers={"If-None-Match": 'W/"stale"'})
    send("GET", f"{base}/Users/no-such-id")
    send("GET", f"{base}/Users/.search")
    # ---- PATCH, every kind of operation
    send("PATCH", f"{base}/Users/{ada}", json=_patch({"op": "replace", "path": "displayName", "value": "Ada L."}))
    send("PATCH", f"{base}/Users/{ada}", json=_patch({"op": "Add", "path": f"{ENTERPRISE}:manager", "value": bob}))
    send("PATCH", f"{base}/Users/{ada}", json=_patch({"op": "remove", "path": "title"}))
    send("PATCH", f"{base}/Users/{ada}", json=_patch({"op": "replace", "value": {"active": False, "nickName": "A"}}))
    send("PATCH", f"{base}/Users/{ada}", json=_patch({"op": "add", "value": {"phoneNumbers": [
        {"value": "555-0100", "type": "work"}]}}))
    send("PATCH", f"{base}/Users/{ada}", json=_patch({"op": "replace", "path": 'emails[type eq "work"].value',
                                                      "value": "ada.l@example.com"}))
    send("PATCH", f"{base}/Users/{ada}", json=_patch({"op": "remove", "path": 'phoneNumbers[type eq "work"]'}))
    send("PATCH", f"{base}/Users/{ada}?attributes=userName", json=_patch({"op": "replace", "path": "title",
                                                                           "value": "Tutor"}))
    send("PATCH", f"{base}/Users/{ada}", json=_patch({"op": "explode", "path": "title", "value": "x"}))
    send("PATCH", f"{base}/Users/{ada}", json=_patch({"op": "replace", "path": "shoe[[size", "value": "x"}))
    send("PATCH", f"{base}/Users/{ada}", json=_patch({"op": "remove"}))
    send("PATCH", f"{base}/Users/{ada}", json=_patch({"op": "replace", "path": "userName", "value": "bob@example.com"}))
    send("PATCH", f"{base}/Users/{ada}", json={"Operations": []})
    send("PATCH", f"{base}/Users/{ada}", json=_patch({"op": "replace", "path": "title", "value": "x"}),
         headers={"If-Match": 'W/"stale"'})
    send("PATCH", f"{base}/Users/no-such-id", json=_patch({"op": "replace", "path": "title", "value": "x"}))
    # ---- PUT and DELETE
    current = send("GET", f"{base}/Users/{bob}")
    send("PUT", f"{base}/Users/{bob}", json=_user("bob@example.com", title="Mentor"),
         headers={"If-Match": current.headers["ETag"]})
    send("PUT", f"{base}/Users/{bob}", json=_user("bob@example.com"), headers={"If-Match": 'W/"stale"'})
    send("PUT", f"{base}/Users/{bob}", json=_user("ada.l@example.com"))
    send("PUT", f"{base}/Users/no-such-id", json=_user("zed@example.com"))
    # ---- groups
    group = send("POST", f"{base}/Groups", json={"schemas": [GROUP], "displayName": "Learners", "externalId": "g-1",
                                                 "members": [{"value": ada}]}).json()["id"]
    send("POST", f"{base}/Groups", json={"schemas": [GROUP], "displayName": "Ghosts", "members": [{"value": "nobody"}]})
    send("GET", f'{base}/Groups?excludedAttributes=members&filter=displayName eq "Learners"')
    send("GET", f'{base}/Groups?filter=displayName eq "Nobody"')
    send("PATCH", f"{base}/Groups/{group}", json=_patch({"op": "Add", "path": "members", "value": [{"value": bob}]}))
    send("PATCH", f"{base}/Groups/{group}", json=_patch({"op": "Remove", "path": f'members[value eq "{ada}"]'}))
    send("PATCH", f"{base}/Groups/{group}", json=_patch({"op": "Replace", "path": "displayName", "value": "Tutors"}))
    send("PATCH", f"{base}/Groups/{group}?attributes=displayName",
         json=_patch({"op": "add", "path": "members", "value": [{"value": ada}]}))
    send("PATCH", f"{base}/Groups/{group}", json=_patch({"op": "add", "path": "members", "value": [{"value": "ghost"}]}))
    send("PATCH", f"{base}/Groups/{group}", json=_patch({"op": "remove", "path": "members"}))
    send("GET", f"{base}/Groups/{group}")
    send("DELETE", f"{base}/Users/{bob}")
    send("DELETE", f"{base}/Users/{bob}")
    send("DELETE", f"{base}/Groups/{group}", headers={"If-Match": 'W/"stale"'})
    # ---- authentication
    send("GET", f"{base}/Users", token=None)
    send("GET", f"{base}/Users", token="not-the-token")
    send("POST", f"{base}/Users", json=_user("mallory@example.com"), token="not-the-token")
    send("GET", f"{base}/Users/{ada}", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    send("GET", f"{base}/Users", headers={"Authorization": "Bearer "})
    # ---- what the fast path leaves to Flask
    send("POST", f"{base}/Users/{ada}", json=_user("x@example.com"))  # 405
    send("PATCH", f"{base}/Users", json=_patch({"op": "remove", "path": "title"}))  # 405
    send("GET", f"{base}/Courses")  # 404
    send("GET", f"{base}/Users/")
    send("GET", f"{base}/ServiceProviderConfig")
    send("POST", f"{base}/Users", json=_user("ivy@example.com"), headers={"Host": "LMS.Example.Test:08443"})
    send("POST", f"{base}/Users/.search", json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                                 "filter": 'userName eq "ada.l@example.com"'})
    send("POST", f"{base}/Users", data=b'{"userName": "%s"}' % (b"x" * (1 << 20)))  # over the body limit
    send("POST", f"{base}/Users", data=b" " * ((1 << 20) + 2))  # over what Flask reads at all


@pytest.mark.parametrize("profile", ["rfc", "entra-tolerant", "email-keyed"])
def test_fast_and_flask_paths_answer_and_log_identically(pair, profile):
    servers = pair(profile)
    _run_corpus(servers)
    servers.assert_same_logs()
    statuses = {e.status for e in servers.fast.log.entries()}
    assert statuses >= {200, 201, 204, 304, 400, 401, 404, 405, 409, 412, 413, 415}, sorted(statuses)


def test_identical_under_another_base_path(pair):
    servers = pair("entra-tolerant", base_path="/api/scim")
    _run_corpus(servers, "/api/scim")
    servers.assert_same_logs()


def test_identical_without_logged_bodies(pair):
    servers = pair("entra-tolerant", log_bodies=False)
    _run_corpus(servers)
    servers.assert_same_logs()
    assert all(e.request_body is None and e.response_body is None for e in servers.fast.log.entries())


def test_identical_when_a_fault_rule_is_in_force(pair):
    servers = pair("entra-tolerant")
    for server in (servers.fast, servers.flask):
        server.faults.add(method="POST", path="/scim/v2/Users", nth=2, kind="throttled", retry_after=3)
    assert servers.send("POST", f"{BASE}/Users", json=_user("ada@example.com")).status_code == 201
    throttled = servers.send("POST", f"{BASE}/Users", json=_user("bob@example.com"))
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert servers.send("GET", f'{BASE}/Users?filter=userName eq "ada@example.com"').json()["totalResults"] == 1
    servers.assert_same_logs()
    assert [e.fault is not None for e in servers.fast.log.entries()] == [False, True, False]


def test_an_unexpected_error_is_the_same_scim_500(pair):
    # A query string that is not UTF-8 cannot be decoded: a bug-shaped failure both paths must answer alike.
    # cheroot refuses such a request line itself, so the environ another WSGI server could pass is given directly.
    servers = pair("rfc")
    answers = []
    for server in (servers.fast, servers.flask):
        environ = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/scim/v2/Users",
                   "QUERY_STRING": "filter=\xff", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8443",
                   "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": HOST, "HTTP_AUTHORIZATION": f"Bearer {TOKEN}",
                   "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(),
                   "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False,
                   "wsgi.run_once": False}
        started: list[Any] = []

        def start_response(status: str, headers: list[Any], exc_info: Any = None, sink: list[Any] = started) -> None:
            sink.append((status, headers))

        body = b"".join(server.app(environ, start_response))
        answers.append((started, body))
    assert answers[0] == answers[1]
    assert answers[0][0][0][0] == "500 INTERNAL SERVER ERROR"
    assert b'"detail":"internal error: UnicodeDecodeError"' in answers[0][1]
    servers.assert_same_logs()


def test_the_fast_path_serves_hot_requests_without_flask(pair):
    servers = pair("entra-tolerant")
    dispatched: dict[str, int] = {"fast": 0, "flask": 0}

    def counter(name: str) -> Callable[..., None]:
        def count(sender: Any, **extra: Any) -> None:
            dispatched[name] += 1
        return count

    counters = {name: counter(name) for name in dispatched}
    request_started.connect(counters["fast"], servers.fast.app)
    request_started.connect(counters["flask"], servers.flask.app)
    try:
        uid = servers.send("POST", f"{BASE}/Users", json=_user("ada@example.com")).json()["id"]
        servers.send("GET", f'{BASE}/Users?filter=userName eq "ada@example.com"')
        servers.send("PATCH", f"{BASE}/Users/{uid}", json=_patch({"op": "replace", "path": "title", "value": "x"}))
        servers.send("GET", f"{BASE}/Users/{uid}")
        servers.send("DELETE", f"{BASE}/Users/{uid}")
        assert dispatched == {"fast": 0, "flask": 5}
        servers.send("GET", f"{BASE}/ServiceProviderConfig")
        assert dispatched == {"fast": 1, "flask": 6}
    finally:
        request_started.disconnect(counters["fast"], servers.fast.app)
        request_started.disconnect(counters["flask"], servers.flask.app)
