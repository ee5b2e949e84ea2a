"""The control API under /_entrasim/, over real HTTP, through ``ControlClient`` and plain requests.

What a test suite sees: every tenant change made through the API shows in
GET /_entrasim/tenant, in the change journal and in what Graph and the token
endpoint answer; bad input gets a 4xx naming the key at fault and changes
nothing; the admin key is enforced when set.
"""

from __future__ import annotations

import pytest
import requests
from flask import Flask

from simulator.clock import Clock
from simulator.control import make_blueprint
from simulator.control_client import ControlAPIError, ControlClient
from simulator.faults import FaultInjector
from simulator.graph.context import GraphConfig
from simulator.requestlog import RequestLog
from simulator.serving import start_in_thread

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


@pytest.fixture
def env(graph_server):
    server = graph_server(tls=False, config=GraphConfig(control=True))
    http = requests.Session()
    http.trust_env = False
    with ControlClient(server.url) as control:
        yield server, control, http


def upn(server, alias: str) -> str:
    return f"{alias}@{server.tenant.primary_domain}"


def refused(call, status: int, *words: str) -> ControlAPIError:
    """Run ``call`` and check it is refused with ``status`` and a message containing ``words``."""
    with pytest.raises(ControlAPIError) as info:
        call()
    error = info.value
    assert error.status == status, error
    for word in words:
        assert word in error.message, error.message
    return error


def token_response(http, server, client_id: str, secret: str) -> requests.Response:
    return http.post(f"{server.url}/{server.tenant.id}/oauth2/v2.0/token",
                     data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
                           "scope": GRAPH_SCOPE})


def graph_get(http, server, path: str) -> requests.Response:
    token = token_response(http, server, server.client_id, server.client_secret).json()["access_token"]
    return http.get(server.graph_url + path, headers={"Authorization": f"Bearer {token}"})


# ------------------------------------------------------------------ access
def test_admin_key_is_required_when_set(graph_server):
    server = graph_server(tls=False, config=GraphConfig(control=True, admin_key="s3cret-admin-key"))
    http = requests.Session()
    http.trust_env = False
    for headers in ({}, {"X-Entrasim-Admin-Key": "wrong"}, {"X-Entrasim-Admin-Key": ""}):
        for method, path in (("GET", "/health"), ("DELETE", "/faults"), ("GET", "/no-such-route")):
            response = http.request(method, f"{server.url}/_entrasim{path}", headers=headers)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "unauthorized"
            assert "X-Entrasim-Admin-Key" in response.json()["error"]["message"]
    refused(lambda: ControlClient(server.url).health(), 401)
    with ControlClient(server.url, admin_key="s3cret-admin-key") as control:
        assert control.health()["tenantId"] == server.tenant.id


def test_control_api_is_off_unless_enabled(graph_server):
    server = graph_server(tls=False)
    response = requests.get(f"{server.url}/_entrasim/health")
    assert response.status_code == 404


def test_client_over_tls_with_the_ca_path(graph_server):
    server = graph_server(tls=True, config=GraphConfig(control=True, admin_key="k"))
    with ControlClient(server.url + "/_entrasim", admin_key="k", verify=server.ca) as control:
        assert control.health()["status"] == "ok"
        assert control.clock() == {"now": "2026-01-15T09:00:00Z", "frozen": True}


def test_unknown_routes_and_methods(env):
    server, control, http = env
    error = refused(lambda: control.call("GET", "/nothing-here"), 404, "/_entrasim/nothing-here")
    assert error.code == "notFound"
    error = refused(lambda: control.call("PUT", "/faults"), 405, "GET", "POST", "DELETE")
    assert error.code == "methodNotAllowed"
    response = http.put(f"{server.url}/_entrasim/clock")
    assert response.status_code == 405 and response.headers["Allow"] == "GET"


# ------------------------------------------------------------------ faults
def test_fault_rules_are_added_listed_and_removed(env):
    _server, control, _http = env
    one = control.add_fault(path="/v1.0/users", kind="throttled", retry_after=5)
    assert one["id"] and one["kind"] == "throttled" and (one["matched"], one["fired"]) == (0, 0)
    pair = control.add_faults([{"id": "a", "path": "/x", "status": 500}, {"id": "b", "method": "POST", "drop": True}])
    assert [r["id"] for r in pair] == ["a", "b"]
    assert [r["id"] for r in control.faults()] == [one["id"], "a", "b"]
    assert control.fault("a")["status"] == 500
    control.remove_fault("a")
    assert [r["id"] for r in control.faults()] == [one["id"], "b"]
    refused(lambda: control.remove_fault("a"), 404, "'a'")
    refused(lambda: control.fault("a"), 404, "'a'")
    assert control.clear_faults() == 2
    assert control.faults() == []


