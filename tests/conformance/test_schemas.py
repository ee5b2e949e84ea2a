"""The JSON Schemas of RFC 7643/7644 resources accept the RFCs' own examples and name what is wrong otherwise."""

from __future__ import annotations

import pytest

from conformance.schemas import NAMES, validate

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# RFC 7643 §8.2 (abridged, values kept) and §8.3 enterprise extension.
RFC_USER = {
    "schemas": [USER, ENTERPRISE], "id": "2819c223-7f76-453a-919d-413861904646", "externalId": "701984",
    "userName": "bjensen@example.com",
    "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara"},
    "displayName": "Babs Jensen", "active": True,
    "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
    "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
                   "region": "CA", "postalCode": "91608", "country": "USA", "primary": True}],
    "groups": [{"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "$ref": "https://example.com/v2/Groups/e9e30dba",
                "display": "Tour Guides"}],
    ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d",
                                                         "displayName": "John Smith"}},
    "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z",
             "version": 'W/"3694e05e9dff591"', "location": "https://example.com/v2/Users/2819c223"},
}
RFC_ERROR = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "scimType": "mutability",
             "detail": "Attribute 'id' is readOnly", "status": "400"}
RFC_LIST = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 2,
            "Resources": [{"id": "a"}, {"id": "b"}]}


def test_every_schema_is_a_valid_draft_2020_12_schema():
    for name in NAMES:
        assert isinstance(validate(name, {}), list)


@pytest.mark.parametrize("name, document", [("User", RFC_USER), ("Error", RFC_ERROR), ("ListResponse", RFC_LIST)])
def test_rfc_examples_are_valid(name, document):
    assert validate(name, document) == []


@pytest.mark.parametrize("name, change, problem", [
    ("User", {"active": "True"}, "active: 'True' is not of type 'boolean'"),
    ("User", {"password": "secret"}, "password: 'secret' should not be valid"),
    ("User", {ENTERPRISE: {"manager": "26118915"}}, f"{ENTERPRISE}/manager: '26118915' is not of type 'object'"),
    ("User", {"emails": [{"value": "x@example.com", "primary": "true"}]}, "emails/0/primary: 'true' is not of type 'boolean'"),
    ("Error", {"status": 400}, "status: 400 is not of type 'string'"),
    ("Error", {"scimType": "Uniqueness"}, "scimType: 'Uniqueness' is not one of"),
    ("ListResponse", {"Resources": None}, "Resources: None is not of type 'array'"),
])
def test_what_is_wrong_is_named_with_its_path(name, change, problem):
    base = {"User": RFC_USER, "Error": RFC_ERROR, "ListResponse": RFC_LIST}[name]
    problems = validate(name, {**base, **change})
    assert any(problem in p for p in problems), problems


def test_a_list_with_results_needs_resources():
    problems = validate("ListResponse", {"schemas": RFC_LIST["schemas"], "totalResults": 3})
    assert problems == ["(root): 'Resources' is a required property"]


def test_patch_op_schema_accepts_rfc_requests_and_refuses_entra_capitalised_ops():
    rfc = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "remove", "path": 'members[value eq "2819c223"]'},
                          {"op": "add", "path": "members", "value": [{"value": "2819c223"}]}]}
    assert validate("PatchOp", rfc) == []
    entra = {**rfc, "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}
    assert any("'Replace' is not one of" in p for p in validate("PatchOp", entra))
    assert any("'path' is a required property" in p for p in validate("PatchOp", {**rfc, "Operations": [{"op": "remove"}]}))
