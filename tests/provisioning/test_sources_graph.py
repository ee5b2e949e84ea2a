"""The Graph source: client credentials with msal against our Graph mock, delta queries for incremental cycles."""

from __future__ import annotations

import pytest

from simulator.provisioning.engine import EngineOptions, ProvisioningEngine
from simulator.provisioning.job import parse_job
from simulator.provisioning.logs import ProvisioningLog
from simulator.provisioning.sources import GraphSource, SourceError, source_for
from simulator.provisioning.state import JobState

from .conftest import ENTERPRISE, FAST_RETRY, job_yaml, make_tenant_for_graph


def graph_job(target, server, secret=None):
    source = (f"  type: graph\n  tenantId: {server.tenant.id}\n  clientId: {server.client_id}\n"
              f"  clientSecret: {secret or server.client_secret}\n  authority: {server.url}\n"
              f"  graphUrl: {server.graph_url}\n  caBundle: {server.ca}\n")
    lines = [source.rstrip("\n") if line.startswith("  type: tenant") else line for line in job_yaml(target).splitlines()]
    return parse_job("\n".join(lines) + "\n")


@pytest.fixture
def graph_setup(graph_server, scim_targets, tmp_path):
    tenant = make_tenant_for_graph()
    server = graph_server(tenant)
    target = scim_targets("lms", "entra-tolerant")
    job = graph_job(target, server)
    source = source_for(job)
    state = JobState(tmp_path / "graph.db")
    log = ProvisioningLog()
    engine = ProvisioningEngine(job, source, state, log, clock=tenant.clock, options=EngineOptions(retry=FAST_RETRY))
    yield tenant, server, target, engine, log
    engine.close()
    state.close()


def test_initial_and_incremental_cycles_from_graph(graph_setup):
    tenant, server, target, engine, log = graph_setup
    boss, ann, bob = (tenant.get_user(f"user{i}@contoso.com") for i in range(3))
    group_id = next(iter(tenant.groups))

    first = engine.run_cycle()

    assert first.kind == "initial" and first.state == "Succeeded", first.as_dict()
    assert any("every user and group counts as assigned" in note for note in first.notes)
    users = target.users()
    assert set(users) == {"user0@contoso.com", "user1@contoso.com", "user2@contoso.com"}
    assert users["user1@contoso.com"][ENTERPRISE]["manager"]["value"] == users["user0@contoso.com"]["id"]
    assert target.member_ids("Learners") == {users["user0@contoso.com"]["id"], users["user1@contoso.com"]["id"]}
    graph_paths = [e.path for e in server.log.entries()]
    assert "/v1.0/users/delta" in graph_paths and "/v1.0/groups/delta" in graph_paths

    tenant.update_user(ann.id, jobTitle="Coach")
    tenant.set_manager(bob.id, ann.id)
    tenant.add_member(group_id, bob.id)
    tenant.soft_delete_user(boss.id)
    before = len(server.log.entries())
    second = engine.run_cycle()

    assert second.kind == "incremental" and second.state == "Succeeded", second.as_dict()
    delta_calls = [e for e in server.log.entries()[before:] if e.path.endswith("/delta")]
    assert delta_calls and all("deltatoken" in e.query for e in delta_calls)
    users = target.users()
    assert users["user1@contoso.com"]["title"] == "Coach"
    assert users["user2@contoso.com"][ENTERPRISE]["manager"]["value"] == users["user1@contoso.com"]["id"]
    assert users["user0@contoso.com"]["active"] is False
    assert target.member_ids("Learners") == {users["user1@contoso.com"]["id"], users["user2@contoso.com"]["id"]}
    actions = {r.source_display: r.action for r in log.for_cycle(second.cycle_id) if r.object_type == "User"
               and r.status == "success" and not any(s.step_type == "referenceResolution" for s in r.steps)}
    assert actions == {"user0@contoso.com": "disable", "user1@contoso.com": "update"}

    tenant.purge_user(boss.id)
    tenant.delete_group(group_id)
    third = engine.run_cycle()

    assert third.count("delete", "success") == 2
    assert set(target.users()) == {"user1@contoso.com", "user2@contoso.com"}
    assert target.groups() == {}


def test_refused_client_credentials_are_a_one_line_source_error(graph_server, scim_targets, tmp_path):
    tenant = make_tenant_for_graph()
    server = graph_server(tenant)
    target = scim_targets("lms", "entra-tolerant")
    job = graph_job(target, server, secret="not-the-secret")
    source = source_for(job)
    assert isinstance(source, GraphSource)

    with pytest.raises(SourceError, match="Graph refused the client credentials: invalid_client: AADSTS7000215"):
        source.read_all()
    source.close()
