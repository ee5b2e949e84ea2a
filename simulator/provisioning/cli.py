"""``entrasim provision``: job files (init, validate), running them (run, on-demand, test-connection, restart),
and what a run leaves behind (HTML report, transcript, replay of a transcript against another SCIM server).

Registered on the main command line by ``simulator.cli`` (``main.add_command(provision)``).
Errors follow the project's convention: one line on stderr starting with
``entrasim: error:`` and exit status 2; ``validate`` prints one line per problem,
``FILE:LINE: key.path: message``, and exits with status 1 when there are any.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..cli_errors import CliError
from .job import PRESETS, JobFileError, load_job, preset_text


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def provision() -> None:
    """Entra-style provisioning to a SCIM server: job files, cycles, test connection."""


@provision.command("init")
@click.option("--preset", type=click.Choice(PRESETS), default="customappsso", show_default=True,
              help="customappsso: Entra's non-gallery SCIM template; email-keyed: the 360Learning mapping.")
@click.option("-o", "--output", default="job.yaml", show_default=True, help="Job file to write ('-': standard output).")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
def init_cmd(preset: str, output: str, force: bool) -> None:
    """Write a provisioning job file to edit, from a preset."""
    text = preset_text(preset)
    if output == "-":
        click.echo(text, nl=False)
        return
    target = Path(output)
    if target.is_dir():
        raise CliError(f"cannot write {output}: it is a directory")
    if target.exists() and not force:
        raise CliError(f"{output} already exists; use --force to overwrite it")
    if not target.parent.is_dir():
        raise CliError(f"cannot write {output}: directory {target.parent} does not exist")
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"wrote {output} (preset {preset}); edit target and source, then run: entrasim provision validate {output}")


@provision.command("validate")
@click.argument("job_file", metavar="FILE")
def validate_cmd(job_file: str) -> None:
    """Check a job file; print each problem with its line, exit 1 if there is any."""
    path = Path(job_file)
    if not path.is_file():
        raise CliError(f"cannot read {job_file}: " + ("it is a directory" if path.is_dir() else "no such file"))
    try:
        job = load_job(path)
    except JobFileError as exc:
        for problem in exc.problems:
            click.echo(problem.format(job_file), err=True)
        count = len(exc.problems)
        click.echo(f"{job_file}: {count} problem{'s' if count != 1 else ''}", err=True)
        sys.exit(1)
    groups = f"{len(job.groups.attributes)} attribute mappings" if job.groups.enabled else "disabled"
    click.echo(f"{job_file}: valid (users: {len(job.users.attributes)} attribute mappings, groups: {groups}; "
               f"dialect {job.dialect}; source {job.source.kind}; scope {job.scope})")


# ------------------------------------------------------------------ running jobs


def _with_source(job, spec: str | None):  # noqa: ANN001, ANN202 - a Job
    """The job reading another source: ``snapshot:PATH``, or ``graph:INFO`` where INFO is the file
    ``entrasim serve graph --info-file`` writes (or any JSON with the same keys)."""
    import dataclasses
    import json as jsonlib

    from .job import GraphSource, Secret, SourceConfig

    if spec is None:
        return job
    kind, _, target = spec.partition(":")
    if kind not in ("snapshot", "graph") or not target:
        raise CliError(f"--source must be snapshot:PATH or graph:INFO_FILE, got '{spec}'")
    path = Path(target)
    if not path.is_file():
        raise CliError(f"--source: cannot read {target}: no such file")
    if kind == "snapshot":
        return dataclasses.replace(job, source=SourceConfig(kind="snapshot", snapshot=path))
    try:
        info = jsonlib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CliError(f"--source: {target} is not a JSON info file: {exc}") from None
    missing = [key for key in ("tenant_id", "client_id", "client_secret", "authority_host", "graph_url")
               if not isinstance(info, dict) or not info.get(key)]
    if missing:
        raise CliError(f"--source: {target} lacks {', '.join(missing)} (write it with "
                                "entrasim serve graph --info-file)")
    graph = GraphSource(tenant_id=info["tenant_id"], client_id=info["client_id"],
                        client_secret=Secret(value=info["client_secret"]), authority=info["authority_host"],
                        graph_url=info["graph_url"], ca_bundle=Path(info["ca_bundle"]) if info.get("ca_bundle") else None,
                        service_principal_id=info.get("provisioning_service_principal_id"))
    return dataclasses.replace(job, source=SourceConfig(kind="graph", graph=graph))


def _load(job_file: str):  # noqa: ANN202 - a Job
    path = Path(job_file)
    if not path.is_file():
        raise CliError(f"cannot read {job_file}: " + ("it is a directory" if path.is_dir() else "no such file"))
    try:
        return load_job(path)
    except JobFileError as exc:
        first = exc.problems[0].format(job_file)
        more = len(exc.problems) - 1
        raise CliError(first + (f" (and {more} more problem{'s' if more != 1 else ''}; "
                                         f"see: entrasim provision validate {job_file})" if more else "")) from None


def job_argument(command):  # noqa: ANN001, ANN201 - a click command function
    """The job file, given either as the positional JOB or as ``--job FILE`` (the spelling the issue and Entra's
    docs use); the command receives it as ``job_file``."""
    command = click.option("--job", "job_option", metavar="FILE", default=None,
                           help="The job file (the same as giving JOB).")(command)
    return click.argument("job_file", metavar="[JOB]", required=False)(command)


def _job_path(job_file: str | None, job_option: str | None) -> str:
    """The one job file given; a one-line usage error when there is none or two."""
    if job_file is not None and job_option is not None:
        raise CliError("give the job file once: either JOB or --job FILE, not both")
    if job_file is None and job_option is None:
        raise CliError("no job file: give JOB or --job FILE")
    return job_file if job_file is not None else job_option


DEFAULT_MAX_CYCLES = 10


def is_steady(summary) -> bool:  # noqa: ANN001 - a CycleSummary
    """A cycle that succeeded and exported nothing: every object it looked at was skipped (RedundantExport...)."""
    return summary.state == "Succeeded" and summary.count(status="skipped") == summary.processed


def _default_path(job_file: str, suffix: str) -> Path:
    path = Path(job_file)
    return path.with_name(path.stem + suffix)


def _engine(job, state_path: Path, log_path: Path | None, *, quiet: bool, keep_records: bool = False):  # noqa: ANN001, ANN202
    from .engine import EngineError, ProvisioningEngine
    from .logs import ProvisioningLog
    from .sources import SourceError, source_for
    from .state import JobState, StateError

    try:
        source = source_for(job)
    except SourceError as exc:
        raise CliError(str(exc)) from None
    try:
        state = JobState(state_path)
    except StateError as exc:
        source.close()
        raise CliError(str(exc)) from None
    try:
        log = ProvisioningLog(log_path, keep=keep_records)
    except OSError as exc:
        source.close()
        state.close()
        raise CliError(f"cannot write the log {log_path}: {exc.strerror or exc}") from None
    progress = _Progress(quiet)
    try:
        engine = ProvisioningEngine(job, source, state, log, progress=progress.update, notify=progress.note)
    except EngineError as exc:
        source.close()
        state.close()
        log.close()
        raise CliError(str(exc)) from None
    return engine, state, log, progress


class _Progress:
    """Progress bars on stderr (only on a terminal), one per phase of a cycle."""

    def __init__(self, quiet: bool):
        from rich.console import Console

        self.console = Console(stderr=True)
        self.enabled = not quiet and self.console.is_terminal
        self.quiet = quiet
        self._progress = None
        self._tasks: dict[str, int] = {}

    def start(self, title: str) -> None:
        if not self.enabled:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(TextColumn(f"{title} [bold]{{task.description}}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=self.console, transient=True)
        self._progress.start()
        self._tasks = {}

    def update(self, phase: str, done: int, total: int) -> None:
        if self._progress is None:
            return
        task = self._tasks.get(phase)
        if task is None:
            task = self._tasks[phase] = self._progress.add_task(phase, total=total)
        self._progress.update(task, completed=done, total=total)

    def note(self, message: str) -> None:
        if not self.quiet:
            self.console.print(f"entrasim: {message}", highlight=False)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _summary_table(summary) -> None:  # noqa: ANN001 - a CycleSummary
    from rich.console import Console
    from rich.table import Table

    data = summary.as_dict()
    console = Console(highlight=False, soft_wrap=True)
    title = (f"{data['kind']} cycle {data['cycleId']}: {data['state']} — {data['processed']} objects in "
             f"{data['durationSeconds']:.2f} s ({data['objectsPerSecond']:.1f} objects/s, {data['requests']} requests)")
    console.print(title)
    if data["byAction"]:
        table = Table(show_edge=False, pad_edge=False)
        table.add_column("action")
        for status in ("success", "skipped", "failure", "warning"):
            table.add_column(status.capitalize(), justify="right")
        for action, counts in data["byAction"].items():
            table.add_row(action, *(str(counts.get(s, 0) or "") for s in ("success", "skipped", "failure", "warning")))
        console.print(table)
    if data["reasons"]:
        console.print("reasons: " + ", ".join(f"{k} {v}" for k, v in data["reasons"].items()))
    if data["escrowed"] or data["stagedDeletes"]:
        console.print(f"escrowed: {data['escrowed']}, staged deletes: {data['stagedDeletes']}")
    if data["quarantine"]:
        q = data["quarantine"]
        console.print(f"quarantine: {q['reason']} until {q['next_attempt']}" + (f" ({q['details']})" if q["details"] else ""))
    for note in data["notes"]:
        console.print(f"note: {note}")


@provision.command("run")
@job_argument
@click.option("--cycles", type=click.IntRange(1), default=None, help="Run N cycles back to back (default 1).")
@click.option("--until-steady", is_flag=True,
              help="Run cycles until one exports nothing (every object skipped), at most --max-cycles.")
@click.option("--max-cycles", type=click.IntRange(1), default=None,
              help=f"With --until-steady: give up after N cycles (default {DEFAULT_MAX_CYCLES}).")
@click.option("--initial", "mode", flag_value="initial", help="Run an initial cycle (every object), as after a restart.")
@click.option("--incremental", "mode", flag_value="incremental", help="Run an incremental cycle (changes since the watermark).")
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help="Job state (SQLite); default JOB's name + .state.db.")
@click.option("--log", "log_file", type=click.Path(dir_okay=False), help="Provisioning log (JSON lines, appended); default JOB's name + .log.jsonl.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False),
              help="Write a self-contained HTML report of this run's cycles (totals, failures by code, timeline).")
@click.option("--transcript", "transcript_file", type=click.Path(dir_okay=False),
              help="Write every HTTP exchange of this run, in full, as JSON lines (credentials redacted).")
@click.option("--source", "source_spec", metavar="SPEC",
              help="Read another source than the job's: snapshot:PATH, or graph:INFO (an `entrasim serve graph` info file).")
@click.option("--json", "as_json", is_flag=True, help="Print the cycle summaries as JSON.")
@click.option("--quiet", is_flag=True, help="No progress or notes on stderr.")
def run_cmd(job_file: str | None, job_option: str | None, cycles: int | None, until_steady: bool,
            max_cycles: int | None, mode: str | None, state_file: str | None, log_file: str | None,
            report_file: str | None, transcript_file: str | None, source_spec: str | None, as_json: bool,
            quiet: bool) -> None:
    """Run provisioning cycles: read the source, push users, groups, memberships and managers to the SCIM target.

    Exit status: 0 when every cycle succeeded (with --until-steady: when a steady cycle was reached), 1 when a
    cycle had failures, was skipped (quarantine) or failed, or no cycle was steady; 2 on a usage or
    configuration error.
    """
    import json as jsonlib

    from .engine import EngineError
    from .sources import SourceError

    job_file = _job_path(job_file, job_option)
    if cycles is not None and mode is not None:
        raise CliError("give --cycles or --initial/--incremental, not both")
    if cycles is not None and until_steady:
        raise CliError("give --cycles or --until-steady, not both")
    if max_cycles is not None and not until_steady:
        raise CliError("--max-cycles only applies with --until-steady")
    job = _with_source(_load(job_file), source_spec)
    state_path = Path(state_file) if state_file else _default_path(job_file, ".state.db")
    log_path = Path(log_file) if log_file else _default_path(job_file, ".log.jsonl")
    report_path = Path(report_file) if report_file else None
    transcript_path = Path(transcript_file) if transcript_file else None
    for path in (state_path, log_path, *(p for p in (report_path, transcript_path) if p is not None)):
        if not path.parent.is_dir():
            raise CliError(f"cannot write {path}: directory {path.parent} does not exist")
    transcript = _transcript(transcript_path, job) if transcript_path is not None else None
    try:
        engine, state, log, progress = _engine(job, state_path, log_path, quiet=quiet)
    except CliError:
        if transcript is not None:
            transcript.close()
        raise
    if transcript is not None:
        engine.client.exchange_hook = transcript.record  # from the first probe on
    summaries = []
    bound = (max_cycles or DEFAULT_MAX_CYCLES) if until_steady else (cycles or 1)
    try:
        for index in range(bound):
            progress.start(f"cycle {index + 1}")
            try:
                summaries.append(engine.run_cycle((mode or "auto") if index == 0 else "auto"))
            finally:
                progress.stop()
            if not as_json:
                _summary_table(summaries[-1])
            if until_steady and (is_steady(summaries[-1]) or summaries[-1].state in ("Failed", "Skipped")):
                break
    except (EngineError, SourceError) as exc:
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("entrasim: error: interrupted; the next run resumes the cycle without creating anything twice",
                   err=True)
        sys.exit(130)
    finally:
        engine.close()
        state.close()
        log.close()
        if transcript is not None:
            transcript.close()
    if report_path is not None:
        _write_report(report_path, job, summaries, log_path)
    if as_json:
        click.echo(jsonlib.dumps([s.as_dict() for s in summaries], indent=2))
    elif not quiet:
        click.echo(f"log: {log_path}  state: {state_path}" + (f"  report: {report_path}" if report_path else ""),
                   err=True)
    if until_steady:
        last = summaries[-1]
        if is_steady(last):
            if not as_json and not quiet:
                click.echo(f"steady after {len(summaries)} cycle{'s' if len(summaries) != 1 else ''}: "
                           "the last one exported nothing", err=True)
            return
        if last.state in ("Failed", "Skipped"):
            problem = f"cycle {len(summaries)} {last.state.lower()} ({'; '.join(last.notes[-1:]) or last.state})"
        else:
            problem = (f"cycle {len(summaries)} still exported {last.processed - last.count(status='skipped')} "
                       f"object{'s' if last.processed - last.count(status='skipped') != 1 else ''}")
        click.echo(f"entrasim: error: not steady after {len(summaries)} cycle{'s' if len(summaries) != 1 else ''}: "
                   f"{problem}", err=True)
        sys.exit(1)
    if any(s.state != "Succeeded" for s in summaries):
        sys.exit(1)


def _secrets(job) -> list[str]:  # noqa: ANN001 - a Job
    from .job import SecretUnavailable

    try:
        return [job.secret_token.reveal()] if job.secret_token is not None else []
    except SecretUnavailable:
        return []


def _transcript(path: Path, job):  # noqa: ANN001, ANN202 - a Job; a TranscriptWriter
    """A transcript file for the job's SCIM exchanges (hooked to the engine's client once it exists)."""
    from .scim_client import split_tenant_url
    from .transcript import TranscriptWriter

    try:
        return TranscriptWriter(path, split_tenant_url(job.tenant_url), secrets=_secrets(job))
    except OSError as exc:
        raise CliError(f"cannot write the transcript {path}: {exc.strerror or exc}") from None


def _write_report(report_path: Path, job, summaries: list, log_path: Path) -> None:  # noqa: ANN001 - a Job
    """The HTML report of this run's cycles, from the summaries and the records the log file holds for them."""
    from .logs import read_log
    from .report import render_report

    page = render_report([s.as_dict() for s in summaries], read_log(log_path),
                         title=f"Provisioning report: {job.tenant_url}", secrets=_secrets(job))
    try:
        report_path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write the report {report_path}: {exc.strerror or exc}") from None


