"""``entrasim serve lms``: run the SCIM LMS until interrupted.

Prints the SCIM base URL (the "Tenant URL" to paste into Entra) and writes the
info file (JSON with base_url, token and the rest) only once the socket
listens, so a script waiting for the file can connect at once. Bad input
(unknown profile, unusable port, bad token) is one line on stderr and a
non-zero exit. The token never goes to stdout: it is the one you gave, or it
is in the info file.
"""

from __future__ import annotations

import json
import secrets
import sys

import click

from ...cli_errors import CliError

LOOPBACK = ("127.0.0.1", "localhost", "::1")



@click.command("lms")
@click.option("--kind", type=click.Choice(["scim"]), default="scim", show_default=True,
              help="Which LMS surface to serve (the push side: a SCIM 2.0 server).")
@click.option("--profile", default="rfc", show_default=True,
              help="Behaviour profile: rfc, entra-tolerant, email-keyed, or a path to a profile .yaml file.")
@click.option("--token", "tokens", multiple=True, help="Bearer token to accept (repeat for several). Default: one generated.")
@click.option("--token-lifetime", type=int, default=None,
              help="Seconds (on the simulated clock) before the tokens expire. Default: never.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=0, show_default=True, help="Port (0: any free port).")
@click.option("--tls/--no-tls", default=False, help="Serve https with the generated local CA.")
@click.option("--cert-dir", type=click.Path(file_okay=False), help="Where the CA and certificate live (default ~/.cache/entrasim/certs).")
@click.option("--base-path", default="/scim/v2", show_default=True, help="Path of the SCIM endpoints on the server.")
@click.option("--control/--no-control", default=False, help="Serve the control API under /_entrasim/.")
@click.option("--admin-key", help="Key the control API requires (X-Entrasim-Admin-Key); generated when binding beyond loopback.")
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help="Start from a state exported by GET /_entrasim/scim/state.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of resource ids: the same seed gives the same ids.")
@click.option("--info-file", type=click.Path(dir_okay=False), help="Write connection details as JSON once the server accepts connections.")
@click.option("--server", type=click.Choice(["cheroot", "granian"]), default="cheroot", show_default=True,
              help="HTTP server. granian is several times cheaper per request (load tests, benchmarks) "
                   "but cannot drop or cut connections (fault rules with drop or truncate are refused).")
def serve_lms(kind, profile, tokens, token_lifetime, host, port, tls, cert_dir, base_path, control, admin_key,
              state_file, seed, info_file, server) -> None:
    """Serve a mock LMS: a SCIM 2.0 server with a vendor-behaviour profile."""
    from ... import serving
    from ...faults import FaultInjector
    from ...tls import ensure_certs
    from .app import create_app
    from .auth import TokenRegistry
    from .config import LmsConfig
    from .model import ScimStore, StateError
    from .profiles import ProfileError, load_profile
    from .schemas import build_registry

    if not 0 <= port <= 65535:
        raise CliError(f"--port must be between 0 and 65535, got {port}")
    if token_lifetime is not None and token_lifetime < 1:
        raise CliError(f"--token-lifetime must be at least 1 second, got {token_lifetime}")
    try:
        loaded = load_profile(profile)
    except ProfileError as exc:
        raise CliError(str(exc)) from None
    store = ScimStore(registry=build_registry(loaded.extensions), seed=seed)
    if state_file:
        try:
            with open(state_file, encoding="utf-8") as fh:
                store.import_state(json.load(fh))
        except (OSError, ValueError, StateError) as exc:
            raise CliError(f"cannot load state file {state_file}: {exc}") from None
    registry = TokenRegistry(store.clock)
    token_values = list(tokens) or [TokenRegistry.generate()]
    for i, value in enumerate(token_values, start=1):
        try:
            registry.add(value, label=f"token-{i}", lifetime=token_lifetime)
        except ValueError as exc:
            raise CliError(f"--token: {exc}") from None
    if control and host not in LOOPBACK and not admin_key:
        admin_key = secrets.token_urlsafe(24)
    config = LmsConfig(profile=loaded, tokens=registry, base_path=base_path, control=control, admin_key=admin_key)
    faults = FaultInjector(clock=store.clock, connection_faults=serving.connection_faults_refusal(server))
    app = create_app(store, faults=faults, config=config)
    certs = ensure_certs(cert_dir) if tls else None
    try:
        running = serving.bind(app, host, port, certs, server=server)
    except OSError as exc:
        raise CliError(f"cannot bind {host}:{port}: {exc.strerror or exc}") from None
    base_url = f"{running.url}{config.base_path}"
    info = {"kind": kind, "profile": loaded.name, "base_url": base_url, "token": token_values[0],
            "tokens": token_values, "ca_bundle": str(certs.ca_cert) if certs else None}
    if control:
        info["control_url"] = f"{running.url}/_entrasim"
        if admin_key:
            info["admin_key"] = admin_key

    def announce() -> None:
        if info_file:
            serving.write_info_file(info_file, info)
        click.echo(f"entrasim lms ({kind}, profile {loaded.name}) serving at {base_url}"
                   + (" on granian" if server == "granian" else ""))
        if certs:
            click.echo(f"  ca_bundle: {certs.ca_cert}")
        if control:
            click.echo(f"  control_url: {info['control_url']}")
        if tokens:
            click.echo(f"  tokens: {len(token_values)} given with --token")
        else:
            click.echo("  token: " + ("written to the info file" if info_file
                                      else "generated; use --token to choose it or --info-file to receive it"))
        sys.stdout.flush()

    serving.serve_until_interrupted(running, on_ready=announce)
