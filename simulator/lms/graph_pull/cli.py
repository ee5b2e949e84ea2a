"""``entrasim serve lms --kind graph-pull``: run the Graph-pull LMS's admin API until interrupted.

``serve lms`` is one command with two kinds: ``scim`` (the push side, its own
module) and ``graph-pull`` (this one). ``LmsKindDispatcher`` looks at
``--kind`` before parsing and hands the whole command line to the command of
that kind, so each kind keeps its own options and help
(``entrasim serve lms --kind graph-pull --help``).

The server prints its URL; the admin's bearer token goes to the info file only
(or is the one given with ``--admin-token``), never to stdout. Schedules fire on
the LMS's clock, which runs with wall time: a background ticker checks for due
schedules every ``--tick`` seconds, and ``POST /api/clock/advance`` moves time on.
"""

from __future__ import annotations

import copy
import json
import sys
import threading
from typing import Any

import click

from ...cli_errors import CliError

ENV_SECRET = "ENTRASIM_CLIENT_SECRET"
ENV_ADMIN_TOKEN = "ENTRASIM_LMS_ADMIN_TOKEN"
#: What a Graph info file must hold to configure a connection (the rest has defaults).
GRAPH_INFO_KEYS = ("tenant_id", "client_id", "client_secret", "authority_host", "graph_url")



KINDS = ("scim", "graph-pull")
_OTHER_KIND = ("The other kind: --kind graph-pull serves an LMS that imports users from Microsoft Graph "
               "(see `entrasim serve lms --kind graph-pull --help`).")


