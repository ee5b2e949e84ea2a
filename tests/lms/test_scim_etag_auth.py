"""ETags, bearer tokens, injected faults, the request log, state export/import and the control API."""

from __future__ import annotations

import json

import requests

from .conftest import GROUP, TOKEN, USER, assert_error


# ---------------------------------------------------------------- ETags (RFC 7644 §3.14)


def test_if_match_with_the_current_version_succeeds_and_a_stale_one_is_412(lms):
    user = lms.user("etag@example.com")
    version = user["meta"]["version"]
    ok = lms.patch(f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "A"}, headers={"If-Match": version})
    assert ok.status_code == 200
    new_version = ok.headers["ETag"]
    assert new_version != version
    before = lms.state()
    for method, kwargs in [("PATCH", {"body": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                               "Operations": [{"op": "replace", "path": "title", "value": "B"}]}}),
                           ("PUT", {"body": {"schemas": [USER], "userName": "etag@example.com"}}),
                           ("DELETE", {})]:
        resp = lms.request(method, f"/Users/{user['id']}", headers={"If-Match": version}, **kwargs)
        assert_error(resp, 412, detail=version)
    assert lms.state() == before
    assert lms.request("PUT", f"/Users/{user['id']}", {"schemas": [USER], "userName": "etag@example.com"},
                       headers={"If-Match": "*"}).status_code == 200
    current = lms.fetch("Users", user["id"])["meta"]["version"]
    assert lms.delete(f"/Users/{user['id']}", headers={"If-Match": f"{version}, {current}"}).status_code == 204


def test_if_none_match_gives_304_on_get_and_412_on_writes(lms):
    user = lms.user("cache@example.com")
    version = user["meta"]["version"]
    cached = lms.get(f"/Users/{user['id']}", headers={"If-None-Match": version})
    assert cached.status_code == 304 and cached.content == b"" and cached.headers["ETag"] == version
    fresh = lms.get(f"/Users/{user['id']}", headers={"If-None-Match": 'W/"0"'})
    assert fresh.status_code == 200 and fresh.headers["ETag"] == version
    assert_error(lms.patch(f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "x"},
                           headers={"If-None-Match": "*"}), 412)


