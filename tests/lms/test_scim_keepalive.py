"""Keep-alive connections to the SCIM LMS, whatever the pace of the client.

A provisioning cycle sends its next request at once; a scheduled import pauses
between pages. Both must be served on the same connection (Entra and our
engine reuse it), and connections the client closes must not stall the server.
"""

from __future__ import annotations

import http.client
import time
from urllib.parse import quote, urlsplit

import orjson

from .conftest import TOKEN, USER, Lms

HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}


def _connect(lms: Lms) -> http.client.HTTPConnection:
    url = urlsplit(lms.url)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=30)


def _create(conn: http.client.HTTPConnection, name: str) -> tuple[int, dict]:
    body = orjson.dumps({"schemas": [USER], "userName": name})
    conn.request("POST", "/scim/v2/Users", body=body, headers=HEADERS)
    answer = conn.getresponse()
    return answer.status, orjson.loads(answer.read())


def _find(conn: http.client.HTTPConnection, name: str) -> tuple[int, dict]:
    conn.request("GET", "/scim/v2/Users?filter=" + quote(f'userName eq "{name}"'), headers=HEADERS)
    answer = conn.getresponse()
    return answer.status, orjson.loads(answer.read())


def test_one_connection_serves_requests_sent_at_once_and_after_pauses(lms: Lms) -> None:
    conn = _connect(lms)
    try:
        statuses = []
        sockets = set()
        for i in range(12):
            if i % 3 == 2:
                time.sleep(0.05)  # the connection goes back to the server's selector between requests
            status, created = _create(conn, f"user{i}@example.com")
            statuses.append(status)
            found_status, found = _find(conn, f"user{i}@example.com")
            statuses.append(found_status)
            assert [r["id"] for r in found["Resources"]] == [created["id"]]
            sockets.add(id(conn.sock))
    finally:
        conn.close()
    assert statuses == [201, 200] * 12
    assert len(sockets) == 1  # never reconnected


def test_a_connection_the_client_closes_does_not_stall_the_others(lms: Lms) -> None:
    for i in range(20):  # more closed connections than the server has workers
        conn = _connect(lms)
        assert _create(conn, f"gone{i}@example.com")[0] == 201
        conn.close()
    other = _connect(lms)
    try:
        status, found = _find(other, "gone19@example.com")
    finally:
        other.close()
    assert status == 200 and found["totalResults"] == 1
    assert lms.get("/Users?filter=" + quote('userName sw "gone"')).json()["totalResults"] == 20
