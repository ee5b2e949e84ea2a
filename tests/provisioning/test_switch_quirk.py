"""settings.quirks.switchNullsUnchangedSource: Entra's documented Switch hazard, reproduced only when asked.

Microsoft's caution: when a Switch's source attribute did not change but another
attribute did, the Switch evaluates to null and the target attribute can be
nulled. With the quirk on, an incremental cycle in which only ``jobTitle``
changed nulls ``active`` (mapped with ``Switch([IsSoftDeleted], ...)``) on the
target, and the provisioning log says why; off (the default), nothing of the
kind happens.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.provisioning.job import JobFileError, parse_job

from .conftest import add_people, new_tenant

QUIRK_ON = {"switchNullsUnchangedSource: false": "switchNullsUnchangedSource: true"}


def user_patches(target, before):
    return [s for s in target.sent(before) if s.method == "PATCH" and s.path.startswith("/Users/")]


@pytest.mark.parametrize("dialect", ["default", "aadOptscim062020"])
def test_a_switch_whose_source_did_not_change_nulls_its_target(scim_targets, harness, dialect):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    ann = add_people(tenant, 1, manager=False)[0]
    h = harness(tenant, target, dialect=dialect, replace=QUIRK_ON)
    h.cycle()
    assert target.users()["user0@contoso.com"]["active"] is True
    before = target.count()

    tenant.update_user(ann.id, jobTitle="Coach")
    summary = h.cycle()

    (sent,) = user_patches(target, before)
    if dialect == "default":
        assert sent.operations == [{"op": "Replace", "path": "title", "value": "Coach"},
                                   {"op": "Replace", "path": "active", "value": None}]
    else:
        assert sent.operations == [{"op": "replace", "path": "active", "value": None},
                                   {"op": "replace", "value": {"title": "Coach"}}]
    user = target.users()["user0@contoso.com"]
    assert user["title"] == "Coach" and "active" not in user
    record = h.record_for(summary, "user0@contoso.com")
    assert record["provisioningStatusInfo"]["status"] == "success"
    assert {"displayName": "active", "oldValue": "True", "newValue": None} in record["modifiedProperties"]
    (warning,) = [step for step in record["provisioningSteps"] if step["status"] == "warning"]
    assert warning["details"] == {"SwitchNulled": "active"}
    assert "did not change" in warning["description"] and "switchNullsUnchangedSource" in warning["description"]


def test_a_switch_whose_source_changed_is_evaluated(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    ann = add_people(tenant, 1, manager=False)[0]
    h = harness(tenant, target, replace=QUIRK_ON)
    h.cycle()
    before = target.count()

    tenant.update_user(ann.id, accountEnabled=False)  # IsSoftDeleted changes: the Switch sees its source change
    summary = h.cycle()

    (sent,) = user_patches(target, before)
    assert sent.operations == [{"op": "Replace", "path": "active", "value": "False"}]
    assert target.users()["user0@contoso.com"]["active"] is False
    record = h.record_for(summary, "user0@contoso.com")
    assert record["provisioningAction"] == "disable"
    assert not [step for step in record["provisioningSteps"] if step["status"] == "warning"]


def test_off_by_default_the_switch_is_evaluated_as_always(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    ann = add_people(tenant, 1, manager=False)[0]
    h = harness(tenant, target)
    assert h.job.settings.switch_nulls_unchanged_source is False
    h.cycle()
    before = target.count()

    tenant.update_user(ann.id, jobTitle="Coach")
    h.cycle()

    (sent,) = user_patches(target, before)
    assert sent.operations == [{"op": "Replace", "path": "title", "value": "Coach"}]
    assert target.users()["user0@contoso.com"]["active"] is True


def test_an_initial_cycle_never_nulls(scim_targets, harness):
    """The hazard is about changes: a (re)matched user in an initial cycle gets every value."""
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    add_people(tenant, 2, manager=False)
    h = harness(tenant, target, replace=QUIRK_ON)
    h.cycle()
    assert all(user["active"] is True for user in target.users().values())


def test_the_setting_must_be_a_boolean():
    text = ("version: 1\ntarget:\n  tenantUrl: https://lms.example.com/scim/v2\nsource:\n  type: tenant\n"
            "settings:\n  quirks:\n    switchNullsUnchangedSource: sometimes\n"
            "mappings:\n  users:\n    attributes:\n      - {target: userName, source: userPrincipalName, "
            "matchingPriority: 1}\n")
    with pytest.raises(JobFileError) as caught:
        parse_job(text, filename="job.yaml", base_dir=Path("/jobs"))
    (problem,) = [p.format("job.yaml") for p in caught.value.problems]
    assert problem.startswith("job.yaml:8: settings.quirks.switchNullsUnchangedSource: ")
    assert "sometimes" in problem
