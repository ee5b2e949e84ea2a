"""The engine's cheaper code paths (issue 4) keep what the target sees and what the logs say.

- the transport writes requests itself: the bytes must be the ones http.client
  writes (checked against http.client, on the same raw server);
- it reads answers with httptools: chunked bodies, "100 Continue", bodies that
  run to the end of the connection, ``Connection: close``, 204 without body,
  bytes after an answer, cut bodies and dropped connections, each named as
  http.client would have named it;
- query values are encoded by a table, exactly as ``urlencode`` encodes them;
- the export workers are two queues, not futures: a cycle killed while they
  run resumes without duplicates.
"""

from __future__ import annotations

import http.client
import socket
import threading
from urllib.parse import urlencode

import pytest

from simulator.provisioning.scim_client import (
    RetryPolicy,
    ScimClient,
    ScimTransportError,
    form_encode,
)

from .conftest import TOKEN, add_people, new_tenant, read_request

ONE_TRY = RetryPolicy(max_attempts=1)
LIST = b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}'


class ScriptedServer:
    """A raw HTTP server: records each request's bytes and answers it with the next scripted answer.

    An answer is the raw bytes to send; after it the connection is closed when
    ``close_after`` says so. Requests are read up to the blank line, then
    ``Content-Length`` bytes.
    """

    def __init__(self, answers: list[bytes], close_after: bool = False):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.answers = list(answers)
        self.close_after = close_after
        self.requests: list[bytes] = []
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/scim"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                while self.answers and self._exchange(conn) and not self.close_after:
                    pass

    def _exchange(self, conn: socket.socket) -> bool:
        received = read_request(conn)
        if received is None:
            return False
        self.requests.append(received)
        conn.sendall(self.answers.pop(0))
        return True

    def stop(self) -> None:
        self.listener.close()


