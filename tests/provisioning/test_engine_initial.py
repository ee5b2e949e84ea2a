"""Initial cycles against real SCIM servers: what gets created, in which order, with which requests."""

from __future__ import annotations

import pytest

from .conftest import ENTERPRISE, add_people, new_tenant

TARGETS = [("lms", "entra-tolerant", "default"), ("lms", "rfc", "aadOptscim062020"),
           ("scim2-server", None, "aadOptscim062020")]


@pytest.mark.parametrize("kind,profile,dialect", TARGETS, ids=["lms-tolerant-default", "lms-rfc-flag", "scim2-server-flag"])
def test_initial_cycle_creates_users_groups_memberships_and_managers(scim_targets, harness, kind, profile, dialect):
    target = scim_targets(kind, profile) if profile else scim_targets(kind)
    tenant = new_tenant()
    boss, ann, bob = add_people(tenant, 3)
    h = harness(tenant, target, dialect=dialect)

    summary = h.cycle()

    assert summary.kind == "initial" and summary.state == "Succeeded", summary.as_dict()
    users = target.users()
    assert set(users) == {"user0@contoso.com", "user1@contoso.com", "user2@contoso.com"}
    ann_target = users["user1@contoso.com"]
    assert ann_target["active"] is True
    assert ann_target["name"]["givenName"] == "Given1" and ann_target["name"]["familyName"] == "Sur1"
    assert ann_target["emails"][0]["value"] == "user1@contoso.com"
    assert ann_target[ENTERPRISE]["department"] == "Sales"
    assert ann_target[ENTERPRISE]["manager"]["value"] == users["user0@contoso.com"]["id"]
    assert target.member_ids("Learners") == {u["id"] for u in users.values()}
    actions = sorted((r["provisioningAction"], r["provisioningStatusInfo"]["status"], r["sourceIdentity"]["identityType"])
                     for r in h.records(summary))
    assert actions == sorted([("create", "success", "User")] * 3 + [("create", "success", "Group")]
                             + [("update", "success", "Group")] + [("update", "success", "User")] * 2)


def test_initial_cycle_sends_entras_requests_in_order(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    boss, ann = add_people(tenant, 2)
    h = harness(tenant, target)

    h.cycle()

    sent = target.sent()
    shape = [(s.method, s.path.split("/")[1] if "/" in s.path[1:] else s.path) for s in sent]
    assert shape == [
        ("GET", "/Users"), ("GET", "/Groups"),                  # test-connection probe
        ("GET", "/Users"), ("POST", "/Users"),                  # user0: match, create
        ("GET", "/Users"), ("POST", "/Users"),                  # user1
        ("GET", "/Groups"), ("POST", "/Groups"),                # the group
        ("PATCH", "Groups"), ("PATCH", "Groups"),               # memberships, one member per PATCH
        ("PATCH", "Users"),                                     # user1's manager, after both exist
    ]
    probe_user, probe_group = sent[0], sent[1]
    assert probe_user.filter.startswith('userName eq "') and len(probe_user.filter) == len('userName eq ""') + 36
    assert probe_group.query["excludedAttributes"] == ["members"] and probe_group.filter.startswith('displayName eq "')
    assert sent[2].filter == 'userName eq "user0@contoso.com"'
    create_user = sent[3].body
    assert create_user["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]
    assert create_user["active"] is True and create_user["meta"] == {"resourceType": "User"}
    assert create_user["emails"] == [{"primary": True, "type": "work", "value": "user0@contoso.com"}]
    assert create_user["name"] == {"givenName": "Given0", "familyName": "Sur0", "formatted": "Given0 Sur0"}
    assert create_user[ENTERPRISE] == {"department": "Sales"}  # manager is never part of a create
    create_group = sent[7].body
    assert create_group == {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                            "displayName": "Learners", "externalId": tenant.groups[next(iter(tenant.groups))].id,
                            "members": [], "meta": {"resourceType": "Group"}}
    assert sent[6].query == {"excludedAttributes": ["members"], "filter": ['displayName eq "Learners"']}
    user_ids = {u["userName"]: u["id"] for u in target.users().values()}
    assert sent[8].operations == [{"op": "Add", "path": "members",
                                   "value": [{"$ref": None, "value": user_ids["user0@contoso.com"]}]}]
    assert sent[10].operations == [{"op": "Add", "path": f"{ENTERPRISE}:manager", "value": user_ids["user0@contoso.com"]}]


def test_rerunning_the_initial_cycle_is_all_redundant_exports(scim_targets, harness):
    target = scim_targets("scim2-server")
    tenant = new_tenant()
    add_people(tenant, 3)
    h = harness(tenant, target, dialect="aadOptscim062020")
    h.cycle()
    before = target.count()

    again = h.cycle("initial")

    assert again.kind == "initial" and again.state == "Succeeded"
    records = h.records(again)
    assert {r["provisioningStatusInfo"]["status"] for r in records} == {"skipped"}
    assert {r["entrasim"]["reason"] for r in records} == {"RedundantExport"}
    assert len(records) == 4  # three users and the group, each read back by id and found equal
    methods = [s.method for s in target.sent(before)]
    assert "POST" not in methods and "PATCH" not in methods
    reads = [s.path for s in target.sent(before) if s.method == "GET" and s.filter is None]
    assert len(reads) == 4


def test_an_incremental_cycle_without_changes_sends_only_the_probe(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    add_people(tenant, 2)
    h = harness(tenant, target)
    h.cycle()
    before = target.count()

    summary = h.cycle()

    assert summary.kind == "incremental" and summary.processed == 0 and summary.state == "Succeeded"
    assert [(s.method, s.path) for s in target.sent(before)] == [("GET", "/Users"), ("GET", "/Groups")]


def test_unassigned_users_are_not_provisioned_and_disabled_ones_are_skipped(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    assigned = tenant.create_user(userPrincipalName="in@contoso.com", givenName="In", surname="Scope")
    tenant.create_user(userPrincipalName="out@contoso.com", givenName="Not", surname="Assigned")
    disabled = tenant.create_user(userPrincipalName="off@contoso.com", givenName="Dis", surname="Abled", accountEnabled=False)
    tenant.assign(assigned.id)
    tenant.assign(disabled.id)
    h = harness(tenant, target)

    summary = h.cycle()

    assert set(target.users()) == {"in@contoso.com"}
    skipped = h.record_for(summary, "off@contoso.com")
    assert skipped["provisioningStatusInfo"]["status"] == "skipped"
    assert skipped["entrasim"]["reason"] == "NotEffectivelyEntitled"
    assert all(r["sourceIdentity"]["displayName"] != "out@contoso.com" for r in h.records(summary))


def test_email_keyed_preset_into_the_email_keyed_lms(scim_targets, harness):
    target = scim_targets("lms", "email-keyed")
    tenant = new_tenant()
    user = tenant.create_user(userPrincipalName="lea@contoso.com", givenName="Léa", surname="Martin",
                              mail="lea.martin@contoso.com", preferredLanguage="fr-FR", companyName="Contoso")
    tenant.assign(user.id)
    h = harness(tenant, target, preset="email-keyed")

    summary = h.cycle()

    assert summary.state == "Succeeded", [r.as_dict()["provisioningStatusInfo"] for r in h.log.records]
    created = target.users()["lea@contoso.com"]
    assert created["preferredLanguage"] == "fr"
    assert created["emails"][0]["value"] == "lea.martin@contoso.com"
    assert created[ENTERPRISE]["organization"] == "Contoso"
    assert "displayName" not in created
