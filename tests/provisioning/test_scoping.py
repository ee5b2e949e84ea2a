"""Scoping filters as Entra documents them: clause operators, null handling, AND inside a filter, OR across filters."""

from __future__ import annotations

import pytest

from simulator.clock import Clock
from simulator.provisioning.attributes import SourceObject
from simulator.provisioning.scoping import (ScopePolicy, ScopingClause, ScopingError, ScopingFilter, ScopingFilters,
                                            canonical_operator)
from simulator.tenant import Tenant
from simulator.tenant.model import Group, User


def user(**attrs) -> SourceObject:
    return SourceObject.for_user(User(id="u-1", userPrincipalName=attrs.pop("upn", "ann@contoso.com"),
                                      displayName=attrs.pop("displayName", "Ann"), **attrs))


# (attribute, operator, clause value, user attributes, expected)
CLAUSES = [
    ("department", "EQUALS", "Sales", {"department": "Sales"}, True),
    ("department", "EQUALS", "sales", {"department": "Sales"}, False),  # case-sensitive
    ("department", "NOT EQUALS", "Sales", {"department": "HR"}, True),
    ("department", "NOT EQUALS", "Sales", {"department": "Sales"}, False),
    ("department", "NOT EQUALS", "Sales", {}, False),  # null: false, even for NOT EQUALS
    ("jobTitle", "Includes", "Manager", {"jobTitle": "Sales Manager"}, True),
    ("jobTitle", "Includes", "manager", {"jobTitle": "Sales Manager"}, False),
    ("department", "&", "Sales,Marketing", {"department": "Sales"}, True),
    ("department", "&", "Sales,Marketing", {"department": "HR"}, False),
    ("department", "!&", "Sales,Marketing", {"department": "HR"}, True),
    ("department", "!&", "Sales,Marketing", {"department": "Marketing"}, False),
    ("mail", "ENDS_WITH", "@contoso.com", {"mail": "ann@contoso.com"}, True),
    ("mail", "ENDS_WITH", "@contoso.com", {"mail": "ann@fabrikam.com"}, False),
    ("employeeId", "Greater_Than", "1000000", {"employeeId": "1500000"}, True),
    ("employeeId", "Greater_Than", "1500000", {"employeeId": "1500000"}, False),
    ("employeeId", "Greater_Than_OR_EQUALS", "1500000", {"employeeId": "1500000"}, True),
    ("employeeId", "Greater_Than", "10", {"employeeId": "E-17"}, False),  # not an integer: false
    ("accountEnabled", "IS TRUE", None, {"accountEnabled": True}, True),
    ("accountEnabled", "IS TRUE", None, {"accountEnabled": False}, False),
    ("accountEnabled", "IS FALSE", None, {"accountEnabled": False}, True),
    ("department", "IS TRUE", None, {"department": "true"}, True),
    ("jobTitle", "IS NULL", None, {}, True),
    ("jobTitle", "IS NULL", None, {"jobTitle": ""}, True),
    ("jobTitle", "IS NULL", None, {"jobTitle": "Trainer"}, False),
    ("jobTitle", "IS NOT NULL", None, {"jobTitle": "Trainer"}, True),
    ("jobTitle", "IS NOT NULL", None, {}, False),
    ("userPrincipalName", "REGEX MATCH", r".*\@contoso.com", {"upn": "ann@contoso.com"}, True),
    ("userPrincipalName", "REGEX MATCH", r".*\@contoso.com", {"upn": "ann@fabrikam.com"}, False),
    ("userPrincipalName", "NOT REGEX MATCH", r".*\@contoso.com", {"upn": "ann@fabrikam.com"}, True),
    ("employeeId", "REGEX MATCH", "(1[0-9][0-9][0-9][0-9][0-9][0-9])", {"employeeId": "1234567"}, True),
    ("employeeId", "REGEX MATCH", "^(?<digits>\\d+)$", {"employeeId": "17"}, True),  # .NET named groups
    ("department", "NOT REGEX MATCH", "Sales", {}, False),  # null: false
    ("department", "REGEX MATCH", "Sales", {"department": "Inside Sales"}, True),  # IsMatch: anywhere
    ("department", "EQUALS", "Sales", {}, False),
    ("department", "Includes", "S", {"department": ""}, False),
    ("physicalDeliveryOfficeName", "EQUALS", "Paris", {"officeLocation": "Paris"}, True),
]


@pytest.mark.parametrize("attribute, operator, value, attrs, expected", CLAUSES,
                         ids=[f"{c[0]} {c[1]} {c[2]} {c[3]}" for c in CLAUSES])
def test_clause_operators(attribute, operator, value, attrs, expected):
    clause = ScopingClause.build("User", attribute, operator, value)
    assert clause.matches(user(**attrs)) is expected


