"""The ``entrasim`` command line: serve, seed, certs, provision, scenario, conformance, load.

Every command fails with one line on stderr and a non-zero exit on bad input;
long work shows progress on stderr; servers print what a client needs on stdout.
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

import click

from . import __version__
from .cli_errors import CliError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="entrasim")
def main() -> None:
    """Microsoft Entra ID without a tenant: Graph and identity mock, SCIM provisioning, mock LMSs."""


@main.group()
def serve() -> None:
    """Run a mock server until interrupted (Ctrl-C)."""


def _load_or_seed(tenant_file: str | None, users: int, groups: int, seed: int, quiet: bool):
    from .tenant import snapshot
    from .tenant.seeding import SeedSpec, seed_tenant

    if tenant_file:
        try:
            return snapshot.load(tenant_file)
        except (OSError, ValueError) as exc:
            raise CliError(f"cannot load tenant file {tenant_file}: {exc}") from None
    return seed_tenant(SeedSpec(users=users, groups=groups, seed=seed), progress=not quiet)


@serve.command("graph")
@click.option("--tenant-file", type=click.Path(dir_okay=False), help="Tenant snapshot written by `entrasim seed`.")
@click.option("--users", type=click.IntRange(0), default=100, show_default=True, help="Users to seed (without --tenant-file).")
@click.option("--groups", type=click.IntRange(0), default=10, show_default=True, help="Groups to seed.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed: the same seed gives the same tenant.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="Port (0: any free port).")
@click.option("--tls/--no-tls", default=False, help="Serve https with the generated CA (msal and azure-identity need it).")
@click.option("--cert-dir", type=click.Path(file_okay=False), help="Where the CA and certificate live (default ~/.cache/entrasim/certs).")
@click.option("--control/--no-control", default=False, help="Serve the control API under /_entrasim/.")
@click.option("--admin-key", help="Key the control API requires (X-Entrasim-Admin-Key); generated when binding beyond loopback.")
@click.option("--token-lifetime", type=click.IntRange(60, 86400), default=3599, show_default=True, help="Access token lifetime in seconds.")
@click.option("--info-file", type=click.Path(dir_okay=False), help="Write connection details as JSON once the server accepts connections.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.option("--server", type=click.Choice(["cheroot", "granian"]), default="cheroot", show_default=True,
              help="HTTP server. granian is several times cheaper per request (load tests) "
                   "but cannot drop or cut connections (fault rules with drop or truncate are refused).")
def serve_graph(tenant_file, users, groups, seed, host, port, tls, cert_dir, control, admin_key, token_lifetime, info_file, quiet,
                server) -> None:
    """Serve the identity platform and Graph v1.0 for a seeded or loaded tenant."""
    from . import serving
    from .faults import FaultInjector
    from .graph.app import create_app
    from .graph.context import GraphConfig
    from .tls import ensure_certs

    tenant = _load_or_seed(tenant_file, users, groups, seed, quiet)
    if not tenant.applications:
        raise CliError("the tenant has no app registration to connect with")
    app_reg = next(iter(tenant.applications.values()))
    live_secrets = [c for c in app_reg.passwordCredentials if not c.is_expired(tenant.clock.now())]
    if control and host not in ("127.0.0.1", "localhost", "::1") and not admin_key:
        admin_key = secrets.token_urlsafe(24)
    config = GraphConfig(token_lifetime=token_lifetime, control=control, admin_key=admin_key)
    faults = FaultInjector(clock=tenant.clock, seed=tenant.seed, connection_faults=serving.connection_faults_refusal(server))
    app = create_app(tenant, faults=faults, config=config)
    certs = ensure_certs(cert_dir) if tls else None
    try:
        running = serving.bind(app, host, port, certs, server=server)
    except OSError as exc:
        raise CliError(f"cannot bind {host}:{port}: {exc.strerror or exc}") from None
    base = running.url
    info = {
        "authority_host": base,
        "authority": f"{base}/{tenant.id}",
        "tenant_id": tenant.id,
        "tenant_domain": tenant.primary_domain,
        "client_id": app_reg.appId,
        "client_secret": live_secrets[0].secretText if live_secrets else None,
        "client_secret_id": live_secrets[0].keyId if live_secrets else None,
        "graph_url": f"{base}/v1.0",
        "scope": "https://graph.microsoft.com/.default",
        "ca_bundle": str(certs.ca_cert) if certs else None,
        "provisioning_service_principal_id": tenant.provisioning_app.id,
    }
    if control:
        info["control_url"] = f"{base}/_entrasim"
        if admin_key:
            info["admin_key"] = admin_key
    counts = tenant.counts()

    def announce() -> None:
        if info_file:
            serving.write_info_file(info_file, info)
        click.echo(f"entrasim graph serving {counts['users']} users and {counts['groups']} groups at {base}"
                   + (" on granian" if server == "granian" else ""))
        for key in ("authority_host", "tenant_id", "client_id", "graph_url", "ca_bundle", "control_url"):
            if info.get(key):
                click.echo(f"  {key}: {info[key]}")
        click.echo("  client_secret: " + ("written to the info file" if info_file else "(use --info-file to receive it)"))
        sys.stdout.flush()

    serving.serve_until_interrupted(running, on_ready=announce)


@main.command("seed")
@click.option("--users", type=int, default=100, show_default=True, help="Users to create (guests included).")
@click.option("--groups", type=int, default=10, show_default=True, help="Groups to create.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed: the same seed gives the same snapshot, byte for byte.")
@click.option("--disabled-share", type=float, default=0.05, show_default=True, help="Share of disabled users (0 to 1).")
@click.option("--duplicate-group-names", type=int, default=0, show_default=True, help="Groups that reuse another group's displayName.")
@click.option("--duplicate-emails", type=int, default=0, show_default=True, help="Users whose mail repeats another user's.")
@click.option("--guests", type=int, default=0, show_default=True, help="B2B guests (#EXT# userPrincipalNames), counted in --users.")
@click.option("-o", "--output", required=True, help="Snapshot file to write (JSON; .gz compresses).")
@click.option("--quiet", is_flag=True, help="No progress output.")
def seed_cmd(users, groups, seed, disabled_share, duplicate_group_names, duplicate_emails, guests, output, quiet) -> None:
    """Generate a deterministic tenant and write it as a snapshot."""
    from .tenant import snapshot
    from .tenant.seeding import SeedSpec, seed_tenant

    spec = SeedSpec(users=users, groups=groups, seed=seed, disabled_share=disabled_share,
                    duplicate_group_names=duplicate_group_names, duplicate_emails=duplicate_emails, guests=guests)
    try:
        spec.validate()
    except ValueError as exc:
        field, _, rest = str(exc).partition(" ")  # messages start with the field's name: show the option's
        raise CliError(f"--{field.replace('_', '-')} {rest}") from None
    target = Path(output)
    if target.is_dir():  # say so before seeding a million users, not after
        raise CliError(f"cannot write {output}: it is a directory")
    if not target.parent.is_dir():
        raise CliError(f"cannot write {output}: directory {target.parent} does not exist")
    tenant = seed_tenant(spec, progress=not quiet)
    try:
        snapshot.save(tenant, output)
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc.strerror or exc}") from None
    counts = tenant.counts()
    click.echo(f"wrote {output}: {counts['users']} users, {counts['groups']} groups, {counts['memberships']} memberships")


@main.command("certs")
@click.option("--dir", "directory", type=click.Path(file_okay=False), help="Directory (default ~/.cache/entrasim/certs).")
@click.option("--force", is_flag=True, help="Regenerate even when valid certificates exist.")
def certs_cmd(directory, force) -> None:
    """Create the local CA and the localhost certificate; print the CA path clients must trust."""
    from .tls import ensure_certs

    try:
        paths = ensure_certs(directory, force=force)
    except OSError as exc:
        raise CliError(f"cannot write certificates: {exc.strerror or exc}") from None
    click.echo(json.dumps({"ca_bundle": str(paths.ca_cert), "server_cert": str(paths.server_cert),
                           "server_key": str(paths.server_key)}, indent=2))


# Commands that live with what they drive register once the groups exist.
from conformance.cli import conformance  # noqa: E402
from loadtests.cli import load  # noqa: E402 - locust runs as a subprocess, never imported here

from .lms.graph_pull.cli import serve_lms  # noqa: E402 - `serve lms --kind scim|graph-pull`
from .provisioning.cli import provision  # noqa: E402
from .scenario.cli import scenario  # noqa: E402

serve.add_command(serve_lms, "lms")
for _command in (provision, scenario, conformance, load):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main()
