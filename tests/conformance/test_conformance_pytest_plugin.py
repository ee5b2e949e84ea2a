"""The suite as pytest items (``-p conformance.pytest_plugin``), the way a vendor runs it in CI."""

from __future__ import annotations

from importlib.metadata import entry_points

from conformance_support import TOKEN

pytest_plugins = ["pytester"]

# Installed with its pytest11 entry point, the plugin is already loaded; otherwise ask for it as vendors do.
AUTOLOADED = any(ep.value == "conformance.pytest_plugin" for ep in entry_points(group="pytest11"))
PLUGIN = () if AUTOLOADED else ("-p", "conformance.pytest_plugin")


def test_checks_run_as_items_with_fail_warning_and_skip(lms_target, pytester):
    target = lms_target("entra-tolerant")
    pytester.makepyfile(test_nothing="")
    result = pytester.runpytest(*PLUGIN, "--scim-target", target.base, "--scim-token", TOKEN,
                                "--scim-profile", "rfc,entra", "-k", "users or unknown-schema or immutable", "-rA")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes["passed"] >= 12 and outcomes["skipped"] == 1
    assert outcomes.get("warnings", 0) >= 1
    result.stdout.fnmatch_lines(["*ScimWarning: errors.unknown-schema: [[]SHOULD[]] RFC 7643 §3*"])
    assert TOKEN not in result.stdout.str()
    assert target.resources("Users") == []


def test_a_broken_must_fails_its_item_with_the_exchanges(lms_target, pytester):
    target = lms_target("rfc")
    pytester.makepyfile(test_nothing="")
    result = pytester.runpytest(*PLUGIN, "--scim-target", target.base, "--scim-token", TOKEN,
                                "--scim-profile", "entra", "-k", "disable", "--junitxml", "junit.xml")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*entra.disable-string*", "*[[]MUST[]] Entra provisioning (Disable, no flag)*",
                                 "*PATCH http://127.0.0.1:*/scim/v2/Users/*", "*< 400*"])
    assert "scim[entra.disable-string]" in (pytester.path / "junit.xml").read_text()


def test_items_spread_over_xdist_workers_and_each_worker_cleans_up(lms_target, pytester):
    target = lms_target("rfc")
    pytester.makepyfile(test_nothing="")
    result = pytester.runpytest(*PLUGIN, "-n", "2", "--scim-target", target.base,
                                "--scim-token", TOKEN, "-k", "users or groups.create")
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] >= 14 and "failed" not in outcomes and "error" not in outcomes
    assert target.resources("Users") == [] and target.resources("Groups") == []


def test_without_a_target_the_plugin_adds_nothing(pytester):
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=1)