def test_etag_changes_on_every_write_and_never_repeats(lms):
    user = lms.user("v1")
    versions = {user["meta"]["version"]}
    for title in ("a", "b", "c"):
        versions.add(lms.patch(f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": title}).headers["ETag"])
    lms.delete(f"/Users/{user['id']}")
    versions.add(lms.user("v1")["meta"]["version"])
    assert len(versions) == 5


# ---------------------------------------------------------------- bearer tokens (RFC 6750)


def test_missing_token_is_401_with_a_bare_bearer_challenge(lms):
    resp = requests.get(lms.base + "/Users", timeout=10)
    body = assert_error(resp, 401, detail="Authorization: Bearer")
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="entrasim-lms"'
    assert "scimType" not in body


def test_wrong_token_and_wrong_scheme_are_401_with_an_error_code(lms):
    resp = requests.get(lms.base + "/Users", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert_error(resp, 401, detail="not valid")
    assert resp.headers["WWW-Authenticate"].startswith('Bearer realm="entrasim-lms", error="invalid_token"')
    resp = requests.get(lms.base + "/Users", headers={"Authorization": f"Basic {TOKEN}"}, timeout=10)
    assert_error(resp, 401, detail="Bearer scheme")
    assert 'error="invalid_request"' in resp.headers["WWW-Authenticate"]


def test_several_tokens_one_revoked(lms):
    lms.tokens.add("rotated-token", label="rotated")
    second = {"Authorization": "Bearer rotated-token"}
    assert requests.get(lms.base + "/Users", headers=second, timeout=10).status_code == 200
    assert lms.get("/Users").status_code == 200
    lms.tokens.revoke("primary")
    assert_error(lms.get("/Users"), 401, detail="'primary' has been revoked")
    assert requests.get(lms.base + "/Users", headers=second, timeout=10).status_code == 200


def test_token_expires_on_the_simulated_clock(lms):
    lms.tokens.add("short-lived", label="short", lifetime=3600)
    headers = {"Authorization": "Bearer short-lived"}
    assert requests.get(lms.base + "/Users", headers=headers, timeout=10).status_code == 200
    lms.clock.advance(3600)
    resp = requests.get(lms.base + "/Users", headers=headers, timeout=10)
    assert_error(resp, 401, detail="'short' expired at 2026-01-15T10:00:00Z")
    assert lms.get("/Users").status_code == 200  # the primary token has no expiry


def test_refused_requests_change_nothing(lms):
    before = lms.state()
    resp = requests.post(lms.base + "/Users", json={"schemas": [USER], "userName": "sneaky"},
                         headers={"Authorization": "Bearer nope"}, timeout=10)
    assert resp.status_code == 401
    assert lms.state() == before


# ---------------------------------------------------------------- faults, log, state, control API


def test_injected_faults_answer_in_scim_format(lms):
    lms.faults.add(surface="lms", method="GET", path="/scim/v2/Users", kind="throttled", retry_after=7, first=1)
    resp = lms.get("/Users")
    assert_error(resp, 429)
    assert resp.headers["Retry-After"] == "7"
    assert lms.get("/Users").status_code == 200
    lms.faults.add(surface="lms", method="POST", path="/scim/v2/Groups", kind="unavailable", nth=1)
    assert_error(lms.post("/Groups", {"schemas": [GROUP], "displayName": "G"}), 503)
    assert lms.store.count("Group") == 0


def test_fault_rules_can_match_the_token_label(lms):
    lms.tokens.add("other-token", label="other")
    lms.faults.add(surface="lms", client_id="other", kind="server_error")
    assert lms.get("/Users").status_code == 200
    resp = requests.get(lms.base + "/Users", headers={"Authorization": "Bearer other-token"}, timeout=10)
    assert_error(resp, 500)


def test_request_log_records_requests_without_secrets(lms):
    lms.post("/Users", {"schemas": [USER], "userName": "logged", "password": "hunter2-secret"})
    entries = lms.log.entries()
    assert [(e.method, e.path, e.status) for e in entries] == [("POST", "/scim/v2/Users", 201)]
    entry = entries[0]
    assert entry.client_id == "primary" and entry.surface == "lms"
    dumped = json.dumps([e.as_dict() for e in entries])
    assert "hunter2-secret" not in dumped and TOKEN not in dumped
    assert '"userName": "logged"' in entry.request_body or '"userName":"logged"' in entry.request_body


def test_export_and_import_of_the_whole_state(lms, lms_server):
    alice = lms.user("alice")
    group = lms.group("G", members=[alice["id"]])
    state = lms.store.export_state()
    copy = lms_server("rfc")
    copy.store.import_state(json.loads(json.dumps(state)))
    original, restored = lms.fetch("Users", alice["id"]), copy.fetch("Users", alice["id"])
    assert restored["meta"] == {**original["meta"], "location": f"{copy.base}/Users/{alice['id']}"}
    assert restored["groups"][0]["value"] == original["groups"][0]["value"] == group["id"]
    assert copy.fetch("Groups", group["id"])["members"] == [{"value": alice["id"]}]
    assert copy.get("/Users", params={"filter": 'userName eq "ALICE"'}).json()["totalResults"] == 1  # indexes rebuilt
    bob = copy.user("bob")
    assert bob["meta"]["version"] not in (alice["meta"]["version"], group["meta"]["version"])


def test_control_api_state_tokens_faults_and_requests(lms_server):
    server = lms_server("rfc", control=True)
    control = server.url + "/_entrasim"
    server.user("alice")
    state = requests.get(control + "/scim/state", timeout=10).json()
    assert [u["userName"] for u in state["resources"]["User"]] == ["alice"]
    assert requests.put(control + "/scim/state", json={"format": "nope"}, timeout=10).status_code == 400
    assert server.store.count("User") == 1
    emptied = dict(state, resources={"User": [], "Group": []})
    assert requests.put(control + "/scim/state", json=emptied, timeout=10).json() == {"loaded": {"User": 0, "Group": 0}}
    assert server.get("/Users").json()["totalResults"] == 0

    added = requests.post(control + "/scim/tokens", json={"token": "ctl-token", "label": "ctl", "lifetime_seconds": 60},
                          timeout=10)
    assert added.status_code == 201 and "ctl-token" not in added.text
    assert requests.get(server.base + "/Users", headers={"Authorization": "Bearer ctl-token"}, timeout=10).status_code == 200
    listing = requests.get(control + "/scim/tokens", timeout=10).json()["tokens"]
    assert [t["label"] for t in listing] == ["primary", "ctl"] and TOKEN not in json.dumps(listing)
    assert requests.delete(control + "/scim/tokens/ctl", timeout=10).json()["state"] == "revoked"
    assert requests.get(server.base + "/Users", headers={"Authorization": "Bearer ctl-token"}, timeout=10).status_code == 401
    assert requests.delete(control + "/scim/tokens/nope", timeout=10).status_code == 404

    rule = requests.post(control + "/faults", json={"surface": "lms", "path": "/scim/v2/Users", "kind": "throttled",
                                                    "first": 1}, timeout=10)
    assert rule.status_code == 201
    assert server.get("/Users").status_code == 429
    requests.post(control + "/clock/advance", json={"seconds": 120}, timeout=10)
    assert server.get("/Users").status_code == 200
    logged = requests.get(control + "/requests", timeout=10).json()["value"]
    assert [e["status"] for e in logged if e["path"] == "/scim/v2/Users"][-2:] == [429, 200]


def test_control_api_requires_the_admin_key_when_set(lms_server):
    server = lms_server("rfc", control=True, admin_key="k3y")
    assert requests.get(server.url + "/_entrasim/scim/state", timeout=10).status_code == 401
    ok = requests.get(server.url + "/_entrasim/scim/state", headers={"X-Entrasim-Admin-Key": "k3y"}, timeout=10)
    assert ok.status_code == 200
