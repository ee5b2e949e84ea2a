"""The suite against scim2-server (PyPI 0.8.3), the reference third-party implementation, started by its own CLI.

Where scim2-tester and this suite disagree about scim2-server, the tests below
show, quoting the RFC, which verdict the RFC supports.
"""

from __future__ import annotations

import httpx2
import requests
from conformance_support import TOKEN, verdicts
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_scim2_server_passes_the_rfc_core_and_misses_three_entra_habits(scim2_server):
    result = scim2_server.run(("rfc", "entra"))
    assert verdicts(result, "error") == set()
    assert verdicts(result, "fail") == {
        "entra.missing-filtered-element",  # addresses[type eq "work"].locality with no work address: 400
        "entra.manager-string",  # "manager": "<id>" as Entra sends it: 400 (pydantic wants an object)
        "entra.group-remove-member-default",  # {"op":"Remove","path":"members","value":[...]}: 400
    }
    assert verdicts(result, "warning") == {"groups.member-reference", "groups.member-deleted", "attributes.on-write",
                                           "errors.missing-schemas"}
    assert result.exit_code == 1
    assert result.leftovers == [] and scim2_server.resources("Users") == [] and scim2_server.resources("Groups") == []


def test_where_scim2_tester_and_this_suite_differ_the_rfc_supports_this_suite(scim2_server):
    """scim2-tester reports no failure on scim2-server; this suite warns on two behaviours it never looks at.

    1. RFC 7643 §3: 'schemas: The "schemas" attribute is a REQUIRED attribute and is an array of Strings
       containing URIs that are used to indicate the namespaces of the SCIM schemas that define the attributes
       present in the current JSON structure.' scim2-server creates a User from a body without it
       (errors.missing-schemas, graded SHOULD: a lenient server is not broken, but it should refuse).
    2. RFC 7643 §4.1.2: 'groups: A list of groups to which the user belongs, either through direct membership,
       through nested groups, or dynamically calculated. ... group membership changes MUST be applied via the
       "Group" Resource'. A User added to a Group through the Group does not list it in 'groups' on
       scim2-server (groups.member-reference, SHOULD).

    Both are what the RFC text describes, so the warnings stand and scim2-tester's clean bill is incomplete.
    """
    with httpx2.Client(base_url=scim2_server.base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as http:
        tester = check_server(SyncSCIMClient(http))
    assert [(r.title, r.reason) for r in tester if r.status not in (Status.SUCCESS, Status.SKIPPED)] == []
    assert len(tester) >= 100

    result = scim2_server.run(("rfc",), patterns=("errors.missing-schemas or groups.member-reference",))
    outcomes = {r.check.id: r for r in result.results}
    assert {k: v.verdict.value for k, v in outcomes.items()} == {"errors.missing-schemas": "warning",
                                                                 "groups.member-reference": "warning"}
    post = outcomes["errors.missing-schemas"].exchanges[0]
    assert post.method == "POST" and '"schemas"' not in post.request_body and post.status == 201
    user_read = [e for e in outcomes["groups.member-reference"].exchanges if e.method == "GET" and "/Users/" in e.url][-1]
    assert user_read.status == 200 and '"groups"' not in (user_read.response_body or "")
    # Seen directly, without the suite: a body without "schemas" is stored as a User.
    created = requests.post(f"{scim2_server.base}/Users", json={"userName": "no-schemas-probe"},
                            headers=scim2_server.headers, timeout=30)
    assert created.status_code == 201 and USER in created.json()["schemas"]
    requests.delete(f"{scim2_server.base}/Users/{created.json()['id']}", headers=scim2_server.headers, timeout=30)


def test_scim2_server_warnings_scim2_tester_never_looks_at_are_rfc_text(scim2_server):
    """The two other behaviours this suite warns about on scim2-server, and the RFC text each warning rests on.

    1. RFC 7644 §3.6: 'Service providers MUST omit the resource from future query results.' A deleted User that
       a Group still lists as a member is still returned, through the Group (groups.member-deleted, SHOULD: the
       RFC does not spell out references, but a dangling member id breaks every client that follows it).
    2. RFC 7644 §3.9: 'Clients MAY request a partial resource representation on any operation that returns a
       resource within the response', and then 'each resource returned MUST contain the minimum set of resource
       attributes and any attributes or sub-attributes explicitly requested'. scim2-server shapes GET responses
       but not the POST response (attributes.on-write, SHOULD).
    """
    result = scim2_server.run(("rfc",), patterns=("groups.member-deleted or attributes.on-write",))
    outcomes = {r.check.id: r for r in result.results}
    assert {k: v.verdict.value for k, v in outcomes.items()} == {"groups.member-deleted": "warning",
                                                                 "attributes.on-write": "warning"}
    post = outcomes["attributes.on-write"].exchanges[0]
    assert post.method == "POST" and "attributes=userName" in post.url and '"nickName"' in post.response_body
    deleted = next(e for e in outcomes["groups.member-deleted"].exchanges if e.method == "DELETE")
    deleted_id = deleted.url.rsplit("/", 1)[-1]
    group_read = next(e for e in outcomes["groups.member-deleted"].exchanges if e.method == "GET" and "/Groups/" in e.url)
    assert deleted.status == 204 and deleted_id in group_read.response_body


def test_on_our_entra_tolerant_lms_scim2_tester_misses_a_broken_must(lms_target):
    """scim2-tester passes our entra-tolerant LMS; this suite fails patch.replace.filter-no-match there.

    RFC 7644 §3.5.2.3 (replace): 'If the target location is a multi-valued attribute for which a value selection
    filter ("valuePath") has been supplied and no record match was made, the service provider SHALL indicate
    failure by returning HTTP status code 400 and a "scimType" error code of "noTarget".' The profile instead
    creates the element, as Entra expects (entra.missing-filtered-element passes there), so the fail is right
    under the rfc profile, and the two profiles say exactly which client each behaviour serves.
    """
    target = lms_target("entra-tolerant")
    with httpx2.Client(base_url=target.base, headers=target.headers, timeout=30) as http:
        tester = check_server(SyncSCIMClient(http))
    assert len(tester) >= 100 and [r.title for r in tester if r.status not in (Status.SUCCESS, Status.SKIPPED)] == []

    result = target.run(("rfc", "entra"), patterns=("filter-no-match or missing-filtered-element",))
    assert {r.check.id: r.verdict.value for r in result.results} == {"patch.replace.filter-no-match": "fail",
                                                                     "entra.missing-filtered-element": "pass"}
    # Seen directly: a replace through a filter that matches nothing answers 200 and adds the element.
    user = requests.post(f"{target.base}/Users", headers=target.headers, timeout=30, json={
        "schemas": [USER], "userName": "probe@example.test",
        "emails": [{"value": "probe@example.test", "type": "work"}]}).json()
    patched = requests.patch(f"{target.base}/Users/{user['id']}", headers=target.headers, timeout=30, json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": 'emails[type eq "home"].value', "value": "home@example.test"}]})
    assert patched.status_code in (200, 204)
    emails = requests.get(f"{target.base}/Users/{user['id']}", headers=target.headers, timeout=30).json()["emails"]
    assert sorted(e["type"] for e in emails) == ["home", "work"]


def test_on_our_email_keyed_lms_scim2_tester_errors_where_this_suite_names_the_schema_gap(lms_target):
    """scim2-tester cannot create its users on the email-keyed LMS and reports its own errors; this suite runs.

    The LMS requires name.givenName but its /Schemas does not declare it required. RFC 7643 §7: 'required: A
    Boolean value that specifies whether or not the attribute is required.' The gap is the server's, so it is a
    verdict on the server (discovery.consistency.required-declared, a SHOULD warning with the refused request),
    not a suite error; every other check still reaches a verdict because this suite sends what real clients send.
    """
    target = lms_target("email-keyed")
    with httpx2.Client(base_url=target.base, headers=target.headers, timeout=30) as http:
        tester = check_server(SyncSCIMClient(http))
    errors = [r for r in tester if r.status == Status.ERROR]
    assert errors and all("'name.givenName' is required by this LMS" in (r.reason or "") for r in errors)

    result = target.run(("rfc",))
    assert verdicts(result, "error") == set()
    [gap] = [r for r in result.results if r.check.id == "discovery.consistency.required-declared"]
    assert gap.verdict.value == "warning" and "'name.givenName' is required by this LMS" in gap.reason
    assert gap.check.section.startswith("RFC 7643 §2.2") and gap.exchanges[-1].status == 400