@pytest.mark.parametrize("rule, words", [
    ({"path": "/x", "stauts": 500}, ["stauts"]),
    ({"path": "/x", "kind": "meltdown"}, ["meltdown"]),
    ({"path": "/x"}, ["must act"]),
    ({"path": "/x", "status": 500, "nth": 0}, ["'nth'"]),
    ({"path": "/x", "status": 700}, ["'status'"]),
    ({"path": "/x", "status": "500"}, ["'status'"]),
    ({"path": 5, "status": 500}, ["'path'"]),
    ({"path": "^(unclosed", "status": 500}, ["'path'"]),
    ({"path": "/x", "status": 500, "probability": 1.5}, ["'probability'"]),
    ({"path": "/x", "status": 500, "after": "next tuesday"}, ["'after'"]),
    ({"path": "/x", "drop": "yes"}, ["'drop'"]),
    ({"path": "/x", "latency_ms": -1}, ["'latency_ms'"]),
    ({"path": "/x", "status": 500, "headers": {"X-A": "1\r\nX-B: 2"}}, ["X-A"]),
    ({"path": "/x", "status": 500, "headers": ["X-A"]}, ["'headers'"]),
    ({"path": "/x", "status": 500, "first": True}, ["'first'"]),
])
def test_bad_fault_rule_is_refused_naming_the_key(env, rule, words):
    _server, control, _http = env
    refused(lambda: control.add_fault(**rule), 400, *words)
    assert control.faults() == []


def test_a_list_of_rules_is_added_whole_or_not_at_all(env):
    _server, control, _http = env
    refused(lambda: control.add_faults([{"path": "/ok", "status": 500}, {"path": "/bad", "status": 500, "evry": 2}]),
            400, "fault rule 1", "evry")
    refused(lambda: control.add_faults([{"id": "same", "status": 500}, {"id": "same", "status": 502}]), 400, "same")
    refused(lambda: control.add_faults([{"status": 500}, "not an object"]), 400, "fault rule 1")
    assert control.faults() == []
    control.add_fault(id="taken", status=500)
    refused(lambda: control.add_faults([{"id": "fresh", "status": 500}, {"id": "taken", "status": 502}]), 409, "taken")
    assert [r["id"] for r in control.faults()] == ["taken"]


# ------------------------------------------------------------------ clock
def test_clock_reads_and_advances(env):
    server, control, _http = env
    assert control.clock() == {"now": "2026-01-15T09:00:00Z", "frozen": True}
    assert control.advance_clock(90)["now"] == "2026-01-15T09:01:30Z"
    assert control.advance_clock(days=1, hours=2, minutes=3)["now"] == "2026-01-16T11:04:30Z"
    assert server.tenant.clock.now().isoformat() == "2026-01-16T11:04:30+00:00"


@pytest.mark.parametrize("body, status, words", [
    ({"seconds": -5}, 400, ["'seconds'"]),
    ({"days": "two"}, 400, ["'days'"]),
    ({"weeks": 1}, 400, ["weeks"]),
    ({"days": True}, 400, ["'days'"]),
    ({}, 400, ["seconds"]),
    ([1], 400, ["JSON object"]),
    ({"days": 1e300}, 400, ["too long"]),
    ({"days": 3_000_000}, 400, ["9999"]),
])
def test_bad_clock_advance_is_refused(env, body, status, words):
    _server, control, _http = env
    refused(lambda: control.call("POST", "/clock/advance", json=body), status, *words)
    assert control.clock()["now"] == "2026-01-15T09:00:00Z"


