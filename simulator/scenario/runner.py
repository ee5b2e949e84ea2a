"""Run scenarios: build the environment, run each step, check its expectations, stop at the first failure.

A scenario passes when every step ran and every expectation held. The first
step that fails ends it (later steps would only report consequences); its
result keeps the expectation that failed, expected against actual, and the
HTTP exchanges of that step, redacted. A refusal a step meets (``StepError``)
fails the step unless the step expects it with ``error: {contains: ...}``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import tempfile
import time
import traceback
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..requestlog import Redactor
from .environment import ScenarioEnvironment
from .errors import ScenarioFileError, SetupError, StepError, VariableError
from .expectations import EXPECTATIONS
from .loader import is_scenario_text, load_scenario
from .model import Scenario, Step
from .results import (
    ERROR,
    FAILED,
    INVALID,
    PASSED,
    SKIPPED,
    ScenarioResult,
    StepResult,
    report_dict,
)
from .steps import STEPS
from .steps.faults import add_fault
from .variables import references, substitute


def catalogue_dir() -> Path:
    """Where the shipped catalogue lives: the ``scenarios`` package (installed) or the repository's scenarios/."""
    try:
        import scenarios as catalogue  # the package this project ships, not a user's module of the same name

        if getattr(catalogue, "ENTRASIM_CATALOGUE", False):
            return Path(catalogue.__file__).parent
    except ImportError:
        pass
    return Path(__file__).resolve().parents[2] / "scenarios"


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Scenario files among ``paths``: files as given, directories searched for YAML with a ``scenario:`` key."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for candidate in sorted(list(path.rglob("*.yaml")) + list(path.rglob("*.yml"))):
                try:
                    if is_scenario_text(candidate.read_text(encoding="utf-8")):
                        found.append(candidate)
                except (OSError, UnicodeDecodeError):
                    continue
        else:
            found.append(path)
    return found


