"""/Bulk (RFC 7644 §3.7): operations, bulkId references, failOnErrors and the advertised limits."""

from __future__ import annotations

from .conftest import GROUP, PATCH_OP, USER, assert_error

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def bulk(lms, operations, **extra):
    return lms.post("/Bulk", {"schemas": [BULK], "Operations": operations, **extra})


def test_bulk_creates_with_references_including_forward_ones(lms):
    existing = lms.user("existing")
    resp = bulk(lms, [
        {"method": "POST", "path": "/Groups", "bulkId": "g1",
         "data": {"schemas": [GROUP], "displayName": "Tour Guides", "members": [{"value": "bulkId:u1"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"schemas": [USER], "userName": "alice"}},
        {"method": "PATCH", "path": "/Groups/bulkId:g1",
         "data": {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": existing["id"]}]}]}},
        {"method": "PUT", "path": f"/Users/{existing['id']}", "data": {"schemas": [USER], "userName": "existing", "title": "T"}},
        {"method": "DELETE", "path": f"/Users/{existing['id']}"},
    ])
    assert resp.status_code == 200
    body = resp.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]
    ops = body["Operations"]
    assert [(o["method"], o["status"]) for o in ops] == [("POST", "201"), ("POST", "201"), ("PATCH", "204"),
                                                         ("PUT", "200"), ("DELETE", "204")]
    assert ops[0]["bulkId"] == "g1" and ops[0]["location"].startswith(f"{lms.base}/Groups/")
    group = lms.get(ops[0]["location"][len(lms.base):]).json()
    alice_id = ops[1]["location"].rsplit("/", 1)[-1]
    assert [m["value"] for m in group["members"]] == [alice_id]  # the deleted user left the group again
    assert ops[3]["version"].startswith('W/"')


def test_bulk_errors_are_per_operation_and_fail_on_errors_stops(lms):
    lms.user("taken")
    resp = bulk(lms, [
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER], "userName": "taken"}},
        {"method": "PATCH", "path": "/Users/missing", "data": {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "title"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"schemas": [USER], "userName": "never-created"}},
    ], failOnErrors=2)
    ops = resp.json()["Operations"]
    assert [o["status"] for o in ops] == ["409", "404"]
    assert ops[0]["response"]["scimType"] == "uniqueness" and ops[0]["bulkId"] == "a"
    assert lms.get("/Users", params={"filter": 'userName eq "never-created"'}).json()["totalResults"] == 0


def test_unresolvable_and_circular_references_are_409(lms):
    resp = bulk(lms, [
        {"method": "POST", "path": "/Groups", "bulkId": "x",
         "data": {"schemas": [GROUP], "displayName": "X", "members": [{"value": "bulkId:y"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "y",
         "data": {"schemas": [GROUP], "displayName": "Y", "members": [{"value": "bulkId:x"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "ok", "data": {"schemas": [USER], "userName": "fine"}},
    ])
    ops = resp.json()["Operations"]
    assert [o["status"] for o in ops] == ["409", "409", "201"]
    assert "circular" in ops[0]["response"]["detail"]
    assert lms.store.count("Group") == 0


def test_bulk_request_errors(lms):
    assert_error(lms.post("/Bulk", {"Operations": []}), 400, "invalidSyntax", "BulkRequest")
    assert_error(bulk(lms, []), 400, "invalidSyntax", "non-empty")
    resp = bulk(lms, [{"method": "GET", "path": "/Users"}, {"method": "POST", "path": "/Users", "data": {}},
                      {"method": "POST", "path": "/Courses", "bulkId": "c", "data": {}}])
    ops = resp.json()["Operations"]
    assert [o["status"] for o in ops] == ["400", "400", "404"]
    assert "bulkId" in ops[1]["response"]["detail"]


def test_bulk_limits_are_enforced_with_413(lms_server):
    from simulator.lms.scim.profiles import load_profile
    profile = load_profile("rfc")
    profile.limits.bulk_max_operations = 2
    profile.limits.bulk_max_payload_bytes = 2000
    server = lms_server(profile)
    spc = server.get("/ServiceProviderConfig").json()
    assert spc["bulk"] == {"supported": True, "maxOperations": 2, "maxPayloadSize": 2000}
    three = [{"method": "POST", "path": "/Users", "bulkId": str(i), "data": {"schemas": [USER], "userName": f"u{i}"}}
             for i in range(3)]
    assert_error(bulk(server, three), 413, detail="maxOperations")
    big = [{"method": "POST", "path": "/Users", "bulkId": "b", "data": {"schemas": [USER], "userName": "x" * 3000}}]
    assert_error(bulk(server, big), 413, detail="maxPayloadSize")
    assert server.store.count("User") == 0