def _kind_of(args: list[str]) -> str | None:
    """The value of ``--kind`` in raw arguments (``--kind X`` or ``--kind=X``), or None."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--kind" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--kind="):
            return arg.split("=", 1)[1]
    return None


class LmsKindDispatcher(click.Command):
    """``serve lms``: the scim command unless ``--kind graph-pull`` is given."""

    def __init__(self, scim_command: click.Command, graph_pull_command: click.Command):
        super().__init__(name="lms", help="Serve a mock LMS: --kind scim (a SCIM 2.0 server, the default) or "
                                          "--kind graph-pull (an LMS that imports from Microsoft Graph).",
                         short_help="Serve a mock LMS (--kind scim | graph-pull).")
        self.scim_command = scim_command
        self.graph_pull_command = graph_pull_command

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        kind = _kind_of(list(args))
        if kind not in (None, *KINDS):
            raise CliError(f"--kind must be one of {', '.join(KINDS)}, got '{kind}'")
        if kind == "graph-pull":
            return self.graph_pull_command.make_context(info_name, args, parent=parent, **extra)
        target = self.scim_command
        if kind is None:  # its --help then also says that the other kind exists
            target = copy.copy(target)
            target.epilog = ((target.epilog + "\n\n") if target.epilog else "") + _OTHER_KIND
        return target.make_context(info_name, args, parent=parent, **extra)


def _read_graph_info(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            info = json.load(fh)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read --graph-info {path}: {exc}") from None
    if not isinstance(info, dict):
        raise CliError(f"--graph-info {path}: expected a JSON object as `entrasim serve graph --info-file` writes")
    missing = [key for key in GRAPH_INFO_KEYS if not isinstance(info.get(key), str) or not info[key]]
    if missing:
        raise CliError(f"--graph-info {path}: no {', '.join(missing)}; expected the info file of "
                                f"`entrasim serve graph --info-file`")
    return info


@click.command("lms")
@click.option("--kind", type=click.Choice(["graph-pull"]), required=True,
              help="graph-pull: an LMS that imports users from Microsoft Graph (the pull side).")
@click.option("--graph-info", type=click.Path(dir_okay=False),
              help="Info file of `entrasim serve graph`: configures a connection to that mock.")
@click.option("--authority-host", help="Identity platform base URL (default https://login.microsoftonline.com).")
@click.option("--graph-url", help="Graph base URL (default https://graph.microsoft.com/v1.0).")
@click.option("--tenant-id", help="Tenant id (or domain) of the connection.")
@click.option("--client-id", help="Application (client) id of the app registration.")
@click.option("--client-secret", envvar=ENV_SECRET, show_envvar=True,
              help=f"Client secret value (prefer the {ENV_SECRET} variable: arguments are visible to other users).")
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True), help="CA bundle to trust for the connection.")
@click.option("--admin-login", default="admin@lms.example", show_default=True, help="Login of the seeded admin account.")
@click.option("--admin-token", envvar=ENV_ADMIN_TOKEN, show_envvar=True,
              help="Bearer token for the admin (16+ characters). Default: generated (see --info-file).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=0, show_default=True, help="Port (0: any free port).")
@click.option("--tls/--no-tls", default=False, help="Serve https with the generated local CA.")
@click.option("--cert-dir", type=click.Path(file_okay=False), help="Where the CA and certificate live.")
@click.option("--tick", type=float, default=30.0, show_default=True,
              help="Seconds between checks for due schedules (wall time).")
@click.option("--info-file", type=click.Path(dir_okay=False),
              help="Write url, admin login and token, connection id as JSON once the server accepts connections.")
def serve_graph_pull(kind, graph_info, authority_host, graph_url, tenant_id, client_id, client_secret, ca_file,
                     admin_login, admin_token, host, port, tls, cert_dir, tick, info_file) -> None:
    """Serve the Graph-pull LMS's admin API (accounts, connections, imports, schedules, CSV, import log)."""
    from ... import serving
    from ...tls import ensure_certs
    from .app import create_app
    from .errors import LmsError
    from .model import GraphPullLms

    if not 0 <= port <= 65535:
        raise CliError(f"--port must be between 0 and 65535, got {port}")
    if tick <= 0:
        raise CliError(f"--tick must be more than 0 seconds, got {tick}")
    connection: dict[str, Any] = {}
    if graph_info:
        info = _read_graph_info(graph_info)
        connection = {key: info.get(key) for key in ("tenant_id", "client_id", "client_secret", "authority_host",
                                                     "graph_url", "ca_bundle")}
    for key, value in (("tenant_id", tenant_id), ("client_id", client_id), ("client_secret", client_secret),
                       ("authority_host", authority_host), ("graph_url", graph_url), ("ca_bundle", ca_file)):
        if value is not None:
            connection[key] = value
    connection = {k: v for k, v in connection.items() if v is not None}
    if connection:
        missing = [k for k in ("tenant_id", "client_id", "client_secret") if not connection.get(k)]
        if missing:
            option = "--" + missing[0].replace("_", "-")
            raise CliError(f"a connection needs {option} (or --graph-info)")

    lms = GraphPullLms()
    try:
        _admin, token = lms.seed_admin(admin_login, token=admin_token)
        conn = lms.add_connection(**connection) if connection else None
    except LmsError as exc:
        raise CliError(exc.message) from None
    app = create_app(lms)
    certs = ensure_certs(cert_dir) if tls else None
    try:
        running = serving.bind(app, host, port, certs)
    except OSError as exc:
        raise CliError(f"cannot bind {host}:{port}: {exc.strerror or exc}") from None

    stop = threading.Event()

    def tick_schedules() -> None:
        while not stop.wait(tick):
            try:
                lms.run_due_schedules()
            except Exception as exc:  # noqa: BLE001 - one bad run must not stop every later schedule
                click.echo(f"entrasim: scheduled imports failed: {type(exc).__name__}: {exc}", err=True)

    threading.Thread(target=tick_schedules, daemon=True, name="graph-pull-scheduler").start()
    info = {"kind": kind, "url": running.url, "api_url": f"{running.url}/api", "admin_login": admin_login,
            "admin_token": token, "connection_id": conn.id if conn else None,
            "ca_bundle": str(certs.ca_cert) if certs else None}
    if info_file:
        serving.write_info_file(info_file, info)
    click.echo(f"entrasim lms (graph-pull) serving at {running.url}/api")
    if conn is not None:
        click.echo(f"  connection: {conn.id} -> {conn.graph_url} (tenant {conn.tenant_id})")
    click.echo(f"  admin: {admin_login}")
    if admin_token:
        click.echo("  admin token: the one given with --admin-token (or $" + ENV_ADMIN_TOKEN + ")")
    else:
        click.echo("  admin token: " + ("written to the info file" if info_file else
                                        "generated; use --admin-token to choose it or --info-file to receive it"))
    sys.stdout.flush()

    def on_stop() -> None:
        stop.set()
        lms.close()

    serving.serve_until_interrupted(running, on_stop=on_stop)


def make_serve_lms() -> click.Command:
    """The ``serve lms`` command with both kinds (what simulator/cli.py registers)."""
    from ..scim.cli import serve_lms as scim_serve_lms

    return LmsKindDispatcher(scim_serve_lms, serve_graph_pull)


serve_lms = make_serve_lms()
