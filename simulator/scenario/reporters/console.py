"""The console report: one table row per scenario, then each failure's details (rich)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .text import failure_text

_STYLE = {"passed": "green", "failed": "red", "error": "red", "invalid": "magenta", "skipped": "yellow"}


def print_report(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title="entrasim scenarios", title_justify="left")
    # names and results are never cut, even in an 80-column CI log; the reason column wraps instead
    longest = max((len(s["name"]) for s in report["scenarios"]), default=8)
    table.add_column("scenario", min_width=min(longest, 48), overflow="fold")
    table.add_column("result", no_wrap=True)
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("where it stopped", overflow="fold")
    for scenario in report["scenarios"]:
        status = scenario["status"]
        where = ""
        if scenario.get("failedStep"):
            step = scenario["steps"][scenario["failedStep"] - 1]
            where = f"step {step['index']} {step['name'] or step['kind']}"
        elif scenario.get("message"):
            where = scenario["message"]
        table.add_row(escape(scenario["name"]), f"[{_STYLE.get(status, 'white')}]{status}[/]",
                      f"{scenario['durationSeconds']:.2f} s", escape(where))
    console.print(table)
    for scenario in report["scenarios"]:
        if scenario["status"] in ("failed", "error", "invalid"):
            console.print(f"\n[bold red]{escape(scenario['name'])}[/] ({escape(scenario.get('file') or '')})")
            console.print(escape(failure_text(scenario)), highlight=False, soft_wrap=True)
    totals = report["totals"]
    parts = [f"{totals[k]} {k}" for k in ("passed", "failed", "error", "invalid", "skipped") if totals.get(k)]
    console.print(f"\n{', '.join(parts) or 'no scenarios'} in {report['durationSeconds']:.1f} s")
