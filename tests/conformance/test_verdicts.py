"""Verdict semantics on a real server whose behaviour is steered by fault rules and profiles.

pass / fail (MUST broken) / warning (SHOULD or MAY unmet) / skipped (feature
not advertised) / error (the suite could not run the check); cleanup happens
whatever the verdict.
"""

from __future__ import annotations

from conformance_support import verdicts


def _by_id(result):
    return {r.check.id: r for r in result.results}


def test_patch_answering_204_is_a_pass_not_a_failure(lms_target):
    # The rfc profile answers PATCH on Groups with 204 No Content, which RFC 7644 §3.5.2 allows.
    result = lms_target("rfc").run(("rfc",), patterns=("patch.group",))
    outcomes = _by_id(result)
    assert {k: v.verdict.value for k, v in outcomes.items()} == {
        "patch.group.add-member": "pass", "patch.group.remove-member": "pass",
        "patch.group.remove-all-members": "pass", "patch.group.replace-members": "pass"}
    statuses = [e.status for e in outcomes["patch.group.add-member"].exchanges if e.method == "PATCH"]
    assert statuses == [204]


def test_features_not_advertised_are_skipped_not_failed(lms_target):
    target = lms_target("rfc")
    spc = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
           "patch": {"supported": True}, "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
           "filter": {"supported": True, "maxResults": 100}, "changePassword": {"supported": False},
           "sort": {"supported": False}, "etag": {"supported": False},
           "authenticationSchemes": [{"type": "oauthbearertoken", "name": "Bearer", "description": "token"}]}
    target.faults.add(method="GET", path="/scim/v2/ServiceProviderConfig", status=200, body=spc,
                      content_type="application/scim+json")
    result = target.run(("rfc",), patterns=("bulk or sorting or etag",))
    assert result.results and all(r.verdict.value == "skipped" for r in result.results)
    assert all("is not advertised by the server" in r.reason for r in result.results)
    assert result.exit_code == 0


def test_a_failed_prerequisite_is_an_error_and_cleanup_still_runs(lms_target):
    target = lms_target("rfc")
    # Every read of a single User fails: checks that must read back what they created cannot judge.
    target.faults.add(method="GET", path="/scim/v2/Users/*", kind="server_error")
    result = target.run(("rfc",), patterns=("patch.add or users.round-trip",))
    outcomes = _by_id(result)
    assert outcomes["users.round-trip"].verdict.value == "error"
    assert "could not read back" in outcomes["users.round-trip"].reason
    assert outcomes["patch.add.attribute"].verdict.value == "error"
    assert result.exit_code == 0  # errors are the suite's, not the server's verdict
    assert target.store.export_state()["resources"]["User"] == []  # every created user was deleted anyway


def test_a_broken_must_fails_and_an_unmet_should_warns(lms_target):
    target = lms_target("rfc")
    # Duplicates answer 400 instead of 409: a MUST (RFC 7644 §3.3) broken, and the SHOULD case check warns.
    target.faults.add(method="POST", path="/scim/v2/Users", every=2, status=400)
    result = target.run(("rfc",), patterns=("uniqueness.create or uniqueness.case-insensitive",))
    assert verdicts(result, "fail") == {"uniqueness.create"}
    assert verdicts(result, "warning") == {"uniqueness.case-insensitive"}
    assert result.exit_code == 1
    assert target.store.export_state()["resources"]["User"] == []
