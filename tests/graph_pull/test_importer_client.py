"""The importer is a well-behaved Graph client: paging, $select, Retry-After, bounded retries, a complete log."""

from __future__ import annotations

import json
import shutil
import socket
from urllib.parse import parse_qs, urlsplit

from .conftest import upn


def _member_requests(world):
    return [e for e in world.graph.log.entries(surface="graph") if "/members" in e.path]


def test_pages_follow_next_links_and_select_only_the_imported_fields(pull_world):
    world = pull_world(page_size=2)
    gid = world.group("Staff", *(world.user(f"u{i}") for i in range(5)))

    result = world.import_group(gid)

    assert len(result.created) == 5
    requests_made = _member_requests(world)
    assert len(requests_made) == 3  # 2 + 2 + 1
    first = parse_qs(requests_made[0].query)
    assert first["$select"] == [("id,userPrincipalName,mail,givenName,surname,department,accountEnabled,"
                                 "preferredLanguage,country")]
    assert first["$top"] == ["2"] and first["$expand"] == ["manager($select=userPrincipalName)"]
    assert all("$skiptoken" in parse_qs(e.query) for e in requests_made[1:])
    graph_calls = [e for e in world.lms.import_log(result.id) if e.call == "graph"]
    assert [e.status for e in graph_calls] == [200, 200, 200]


def test_a_429_is_waited_out_for_its_retry_after(pull_world):
    world = pull_world()
    gid = world.group("Staff", world.user("ann"))
    world.graph.faults.add(surface="graph", path="/v1.0/groups/*", kind="throttled", retry_after=7, first=2)

    result = world.import_group(gid)

    assert result.ok and result.created == [upn("ann")]
    assert world.sleeps == [7, 7]
    statuses = [(e.status, e.retry_after) for e in world.lms.import_log(result.id) if e.call == "graph"]
    assert statuses == [(429, 7), (429, 7), (200, None)]


def test_retry_after_is_bounded_by_the_settings(pull_world):
    world = pull_world(max_retry_after=5)
    gid = world.group("Staff", world.user("ann"))
    world.graph.faults.add(surface="graph", path="/v1.0/groups/*", kind="throttled", retry_after=3600, first=1)
    assert world.import_group(gid).ok
    assert world.sleeps == [5]


def test_server_errors_are_retried_a_bounded_number_of_times_with_backoff(pull_world):
    world = pull_world(max_retries=2, backoff=0.5)
    gid = world.group("Staff", world.user("ann"))
    world.graph.faults.add(surface="graph", path="/v1.0/groups/*", kind="unavailable")  # every time

    result = world.import_group(gid)

    assert result.error == "Error 503 Service Unavailable"
    assert [e.attempt for e in world.lms.import_log(result.id) if e.call == "graph"] == [1, 2, 3]
    assert world.sleeps == [0.5, 1.0]


def test_a_transient_server_error_is_retried_and_the_import_succeeds(pull_world):
    world = pull_world()
    gid = world.group("Staff", world.user("ann"))
    world.graph.faults.add(surface="graph", path="/v1.0/groups/*", kind="server_error", first=1)
    result = world.import_group(gid)
    assert result.ok and result.created == [upn("ann")]
    assert [e.status for e in world.lms.import_log(result.id) if e.call == "graph"] == [500, 200]


def test_a_dropped_connection_is_retried(pull_world):
    world = pull_world()
    gid = world.group("Staff", world.user("ann"))
    world.graph.faults.add(surface="graph", path="/v1.0/groups/*", drop=True, first=1)
    result = world.import_group(gid)
    assert result.ok
    assert [e.status for e in world.lms.import_log(result.id) if e.call == "graph"] == [0, 200]


def test_the_token_is_reused_until_it_expires_on_the_clock(pull_world):
    world = pull_world()
    gid = world.group("Staff", world.user("ann"))
    world.import_group(gid)
    world.import_group(gid)
    assert [e.call for e in world.lms.import_log()].count("token") == 1
    world.tenant.advance_clock(3600)
    world.import_group(gid)
    assert [e.call for e in world.lms.import_log()].count("token") == 2


