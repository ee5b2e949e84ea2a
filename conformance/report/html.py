"""A self-contained HTML page rendered from the JSON report, written for the vendor who has to fix things.

It opens with the verdicts by requirement level, then lists checks with what
must be fixed first (fail, error, warning, skipped, pass); each shows its RFC
section, the requirement it tests, why it got its verdict, and the requests
and responses that prove it. No scripts, no external assets.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

from ..verdicts import VERDICT_ORDER

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#1d1d1f;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} .meta{color:#555;margin-bottom:1.2rem}
table.sum{border-collapse:collapse;margin:1rem 0} table.sum td,table.sum th{border:1px solid #ddd;padding:.3rem .8rem;text-align:right}
table.sum th:first-child,table.sum td:first-child{text-align:left}
.v{display:inline-block;min-width:4.5em;text-align:center;border-radius:3px;padding:0 .4em;font-weight:600;font-size:.85em;color:#fff}
.fail{background:#c62828}.error{background:#8e24aa}.warning{background:#ef8f00}.skipped{background:#9e9e9e}.pass{background:#2e7d32}
details.check{border:1px solid #e0e0e0;border-radius:4px;margin:.35rem 0;padding:.35rem .6rem}
details.check>summary{cursor:pointer} .id{font-family:ui-monospace,monospace;color:#333}
.lvl{font-size:.8em;border:1px solid #999;border-radius:3px;padding:0 .3em;margin:0 .3em}
.reason{margin:.4rem 0;font-weight:500} .req{color:#444;font-style:italic;margin:.3rem 0}
pre{background:#f6f8fa;border:1px solid #eee;padding:.5rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all;font-size:12px}
h2{margin-top:2rem;border-bottom:1px solid #ddd}
"""


_REF = re.compile(r"RFC (\d{4})|§(\d+(?:\.\d+)*)")


def _linked_section(section: str) -> str:
    """The section text, escaped, with each 'RFC nnnn' and '§x.y' linked to the RFC text (a '§' refers to the last RFC named)."""
    out, last, rfc = [], 0, None
    for m in _REF.finditer(section):
        out.append(escape(section[last:m.start()]))
        if m.group(1):
            rfc = m.group(1)
            out.append(f"<a href='https://www.rfc-editor.org/rfc/rfc{rfc}'>{escape(m.group(0))}</a>")
        elif rfc:
            out.append(f"<a href='https://www.rfc-editor.org/rfc/rfc{rfc}#section-{m.group(2)}'>{escape(m.group(0))}</a>")
        else:
            out.append(escape(m.group(0)))
        last = m.end()
    out.append(escape(section[last:]))
    return "".join(out)


def _pretty(text: str | None) -> str:
    if not text:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _exchange(e: dict[str, Any]) -> str:
    req_headers = "\n".join(f"{k}: {v}" for k, v in e["request_headers"].items())
    resp_headers = "\n".join(f"{k}: {v}" for k, v in e["response_headers"].items())
    request = f"{e['method']} {e['url']}\n{req_headers}\n\n{_pretty(e.get('request_body'))}".rstrip()
    response = f"HTTP {e['status']}  ({e['elapsed_ms']} ms)\n{resp_headers}\n\n{_pretty(e.get('response_body'))}".rstrip()
    note = f"<div>{escape(e['note'])}</div>" if e.get("note") else ""
    return f"{note}<pre>{escape(request)}</pre><pre>{escape(response)}</pre>"


def _check(c: dict[str, Any]) -> str:
    open_attr = " open" if c["verdict"] in ("fail", "error") else ""
    reason = f"<div class='reason'>{escape(c['reason'])}</div>" if c["reason"] else ""
    notes = "".join(f"<div>{escape(n)}</div>" for n in c["notes"])
    exchanges = "".join(_exchange(e) for e in c["exchanges"])
    body = (f"<div><b>{_linked_section(c['section'])}</b> · {escape(c['level'])} · profiles {escape(', '.join(c['profiles']))}</div>"
            f"<div class='req'>{escape(c['requirement'])}</div>{reason}{notes}"
            f"<details><summary>{len(c['exchanges'])} exchange(s)</summary>{exchanges}</details>")
    return (f"<details class='check'{open_attr}><summary><span class='v {c['verdict']}'>{c['verdict']}</span>"
            f"<span class='lvl'>{escape(c['level'])}</span> <span class='id'>{escape(c['id'])}</span> — "
            f"{escape(c['title'])}</summary>{body}</details>")


def render_html(report: dict[str, Any]) -> str:
    verdicts = [v.value for v in VERDICT_ORDER]
    head = "".join(f"<th><span class='v {v}'>{v}</span></th>" for v in verdicts)
    rows = "".join(f"<tr><td>{lvl}</td>" + "".join(f"<td>{counts[v]}</td>" for v in verdicts) + "</tr>"
                   for lvl, counts in report["summary"]["by_level"].items())
    sections = []
    for verdict in verdicts:
        checks = [c for c in report["checks"] if c["verdict"] == verdict]
        if checks:
            sections.append(f"<h2><span class='v {verdict}'>{verdict}</span> {len(checks)}</h2>"
                            + "".join(_check(c) for c in checks))
    problems = "".join(f"<li>{escape(p)}</li>" for p in report["discovery_problems"] + [
        f"could not delete {x}" for x in report["leftovers"]])
    fatal = f"<p class='reason'>{escape(report['fatal'])}</p>" if report.get("fatal") else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>SCIM conformance: {escape(report['target'])}</title>
<style>{CSS}</style></head><body>
<h1>SCIM conformance report</h1>
<div class="meta">{escape(report['target'])} · profiles {escape(', '.join(report['profiles']))}
{' · read-only' if report['read_only'] else ''} · {escape(report['started_at'])} · {report['duration_s']:.2f} s ·
{report['summary']['total']} checks · resources namespaced <code>{escape(report['namespace_prefix'])}</code></div>
{fatal}
<p>A <b>fail</b> is a broken MUST; a <b>warning</b> is an unmet SHOULD or MAY; <b>skipped</b> checks test features the
server does not advertise; an <b>error</b> means the suite could not reach a verdict (usually a failed prerequisite).</p>
<table class="sum"><tr><th>level</th>{head}</tr>{rows}</table>
{f'<ul>{problems}</ul>' if problems else ''}
{''.join(sections)}
</body></html>
"""
