"""A self-contained HTML page from the JSON report: inline styles, no scripts, nothing fetched, all escaped."""

from __future__ import annotations

from html import escape
from typing import Any

from .text import omitted_note, short

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d1d1f}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccd;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#eef}.passed{color:#17702b}.failed,.error,.invalid{color:#b00020;font-weight:600}.skipped{color:#8a6d00}
section{border-left:4px solid #b00020;padding:.2rem 1rem;margin:1.5rem 0}pre{white-space:pre-wrap;background:#f6f6f8;padding:.5rem;margin:.2rem 0}
small{color:#555}
"""


def _mismatches(step: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td>{escape(m['what'])}</td><td><pre>{escape(short(m['expected'], 2000))}</pre></td>"
                   f"<td><pre>{escape(short(m['actual'], 2000))}</pre></td></tr>" for m in step.get("mismatches") or ())
    return f"<table><tr><th>what</th><th>expected</th><th>actual</th></tr>{rows}</table>" if rows else ""


def _exchanges(step: dict[str, Any]) -> str:
    items = []
    for e in step.get("exchanges") or ():
        body = "".join(f"<pre>{escape(key)}: {escape(short(e[key], 2000, raw=True))}</pre>" for key in ("request", "response") if e.get(key))
        items.append(f"<li><code>{escape(str(e.get('server')))}: {escape(str(e.get('method')))} {escape(str(e.get('path')))}"
                     f" &rarr; {escape(str(e.get('status')))}</code>{body}</li>")
    note = escape(omitted_note(step))
    return f"<h4>HTTP exchanges of the step{note}</h4><ol>{''.join(items)}</ol>" if items else ""


def _where(scenario: dict[str, Any]) -> str:
    """The failed step, or why the scenario did not run (invalid, set-up error, not for --target)."""
    index = scenario.get("failedStep")
    if index:
        step = scenario["steps"][index - 1]
        return f"step {step['index']} {step['name'] or step['kind']}"
    return scenario.get("message") or ""


def _failure(scenario: dict[str, Any]) -> str:
    parts = [f"<section><h3>{escape(scenario['name'])} <small>{escape(scenario.get('file') or '')}</small></h3>"]
    if scenario.get("message"):
        parts.append(f"<p>{escape(scenario['message'])}</p>")
    if scenario.get("problems"):
        parts.append("<ul>" + "".join(f"<li><code>{escape(p)}</code></li>" for p in scenario["problems"]) + "</ul>")
    index = scenario.get("failedStep")
    if index:
        step = scenario["steps"][index - 1]
        label = f"step {step['index']} {step['name'] or step['kind']}" + (f" (line {step['line']})" if step.get("line") else "")
        parts.append(f"<p><b>{escape(label)}</b>: {escape(step['status'])}"
                     + (f", expectation {escape(step['expectation'])}" if step.get("expectation") else "") + "</p>")
        if step.get("error"):
            parts.append(f"<p>error: <code>{escape(step['error'])}</code></p>")
        parts.append(_mismatches(step))
        parts.append(_exchanges(step))
    parts.append("</section>")
    return "".join(parts)


def render_html(report: dict[str, Any]) -> str:
    totals = report["totals"]
    rows = "".join(
        f"<tr><td>{escape(s['name'])}</td><td class=\"{escape(s['status'])}\">{escape(s['status'])}</td>"
        f"<td>{s['durationSeconds']:.2f} s</td><td>{escape(_where(s))}</td>"
        f"<td>{escape(s.get('documented') or '')}</td></tr>"
        for s in report["scenarios"])
    failures = "".join(_failure(s) for s in report["scenarios"] if s["status"] in ("failed", "error", "invalid"))
    summary = ", ".join(f"{totals[k]} {k}" for k in ("passed", "failed", "error", "invalid", "skipped") if totals.get(k))
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>entrasim scenarios</title>"
            f"<style>{_CSS}</style></head><body><h1>entrasim scenarios</h1>"
            f"<p>{escape(summary or 'no scenarios')} in {report['durationSeconds']:.1f} s, against "
            f"{escape(report['target'])}, started {escape(report['started'])}</p>"
            f"<table><tr><th>scenario</th><th>result</th><th>time</th><th>where it stopped</th><th>documented in</th></tr>{rows}</table>"
            f"{failures}</body></html>\n")
