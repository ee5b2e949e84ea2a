"""``entrasim conformance`` as a user runs it: reports written, exit codes 0/1/2, one-line errors, no token leaks."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from click.testing import CliRunner
from conformance_support import TOKEN

from simulator.cli import main


def invoke(*args: str):
    return CliRunner().invoke(main, ["conformance", *args])


def test_without_target_it_grades_our_lms_and_writes_every_report(tmp_path):
    out = {kind: tmp_path / f"report.{kind}" for kind in ("json", "xml", "html")}
    result = invoke("-k", "discovery or auth", "--json", str(out["json"]), "--junit", str(out["xml"]),
                    "--html", str(out["html"]))
    assert result.exit_code == 0, result.output
    assert "no --target: running against our SCIM LMS (profile rfc)" in result.output
    report = json.loads(out["json"].read_text())
    assert report["summary"]["by_verdict"]["fail"] == 0 and report["summary"]["total"] >= 18
    spc = next(c for c in report["checks"] if c["id"] == "discovery.spc.served")
    assert spc["section"] == "RFC 7644 §4; RFC 7643 §5" and spc["level"] == "MUST" and spc["profiles"] == ["rfc"]
    assert spc["exchanges"][0]["method"] == "GET" and spc["exchanges"][0]["status"] == 200
    suite = ET.parse(out["xml"]).getroot()
    assert suite.tag == "testsuite" and int(suite.get("tests")) == report["summary"]["total"]
    assert {c.get("name") for c in suite.iter("testcase")} == {c["id"] for c in report["checks"]}
    page = out["html"].read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "discovery.spc.served" in page


def test_a_broken_must_exits_1_and_the_html_puts_failures_first(lms_target, tmp_path):
    target = lms_target("rfc")
    html = tmp_path / "r.html"
    result = invoke("--target", target.base, "--token", TOKEN, "--profile", "rfc,entra", "-k", "entra.disable or users.get",
                    "--html", str(html), "--json", str(tmp_path / "r.json"))
    assert result.exit_code == 1, result.output
    page = html.read_text()
    assert page.index("entra.disable-string") < page.index("users.get")  # fails before passes
    assert "HTTP 400" in page and "Operations" in page  # the proving exchange
    # Each section reference links to the RFC text it cites.
    assert "<a href='https://www.rfc-editor.org/rfc/rfc7644#section-3.4.1'>§3.4.1</a>" in page
    # The console names each failing check with its level, section and whole reason, one check per block.
    lines = result.output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("fail     MUST   entra.disable-string"))
    assert "(Entra provisioning (Disable, no flag))" in lines[at] and "aadOptscim062020" in lines[at + 1]
    for report in (page, (tmp_path / "r.json").read_text(), result.output):
        assert TOKEN not in report
    assert "&lt;redacted&gt;" in page


def test_a_custom_header_is_redacted_everywhere(lms_target, tmp_path):
    target = lms_target("rfc")
    result = invoke("--target", target.base, "--header", f"Authorization: Bearer {TOKEN}", "-k", "users.list",
                    "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml"))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    [check] = report["checks"]
    assert check["verdict"] == "pass" and check["exchanges"][0]["request_headers"]["Authorization"] == "<redacted>"
    assert TOKEN not in (tmp_path / "r.json").read_text() + (tmp_path / "r.xml").read_text()


def test_read_only_creates_nothing_and_skips_writes(lms_target, tmp_path):
    target = lms_target("rfc")
    before = target.store.export_state()
    result = invoke("--target", target.base, "--token", TOKEN, "--profile", "rfc,entra", "--read-only",
                    "--json", str(tmp_path / "r.json"))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    writes = [c for c in report["checks"] if c["writes"]]
    assert writes and all(c["verdict"] == "skipped" and "read-only" in c["reason"] for c in writes)
    reads = [c for c in report["checks"] if not c["writes"]]
    assert len(reads) >= 30 and all(c["verdict"] in ("pass", "skipped") for c in reads)
    methods = {e["method"] for c in report["checks"] for e in c["exchanges"]}
    assert methods == {"GET"}
    assert target.store.export_state() == before


def test_could_not_run_exits_2_with_one_line(lms_target):
    from scim2_server_process import free_port

    unreachable = invoke("--target", f"http://127.0.0.1:{free_port()}/scim/v2", "--token", "x", "-k", "users.list")
    assert unreachable.exit_code == 2
    assert unreachable.output.startswith("entrasim: error: could not reach the server")
    assert unreachable.output.count("\n") == 1
    target = lms_target("rfc")
    refused = invoke("--target", target.base, "--token", "not-the-token", "-k", "users.list")
    assert refused.exit_code == 2
    assert refused.output.startswith("entrasim: error: the target refused the credentials: GET /Users answered 401")
    assert "not-the-token" not in refused.output
    for args, message in [(("--profile", "okta"), "unknown profile(s): okta"),
                          (("--target", "ftp://x"), "--target must be an http(s) URL"),
                          (("--header", "no colon here"), "--header must look like 'Name: value'"),
                          (("--token", "Bearer abc"), "--token must be the bare token"),
                          (("-k", "no-such-check-anywhere"), "no check matches"),
                          (("--lms-profile", "nope", "-k", "users.list"), "nope")]:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("entrasim: error: ") and message in result.output
    # A header pasted without its colon is usually a credential: the error must not echo it.
    pasted = invoke("--header", "Authorization Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi")
    assert pasted.exit_code == 2 and "eyJ0eXAi" not in pasted.output


def test_an_unwritable_report_exits_2(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    result = invoke("-k", "users.list", "--json", str(blocker / "r.json"))
    assert result.exit_code == 2 and result.output.splitlines()[-1].startswith(f"entrasim: error: cannot write {blocker}")


def test_list_shows_every_selected_check_with_its_level_and_section():
    result = invoke("--list", "--profile", "rfc,entra")
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) >= 180
    assert any(line.startswith("patch.atomic") and "MUST" in line and "RFC 7644 §3.5.2" in line for line in lines)
