"""Read a scenario file: YAML checked by ``schema.json``, every problem with its file, line and key.

``simulator.yaml_document`` gives every problem its line (a jsonschema
error's path such as ``steps[2].http.method`` is walked through the composed
nodes to the key at fault). What a schema cannot say is checked here too:
one action per step and one kind per expectation, variables that nobody
defines, fault rules the injector would refuse, and the provisioning job,
which is built and validated by the provisioning package's own loader.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import yaml

from ..faults import FaultRule, FaultRuleError, check_rule_values
from ..provisioning.job import JobFileError
from ..yaml_document import Problem, YamlDocument, format_path
from .errors import ScenarioFileError
from .jobs import PLACEHOLDER_URL, JobBaseError, build_job, job_document
from .model import Expectation, Scenario, Step
from .variables import references

SCHEMA_PATH = Path(__file__).with_name("schema.json")
#: Variables every scenario has: ``${env.NAME}``, ``${id.KEY}`` (a group's or app's object id),
#: ``${secret_id.KEY}`` (the key id of an app's first secret, what an admin pastes by mistake).
BUILT_IN_PREFIXES = ("env.", "id.", "secret_id.")
#: Keys of a step that are not its action.
STEP_META = ("name", "expect")


@lru_cache(maxsize=1)
def scenario_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def step_kinds() -> tuple[str, ...]:
    return tuple(k for k in scenario_schema()["$defs"]["step"]["properties"] if k not in STEP_META)


@lru_cache(maxsize=1)
def expectation_kinds() -> tuple[str, ...]:
    return tuple(scenario_schema()["$defs"]["expectation"]["properties"])


def is_scenario_text(text: str) -> bool:
    """Cheap test used by discovery and pytest collection: a mapping with a top-level ``scenario:`` key."""
    return any(line.startswith("scenario:") for line in text.splitlines())


class _Document(YamlDocument):
    """A scenario file's YAML; ``scalars`` feeds the variable checks."""

    def __init__(self, text: str):
        super().__init__(text, what="scenario file", mapping_hint="scenario, tenant, job, steps...")

    def scalars(self) -> Iterable[tuple[tuple, str]]:
        """Every string scalar (keys and values) with its path, for variable checks."""
        stack: list[tuple[yaml.Node, tuple]] = [(self.root, ())]
        while stack:
            node, path = stack.pop()
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    yield path + (str(key.value),), str(key.value)
                    stack.append((value, path + (str(key.value),)))
            elif isinstance(node, yaml.SequenceNode):
                stack.extend((item, path + (i,)) for i, item in enumerate(node.value))
            elif isinstance(node, yaml.ScalarNode) and isinstance(node.value, str):
                yield path, node.value


def _one_kind(document: _Document, path: tuple, item: dict, kinds: tuple[str, ...], what: str,
              problems: list[Problem]) -> str | None:
    """The one kind key ``item`` holds; a problem when it holds none or several."""
    found = [key for key in item if key in kinds]
    if len(found) == 1:
        return found[0]
    if not found:
        problems.append(document.problem(path, f"a {what} needs one of: {', '.join(kinds)}"))
    else:
        problems.append(document.problem(path + (found[1],), f"a {what} does one thing; this one has {', '.join(found)}"))
    return None


_ROW = re.compile(r"^mappings\.(users|groups)\.attributes\[(\d+)\](?:\.(\w+))?$")


def _job_problem(document: _Document, spec: dict, edits: list[dict], where: tuple, problem: Problem) -> Problem:
    """A problem of the built job file, placed on the scenario line that wrote the row at fault when there is one."""
    message = f"{problem.path or 'job file'}: {problem.message}"
    match = _ROW.match(problem.path or "")
    if match:
        object_type, index, key = match.group(1), int(match.group(2)), match.group(3)
        rows = job_document(spec, tenant_url=PLACEHOLDER_URL, token="placeholder-token",
                            edits=edits)["mappings"][object_type]["attributes"]
        target = rows[index].get("target") if index < len(rows) else None
        rows_written = (((edits[-1] if edits else spec).get("mappings") or {}).get(object_type) or {}).get("set") or []
        for position, row in enumerate(rows_written):
            if row.get("target") == target:
                path = where + ("mappings", object_type, "set", position) + ((key,) if key else ())
                return Problem(document.line(path), format_path(path), f"mapping row for '{target}': {problem.message}")
    return Problem(document.line(where), format_path(where), message)