def test_malformed_bodies_get_4xx_never_500(env):
    server, _control, http = env
    base = f"{server.url}/_entrasim"
    cases = [
        ("POST", "/clock/advance", b"{not json"),
        ("POST", "/clock/advance", b"NaN"),
        ("POST", "/clock/advance", b""),
        ("POST", "/faults", b"[]"),
        ("POST", "/faults", b"\xff\xfe"),
        ("POST", "/users", b"null"),
        ("POST", "/users", b'{"userPrincipalName": 7}'),
        ("POST", "/groups", b'{"displayName": "G", "members": "not-a-list"}'),
        ("PATCH", "/users/nobody@x", b'{"mail": "a@b"}'),
        ("GET", "/requests?since=-1", None),
        ("GET", "/requests?sinse=1", None),
        ("GET", "/journal?kind=planet", None),
    ]
    for method, path, body in cases:
        response = http.request(method, base + path, data=body, headers={"Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, (method, path, response.status_code, response.text)
        error = response.json()["error"]
        assert error["code"] and error["message"]


# ------------------------------------------------------------------ request log
def test_request_log_since_surface_and_clear(env):
    server, control, http = env
    http.get(f"{server.url}/{server.tenant.id}/v2.0/.well-known/openid-configuration")
    http.get(server.graph_url + "/users")
    log = control.request_log()
    assert [e["surface"] for e in log["value"]] == ["identity", "graph"]
    assert [e["path"] for e in control.requests(surface="graph")] == ["/v1.0/users"]
    assert control.requests(since=log["lastSeq"]) == []
    http.get(server.graph_url + "/groups")
    assert [e["path"] for e in control.requests(since=log["lastSeq"])] == ["/v1.0/groups"]
    control.clear_requests()
    assert control.requests() == []
    refused(lambda: control.call("GET", "/requests", params={"since": "x"}), 400, "'since'")
    refused(lambda: control.call("GET", "/requests", params={"limit": "3"}), 400, "limit")


def test_token_request_secrets_never_reach_the_log(env):
    server, control, http = env
    response = token_response(http, server, server.client_id, server.client_secret)
    token = response.json()["access_token"]
    http.get(server.graph_url + "/users", headers={"Authorization": f"Bearer {token}"})
    http.get(server.graph_url + "/users", params={"access_token": token})
    text = requests.get(f"{server.url}/_entrasim/requests").text
    assert len(control.requests()) == 3
    assert server.client_secret not in text
    assert token not in text
    assert token.split(".")[2] not in text  # nor the signature alone


# ------------------------------------------------------------------ tenant: users
def test_tenant_view_lists_apps_without_secret_values(env):
    server, control, _http = env
    view = control.tenant()
    assert view["id"] == server.tenant.id
    assert view["domains"] == [server.tenant.primary_domain]
    assert view["counts"]["users"] == 0 and view["counts"]["applications"] == 1
    (app,) = view["applications"]
    assert app["appId"] == server.client_id
    assert app["servicePrincipal"]["grantedPermissions"] == ["User.Read.All", "Group.Read.All", "GroupMember.Read.All"]
    (cred,) = app["passwordCredentials"]
    assert cred["hint"] == server.client_secret[:3] and cred["expired"] is False
    assert server.client_secret not in str(view)


def test_user_lifecycle_shows_in_tenant_journal_and_graph(env):
    server, control, http = env
    start = control.tenant()["journal"]["lastSeq"]
    adele = control.create_user(upn(server, "adele"), givenName="Adele", surname="Vance", department="Sales")
    assert adele["displayName"] == "Adele Vance" and adele["accountEnabled"] is True
    assert control.tenant()["counts"]["users"] == 1
    assert graph_get(http, server, f"/users/{adele['id']}").json()["userPrincipalName"] == adele["userPrincipalName"]

    changed = control.update_user(adele["userPrincipalName"], mail=upn(server, "adele.v"), jobTitle="Lead")
    assert (changed["mail"], changed["jobTitle"]) == (upn(server, "adele.v"), "Lead")
    control.update_user(adele["id"], userPrincipalName=upn(server, "adele.vance"))
    assert control.get_user(upn(server, "adele.vance"))["id"] == adele["id"]

    assert control.disable_user(adele["id"])["accountEnabled"] is False
    assert graph_get(http, server, f"/users/{adele['id']}?$select=accountEnabled").json()["accountEnabled"] is False
    assert control.enable_user(adele["id"])["accountEnabled"] is True

    assert control.soft_delete_user(adele["id"])["deletedDateTime"] == "2026-01-15T09:00:00Z"
    counts = control.tenant()["counts"]
    assert (counts["users"], counts["deletedUsers"]) == (0, 1)
    assert graph_get(http, server, f"/users/{adele['id']}").status_code == 404
    assert control.restore_user(adele["id"])["deletedDateTime"] is None
    control.soft_delete_user(adele["id"])
    purged = control.purge_user(adele["id"])
    assert purged == {"id": adele["id"], "userPrincipalName": upn(server, "adele.vance"), "purged": True}
    assert control.tenant()["counts"]["deletedUsers"] == 0

    actions = [(c["action"], sorted(c.get("changes", {}))) for c in control.journal(since=start, kind="user")]
    assert [a for a, _ in actions] == ["created", "updated", "updated", "updated", "updated",
                                       "softDeleted", "restored", "softDeleted", "purged"]
    assert actions[1][1] == ["jobTitle", "mail"]
    assert actions[2][1] == ["userPrincipalName"]
    assert actions[3][1] == ["accountEnabled"]


def test_manager_by_upn_and_its_refusals(env):
    server, control, _http = env
    boss = control.create_user(upn(server, "boss"))
    worker = control.create_user(upn(server, "worker"), manager=boss["userPrincipalName"])
    assert worker["managerId"] == boss["id"]
    refused(lambda: control.update_user(boss["id"], manager=worker["userPrincipalName"]), 400, "cycle")
    refused(lambda: control.update_user(worker["id"], manager=upn(server, "ghost")), 400, "'manager'", "ghost")
    refused(lambda: control.update_user(worker["id"], manager=boss["id"], managerId=boss["id"]), 400, "not both")
    guest = control.create_user(f"jane_fabrikam.com#EXT#@{server.tenant.primary_domain}", manager=boss["id"])
    assert guest["userType"] == "Guest"
    assert control.get_user(guest["userPrincipalName"])["managerId"] == boss["id"]
    assert control.update_user(worker["id"], manager=None)["managerId"] is None


def test_bad_user_requests_change_nothing(env):
    server, control, _http = env
    user = control.create_user(upn(server, "kim"), department="Ops")
    seq = control.tenant()["journal"]["lastSeq"]
    refused(lambda: control.create_user(upn(server, "kim").upper()), 409, "userPrincipalName")
    refused(lambda: control.create_user("no-at-sign"), 400, "no-at-sign")
    refused(lambda: control.create_user(upn(server, "x"), favouriteColour="red"), 400, "favouriteColour")
    refused(lambda: control.create_user(upn(server, "x"), id="not-a-guid"), 400, "'id'")
    refused(lambda: control.create_user(upn(server, "x"), createdDateTime="yesterday"), 400, "'createdDateTime'")
    refused(lambda: control.call("POST", "/users", json={"displayName": "No UPN"}), 400, "'userPrincipalName'")
    refused(lambda: control.update_user(user["id"], department="Sales", accountEnabled="false"), 400, "'accountEnabled'")
    refused(lambda: control.update_user(user["id"], businessPhones="555"), 400, "'businessPhones'")
    refused(lambda: control.update_user(user["id"], id="00000000-0000-4000-8000-000000000000"), 400, "id")
    refused(lambda: control.update_user(upn(server, "nobody")), 404, "nobody")
    refused(lambda: control.disable_user(upn(server, "nobody")), 404, "nobody")
    refused(lambda: control.call("POST", f"/users/{user['id']}/vaporize"), 404, "vaporize", "soft-delete")
    refused(lambda: control.restore_user(user["id"]), 404)
    assert control.get_user(user["id"])["department"] == "Ops"
    assert control.tenant()["journal"]["lastSeq"] == seq
    assert control.tenant()["counts"]["users"] == 1


def test_soft_deleted_users_are_purged_when_the_clock_passes_retention(env):
    server, control, _http = env
    user = control.create_user(upn(server, "leaver"))
    control.soft_delete_user(user["id"])
    control.advance_clock(days=29)
    assert control.tenant()["counts"]["deletedUsers"] == 1
    control.advance_clock(days=1)
    assert control.tenant()["counts"]["deletedUsers"] == 0
    assert control.journal(kind="user")[-1]["action"] == "purged"


# ------------------------------------------------------------------ tenant: groups and assignments
def test_group_lifecycle(env):
    server, control, http = env
    ann = control.create_user(upn(server, "ann"))
    bob = control.create_user(upn(server, "bob"))
    inner = control.create_group("Inner")
    group = control.create_group("Teachers", members=[ann["userPrincipalName"], inner["id"]], description="All staff")
    assert group["members"] == [ann["id"], inner["id"]]
    assert control.tenant()["counts"]["groups"] == 2 and control.tenant()["counts"]["memberships"] == 2
    members = graph_get(http, server, f"/groups/{group['id']}/members").json()["value"]
    assert sorted(m["id"] for m in members) == sorted([ann["id"], inner["id"]])

    assert control.rename_group(group["id"], "Faculty")["displayName"] == "Faculty"
    assert control.update_group(group["id"], description=None)["description"] is None
    added = control.add_member(group["id"], bob["userPrincipalName"])
    assert added == {"groupId": group["id"], "memberId": bob["id"], "memberCount": 3}
    refused(lambda: control.add_member(group["id"], bob["id"]), 409, "members")
    refused(lambda: control.add_member(group["id"], group["id"]), 400, "itself")
    assert control.remove_member(group["id"], ann["id"])["memberCount"] == 2
    refused(lambda: control.remove_member(group["id"], ann["id"]), 404)
    assert control.get_group(group["id"])["members"] == [inner["id"], bob["id"]]

    control.delete_group(group["id"])
    refused(lambda: control.get_group(group["id"]), 404, group["id"])
    assert control.tenant()["counts"]["groups"] == 1
    actions = [c["action"] for c in control.journal(kind="group") if c["objectId"] == group["id"]]
    assert actions == ["created", "memberAdded", "memberAdded", "updated", "updated", "memberAdded", "memberRemoved", "deleted"]


def test_bad_group_requests_change_nothing(env):
    server, control, _http = env
    ann = control.create_user(upn(server, "ann"))
    group = control.create_group("Staff")
    seq = control.tenant()["journal"]["lastSeq"]
    refused(lambda: control.create_group("New", members=[ann["id"], upn(server, "ghost")]), 400, "ghost")
    refused(lambda: control.create_group("New", members=[ann["id"], ann["userPrincipalName"]]), 400, "twice")
    refused(lambda: control.create_group("New", securityEnabled="yes"), 400, "'securityEnabled'")
    refused(lambda: control.create_group("New", members=["x"], id="x"), 400, "'id'")
    refused(lambda: control.call("POST", "/groups", json={"description": "no name"}), 400, "'displayName'")
    refused(lambda: control.update_group(group["id"], members=[]), 400, "members")
    refused(lambda: control.update_group(group["id"], displayName=None), 400, "'displayName'")
    refused(lambda: control.delete_group("00000000-0000-4000-8000-000000000000"), 404)
    refused(lambda: control.add_member(group["id"], upn(server, "ghost")), 404, "ghost")
    assert control.tenant()["journal"]["lastSeq"] == seq
    assert control.tenant()["counts"]["groups"] == 1


def test_assignments(env):
    server, control, _http = env
    ann = control.create_user(upn(server, "ann"))
    group = control.create_group("Students")
    assert control.assign(ann["userPrincipalName"], "Teacher") == {"principalId": ann["id"], "principalType": "User", "appRole": "Teacher"}
    assert control.assign(group["id"])["principalType"] == "Group"
    assert {a["principalId"] for a in control.assignments()} == {ann["id"], group["id"]}
    assert control.tenant()["counts"]["assignments"] == 2
    control.unassign(ann["id"])
    refused(lambda: control.unassign(ann["id"]), 404)
    refused(lambda: control.assign(upn(server, "ghost")), 404, "ghost")
    refused(lambda: control.call("POST", f"/assignments/{group['id']}", json={"appRole": 3}), 400, "'appRole'")
    refused(lambda: control.call("POST", f"/assignments/{group['id']}", json={"role": "User"}), 400, "role")
    assert [c["action"] for c in control.journal(kind="assignment")] == ["assigned", "assigned", "unassigned"]


# ------------------------------------------------------------------ tenant: applications
def test_secrets_are_created_expired_and_deleted(env):
    server, control, http = env
    app_id = server.client_id
    secret = control.add_secret(app_id, "rotation", days=30)
    assert secret["endDateTime"] == "2026-02-14T09:00:00Z"
    listed = {c["keyId"]: c for c in control.get_app(app_id)["passwordCredentials"]}
    assert listed[secret["keyId"]]["hint"] == secret["secretText"][:3]
    assert secret["secretText"] not in str(control.tenant())
    assert token_response(http, server, app_id, secret["secretText"]).status_code == 200

    expired = control.expire_secret(app_id, secret["keyId"])
    assert expired["expired"] is True and "secretText" not in expired
    refused_token = token_response(http, server, app_id, secret["secretText"])
    assert refused_token.status_code == 401
    assert "AADSTS7000222" in refused_token.json()["error_description"]

    control.delete_secret(app_id, secret["keyId"])
    assert secret["keyId"] not in {c["keyId"] for c in control.get_app(app_id)["passwordCredentials"]}
    refused(lambda: control.delete_secret(app_id, secret["keyId"]), 404, secret["keyId"])
    refused(lambda: control.add_secret(app_id, days=-1), 400, "'days'")
    refused(lambda: control.call("POST", f"/apps/{app_id}/secrets", json={"lifetime": 3}), 400, "lifetime", "displayName")
    refused(lambda: control.add_secret("00000000-0000-4000-8000-000000000000"), 404)
    actions = [c["action"] for c in control.journal(kind="application")]
    assert actions[-3:] == ["secretAdded", "secretExpired", "secretDeleted"]


def test_consent_and_app_enablement(env):
    server, control, http = env
    app_id = server.client_id
    assert control.revoke_consent(app_id)["grantedPermissions"] == []
    assert "roles" not in _claims(token_response(http, server, app_id, server.client_secret).json()["access_token"])
    assert control.grant_consent(app_id, ["User.Read.All"])["grantedPermissions"] == ["User.Read.All"]
    assert control.grant_consent(app_id)["grantedPermissions"] == ["User.Read.All", "Group.Read.All", "GroupMember.Read.All"]
    refused(lambda: control.grant_consent(app_id, ["Mail.Send"]), 400, "Mail.Send")
    refused(lambda: control.call("POST", f"/apps/{app_id}/consent", json={"permissions": "User.Read.All"}), 400, "'permissions'")

    assert control.disable_app(app_id)["accountEnabled"] is False
    assert control.tenant()["applications"][0]["servicePrincipal"]["accountEnabled"] is False
    disabled = token_response(http, server, app_id, server.client_secret)
    assert "AADSTS7000112" in disabled.json()["error_description"]
    assert control.enable_app(app_id)["accountEnabled"] is True
    assert token_response(http, server, app_id, server.client_secret).status_code == 200
    refused(lambda: control.call("POST", f"/apps/{app_id}/explode"), 404, "explode")
    refused(lambda: control.disable_app("no-such-app"), 404, "no-such-app")
    actions = [c["action"] for c in control.journal(kind="application")]
    assert [a for a in actions if a in ("consentRevoked", "consentGranted", "disabled", "enabled")][-5:] == [
        "consentRevoked", "consentGranted", "consentGranted", "disabled", "enabled"]


def _claims(token: str) -> dict:
    import jwt

    return jwt.decode(token, options={"verify_signature": False})


def test_journal_since_and_kind(env):
    server, control, _http = env
    seq = control.tenant()["journal"]["lastSeq"]
    user = control.create_user(upn(server, "new"))
    group = control.create_group("G", members=[user["id"]])
    entries = control.journal(since=seq)
    assert [(c["kind"], c["action"]) for c in entries] == [("user", "created"), ("group", "created"), ("group", "memberAdded")]
    assert entries[2]["memberId"] == user["id"] and entries[1]["objectId"] == group["id"]
    assert [c["kind"] for c in control.journal(since=seq, kind="group")] == ["group", "group"]
    assert control.journal(since=entries[-1]["seq"]) == []


# ------------------------------------------------------------------ a server without a directory
@pytest.fixture
def directoryless(request):
    """What an LMS server mounts: faults and a request log on a clock, no tenant, plus its own route."""
    clock = Clock.frozen_at("2026-03-01T00:00:00Z")
    faults = FaultInjector(clock=clock, seed=3)
    app = Flask("lms")

    def lms_routes(bp):
        @bp.get("/lms/users")
        def lms_users():
            from simulator.control import json_response

            return json_response({"value": []})

    app.register_blueprint(make_blueprint(faults=faults, log=RequestLog(), admin_key="lms-key", extra=lms_routes))
    running = start_in_thread(app)
    request.addfinalizer(running.stop)
    return running, clock


def test_server_without_a_directory(directoryless):
    running, clock = directoryless
    with ControlClient(running.url, admin_key="lms-key") as control:
        assert control.health() == {"status": "ok", "tenantId": None, "now": "2026-03-01T00:00:00Z"}
        for call in (control.tenant, lambda: control.create_user("a@b.c"), lambda: control.journal(),
                     lambda: control.disable_app("x")):
            refused(call, 404, "no directory")
        assert control.advance_clock(hours=1)["now"] == "2026-03-01T01:00:00Z"
        assert clock.now().hour == 1
        assert control.add_fault(path="/scim/v2/Users", status=500)["id"]
        assert control.requests() == []
        assert control.call("GET", "/lms/users") == {"value": []}
    assert requests.get(f"{running.url}/_entrasim/lms/users").status_code == 401
