"""Scenario files as pytest items: ``pytest scenarios/ -n auto`` runs the catalogue, JUnit and xdist included.

A YAML file is collected when it is a scenario (a top-level ``scenario:`` key),
so other YAML in a tree (job files, profiles) is left alone. Each file is one
item named after its scenario. A failure is reported as ``entrasim scenario
run`` reports it: the step, expected against actual, the HTTP exchanges. An
invalid file is a failing item listing its problems with their lines.

``--entrasim-target URL --entrasim-token T`` run the push-side scenarios
against another SCIM server, as ``entrasim scenario run --target`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .loader import is_scenario_text
from .reporters.text import failure_text


class ScenarioFailed(Exception):
    """The scenario ran and did not pass; the item's report shows why."""

    def __init__(self, report: dict[str, Any]):
        self.report = report
        super().__init__(report["name"])


def is_scenario_file(path: Path) -> bool:
    if path.suffix not in (".yaml", ".yml"):
        return False
    try:
        return is_scenario_text(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return False


class ScenarioFile(pytest.File):
    def collect(self):
        yield ScenarioItem.from_parent(self, name=self.path.name.removesuffix(".yaml").removesuffix(".yml"))


class ScenarioItem(pytest.Item):
    def runtest(self) -> None:
        from .runner import run_file

        config = self.config
        target = config.getoption("entrasim_target", None)
        token = config.getoption("entrasim_token", None)
        result = run_file(self.path, target_url=target.rstrip("/") if target else None, target_token=token)
        report = result.as_dict()
        self.user_properties.append(("documented", report.get("documented") or ""))
        if report["status"] == "skipped":
            # reported at the scenario file, not at this line
            raise pytest.skip.Exception(report.get("message") or "skipped", _use_item_location=True)
        if report["status"] != "passed":
            raise ScenarioFailed(report)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ScenarioFailed):
            report = excinfo.value.report
            return f"scenario {report['name']} {report['status']}\n{failure_text(report)}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, 0, f"scenario {self.name}"


def collect_file(file_path: Path, parent: Any) -> ScenarioFile | None:
    """The ``pytest_collect_file`` hook's work (the plugin module holds the hook itself)."""
    if is_scenario_file(file_path):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def check_options(config: Any) -> None:
    """``--entrasim-target`` and ``--entrasim-token`` go together, and the target is an http(s) URL."""
    target = config.getoption("entrasim_target", None)
    token = config.getoption("entrasim_token", None)
    if target is not None and not target.startswith(("http://", "https://")):
        raise pytest.UsageError(f"--entrasim-target must be an http(s) SCIM base URL, got '{target}'")
    if (target is None) != (token is None):
        raise pytest.UsageError("--entrasim-target and --entrasim-token go together")


def add_options(parser: Any) -> None:
    group = parser.getgroup("entrasim", "entrasim scenarios")
    group.addoption("--entrasim-target", dest="entrasim_target", metavar="URL", default=None,
                    help="Run push-side scenarios against this SCIM base URL instead of the embedded LMS.")
    group.addoption("--entrasim-token", dest="entrasim_token", metavar="T", default=None,
                    help="Bearer token for --entrasim-target.")
