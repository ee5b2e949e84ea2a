"""``entrasim load``: run a locustfile headless, against a given target or against mocks started for the run.

Locust is always a **subprocess** (``python -m locust -f loadtests/<file>.py``):
it monkey-patches the standard library with gevent when imported, which must
never happen inside the entrasim process. Without a target, the command starts
our SCIM LMS (``entrasim serve lms --server granian --port 0 --info-file F``) or Graph mock
(``entrasim serve graph --tls --control ...``) as subprocesses too, reads their
info files, and stops them once Locust is done. The SCIM token travels in the
environment (``ENTRASIM_SCIM_TOKEN``), never on a command line.

Options not listed here go to Locust after ``--``, e.g.
``entrasim load initial-sync -- --loglevel DEBUG``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from simulator.cli_errors import CliError
from simulator.process_cpu import process_tree_cpu_seconds

HERE = Path(__file__).resolve().parent
SERVER_START_TIMEOUT = 900.0  # seeding a million-user Graph tenant takes minutes



@click.group("load")
def load() -> None:
    """Locust load tests: initial sync, incremental changes, Graph reads (see docs/load.md)."""


def _run_options(default_run_time: str):
    def decorate(func):
        options = [
            click.option("--processes", type=int, default=1, show_default=True,
                         help="Locust worker processes (Locust's --processes); each gets its own shard."),
            click.option("--users", "locust_users", type=click.IntRange(1), default=8, show_default=True,
                         help="Concurrent Locust users, all processes together."),
            click.option("--spawn-rate", type=float, default=None, help="Users started per second (default: all at once)."),
            click.option("--run-time", default=default_run_time, show_default=True,
                         help="Upper bound of the run (Locust's syntax: 90s, 10m, 1h)."),
            click.option("--csv", "csv_prefix", help="Write Locust's CSV reports with this prefix."),
            click.option("--html", "html_file", help="Write Locust's HTML report to this file."),
            click.option("--summary-json", help="Write entrasim's summary and verdict to this JSON file."),
            click.argument("locust_args", nargs=-1, type=click.UNPROCESSED),
        ]
        for option in reversed(options):
            func = option(func)
        return func
    return decorate


def _directory_options(func):
    options = [
        click.option("--users-total", type=click.IntRange(1), default=10_000, show_default=True,
                     help="Users of the generated directory (10k, 100k, 1M...)."),
        click.option("--groups-total", type=click.IntRange(0), default=1_000, show_default=True,
                     help="Groups of the generated directory."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generated directory."),
        click.option("--block-size", type=click.IntRange(1), default=100, show_default=True,
                     help="Users per block, the unit of sharding."),
        click.option("--preset", type=click.Choice(["customappsso", "email-keyed"]), default="customappsso",
                     show_default=True, help="Provisioning job preset whose mappings build the requests."),
        click.option("--dialect", type=click.Choice(["default", "aadOptscim062020"]), default="default",
                     show_default=True, help="Entra's PATCH dialect."),
        click.option("--target", help="SCIM base URL to load (default: start our SCIM LMS for the run)."),
        click.option("--token", help="Bearer token of --target (or the ENTRASIM_SCIM_TOKEN environment variable)."),
        click.option("--ca-bundle", type=click.Path(dir_okay=False, exists=True), help="CA to trust for an https --target."),
        click.option("--lms-profile", default="entra-tolerant", show_default=True,
                     help="Profile of the SCIM LMS started when there is no --target."),
        click.option("--lms-server", type=click.Choice(["granian", "cheroot"]), default="granian", show_default=True,
                     help="HTTP server of the SCIM LMS started when there is no --target (granian costs the "
                          "least CPU a request, so the load generator is what gets measured)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


# ------------------------------------------------------------------ subprocesses


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for Locust's master, which cannot bind port 0)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _entrasim(*args: str) -> list[str]:
    return [sys.executable, "-m", "simulator.cli", *args]


@contextmanager
def _server(args: list[str], info_file: Path, what: str) -> Iterator[tuple[dict[str, Any], int]]:
    """Start an entrasim server, yield its info file (once written) and pid, stop it (SIGTERM, then SIGKILL)."""
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not info_file.exists() or info_file.stat().st_size == 0:
            if process.poll() is not None:
                log.seek(0)
                tail = log.read().decode(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
                raise CliError(f"the {what} did not start: {tail[0]}")
            if time.monotonic() > deadline:
                raise CliError(f"the {what} did not write its info file within {SERVER_START_TIMEOUT:g} s")
            time.sleep(0.1)
        time.sleep(0.05)  # the file is written whole (write then rename), but be kind to slow disks
        yield json.loads(info_file.read_text(encoding="utf-8")), process.pid
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def _locust(locustfile: str, args: list[str], env: dict[str, str], processes: int, locust_users: int,
            spawn_rate: float | None, run_time: str, csv_prefix: str | None, html_file: str | None,
            summary_json: str | None, extra: tuple[str, ...]) -> int:
    if processes < 1:
        raise CliError(f"--processes must be at least 1, got {processes}")
    if locust_users < processes:
        raise CliError(f"--users ({locust_users}) must be at least --processes ({processes}): "
                           "every worker process needs a Locust user to work its shard")
    command = [sys.executable, "-m", "locust", "-f", str(HERE / locustfile), "--headless", "--only-summary",
               "--users", str(locust_users), "--spawn-rate", str(spawn_rate or locust_users), "--run-time", run_time,
               *args]
    if processes > 1:
        # Locust's master port defaults to 5557 for every run on the machine: take a free one
        port = str(free_port())
        command += ["--processes", str(processes), "--master-bind-port", port, "--master-port", port]
    if csv_prefix:
        command += ["--csv", csv_prefix]
    if html_file:
        command += ["--html", html_file]
    if summary_json:
        command += ["--summary-json", summary_json]
    command += list(extra)
    completed = subprocess.run(command, env=env, check=False)
    return completed.returncode


def _finish(returncode: int) -> None:
    """Exit as Locust did: 1 is a FAIL verdict (said once more here), 2 a refused start (the locustfile said why)."""
    if returncode == 2:
        sys.exit(2)
    if returncode != 0:
        click.echo(f"entrasim: error: the load test failed (locust exit code {returncode}; see the verdict above)",
                   err=True)
        sys.exit(returncode)


def _scim_run(locustfile: str, extra_args: list[str], *, target, token, ca_bundle, lms_profile, lms_server, users_total,
              groups_total, seed, block_size, preset, dialect, processes, locust_users, spawn_rate, run_time,
              csv_prefix, html_file, summary_json, locust_args) -> None:
    args = ["--users-total", str(users_total), "--groups-total", str(groups_total), "--seed", str(seed),
            "--block-size", str(block_size), "--preset", preset, "--dialect", dialect, *extra_args]
    env = dict(os.environ)
    run = {"processes": processes, "locust_users": locust_users, "spawn_rate": spawn_rate, "run_time": run_time,
           "csv_prefix": csv_prefix, "html_file": html_file, "summary_json": summary_json, "extra": locust_args}
    if target:
        token = token or os.environ.get("ENTRASIM_SCIM_TOKEN")
        if not token:
            raise CliError("--target needs a token: --token or the ENTRASIM_SCIM_TOKEN environment variable")
        env["ENTRASIM_SCIM_TOKEN"] = token
        if ca_bundle:
            args += ["--scim-ca-bundle", ca_bundle]
        _finish(_locust(locustfile, ["--scim-url", target, *args], env, **run))
        return
    with tempfile.TemporaryDirectory(prefix="entrasim-load-") as tmp:
        info_file = Path(tmp) / "lms.json"
        run["summary_json"] = summary_json or str(Path(tmp) / "summary.json")
        server = _entrasim("serve", "lms", "--profile", lms_profile, "--server", lms_server, "--port", "0",
                           "--info-file", str(info_file))
        with _server(server, info_file, "SCIM LMS") as (info, pid):
            env["ENTRASIM_SCIM_TOKEN"] = info["token"]
            what = f"SCIM LMS ({info['profile']}, {lms_server})"
            click.echo(f"entrasim load: {what} at {info['base_url']}", err=True)
            cpu_before = process_tree_cpu_seconds(pid)
            code = _locust(locustfile, ["--scim-url", info["base_url"], *args], env, **run)
            cpu_after = process_tree_cpu_seconds(pid)
        if cpu_before is not None and cpu_after is not None:
            _add_target_cost(Path(run["summary_json"]), cpu_after - cpu_before, what, write=bool(summary_json))
    _finish(code)


def _add_target_cost(summary_file: Path, cpu_seconds: float, what: str, write: bool) -> None:
    """The mock's own CPU per request, next to the load generator's: which side bounds the run, in numbers.

    The mock served the run's requests plus the ceiling probe's (and the few reads
    of the final check, not counted), so the figure is a slight overestimate.
    """
    try:
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    requests = summary.get("counters", {}).get("requests", 0) + \
        (summary.get("targetCeiling") or {}).get("probeRequests", 0)
    if not requests or cpu_seconds <= 0:
        return
    per_request = cpu_seconds * 1000 / requests
    summary["target"] = {"what": what, "cpuSeconds": round(cpu_seconds, 2), "requests": requests,
                         "cpuMsPerRequest": round(per_request, 3),
                         "requestsPerSecondPerCore": round(1000 / per_request)}
    click.echo(f"  target, {what}: {per_request:.3f} ms CPU a request over {cpu_seconds:.1f} s of CPU "
               f"({requests:,} requests, probe included), so its one process serves at most "
               f"~{1000 / per_request:,.0f} req/s on a free core")
    if write:
        summary_file.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


# ------------------------------------------------------------------ commands


@load.command("initial-sync")
@_directory_options
@_run_options("30m")
def initial_sync(**kwargs: Any) -> None:
    """Entra's initial cycle for a generated directory; checks the target holds exactly it (PASS/FAIL)."""
    _scim_run("initial_sync.py", [], **kwargs)


