"""scim2-server (PyPI), the third-party SCIM server, started the way its users start it: its CLI on a free port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_scim2_server(token: str, log: IO[str]) -> Iterator[str]:
    """``scim2-server --port N --bearer-token TOKEN``; yields its base URL and stops it on exit.

    Its request log goes to ``log`` (a file): an unread stderr pipe fills after a
    few hundred requests and stalls the server.
    """
    command = shutil.which("scim2-server") or str(Path(sys.executable).with_name("scim2-server"))
    for _attempt in range(5):  # another process may take the port between the probe and the bind
        port = free_port()
        proc = subprocess.Popen([command, "--hostname", "127.0.0.1", "--port", str(port), "--bearer-token", token],
                                stdout=subprocess.DEVNULL, stderr=log, text=True)
        base = f"http://127.0.0.1:{port}/v2"
        deadline = time.time() + 30
        while time.time() < deadline and proc.poll() is None:
            try:
                if requests.get(f"{base}/ServiceProviderConfig", timeout=1).status_code < 500:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        if proc.poll() is None:
            break
    else:
        raise AssertionError("scim2-server did not start")
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
