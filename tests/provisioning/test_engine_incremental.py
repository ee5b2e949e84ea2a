"""Incremental cycles: only what changed is sent, in the request shapes of each dialect."""

from __future__ import annotations

import pytest

from .conftest import ENTERPRISE, add_people, new_tenant

DEPARTMENT = f"{ENTERPRISE}:department"

UPDATE_TARGETS = [("lms", "entra-tolerant", "default"), ("lms", "entra-tolerant", "aadOptscim062020"),
                  ("scim2-server", None, "default"), ("scim2-server", None, "aadOptscim062020")]
UPDATE_IDS = ["lms-default", "lms-flag", "scim2-server-default", "scim2-server-flag"]


def start(scim_targets, kind, profile):
    return scim_targets(kind, profile) if profile else scim_targets(kind)


def patches(target, before, resource="Users"):
    return [s for s in target.sent(before) if s.method == "PATCH" and s.path.startswith(f"/{resource}/")]


@pytest.mark.parametrize("kind,profile,dialect", UPDATE_TARGETS, ids=UPDATE_IDS)
def test_an_update_patches_only_the_changed_attributes(scim_targets, harness, kind, profile, dialect):
    target = start(scim_targets, kind, profile)
    tenant = new_tenant()
    ann = add_people(tenant, 1, manager=False)[0]
    h = harness(tenant, target, dialect=dialect)
    h.cycle()
    before = target.count()

    tenant.update_user(ann.id, jobTitle="Coach")
    summary = h.cycle()

    sent = patches(target, before)
    assert len(sent) == 1
    if dialect == "default":
        assert sent[0].operations == [{"op": "Replace", "path": "title", "value": "Coach"}]
    else:
        assert sent[0].operations == [{"op": "replace", "value": {"title": "Coach"}}]
    assert target.users()["user0@contoso.com"]["title"] == "Coach"
    record = h.record_for(summary, "user0@contoso.com")
    assert record["provisioningAction"] == "update" and record["provisioningStatusInfo"]["status"] == "success"
    assert record["modifiedProperties"] == [{"displayName": "title", "oldValue": "Learner", "newValue": "Coach"}]


@pytest.mark.parametrize("kind,profile,dialect", UPDATE_TARGETS, ids=UPDATE_IDS)
def test_several_changes_in_each_dialect(scim_targets, harness, kind, profile, dialect):
    target = start(scim_targets, kind, profile)
    tenant = new_tenant()
    ann = add_people(tenant, 1, manager=False)[0]
    h = harness(tenant, target, dialect=dialect)
    h.cycle()
    before = target.count()

    tenant.update_user(ann.id, surname="Smith", department="Training", mail="ann.smith@contoso.com")
    h.cycle()

    (sent,) = patches(target, before)
    if dialect == "default":
        assert sent.operations == [
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "ann.smith@contoso.com"},
            {"op": "Replace", "path": "name.familyName", "value": "Smith"},
            {"op": "Replace", "path": "name.formatted", "value": "Given0 Smith"},
            {"op": "Replace", "path": DEPARTMENT, "value": "Training"},
        ]
    else:
        assert sent.operations == [
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "ann.smith@contoso.com"},
            {"op": "replace", "value": {"name.familyName": "Smith", "name.formatted": "Given0 Smith", DEPARTMENT: "Training"}},
        ]
    user = target.users()["user0@contoso.com"]
    assert user["name"]["familyName"] == "Smith" and user[ENTERPRISE]["department"] == "Training"
    assert [e["value"] for e in user["emails"]] == ["ann.smith@contoso.com"]


def test_a_strict_server_refusing_the_merged_replace_is_a_logged_failure(scim_targets, harness):
    target = scim_targets("lms", "rfc")  # RFC 7644 has no dotted keys in a path-less replace
    tenant = new_tenant()
    ann = add_people(tenant, 1, manager=False)[0]
    h = harness(tenant, target, dialect="aadOptscim062020")
    h.cycle()

    tenant.update_user(ann.id, surname="Smith")
    summary = h.cycle()

    assert summary.state == "EntryLevelErrors"
    record = h.record_for(summary, "user0@contoso.com")
    info = record["provisioningStatusInfo"]
    assert info["status"] == "failure"
    assert info["errorInformation"]["errorCode"] == "SystemForCrossDomainIdentityManagementServiceIncompatible"
    assert info["errorInformation"]["reason"].startswith(
        "Failed to update User 'user0@contoso.com' in customappsso; Error: The SCIM endpoint is not fully compatible")
    assert "StatusCode: BadRequest" in info["errorInformation"]["reason"]
    assert "This operation was retried 0 times. It will be retried again after this date: 2026-01-15T09:40:00.0000000Z UTC" \
        in info["errorInformation"]["reason"]
    assert [(r["method"], r["status"]) for r in record["entrasim"]["requests"]] == [("GET", 200), ("PATCH", 400)]
    escrow = h.state.escrow("User", ann.id)
    assert escrow is not None and escrow.code.endswith("ServiceIncompatible")
    assert target.users()["user0@contoso.com"]["name"]["familyName"] == "Sur0"


