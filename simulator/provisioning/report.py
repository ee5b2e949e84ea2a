"""A self-contained HTML page about provisioning cycles, rendered from their JSON summaries and log records.

JSON stays the source of truth (``CycleSummary.as_dict()`` and the JSON-lines
provisioning log); this page is only a view of it, for people who want to see a
run at a glance or attach it to a ticket: per-cycle totals, failures grouped by
Entra's error code (with the objects they hit), and a timeline of the cycles.

The page has no external assets (inline CSS, no script), so it opens anywhere
and offline. Every value from a summary or a record is HTML-escaped, since
display names and server answers are whatever the directory and the target
hold; and any secret the caller names (the job's token) is removed from each
value before it is written, in case a server echoed it back.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..requestlog import REDACTED, redact

STATUSES = ("success", "skipped", "failure", "warning")
#: objects named under each failure code; the rest are counted
OBJECTS_PER_CODE = 20

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1b1b1b;max-width:72rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.meta{color:#555;font-size:.9rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.Succeeded{color:#0a7a2f}.EntryLevelErrors,.Skipped{color:#a35d00}.Failed,.Interrupted{color:#b00020}
td.track{position:relative;width:40rem;min-width:20rem;padding:0;border-left:1px solid #999}
.bar{position:absolute;height:1.1rem;top:.25rem;min-width:3px;display:flex;overflow:hidden;border-radius:2px}
.bar span{height:100%}.success{background:#3c9d5d}.skipped{background:#b9c4cc}.failure{background:#c8423b}
.warning{background:#e0a030}.idle{background:#ddd}
ul.objects{margin:.2rem 0;padding-left:1.2rem}
"""


class _Escaper:
    """Text for the page: secrets removed, credentials redacted, HTML escaped."""

    def __init__(self, secrets: Iterable[str]):
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, value: Any) -> str:
        text = "" if value is None else str(value)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return html.escape(redact(text), quote=True)


def _parse(moment: str | None) -> datetime | None:
    if not moment:
        return None
    try:
        return datetime.fromisoformat(moment)
    except ValueError:
        return None


def _status_counts(summary: dict[str, Any]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    counts.update(summary.get("byStatus") or {})
    return counts


def failures_grouped(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Failure records by Entra error code, the most frequent code first."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        info = record.get("provisioningStatusInfo") or {}
        if info.get("status") != "failure":
            continue
        code = (info.get("errorInformation") or {}).get("errorCode") or "unknown"
        groups.setdefault(code, []).append(record)
    return dict(sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])))


def render_report(summaries: list[dict[str, Any]], records: Iterable[dict[str, Any]], *,
                  title: str = "Provisioning report", secrets: Iterable[str] = ()) -> str:
    """The HTML page for ``summaries`` (cycle summaries as dicts, oldest first) and their log ``records``."""
    e = _Escaper(secrets)
    cycle_ids = {s.get("cycleId") for s in summaries}
    records = [r for r in records if r.get("cycleId") in cycle_ids]
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>", f"<h1>{e(title)}</h1>"]
    jobs = sorted({s.get("jobId") or "" for s in summaries} - {""})
    first = summaries[0].get("started") if summaries else None
    last = summaries[-1].get("ended") if summaries else None
    parts.append(f'<p class="meta">job {e(", ".join(jobs) or "-")} · {len(summaries)} '
                 f'cycle{"s" if len(summaries) != 1 else ""} · {e(first or "-")} to {e(last or "-")}</p>')
    parts += _totals(summaries, e)
    parts += _failures(summaries, records, e)
    parts += _timeline(summaries, e)
    parts += _notes(summaries, e)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _totals(summaries: list[dict[str, Any]], e: _Escaper) -> list[str]:
    out = ["<h2>Cycles</h2>", "<table><thead><tr><th>#</th><th>cycle</th><th>kind</th><th>state</th><th>started</th>"
           "<th>duration (s)</th><th>objects</th>" + "".join(f"<th>{s}</th>" for s in STATUSES)
           + "<th>requests</th><th>objects/s</th><th>escrowed</th><th>staged deletes</th></tr></thead><tbody>"]
    grand = dict.fromkeys(("processed", "requests", "durationSeconds", *STATUSES), 0)
    for index, summary in enumerate(summaries, 1):
        counts = _status_counts(summary)
        state = summary.get("state") or ""
        out.append(f'<tr><td class="n">{index}</td><td>{e(summary.get("cycleId"))}</td><td>{e(summary.get("kind"))}</td>'
                   f'<td class="{e(state)}">{e(state)}</td><td>{e(summary.get("started"))}</td>'
                   f'<td class="n">{e(summary.get("durationSeconds"))}</td><td class="n">{e(summary.get("processed"))}</td>'
                   + "".join(f'<td class="n">{e(counts[s])}</td>' for s in STATUSES)
                   + f'<td class="n">{e(summary.get("requests"))}</td><td class="n">{e(summary.get("objectsPerSecond"))}</td>'
                   f'<td class="n">{e(summary.get("escrowed"))}</td><td class="n">{e(summary.get("stagedDeletes"))}</td></tr>')
        for key in ("processed", "requests", "durationSeconds"):
            grand[key] += summary.get(key) or 0
        for status in STATUSES:
            grand[status] += counts[status]
    out.append(f'<tr><th colspan="5">total</th><td class="n">{e(round(grand["durationSeconds"], 3))}</td>'
               f'<td class="n">{e(grand["processed"])}</td>'
               + "".join(f'<td class="n">{e(grand[s])}</td>' for s in STATUSES)
               + f'<td class="n">{e(grand["requests"])}</td><td colspan="3"></td></tr></tbody></table>')
    actions: dict[str, dict[str, int]] = {}
    for summary in summaries:
        for action, counts in (summary.get("byAction") or {}).items():
            row = actions.setdefault(action, dict.fromkeys(STATUSES, 0))
            for status, n in counts.items():
                row[status] = row.get(status, 0) + n
    if actions:
        out.append("<table><thead><tr><th>action (all cycles)</th>" + "".join(f"<th>{s}</th>" for s in STATUSES)
                   + "</tr></thead><tbody>")
        for action, counts in sorted(actions.items()):
            out.append(f"<tr><td>{e(action)}</td>" + "".join(f'<td class="n">{e(counts.get(s, 0))}</td>'
                                                              for s in STATUSES) + "</tr>")
        out.append("</tbody></table>")
    reasons: dict[str, int] = {}
    for summary in summaries:
        for reason, n in (summary.get("reasons") or {}).items():
            reasons[reason] = reasons.get(reason, 0) + n
    if reasons:
        out.append("<p>reasons: " + ", ".join(f"{e(k)} {e(v)}" for k, v in sorted(reasons.items())) + "</p>")
    return out


