"""Provisioning logs as Entra writes them: one record per object and action, and a summary per cycle.

Records have the shape of Graph's ``provisioningObjectSummary``
(``/auditLogs/provisioning``): ``provisioningAction`` (create, update, disable,
delete, stagedDelete, other), ``provisioningStatusInfo`` (status success,
failure, skipped or warning, and for failures ``errorInformation`` with Entra's
error code, reason and category), ``provisioningSteps`` (EntryImport, matching,
EntrySynchronizationScoping, EntrySynchronizationAdd/Update/Skip,
EntryExportAdd/Update/UpdateSoftDelete/Delete), ``modifiedProperties``,
``cycleId``, ``changeId``, ``jobId``, and the source and target identities
(target system ``customappsso``, as Entra names every SCIM app).

Two things Graph does not have live under ``entrasim``: the reason a record was
skipped (``RedundantExport``...) and the HTTP exchanges behind it (method, URL,
status, bodies), with credentials redacted.

``ProvisioningLog`` appends records to a JSON-lines file as they happen (a
killed run keeps everything logged so far) and keeps counts for the summary.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from ..clock import iso
from .scim_client import Exchange

SOURCE_SYSTEM = "Azure Active Directory"
TARGET_SYSTEM = "customappsso"
INITIATED_BY = {"id": "", "displayName": "Azure AD Provisioning Service", "initiatorType": "system"}

ACTIONS = ("create", "update", "disable", "delete", "stagedDelete", "other")
STATUSES = ("success", "failure", "skipped", "warning")

# skip reasons (SkipReason in Entra's EntrySynchronizationSkip step)
REDUNDANT_EXPORT = "RedundantExport"
NOT_EFFECTIVELY_ENTITLED = "NotEffectivelyEntitled"
SKIP_OUT_OF_SCOPE_DELETIONS = "SkipOutOfScopeDeletions"
NOT_MANAGED = "NotManaged"
DELETE_NOT_ALLOWED = "TargetActionNotEnabled"
REFERENCE_NOT_PROVISIONED = "ReferenceNotProvisioned"

SKIP_DESCRIPTIONS = {
    REDUNDANT_EXPORT: "The state of the {noun} in both the source and target systems already match.",
    NOT_EFFECTIVELY_ENTITLED: "The {noun} is not in scope for provisioning (not assigned, filtered out by a scoping "
                              "filter, or not active), and has not been provisioned.",
    SKIP_OUT_OF_SCOPE_DELETIONS: "The {noun} went out of scope; SkipOutOfScopeDeletions is set, so it was not disabled.",
    NOT_MANAGED: "The {noun} was disabled when it left scope and is no longer managed by this job.",
    DELETE_NOT_ALLOWED: "The {noun} would be deleted or disabled, but that target object action is not enabled.",
    REFERENCE_NOT_PROVISIONED: "The referenced object is not provisioned; the reference is not set.",
}


@dataclass
class Step:
    """One of the record's provisioningSteps."""

    name: str
    step_type: str  # import, scoping, matching, processing, referenceResolution, export
    status: str
    description: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "provisioningStepType": self.step_type, "status": self.status,
                "description": self.description, "details": {k: _text(v) for k, v in self.details.items()}}


@dataclass
class ErrorInfo:
    """provisioningErrorInfo: Entra's error code, the reason text, and what to do."""

    code: str
    reason: str
    category: str = "nonServiceFailure"
    recommended: str = ""
    additional: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"errorCode": self.code, "reason": self.reason, "additionalDetails": self.additional or None,
                "errorCategory": self.category, "recommendedAction": self.recommended or None}


def _text(value: Any) -> Any:
    """modifiedProperties and step details show values as text (booleans "True"/"False")."""
    if value.__class__ is str:  # most values: checked first, they are written once per attribute per object
        return value
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    return str(value)


