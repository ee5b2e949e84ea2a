"""The SCIM client on the wire: Entra's headers and encodings, its retry rules, and redacted exchanges."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import jwt
import pytest

from simulator.provisioning.mappings import TargetPath
from simulator.provisioning.resources import Change
from simulator.provisioning.scim_client import (
    ENTRA_SCIM_AUDIENCE,
    Dialect,
    RateLimiter,
    RetryPolicy,
    ScimClient,
    ScimHttpError,
    ScimTransportError,
)
from simulator.retry_after import retry_after_seconds

from .conftest import TOKEN, add_people, new_tenant

FAST = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.02, default_retry_after=0.01)
USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann@contoso.com"}


def client(target, **kwargs) -> ScimClient:
    kwargs.setdefault("retry", FAST)
    return ScimClient(target.base + "?aadOptscim062020", TOKEN, **kwargs)


def test_headers_and_filter_encoding_are_entras(scim_targets):
    target = scim_targets("scim2-server")
    with client(target) as scim:
        scim.find("Users", "userName", 'ann "the first"@contoso.com')
        scim.create("Users", USER)

    get, post = target.sent()
    assert get.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "Content-Type" not in get.headers  # no body, no content type
    assert get.filter == 'userName eq "ann \\"the first\\"@contoso.com"'
    assert post.headers["Content-Type"] == "application/scim+json; charset=utf-8"
    assert "If-Match" not in post.headers
    assert "aadOptscim062020" not in json.dumps(get.query)  # the flag selects the dialect; it is not forwarded


def test_the_filter_goes_on_the_wire_with_plus_and_percent_22(scim_targets):
    target = scim_targets("lms", "entra-tolerant")
    with client(target) as scim:
        response = scim.find("Groups", "displayName", "Learners")
    (exchange,) = response.exchanges
    assert exchange.url.endswith("/Groups?excludedAttributes=members&filter=displayName+eq+%22Learners%22")


def test_without_a_secret_token_entra_sends_a_token_it_issued(scim_targets, harness):
    target = scim_targets("scim2-server", open_access=True)
    tenant = new_tenant()
    add_people(tenant, 1)
    h = harness(tenant, target, dialect="aadOptscim062020", replace={"secretToken: provisioning-test-token": "secretToken: ''"})

    h.cycle()

    token = target.sent()[0].headers["Authorization"].split(" ", 1)[1]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == ENTRA_SCIM_AUDIENCE and claims["iss"] == f"https://sts.windows.net/{tenant.id}/"


def test_a_get_is_retried_after_a_server_error_and_a_post_is_not(scim_targets):
    target = scim_targets("lms", "entra-tolerant")
    target.faults.add(surface="lms", method="GET", path="/scim/v2/Users", kind="server_error", first=1)
    target.faults.add(surface="lms", method="POST", path="/scim/v2/Users", kind="server_error", first=1)
    with client(target) as scim:
        found = scim.find("Users", "userName", "x")
        with pytest.raises(ScimHttpError) as failed:
            scim.create("Users", USER)

    assert [e.status for e in found.exchanges] == [500, 200]
    assert failed.value.status == 500 and [e.status for e in failed.value.exchanges] == [500]
    assert [s.method for s in target.sent()] == ["GET", "GET", "POST"]


def test_a_dropped_connection_is_retried_for_reads_only(scim_targets):
    target = scim_targets("lms", "entra-tolerant")
    target.faults.add(surface="lms", method="GET", path="/scim/v2/Users", drop=True, first=1)
    target.faults.add(surface="lms", method="POST", path="/scim/v2/Users", drop=True, first=1)
    with client(target) as scim:
        found = scim.find("Users", "userName", "x")
        with pytest.raises(ScimTransportError) as failed:
            scim.create("Users", USER)

    assert [e.status for e in found.exchanges] == [None, 200]
    assert found.exchanges[0].error.startswith("connection")
    assert failed.value.kind == "connection" and len(failed.value.exchanges) == 1
    assert target.users() == {}


def test_throttling_gives_up_after_the_last_attempt(scim_targets):
    target = scim_targets("lms", "entra-tolerant")
    target.faults.add(surface="lms", method="GET", path="/scim/v2/Users", kind="throttled", retry_after=0)
    waits = []
    with client(target, on_wait=lambda seconds, reason: waits.append(seconds)) as scim:
        with pytest.raises(ScimHttpError) as failed:
            scim.find("Users", "userName", "x")
    assert failed.value.status == 429 and len(failed.value.exchanges) == 3
    assert waits == [0.0, 0.0]


def test_a_retry_after_beyond_the_limit_is_not_waited(scim_targets):
    target = scim_targets("lms", "entra-tolerant")
    target.faults.add(surface="lms", method="GET", path="/scim/v2/Users", kind="throttled", retry_after=3600)
    with client(target) as scim, pytest.raises(ScimHttpError) as failed:
        scim.find("Users", "userName", "x")
    assert len(failed.value.exchanges) == 1


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_exchanges_never_hold_the_token(scim_targets):
    target = scim_targets("lms", "entra-tolerant")
    with client(target) as scim:
        created = scim.create("Users", {**USER, "password": "hunter2-secret"})
    dumped = json.dumps([e.as_dict() for e in created.exchanges])
    assert TOKEN not in dumped and "hunter2-secret" not in dumped
    assert '"password":"[redacted]"' in created.exchanges[0].request_body


def test_a_request_rate_spaces_requests_evenly():
    slept: list[float] = []
    limiter = RateLimiter(5, sleep=slept.append, monotonic=lambda: 100.0)  # time stands still: every wait shows
    for _ in range(4):
        limiter.acquire()
    assert slept == pytest.approx([0.2, 0.4, 0.6])
    assert RateLimiter(None, sleep=slept.append).acquire() == 0.0


# ------------------------------------------------------------------ the dialects' bodies

def change(path: str, old, new) -> Change:
    return Change(TargetPath.parse(path), old, new)


CHANGES = [change("displayName", "Pvlo", "Bjfe"), change('emails[type eq "work"].value', "a@x.com", "b@x.com"),
           change("name.givenName", "G", "Kkom"), change("nickName", None, "Babs"),
           change("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "1", "Aklq")]


def test_default_dialect_sends_one_capitalised_op_per_attribute():
    assert Dialect("default").attribute_operations(CHANGES) == [
        {"op": "Replace", "path": "displayName", "value": "Bjfe"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "b@x.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Kkom"},
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "Aklq"},
    ]
    assert Dialect("default").attribute_operations([change("active", True, "False")]) == \
        [{"op": "Replace", "path": "active", "value": "False"}]


def test_the_flag_merges_replaces_into_one_pathless_op():
    assert Dialect("aadOptscim062020").attribute_operations(CHANGES) == [
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "b@x.com"},
        {"op": "add", "path": "nickName", "value": "Babs"},
        {"op": "replace", "value": {"displayName": "Bjfe", "name.givenName": "Kkom",
                                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"}},
    ]
    assert Dialect("aadOptscim062020").attribute_operations([change("active", True, "False")]) == \
        [{"op": "replace", "path": "active", "value": False}]


def test_member_and_manager_operations_in_both_dialects():
    manager = TargetPath.parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager")
    default, flag = Dialect("default"), Dialect("aadOptscim062020")
    assert default.members_add(["u1", "u2"]) == [
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": "u1"}, {"$ref": None, "value": "u2"}]}]
    assert default.members_remove(["u1091"]) == [{"op": "Remove", "path": "members", "value": [{"$ref": None, "value": "u1091"}]}]
    assert flag.members_remove(["a", "b"]) == [{"op": "remove", "path": 'members[value eq "a"]'},
                                              {"op": "remove", "path": 'members[value eq "b"]'}]
    assert default.manager_set(manager, "271", had_manager=False) == [{"op": "Add", "path": manager.text, "value": "271"}]
    assert flag.manager_set(manager, "271", had_manager=True) == [{"op": "replace", "path": manager.text, "value": {"value": "271"}}]
    assert default.manager_remove(manager, "271") == [{"op": "Remove", "path": 'manager[value eq "271"]'}]
