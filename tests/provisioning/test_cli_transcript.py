"""``run --transcript FILE`` and ``replay FILE --target URL --token T``: the conversation, kept and sent again."""

from __future__ import annotations

import json

from simulator.provisioning.transcript import read_transcript

from .conftest import TOKEN
from .conftest import run


def test_a_transcript_holds_every_exchange_without_credentials(workspace, tmp_path):  # noqa: F811
    runner, job, _tenant, target = workspace
    transcript = tmp_path / "run.jsonl"

    result = run(runner, "run", "--job", str(job), "--transcript", str(transcript), "--quiet")

    assert result.exit_code == 0, result.output
    entries = read_transcript(transcript)
    received = target.sent()
    assert [(e["method"], e["status"]) for e in entries] == [(s.method, s.status) for s in received]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0]["path"].startswith("/Users?filter=userName+eq+%22")
    create = next(e for e in entries if e["method"] == "POST" and e["path"] == "/Users")
    assert create["requestBody"]["userName"] == "user0@contoso.com" and create["status"] == 201
    assert create["responseBody"]["id"] and create["requestHeaders"]["Authorization"] == "Bearer [redacted]"
    assert any(e["method"] == "PATCH" and e["path"].startswith("/Groups/") for e in entries)
    assert TOKEN not in transcript.read_text()


def test_replay_to_a_fresh_server_rewrites_ids_and_finds_no_difference(workspace, tmp_path, scim_targets):  # noqa: F811
    runner, job, _tenant, _target = workspace
    transcript = tmp_path / "run.jsonl"
    assert run(runner, "run", str(job), "--transcript", str(transcript), "--quiet").exit_code == 0
    fresh = scim_targets("lms", "entra-tolerant")

    same = run(runner, "replay", str(transcript), "--target", fresh.base, "--token", TOKEN)

    assert same.exit_code == 0, same.output
    count = len(read_transcript(transcript))
    assert same.stdout.startswith(f"{count} requests replayed to {fresh.base}: {count} same, 0 different (")
    assert set(fresh.users()) == {"user0@contoso.com", "user1@contoso.com", "user2@contoso.com"}
    assert len(fresh.member_ids("Learners")) == 3  # the PATCHes reached the new ids
    assert all(s.status < 400 for s in fresh.sent())


def test_replay_reports_where_answers_differ(workspace, tmp_path, scim_targets):  # noqa: F811
    runner, job, _tenant, _target = workspace
    transcript = tmp_path / "run.jsonl"
    assert run(runner, "run", str(job), "--transcript", str(transcript), "--quiet").exit_code == 0
    other = scim_targets("lms", "entra-tolerant")
    other.faults.add(surface="lms", method="POST", path="/scim/v2/Groups", status=409)

    different = run(runner, "replay", str(transcript), "--target", other.base, "--token", TOKEN, "--json")

    assert different.exit_code == 1
    report = json.loads(different.stdout)
    (conflict,) = [d for d in report["differences"] if d["method"] == "POST"]
    assert conflict["path"] == "/Groups" and conflict["expectedStatus"] == 201 and conflict["status"] == 409
    assert "id" in conflict["missingKeys"]
    text = run(runner, "replay", str(transcript), "--target", other.base, "--token", "wrong")
    assert text.exit_code == 1 and "status 401, expected 200" in text.stdout


def test_replay_usage_errors_are_one_line(workspace, tmp_path):  # noqa: F811
    runner, _job, _tenant, _target = workspace
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"method": "GET", "path": "/Users"}\nnot json\n')

    missing = run(runner, "replay", str(tmp_path / "none.jsonl"), "--target", "http://127.0.0.1:1/scim", "--token", "t")
    broken = run(runner, "replay", str(bad), "--target", "http://127.0.0.1:1/scim", "--token", "t")
    no_url = run(runner, "replay", str(bad), "--target", "localhost/scim", "--token", "t")

    assert missing.exit_code == broken.exit_code == no_url.exit_code == 2
    assert missing.stderr == f"entrasim: error: cannot read {tmp_path / 'none.jsonl'}: no such file\n"
    assert broken.stderr.startswith(f"entrasim: error: {bad}:2: not JSON")
    assert no_url.stderr == ("entrasim: error: --target localhost/scim: give the SCIM base URL, starting with "
                             "http:// or https://\n")
