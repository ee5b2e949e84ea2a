"""Discovery endpoints (RFC 7644 §4), routing errors and the SCIM media type."""

from __future__ import annotations

import pytest
import requests

from .conftest import ENTERPRISE, GROUP, USER, assert_error


def test_service_provider_config_advertises_real_limits(lms):
    resp = lms.get("/ServiceProviderConfig")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/scim+json")
    spc = resp.json()
    assert spc["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert spc["patch"] == {"supported": True}
    assert spc["bulk"] == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576}
    assert spc["filter"] == {"supported": True, "maxResults": 1000}
    assert spc["sort"]["supported"] and spc["etag"]["supported"]
    assert spc["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert spc["meta"]["location"] == f"{lms.base}/ServiceProviderConfig"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_service_provider_config_is_read_only(lms, method):
    resp = lms.request(method, "/ServiceProviderConfig", {})
    body = assert_error(resp, 405)
    assert "GET" in resp.headers["Allow"]
    assert method in body["detail"]


def test_resource_types_list_and_by_id(lms):
    listing = lms.get("/ResourceTypes").json()
    assert listing["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert listing["totalResults"] == 2
    by_name = {rt["name"]: rt for rt in listing["Resources"]}
    assert by_name["User"]["endpoint"] == "/Users"
    assert by_name["User"]["schema"] == USER
    assert by_name["User"]["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    assert by_name["Group"]["schema"] == GROUP
    one = lms.get("/ResourceTypes/Group")
    assert one.status_code == 200 and one.json()["endpoint"] == "/Groups"
    assert_error(lms.get("/ResourceTypes/Course"), 404, detail="Course")


def test_schemas_list_and_by_id_describe_characteristics(lms):
    listing = lms.get("/Schemas").json()
    ids = [s["id"] for s in listing["Resources"]]
    assert ids == [USER, ENTERPRISE, GROUP]
    user = lms.get(f"/Schemas/{USER}").json()
    attrs = {a["name"]: a for a in user["attributes"]}
    assert attrs["userName"]["uniqueness"] == "server" and attrs["userName"]["required"] is True
    assert attrs["userName"]["caseExact"] is False
    assert attrs["password"]["returned"] == "never" and attrs["password"]["mutability"] == "writeOnly"
    assert attrs["groups"]["mutability"] == "readOnly"
    emails = {s["name"]: s for s in attrs["emails"]["subAttributes"]}
    assert emails["type"]["canonicalValues"] == ["work", "home", "other"]
    enterprise = lms.get(f"/Schemas/{ENTERPRISE}").json()
    manager = next(a for a in enterprise["attributes"] if a["name"] == "manager")
    assert manager["type"] == "complex"
    assert {s["name"] for s in manager["subAttributes"]} == {"value", "$ref", "displayName"}
    group = lms.get(f"/Schemas/{GROUP}").json()
    members = next(a for a in group["attributes"] if a["name"] == "members")
    assert {s["name"]: s["mutability"] for s in members["subAttributes"]}["value"] == "immutable"
    assert_error(lms.get("/Schemas/urn:example:nothing"), 404, detail="urn:example:nothing")


def test_unknown_endpoint_is_a_scim_404_naming_the_base_url(lms):
    body = assert_error(lms.get("/Courses"), 404)
    assert lms.base in body["detail"]


def test_me_is_not_implemented(lms):
    assert_error(lms.get("/Me"), 501, detail="/Me")


def test_application_json_is_accepted_and_other_media_types_are_415(lms):
    resp = lms.session.post(lms.base + "/Users", data=f'{{"schemas": ["{USER}"], "userName": "json"}}',
                            headers={"Content-Type": "application/json"})
    assert resp.status_code == 201
    assert resp.headers["Content-Type"] == "application/scim+json; charset=utf-8"
    resp = lms.session.post(lms.base + "/Users", data="userName=x", headers={"Content-Type": "text/plain"})
    assert_error(resp, 415, detail="text/plain")


def test_serves_https_with_the_local_ca(certs):
    from simulator.lms.scim import LmsConfig, ScimStore, create_app
    from simulator.lms.scim.auth import TokenRegistry
    from simulator.serving import start_in_thread

    store = ScimStore()
    tokens = TokenRegistry(store.clock)
    tokens.add("tls-token")
    running = start_in_thread(create_app(store, config=LmsConfig(tokens=tokens)), tls=certs)
    try:
        resp = requests.get(f"{running.url}/scim/v2/ServiceProviderConfig", headers={"Authorization": "Bearer tls-token"},
                            verify=str(certs.ca_cert), timeout=10)
        assert resp.status_code == 200
        assert resp.json()["meta"]["location"] == f"{running.url}/scim/v2/ServiceProviderConfig"
        assert running.url.startswith("https://localhost:")
    finally:
        running.stop()
