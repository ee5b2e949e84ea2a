"""``run --report out.html``: a self-contained page of the run's cycles, failures by code, and a timeline."""

from __future__ import annotations

import json
import re

from simulator.provisioning.logs import failures_by_code, read_log
from simulator.tenant import snapshot

from .conftest import TOKEN
from .conftest import run


def test_report_shows_totals_failures_by_code_and_a_timeline(workspace, tmp_path):  # noqa: F811
    runner, job, tenant, target = workspace
    group = next(iter(tenant.groups))
    tenant.update_group(group, displayName="<b>Learners</b> & co")
    snapshot.save(tenant, job.with_name("tenant.json"))
    target.faults.add(surface="lms", method="POST", path="/scim/v2/Groups", kind="server_error")
    report = tmp_path / "out.html"

    result = run(runner, "run", "--job", str(job), "--cycles", "2", "--report", str(report), "--json")

    assert result.exit_code == 1  # the group failed
    summaries = json.loads(result.stdout)
    page = report.read_text()
    assert page.startswith("<!DOCTYPE html>")
    # totals of each cycle, and of the run
    first = summaries[0]
    assert first["cycleId"] in page and summaries[1]["cycleId"] in page
    assert f'<td class="n">{first["processed"]}</td>' in page
    assert "EntryLevelErrors" in page
    # the failure, under Entra's code, naming the object, escaped
    codes = failures_by_code(read_log(job.with_name("job.log.jsonl")))
    assert sum(codes.values()) == 2  # the group's create, in both cycles
    for code, count in codes.items():
        assert f'<tr><td>{code}</td><td class="n">{count}</td>' in page
    assert "Failures by error code" in page and "&lt;b&gt;Learners&lt;/b&gt; &amp; co" in page
    assert "<b>Learners</b>" not in page
    assert "Timeline" in page and page.count('class="bar"') == 2
    # self-contained, and no credential
    assert not re.search(r'(src|href)=|<script|<link|@import', page)
    assert TOKEN not in page


def test_a_clean_run_reports_no_failures(workspace, tmp_path):  # noqa: F811
    runner, job, _tenant, _target = workspace
    report = tmp_path / "clean.html"

    result = run(runner, "run", str(job), "--report", str(report))

    assert result.exit_code == 0, result.output
    page = report.read_text()
    assert "<p>No failures.</p>" in page and "Succeeded" in page
    assert re.search(r"<tr><td>create</td><td class=\"n\">4</td>", page)
    assert f"report: {report}" in result.stderr


def test_an_unwritable_report_is_a_one_line_error(workspace, tmp_path):  # noqa: F811
    runner, job, _tenant, _target = workspace
    result = run(runner, "run", str(job), "--report", str(tmp_path / "missing" / "out.html"))
    assert result.exit_code == 2
    assert result.stderr == f"entrasim: error: cannot write {tmp_path / 'missing' / 'out.html'}: directory " \
                            f"{tmp_path / 'missing'} does not exist\n"