@provision.command("on-demand")
@click.option("--job", "job_option", metavar="FILE", required=True, help="The job file.")
@click.argument("user", metavar="USER")
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help="Job state; default JOB's name + .state.db.")
@click.option("--log", "log_file", type=click.Path(dir_okay=False), help="Provisioning log (appended); default JOB's name + .log.jsonl.")
@click.option("--json", "as_json", is_flag=True, help="Print the result, its records and steps as JSON.")
def on_demand_cmd(job_option: str, user: str, state_file: str | None, log_file: str | None, as_json: bool) -> None:
    """Provision one user now, as Entra's "Provision on demand": USER is its object id or userPrincipalName.

    Prints each step (import, scope, match, action) and the result. Exit status: 0 when the user was created,
    updated, disabled or skipped (the reason is shown), 1 when it failed, 2 on a usage or configuration error.
    """
    import dataclasses
    import json as jsonlib

    from .engine import EngineError
    from .sources import SourceError

    job = _load(job_option)
    notes = []
    if job.dialect != "default":
        notes.append(f"dialect {job.dialect} does not apply to on-demand provisioning (as in Entra): "
                     "requests use the default dialect")
        job = dataclasses.replace(job, dialect="default")
    state_path = Path(state_file) if state_file else _default_path(job_option, ".state.db")
    log_path = Path(log_file) if log_file else _default_path(job_option, ".log.jsonl")
    for path in (state_path, log_path):
        if not path.parent.is_dir():
            raise CliError(f"cannot write {path}: directory {path.parent} does not exist")
    engine, state, log, _progress = _engine(job, state_path, log_path, quiet=True, keep_records=True)
    try:
        result = engine.provision_on_demand(user)
    except (EngineError, SourceError) as exc:
        raise CliError(str(exc)) from None
    finally:
        engine.close()
        state.close()
        log.close()
    result.summary.notes[:0] = notes
    if as_json:
        click.echo(jsonlib.dumps(result.as_dict(), indent=2))
    else:
        _print_on_demand(result)
    if not result.ok:
        sys.exit(1)


