"""Incremental locustfile: a stream of updates, disables and membership churn, read back at the end."""

from __future__ import annotations

from .conftest import TOKEN, run_locust


def test_changes_flow_at_the_set_rate_and_the_target_holds_the_last_state_sent(scim_lms, tmp_path):
    lms = scim_lms(tls=True)  # https, trusting our CA only
    run = run_locust("incremental.py", tmp_path, "--scim-url", lms.base, "--scim-ca-bundle", lms.ca_bundle,
                     "--users-total", "300", "--groups-total", "24", "--block-size", "25", "--change-rate", "60",
                     "--ceiling-seconds", "0.5", "--scim-token", TOKEN, users=2, run_time="8s")
    assert run.returncode == 0, run.output
    assert run.summary["verdict"] == "PASS", run.output
    counters = run.summary["counters"]
    # two users adopted two blocks of 25 (created there, since the target was empty), then changed them
    assert counters["users_created"] == 50 and lms.total("Users") == 50
    assert counters["changes"] > 0
    assert counters.get("memberships_removed", 0) + counters.get("memberships_added", 0) > 0
    assert run.summary["targetCeiling"]["requestsPerSecond"] > 0  # the probe went over https too
    read_back = [check for check in run.summary["checks"] if "read back as last sent" in check["message"]]
    assert read_back and all(check["ok"] for check in read_back)
    # pacing holds the stream under the rate asked (an upper bound: a slow machine only lowers it)
    assert run.summary["changesPerSecond"] <= 60 * 1.5
