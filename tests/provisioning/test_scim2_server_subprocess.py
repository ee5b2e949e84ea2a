"""Provisioning into scim2-server started the way its users start it: its own CLI, as a subprocess, on a free port."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from scim2_server_process import running_scim2_server

from simulator.cli import main
from simulator.tenant import snapshot

from .conftest import TOKEN, add_people, new_tenant, run


@pytest.fixture
def scim2_server_process(tmp_path):
    """``scim2-server --port N --bearer-token T``; yields its base URL and stops it after the test."""
    with open(tmp_path / "scim2-server.log", "w") as log, running_scim2_server(TOKEN, log) as base:
        yield base


def make_job(base: str, tmp_path: Path, monkeypatch, dialect: str) -> tuple[CliRunner, Path]:
    tenant = new_tenant()
    add_people(tenant, 3)
    snapshot.save(tenant, tmp_path / "tenant.json")
    runner = CliRunner()
    job = tmp_path / "job.yaml"
    assert runner.invoke(main, ["provision", "init", "-o", str(job)]).exit_code == 0
    job.write_text(job.read_text().replace("https://localhost:8443/scim/v2", base)
                   .replace("dialect: default", f"dialect: {dialect}").replace("requestRate: 25", "requestRate: null"))
    monkeypatch.setenv("LMS_TOKEN", TOKEN)
    return runner, job


def test_initial_then_steady_cycles_into_scim2_server(scim2_server_process, tmp_path, monkeypatch):
    base = scim2_server_process
    runner, job = make_job(base, tmp_path, monkeypatch, "aadOptscim062020")

    first = run(runner, "run", "--job", str(job), "--quiet")
    assert first.exit_code == 0, first.output
    users = requests.get(f"{base}/Users", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).json()
    assert sorted(u["userName"] for u in users["Resources"]) == ["user0@contoso.com", "user1@contoso.com", "user2@contoso.com"]
    groups = requests.get(f"{base}/Groups", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).json()
    assert [g["displayName"] for g in groups["Resources"]] == ["Learners"]
    assert len(groups["Resources"][0].get("members", [])) == 3

    steady = run(runner, "run", "--job", str(job), "--until-steady", "--quiet")
    assert steady.exit_code == 0, steady.output


def test_default_dialect_manager_is_refused_by_scim2_server(scim2_server_process, tmp_path, monkeypatch):
    """Entra's default dialect sends the manager as a bare id; scim2-server's model wants an object.

    What a vendor would see in Entra's provisioning logs: the users are created, and each manager
    update fails as ServiceIncompatible with the server's 400 quoted.
    """
    runner, job = make_job(scim2_server_process, tmp_path, monkeypatch, "default")
    result = run(runner, "run", "--job", str(job), "--quiet")
    assert result.exit_code == 1
    assert "SystemForCrossDomainIdentityManagementServiceIncompatible 2" in result.output
    users = requests.get(f"{scim2_server_process}/Users", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).json()
    assert users["totalResults"] == 3
