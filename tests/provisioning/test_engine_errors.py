"""Failures as Entra handles them: throttling waited out, escrows retried, quarantine, held deletions, resume."""

from __future__ import annotations

from datetime import timedelta

import pytest

from simulator.provisioning.engine import EngineOptions
from simulator.provisioning.scim_client import RetryPolicy

from .conftest import ENTERPRISE, FAST_RETRY, add_people, new_tenant


def test_a_429_is_waited_out_and_only_the_failed_request_is_sent_again(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    target.faults.add(surface="lms", method="POST", path="/scim/v2/Users", kind="throttled", retry_after=1, first=1)
    tenant = new_tenant()
    add_people(tenant, 2, group=None)
    for user in list(tenant.users.values()):
        tenant.assign(user.id)
    h = harness(tenant, target)
    waits: list[str] = []
    h.engine.notify = waits.append

    summary = h.cycle()

    assert summary.state == "Succeeded"
    assert set(target.users()) == {"user0@contoso.com", "user1@contoso.com"}
    record = h.record_for(summary, "user0@contoso.com")
    assert [(r["method"], r["status"]) for r in record["entrasim"]["requests"]] == [("GET", 200), ("POST", 429), ("POST", 201)]
    assert record["entrasim"]["requests"][2]["waitedSeconds"] > 0
    assert waits == ["429 from POST /Users: waiting 1 s (Retry-After)"]
    assert [s.status for s in target.sent() if s.method == "POST"] == [429, 201, 201]


def test_a_server_error_is_escrowed_and_retried_in_the_next_cycle(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    target.faults.add(surface="lms", method="POST", path="/scim/v2/Users", kind="server_error", first=1)
    tenant = new_tenant()
    ann = tenant.create_user(userPrincipalName="ann@contoso.com", givenName="Ann", surname="Lee")
    tenant.assign(ann.id)
    h = harness(tenant, target)

    first = h.cycle()

    record = h.record_for(first, "ann@contoso.com")
    error = record["provisioningStatusInfo"]["errorInformation"]
    assert error["errorCode"] == "SystemForCrossDomainIdentityManagementInternalServerError"
    assert "StatusCode: InternalServerError" in error["reason"]
    assert [r["status"] for r in record["entrasim"]["requests"]] == [200, 500]  # a POST is not re-sent blindly
    assert first.state == "EntryLevelErrors" and first.escrowed == 1
    assert target.users() == {}

    second = h.cycle()

    assert second.kind == "incremental" and second.state == "Succeeded" and second.escrowed == 0
    retried = h.record_for(second, "ann@contoso.com")
    assert retried["provisioningAction"] == "create" and retried["provisioningStatusInfo"]["status"] == "success"
    assert any(s["description"] == "We are retrying an operation that previously failed." for s in retried["provisioningSteps"])
    assert set(target.users()) == {"ann@contoso.com"}


def test_gateway_errors_are_retried_with_backoff(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    target.faults.add(surface="lms", method="POST", path="/scim/v2/Users", kind="unavailable", first=2)
    tenant = new_tenant()
    ann = tenant.create_user(userPrincipalName="ann@contoso.com", givenName="Ann", surname="Lee")
    tenant.assign(ann.id)
    h = harness(tenant, target)

    summary = h.cycle()

    assert summary.state == "Succeeded"
    record = h.record_for(summary, "ann@contoso.com")
    assert [r["status"] for r in record["entrasim"]["requests"]] == [200, 503, 503, 201]


def test_a_conflict_on_create_is_an_entry_conflict(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    target.faults.add(surface="lms", method="POST", path="/scim/v2/Users", status=409,
                      body={"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "409",
                            "scimType": "uniqueness", "detail": "userName is taken"})
    tenant = new_tenant()
    ann = tenant.create_user(userPrincipalName="ann@contoso.com", givenName="Ann", surname="Lee")
    tenant.assign(ann.id)
    h = harness(tenant, target)

    summary = h.cycle()

    error = h.record_for(summary, "ann@contoso.com")["provisioningStatusInfo"]["errorInformation"]
    assert error["errorCode"] == "SystemForCrossDomainIdentityManagementEntryConflict"
    assert error["errorCategory"] == "nonServiceFailure"
    assert "StatusCode: Conflict" in error["reason"] and "userName is taken" in error["reason"]
    assert h.state.escrow("User", ann.id).code.endswith("EntryConflict")


def test_a_linked_object_gone_from_the_target_is_an_invalid_anchor(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    ann = tenant.create_user(userPrincipalName="ann@contoso.com", givenName="Ann", surname="Lee")
    tenant.assign(ann.id)
    h = harness(tenant, target)
    h.cycle()
    target.session.delete(f"{target.base}/Users/{target.users()['ann@contoso.com']['id']}")
    before = target.count()

    tenant.update_user(ann.id, jobTitle="Tutor")
    summary = h.cycle()

    assert h.record_for(summary, "ann@contoso.com")["provisioningStatusInfo"]["errorInformation"]["errorCode"] == "InvalidAnchor"
    assert "POST" not in [s.method for s in target.sent(before)]


def test_refused_credentials_quarantine_the_job(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    rule = target.faults.add(surface="lms", method="GET", path="/scim/v2/Users", status=401)
    tenant = new_tenant()
    add_people(tenant, 2)
    h = harness(tenant, target)

    failed = h.cycle()

    assert failed.state == "Failed" and failed.processed == 0
    quarantine = h.state.quarantine
    assert quarantine.reason == "EncounteredQuarantineException"
    assert quarantine.next_attempt == tenant.clock.now() + timedelta(hours=6)
    assert [s.status for s in target.sent()] == [401]
    skipped = h.cycle()
    assert skipped.state == "Skipped" and "quarantine" in skipped.notes[0]
    assert target.count() == 1

    target.faults.remove(rule.id)
    tenant.clock.advance(timedelta(hours=6))
    recovered = h.cycle()

    assert recovered.state == "Succeeded" and recovered.kind == "initial"
    assert h.state.quarantine is None
    assert set(target.users()) == {"user0@contoso.com", "user1@contoso.com"}


def test_a_404_to_the_matching_query_is_a_compliance_quarantine(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    target.faults.add(surface="lms", method="GET", path="/scim/v2/Users", status=404, nth=2)  # the probe passes, the matching query gets a 404
    tenant = new_tenant()
    add_people(tenant, 2)
    h = harness(tenant, target)

    summary = h.cycle()

    assert summary.state == "Failed"
    record = h.record_for(summary, "user0@contoso.com")
    assert record["provisioningStatusInfo"]["errorInformation"]["errorCode"] == \
        "SystemForCrossDomainIdentityManagementServiceIncompatible"
    assert "SCIM Compliance issue: An HTTP/404 Not Found response" in h.state.quarantine.details
    assert h.state.watermark is None


def test_repeated_failures_quarantine_the_job_until_they_stop(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    rule = target.faults.add(surface="lms", method="POST", path="/scim/v2/Users", kind="server_error")
    tenant = new_tenant()
    add_people(tenant, 5, group=None)
    for user in list(tenant.users.values()):
        tenant.assign(user.id)
    options = EngineOptions(retry=FAST_RETRY, escrow_base_threshold=3)
    h = harness(tenant, target, options=options)

    failing = h.cycle()

    assert failing.count(status="failure") == 5
    assert h.state.quarantine.reason == "EncounteredEscrowProportionThreshold"
    assert h.cycle().state == "Skipped"

    target.faults.remove(rule.id)
    tenant.clock.advance(timedelta(hours=6))
    recovered = h.cycle()

    assert recovered.state == "Succeeded" and recovered.count("create", "success") == 5
    assert h.state.quarantine is None and h.state.escrows() == []
    assert len(target.users()) == 5


def test_accidental_deletion_threshold_holds_deletions_until_allowed(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    add_people(tenant, 3)
    group_id = next(iter(tenant.groups))
    h = harness(tenant, target, settings={"accidentalDeletionThreshold": 2})
    h.cycle()
    before = target.count()

    tenant.unassign(group_id)  # three users leave scope, and the group with them
    held = h.cycle()

    assert not [s for s in target.sent(before) if s.method in ("PATCH", "DELETE")]
    staged = [r for r in h.records(held) if r["provisioningAction"] == "stagedDelete"]
    assert len(staged) == 4 and {r["provisioningStatusInfo"]["status"] for r in staged} == {"skipped"}
    assert h.state.quarantine.reason == "TooManyDeletes"
    assert all(u["active"] for u in target.users().values())
    assert h.cycle().state == "Skipped"

    h.state.reset("forcedeletes")
    released = h.cycle()

    assert released.count("disable", "success") == 3 and released.count("delete", "success") == 1
    assert not any(u["active"] for u in target.users().values())
    assert target.groups() == {}
    assert h.state.escrows() == [] and not h.state.force_deletes


def test_an_interrupted_cycle_resumes_without_duplicates(scim_targets, harness, tmp_path):
    target = scim_targets("lms", "entra-tolerant")
    # The third user is created by the server, but the connection drops before the answer arrives.
    target.faults.add(surface="lms", method="POST", path="/scim/v2/Users", nth=3, truncate=0)
    tenant = new_tenant()
    add_people(tenant, 6, group=None, manager=False)
    for user in list(tenant.users.values()):
        tenant.assign(user.id)
    state_path = tmp_path / "job.db"
    h = harness(tenant, target, state_path=state_path)

    def kill_after_four(phase: str, done: int, total: int) -> None:
        if phase == "users" and done == 4:
            raise KeyboardInterrupt  # what a kill leaves: the state as of the last object

    h.engine.progress = kill_after_four
    with pytest.raises(KeyboardInterrupt):
        h.cycle()
    assert len(target.users()) == 4  # users 0-3 exist, user 2 without a link
    assert h.state.watermark is None

    resumed = harness(tenant, target, state_path=state_path)
    summary = resumed.cycle()

    assert summary.kind == "initial" and summary.state == "Succeeded"
    assert any("did not finish" in note for note in summary.notes)
    names = [u["userName"] for u in target.list("Users")]
    assert sorted(names) == [f"user{i}@contoso.com" for i in range(6)]  # each exactly once
    actions = {r["sourceIdentity"]["displayName"]: (r["provisioningAction"], r["provisioningStatusInfo"]["status"])
               for r in resumed.records(summary)}
    assert actions["user2@contoso.com"] == ("update", "skipped")  # found by the matching query, not created again
    assert actions["user0@contoso.com"] == ("update", "skipped")
    assert actions["user5@contoso.com"] == ("create", "success")
    assert [s.method for s in target.sent() if s.method == "POST"].count("POST") == 6


def test_concurrent_workers_provision_everything_once(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    add_people(tenant, 12)
    h = harness(tenant, target, settings={"concurrency": 4},
                options=EngineOptions(retry=RetryPolicy(backoff_base=0.01)))

    summary = h.cycle()

    assert summary.state == "Succeeded" and summary.count("create", "success") == 13
    users = target.users()
    assert len(users) == 12 and len(target.member_ids("Learners")) == 12
    boss = users["user0@contoso.com"]["id"]
    assert all(u.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", {}).get("manager", {}).get("value") == boss
               for name, u in users.items() if name != "user0@contoso.com")


def test_a_resource_entra_cannot_deserialize_is_a_logged_failure(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    ann = tenant.create_user(userPrincipalName="ann@contoso.com", givenName="Ann", surname="Lee")
    tenant.assign(ann.id)
    h = harness(tenant, target)
    h.cycle()
    user_id = target.users()["ann@contoso.com"]["id"]
    target.faults.add(surface="lms", method="GET", path=f"/scim/v2/Users/{user_id}", status=200,
                      content_type="application/scim+json",
                      body={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": user_id,
                            "userName": "ann@contoso.com", "active": "True"})
    before = target.count()

    tenant.update_user(ann.id, jobTitle="Tutor")
    summary = h.cycle()

    error = h.record_for(summary, "ann@contoso.com")["provisioningStatusInfo"]["errorInformation"]
    assert error["errorCode"] == "SystemForCrossDomainIdentityManagementServiceIncompatible"
    assert "We are not able to deserialize the resource received from your SCIM endpoint" in error["reason"]
    assert "PATCH" not in [s.method for s in target.sent(before)]
    assert h.state.quarantine is None  # an entry-level failure, escrowed, not a job-level one


def test_references_to_an_object_that_failed_are_resolved_in_the_next_cycle(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    target.faults.add(surface="lms", method="POST", path="/scim/v2/Users", kind="server_error", nth=1)  # the manager
    tenant = new_tenant()
    add_people(tenant, 3)
    h = harness(tenant, target)

    first = h.cycle()

    assert first.state == "EntryLevelErrors"
    users = target.users()
    assert set(users) == {"user1@contoso.com", "user2@contoso.com"}
    assert len(target.member_ids("Learners")) == 2
    assert all("manager" not in u.get(ENTERPRISE, {}) for u in users.values())
    assert {(e.object_type, e.code, e.reference) for e in h.state.escrows()} == {
        ("User", "SystemForCrossDomainIdentityManagementInternalServerError", False),
        ("User", "ReferenceNotProvisioned", True), ("Group", "ReferenceNotProvisioned", True)}

    second = h.cycle()

    assert second.state == "Succeeded" and h.state.escrows() == []
    users = target.users()
    boss = users["user0@contoso.com"]["id"]
    assert target.member_ids("Learners") == {u["id"] for u in users.values()}
    assert users["user1@contoso.com"][ENTERPRISE]["manager"]["value"] == boss
    assert users["user2@contoso.com"][ENTERPRISE]["manager"]["value"] == boss
