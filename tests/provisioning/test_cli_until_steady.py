"""``run --until-steady``: cycles until one exports nothing, bounded by ``--max-cycles``."""

from __future__ import annotations

import json

import pytest

from .conftest import run


def test_cycles_run_until_one_exports_nothing(workspace):  # noqa: F811
    runner, job, _tenant, target = workspace

    result = run(runner, "run", "--job", str(job), "--until-steady", "--json")

    assert result.exit_code == 0, result.output
    summaries = json.loads(result.stdout)
    assert [s["kind"] for s in summaries] == ["initial", "incremental"]
    assert summaries[0]["byAction"]["create"] == {"success": 4}
    assert summaries[-1]["state"] == "Succeeded"
    assert set(summaries[-1]["byStatus"]) <= {"skipped"}
    assert len(target.users()) == 3

    again = run(runner, "run", str(job), "--initial", "--until-steady")
    assert again.exit_code == 0, again.output
    assert "RedundantExport 4" in again.stdout  # an initial cycle over an in-sync target is already steady
    assert again.stderr.strip().splitlines()[-1] == "steady after 1 cycle: the last one exported nothing"


def test_never_steady_within_the_bound_is_an_error(workspace):  # noqa: F811
    runner, job, _tenant, _target = workspace

    result = run(runner, "run", str(job), "--until-steady", "--max-cycles", "1", "--quiet")

    assert result.exit_code == 1  # 4 creates, then the group's members and 2 managers
    assert result.stderr == "entrasim: error: not steady after 1 cycle: cycle 1 still exported 7 objects\n"


def test_a_quarantined_job_stops_the_loop_at_once(workspace):  # noqa: F811
    runner, job, _tenant, target = workspace
    target.faults.add(surface="lms", method="GET", path="/scim/v2/Users", status=401)

    result = run(runner, "run", str(job), "--until-steady", "--json")

    assert result.exit_code == 1
    assert [s["state"] for s in json.loads(result.stdout)] == ["Failed"]
    assert result.stderr.startswith("entrasim: error: not steady after 1 cycle: cycle 1 failed (the SCIM endpoint "
                                    "refused the credentials")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args,message", [
    (["--cycles", "2", "--until-steady"], "give --cycles or --until-steady, not both"),
    (["--max-cycles", "3"], "--max-cycles only applies with --until-steady"),
])
def test_conflicting_options_are_one_line_errors(workspace, args, message):  # noqa: F811
    runner, job, _tenant, _target = workspace
    result = run(runner, "run", str(job), *args)
    assert result.exit_code == 2 and result.stderr == f"entrasim: error: {message}\n"