def profile_location(profile: str, scenario_path: Path | None) -> str:
    """A profile name as the LMS loads it: a ``.yaml`` file is found next to the scenario file."""
    if profile.endswith((".yaml", ".yml")) and scenario_path is not None:
        return str((scenario_path.parent / profile).resolve())
    return profile


def _profile_problems(document: _Document, scenario_path: Path | None) -> list[Problem]:
    """An unknown profile name or a broken profile file, found before anything runs."""
    from ..lms.scim import load_profile

    profile = ((document.data.get("target") or {}).get("lms") or {}).get("profile")
    if not isinstance(profile, str) or references(profile):
        return []
    try:
        load_profile(profile_location(profile, scenario_path))
    except Exception as exc:  # noqa: BLE001 - ProfileError, a missing or unreadable file: one line at the key
        return [document.problem(("target", "lms", "profile"), str(exc))]
    return []


#: Steps and expectations that only make sense with a section of the file: (needed sections, what to say).
_NEEDS = {
    **{kind: (("job",), "a provisioning job (add a job: section)")
       for kind in ("cycle", "edit_job", "restart_job", "log")},
    **{kind: (("pull_lms",), "the Graph-pull LMS (add a pull_lms: section)")
       for kind in ("pull_import", "pull_schedule", "pull_run_schedules", "pull_csv_import", "pull_assign_department",
                    "pull_update_connection", "pull_user", "pull_count", "pull_schedule_checks")},
    **{kind: (("job", "target"), "a SCIM LMS (add a job: or a target: section)")
       for kind in ("revoke_lms_token", "add_lms_token", "lms_admin_change_email", "lms_user", "lms_group",
                    "lms_count")},
}


def _needs_section(document: _Document, data: dict, path: tuple, kind: str | None, problems: list[Problem]) -> None:
    """A step or expectation whose system is missing from the file, found before anything runs."""
    if kind is None or kind not in _NEEDS:
        return
    sections, what = _NEEDS[kind]
    if not any(data.get(section) is not None for section in sections):
        problems.append(document.problem(path, f"'{kind}' needs {what}"))


