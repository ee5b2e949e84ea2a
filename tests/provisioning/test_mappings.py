"""Attribute mappings: what one tenant user or group becomes in the target, as the presets map it."""

from __future__ import annotations

import pytest

from simulator.clock import Clock
from simulator.provisioning.attributes import SourceObject, app_role_assignments, external_address
from simulator.provisioning.expressions import ExpressionEvaluationError
from simulator.provisioning.job import load_job, preset_path
from simulator.provisioning.mappings import (MappingErrors, SourceReference, TargetPath, build_attribute_mapping,
                                             build_object_mapping)
from simulator.provisioning.scoping import ScopePolicy
from simulator.tenant import Tenant

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture
def tenant() -> Tenant:
    tenant = Tenant(seed=3, clock=Clock.frozen_at("2026-01-15T09:00:00Z"))
    boss = tenant.create_user(userPrincipalName="boss@contoso.com", givenName="Bea", surname="Boss")
    tenant.create_user(
        userPrincipalName="ann.lee@contoso.com", givenName="Ann", surname="Lee", mail="ann.lee@contoso.com",
        jobTitle="Trainer", department="Learning", companyName="Contoso Ltd", employeeId="E-17", preferredLanguage="fr-FR",
        country="FR", mailNickname="ann.lee", mobilePhone="+33 6 00 00 00 00", businessPhones=["+33 1 00 00 00 00"],
        officeLocation="Paris 2", managerId=boss.id)
    tenant.create_user(userPrincipalName="bob@contoso.com", givenName="Bob", surname="Stone")
    return tenant


@pytest.fixture(scope="module")
def customappsso():
    return load_job(preset_path("customappsso"))


@pytest.fixture(scope="module")
def email_keyed():
    return load_job(preset_path("email-keyed"))


def ann_source(tenant: Tenant, job, *, assign: bool = True) -> SourceObject:
    ann = tenant.get_user("ann.lee@contoso.com")
    if assign:
        tenant.assign(ann.id)
    return job.scope_policy.tenant_user_source(tenant, ann)


def test_customappsso_maps_a_user_like_entras_template(tenant, customappsso):
    source = ann_source(tenant, customappsso)
    values = customappsso.users.target_values(source, creating=True)
    boss = tenant.get_user("boss@contoso.com")
    assert dict(values) == {
        "userName": "ann.lee@contoso.com",
        "active": "True",
        "displayName": "Ann Lee",
        "title": "Trainer",
        'emails[type eq "work"].value': "ann.lee@contoso.com",
        "preferredLanguage": "fr-FR",
        "name.givenName": "Ann",
        "name.familyName": "Lee",
        "name.formatted": "Ann Lee",
        'addresses[type eq "work"].formatted': "Paris 2",
        'addresses[type eq "work"].country': "FR",
        'phoneNumbers[type eq "work"].value': "+33 1 00 00 00 00",
        'phoneNumbers[type eq "mobile"].value': "+33 6 00 00 00 00",
        "externalId": "ann.lee",
        f"{ENTERPRISE}:employeeNumber": "E-17",
        f"{ENTERPRISE}:department": "Learning",
        f"{ENTERPRISE}:manager": SourceReference((boss.id,)),
    }
    # attributes the user has no value for are not provisioned, and the caller sees why
    assert values.skipped == {
        'addresses[type eq "work"].streetAddress': "null", 'addresses[type eq "work"].locality': "null",
        'addresses[type eq "work"].region': "null", 'addresses[type eq "work"].postalCode': "null",
        'phoneNumbers[type eq "fax"].value': "null",
    }


def test_email_keyed_preset_maps_the_360learning_attributes(tenant, email_keyed):
    source = ann_source(tenant, email_keyed)
    values = email_keyed.users.target_values(source, creating=True)
    assert values["preferredLanguage"] == "fr"  # Mid([preferredLanguage], 1, 2): 1-based
    assert values[f"{ENTERPRISE}:organization"] == "Contoso Ltd"
    assert values["active"] == "True"
    assert "displayName" not in values and "name.formatted" not in values
    assert isinstance(values[f"{ENTERPRISE}:manager"], SourceReference)


def test_a_user_without_preferred_language_sends_none(tenant, email_keyed):
    bob = tenant.get_user("bob@contoso.com")
    tenant.assign(bob.id)
    values = email_keyed.users.target_values(email_keyed.scope_policy.tenant_user_source(tenant, bob), creating=True)
    assert "preferredLanguage" not in values
    assert values.skipped["preferredLanguage"] == "null"
    assert values.skipped[f"{ENTERPRISE}:manager"] == "null"


