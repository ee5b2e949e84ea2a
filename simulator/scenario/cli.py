"""``entrasim scenario``: run, list and validate scenario files.

``run`` with no paths runs the shipped catalogue on the embedded mocks: the
fastest way to see every documented failure happen. Exit status: 0 all passed,
1 some failed, 2 some files invalid (or a bad option); errors are one line on
stderr starting with ``entrasim: error:``.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from ..cli_errors import CliError
from .errors import ScenarioFileError
from .loader import load_scenario
from .reporters import print_report, render_html, render_junit
from .results import exit_code
from .runner import catalogue_dir, discover, run_files, select


def _files(paths: tuple[str, ...], keyword: str | None) -> list[Path]:
    for path in paths:
        if not Path(path).exists():
            raise CliError(f"no such file or directory: {path}")
    files = select(discover(paths or (catalogue_dir(),)), keyword)
    if not files:
        raise CliError("no scenario files found" + (f" matching -k {keyword}" if keyword else ""))
    return files


def _check_writable(*paths: str | None) -> None:
    """Refuse a report path whose directory does not exist before running anything, not after."""
    for path in paths:
        if path and not Path(path).resolve().parent.is_dir():
            raise CliError(f"cannot write {path}: its directory does not exist")


def _write(path: str | None, text: str) -> None:
    if path:
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None


@click.group("scenario")
def scenario() -> None:
    """Scenario files: documented Entra and LMS behaviours, run as executable checks."""


@scenario.command("run")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--target", metavar="URL", help="Provision into this SCIM base URL instead of the embedded LMS.")
@click.option("--token", metavar="T", envvar="ENTRASIM_TARGET_TOKEN",
              help="Bearer token for --target (or ENTRASIM_TARGET_TOKEN).")
@click.option("-k", "keyword", metavar="NAME", help="Only scenarios whose file name contains NAME (or matches a glob).")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), help="Write JUnit XML here.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the JSON report here.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="Write a self-contained HTML report here.")
@click.option("-j", "--jobs", type=click.IntRange(1), default=1, show_default=True,
              help="Scenarios run at once, each in its own process.")
def run_cmd(paths: tuple[str, ...], target: str | None, token: str | None, keyword: str | None,
            junit_path: str | None, json_path: str | None, html_path: str | None, jobs: int) -> None:
    """Run scenario files (default: the whole shipped catalogue) and report pass or fail."""
    if target is not None and not target.startswith(("http://", "https://")):
        raise CliError(f"--target must be an http(s) SCIM base URL, got '{target}'")
    if target is not None and not token:
        raise CliError("--target needs --token (or ENTRASIM_TARGET_TOKEN)")
    if token and target is None:
        raise CliError("--token is only used with --target")
    _check_writable(junit_path, json_path, html_path)
    files = _files(paths, keyword)
    console = Console(stderr=False)
    report = run_files(files, target_url=target.rstrip("/") if target else None, target_token=token, jobs=jobs)
    print_report(report, console)
    _write(json_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    _write(junit_path, render_junit(report))
    _write(html_path, render_html(report))
    raise SystemExit(exit_code(report))


@scenario.command("list")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-k", "keyword", metavar="NAME", help="Only scenarios whose file name contains NAME.")
def list_cmd(paths: tuple[str, ...], keyword: str | None) -> None:
    """List scenario files with their one-line description."""
    for file in _files(paths, keyword):
        try:
            scenario_ = load_scenario(file)
            first = (scenario_.description or "").strip().split(". ")[0].replace("\n", " ")
            click.echo(f"{scenario_.name:<44} {first}")
        except ScenarioFileError:
            click.echo(f"{file.stem:<44} (invalid: run `entrasim scenario validate {file}`)")


@scenario.command("validate")
@click.argument("paths", nargs=-1, type=click.Path())
def validate_cmd(paths: tuple[str, ...]) -> None:
    """Check scenario files (default: the shipped catalogue) without running them; every problem with its
    file, line and key."""
    bad = 0
    for file in _files(paths, None):
        try:
            load_scenario(file)
            click.echo(f"{file}: ok")
        except ScenarioFileError as exc:
            bad += 1
            for problem in exc.problems:
                click.echo(problem.format(str(file)), err=True)
    raise SystemExit(2 if bad else 0)


__all__ = ["scenario"]
