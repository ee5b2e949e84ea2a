"""Graph read locustfile: an LMS importer's token, member paging and delta load on the Graph mock, with 429s."""

from __future__ import annotations

import json

from simulator.graph.context import GraphConfig
from simulator.tenant.seeding import SeedSpec, seed_tenant

from .conftest import run_locust


def test_member_paging_and_delta_complete_through_throttling(graph_server, tmp_path):
    tenant = seed_tenant(SeedSpec(users=1200, groups=12, seed=3))
    server = graph_server(tenant=tenant, config=GraphConfig(control=True))
    info = {**server.info, "control_url": f"{server.url}/_entrasim"}
    info_file = tmp_path / "graph.json"
    info_file.write_text(json.dumps(info))
    # the reads run until --run-time: long enough for every group and delta round on a busy machine
    run = run_locust("graph_read.py", tmp_path, "--graph-info", str(info_file), "--throttle-every", "4",
                     "--throttle-retry-after", "1", users=2, run_time="12s")
    assert run.returncode == 0, run.output
    assert run.summary["verdict"] == "PASS", run.output
    counters = run.summary["counters"]
    assert counters["throttled"] > 0 and counters.get("reads_failed", 0) == 0
    assert counters["tokens"] == 2 and counters["members_read"] > 0
    assert counters["delta_objects"] >= 1200
    # Locust's HTML report holds the final figures (its CSV is a snapshot rewritten every second)
    assert "GET /groups/[id]/members (429)" in run.files["html"].read_text()
    # the rule installed for the run was removed at its end
    assert server.faults.rules == []
    assert info["client_secret"] not in run.output and info["client_secret"] not in run.files["html"].read_text()


def test_a_missing_or_broken_info_file_is_a_one_line_error(tmp_path):
    broken = tmp_path / "graph.json"
    broken.write_text('{"graph_url": "https://127.0.0.1:1/v1.0"}')
    for info, reason in ((tmp_path / "absent.json", "no such file"), (broken, "has no 'authority_host'")):
        run = run_locust("graph_read.py", tmp_path, "--graph-info", str(info), users=1, run_time="5s")
        assert run.returncode == 2, run.output
        errors = [line for line in run.output.splitlines() if "error" in line.lower()]
        assert len(errors) == 1 and errors[0].startswith("entrasim: error: --graph-info ") and reason in errors[0]
        assert run.summary is None  # refused before any load: no summary, no verdict