@pytest.mark.parametrize("change, active", [
    ("assigned", "True"),
    ("unassigned", "False"),
    ("disabled", "False"),
    ("soft-deleted", "False"),
])
def test_active_follows_is_soft_deleted(tenant, customappsso, change, active):
    """IsSoftDeleted: unassigned, out of scope, soft-deleted or accountEnabled false; active is its Switch."""
    ann = tenant.get_user("ann.lee@contoso.com")
    if change != "unassigned":
        tenant.assign(ann.id)
    if change == "disabled":
        tenant.disable_user(ann.id)
    if change == "soft-deleted":
        tenant.soft_delete_user(ann.id)
    source = customappsso.scope_policy.tenant_user_source(tenant, ann)
    assert source.get("IsSoftDeleted") is (active == "False")
    assert customappsso.users.target_values(source, creating=False)["active"] == active


def test_user_in_an_assigned_group_is_in_scope(tenant, customappsso):
    ann = tenant.get_user("ann.lee@contoso.com")
    group = tenant.create_group(displayName="Learners", members=[ann.id])
    tenant.assign(group.id)
    source = customappsso.scope_policy.tenant_user_source(tenant, ann)
    assert customappsso.users.target_values(source, creating=True)["active"] == "True"


def test_sync_all_scope_needs_no_assignment(tenant, customappsso):
    ann = tenant.get_user("ann.lee@contoso.com")
    policy = ScopePolicy("all", customappsso.users.scoping, customappsso.groups.scoping)
    assert policy.tenant_user_source(tenant, ann).get("IsSoftDeleted") is False


def test_b2b_guest_upn_is_sent_as_the_guests_own_address(tenant, customappsso):
    guest = tenant.create_user(userPrincipalName="kim_fabrikam.com#EXT#@contoso.onmicrosoft.com", mail="kim@fabrikam.com")
    tenant.assign(guest.id)
    source = customappsso.scope_policy.tenant_user_source(tenant, guest)
    assert customappsso.users.target_values(source, creating=True)["userName"] == "kim@fabrikam.com"
    assert source.get("originalUserPrincipalName") == "kim_fabrikam.com#EXT#@contoso.onmicrosoft.com"


@pytest.mark.parametrize("upn, address", [
    ("kim_fabrikam.com#EXT#@contoso.onmicrosoft.com", "kim@fabrikam.com"),
    ("first_last_fabrikam.co.uk#EXT#@contoso.onmicrosoft.com", "first_last@fabrikam.co.uk"),
    ("ann@contoso.com", "ann@contoso.com"),
])
def test_external_address(upn, address):
    assert external_address(upn) == address


def test_groups_map_display_name_object_id_and_members(tenant, customappsso):
    ann, bob = tenant.get_user("ann.lee@contoso.com"), tenant.get_user("bob@contoso.com")
    group = tenant.create_group(displayName="Learners", members=[ann.id, bob.id])
    values = customappsso.groups.target_values(SourceObject.for_group(group), creating=True)
    assert dict(values) == {"displayName": "Learners", "externalId": group.id,
                            "members": SourceReference((ann.id, bob.id), multi_valued=True)}
    empty = tenant.create_group(displayName="Empty")
    assert "members" not in customappsso.groups.target_values(SourceObject.for_group(empty), creating=True)


def test_matching_attributes_in_precedence_order(tenant):
    users = build_object_mapping("users", {"attributes": [
        {"target": "externalId", "source": "objectId", "matchingPriority": 2},
        {"target": 'emails[type eq "work"].value', "source": "mail", "matchingPriority": 3},
        {"target": "userName", "source": "userPrincipalName", "matchingPriority": 1},
    ]})
    assert [m.target.text for m in users.matching] == ["userName", "externalId", 'emails[type eq "work"].value']
    bob = tenant.get_user("bob@contoso.com")
    matched = users.matching_values(SourceObject.for_user(bob))
    assert [(m.target.text, v) for m, v in matched] == [("userName", "bob@contoso.com"), ("externalId", bob.id)]


def test_no_matching_value_means_the_object_is_skipped(tenant):
    users = build_object_mapping("users", {"attributes": [{"target": 'emails[type eq "work"].value', "source": "mail",
                                                           "matchingPriority": 1}]})
    assert users.matching_values(SourceObject.for_user(tenant.get_user("bob@contoso.com"))) == []


def test_default_value_is_used_only_on_create(tenant):
    users = build_object_mapping("users", {"attributes": [
        {"target": "userName", "source": "userPrincipalName", "matchingPriority": 1},
        {"target": "title", "source": "jobTitle", "default": "Learner"},
        {"target": "nickName", "default": "newbie"},
    ]})
    bob = SourceObject.for_user(tenant.get_user("bob@contoso.com"))
    created = users.target_values(bob, creating=True)
    assert created["title"] == "Learner" and created["nickName"] == "newbie"
    updated = users.target_values(bob, creating=False)
    assert "title" not in updated and updated.skipped["title"] == "null"
    assert "nickName" not in updated and updated.skipped["nickName"] == "noneMapping"


