"""The client's HTTP transport: TLS against the job's CA, keep-alive reuse, idle connections the server closed, timeouts."""

from __future__ import annotations

import socket
import threading

import pytest

from simulator.lms.scim import LmsConfig, ScimStore, create_app, load_profile
from simulator.lms.scim.auth import TokenRegistry
from simulator.lms.scim.schemas import build_registry
from simulator.provisioning.scim_client import RetryPolicy, ScimClient, ScimTransportError
from simulator.serving import start_in_thread

from .conftest import TOKEN, read_request

ONE_TRY = RetryPolicy(max_attempts=1)
USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann@contoso.com"}


@pytest.fixture
def tls_lms(certs):
    profile = load_profile("entra-tolerant")
    tokens = TokenRegistry()
    tokens.add(TOKEN, label="engine")
    app = create_app(ScimStore(registry=build_registry(profile.extensions)), config=LmsConfig(profile=profile, tokens=tokens))
    running = start_in_thread(app, tls=certs)
    yield running.url + "/scim/v2"
    running.stop()


def test_https_with_the_jobs_ca_bundle(tls_lms, certs):
    with ScimClient(tls_lms, TOKEN, verify=certs.ca_cert, retry=ONE_TRY) as scim:
        created = scim.create("Users", USER)
        found = scim.find("Users", "userName", "ann@contoso.com")
    assert tls_lms.startswith("https://localhost:")
    assert created.status == 201 and found.body["totalResults"] == 1


def test_https_without_the_ca_is_a_connection_failure(tls_lms, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with ScimClient(tls_lms, TOKEN, retry=ONE_TRY) as scim, pytest.raises(ScimTransportError) as failed:
        scim.find("Users", "userName", "ann@contoso.com")
    assert failed.value.kind == "connection"
    assert failed.value.exchanges[0].error == "connection: SSLCertVerificationError"


def test_https_without_verification(tls_lms):
    with ScimClient(tls_lms, TOKEN, verify=False, retry=ONE_TRY) as scim:
        assert scim.find("Users", "userName", "ann@contoso.com").status == 200


class RawServer:
    """A raw HTTP server counting connections; it answers one request per connection, then closes it (a
    keep-alive the server ends), or with ``keep_alive`` every request that comes on it."""

    def __init__(self, reply_delay: float = 0.0, keep_alive: bool = False):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.closed = threading.Semaphore(0)  # released each time the server has closed a connection
        self.reply_delay = reply_delay
        self.keep_alive = keep_alive
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                while self._answer(conn) and self.keep_alive:
                    pass
            self.closed.release()

    def _answer(self, conn: socket.socket) -> bool:
        if read_request(conn) is None:
            return False
        if self._stop.wait(self.reply_delay):
            return False
        body = b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}'
        # No "Connection: close": the client believes the connection stays open (and may find it closed).
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        return True

    def stop(self) -> None:
        self._stop.set()
        self.listener.close()


def test_a_kept_alive_connection_the_server_closed_is_replaced_before_reuse():
    server = RawServer()
    try:
        with ScimClient(f"http://127.0.0.1:{server.port}/scim", TOKEN, retry=ONE_TRY) as scim:
            answers = []
            for i in range(3):
                answers.append(scim.find("Users", "userName", f"user{i}").status)
                # The server has closed the idle connection before the next request (else the test would race
                # the server's FIN: a connection that is closed while a request is on its way is a failure).
                assert server.closed.acquire(timeout=10)
    finally:
        server.stop()
    assert answers == [200, 200, 200] and server.connections == 3


def test_requests_in_sequence_share_one_kept_alive_connection():
    server = RawServer(keep_alive=True)
    try:
        with ScimClient(f"http://127.0.0.1:{server.port}/scim", TOKEN, retry=ONE_TRY) as scim:
            answers = [scim.find("Users", "userName", f"user{i}").status for i in range(5)]
    finally:
        server.stop()
    assert answers == [200] * 5 and server.connections == 1


def test_a_read_timeout_is_a_timeout():
    server = RawServer(reply_delay=5)
    try:
        with ScimClient(f"http://127.0.0.1:{server.port}/scim", TOKEN, retry=ONE_TRY, read_timeout=0.2) as scim, \
                pytest.raises(ScimTransportError) as failed:
            scim.find("Users", "userName", "ann")
    finally:
        server.stop()
    assert failed.value.kind == "timeout"
    assert failed.value.exchanges[0].error == "timeout: TimeoutError"