def test_the_log_records_every_call_and_never_the_secret_or_token(pull_world):
    world = pull_world(page_size=1)
    gid = world.group("Staff", world.user("ann"), world.user("bob"))
    result = world.import_group(gid)
    entries = world.lms.import_log(result.id)
    assert [(e.call, e.method, e.status) for e in entries] == [("token", "POST", 200), ("graph", "GET", 200),
                                                              ("graph", "GET", 200)]
    assert len(world.graph.log.entries()) == len(entries)  # nothing the server saw is missing from the LMS's log
    text = json.dumps([e.to_dict() for e in entries])
    assert world.graph.client_secret not in text
    assert '"access_token":"[redacted]"' in entries[0].excerpt and "eyJ" not in text
    assert all(urlsplit(e.url).scheme == "https" for e in entries)


def test_a_success_that_is_not_json_is_retried(pull_world):
    world = pull_world()
    gid = world.group("Staff", world.user("ann"))
    world.graph.faults.add(surface="graph", path="/v1.0/groups/*", status=200, body="<html>proxy login</html>",
                           content_type="text/html", first=1)
    result = world.import_group(gid)
    assert result.ok and result.created == [upn("ann")]
    graph_calls = [(e.status, e.error_code) for e in world.lms.import_log(result.id) if e.call == "graph"]
    assert graph_calls == [(200, "invalid_response"), (200, None)]


def test_a_success_that_stays_unreadable_fails_the_import_with_a_clear_text(pull_world):
    world = pull_world(max_retries=1)
    gid = world.group("Staff", world.user("ann"))
    world.graph.faults.add(surface="graph", path="/v1.0/groups/*", status=200, body="[]")
    result = world.import_group(gid)
    assert result.error == "Azure connection error: invalid response"
    assert result.error_detail["status"] == 200 and result.error_detail["error_code"] == "invalid_response"


def test_a_refused_connection_is_retried_then_named_for_the_admin(pull_world):
    world = pull_world(max_retries=2)
    with socket.socket() as reserved:  # bound but not listening: connections to it are refused
        reserved.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{reserved.getsockname()[1]}"
        world.lms.update_connection(world.connection_id, authority_host=url, graph_url=f"{url}/v1.0", ca_bundle=None)
        result = world.import_group(world.group("Staff", world.user("ann")))

    assert result.error == "Azure connection error: cannot connect (refused or unreachable)"
    attempts = world.lms.import_log(result.id)
    assert [(e.call, e.status, e.attempt) for e in attempts] == [("token", 0, 1), ("token", 0, 2), ("token", 0, 3)]
    assert "refused" in attempts[-1].excerpt.lower()  # what the client saw, since there is no body
    assert result.error_detail["log_seq"] == attempts[-1].seq


def test_an_untrusted_certificate_fails_at_once_with_a_tls_hint(pull_world):
    world = pull_world()
    world.lms.update_connection(world.connection_id, ca_bundle=None)  # system CAs: the mock's local CA is not one

    result = world.import_group(world.group("Staff", world.user("ann")))

    assert result.error.startswith("Azure connection error: TLS handshake failed")
    assert [(e.status, e.error_code) for e in world.lms.import_log(result.id)] == [(0, "SSLError")]  # not retried
    assert world.sleeps == []


def test_a_ca_bundle_removed_after_configuration_fails_the_import_cleanly(pull_world, tmp_path):
    world = pull_world()
    ca_copy = tmp_path / "ca.pem"
    shutil.copyfile(world.graph.ca, ca_copy)
    world.lms.update_connection(world.connection_id, ca_bundle=str(ca_copy))
    ca_copy.unlink()

    resp = world.call("POST", "/imports", json={"connection_id": world.connection_id,
                                                "group_id": world.group("Staff", world.user("ann"))})

    assert resp.status_code == 200 and resp.json()["status"] == "failed"
    assert resp.json()["error"] == "Azure connection error: cannot read the connection's CA bundle"
    assert [e.error_code for e in world.lms.import_log(resp.json()["id"])] == ["OSError"]