@load.command("incremental")
@_directory_options
@click.option("--change-rate", type=click.FloatRange(min=0.001), default=50.0, show_default=True,
              help="Changes per second (updates, disables, membership churn), all users together.")
@_run_options("1m")
def incremental(change_rate: float, **kwargs: Any) -> None:
    """A steady stream of Entra's incremental changes at a set rate; changed objects are read back (PASS/FAIL)."""
    _scim_run("incremental.py", ["--change-rate", str(change_rate)], **kwargs)


@load.command("graph-read")
@click.option("--target", "graph_info", type=click.Path(dir_okay=False, exists=True),
              help="Info file of a running `entrasim serve graph --info-file` (default: start one for the run).")
@click.option("--users-total", type=click.IntRange(1), default=10_000, show_default=True,
              help="Users of the Graph mock started for the run.")
@click.option("--groups-total", type=click.IntRange(1), default=200, show_default=True,
              help="Groups of the Graph mock started for the run.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the Graph mock started for the run.")
@click.option("--throttle-every", type=click.IntRange(0), default=0, show_default=True,
              help="Throttle (429) every Nth group-members request (needs the mock's control API).")
@click.option("--throttle-retry-after", type=click.IntRange(0), default=1, show_default=True,
              help="Retry-After seconds of those 429s.")
