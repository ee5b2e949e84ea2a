"""The document's error table: what the LMS admin sees, each linked to the token or Graph response behind it."""

from __future__ import annotations

import uuid

from .conftest import ADMIN, upn


def _failed_entry(world, result):
    """The import-log entry the result's error links to."""
    assert result.status == "failed" and result.error_detail is not None
    entry = world.lms.log.get(result.error_detail["log_seq"])
    assert entry.import_id == result.id
    return entry


def test_secret_id_pasted_instead_of_its_value_shows_invalid_client(pull_world):
    world = pull_world()
    gid = world.group("Staff", world.user("ann"))
    secret = world.graph.application.passwordCredentials[0]
    world.lms.update_connection(world.connection_id, client_secret=secret.keyId)

    result = world.import_group(gid)

    assert result.error == "invalid_client" and result.messages == ["invalid_client"]
    entry = _failed_entry(world, result)
    assert (entry.call, entry.status, entry.error_code, entry.aadsts) == ("token", 401, "invalid_client", 7000215)
    assert entry.correlation_id and entry.correlation_id in entry.excerpt  # the STS echoes our client-request-id
    assert [a.login for a in world.lms.list_accounts()] == [ADMIN]


def test_unknown_client_id_shows_unauthorized_client(pull_world):
    world = pull_world()
    gid = world.group("Staff", world.user("ann"))
    world.lms.update_connection(world.connection_id, client_id=str(uuid.uuid4()))
    result = world.import_group(gid)
    assert result.error == "unauthorized_client"
    entry = _failed_entry(world, result)
    assert (entry.status, entry.aadsts) == (400, 700016)


def test_expired_secret_shows_these_users_cannot_be_imported_and_a_new_secret_recovers(pull_world):
    world = pull_world()
    gid = world.group("Staff", world.user("ann"))
    secret = world.graph.application.passwordCredentials[0]
    world.tenant.expire_secret(world.app_id, secret.keyId)

    result = world.import_group(gid)

    assert result.error == "These users cannot be imported: invalid_client"
    entry = _failed_entry(world, result)
    assert (entry.call, entry.status, entry.error_code, entry.aadsts) == ("token", 401, "invalid_client", 7000222)

    fresh = world.tenant.add_secret(world.app_id)
    world.lms.update_connection(world.connection_id, client_secret=fresh.secretText)
    assert world.import_group(gid).created == [upn("ann")]


def test_wrong_group_id_shows_these_users_cannot_be_imported(pull_world):
    world = pull_world()
    world.group("Staff", world.user("ann"))
    result = world.import_group(str(uuid.uuid4()))
    assert result.error == "These users cannot be imported: invalid_client"
    entry = _failed_entry(world, result)
    assert (entry.call, entry.status, entry.error_code) == ("graph", 404, "Request_ResourceNotFound")
    assert entry.request_id  # Graph's request-id, for a support ticket


def test_gateway_timeout_shows_error_504_and_a_later_import_succeeds_without_duplicates(pull_world):
    world = pull_world()
    gid = world.group("Staff", world.user("ann"), world.user("bob"))
    world.graph.faults.add(surface="graph", path="/v1.0/groups/*", kind="gateway_timeout", first=4)

    result = world.import_group(gid)

    assert result.error == "Error 504 Gateway Time-out"
    entry = _failed_entry(world, result)
    assert (entry.status, entry.attempt) == (504, 4)  # 1 try + 3 bounded retries
    assert "504 Gateway Time-out" in entry.excerpt
    retry = world.import_group(gid)
    assert retry.ok and sorted(retry.created) == [upn("ann"), upn("bob")]
    assert len(world.lms.list_accounts()) == 3


def test_missing_admin_consent_shows_azure_client_error(pull_world):
    world = pull_world()
    gid = world.group("Staff", world.user("ann"))
    world.tenant.revoke_consent(world.app_id)
    result = world.import_group(gid)
    assert result.error == "Azure client error"
    entry = _failed_entry(world, result)
    assert (entry.call, entry.status, entry.error_code) == ("graph", 403, "Authorization_RequestDenied")


def test_missing_permission_shows_azure_client_error(pull_world):
    world = pull_world()
    gid = world.group("Staff", world.user("ann"))
    world.tenant.grant_consent(world.app_id, ["User.Read.All"])  # no group permission
    result = world.import_group(gid)
    assert result.error == "Azure client error"
    assert _failed_entry(world, result).status == 403


def test_after_a_lockout_admin_actions_answer_403_action_unauthorized(pull_world):
    world = pull_world()
    boss = world.user("boss")
    admins = world.group("LMS admins", boss)
    staff = world.group("All staff", boss, world.user("ann"))
    world.import_group(admins, role="admin")
    boss_token = world.lms.issue_token(upn("boss"))
    assert world.call("GET", "/accounts", token=boss_token).status_code == 200

    resp = world.call("POST", "/imports", token=boss_token,
                      json={"connection_id": world.connection_id, "group_id": staff, "role": "user"})
    assert resp.status_code == 200 and resp.json()["status"] == "succeeded"

    for method, path, body in (("GET", "/accounts", None), ("GET", "/state", None),
                               ("POST", "/imports", {"connection_id": world.connection_id, "group_id": admins,
                                                     "role": "admin"})):
        denied = world.call(method, path, token=boss_token, json=body)
        assert (denied.status_code, denied.json()) == (403, {"error": "Action unauthorized"})
    me = world.call("GET", "/me", token=boss_token).json()
    assert me["role"] == "user" and me["is_admin"] is False