def test_only_during_object_creation_mappings_flow_on_create(tenant):
    users = build_object_mapping("users", {"attributes": [
        {"target": "userName", "source": "userPrincipalName", "matchingPriority": 1},
        {"target": "password", "expression": "RandomString(12, 2, 2, 2, 2)", "apply": "onCreate"},
        {"target": "nickName", "constant": "learner"},
    ]})
    bob = SourceObject.for_user(tenant.get_user("bob@contoso.com"))
    assert len(users.target_values(bob, creating=True)["password"]) == 12
    updated = users.target_values(bob, creating=False)
    assert "password" not in updated and updated.skipped["password"] == "createOnly"
    assert updated["nickName"] == "learner"


def test_redacted_values_flow_but_are_hidden_from_logs(tenant):
    users = build_object_mapping("users", {"attributes": [
        {"target": "userName", "expression": "Redact([userPrincipalName])", "matchingPriority": 1}]})
    values = users.target_values(SourceObject.for_user(tenant.get_user("bob@contoso.com")), creating=True)
    assert values["userName"] == "bob@contoso.com"
    assert values.redacted == {"userName"} and values.log_value("userName") == "[Redact]"


def test_ignore_flow_is_reported_as_ignored(tenant):
    users = build_object_mapping("users", {"attributes": [
        {"target": "userName", "source": "userPrincipalName", "matchingPriority": 1},
        {"target": f"{ENTERPRISE}:department", "expression": "IgnoreFlowIfNullOrEmpty([department])"}]})
    values = users.target_values(SourceObject.for_user(tenant.get_user("bob@contoso.com")), creating=True)
    assert values.skipped[f"{ENTERPRISE}:department"] == "ignored"


def test_a_failing_expression_fails_the_object(tenant):
    users = build_object_mapping("users", {"attributes": [
        {"target": "userName", "source": "userPrincipalName", "matchingPriority": 1},
        {"target": "title", "expression": 'IIF([jobTitle] = "Trainer", "T", "L")'}]})
    with pytest.raises(ExpressionEvaluationError, match=r"IIF: the condition reads \[jobTitle\], which is null or empty"):
        users.target_values(SourceObject.for_user(tenant.get_user("bob@contoso.com")), creating=True)


def test_app_roles_from_direct_and_group_assignments(tenant):
    ann = tenant.get_user("ann.lee@contoso.com")
    group = tenant.create_group(displayName="Admins", members=[ann.id])
    tenant.assign(ann.id, app_role="Learner")
    tenant.assign(group.id, app_role="Admin")
    roles = app_role_assignments(tenant, ann.id)
    assert [r["value"] for r in roles] == ["Learner", "Admin"]
    users = build_object_mapping("users", {"attributes": [
        {"target": "userName", "source": "userPrincipalName", "matchingPriority": 1},
        {"target": 'roles[primary eq "True"].value', "expression": "SingleAppRoleAssignment([appRoleAssignments])"},
        {"target": "roles", "expression": "AppRoleAssignmentsComplex([appRoleAssignments])"}]})
    values = users.target_values(SourceObject.for_user(ann, app_role_assignments=roles), creating=True)
    assert values['roles[primary eq "True"].value'] == "Learner"
    assert [r["value"] for r in values["roles"]] == ["Learner", "Admin"]


def test_source_attributes_lists_what_a_source_must_read(customappsso):
    names = customappsso.users.source_attributes
    assert {"userPrincipalName", "IsSoftDeleted", "givenName", "surname", "manager", "mailNickname"} <= names
    assert customappsso.groups.source_attributes == {"displayName", "objectId", "members"}


# ------------------------------------------------------------------ target paths

VALID_PATHS = [
    ("userName", ("userName", None, None, None, None)),
    ("name.givenName", ("name", None, None, None, "givenName")),
    ('emails[type eq "work"].value', ("emails", None, "type", "work", "value")),
    ('roles[primary eq "True"].value', ("roles", None, "primary", "True", "value")),
    ('phoneNumbers[type EQ "mobile"].value', ("phoneNumbers", None, "type", "mobile", "value")),
    (f"{ENTERPRISE}:manager", ("manager", ENTERPRISE, None, None, None)),
    ("urn:ietf:params:scim:schemas:extension:360learning:2.0:User:hireDate",
     ("hireDate", "urn:ietf:params:scim:schemas:extension:360learning:2.0:User", None, None, None)),
]


@pytest.mark.parametrize("text, parts", VALID_PATHS, ids=[p[0] for p in VALID_PATHS])
def test_target_paths(text, parts):
    path = TargetPath.parse(text)
    assert (path.attribute, path.urn, path.filter_attribute, path.filter_value, path.sub_attribute) == parts
    assert str(path) == text