def test_clauses_in_a_filter_are_anded_and_filters_ored():
    sales_in_paris = ScopingFilter("Paris sales", (
        ScopingClause.build("User", "department", "EQUALS", "Sales"),
        ScopingClause.build("User", "physicalDeliveryOfficeName", "EQUALS", "Paris")))
    trainers = ScopingFilter("Trainers", (ScopingClause.build("User", "jobTitle", "EQUALS", "Trainer"),))
    filters = ScopingFilters((sales_in_paris, trainers))
    assert filters.matches(user(department="Sales", officeLocation="Paris"))
    assert not filters.matches(user(department="Sales", officeLocation="Lyon"))
    assert filters.matches(user(department="HR", jobTitle="Trainer"))
    assert not filters.matches(user(department="HR"))


def test_no_filter_lets_everyone_through():
    assert ScopingFilters().matches(user())
    assert not ScopingFilters()


@pytest.mark.parametrize("written, canonical", [
    ("equals", "EQUALS"), ("not equals", "NOT EQUALS"), ("is_true", "IS TRUE"), ("IS  NOT  NULL", "IS NOT NULL"),
    ("greater_than", "Greater_Than"), ("GREATER THAN OR EQUALS", "Greater_Than_OR_EQUALS"), ("includes", "Includes"),
    ("ends_with", "ENDS_WITH"), ("regex match", "REGEX MATCH"), ("&", "&"), ("!&", "!&"), ("contains", None),
])
def test_operator_names_are_read_in_any_case(written, canonical):
    assert canonical_operator(written) == canonical


# (attribute, operator, value, field at fault, message)
INVALID_CLAUSES = [
    ("departmnet", "EQUALS", "Sales", "attribute", "unknown user attribute 'departmnet' (did you mean 'department'?)"),
    ("manager", "IS NULL", None, "attribute", "Entra does not support scoping filters on 'manager'"),
    ("userType", "EQUALS", "Guest", "attribute", "Entra does not support scoping filters on 'userType'"),
    ("otherMails", "Includes", "x", "attribute", "Entra does not support scoping filters on 'otherMails'"),
    ("appRoleAssignments", "IS NOT NULL", None, "attribute", "not support scoping filters on 'appRoleAssignments'"),
    ("department", "CONTAINS", "x", "operator", "unknown operator 'CONTAINS'; Entra's operators are: EQUALS, NOT EQUALS"),
    ("department", "IS NULL", "x", "value", "'IS NULL' takes no value"),
    ("department", "EQUALS", None, "value", "'EQUALS' needs a value"),
    ("employeeId", "Greater_Than", "ten", "value", "'Greater_Than' compares whole numbers; 'ten' is not one"),
    ("department", "REGEX MATCH", "([a-z]", "value", "invalid regular expression '([a-z]'"),
]


@pytest.mark.parametrize("attribute, operator, value, field, message", INVALID_CLAUSES, ids=[c[4][:50] for c in INVALID_CLAUSES])
def test_clauses_entra_would_refuse(attribute, operator, value, field, message):
    with pytest.raises(ScopingError) as caught:
        ScopingClause.build("User", attribute, operator, value)
    assert message in str(caught.value)
    assert caught.value.field == field


def test_group_filters_read_group_attributes_and_refuse_members():
    clause = ScopingClause.build("Group", "displayName", "ENDS_WITH", "-LMS")
    assert clause.matches(SourceObject.for_group(Group(id="g-1", displayName="Sales-LMS")))
    assert not clause.matches(SourceObject.for_group(Group(id="g-2", displayName="Sales")))
    with pytest.raises(ScopingError, match="not support scoping filters on 'members'"):
        ScopingClause.build("Group", "members", "IS NOT NULL")


def test_failing_a_filter_makes_a_user_soft_deleted():
    tenant = Tenant(seed=5, clock=Clock.frozen_at("2026-01-15T09:00:00Z"))
    sales = tenant.create_user(userPrincipalName="s@contoso.com", department="Sales")
    hr = tenant.create_user(userPrincipalName="h@contoso.com", department="HR")
    for member in (sales, hr):
        tenant.assign(member.id)
    policy = ScopePolicy("assigned", ScopingFilters((ScopingFilter("Sales", (
        ScopingClause.build("User", "department", "EQUALS", "Sales"),)),)))
    assert policy.tenant_user_source(tenant, sales).get("IsSoftDeleted") is False
    assert policy.tenant_user_source(tenant, hr).get("IsSoftDeleted") is True


def test_group_scope_follows_assignment_or_sync_all():
    tenant = Tenant(seed=6, clock=Clock.frozen_at("2026-01-15T09:00:00Z"))
    assigned = tenant.create_group(displayName="Assigned")
    other = tenant.create_group(displayName="Other")
    tenant.assign(assigned.id)
    assigned_only, everything = ScopePolicy("assigned"), ScopePolicy("all")
    assert assigned_only.tenant_group_in_scope(tenant, assigned)
    assert not assigned_only.tenant_group_in_scope(tenant, other)
    assert everything.tenant_group_in_scope(tenant, other)
    filtered = ScopePolicy("all", group_filters=ScopingFilters((ScopingFilter("A", (
        ScopingClause.build("Group", "displayName", "EQUALS", "Assigned"),)),)))
    assert filtered.tenant_group_in_scope(tenant, assigned) and not filtered.tenant_group_in_scope(tenant, other)