@_run_options("1m")
def graph_read(graph_info, users_total, groups_total, seed, throttle_every, throttle_retry_after, processes,
               locust_users, spawn_rate, run_time, csv_prefix, html_file, summary_json, locust_args) -> None:
    """An LMS importer's Graph reads: tokens, members paged with $top=999, users delta; with or without 429s."""
    args = ["--throttle-every", str(throttle_every), "--throttle-retry-after", str(throttle_retry_after)]
    run = {"processes": processes, "locust_users": locust_users, "spawn_rate": spawn_rate, "run_time": run_time,
           "csv_prefix": csv_prefix, "html_file": html_file, "summary_json": summary_json, "extra": locust_args}
    env = dict(os.environ)
    if graph_info:
        _finish(_locust("graph_read.py", ["--graph-info", graph_info, *args], env, **run))
        return
    with tempfile.TemporaryDirectory(prefix="entrasim-load-") as tmp:
        info_file = Path(tmp) / "graph.json"
        server = _entrasim("serve", "graph", "--tls", "--control", "--quiet", "--port", "0", "--users", str(users_total),
                           "--groups", str(groups_total), "--seed", str(seed), "--info-file", str(info_file))
        with _server(server, info_file, "Graph mock") as (info, _pid):
            click.echo(f"entrasim load: Graph mock at {info['graph_url']}", err=True)
            code = _locust("graph_read.py", ["--graph-info", str(info_file), *args], env, **run)
    _finish(code)
