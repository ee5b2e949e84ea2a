"""``--job FILE``, the spelling of Entra's docs and the issue, works wherever the positional JOB does."""

from __future__ import annotations

import json

import pytest

from .conftest import run


def test_run_test_connection_and_restart_accept_job_option(workspace):  # noqa: F811
    runner, job, _tenant, target = workspace

    first = run(runner, "run", "--job", str(job), "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)[0]["kind"] == "initial"
    assert set(target.users()) == {"user0@contoso.com", "user1@contoso.com", "user2@contoso.com"}
    assert job.with_name("job.state.db").is_file()  # defaults still derive from the job file's name

    connection = run(runner, "test-connection", "--job", str(job))
    assert connection.exit_code == 0 and connection.stdout.startswith("OK: ")

    restarted = run(runner, "restart", "--job", str(job), "--reset", "watermark")
    assert restarted.exit_code == 0 and "reset watermark" in restarted.stdout
    again = run(runner, "run", "--job", str(job), "--json")
    assert json.loads(again.stdout)[0]["kind"] == "initial"


@pytest.mark.parametrize("command", [["run"], ["test-connection"], ["restart", "--reset", "full"]])
def test_job_given_twice_or_not_at_all_is_a_one_line_error(workspace, command):  # noqa: F811
    runner, job, _tenant, _target = workspace

    both = run(runner, *command, str(job), "--job", str(job))
    neither = run(runner, *command)

    assert both.exit_code == 2
    assert both.stderr == "entrasim: error: give the job file once: either JOB or --job FILE, not both\n"
    assert neither.exit_code == 2
    assert neither.stderr == "entrasim: error: no job file: give JOB or --job FILE\n"
