"""The provisioning job file: presets load; every problem is reported with its key path and line number."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from simulator.provisioning.job import (JobFileError, Secret, SecretUnavailable, load_job, parse_job, preset_path,
                                        preset_text)

# A small valid job; the line numbers of its keys are what the error tests point at.
BASE = """\
version: 1
target:
  tenantUrl: https://lms.example.com/scim/v2
  secretToken: ${LMS_TOKEN}
source:
  type: snapshot
  path: tenant.json
scope: assigned
settings:
  concurrency: 4
  requestRate: null
  timeouts:
    read: 60
mappings:
  users:
    scopingFilters:
      - title: Sales
        clauses:
          - {attribute: department, operator: EQUALS, value: Sales}
    attributes:
      - {target: userName, source: userPrincipalName, matchingPriority: 1}
      - target: active
        expression: 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'
  groups:
    attributes:
      - {target: displayName, source: displayName, matchingPriority: 1}
"""


def edit(line: int, replacement: str) -> str:
    """BASE with its 1-based ``line`` replaced (``replacement`` may hold several lines, or none)."""
    lines = BASE.splitlines()
    lines[line - 1:line] = replacement.splitlines()
    return "\n".join(lines) + "\n"


def problems(text: str) -> list[str]:
    with pytest.raises(JobFileError) as caught:
        parse_job(text, filename="job.yaml", base_dir=Path("/jobs"))
    return [p.format("job.yaml") for p in caught.value.problems]


def test_the_base_job_is_valid():
    job = parse_job(BASE, base_dir=Path("/jobs"))
    assert job.tenant_url == "https://lms.example.com/scim/v2"
    assert job.dialect == "default"
    assert job.secret_token == Secret(env="LMS_TOKEN")
    assert job.source.kind == "snapshot" and job.source.snapshot == Path("/jobs/tenant.json")
    assert job.scope == "assigned"
    assert job.settings.concurrency == 4 and job.settings.request_rate is None
    assert job.settings.read_timeout == 60 and job.settings.connect_timeout == 10
    assert job.settings.members_per_patch == 1 and job.settings.skip_out_of_scope_deletions is False
    assert job.settings.accidental_deletion_threshold is None
    assert [m.target.text for m in job.users.attributes] == ["userName", "active"]
    assert [f.title for f in job.scope_policy.user_filters.filters] == ["Sales"]
    assert job.groups.enabled and job.groups.actions == {"Add", "Update", "Delete"}


@pytest.mark.parametrize("preset, users, groups", [("customappsso", 22, 3), ("email-keyed", 9, 3)])
def test_presets_are_valid_jobs(preset, users, groups):
    job = load_job(preset_path(preset))
    assert len(job.users.attributes) == users and len(job.groups.attributes) == groups
    assert [m.target.text for m in job.users.matching] == ["userName"]
    assert [m.target.text for m in job.groups.matching] == ["displayName"]
    assert job.users.mapping_for("active").expression.text == 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'
    assert job.secret_token == Secret(env="LMS_TOKEN")


def test_email_keyed_preset_holds_the_360learning_mapping():
    job = load_job(preset_path("email-keyed"))
    rows = {m.target.text: m.describe_source() for m in job.users.attributes}
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    assert rows == {
        "userName": "userPrincipalName",
        "active": 'Switch([IsSoftDeleted], , "False", "True", "True", "False")',
        "name.givenName": "givenName",
        "name.familyName": "surname",
        "title": "jobTitle",
        'emails[type eq "work"].value': "mail",
        f"{enterprise}:manager": "manager",
        f"{enterprise}:organization": "companyName",
        "preferredLanguage": "Mid([preferredLanguage], 1, 2)",
    }
    assert {m.target.text: m.describe_source() for m in job.groups.attributes} == {
        "displayName": "displayName", "externalId": "objectId", "members": "members"}


# (line to replace, replacement, problems reported as FILE:LINE: path: message)
INVALID = [
    (2, "tagret:", ["job.yaml:1: missing required key 'target'",
                    "job.yaml:2: tagret: unknown key 'tagret' (did you mean 'target'?)"]),
    (3, "  tenantUrl: ftp://lms.example.com", ["job.yaml:3: target.tenantUrl: the text 'ftp://lms.example.com' must be an http:// or https:// URL"]),
    (3, "  tenantUrl: 42", ["job.yaml:3: target.tenantUrl: expected text, got the number 42"]),
    (4, "  secretToken: ${lms token}", ["job.yaml:4: target.secretToken: an environment variable reference is written ${NAME} "
                                        "(letters, digits and underscores) and stands alone"]),
    (4, "  dialect: scim2", ["job.yaml:4: target.dialect: the text 'scim2' is not one of: default, aadOptscim062020"]),
    (3, "  tenantUrl: https://lms.example.com/scim/v2?aadOptscim062020\n  dialect: default",
     ["job.yaml:4: target.dialect: tenantUrl carries ?aadOptscim062020, which turns that dialect on in Entra; "
      "set dialect: aadOptscim062020 or remove the flag from the URL"]),
    (7, "", ["job.yaml:5: source: missing required key 'path'"]),
    (6, "  type: file", ["job.yaml:6: source.type: the text 'file' is not one of: tenant, snapshot, graph"]),
    (7, "  path: tenant.json\n  clientId: abc", ["job.yaml:8: source.clientId: 'clientId' does not apply to a source of type snapshot"]),
    (6, "  type: graph\n  tenantId: t\n  clientId: c", [
        "job.yaml:5: source: missing required key 'clientSecret'"]),
    (8, "scope: everyone", ["job.yaml:8: scope: the text 'everyone' is not one of: assigned, all"]),
    (10, "  concurrency: four", ["job.yaml:10: settings.concurrency: expected a whole number, got the text 'four'"]),
    (10, "  concurrency: 0", ["job.yaml:10: settings.concurrency: must be at least 1, got 0"]),
    (10, "  concurency: 4", ["job.yaml:10: settings.concurency: unknown key 'concurency' (did you mean 'concurrency'?)"]),
    (11, "  requestRate: 0", ["job.yaml:11: settings.requestRate: must be greater than 0, got 0"]),
    (11, "  accidentalDeletionThreshold: lots", ["job.yaml:11: settings.accidentalDeletionThreshold: expected a whole number "
                                                 "or nothing, got the text 'lots'"]),
    (13, "    read: -1", ["job.yaml:13: settings.timeouts.read: must be greater than 0, got -1"]),
    (13, "    write: 5", ["job.yaml:13: settings.timeouts.write: unknown key 'write'; known keys: connect, read"]),
    (15, "  user:", ["job.yaml:14: mappings: missing required key 'users'",
                     "job.yaml:15: mappings.user: unknown key 'user' (did you mean 'users'?)"]),
    (19, "          - {attribute: department, operator: EQUAL, value: Sales}",
     ["job.yaml:19: mappings.users.scopingFilters[0].clauses[0].operator: unknown operator 'EQUAL'; Entra's operators are: "
      "EQUALS, NOT EQUALS, Includes, &, !&, ENDS_WITH, Greater_Than, Greater_Than_OR_EQUALS, IS TRUE, IS FALSE, IS NULL, "
      "IS NOT NULL, REGEX MATCH, NOT REGEX MATCH"]),
    (19, "          - {attribute: manager, operator: IS NULL}",
     ["job.yaml:19: mappings.users.scopingFilters[0].clauses[0].attribute: Entra does not support scoping filters on 'manager'"]),
    (19, "          - {attribute: department, value: Sales}",
     ["job.yaml:19: mappings.users.scopingFilters[0].clauses[0]: missing required key 'operator'"]),
    (21, "      - {target: userName, source: userPrincipalName, matchingPriority: 0}",
     ["job.yaml:21: mappings.users.attributes[0].matchingPriority: must be at least 1, got 0"]),
    (21, "      - {target: userName, sorce: userPrincipalName, matchingPriority: 1}",
     ["job.yaml:21: mappings.users.attributes[0].sorce: unknown key 'sorce' (did you mean 'source'?)"]),
    (21, "      - {target: userName, source: userPrincipalNam, matchingPriority: 1}",
     ["job.yaml:21: mappings.users.attributes[0].source: unknown user source attribute 'userPrincipalNam' "
      "(did you mean 'userPrincipalName'?)"]),
    (21, "      - {target: userName, source: userPrincipalName, matchingPriority: 1, apply: sometimes}",
     ["job.yaml:21: mappings.users.attributes[0].apply: the text 'sometimes' is not one of: always, onCreate"]),
    (21, "      - {target: 'emails[type eq work].value', source: mail, matchingPriority: 1}",
     ["job.yaml:21: mappings.users.attributes[0].target: 'emails[type eq work].value': the value filter at column 8 must be "
      "of the form [attribute eq \"value\"]"]),
    (23, "        expression: 'Switch([IsSoftDeleted], , \"False\", \"True\", \"True\"'",
     ["job.yaml:23: mappings.users.attributes[1].expression: expected ',' or ')' at column 50 (found end of expression)"]),
    (23, "        expression: 'switch([IsSoftDeleted], , \"False\", \"True\", \"True\", \"False\")'",
     ["job.yaml:23: mappings.users.attributes[1].expression: unknown function 'switch' (did you mean 'Switch'?) at column 1"]),
    (23, "        expression: 'Mid([preferredLanguage], 1)'",
     ["job.yaml:23: mappings.users.attributes[1].expression: Mid takes 3 arguments (source, start, length), got 2 arguments "
      "at column 1"]),
    (23, "        constant: 'True'\n        expression: 'IsPresent([mail])'",
     ["job.yaml:23: mappings.users.attributes[1].constant: give one of source, expression or constant, not expression and "
      "constant"]),
    (26, "      - {target: displayName, source: displayName}",
     ["job.yaml:25: mappings.groups.attributes: the groups mapping needs at least one matching attribute (matchingPriority: 1)"]),
    (26, "      - {target: displayName, source: surname, matchingPriority: 1}",
     ["job.yaml:26: mappings.groups.attributes[0].source: unknown group source attribute 'surname'"]),
    (8, "scope: assigned\nscope: all", ["job.yaml:9: scope: duplicate key (first at line 8)"]),
    (10, "  concurrency: [4", ["job.yaml:11: invalid YAML: expected ',' or ']', but got ':'"]),
    (15, "  users:\n    enabled: false",
     ["job.yaml:16: mappings.users.enabled: the users mapping cannot be disabled (Entra allows disabling the groups mapping only)"]),
    (15, "  users:\n    actions: [Add, Add]", ["job.yaml:16: mappings.users.actions: lists an item twice"]),
    (15, "  users:\n    actions: [Create]", ["job.yaml:16: mappings.users.actions[0]: the text 'Create' is not one of: Add, Update, Delete"]),
]


@pytest.mark.parametrize("line, replacement, expected", INVALID, ids=[f"line{c[0]}:{c[1].strip()[:50]}" for c in INVALID])
def test_each_problem_names_its_key_path_and_line(line, replacement, expected):
    found = problems(edit(line, replacement))
    assert [p for p in found if not any(p.startswith(e) for e in expected)] == []
    for wanted in expected:
        assert any(p.startswith(wanted) for p in found), (wanted, found)


def test_a_mapping_needs_attributes():
    text = BASE.split("  groups:")[0] + "  groups:\n    attributes: []\n"
    assert problems(text) == ["job.yaml:25: mappings.groups.attributes: needs at least 1 item"]


def test_every_problem_is_reported_at_once_in_line_order():
    text = edit(21, "      - {target: userName, source: userPrincipalNam, matchingPriority: 1}")
    text = text.replace("  concurrency: 4", "  concurrency: 0").replace("scope: assigned", "scope: some")
    found = problems(text)
    assert [p.split(":")[1] for p in found] == ["8", "10"]  # schema problems first; mapping rules once the shape is right
    fixed = text.replace("  concurrency: 0", "  concurrency: 4").replace("scope: some", "scope: assigned")
    found = problems(fixed.replace("target: active", "target: 'active'\n        apply: onCreate"))
    assert found == ["job.yaml:21: mappings.users.attributes[0].source: unknown user source attribute 'userPrincipalNam' "
                     "(did you mean 'userPrincipalName'?)"]


@pytest.mark.parametrize("text, message", [
    ("", "job.yaml:1: the job file is empty"),
    ("- target\n- source\n", "job.yaml:1: a job file is a mapping of keys (target, source, mappings...)"),
    ("target: [\n", "job.yaml:2: invalid YAML"),
])
def test_documents_that_are_not_jobs(text, message):
    assert problems(text)[0].startswith(message)


def test_the_dialect_flag_in_the_tenant_url_turns_the_dialect_on():
    job = parse_job(edit(3, "  tenantUrl: https://lms.example.com/scim/v2?aadOptscim062020"))
    assert job.dialect == "aadOptscim062020"
    job = parse_job(edit(4, "  secretToken: ${LMS_TOKEN}\n  dialect: aadOptscim062020"))
    assert job.dialect == "aadOptscim062020"


def test_graph_source_with_secret_from_the_environment():
    job = parse_job(edit(6, "  type: graph\n  tenantId: contoso.onmicrosoft.com\n  clientId: app-1\n"
                            "  clientSecret: ${GRAPH_SECRET}\n  authority: https://127.0.0.1:8443\n"
                            "  graphUrl: https://127.0.0.1:8443/v1.0\n  caBundle: certs/ca.pem").replace("  path: tenant.json\n", ""),
                    base_dir=Path("/jobs"))
    graph = job.source.graph
    assert (job.source.kind, graph.tenant_id, graph.client_id) == ("graph", "contoso.onmicrosoft.com", "app-1")
    assert graph.authority == "https://127.0.0.1:8443" and graph.graph_url == "https://127.0.0.1:8443/v1.0"
    assert graph.ca_bundle == Path("/jobs/certs/ca.pem")
    assert graph.client_secret.reveal({"GRAPH_SECRET": "s3cr3t-value"}) == "s3cr3t-value"
    with pytest.raises(SecretUnavailable, match="environment variable GRAPH_SECRET is not set"):
        graph.client_secret.reveal({})


def test_secrets_never_show_their_value():
    job = parse_job(edit(4, "  secretToken: literal-token-value-123"))
    assert job.secret_token.reveal() == "literal-token-value-123"
    assert "literal-token-value-123" not in repr(job)
    assert "literal-token-value-123" not in str(job.secret_token)


def test_an_empty_secret_token_means_entras_own_token():
    assert parse_job(edit(4, "  secretToken:")).secret_token is None


def test_settings_defaults_when_absent():
    text = "\n".join(line for line in BASE.splitlines() if not line.startswith(("settings:", "  concurrency", "  requestRate",
                                                                               "  timeouts", "    read")))
    settings = parse_job(text).settings
    assert (settings.concurrency, settings.request_rate, settings.members_per_patch) == (1, 25.0, 1)
    assert (settings.connect_timeout, settings.read_timeout) == (10.0, 30.0)


def test_absent_groups_mapping_is_disabled():
    text = BASE.split("  groups:")[0]
    job = parse_job(text)
    assert not job.groups.enabled and not job.groups.allows("Add")


def test_an_unreadable_job_file(tmp_path):
    with pytest.raises(JobFileError, match="cannot read the job file"):
        load_job(tmp_path / "missing.yaml")


# ------------------------------------------------------------------ CLI
# Through the installed command line, as a user types it.


@dataclass
class CliResult:
    exit_code: int
    output: str


def run_cli(args: list[str]) -> CliResult:
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "provision", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    return CliResult(proc.returncode, proc.stdout)


def test_init_writes_a_preset_that_validates(tmp_path):
    job_file = tmp_path / "job.yaml"
    result = run_cli(["init", "--preset", "email-keyed", "-o", str(job_file)])
    assert result.exit_code == 0, result.output
    assert f"wrote {job_file} (preset email-keyed)" in result.output
    assert job_file.read_text(encoding="utf-8") == preset_text("email-keyed")
    result = run_cli(["validate", str(job_file)])
    assert result.exit_code == 0
    assert result.output == (f"{job_file}: valid (users: 9 attribute mappings, groups: 3 attribute mappings; "
                             "dialect default; source snapshot; scope assigned)\n")


def test_init_refuses_to_overwrite_without_force(tmp_path):
    job_file = tmp_path / "job.yaml"
    job_file.write_text("# mine\n", encoding="utf-8")
    result = run_cli(["init", "-o", str(job_file)])
    assert result.exit_code == 2
    assert result.output == f"entrasim: error: {job_file} already exists; use --force to overwrite it\n"
    assert job_file.read_text(encoding="utf-8") == "# mine\n"
    result = run_cli(["init", "-o", str(job_file), "--force"])
    assert result.exit_code == 0
    assert job_file.read_text(encoding="utf-8") == preset_text("customappsso")


def test_init_to_standard_output():
    result = run_cli(["init", "-o", "-", "--preset", "customappsso"])
    assert result.exit_code == 0 and result.output == preset_text("customappsso")


def test_init_into_a_missing_directory(tmp_path):
    result = run_cli(["init", "-o", str(tmp_path / "nope" / "job.yaml")])
    assert result.exit_code == 2
    assert "cannot write" in result.output and "does not exist" in result.output


def test_validate_prints_each_problem_with_its_line(tmp_path):
    job_file = tmp_path / "job.yaml"
    job_file.write_text(edit(10, "  concurrency: 0").replace("scope: assigned", "scope: everyone"), encoding="utf-8")
    result = run_cli(["validate", str(job_file)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{job_file}:8: scope: the text 'everyone' is not one of: assigned, all",
        f"{job_file}:10: settings.concurrency: must be at least 1, got 0",
        f"{job_file}: 2 problems",
    ]


def test_validate_a_missing_file(tmp_path):
    result = run_cli(["validate", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2
    assert result.output == f"entrasim: error: cannot read {tmp_path / 'none.yaml'}: no such file\n"
