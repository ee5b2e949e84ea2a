"""``entrasim provision``: write a job file from a preset, and validate job files.

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
    """Entra-style provisioning to a SCIM server: job files."""


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
