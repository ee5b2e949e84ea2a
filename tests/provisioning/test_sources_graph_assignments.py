"""The Graph source with ``servicePrincipalId``: only the enterprise app's assignments are in scope."""

from __future__ import annotations

import pytest

from simulator.provisioning.engine import EngineOptions, ProvisioningEngine
from simulator.provisioning.job import JobFileError, parse_job
from simulator.provisioning.logs import ProvisioningLog
from simulator.provisioning.sources import SourceError, source_for
from simulator.provisioning.state import JobState

from .conftest import FAST_RETRY, job_yaml, make_tenant_for_graph

READER_PERMISSIONS = ["User.Read.All", "Group.Read.All", "GroupMember.Read.All", "Application.Read.All"]


def graph_job(target, server, *, scope: str = "assigned"):
    source = (f"  type: graph\n  tenantId: {server.tenant.id}\n  clientId: {server.client_id}\n"
              f"  clientSecret: {server.client_secret}\n  authority: {server.url}\n"
              f"  graphUrl: {server.graph_url}\n  caBundle: {server.ca}\n"
              f"  servicePrincipalId: {server.tenant.provisioning_app.id}\n")
    lines = [source.rstrip("\n") if line.startswith("  type: tenant") else line for line in job_yaml(target).splitlines()]
    text = "\n".join(lines) + "\n"
    if scope != "assigned":
        assert "scope: assigned" in text
        text = text.replace("scope: assigned", f"scope: {scope}")
    return parse_job(text)


@pytest.fixture
def assignment_setup(graph_server, scim_targets, tmp_path):
    """user0 and user1 in the assigned group Learners; user2 assigned to nothing; a group nested in Learners."""
    tenant = make_tenant_for_graph()
    tenant.grant_consent(next(iter(tenant.applications)), READER_PERMISSIONS)
    server = graph_server(tenant)
    learners = next(iter(tenant.groups))
    outsider = tenant.create_user(userPrincipalName="nested@contoso.com", givenName="Nes", surname="Ted",
                                  mail="nested@contoso.com")
    inner = tenant.create_group(displayName="Inner", members=[outsider.id])
    tenant.add_member(learners, inner.id)
    target = scim_targets("lms", "entra-tolerant")
    engines = []

    def engine_for(scope: str = "assigned"):
        state = JobState(tmp_path / f"graph-{scope}.db")
        engine = ProvisioningEngine(graph_job(target, server, scope=scope), source_for(graph_job(target, server, scope=scope)),
                                    state, ProvisioningLog(), clock=tenant.clock, options=EngineOptions(retry=FAST_RETRY))
        engines.append((engine, state))
        return engine

    yield tenant, server, target, engine_for
    for engine, state in engines:
        engine.close()
        state.close()


def test_unassigned_user_is_not_provisioned_from_graph(assignment_setup):
    tenant, server, target, engine_for = assignment_setup

    summary = engine_for().run_cycle()

    assert summary.state == "Succeeded", summary.as_dict()
    assert not any("every user and group counts as assigned" in note for note in summary.notes)
    # user2 is assigned to nothing; nested@ is only in a group nested in the assigned one.
    assert set(target.users()) == {"user0@contoso.com", "user1@contoso.com"}
    paths = [e.path for e in server.log.entries()]
    assert f"/v1.0/servicePrincipals/{tenant.provisioning_app.id}/appRoleAssignedTo" in paths


def test_assigning_later_provisions_at_the_next_cycle(assignment_setup):
    tenant, _server, target, engine_for = assignment_setup
    engine = engine_for()
    engine.run_cycle()
    tenant.assign(tenant.get_user("user2@contoso.com").id)

    second = engine.run_cycle()

    assert second.state == "Succeeded", second.as_dict()
    assert any("assignments changed" in note for note in second.notes)
    assert set(target.users()) == {"user0@contoso.com", "user1@contoso.com", "user2@contoso.com"}


def test_scope_all_ignores_assignments(assignment_setup):
    _tenant, server, target, engine_for = assignment_setup
    before = len(server.log.entries())

    summary = engine_for("all").run_cycle()

    assert summary.state == "Succeeded", summary.as_dict()
    assert "user2@contoso.com" in target.users()
    assert not any("appRoleAssignedTo" in e.path for e in server.log.entries()[before:])


def test_missing_permission_is_reported(assignment_setup):
    tenant, _server, target, engine_for = assignment_setup
    tenant.grant_consent(next(iter(tenant.applications)), ["User.Read.All", "Group.Read.All"])

    with pytest.raises(SourceError, match=r"Graph answered 403 .*appRoleAssignedTo.*needs Application\.Read\.All"):
        engine_for().run_cycle()

    assert target.users() == {}


def test_service_principal_id_must_be_a_guid(scim_targets):
    target = scim_targets("lms", "entra-tolerant")
    text = job_yaml(target).replace("  type: tenant", "  type: graph\n  tenantId: t\n  clientId: c\n  clientSecret: s\n"
                                    "  servicePrincipalId: lms-app")
    with pytest.raises(JobFileError, match="servicePrincipalId.*must be a GUID"):
        parse_job(text)