def _print_on_demand(result) -> None:  # noqa: ANN001 - an OnDemandResult
    """The steps of each record, then one line with the result, as the on-demand pane shows them."""
    if result.user is None:  # the test connection failed: its message is the last note
        for note in result.summary.notes[:-1]:
            click.echo(f"note: {note}")
        click.echo("FAILED: " + "; ".join(result.summary.notes[-1:]))
        return
    for note in result.summary.notes:
        click.echo(f"note: {note}")
    number = 0
    for record in result.records:
        data = record.as_dict()
        for step in data["provisioningSteps"]:
            number += 1
            click.echo(f"{number}. [{step['status']}] {step['name']}: {step['description']}")
            for key, value in step["details"].items():
                click.echo(f"     {key}: {value}")
        for prop in data["modifiedProperties"]:
            click.echo(f"     {prop['displayName']}: {prop['oldValue']} -> {prop['newValue']}")
    name = result.user.user.userPrincipalName or result.user.id
    failures = [r for r in result.records if r.status == "failure"]
    if failures:
        error = failures[0].error
        click.echo(f"FAILED: {name}: {error.code}: {error.reason.splitlines()[0]}" if error else f"FAILED: {name}")
        return
    if result.summary.state == "Failed":
        click.echo(f"FAILED: {name}: " + "; ".join(result.summary.notes[-1:]))
        return
    main = result.records[0] if result.records else None
    if main is None:
        click.echo(f"OK: {name}: nothing to do")
    elif main.status == "skipped":
        click.echo(f"OK: {name}: skipped ({main.skip_reason})")
    else:
        target = f" (target id {main.target_id})" if main.target_id else ""
        click.echo(f"OK: {name}: {main.action}{target}")