def _check_step(env: ScenarioEnvironment, step: Step, result: StepResult) -> None:
    started = time.perf_counter()
    env.begin_step()
    expects_error = any(e.kind == "error" for e in step.expect)
    try:
        if step.kind != "expect":
            args = substitute(step.args, env.values)
            STEPS[step.kind](env, args)
    except StepError as exc:
        env.outcomes.error = env.redactor.clean(str(exc))
    except (VariableError, SetupError, LookupError, ValueError) as exc:
        result.status, result.error = ERROR, env.redactor.clean(str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug in entrasim or a server answering nonsense: say so, never crash the run
        last = traceback.extract_tb(exc.__traceback__)[-1]
        result.status = ERROR
        result.error = env.redactor.clean(f"{type(exc).__name__}: {exc} (at {Path(last.filename).name}:{last.lineno})")
    env.end_action()
    if result.status != ERROR:
        result.error = env.outcomes.error
        if env.outcomes.error is not None and not expects_error:
            result.status = FAILED
            result.mismatches = [{"what": "the step", "expected": "to succeed", "actual": env.outcomes.error}]
        else:
            result.status = PASSED
            for expectation in step.expect:
                try:
                    mismatches = EXPECTATIONS[expectation.kind](env, substitute(expectation.args, env.values))
                except (VariableError, SetupError, LookupError, ValueError) as exc:
                    mismatches = []
                    result.status, result.error = ERROR, env.redactor.clean(f"{expectation.describe()}: cannot check: {exc}")
                if mismatches or result.status == ERROR:
                    result.status = FAILED if result.status != ERROR else ERROR
                    result.expectation = expectation.describe()
                    result.mismatches = [env.redactor.clean_value(m.as_dict()) for m in mismatches]
                    break
    if result.status in (FAILED, ERROR):
        result.exchanges = env.step_exchanges()
        result.exchanges_omitted = env.exchanges_omitted
    result.duration_s = time.perf_counter() - started


def _setup_redactor(target_token: str | None) -> Redactor:
    """What cleans an error raised before the environment (and its own redactor) exists."""
    redactor = Redactor()
    redactor.add(target_token)
    return redactor


def run_scenario(scenario: Scenario, *, target_url: str | None = None, target_token: str | None = None) -> ScenarioResult:
    """Run one validated scenario in a fresh environment."""
    result = ScenarioResult(scenario.name, str(scenario.path) if scenario.path else None,
                            description=scenario.description, documented=scenario.documented)
    result.steps = [StepResult(s.index, s.kind, s.name, s.line) for s in scenario.steps]
    started = time.perf_counter()
    if target_url is not None:
        reason = None
        if not scenario.uses_push:
            reason = "it tests the Graph-pull LMS; it provisions nothing to a SCIM target"
        else:
            reason = scenario.embedded_lms_reason
        if reason:
            result.status, result.message = SKIPPED, f"not for --target: {reason}"
            return result
    with one_at_a_time(target_url or _file_target(scenario)), \
            tempfile.TemporaryDirectory(prefix="entrasim-scenario-") as workdir:
        try:
            env = ScenarioEnvironment(scenario, workdir=Path(workdir), target_url=target_url, target_token=target_token)
        except (SetupError, VariableError) as exc:
            result.status, result.message = ERROR, _setup_redactor(target_token).clean(f"cannot set the scenario up: {exc}")
            result.duration_s = time.perf_counter() - started
            return result
        except Exception as exc:  # noqa: BLE001 - a bug, or a server that would not start: one scenario's error, not the run's
            result.status, result.message = ERROR, _setup_redactor(target_token).clean(
                f"cannot set the scenario up: {type(exc).__name__}: {exc}")
            result.duration_s = time.perf_counter() - started
            return result
        try:
            for fault in scenario.faults:
                add_fault(env, substitute(fault, env.values))
            for step, step_result in zip(scenario.steps, result.steps):
                _check_step(env, step, step_result)
                if step_result.status != PASSED:
                    result.status = step_result.status
                    break
        finally:
            env.clean_external()
            env.close()
    result.duration_s = time.perf_counter() - started
    return result


@contextmanager
def one_at_a_time(target_url: str | None) -> Iterator[None]:
    """Scenarios writing to one external SCIM server run one after the other, across processes.

    Catalogue scenarios share userNames (ann@contoso.com...), so two of them at once in
    one server would see each other's accounts; ``-j N`` and ``pytest -n auto`` with a
    target wait on a lock file named after the URL instead. Embedded LMSs need no lock.
    """
    if target_url is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # not POSIX: run as asked
        yield
        return
    name = hashlib.sha256(target_url.encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"entrasim-target-{name}.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _file_target(scenario: Scenario) -> str | None:
    external = scenario.target.get("external") or {}
    url = external.get("url")
    return url if isinstance(url, str) and not references(url) else None


def run_file(path: str | Path, *, target_url: str | None = None, target_token: str | None = None) -> ScenarioResult:
    """Load and run one file; an invalid file is a result with its problems, not an exception."""
    try:
        scenario = load_scenario(path)
    except ScenarioFileError as exc:
        return ScenarioResult(Path(path).stem, str(path), status=INVALID, message="invalid scenario file",
                              problems=[p.format(str(path)) for p in exc.problems])
    return run_scenario(scenario, target_url=target_url, target_token=target_token)


def select(files: list[Path], keyword: str | None) -> list[Path]:
    """``-k``: a substring or glob of the scenario's file name (without .yaml)."""
    if not keyword:
        return files
    out = []
    for file in files:
        name = file.name.removesuffix(".yaml").removesuffix(".yml").removesuffix(".scenario")
        if keyword in name or fnmatch.fnmatch(name, keyword):
            out.append(file)
    return out


def _run_file_args(args: tuple) -> dict[str, Any]:
    path, target_url, target_token = args
    return run_file(path, target_url=target_url, target_token=target_token).as_dict()


def run_files(files: list[Path], *, target_url: str | None = None, target_token: str | None = None,
              jobs: int = 1, on_result: Any = None) -> dict[str, Any]:
    """Run every file (``jobs`` processes at once) and return the JSON report."""
    started = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    t0 = time.perf_counter()
    results: list[dict[str, Any]] = []
    work = [(str(f), target_url, target_token) for f in files]
    if jobs > 1 and len(work) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for item in pool.map(_run_file_args, work):
                results.append(item)
                if on_result:
                    on_result(item)
    else:
        for args in work:
            item = _run_file_args(args)
            results.append(item)
            if on_result:
                on_result(item)
    return report_dict(results, started=started, duration_s=time.perf_counter() - t0, target=target_url)


__all__ = ["catalogue_dir", "discover", "one_at_a_time", "run_file", "run_files", "run_scenario", "select"]