INVALID_PATHS = [
    ("", "a target attribute path such as userName"),
    ("name..givenName", "unexpected text at column 5"),
    ("emails[type eq work].value", "the value filter at column 8 must be of the form [attribute eq \"value\"]"),
    ('emails[type ne "work"].value', "must be of the form"),
    ("name givenName", "unexpected text at column 5"),
    (ENTERPRISE, "names a schema, not an attribute"),
    (" userName", "leading or trailing spaces"),
]


@pytest.mark.parametrize("text, message", INVALID_PATHS, ids=[p[0] or "empty" for p in INVALID_PATHS])
def test_invalid_target_paths(text, message):
    with pytest.raises(ValueError, match=None) as caught:
        TargetPath.parse(text)
    assert message in str(caught.value)


# ------------------------------------------------------------------ mappings Entra would refuse

INVALID_MAPPINGS = [
    ({"target": "userName", "source": "mail", "expression": "[mail]"}, "give one of source, expression or constant, not source and expression", ("expression",)),
    ({"target": "userName"}, "needs a source, an expression, a constant or at least a default value", ()),
    ({"target": "userName", "source": "mial"}, "unknown user source attribute 'mial' (did you mean 'mail'?)", ("source",)),
    ({"target": "userName", "source": "Mail"}, "did you mean 'mail'?", ("source",)),
    ({"target": "userName", "expression": "ToLower([mial])"}, "unknown user source attribute [mial] at column 9", ("expression",)),
    ({"target": "userName", "expression": "Mid([mail], 1"}, "expected ',' or ')' at column 14", ("expression",)),
    ({"target": "m", "expression": 'Switch([manager], "a", "b", "c")'}, "[manager] is a reference attribute", ("expression",)),
    ({"target": "userName", "expression": 'SelectUniqueValue([mail], [userPrincipalName])'},
     "SelectUniqueValue is supported only for provisioning to Active Directory", ("expression",)),
    ({"target": "userName", "constant": "x", "matchingPriority": 1}, "a matching attribute needs a source attribute or an expression",
     ("matchingPriority",)),
    ({"target": "emails", "source": "otherMails", "matchingPriority": 1}, "'otherMails' cannot be a matching attribute",
     ("matchingPriority",)),
    ({"target": "name.", "source": "mail"}, "is not a target attribute path", ("target",)),
]


@pytest.mark.parametrize("entry, message, path", INVALID_MAPPINGS, ids=[str(e[0]) for e in INVALID_MAPPINGS])
def test_mappings_entra_would_refuse(entry, message, path):
    from simulator.provisioning.mappings import MappingError

    with pytest.raises(MappingError) as caught:
        build_attribute_mapping("User", entry)
    assert message in str(caught.value)
    assert caught.value.path == path


def test_extension_attributes_are_known_source_attributes():
    mapping = build_attribute_mapping("User", {"target": "costCenter", "source": "extension_0123456789abcdef0123456789abcdef_costCenter"})
    assert mapping.kind == "Direct"
    assert build_attribute_mapping("User", {"target": "x", "expression": "ToUpper([extensionAttribute15])"}).kind == "Expression"
    with pytest.raises(ValueError, match="unknown user source attribute 'extensionAttribute16'"):
        build_attribute_mapping("User", {"target": "x", "source": "extensionAttribute16"})


def test_group_mappings_read_group_attributes_only():
    with pytest.raises(ValueError, match="unknown group source attribute 'surname'"):
        build_attribute_mapping("Group", {"target": "displayName", "source": "surname"})


def test_object_mapping_reports_every_problem_at_once():
    with pytest.raises(MappingErrors) as caught:
        build_object_mapping("users", {"enabled": False, "attributes": [
            {"target": "userName", "source": "userPrincipalName", "matchingPriority": 1},
            {"target": "userName", "source": "mail"},
            {"target": "externalId", "source": "objectId", "matchingPriority": 1},
            {"target": "title", "source": "jobTitel"},
        ]})
    found = [(e.path, e.message) for e in caught.value.errors]
    assert found == [
        (("enabled",), "the users mapping cannot be disabled (Entra allows disabling the groups mapping only)"),
        (("attributes", 1, "target"), "target 'userName' is already mapped by attributes[0]"),
        (("attributes", 2, "matchingPriority"), "matching precedence 1 is already used by attributes[0]"),
        (("attributes", 3, "source"), "unknown user source attribute 'jobTitel' (did you mean 'jobTitle'?)"),
    ]


def test_an_enabled_mapping_needs_a_matching_attribute():
    with pytest.raises(MappingErrors, match="needs at least one matching attribute"):
        build_object_mapping("groups", {"attributes": [{"target": "displayName", "source": "displayName"}]})
    disabled = build_object_mapping("groups", {"enabled": False, "attributes": [{"target": "displayName", "source": "displayName"}]})
    assert not disabled.allows("Add")