def _semantic_problems(document: _Document, scenario_path: Path | None = None) -> list[Problem]:
    data = document.data
    problems: list[Problem] = []
    defined = set(data.get("variables") or {})
    for index, step in enumerate(data["steps"]):
        kind = "expect" if "expect" in step and not any(k in step_kinds() for k in step) else \
            _one_kind(document, ("steps", index), step, step_kinds(), "step", problems)
        if kind == "http":
            defined |= set(step["http"].get("save") or {})
        if kind == "add_secret" and step["add_secret"].get("save"):
            defined.add(step["add_secret"]["save"])
        _needs_section(document, data, ("steps", index, kind), kind, problems)
        for e_index, expectation in enumerate(step.get("expect") or ()):
            e_kind = _one_kind(document, ("steps", index, "expect", e_index), expectation, expectation_kinds(),
                               "expectation", problems)
            _needs_section(document, data, ("steps", index, "expect", e_index, e_kind), e_kind, problems)
    for path, text in document.scalars():
        for name in references(text):
            if not name.startswith(BUILT_IN_PREFIXES) and name not in defined:
                hint = difflib.get_close_matches(name, sorted(defined), n=1, cutoff=0.6)
                problems.append(document.problem(path, f"unknown variable '${{{name}}}'" +
                                                 (f" (did you mean '{hint[0]}'?)" if hint else "")))
    faults = [(("faults", i), f) for i, f in enumerate(data.get("faults") or ())]
    faults += [(("steps", i, "add_fault"), s["add_fault"]) for i, s in enumerate(data["steps"]) if "add_fault" in s]
    for path, rule in faults:
        values = {k: v for k, v in rule.items() if k != "server"}
        if any(isinstance(v, str) and references(v) for v in values.values()):
            continue
        try:
            check_rule_values(values)
            FaultRule(**values)
        except (FaultRuleError, TypeError) as exc:
            problems.append(document.problem(path, f"fault rule: {exc}"))
    job = data.get("job")
    if isinstance(job, dict) and isinstance(job.get("file"), str):
        if "preset" in job:
            problems.append(document.problem(("job", "preset"), "a job starts from a preset or from a file, not both"))
        if scenario_path is not None:  # a job file is found next to the scenario, wherever the run starts
            job["file"] = str((scenario_path.parent / job["file"]).resolve())
    if data.get("job") is not None and not any(references(t) for p, t in document.scalars() if p and p[0] == "job"):
        sections = [(("job",), data["job"])]
        sections += [(("steps", i, "edit_job"), s["edit_job"]) for i, s in enumerate(data["steps"]) if "edit_job" in s]
        for count, (where, _change) in enumerate(sections):
            edits = [change for _where, change in sections[1:count + 1]]
            try:
                build_job(data["job"], edits=edits)
            except JobFileError as exc:
                problems.extend(_job_problem(document, data["job"], edits, where, problem) for problem in exc.problems)
                break
            except JobBaseError as exc:
                problems.append(document.problem(("job", "file"), str(exc)))
                break
            except (KeyError, TypeError, ValueError) as exc:
                problems.append(document.problem(where, f"cannot build the provisioning job: {exc}"))
                break
    problems.extend(_profile_problems(document, scenario_path))
    target = data.get("target") or {}
    if "lms" in target and "external" in target:
        problems.append(document.problem(("target", "external"), "a target is either lms or external, not both"))
    if data.get("job") is None and data.get("pull_lms") is None:
        problems.append(document.problem((), "a scenario needs a system under test: a job (push side) or pull_lms"))
    return problems


def parse_scenario(text: str, *, filename: str | None = None, path: Path | None = None) -> Scenario:
    """Validate scenario YAML ``text``; ``ScenarioFileError`` lists every problem with its line and key."""
    document = _Document(text)
    problems = document.problems or document.schema_problems(scenario_schema())
    if not problems:
        problems = _semantic_problems(document, path)
    if problems:
        raise ScenarioFileError(sorted(problems, key=lambda p: (p.line or 0, p.path)), filename)
    data = document.data
    steps = []
    for index, raw in enumerate(data["steps"]):
        kind = next((k for k in raw if k in step_kinds()), "expect")
        expect_items = raw.get("expect") or ()
        expectations = tuple(
            Expectation(next(k for k in item if k in expectation_kinds()),
                        item[next(k for k in item if k in expectation_kinds())],
                        document.line(("steps", index, "expect", e_index)))
            for e_index, item in enumerate(expect_items))
        args = None if kind == "expect" else raw[kind]
        steps.append(Step(index, kind, args, raw.get("name"), expectations, document.line(("steps", index))))
    return Scenario(
        name=data["scenario"], path=path, steps=steps, description=data.get("description", ""),
        documented=data.get("documented", ""), tags=list(data.get("tags") or ()),
        variables=dict(data.get("variables") or {}), tenant=dict(data.get("tenant") or {}),
        target=dict(data.get("target") or {}), job=data.get("job"), pull_lms=data.get("pull_lms"),
        faults=list(data.get("faults") or ()))


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioFileError([Problem(None, "", f"cannot read the file: {exc.strerror or exc}")], str(path)) from None
    except UnicodeDecodeError:
        raise ScenarioFileError([Problem(None, "", "the file is not UTF-8 text")], str(path)) from None
    return parse_scenario(text, filename=str(path), path=file)