def test_a_new_attribute_value_is_added_not_replaced(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    ann = tenant.create_user(userPrincipalName="ann@contoso.com", givenName="Ann", surname="Lee")
    tenant.assign(ann.id)
    h = harness(tenant, target)
    h.cycle()
    before = target.count()

    tenant.update_user(ann.id, jobTitle="Tutor", mobilePhone="+33 6 12 34 56 78")
    h.cycle()

    (sent,) = patches(target, before)
    assert sent.operations == [
        {"op": "Add", "path": "title", "value": "Tutor"},
        {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+33 6 12 34 56 78"},
    ]
    assert target.users()["ann@contoso.com"]["phoneNumbers"] == [{"type": "mobile", "value": "+33 6 12 34 56 78"}]


def test_changing_an_unmapped_attribute_is_a_redundant_export(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    ann = add_people(tenant, 1)[0]
    h = harness(tenant, target)
    h.cycle()
    before = target.count()

    tenant.update_user(ann.id, usageLocation="FR")
    summary = h.cycle()

    record = h.record_for(summary, "user0@contoso.com")
    assert record["provisioningStatusInfo"]["status"] == "skipped"
    assert record["entrasim"]["reason"] == "RedundantExport"
    skip = record["provisioningSteps"][-1]
    assert skip["name"] == "EntrySynchronizationSkip" and skip["details"] == {"SkipReason": "RedundantExport"}
    assert not patches(target, before)


@pytest.mark.parametrize("cause", ["soft-delete", "unassign", "account-disabled", "scoping-filter"])
@pytest.mark.parametrize("dialect", ["default", "aadOptscim062020"])
def test_a_user_leaving_scope_is_disabled(scim_targets, harness, cause, dialect):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    ann, bob = (tenant.create_user(userPrincipalName=f"{n}@contoso.com", givenName=n, surname="X", department="Sales")
                for n in ("ann", "bob"))
    tenant.assign(ann.id)
    tenant.assign(bob.id)
    replace = {"    scopingFilters: []\n    # scopingFilters:": "    scopingFilters:\n      - clauses: [{attribute: department, operator: EQUALS, value: Sales}]\n    # scopingFilters:"}
    h = harness(tenant, target, dialect=dialect, replace=replace)
    h.cycle()
    before = target.count()

    if cause == "soft-delete":
        tenant.soft_delete_user(ann.id)
    elif cause == "unassign":
        tenant.unassign(ann.id)
    elif cause == "account-disabled":
        tenant.disable_user(ann.id)
    else:
        tenant.update_user(ann.id, department="Marketing")
    summary = h.cycle()

    (sent,) = patches(target, before)
    if dialect == "default":
        expected = [{"op": "Replace", "path": "active", "value": "False"}]
    else:
        expected = [{"op": "replace", "path": "active", "value": False}]
    if cause == "scoping-filter":  # the department change flows with the disable
        expected.append({"op": "Replace", "path": DEPARTMENT, "value": "Marketing"} if dialect == "default"
                        else {"op": "replace", "value": {DEPARTMENT: "Marketing"}})
    assert sent.operations == expected
    users = target.users()
    assert users["ann@contoso.com"]["active"] is False and users["bob@contoso.com"]["active"] is True
    record = h.record_for(summary, "ann@contoso.com")
    assert record["provisioningAction"] == "disable" and record["provisioningStatusInfo"]["status"] == "success"
    assert record["provisioningSteps"][-1]["name"] == "EntryExportUpdateSoftDelete"
    assert {"displayName": "active", "oldValue": "True", "newValue": "False"} in record["modifiedProperties"]


@pytest.mark.parametrize("dialect", ["default", "aadOptscim062020"])
def test_a_restored_user_is_enabled_again(scim_targets, harness, dialect):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    ann = tenant.create_user(userPrincipalName="ann@contoso.com", givenName="Ann", surname="Lee")
    tenant.assign(ann.id)
    h = harness(tenant, target, dialect=dialect)
    h.cycle()
    tenant.soft_delete_user(ann.id)
    h.cycle()
    assert target.users()["ann@contoso.com"]["active"] is False
    before = target.count()

    tenant.restore_user(ann.id)
    summary = h.cycle()

    (sent,) = patches(target, before)
    value = "True" if dialect == "default" else True
    op = "Replace" if dialect == "default" else "replace"
    assert sent.operations == [{"op": op, "path": "active", "value": value}]
    assert target.users()["ann@contoso.com"]["active"] is True
    assert h.record_for(summary, "ann@contoso.com")["provisioningAction"] == "update"


def test_a_purged_user_is_deleted(scim_targets, harness):
    target = scim_targets("scim2-server")
    tenant = new_tenant()
    ann, bob = add_people(tenant, 2, manager=False)
    h = harness(tenant, target, dialect="aadOptscim062020")
    h.cycle()
    ann_id = target.users()["user0@contoso.com"]["id"]
    tenant.soft_delete_user(ann.id)
    h.cycle()
    before = target.count()

    tenant.purge_user(ann.id)
    summary = h.cycle()

    deletes = [(s.method, s.path, s.status) for s in target.sent(before) if s.method == "DELETE"]
    assert deletes == [("DELETE", f"/Users/{ann_id}", 204)]
    assert set(target.users()) == {"user1@contoso.com"}
    record = h.record_for(summary, "user0@contoso.com")
    assert record["provisioningAction"] == "delete" and record["provisioningSteps"][-1]["name"] == "EntryExportDelete"
    assert h.state.link("User", ann.id) is None


def test_a_user_unassigned_then_purged_is_not_deleted(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    ann = tenant.create_user(userPrincipalName="ann@contoso.com", givenName="Ann", surname="Lee")
    tenant.assign(ann.id)
    h = harness(tenant, target)
    h.cycle()
    tenant.unassign(ann.id)
    h.cycle()
    before = target.count()

    tenant.soft_delete_user(ann.id)
    tenant.purge_user(ann.id)
    summary = h.cycle()

    assert not [s for s in target.sent(before) if s.method == "DELETE"]
    assert target.users()["ann@contoso.com"]["active"] is False
    assert h.record_for(summary, "ann@contoso.com")["entrasim"]["reason"] == "NotManaged"


def test_deletes_need_the_delete_action(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    ann = tenant.create_user(userPrincipalName="ann@contoso.com", givenName="Ann", surname="Lee")
    tenant.assign(ann.id)
    h = harness(tenant, target, replace={"  users:\n    enabled: true\n    actions: [Add, Update, Delete]":
                                         "  users:\n    enabled: true\n    actions: [Add, Update]"})
    h.cycle()
    tenant.soft_delete_user(ann.id)
    h.cycle()
    before = target.count()
    tenant.purge_user(ann.id)

    summary = h.cycle()

    assert not [s for s in target.sent(before) if s.method == "DELETE"]
    assert h.record_for(summary, "ann@contoso.com")["entrasim"]["reason"] == "TargetActionNotEnabled"


def test_skip_out_of_scope_deletions_keeps_the_user_active(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    ann = tenant.create_user(userPrincipalName="ann@contoso.com", givenName="Ann", surname="Lee")
    tenant.assign(ann.id)
    h = harness(tenant, target, settings={"skipOutOfScopeDeletions": "true"})
    h.cycle()
    before = target.count()

    tenant.unassign(ann.id)
    summary = h.cycle()

    assert not patches(target, before)
    assert target.users()["ann@contoso.com"]["active"] is True
    assert h.record_for(summary, "ann@contoso.com")["entrasim"]["reason"] == "SkipOutOfScopeDeletions"


@pytest.mark.parametrize("kind,profile,dialect", [("lms", "entra-tolerant", "default"), ("scim2-server", None, "aadOptscim062020")],
                         ids=["lms-default", "scim2-server-flag"])
def test_group_rename_and_deletion(scim_targets, harness, kind, profile, dialect):
    target = start(scim_targets, kind, profile)
    tenant = new_tenant()
    add_people(tenant, 1)
    group_id = next(iter(tenant.groups))
    h = harness(tenant, target, dialect=dialect)
    h.cycle()
    target_id = target.groups()["Learners"]["id"]
    before = target.count()

    tenant.rename_group(group_id, "Learners 2026")
    h.cycle()

    (sent,) = patches(target, before, "Groups")
    assert sent.path == f"/Groups/{target_id}"
    if dialect == "default":
        assert sent.operations == [{"op": "Replace", "path": "displayName", "value": "Learners 2026"}]
    else:
        assert sent.operations == [{"op": "replace", "value": {"displayName": "Learners 2026"}}]
    reads = [s for s in target.sent(before) if s.method == "GET" and s.path == f"/Groups/{target_id}"]
    assert reads and all(r.query == {"excludedAttributes": ["members"]} for r in reads)
    assert set(target.groups()) == {"Learners 2026"}
    before = target.count()

    tenant.delete_group(group_id)
    summary = h.cycle()

    assert [(s.method, s.path) for s in target.sent(before) if s.method == "DELETE"] == [("DELETE", f"/Groups/{target_id}")]
    assert target.groups() == {}
    assert h.record_for(summary, "Learners 2026")["provisioningAction"] == "delete"


@pytest.mark.parametrize("dialect", ["default", "aadOptscim062020"])
def test_memberships_are_sent_in_chunks(scim_targets, harness, dialect):
    target = scim_targets("lms", "entra-tolerant" if dialect == "default" else "rfc")
    tenant = new_tenant()
    people = add_people(tenant, 5, manager=False)
    group_id = next(iter(tenant.groups))
    h = harness(tenant, target, dialect=dialect, settings={"membersPerPatch": 2})
    h.cycle()
    ids = {u["userName"]: u["id"] for u in target.users().values()}
    adds = [s for s in target.sent() if s.method == "PATCH" and s.path.startswith("/Groups/")]
    assert [len(s.operations[0]["value"]) for s in adds] == [2, 2, 1]
    assert all(len(s.operations) == 1 and s.operations[0]["op"] == ("Add" if dialect == "default" else "add") for s in adds)
    assert target.member_ids("Learners") == set(ids.values())
    before = target.count()

    for person in people[:3]:
        tenant.remove_member(group_id, person.id)
    newcomer = tenant.create_user(userPrincipalName="new@contoso.com", givenName="New", surname="Comer")
    tenant.add_member(group_id, newcomer.id)
    summary = h.cycle()

    removed = [ids[f"user{i}@contoso.com"] for i in range(3)]
    sent = patches(target, before, "Groups")
    new_id = target.users()["new@contoso.com"]["id"]
    if dialect == "default":
        assert [s.operations for s in sent] == [
            [{"op": "Add", "path": "members", "value": [{"$ref": None, "value": new_id}]}],
            [{"op": "Remove", "path": "members", "value": [{"$ref": None, "value": removed[0]}, {"$ref": None, "value": removed[1]}]}],
            [{"op": "Remove", "path": "members", "value": [{"$ref": None, "value": removed[2]}]}],
        ]
    else:
        assert [s.operations for s in sent] == [
            [{"op": "add", "path": "members", "value": [{"value": new_id}]}],
            [{"op": "remove", "path": f'members[value eq "{removed[0]}"]'},
             {"op": "remove", "path": f'members[value eq "{removed[1]}"]'}],
            [{"op": "remove", "path": f'members[value eq "{removed[2]}"]'}],
        ]
    assert target.member_ids("Learners") == {ids["user3@contoso.com"], ids["user4@contoso.com"], new_id}
    members_record = [r for r in h.records(summary) if r["sourceIdentity"]["displayName"] == "Learners"
                      and r["modifiedProperties"]][-1]
    assert members_record["provisioningAction"] == "update"
    assert {p["displayName"] for p in members_record["modifiedProperties"]} == {"members"}


def test_manager_changes_and_removal(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    boss, ann, bob = add_people(tenant, 3)
    h = harness(tenant, target)
    h.cycle()
    ids = {u["userName"]: u["id"] for u in target.users().values()}
    before = target.count()

    tenant.set_manager(ann.id, bob.id)
    h.cycle()

    (sent,) = patches(target, before)
    assert sent.path == f"/Users/{ids['user1@contoso.com']}"
    assert sent.operations == [{"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": ids["user2@contoso.com"]}]
    assert target.users()["user1@contoso.com"][ENTERPRISE]["manager"]["value"] == ids["user2@contoso.com"]
    before = target.count()

    tenant.set_manager(ann.id, None)
    h.cycle()

    (sent,) = patches(target, before)
    assert sent.operations == [{"op": "Remove", "path": f'manager[value eq "{ids["user2@contoso.com"]}"]'}]
    assert "manager" not in target.users()["user1@contoso.com"].get(ENTERPRISE, {})


def test_mail_and_upn_changes_are_sent_as_replaces(scim_targets, harness):
    target = scim_targets("scim2-server")
    tenant = new_tenant()
    ann = add_people(tenant, 1)[0]
    h = harness(tenant, target)
    h.cycle()
    user_id = target.users()["user0@contoso.com"]["id"]
    before = target.count()

    tenant.change_upn(ann.id, "ann.lee@contoso.com")
    tenant.change_mail(ann.id, "ann.lee@contoso.com")
    h.cycle()

    (sent,) = patches(target, before)
    assert sent.path == f"/Users/{user_id}"
    assert sent.operations == [
        {"op": "Replace", "path": "userName", "value": "ann.lee@contoso.com"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "ann.lee@contoso.com"},
    ]
    user = target.users()["ann.lee@contoso.com"]
    assert user["id"] == user_id and user["emails"][0]["value"] == "ann.lee@contoso.com"
