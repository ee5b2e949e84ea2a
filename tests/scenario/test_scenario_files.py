"""Scenario files are checked before anything runs: every problem names its file, line and key."""

from __future__ import annotations

import pytest

from simulator.scenario.loader import ScenarioFileError, load_scenario

from .helpers import PASSING, write


def problems(tmp_path, text: str) -> list[str]:
    path = write(tmp_path, "broken.yaml", text)
    with pytest.raises(ScenarioFileError) as caught:
        load_scenario(path)
    return [p.format(str(path)) for p in caught.value.problems]


def test_a_valid_file_loads_with_steps_and_lines(tmp_path):
    scenario = load_scenario(write(tmp_path, "ok.yaml", PASSING))
    assert scenario.name == "one-learner"
    assert [(s.kind, s.line) for s in scenario.steps] == [("cycle", 9)]
    assert [(e.kind, e.line) for e in scenario.steps[0].expect] == [("cycle", 11), ("lms_user", 12)]


def test_unknown_key_names_file_line_and_a_suggestion(tmp_path):
    text = PASSING.replace("  - cycle: {}\n", "  - cycel: {}\n")
    path = str(tmp_path / "broken.yaml")
    assert problems(tmp_path, text) == [f"{path}:9: steps[0].cycel: unknown key 'cycel' (did you mean 'cycle'?)"]


def test_wrong_type_and_enum_are_explained(tmp_path):
    text = PASSING.replace("cycle: {state: Succeeded}", "cycle: {state: Done, counts: 3}")
    found = problems(tmp_path, text)
    path = str(tmp_path / "broken.yaml")
    assert f"{path}:11: steps[0].expect[0].cycle.state: the text 'Done' is not one of: Succeeded, EntryLevelErrors, Failed, Skipped" in found
    assert f"{path}:11: steps[0].expect[0].cycle.counts: expected a mapping of keys, got the number 3" in found


def test_a_step_does_one_thing(tmp_path):
    text = PASSING.replace("  - cycle: {}\n", "  - cycle: {}\n    advance_clock: 1h\n")
    assert any(":10: steps[0].advance_clock: a step does one thing; this one has cycle, advance_clock" in p
               for p in problems(tmp_path, text))


def test_unknown_variables_are_found_before_running(tmp_path):
    text = PASSING.replace("userName: ann@contoso.com", "userName: '${learner}'")
    assert any(":12: steps[0].expect[1].lms_user.userName: unknown variable '${learner}'" in p
               for p in problems(tmp_path, text))


def test_a_fault_rule_the_injector_would_refuse(tmp_path):
    text = PASSING.replace("job:\n", "faults:\n  - {server: lms, path: '^(unclosed'}\njob:\n")
    found = problems(tmp_path, text)
    assert any(":7: faults[0]: fault rule: " in p and "regular expression" in p for p in found), found


def test_the_job_is_checked_by_the_provisioning_rules_at_the_row_that_wrote_it(tmp_path):
    text = PASSING.replace("  preset: customappsso\n",
                           "  preset: customappsso\n  mappings:\n    users:\n      set:\n"
                           "        - {target: title, expression: 'Mid([jobTitle], 1'}\n")
    found = problems(tmp_path, text)
    assert any(":11: job.mappings.users.set[0].expression: mapping row for 'title': expected ',' or ')'" in p
               for p in found), found


def test_invalid_yaml_and_duplicate_keys(tmp_path):
    assert any(":4:" in p and "invalid YAML" in p for p in problems(tmp_path, "scenario: x\nsteps:\n  - [unclosed\n"))
    found = problems(tmp_path, PASSING.replace("description:", "scenario: again\ndescription:"))
    assert any(":2: scenario: duplicate key (first at line 1)" in p for p in found), found


def test_a_scenario_needs_a_system_under_test(tmp_path):
    found = problems(tmp_path, "scenario: nothing\nsteps:\n  - advance_clock: 1h\n")
    assert any("a scenario needs a system under test" in p for p in found), found


def test_an_unknown_profile_or_a_broken_profile_file_is_found_before_running(tmp_path):
    text = PASSING.replace("job:\n", "target:\n  lms: {profile: strictest}\njob:\n")
    assert any(":7: target.lms.profile: unknown profile 'strictest'; known: " in p for p in problems(tmp_path, text))
    write(tmp_path, "mine.yaml", "name: mine\nextends: rfc\npatch: {case_insensitive_opz: true}\n")
    found = problems(tmp_path, text.replace("strictest", "mine.yaml"))
    assert any(":7: target.lms.profile: " in p and "case_insensitive_opz" in p for p in found), found
    write(tmp_path, "mine.yaml", "name: mine\nextends: rfc\npatch: {case_insensitive_ops: true}\n")
    assert load_scenario(write(tmp_path, "ok.yaml", text.replace("strictest", "mine.yaml"))).name == "one-learner"


def test_a_step_or_expectation_without_its_system_is_found_before_running(tmp_path):
    text = PASSING.replace("      - cycle: {state: Succeeded}\n",
                           "      - cycle: {state: Succeeded}\n      - pull_count: {accounts: 1}\n")
    text += "  - pull_import: {group: staff}\n"
    path = str(tmp_path / "broken.yaml")
    assert problems(tmp_path, text) == [
        f"{path}:12: steps[0].expect[1].pull_count: 'pull_count' needs the Graph-pull LMS (add a pull_lms: section)",
        f"{path}:14: steps[1].pull_import: 'pull_import' needs the Graph-pull LMS (add a pull_lms: section)",
    ]