def _random_uuid() -> str:
    """``str(uuid.uuid4())`` without building a ``UUID`` (one per record): 16 random bytes, version 4, RFC 4122 variant.

    The version nibble is set to 4 and the variant's two top bits to 10, as ``uuid4`` sets them.
    """
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT_DIGITS[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


_VARIANT_DIGITS = "89ab"
_last_activity: tuple[float, str] = (float("nan"), "")


def _activity_text(moment: datetime) -> str:
    """``iso(moment)``, formatted once per second of activity rather than once per record.

    Records written in the same second share the text; the cache is one
    (second, text) pair swapped whole, so threads can share it.
    """
    global _last_activity
    if moment.tzinfo is None:
        return iso(moment)
    second = moment.timestamp() // 1
    cached = _last_activity
    if cached[0] == second:
        return cached[1]
    text = iso(moment)
    _last_activity = (second, text)
    return text


@dataclass
class LogRecord:
    """One provisioningObjectSummary."""

    job_id: str
    cycle_id: str
    tenant_id: str
    activity: datetime
    object_type: str
    action: str
    status: str
    source_id: str
    source_display: str
    target_id: str | None = None
    target_display: str | None = None
    steps: list[Step] = field(default_factory=list)
    modified: list[tuple[str, Any, Any]] = field(default_factory=list)
    error: ErrorInfo | None = None
    skip_reason: str | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    duration_ms: float = 0.0
    change_id: str = field(default_factory=_random_uuid)
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = f"{self.cycle_id}_{self.change_id}"

    def as_dict(self) -> dict[str, Any]:
        status_info: dict[str, Any] = {"status": self.status}
        if self.error is not None:
            status_info["errorInformation"] = self.error.as_dict()
        out: dict[str, Any] = {
            "id": self.id,
            "activityDateTime": _activity_text(self.activity),
            "cycleId": self.cycle_id,
            "changeId": self.change_id,
            "jobId": self.job_id,
            "tenantId": self.tenant_id,
            "durationInMilliseconds": round(self.duration_ms),
            "initiatedBy": dict(INITIATED_BY),
            "provisioningAction": self.action,
            "provisioningStatusInfo": status_info,
            "provisioningSteps": [step.as_dict() for step in self.steps],
            "modifiedProperties": [{"displayName": name, "oldValue": _text(old), "newValue": _text(new)}
                                   for name, old, new in self.modified],
            "sourceIdentity": {"id": self.source_id, "displayName": self.source_display,
                               "identityType": self.object_type, "details": {}},
            "sourceSystem": {"id": "", "displayName": SOURCE_SYSTEM, "details": {}},
            "targetIdentity": {"id": self.target_id or "", "displayName": self.target_display or "",
                               "identityType": self.object_type, "details": {}},
            "targetSystem": {"id": "", "displayName": TARGET_SYSTEM, "details": {"ApplicationId": "", "ServicePrincipalId": ""}},
            "entrasim": {"reason": self.skip_reason or (self.error.code if self.error else None),
                         "requests": [exchange.as_dict() for exchange in self.exchanges]},
        }
        return out


@dataclass
class CycleSummary:
    """What one cycle did: counts by action and status, pace, escrows, quarantine."""

    cycle_id: str
    job_id: str
    kind: str  # initial | incremental
    started: datetime
    ended: datetime | None = None
    duration_s: float = 0.0
    state: str = "running"  # Succeeded | EntryLevelErrors | Failed | Skipped | Interrupted
    counts: Counter = field(default_factory=Counter)  # (action, status) -> n
    by_type: Counter = field(default_factory=Counter)  # (object type, status) -> n
    reasons: Counter = field(default_factory=Counter)  # skip reason / error code -> n
    imported: int = 0
    exported: int = 0
    requests: int = 0
    escrowed: int = 0
    staged: int = 0
    quarantine: dict[str, Any] | None = None
    watermark_saved: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return sum(self.counts.values())

    @property
    def objects_per_second(self) -> float:
        return self.processed / self.duration_s if self.duration_s > 0 else 0.0

    def count(self, action: str | None = None, status: str | None = None) -> int:
        return sum(n for (a, s), n in self.counts.items() if (action is None or a == action) and (status is None or s == status))

    def as_dict(self) -> dict[str, Any]:
        actions: dict[str, dict[str, int]] = {}
        for (action, status), n in sorted(self.counts.items()):
            actions.setdefault(action, {})[status] = n
        statuses = Counter()
        for (_action, status), n in self.counts.items():
            statuses[status] += n
        types: dict[str, dict[str, int]] = {}
        for (object_type, status), n in sorted(self.by_type.items()):
            types.setdefault(object_type, {})[status] = n
        return {
            "cycleId": self.cycle_id, "jobId": self.job_id, "kind": self.kind, "state": self.state,
            "started": iso(self.started), "ended": iso(self.ended) if self.ended else None,
            "durationSeconds": round(self.duration_s, 3), "objectsPerSecond": round(self.objects_per_second, 1),
            "processed": self.processed, "imported": self.imported, "exported": self.exported,
            "requests": self.requests, "escrowed": self.escrowed, "stagedDeletes": self.staged,
            "byAction": actions, "byStatus": dict(sorted(statuses.items())), "byObjectType": types,
            "reasons": dict(sorted(self.reasons.items())), "quarantine": self.quarantine,
            "watermarkSaved": self.watermark_saved, "notes": list(self.notes),
        }


class ProvisioningLog:
    """Where records go: a JSON-lines file (appended, one line per record, flushed), memory, or both.

    ``keep`` holds records in memory (tests, the console table); the benchmark
    turns it off. ``requests`` keeps the HTTP exchanges in each record.
    """

    def __init__(self, path: str | Path | None = None, *, keep: bool = True, requests: bool = True):
        self.path = Path(path) if path is not None else None
        self.keep = keep
        self.with_requests = requests
        self.records: list[LogRecord] = []
        self.summaries: list[CycleSummary] = []
        self._file: IO[bytes] | None = None
        self._lock = threading.Lock()
        if self.path is not None:
            self._file = open(self.path, "ab")

    def write(self, record: LogRecord, summary: CycleSummary | None = None) -> None:
        if not self.with_requests:
            record.exchanges = []
        with self._lock:
            if self._file is not None:
                self._file.write(orjson.dumps(record.as_dict()) + b"\n")
                self._file.flush()
            if self.keep:
                self.records.append(record)
            if summary is not None:
                summary.counts[(record.action, record.status)] += 1
                summary.by_type[(record.object_type, record.status)] += 1
                reason = record.skip_reason or (record.error.code if record.error else None)
                if reason:
                    summary.reasons[reason] += 1

    def add_summary(self, summary: CycleSummary) -> None:
        with self._lock:
            self.summaries.append(summary)

    def for_cycle(self, cycle_id: str) -> list[LogRecord]:
        return [r for r in self.records if r.cycle_id == cycle_id]

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __enter__(self) -> ProvisioningLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines provisioning log (for reports and tests)."""
    with open(path, "rb") as handle:
        return [orjson.loads(line) for line in handle if line.strip()]


def failures_by_code(records: Iterable[dict[str, Any]]) -> dict[str, int]:
    counts: Counter = Counter()
    for record in records:
        info = record.get("provisioningStatusInfo", {})
        if info.get("status") == "failure":
            counts[(info.get("errorInformation") or {}).get("errorCode", "unknown")] += 1
    return dict(counts)
