"""CPU seconds a process (and its descendants) has used, read from Linux's ``/proc``.

Benchmarks and ``entrasim load`` print a server's CPU per request next to the
client's, so a run says which side bounds it. granian serves from a forked
worker, so the figure must include descendants.
"""

from __future__ import annotations

import os
from pathlib import Path


def process_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds of a running process; None where that cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def process_tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds of a process and of its running descendants.

    None when the process itself cannot be read; a descendant that ends between
    two readings is missed (a server's worker lives as long as the server).
    """
    total = process_cpu_seconds(pid)
    if total is None:
        return None
    for child in _children(pid):
        total += process_tree_cpu_seconds(child) or 0.0
    return total


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children += [int(child) for child in task.read_text().split()]
        except (OSError, ValueError):
            continue
    return children
