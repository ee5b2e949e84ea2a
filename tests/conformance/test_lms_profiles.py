"""The whole suite (rfc + entra) against our SCIM LMS in each shipped profile: the expected verdicts, exactly.

The differences between profiles are the point: the strict rfc profile refuses
Entra's non-RFC dialect (capitalised ops, "False" strings, dotted path-less
keys), entra-tolerant accepts all of it (and so breaks the one RFC MUST that
contradicts Entra: a value filter matching nothing must be 400 noTarget, while
Entra expects the element to be created), and email-keyed refuses displayName
and forks an account when the work email changes (a PATCH answering 201).
"""

from __future__ import annotations

import json

import requests
from conformance_support import verdicts

from conformance.registry import select
from conformance.runner import RunOptions, run_suite

ENTRA_DIALECT_REFUSED_BY_RFC = {
    "entra.patch-default", "entra.disable-string", "entra.add-extension", "entra.pathless-dotted",
    "entra.missing-filtered-element", "entra.manager-string", "entra.rename-user", "entra.group-add-member",
    "entra.group-remove-member-default", "entra.group-rename",
}


def test_rfc_profile_passes_the_rfc_core_and_refuses_entras_dialect(lms_target):
    target = lms_target("rfc")
    result = target.run(("rfc", "entra"))
    rfc_ids = {r.check.id for r in result.results if "rfc" in r.check.profiles}
    assert verdicts(result, "fail") == ENTRA_DIALECT_REFUSED_BY_RFC
    assert not verdicts(result, "fail") & rfc_ids
    assert verdicts(result, "error") == set() and verdicts(result, "warning") == set()
    # The core User schema declares no immutable string and no returned=request string to test.
    assert verdicts(result, "skipped") == {"readonly.immutable", "attributes.returned-request"}
    assert len(result.results) >= 180
    assert result.exit_code == 1
    # Everything the run created is gone; the refusal says why, in the server's words.
    assert result.leftovers == [] and target.resources("Users") == [] and target.resources("Groups") == []
    refused = next(r for r in result.results if r.check.id == "entra.disable-string")
    assert refused.exchanges[-2].status == 400 and "aadOptscim062020" in refused.reason


def test_entra_tolerant_profile_passes_everything_entra_needs(lms_target):
    target = lms_target("entra-tolerant")
    result = target.run(("rfc", "entra"))
    assert {r.check.id for r in result.results if "entra" in r.check.profiles and r.verdict.value != "pass"} == set()
    assert verdicts(result, "error") == set()
    # RFC 7644 §3.5.2.3 wants 400 noTarget where Entra wants the missing element created: the profile sides with Entra.
    assert verdicts(result, "fail") == {"patch.replace.filter-no-match"}
    # It ignores unknown schema URIs on purpose (Entra's ADSCIM group URN): a SHOULD, so a warning, not a fail.
    assert verdicts(result, "warning") == {"errors.unknown-schema"}
    assert result.exit_code == 1
    assert target.resources("Users") == [] and target.resources("Groups") == []
    # Every verdict the server earned is proven by the exchanges kept with it, credentials redacted.
    for outcome in result.results:
        if outcome.verdict.value in ("pass", "fail", "warning"):
            assert outcome.exchanges, outcome.check.id
            assert all(e.request_headers.get("Authorization") == "<redacted>" for e in outcome.exchanges
                       if "Authorization" in e.request_headers)


def test_email_keyed_profile_shows_its_vendor_behaviour(lms_target):
    target = lms_target("email-keyed")
    result = target.run(("rfc", "entra"))
    assert verdicts(result, "fail") == {
        "entra.create-user-display-name",  # "Invalid or forbidden key found: displayName"
        "patch.replace.value-filter", "patch.replace.multi-valued", "entra.patch-default",  # new email -> new account
        "patch.replace.filter-no-match",  # inherited from entra-tolerant: a missing filtered element is created
    }
    # It requires name.givenName without declaring it required in /Schemas: a generic client cannot know.
    assert verdicts(result, "warning") == {"errors.unknown-schema", "discovery.consistency.required-declared"}
    hidden = next(r for r in result.results if r.check.id == "discovery.consistency.required-declared")
    assert "'name.givenName' is required by this LMS" in hidden.reason
    display = next(r for r in result.results if r.check.id == "entra.create-user-display-name")
    assert "Invalid or forbidden key found: displayName" in display.reason
    forked = next(r for r in result.results if r.check.id == "patch.replace.value-filter")
    assert "got 201" in forked.reason
    # The forked accounts were never returned to the suite by id, yet the namespace sweep removed them.
    assert result.leftovers == [] and target.resources("Users") == []


def test_existing_data_on_a_shared_server_is_left_alone(lms_target):
    target = lms_target("rfc")
    vendor_user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "real.customer@vendor.example",
                   "name": {"givenName": "Real", "familyName": "Customer"}}
    created = requests.post(f"{target.base}/Users", json=vendor_user, headers=target.headers, timeout=30).json()
    checks = [c for c in select(("rfc",)) if c.area in ("users", "filters", "uniqueness")]
    result = run_suite(RunOptions(base_url=target.base, headers=target.headers), checks)
    assert len(result.results) == len(checks) > 30
    assert all(r.verdict.value == "pass" for r in result.results)
    # The customer's user is untouched and is the only one left; every userName the suite sent is namespaced.
    assert target.resources("Users") == [requests.get(f"{target.base}/Users/{created['id']}", headers=target.headers,
                                                      timeout=30).json()]
    sent = [json.loads(e.request_body) for r in result.results for e in r.exchanges
            if e.method == "POST" and e.url.endswith("/Users") and e.request_body and e.request_body.startswith("{")]
    names = [b["userName"] for b in sent if isinstance(b.get("userName"), str)]
    assert names and all(n.lower().startswith(result.prefix) for n in names)
