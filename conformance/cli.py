"""``entrasim conformance``: run the suite against a SCIM base URL (or our SCIM LMS) and write reports.

Exit status: 0 when no check fails, 1 when a MUST is broken, 2 when the suite
could not run (bad options, unreachable server, unwritable report). Progress
and the summary go to stderr; the token never appears in any output.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import click

from simulator.cli_errors import CliError


def _headers(token: str | None, header: tuple[str, ...]) -> dict[str, str]:
    headers: dict[str, str] = {}
    if token:
        if any(c.isspace() for c in token.strip()):
            raise CliError("--token must be the bare token, without 'Bearer ' or spaces")
        headers["Authorization"] = f"Bearer {token.strip()}"
    for item in header:
        name, sep, value = item.partition(":")
        if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
            raise CliError("--header must look like 'Name: value' (the value you gave is not shown: it may be a credential)")
        headers[name.strip()] = value.strip()
    return headers


def _write(path: str, text: str) -> None:
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None


@contextmanager
def _progress(total: int, enabled: bool) -> Iterator[Callable | None]:
    """A progress bar on an interactive stderr (a slow remote server takes minutes); nothing in CI logs."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True) as bar:
        task = bar.add_task("checks", total=total)
        yield lambda result: bar.update(task, advance=1, description=result.check.id)


@click.command("conformance")
@click.option("--target", metavar="URL", help="SCIM base URL (e.g. https://host/scim/v2). Default: our SCIM LMS, started in-process.")
@click.option("--token", envvar="SCIM_TOKEN", metavar="T", help="Bearer token (or set SCIM_TOKEN).")
@click.option("--header", multiple=True, metavar="'NAME: VALUE'", help="Extra request header, e.g. another auth scheme (repeatable).")
@click.option("--profile", "profiles", default="rfc", show_default=True, help="Comma-separated profiles: rfc, entra.")
@click.option("-k", "patterns", multiple=True, metavar="PATTERN", help="Only checks whose id or title contains PATTERN (glob allowed; 'not X' excludes; repeatable = all must match).")
@click.option("--read-only", is_flag=True, help="Run discovery and read checks only; create nothing.")
@click.option("--json", "json_file", metavar="F", help="Write the JSON report (the source of truth) to F.")
@click.option("--junit", "junit_file", metavar="F", help="Write JUnit XML to F.")
@click.option("--html", "html_file", metavar="F", help="Write a self-contained HTML report to F.")
@click.option("--lms-profile", default="rfc", show_default=True, help="Without --target: the profile our SCIM LMS serves.")
@click.option("--ca-bundle", type=click.Path(dir_okay=False, exists=True), help="CA certificate(s) to trust for https targets.")
@click.option("--insecure", is_flag=True, help="Do not verify the target's TLS certificate.")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=30, show_default=True, help="Seconds per request.")
@click.option("--list", "list_only", is_flag=True, help="List the selected checks and exit.")
@click.option("--verbose", "-v", is_flag=True, help="Show every check in the console table, not only the problems.")
@click.option("--quiet", "-q", is_flag=True, help="No console summary.")
def conformance(target, token, header, profiles, patterns, read_only, json_file, junit_file, html_file, lms_profile,
                ca_bundle, insecure, timeout, list_only, verbose, quiet) -> None:
    """Grade a SCIM server against RFC 7643/7644 (and client profiles such as Entra's)."""
    from .registry import select
    from .report import print_summary, render_html, render_junit, to_json
    from .runner import RunOptions, run_suite

    wanted = tuple(p.strip() for p in profiles.split(",") if p.strip())
    try:
        checks = select(wanted, patterns)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if list_only:
        width = max((len(c.id) for c in checks), default=0)
        for c in checks:
            click.echo(f"{c.id:{width}} {c.level.value:6} {c.title}  [{c.section}; {', '.join(c.profiles)}]")
        return
    if not checks:
        raise CliError("no check matches the selected profiles and -k patterns")
    if target and not target.startswith(("http://", "https://")):
        raise CliError(f"--target must be an http(s) URL, got {target!r}")
    headers = _headers(token, header)
    with ExitStack() as stack:
        if not target:
            from simulator.lms.scim.profiles import ProfileError

            from .local import local_lms

            try:
                target, local_token = stack.enter_context(local_lms(lms_profile))
            except ProfileError as exc:
                raise CliError(str(exc)) from None
            headers = {"Authorization": f"Bearer {local_token}"}
            if not quiet:
                click.echo(f"no --target: running against our SCIM LMS (profile {lms_profile}) at {target}", err=True)
                if "entra" in wanted and lms_profile == "rfc":
                    click.echo("  its rfc profile refuses Entra's non-RFC dialect on purpose, so entra checks fail; "
                               "--lms-profile entra-tolerant serves what Entra sends", err=True)
        options = RunOptions(base_url=target, headers=headers, profiles=wanted, read_only=read_only, patterns=patterns,
                             timeout=timeout, verify=False if insecure else (ca_bundle or True))
        with _progress(len(checks), enabled=not quiet and sys.stderr.isatty()) as progress:
            result = run_suite(options, checks, progress=progress)
    report = to_json(result)
    if json_file:
        _write(json_file, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    if junit_file:
        _write(junit_file, render_junit(report))
    if html_file:
        _write(html_file, render_html(report))
    if result.fatal:
        if result.results and not quiet:  # interrupted: show what was reached before saying why it stopped
            print_summary(report, verbose=verbose)
        raise CliError(result.fatal)
    if not quiet:
        print_summary(report, verbose=verbose)
    sys.exit(result.exit_code)
