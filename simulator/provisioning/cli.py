"""``entrasim provision``: job files (init, validate), and running them (run, test-connection, restart).

Registered on the main command line by ``simulator.cli`` (``main.add_command(provision)``).
Errors follow the project's convention: one line on stderr starting with
``entrasim: error:`` and exit status 2; ``validate`` prints one line per problem,
``FILE:LINE: key.path: message``, and exits with status 1 when there are any.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .job import PRESETS, JobFileError, load_job, preset_text


class ProvisionCliError(click.ClickException):
    """A one-line error and exit status 2, like the rest of the ``entrasim`` command line."""

    exit_code = 2

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo(f"entrasim: error: {self.format_message()}", err=True)


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
        raise ProvisionCliError(f"cannot write {output}: it is a directory")
    if target.exists() and not force:
        raise ProvisionCliError(f"{output} already exists; use --force to overwrite it")
    if not target.parent.is_dir():
        raise ProvisionCliError(f"cannot write {output}: directory {target.parent} does not exist")
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ProvisionCliError(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"wrote {output} (preset {preset}); edit target and source, then run: entrasim provision validate {output}")


@provision.command("validate")
@click.argument("job_file", metavar="FILE")
def validate_cmd(job_file: str) -> None:
    """Check a job file; print each problem with its line, exit 1 if there is any."""
    path = Path(job_file)
    if not path.is_file():
        raise ProvisionCliError(f"cannot read {job_file}: " + ("it is a directory" if path.is_dir() else "no such file"))
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


def _load(job_file: str):  # noqa: ANN202 - a Job
    path = Path(job_file)
    if not path.is_file():
        raise ProvisionCliError(f"cannot read {job_file}: " + ("it is a directory" if path.is_dir() else "no such file"))
    try:
        return load_job(path)
    except JobFileError as exc:
        first = exc.problems[0].format(job_file)
        more = len(exc.problems) - 1
        raise ProvisionCliError(first + (f" (and {more} more problem{'s' if more != 1 else ''}; "
                                         f"see: entrasim provision validate {job_file})" if more else "")) from None


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
        raise ProvisionCliError(str(exc)) from None
    try:
        state = JobState(state_path)
    except StateError as exc:
        source.close()
        raise ProvisionCliError(str(exc)) from None
    try:
        log = ProvisioningLog(log_path, keep=keep_records)
    except OSError as exc:
        source.close()
        state.close()
        raise ProvisionCliError(f"cannot write the log {log_path}: {exc.strerror or exc}") from None
    progress = _Progress(quiet)
    try:
        engine = ProvisioningEngine(job, source, state, log, progress=progress.update, notify=progress.note)
    except EngineError as exc:
        source.close()
        state.close()
        log.close()
        raise ProvisionCliError(str(exc)) from None
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
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
@click.argument("job_file", metavar="JOB")
@click.option("--cycles", type=click.IntRange(1), default=None, help="Run N cycles back to back (default 1).")
@click.option("--initial", "mode", flag_value="initial", help="Run an initial cycle (every object), as after a restart.")
@click.option("--incremental", "mode", flag_value="incremental", help="Run an incremental cycle (changes since the watermark).")
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help="Job state (SQLite); default JOB's name + .state.db.")
@click.option("--log", "log_file", type=click.Path(dir_okay=False), help="Provisioning log (JSON lines, appended); default JOB's name + .log.jsonl.")
@click.option("--json", "as_json", is_flag=True, help="Print the cycle summaries as JSON.")
@click.option("--quiet", is_flag=True, help="No progress or notes on stderr.")
def run_cmd(job_file: str, cycles: int | None, mode: str | None, state_file: str | None, log_file: str | None,
            as_json: bool, quiet: bool) -> None:
    """Run provisioning cycles: read the source, push users, groups, memberships and managers to the SCIM target.

    Exit status: 0 when every cycle succeeded, 1 when a cycle had failures, was skipped (quarantine) or failed,
    2 on a usage or configuration error.
    """
    import json as jsonlib

    from .engine import EngineError
    from .sources import SourceError

    if cycles is not None and mode is not None:
        raise ProvisionCliError("give --cycles or --initial/--incremental, not both")
    job = _load(job_file)
    state_path = Path(state_file) if state_file else _default_path(job_file, ".state.db")
    log_path = Path(log_file) if log_file else _default_path(job_file, ".log.jsonl")
    for path in (state_path, log_path):
        if not path.parent.is_dir():
            raise ProvisionCliError(f"cannot write {path}: directory {path.parent} does not exist")
    engine, state, log, progress = _engine(job, state_path, log_path, quiet=quiet)
    summaries = []
    try:
        for index in range(cycles or 1):
            progress.start(f"cycle {index + 1}")
            try:
                summaries.append(engine.run_cycle((mode or "auto") if index == 0 else "auto"))
            finally:
                progress.stop()
            if not as_json:
                _summary_table(summaries[-1])
    except (EngineError, SourceError) as exc:
        raise ProvisionCliError(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("entrasim: error: interrupted; the next run resumes the cycle without creating anything twice",
                   err=True)
        sys.exit(130)
    finally:
        engine.close()
        state.close()
        log.close()
    if as_json:
        click.echo(jsonlib.dumps([s.as_dict() for s in summaries], indent=2))
    elif not quiet:
        click.echo(f"log: {log_path}  state: {state_path}", err=True)
    if any(s.state != "Succeeded" for s in summaries):
        sys.exit(1)


@provision.command("test-connection")
@click.argument("job_file", metavar="JOB")
@click.option("--json", "as_json", is_flag=True, help="Print the result and the requests as JSON.")
def test_connection_cmd(job_file: str, as_json: bool) -> None:
    """Test the connection to the SCIM target as Entra does: query a user that cannot exist (exit 1 on failure)."""
    import json as jsonlib

    from .engine import EngineError, client_for, test_connection

    job = _load(job_file)
    try:
        client = client_for(job)
    except EngineError as exc:
        raise ProvisionCliError(str(exc)) from None
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
@click.argument("job_file", metavar="JOB")
@click.option("--reset", "scope", required=True,
              type=click.Choice(["watermark", "escrows", "quarantine", "connectordatastore", "forcedeletes", "full"]),
              help="What to clear (Graph's restart criteria); forcedeletes lets held deletions through.")
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help="Job state; default JOB's name + .state.db.")
def restart_cmd(job_file: str, scope: str, state_file: str | None) -> None:
    """Restart a job: clear its watermark, escrows, quarantine or object connections, or allow held deletions."""
    from .state import JobState, StateError

    state_path = Path(state_file) if state_file else _default_path(job_file, ".state.db")
    if not state_path.is_file():
        raise ProvisionCliError(f"no job state at {state_path}: nothing to restart")
    try:
        with JobState(state_path) as state:
            state.reset(scope)
    except StateError as exc:
        raise ProvisionCliError(str(exc)) from None
    click.echo(f"{state_path}: reset {scope}; the next run starts "
               + ("an initial cycle" if scope in ("watermark", "full", "connectordatastore") else "where the job left off"))
