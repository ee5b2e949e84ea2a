"""The console summary (rich): totals by level, then every check that did not pass, failures first."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..verdicts import VERDICT_ORDER

STYLE = {"fail": "bold red", "error": "magenta", "warning": "yellow", "skipped": "dim", "pass": "green"}


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def print_summary(report: dict[str, Any], console: Console | None = None, verbose: bool = False) -> None:
    console = console or Console(stderr=True)
    levels = Table(title=f"SCIM conformance: {report['target']} (profiles {', '.join(report['profiles'])})")
    levels.add_column("level")
    for v in VERDICT_ORDER:
        levels.add_column(v.value, justify="right", style=STYLE[v.value])
    for level, counts in report["summary"]["by_level"].items():
        levels.add_row(level, *[str(counts[v.value]) for v in VERDICT_ORDER])
    console.print(levels)
    order = {v.value: i for i, v in enumerate(VERDICT_ORDER)}
    shown = [c for c in report["checks"] if verbose or c["verdict"] in ("fail", "error", "warning")]
    # One block per check rather than a table: the reason and section stay whole at any width (CI logs are 80 columns).
    for c in sorted(shown, key=lambda c: order[c["verdict"]]):
        console.print(f"[{STYLE[c['verdict']]}]{c['verdict']:<8}[/] {c['level']:<6} [bold]{escape(c['id'])}[/] "
                      f"({escape(c['section'])})", soft_wrap=True, highlight=False)
        if c["reason"]:
            console.print(f"                {escape(_short(' '.join(c['reason'].split()), 400))}", soft_wrap=True, highlight=False)
    t = report["summary"]["by_verdict"]
    console.print(f"{report['summary']['total']} checks in {report['duration_s']:.2f} s: "
                  + ", ".join(f"{t[v.value]} {v.value}" for v in VERDICT_ORDER))
    if report["leftovers"]:
        console.print(f"[bold red]could not delete: {', '.join(report['leftovers'])}[/]")
