"""Scenario files as pytest items, and the fixtures a user's own suite gets."""

from __future__ import annotations

import pytest

from .helpers import FAILING, PASSING

USER_SUITE = '''
import requests

def test_provision_into_our_lms(entrasim_tenant, entrasim_scim_lms, entrasim_provisioner):
    entrasim_tenant.create_user(userPrincipalName="ann@contoso.com", givenName="Ann", surname="Lee",
                                mail="ann@contoso.com")
    entrasim_tenant.assign("ann@contoso.com")
    lms = entrasim_scim_lms("email-keyed", clock=entrasim_tenant.clock)
    engine = entrasim_provisioner(entrasim_tenant, lms.base_url, lms.job_token, preset="email-keyed")
    assert engine.run_cycle().state == "Succeeded"
    users = requests.get(lms.base_url + "/Users", headers={"Authorization": "Bearer " + lms.admin_token}).json()
    assert [u["userName"] for u in users["Resources"]] == ["ann@contoso.com"]

def test_import_with_the_pull_lms(entrasim_tenant, entrasim_graph, entrasim_pull_lms):
    user = entrasim_tenant.create_user(userPrincipalName="bob@contoso.com", givenName="Bob", surname="Ray",
                                       mail="bob@contoso.com")
    group = entrasim_tenant.create_group(displayName="Staff", members=[user.id])
    pull = entrasim_pull_lms(entrasim_graph(tenant=entrasim_tenant))
    result = pull.model.import_group(pull.connection_id, group.id, "user")
    assert result.status == "succeeded" and result.created == ["bob@contoso.com"]
    me = requests.get(pull.base_url + "/api/me", headers={"Authorization": "Bearer " + pull.admin_token})
    assert me.status_code == 200
'''


def test_scenario_files_are_collected_and_failures_explained(pytester):
    pytester.makefile(".yaml", ok=PASSING, bad=FAILING, job="target:\n  tenantUrl: x\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "-rA")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*scenario expects-the-wrong-name failed*",
                                 "*step 2 check the name (line 9): failed, expectation lms_user (line 12)*",
                                 '*expected: "Anna"*', '*actual:   "Ann"*'])


def test_fixtures_for_users_own_suites(pytester):
    pytester.makepyfile(test_user_suite=USER_SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2)


def test_target_options_are_checked_before_collecting(pytester):
    pytester.makefile(".yaml", ok=PASSING)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--entrasim-target", "http://127.0.0.1:9/scim/v2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--entrasim-target and --entrasim-token go together*"])
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--entrasim-target", "lms.example/scim",
                                           "--entrasim-token", "t")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--entrasim-target must be an http(s) SCIM base URL*"])


def test_a_scenario_that_needs_our_lms_is_skipped_against_a_target_at_its_file(pytester):
    keyed = PASSING.replace("job:\n", "target:\n  lms: {profile: email-keyed}\njob:\n")
    pytester.makefile(".yaml", keyed=keyed)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs", "--entrasim-target",
                                           "http://127.0.0.1:9/scim/v2", "--entrasim-token", "t")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*keyed.yaml:1: not for --target: it needs our LMS's 'email-keyed' profile*"])