def _failures(summaries: list[dict[str, Any]], records: list[dict[str, Any]], e: _Escaper) -> list[str]:
    out = ["<h2>Failures by error code</h2>"]
    groups = failures_grouped(records)
    if not groups:
        out.append("<p>No failures.</p>")
        return out
    cycle_number = {s.get("cycleId"): index for index, s in enumerate(summaries, 1)}
    out.append("<table><thead><tr><th>error code</th><th>count</th><th>reason</th><th>recommended action</th>"
               "<th>objects</th></tr></thead><tbody>")
    for code, failed in groups.items():
        info = (failed[0].get("provisioningStatusInfo") or {}).get("errorInformation") or {}
        items = []
        for record in failed[:OBJECTS_PER_CODE]:
            source = record.get("sourceIdentity") or {}
            items.append(f"<li>{e(source.get('identityType'))} {e(source.get('displayName') or source.get('id'))} "
                         f"({e(record.get('provisioningAction'))}, cycle {e(cycle_number.get(record.get('cycleId')))})</li>")
        if len(failed) > OBJECTS_PER_CODE:
            items.append(f"<li>and {len(failed) - OBJECTS_PER_CODE} more</li>")
        out.append(f'<tr><td>{e(code)}</td><td class="n">{len(failed)}</td><td>{e(info.get("reason"))}</td>'
                   f'<td>{e(info.get("recommendedAction"))}</td><td><ul class="objects">{"".join(items)}</ul></td></tr>')
    out.append("</tbody></table>")
    return out


def _timeline(summaries: list[dict[str, Any]], e: _Escaper) -> list[str]:
    """One row per cycle, placed by its start and sized by its duration; the bar is split by status."""
    out = ["<h2>Timeline</h2>"]
    spans = []
    for summary in summaries:
        start = _parse(summary.get("started"))
        end = _parse(summary.get("ended")) or start
        duration = float(summary.get("durationSeconds") or 0)
        spans.append((start, max(duration, (end - start).total_seconds() if start and end else 0.0)))
    known = [(s, d) for s, d in spans if s is not None]
    origin = min((s for s, _ in known), default=None)
    horizon = max(((s - origin).total_seconds() + d for s, d in known), default=0.0) if origin else 0.0
    out.append("<table><thead><tr><th>cycle</th><th>time</th></tr></thead><tbody>")
    for index, (summary, (start, duration)) in enumerate(zip(summaries, spans), 1):
        offset = (start - origin).total_seconds() if start and origin else 0.0
        left = 100 * offset / horizon if horizon > 0 else 0.0
        width = max(100 * duration / horizon if horizon > 0 else 100 / max(len(summaries), 1), 0.5)
        width = min(width, 100 - min(left, 99.5))
        counts = _status_counts(summary)
        total = sum(counts.values())
        segments = "".join(f'<span class="{s}" style="width:{100 * counts[s] / total:.2f}%" title="{s} {counts[s]}"></span>'
                           for s in STATUSES if counts[s]) if total else '<span class="idle" style="width:100%"></span>'
        label = (f"{index}. {summary.get('kind')} · {summary.get('state')} · {summary.get('processed')} objects · "
                 f"{summary.get('started')}")
        out.append(f'<tr><td>{e(label)}</td><td class="track"><div class="bar" '
                   f'style="left:{left:.2f}%;width:{width:.2f}%">{segments}</div></td></tr>')
    out.append("</tbody></table>")
    out.append('<p class="meta">Bars are placed by start time and sized by duration; colours: '
               + ", ".join(f'<span class="{s}">&nbsp;&nbsp;</span> {s}' for s in STATUSES) + "</p>")
    return out


def _notes(summaries: list[dict[str, Any]], e: _Escaper) -> list[str]:
    rows = [(index, note) for index, s in enumerate(summaries, 1) for note in s.get("notes") or []]
    quarantined = [(index, s["quarantine"]) for index, s in enumerate(summaries, 1) if s.get("quarantine")]
    if not rows and not quarantined:
        return []
    out = ["<h2>Notes</h2>", "<ul>"]
    out += [f"<li>cycle {index}: {e(note)}</li>" for index, note in rows]
    out += [f"<li>cycle {index}: quarantine {e(q.get('reason'))} until {e(q.get('next_attempt'))}</li>"
            for index, q in quarantined]
    out.append("</ul>")
    return out
