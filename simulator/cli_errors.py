"""The one error every ``entrasim`` command raises for bad input: a line on stderr and exit status 2.

Its own module so that each package's commands (provision, scenario, conformance,
load, serve lms) use it without importing the root command group.
"""

from __future__ import annotations

import click


class CliError(click.ClickException):
    """``entrasim: error: <message>`` on stderr, exit status 2."""

    exit_code = 2

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo(f"entrasim: error: {self.format_message()}", err=True)