@provision.command("test-connection")
@job_argument
@click.option("--json", "as_json", is_flag=True, help="Print the result and the requests as JSON.")
def test_connection_cmd(job_file: str | None, job_option: str | None, as_json: bool) -> None:
    """Test the connection to the SCIM target as Entra does: query a user that cannot exist (exit 1 on failure)."""
    import json as jsonlib

    from .engine import EngineError, client_for, test_connection

    job = _load(_job_path(job_file, job_option))
    try:
        client = client_for(job)
    except EngineError as exc:
        raise CliError(str(exc)) from None
    with client:
        result = test_connection(client, job)
    if as_json:
        click.echo(jsonlib.dumps(result.as_dict(), indent=2))
    else:
        click.echo(("OK: " if result.ok else "FAILED: ") + result.message)
        for detail in result.details:
            click.echo(f"  {detail}")
        for exchange in result.exchanges:
            click.echo(f"  {exchange.method} {exchange.url} -> {exchange.status or exchange.error}")
    if not result.ok:
        sys.exit(1)


@provision.command("restart")
@job_argument
@click.option("--reset", "scope", required=True,
              type=click.Choice(["watermark", "escrows", "quarantine", "connectordatastore", "forcedeletes", "full"]),
              help="What to clear (Graph's restart criteria); forcedeletes lets held deletions through.")
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help="Job state; default JOB's name + .state.db.")
def restart_cmd(job_file: str | None, job_option: str | None, scope: str, state_file: str | None) -> None:
    """Restart a job: clear its watermark, escrows, quarantine or object connections, or allow held deletions."""
    from .state import JobState, StateError

    job_file = _job_path(job_file, job_option)
    state_path = Path(state_file) if state_file else _default_path(job_file, ".state.db")
    if not state_path.is_file():
        raise CliError(f"no job state at {state_path}: nothing to restart")
    try:
        with JobState(state_path) as state:
            state.reset(scope)
    except StateError as exc:
        raise CliError(str(exc)) from None
    click.echo(f"{state_path}: reset {scope}; the next run starts "
               + ("an initial cycle" if scope in ("watermark", "full", "connectordatastore") else "where the job left off"))


