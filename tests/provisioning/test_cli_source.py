"""`provision run --source`: the same job reading another source, e.g. a running `entrasim serve graph`."""

from __future__ import annotations

import json

import certifi
import pytest

from .conftest import make_tenant_for_graph, run


def user_names(target) -> set[str]:
    response = target.session.get(target.base + "/Users", params={"count": "200"})
    assert response.status_code == 200, response.text
    return {resource["userName"] for resource in response.json()["Resources"]}


@pytest.mark.parametrize("foreign_ca_in_environment", [False, True], ids=["plain", "REQUESTS_CA_BUNDLE-set"])
def test_graph_info_file_replaces_the_jobs_snapshot_source(workspace, graph_server, tmp_path, monkeypatch,
                                                          foreign_ca_in_environment):
    """The info file's CA bundle is trusted even where the environment names another one (psf/requests#3829)."""
    if foreign_ca_in_environment:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    runner, job, _snapshot_tenant, target = workspace
    tenant = make_tenant_for_graph()
    graph_only = tenant.create_user(userPrincipalName="graphonly@contoso.com", givenName="Graph", surname="Only",
                                    mail="graphonly@contoso.com")
    tenant.create_user(userPrincipalName="unassigned@contoso.com", givenName="Not", surname="Assigned",
                       mail="unassigned@contoso.com")
    tenant.assign(graph_only.id)
    app_id = next(iter(tenant.applications))
    tenant.grant_consent(app_id, [*tenant.applications[app_id].requiredPermissions, "Application.Read.All"])
    server = graph_server(tenant)
    info = tmp_path / "graph.json"
    info.write_text(json.dumps(server.info))
    assert server.info["provisioning_service_principal_id"]
    result = run(runner, "run", "--job", str(job), "--source", f"graph:{info}", "--quiet")
    assert result.exit_code == 0, result.output
    names = user_names(target)
    assert "graphonly@contoso.com" in names
    assert "unassigned@contoso.com" not in names  # the info file's provisioning app scopes the run
    assert server.client_secret not in result.output


def test_snapshot_spec_reads_that_file(workspace, tmp_path):
    from simulator.tenant import snapshot

    runner, job, _tenant, target = workspace
    other = make_tenant_for_graph()
    other.create_user(userPrincipalName="fromfile@contoso.com", givenName="From", surname="File", mail="fromfile@contoso.com")
    other.assign(other.get_user("fromfile@contoso.com").id)
    snapshot.save(other, tmp_path / "other.json")
    result = run(runner, "run", "--job", str(job), "--source", f"snapshot:{tmp_path / 'other.json'}", "--quiet")
    assert result.exit_code == 0, result.output
    assert "fromfile@contoso.com" in user_names(target)


@pytest.mark.parametrize("spec, message", [
    ("ldap:server", "--source must be snapshot:PATH or graph:INFO_FILE"),
    ("graph:/nonexistent/graph.json", "cannot read /nonexistent/graph.json"),
    ("snapshot:", "--source must be snapshot:PATH or graph:INFO_FILE"),
])
def test_bad_source_specs_are_one_line_errors(workspace, spec, message):
    runner, job, _tenant, _target = workspace
    result = run(runner, "run", "--job", str(job), "--source", spec, "--quiet")
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_an_info_file_without_credentials_is_named(workspace, tmp_path):
    runner, job, _tenant, _target = workspace
    info = tmp_path / "partial.json"
    info.write_text(json.dumps({"tenant_id": "x", "graph_url": "http://127.0.0.1:1/v1.0"}))
    result = run(runner, "run", "--job", str(job), "--source", f"graph:{info}", "--quiet")
    assert result.exit_code == 2
    assert "lacks client_id, client_secret, authority_host" in result.output
