"""``entrasim provision on-demand --job job.yaml USER``: one user now, step by step, as Entra's on-demand pane."""

from __future__ import annotations

import json

from simulator.provisioning.logs import read_log
from simulator.tenant import snapshot

from .conftest import run


def test_a_user_is_created_then_found_in_sync(workspace):  # noqa: F811
    runner, job, _tenant, target = workspace

    created = run(runner, "on-demand", "--job", str(job), "user1@contoso.com")

    assert created.exit_code == 0, created.output
    lines = created.stdout.splitlines()
    assert lines[-1].startswith("OK: user1@contoso.com: create (target id ")
    assert any("EntryImport" in line for line in lines) and any("EntrySynchronizationScoping" in line for line in lines)
    assert any("EntryExportAdd" in line for line in lines)
    assert list(target.users()) == ["user1@contoso.com"]
    assert target.groups() == {}  # a user on demand brings no group and no membership
    sent = [(s.method, s.path) for s in target.sent()]
    assert sent[0][0] == "GET" and ("POST", "/Users") in sent and not any(p.startswith("/Groups/") for _m, p in sent)
    records = read_log(job.with_name("job.log.jsonl"))
    assert [(r["provisioningAction"], r["provisioningStatusInfo"]["status"]) for r in records] == [("create", "success")]

    again = run(runner, "on-demand", "--job", str(job), records[0]["sourceIdentity"]["id"], "--json")

    assert again.exit_code == 0, again.output
    result = json.loads(again.stdout)
    assert result["ok"] is True and result["userPrincipalName"] == "user1@contoso.com"
    assert [r["entrasim"]["reason"] for r in result["records"]] == ["RedundantExport"]
    assert len(target.users()) == 1


def test_the_manager_is_set_when_already_provisioned(workspace):  # noqa: F811
    runner, job, _tenant, target = workspace
    assert run(runner, "on-demand", "--job", str(job), "user0@contoso.com").exit_code == 0

    result = run(runner, "on-demand", "--job", str(job), "USER2@contoso.com")

    assert result.exit_code == 0, result.output
    assert "EntryReferenceResolution" in result.stdout
    users = target.users()
    manager = users["user2@contoso.com"]["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]
    assert manager["value"] == users["user0@contoso.com"]["id"]


def test_an_out_of_scope_user_is_skipped_with_the_reason(workspace):  # noqa: F811
    runner, job, tenant, target = workspace
    tenant.create_user(userPrincipalName="outsider@contoso.com", givenName="Out", surname="Sider")
    snapshot.save(tenant, job.with_name("tenant.json"))

    result = run(runner, "on-demand", "--job", str(job), "outsider@contoso.com")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "OK: outsider@contoso.com: skipped (NotEffectivelyEntitled)"
    assert target.users() == {}


def test_failures_exit_1_and_unknown_users_are_usage_errors(workspace, monkeypatch):  # noqa: F811
    runner, job, _tenant, target = workspace
    rule = target.faults.add(surface="lms", method="POST", path="/scim/v2/Users", kind="server_error")

    failed = run(runner, "on-demand", "--job", str(job), "user1@contoso.com")

    assert failed.exit_code == 1
    assert failed.stdout.splitlines()[-1].startswith("FAILED: user1@contoso.com: SystemForCrossDomainIdentityManagement")
    target.faults.remove(rule.id)

    unknown = run(runner, "on-demand", "--job", str(job), "nobody@contoso.com")
    assert unknown.exit_code == 2
    assert unknown.stderr == ("entrasim: error: no user 'nobody@contoso.com' in the source "
                              "(give its object id or userPrincipalName)\n")

    monkeypatch.setenv("LMS_TOKEN", "wrong-token")
    refused = run(runner, "on-demand", "--job", str(job), "user1@contoso.com")
    assert refused.exit_code == 1
    assert refused.stdout.splitlines()[-1].startswith("FAILED: test connection failed: You appear to have entered "
                                                      "invalid credentials")
    assert refused.stdout.count("invalid credentials") == 1 and "wrong-token" not in refused.output


def test_on_demand_ignores_the_aadoptscim062020_dialect_as_entra_does(workspace):  # noqa: F811
    runner, job, tenant, target = workspace
    job.write_text(job.read_text().replace("dialect: default", "dialect: aadOptscim062020"))
    assert run(runner, "on-demand", "--job", str(job), "user1@contoso.com").exit_code == 0
    tenant.update_user(tenant.get_user("user1@contoso.com").id, jobTitle="Coach")
    snapshot.save(tenant, job.with_name("tenant.json"))
    before = target.count()

    updated = run(runner, "on-demand", "--job", str(job), "user1@contoso.com")

    assert updated.exit_code == 0, updated.output
    assert updated.stdout.startswith("note: dialect aadOptscim062020 does not apply to on-demand provisioning")
    (patch,) = [s for s in target.sent(before) if s.method == "PATCH"]
    assert patch.operations == [{"op": "Replace", "path": "title", "value": "Coach"}]
    assert target.users()["user1@contoso.com"]["title"] == "Coach"