@provision.command("replay")
@click.argument("transcript_file", metavar="TRANSCRIPT")
@click.option("--target", required=True, help="SCIM base URL to send the requests to (e.g. http://host/scim/v2).")
@click.option("--token", required=True, envvar="ENTRASIM_REPLAY_TOKEN", show_envvar=True,
              help="Bearer token for the target.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def replay_cmd(transcript_file: str, target: str, token: str, as_json: bool) -> None:
    """Send a run's transcript to another SCIM server and report where its answers differ (status, body keys).

    Ids the new server assigns are learned from its answers and rewritten in later requests. Exit status: 0 when
    every answer matched, 1 when any differed, 2 on a usage error.
    """
    import json as jsonlib
    from urllib.parse import urlsplit

    from .replay import replay
    from .transcript import TranscriptError, read_transcript

    path = Path(transcript_file)
    if not path.is_file():
        raise CliError(f"cannot read {transcript_file}: " + ("it is a directory" if path.is_dir() else "no such file"))
    if urlsplit(target).scheme not in ("http", "https") or not urlsplit(target).netloc:
        raise CliError(f"--target {target}: give the SCIM base URL, starting with http:// or https://")
    try:
        entries = read_transcript(path)
    except TranscriptError as exc:
        raise CliError(str(exc)) from None
    report = replay(entries, target, token)
    if as_json:
        click.echo(jsonlib.dumps(report.as_dict(), indent=2))
    else:
        for difference in report.differences:
            click.echo(difference.describe())
        click.echo(f"{report.sent} requests replayed to {report.target}: {report.sent - len(report.differences)} same, "
                   f"{len(report.differences)} different ({len(report.ids)} ids rewritten)")
    if report.differences:
        sys.exit(1)


@provision.command("validator")
@job_argument
@click.option("--json", "json_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also write the results, with every request, as JSON to FILE.")
@click.option("--groups/--no-groups", default=None,
              help="Run the group tests (default: when the job provisions groups).")
def validator_cmd(job_file: str | None, job_option: str | None, json_file: str | None, groups: bool | None) -> None:
    """Replay the Microsoft SCIM Validator's tests against the job's target (exit 1 when any fails).

    The validator's own requests, not the production client's: lowercase ops,
    path-less dotted replaces, manager as {"value": ...}, a duplicate POST that
    must answer 409, filters in another letter case, excludedAttributes=members,
    and answers that must be application/scim+json. What it creates it deletes.
    """
    import json as jsonlib

    from ..requestlog import Redactor
    from .engine import EngineError
    from .validator import run_validator

    job = _load(_job_path(job_file, job_option))
    if json_file is not None and not Path(json_file).resolve().parent.is_dir():
        raise CliError(f"cannot write {json_file}: directory {Path(json_file).parent} does not exist")
    try:
        report = run_validator(job, groups=groups)
    except EngineError as exc:
        raise CliError(str(exc)) from None
    redactor = Redactor()  # a target may echo the token back in a body or a detail
    redactor.add(*_secrets(job))
    clean = redactor.clean
    width = max(len(test.name) for test in report.tests)
    for test in report.tests:
        click.echo(clean(f"{'PASS' if test.passed else 'FAIL'}  {test.name:<{width}}  {test.reason}".rstrip()))
        if not test.passed:
            for exchange in test.exchanges:
                click.echo(clean(f"        {exchange.method} {exchange.url} -> {exchange.status or exchange.error}"))
                if exchange.request_body:
                    click.echo(clean(f"          request:  {exchange.request_body}"))
                if exchange.response_body:
                    click.echo(clean(f"          response: {exchange.response_body}"))
    click.echo(f"{report.passed} passed, {report.failed} failed against {report.target}")
    if json_file is not None:
        try:
            Path(json_file).write_text(jsonlib.dumps(redactor.clean_value(report.as_dict()), indent=2) + "\n")
        except OSError as exc:
            raise CliError(f"cannot write {json_file}: {exc.strerror or exc}") from None
    if not report.ok:
        sys.exit(1)
