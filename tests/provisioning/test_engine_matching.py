"""Matching: the first matching attribute that finds an object links it; several matches are a failure."""

from __future__ import annotations

from .conftest import add_people, new_tenant

EMAIL_ROW = "{target: 'emails[type eq \"work\"].value', source: mail}"
USERNAME_ROW = "{target: userName, source: userPrincipalName, matchingPriority: 1}"


def test_matching_attributes_are_tried_in_precedence_order(scim_targets, harness):
    target = scim_targets("scim2-server")
    existing = target.session.post(f"{target.base}/Users", json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann.legacy",
        "emails": [{"type": "work", "value": "ann@contoso.com"}]}).json()
    tenant = new_tenant()
    ann = tenant.create_user(userPrincipalName="ann@contoso.com", givenName="Ann", surname="Lee", mail="ann@contoso.com")
    tenant.assign(ann.id)
    h = harness(tenant, target, dialect="aadOptscim062020", replace={EMAIL_ROW: EMAIL_ROW[:-1] + ", matchingPriority: 2}"})
    before = target.count()

    summary = h.cycle()

    sent = [s for s in target.sent(before) if s.path.startswith("/Users")][1:]  # after the probe
    assert [(s.method, s.filter) for s in sent[:2]] == [
        ("GET", 'userName eq "ann@contoso.com"'), ("GET", 'emails[type eq "work"].value eq "ann@contoso.com"')]
    assert [s.method for s in sent[2:]] == ["PATCH"]
    assert {"op": "add", "path": "userName", "value": "ann@contoso.com"} not in sent[2].operations
    assert sent[2].operations[-1]["value"]["userName"] == "ann@contoso.com"
    users = target.users()
    assert list(users) == ["ann@contoso.com"] and users["ann@contoso.com"]["id"] == existing["id"]
    record = h.record_for(summary, "ann@contoso.com")
    assert record["provisioningAction"] == "update"
    matching = [s for s in record["provisioningSteps"] if s["provisioningStepType"] == "matching"][0]
    assert matching["details"]["MatchingAttribute"] == 'emails[type eq "work"].value'
    assert h.state.link("User", ann.id).target_id == existing["id"]


def test_several_matches_are_duplicate_target_entries(scim_targets, harness):
    target = scim_targets("scim2-server")
    for name in ("one", "two"):
        target.session.post(f"{target.base}/Users", json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
            "emails": [{"type": "work", "value": "shared@contoso.com"}]})
    tenant = new_tenant()
    ann = tenant.create_user(userPrincipalName="ann@contoso.com", givenName="Ann", surname="Lee", mail="shared@contoso.com")
    tenant.assign(ann.id)
    h = harness(tenant, target, replace={EMAIL_ROW: EMAIL_ROW[:-1] + ", matchingPriority: 2}"})
    before = target.count()

    summary = h.cycle()

    record = h.record_for(summary, "ann@contoso.com")
    assert record["provisioningStatusInfo"]["status"] == "failure"
    assert record["provisioningStatusInfo"]["errorInformation"]["errorCode"] == "DuplicateTargetEntries"
    assert not [s for s in target.sent(before) if s.method in ("POST", "PATCH")]
    assert set(target.users()) == {"one", "two"}
    assert h.state.escrow("User", ann.id).code == "DuplicateTargetEntries"


def test_an_existing_group_is_matched_by_display_name(scim_targets, harness):
    target = scim_targets("scim2-server")
    existing = target.session.post(f"{target.base}/Groups", json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Learners"}).json()
    tenant = new_tenant()
    add_people(tenant, 1)
    h = harness(tenant, target, dialect="aadOptscim062020")
    before = target.count()

    h.cycle()

    group_requests = [s for s in target.sent(before) if s.path.startswith("/Groups")]
    assert "POST" not in [s.method for s in group_requests]
    groups = target.groups()
    assert list(groups) == ["Learners"] and groups["Learners"]["id"] == existing["id"]
    assert groups["Learners"]["externalId"] == next(iter(h.tenant.groups))
    assert len(groups["Learners"]["members"]) == 1


def test_a_server_refusing_the_matching_filter_is_a_logged_failure(scim_targets, harness):
    target = scim_targets("lms", "rfc")  # RFC 7644's filter grammar has no sub-attribute after a value path
    tenant = new_tenant()
    ann = tenant.create_user(userPrincipalName="ann@contoso.com", givenName="Ann", surname="Lee", mail="ann@contoso.com")
    tenant.assign(ann.id)
    h = harness(tenant, target, replace={EMAIL_ROW: EMAIL_ROW[:-1] + ", matchingPriority: 2}"})

    summary = h.cycle()

    record = h.record_for(summary, "ann@contoso.com")
    error = record["provisioningStatusInfo"]["errorInformation"]
    assert error["errorCode"] == "SystemForCrossDomainIdentityManagementServiceIncompatible"
    assert error["reason"].startswith("Failed to query User 'ann@contoso.com' in customappsso")
    assert [r["status"] for r in record["entrasim"]["requests"]] == [200, 400]
    assert target.users() == {}


def test_a_user_without_any_matching_value_is_skipped(scim_targets, harness):
    target = scim_targets("scim2-server")
    tenant = new_tenant()
    ann = tenant.create_user(userPrincipalName="ann@contoso.com", givenName="Ann", surname="Lee")  # no mail
    tenant.assign(ann.id)
    h = harness(tenant, target, replace={USERNAME_ROW: "{target: userName, source: userPrincipalName}",
                                         EMAIL_ROW: EMAIL_ROW[:-1] + ", matchingPriority: 1}"})

    summary = h.cycle()

    record = h.record_for(summary, "ann@contoso.com")
    assert record["provisioningStatusInfo"]["status"] == "skipped"
    assert record["entrasim"]["reason"] == "ImportSkipped"
    assert target.users() == {}


def test_matching_filter_values_are_escaped(scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    tenant.create_group(displayName='The "A" team')
    group_id = next(iter(tenant.groups))
    tenant.assign(group_id)
    h = harness(tenant, target)
    before = target.count()

    h.cycle()

    finds = [s.filter for s in target.sent(before) if s.path == "/Groups" and s.method == "GET"]
    assert finds[-1] == 'displayName eq "The \\"A\\" team"'
    assert list(target.groups()) == ['The "A" team']
