"""Validator mode: the Microsoft SCIM Validator's tests, replayed with its own request shapes against a job's target."""

from __future__ import annotations

import json

from click.testing import CliRunner

from simulator.cli import main

from .conftest import ENTERPRISE, TOKEN, job_yaml

USER_TESTS = ["Create User", "Filter for existing user", "Filter for existing user with different case",
              "Get User by id", "Patch User - Add Attributes", "Patch User - Replace Attributes",
              "Update User userName", "Patch User - Disable User", "Patch User - Add Manager",
              "Patch User - Replace Manager", "Patch User - Remove Manager", "Create duplicate User", "Delete User"]
GROUP_TESTS = ["Create Group", "Filter for existing group", "Filter for existing group excluding members",
               "Filter for existing group with different case", "Get Group by id",
               "Get Group by id excluding members", "Create duplicate Group", "Patch Group - Replace Attributes",
               "Update Group displayName", "Patch Group - Add Member", "Patch Group - Remove Member", "Delete Group"]
CONTENT_TYPE = "Responses are application/scim+json"


def validate(tmp_path, target, *extra):
    job = tmp_path / "job.yaml"
    job.write_text(job_yaml(target))
    out = tmp_path / "validator.json"
    result = CliRunner().invoke(main, ["provision", "validator", "--job", str(job), "--json", str(out), *extra])
    report = json.loads(out.read_text()) if out.exists() else None
    return result, report


def outcome(report):
    return {test["name"]: test["passed"] for test in report["tests"]}


def test_the_entra_tolerant_lms_passes_every_test(scim_targets, tmp_path):
    target = scim_targets("lms", "entra-tolerant")
    before = target.count()

    result, report = validate(tmp_path, target)

    assert result.exit_code == 0, result.output
    assert [t["name"] for t in report["tests"]] == USER_TESTS + GROUP_TESTS + [CONTENT_TYPE]
    assert report["failed"] == 0 and report["passed"] == len(USER_TESTS + GROUP_TESTS) + 1
    assert result.output.splitlines()[-1].startswith(f"{report['passed']} passed, 0 failed against ")
    assert all(line.startswith("PASS  ") for line in result.output.splitlines()[:-1])
    # The validator's request shapes, as the server received them.
    sent = target.sent(before)
    operations = [op for s in sent if s.method == "PATCH" for op in s.operations]
    assert {op["op"] for op in operations} == {"add", "replace", "remove"}
    assert {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": operations[
        [o.get("path") for o in operations].index(f"{ENTERPRISE}:manager")]["value"]["value"]}} in operations
    assert any(op.get("path") is None and "name.familyName" in op["value"] for op in operations)
    duplicates = [s for s in sent if s.method == "POST" and s.status == 409]
    assert [s.path for s in duplicates] == ["/Users", "/Groups"]
    assert any(s.query.get("excludedAttributes") == ["members"] and s.path.startswith("/Groups/") for s in sent)
    # What it created it deleted.
    assert target.users() == {} and target.groups() == {}


def test_the_rfc_lms_fails_the_validator_where_it_departs_from_entra(scim_targets, tmp_path):
    target = scim_targets("lms", "rfc")

    result, report = validate(tmp_path, target)

    assert result.exit_code == 1
    failed = [name for name, passed in outcome(report).items() if not passed]
    assert failed == ["Patch User - Replace Attributes", "Create duplicate Group"]
    (replace,) = [t for t in report["tests"] if t["name"] == "Patch User - Replace Attributes"]
    assert replace["reason"].startswith("expected HTTP 200 or 204, got 400")
    assert replace["requests"][-1]["method"] == "PATCH" and replace["requests"][-1]["status"] == 400
    lines = result.output.splitlines()
    row = lines.index(next(line for line in lines if line.startswith("FAIL  Patch User - Replace Attributes")))
    assert lines[row + 1].strip().startswith("PATCH http://") and lines[row + 1].endswith("-> 400")
    assert "name.familyName" in lines[row + 2] and lines[row + 3].strip().startswith("response: ")
    assert lines[-1].startswith(f"{report['passed']} passed, 2 failed against ")


def test_scim2_server_fails_only_the_duplicate_group(scim_targets, tmp_path):
    target = scim_targets("scim2-server")

    result, report = validate(tmp_path, target)

    assert result.exit_code == 1
    assert [name for name, passed in outcome(report).items() if not passed] == ["Create duplicate Group"]
    (duplicate,) = [t for t in report["tests"] if t["name"] == "Create duplicate Group"]
    assert duplicate["reason"] == "expected HTTP 409, got 201"
    assert [(r["method"], r["status"]) for r in duplicate["requests"]] == [("POST", 201)]


def test_an_answer_that_is_not_scim_json_fails_the_content_type_check(scim_targets, tmp_path):
    target = scim_targets("lms", "entra-tolerant")
    # The fourth POST /Users is the duplicate: answered 409, as expected, but as application/json.
    target.faults.add(surface="lms", method="POST", path="/scim/v2/Users", nth=4, status=409,
                      body={"detail": "userName already exists"})

    result, report = validate(tmp_path, target, "--no-groups")

    assert result.exit_code == 1
    assert [t["name"] for t in report["tests"]] == USER_TESTS + [CONTENT_TYPE]
    assert [name for name, passed in outcome(report).items() if not passed] == [CONTENT_TYPE]
    (check,) = [t for t in report["tests"] if t["name"] == CONTENT_TYPE]
    assert check["reason"] == ("1 answers carried another Content-Type (first: POST /Users answered application/json); "
                               "the validator aborts on them")
    assert [(r["method"], r["status"]) for r in check["requests"]] == [("POST", 409)]


def test_a_job_that_cannot_be_read_is_one_line_on_stderr(tmp_path):
    result = CliRunner().invoke(main, ["provision", "validator", "--job", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == f"entrasim: error: cannot read {tmp_path / 'missing.yaml'}: no such file\n"


def test_a_token_the_target_echoes_back_is_not_shown(scim_targets, tmp_path):
    target = scim_targets("lms", "entra-tolerant")
    target.faults.add(surface="lms", method="POST", path="/scim/v2/Users", nth=1, status=400,
                      body={"detail": f"the bearer token {TOKEN} is not allowed to create users"})

    result, report = validate(tmp_path, target, "--no-groups")

    assert result.exit_code == 1 and "FAIL  Create User" in result.output
    assert "is not allowed to create users" in result.output  # the failure is shown ...
    assert TOKEN not in result.output and TOKEN not in json.dumps(report)  # ... without the token