def ok(body: bytes = LIST, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\n" + extra + \
        b"Content-Length: %d\r\n\r\n" % len(body) + body


@pytest.fixture
def scripted():
    servers: list[ScriptedServer] = []

    def start(answers: list[bytes], close_after: bool = False) -> ScriptedServer:
        servers.append(ScriptedServer(answers, close_after))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def test_requests_are_the_bytes_http_client_writes(scripted):
    ours = scripted([ok()] * 4)
    with ScimClient(ours.url, TOKEN, retry=ONE_TRY) as scim:
        scim.find("Users", "userName", 'ann "the tutor"@contoso.com')
        scim.create("Users", {"userName": "zoë@contoso.com", "active": True})
        scim.patch("Groups", "g-1", [{"op": "Add", "path": "members", "value": [{"value": "u-1"}]}])
        scim.delete("Users", "u-1")
        headers, body_headers = dict(scim._headers), dict(scim._body_headers)
    reference = scripted([ok()] * 4)
    conn = http.client.HTTPConnection("127.0.0.1", reference.port)
    for sent in ours.requests:
        method, target = sent.split(b" ", 2)[:2]
        data = sent.partition(b"\r\n\r\n")[2] or None
        conn.request(method.decode(), target.decode(), body=data, headers=body_headers if data else headers)
        conn.getresponse().read()
    conn.close()
    port = lambda raw: raw.replace(str(reference.port).encode(), str(ours.port).encode())
    assert len(ours.requests) == 4
    assert [port(raw) for raw in reference.requests] == ours.requests
    assert ours.requests[0].startswith(b'GET /scim/Users?filter=userName+eq+%22ann+%5C%22the+tutor%5C%22%40contoso.com%22 ')


def test_a_chunked_answer_with_extensions_and_trailers_is_read_whole(scripted):
    chunked = (b"HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"%x;name=value\r\n" % 10 + LIST[:10] + b"\r\n" + b"%X\r\n" % (len(LIST) - 10) + LIST[10:] + b"\r\n"
               + b"0\r\nX-Trailer: yes\r\n\r\n")
    server = scripted([chunked, ok()])
    with ScimClient(server.url, TOKEN, retry=ONE_TRY) as scim:
        first = scim.find("Users", "userName", "ann")
        second = scim.find("Users", "userName", "bob")
    assert first.status == 200 and first.body["totalResults"] == 0 and first.text == LIST.decode()
    assert second.status == 200 and server.connections == 1  # the chunked answer left the connection reusable


def test_a_100_continue_is_skipped_and_headers_read_as_they_were_sent(scripted):
    extra = b"X-Seen: one\r\nX-Seen: two\r\nX-Folded: first\r\n\tsecond\r\nRetry-After:  7\r\n"
    server = scripted([b"HTTP/1.1 100 Continue\r\n\r\n" + ok(extra=extra)])
    with ScimClient(server.url, TOKEN, retry=ONE_TRY) as scim:
        answer = scim.find("Users", "userName", "ann")
    assert answer.status == 200 and answer.body["Resources"] == []
    assert answer.headers["X-Seen"] == "two" and answer.headers["Content-Type"] == "application/scim+json"
    # an obsolete folded line is joined without its line break (RFC 9112 5.2); leading blanks are dropped
    assert answer.headers["X-Folded"] == "first\tsecond" and answer.headers["Retry-After"] == "7"


def test_a_204_has_no_body_whatever_length_it_announces_and_keeps_the_connection(scripted):
    server = scripted([b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", ok()])
    with ScimClient(server.url, TOKEN, retry=ONE_TRY) as scim:
        deleted = scim.delete("Users", "u-1")
        found = scim.find("Users", "userName", "ann")
    assert deleted.status == 204 and deleted.text == ""
    assert found.status == 200 and found.body["totalResults"] == 0 and server.connections == 1


def test_bytes_after_an_answer_end_the_connection(scripted):
    server = scripted([ok() + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ok()])
    with ScimClient(server.url, TOKEN, retry=ONE_TRY) as scim:
        first = scim.find("Users", "userName", "ann")
        second = scim.find("Users", "userName", "bob")
    assert first.body["totalResults"] == 0 and second.status == 200
    assert server.connections == 2  # the unasked-for second answer was not read as the next request's


def test_a_broken_chunk_size_is_an_incomplete_read(scripted):
    server = scripted([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"],
                      close_after=True)
    with ScimClient(server.url, TOKEN, retry=ONE_TRY) as scim, pytest.raises(ScimTransportError) as failed:
        scim.find("Users", "userName", "ann")
    assert failed.value.exchanges[0].error == "connection: IncompleteRead"


def test_an_answer_without_length_runs_to_the_end_of_the_connection(scripted):
    server = scripted([b"HTTP/1.0 200 OK\r\nContent-Type: application/scim+json\r\n\r\n" + LIST, ok()],
                      close_after=True)
    with ScimClient(server.url, TOKEN, retry=ONE_TRY) as scim:
        first = scim.find("Users", "userName", "ann")
        second = scim.find("Users", "userName", "bob")
    assert first.body["totalResults"] == 0 and second.status == 200
    assert server.connections == 2


def test_connection_close_is_honoured(scripted):
    server = scripted([ok(extra=b"Connection: close\r\n"), ok()], close_after=True)
    with ScimClient(server.url, TOKEN, retry=ONE_TRY) as scim:
        answers = [scim.find("Users", "userName", name).status for name in ("ann", "bob")]
    assert answers == [200, 200] and server.connections == 2


def test_a_cut_body_is_an_incomplete_read(scripted):
    server = scripted([b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n" + LIST], close_after=True)
    with ScimClient(server.url, TOKEN, retry=ONE_TRY) as scim, pytest.raises(ScimTransportError) as failed:
        scim.find("Users", "userName", "ann")
    assert failed.value.kind == "connection"
    assert failed.value.exchanges[0].error == "connection: IncompleteRead"


def test_a_connection_closed_without_an_answer_is_remote_disconnected(scripted):
    server = scripted([b""], close_after=True)
    with ScimClient(server.url, TOKEN, retry=ONE_TRY) as scim, pytest.raises(ScimTransportError) as failed:
        scim.find("Users", "userName", "ann")
    assert failed.value.exchanges[0].error == "connection: RemoteDisconnected"


def test_a_garbled_status_line_is_a_bad_status_line(scripted):
    server = scripted([b"SMTP ready\r\n\r\n"], close_after=True)
    with ScimClient(server.url, TOKEN, retry=ONE_TRY) as scim, pytest.raises(ScimTransportError) as failed:
        scim.find("Users", "userName", "ann")
    assert failed.value.exchanges[0].error == "connection: BadStatusLine"


@pytest.mark.parametrize("value", ['userName eq "ann@contoso.com"', "a+b&c=d%e", "zoë 漢字 😀", "~._-", "", " ",
                                   'back\\slash "quoted"', "tab\tnew\nline"])
def test_query_values_are_encoded_as_urlencode_encodes_them(value):
    params = [("excludedAttributes", "members"), ("filter", value)]
    assert form_encode(params) == urlencode(params)


def test_a_cycle_killed_while_workers_run_resumes_without_duplicates(scim_targets, harness, tmp_path):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    add_people(tenant, 10, group=None, manager=False)
    for user in list(tenant.users.values()):
        tenant.assign(user.id)
    state_path = tmp_path / "job.db"
    h = harness(tenant, target, state_path=state_path, settings={"concurrency": 3})

    def kill_after_four(phase: str, done: int, total: int) -> None:
        if phase == "users" and done == 4:
            raise KeyboardInterrupt

    h.engine.progress = kill_after_four
    with pytest.raises(KeyboardInterrupt):
        h.cycle()
    created_before_the_kill = len(target.users())
    assert 4 <= created_before_the_kill < 10  # the workers stopped with the plans already handed to them

    resumed = harness(tenant, target, state_path=state_path, settings={"concurrency": 3})
    summary = resumed.cycle()

    assert summary.state == "Succeeded"
    names = [u["userName"] for u in target.list("Users")]
    assert sorted(names) == sorted(f"user{i}@contoso.com" for i in range(10))  # each exactly once
    assert [s.method for s in target.sent()].count("POST") == 10
