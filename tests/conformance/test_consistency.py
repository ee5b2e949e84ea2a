"""Discovery consistency with behaviour, targets that are not SCIM at all, and interrupted runs.

The server's own /Schemas is the contract a client codes against: a value that
comes back with another JSON type than declared breaks clients (a MUST), an
attribute /Schemas never mentions cannot be discovered (a SHOULD).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import requests
from click.testing import CliRunner
from conformance_support import TOKEN, verdicts

from conformance.registry import select
from conformance.runner import RunOptions, run_suite
from simulator.cli import main

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_values_that_contradict_the_servers_own_schema_are_reported(lms_target):
    target = lms_target("rfc")
    # Every single-User read answers a User whose 'active' is a string and that carries an undeclared attribute.
    drifted = {"schemas": [USER], "id": "fixed", "userName": "drift@example.test", "active": "true",
               "emails": {"value": "drift@example.test"}, "favouriteColour": "teal",
               "name": {"givenName": "Ada", "nickname": "A"}}
    target.faults.add(method="GET", path="/scim/v2/Users/*", status=200, body=drifted,
                      content_type="application/scim+json")
    result = target.run(("rfc",), patterns=("discovery.consistency.attribute",))
    outcomes = {r.check.id: r for r in result.results}
    assert verdicts(result, "fail") == {"discovery.consistency.attribute-types"}
    assert verdicts(result, "warning") == {"discovery.consistency.attributes-declared"}
    types = outcomes["discovery.consistency.attribute-types"].reason
    assert "active is declared boolean but returned string 'true'" in types
    assert "emails is declared multiValued but returned as dict" in types
    assert outcomes["discovery.consistency.attributes-declared"].reason == (
        "not defined in /Schemas: favouriteColour, name.nickname")
    assert result.leftovers == [] and target.store.export_state()["resources"]["User"] == []


def test_a_clean_server_passes_both_consistency_checks(lms_target):
    result = lms_target("entra-tolerant").run(("rfc",), patterns=("discovery.consistency.attribute",))
    assert {r.check.id: r.verdict.value for r in result.results} == {
        "discovery.consistency.attribute-types": "pass", "discovery.consistency.attributes-declared": "pass"}


def test_a_base_url_that_is_not_scim_exits_2_instead_of_grading_noise(lms_target, tmp_path):
    target = lms_target("rfc")
    report = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["conformance", "--target", f"{target.base}/not-scim", "--token", TOKEN,
                                       "--json", str(report)])
    assert result.exit_code == 2
    assert result.output.startswith("entrasim: error: the target does not look like a SCIM service")
    assert "GET /Users answered 404" in result.output and "check the base URL" in result.output
    assert result.output.count("\n") == 1
    assert '"fatal": "the target does not look like a SCIM service' in report.read_text()
    # In CI the JUnit file says so too, instead of an empty (green) suite.
    junit = tmp_path / "r.xml"
    CliRunner().invoke(main, ["conformance", "--target", f"{target.base}/not-scim", "--token", TOKEN,
                              "--junit", str(junit)])
    suite = ET.parse(junit).getroot()
    [case] = suite.iter("testcase")
    assert suite.get("errors") == "1" and case.get("name") == "run"
    assert case.find("error").get("message").startswith("the target does not look like a SCIM service")


def test_case_sensitivity_follows_each_attributes_caseexact(lms_target):
    result = lms_target("rfc").run(("rfc",), patterns=("filters.case",))
    outcomes = {r.check.id: r for r in result.results}
    assert {k: v.verdict.value for k, v in outcomes.items()} == {
        "filters.case-insensitive-value": "pass", "filters.case-exact-value": "pass",
        "filters.case-insensitive-names": "pass"}
    # The proof: externalId in another case found nothing, the exact value found bravo.
    [query] = [e for e in outcomes["filters.case-exact-value"].exchanges if e.method == "GET"]
    assert "ALPHA-ext" in query.url and '"totalResults":1' in query.response_body.replace(" ", "")
    assert "-bravo" in query.response_body and "-alpha" not in query.response_body


def test_an_interrupted_run_sweeps_and_reports_what_it_reached(lms_target):
    target = lms_target("rfc")
    seen = []

    prefix = "scimconf-interrupted"

    def interrupt_after_three(result):  # what Ctrl-C does between two checks
        seen.append(result.check.id)
        if len(seen) == 3:
            # A POST whose answer the interrupt swallowed: the server has the user, the check never saw its id.
            lost = requests.post(f"{target.base}/Users", headers=target.headers, timeout=30, json={
                "schemas": [USER], "userName": f"{prefix}-lost", "emails": [{"value": f"{prefix}@example.test"}]})
            assert lost.status_code == 201
            raise KeyboardInterrupt

    options = RunOptions(base_url=target.base, headers=target.headers, prefix=prefix)
    result = run_suite(options, [c for c in select(("rfc",)) if c.writes][:10], progress=interrupt_after_three)
    assert result.fatal == "interrupted after 3 of 10 checks; the reports hold the verdicts reached so far"
    assert [r.check.id for r in result.results] == seen and result.exit_code == 2
    # The namespace sweep still ran and removed what no check could track.
    assert any(e.note == "cleanup sweep" and e.method == "DELETE" for e in result.setup_exchanges)
    assert result.leftovers == [] and target.store.export_state()["resources"]["User"] == []


def test_an_attribute_the_server_declares_immutable_is_held_to_it(lms_target):
    # No core User attribute is immutable, so the check skips on a plain server; a server whose own /Schemas
    # declares nickName immutable, yet lets a PATCH replace it, breaks RFC 7643 §2.2 by its own contract.
    target = lms_target("rfc")
    schemas = requests.get(f"{target.base}/Schemas", headers=target.headers, timeout=30).json()
    user_schema = next(s for s in schemas["Resources"] if s["id"] == USER)
    next(a for a in user_schema["attributes"] if a["name"] == "nickName")["mutability"] = "immutable"
    target.faults.add(method="GET", path="/scim/v2/Schemas", status=200, body=schemas,
                      content_type="application/scim+json")
    result = target.run(("rfc",), patterns=("readonly.immutable",))
    [outcome] = result.results
    assert outcome.verdict.value == "fail" and outcome.reason == "replacing immutable nickName answered 200"
    patch = next(e for e in outcome.exchanges if e.method == "PATCH")
    assert '"path": "nickName"' in patch.request_body and patch.status == 200
    assert target.store.export_state()["resources"]["User"] == []


def test_every_response_is_validated_and_a_malformed_one_is_reported_once_with_its_exchange(lms_target):
    target = lms_target("rfc")
    clean = target.run(("rfc",), patterns=("users.get or users.list or responses.*",))
    [graded] = [r for r in clean.results if r.check.id == "responses.json-schemas"]
    assert graded.verdict.value == "pass" and graded.notes[0].endswith("responses validated")
    assert int(graded.notes[0].split()[0]) >= 6  # discovery (3) + the reads and writes of the checks before it
    # Now every single-User read answers an Error whose status is a number (RFC 7644 §3.12 wants a string).
    target.faults.add(method="GET", path="/scim/v2/Users/*", status=404, content_type="application/scim+json",
                      body={"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": 404})
    result = target.run(("rfc",), patterns=("users.get.unknown or responses.*",))
    outcomes = {r.check.id: r for r in result.results}
    graded = outcomes["responses.json-schemas"]
    assert graded.verdict.value == "fail" and graded.reason.startswith("1 response(s) do not match their schema: ")
    assert "GET /scim/v2/Users/" in graded.reason and "-> 404 is not a valid Error (in users.get.unknown)" in graded.reason
    assert "status: 404 is not of type 'string'" in graded.reason
    proof = [e for e in graded.exchanges if e.method == "GET" and "/Users/" in e.url]
    assert len(proof) == 1 and proof[0].status == 404 and '"status": 404' in proof[0].response_body
    # The check that met the response says so too, next to its own verdict.
    assert any("is not a valid Error" in n for n in outcomes["users.get.unknown"].notes)


def test_an_attribute_the_server_declares_returned_request_must_not_come_back_unasked(lms_target):
    # Same idea for RFC 7643 §2.2 returned=request: declared for nickName, yet a plain GET returns it.
    target = lms_target("rfc")
    schemas = requests.get(f"{target.base}/Schemas", headers=target.headers, timeout=30).json()
    user_schema = next(s for s in schemas["Resources"] if s["id"] == USER)
    next(a for a in user_schema["attributes"] if a["name"] == "nickName")["returned"] = "request"
    target.faults.add(method="GET", path="/scim/v2/Schemas", status=200, body=schemas,
                      content_type="application/scim+json")
    [outcome] = target.run(("rfc",), patterns=("attributes.returned-request",)).results
    assert outcome.verdict.value == "fail" and outcome.reason == "nickName (returned=request) came back unasked"
    plain = next(e for e in outcome.exchanges if e.method == "GET" and "/Users/" in e.url)
    assert "attributes=" not in plain.url and "-requested" in plain.response_body
