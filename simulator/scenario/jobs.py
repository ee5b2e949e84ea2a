"""A scenario's ``job:`` section turned into a provisioning job file, then into a ``Job``.

A scenario says only how its job differs from a preset or from the user's own
job file (``preset`` or ``file``, ``dialect``, a few settings, mapping rows set
or removed); this module writes
the whole job file the way a user would and hands it to the provisioning
package's own loader, so a scenario's job is checked by exactly the rules
``entrasim provision validate`` applies.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..provisioning.job import Job, parse_job, preset_text
from ..yaml_document import YAML_LOADER

#: Stands in for the target while a file is validated, before any server runs.
PLACEHOLDER_URL = "https://localhost:8443/scim/v2"


@cache
def _preset(name: str) -> dict[str, Any]:
    return yaml.load(preset_text(name), Loader=YAML_LOADER)


def apply_change(document: dict[str, Any], change: dict[str, Any]) -> None:
    """Apply a ``job:`` section or an ``edit_job`` step (dialect, scope, settings, mapping rows) to a job file."""
    if "dialect" in change:
        document["target"]["dialect"] = change["dialect"]
    if "scope" in change:
        document["scope"] = change["scope"]
    document.setdefault("settings", {}).update(change.get("settings") or {})
    for object_type, mapping_change in (change.get("mappings") or {}).items():
        mapping = document["mappings"][object_type]
        for key in ("enabled", "actions", "scopingFilters", "attributes"):
            if key in mapping_change:
                mapping[key] = mapping_change[key]
        removed = set(mapping_change.get("remove") or ())
        mapping["attributes"] = [row for row in mapping["attributes"] if row.get("target") not in removed]
        for row in mapping_change.get("set") or ():
            rows = mapping["attributes"]
            for index, existing in enumerate(rows):
                if existing.get("target") == row["target"]:
                    rows[index] = row
                    break
            else:
                rows.append(row)


class JobBaseError(ValueError):
    """``job.file`` cannot be read as a job file (missing, not YAML, not a mapping)."""


def _job_file(path: str) -> dict[str, Any]:
    """A user's own job file (``entrasim provision init``), the base of a scenario's job instead of a preset."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise JobBaseError(f"cannot read the job file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise JobBaseError(f"the job file {path} is not UTF-8 text") from None
    try:
        document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise JobBaseError(f"the job file {path} is not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("target"), dict) \
            or not isinstance(document.get("mappings"), dict):
        raise JobBaseError(f"{path} is not a provisioning job file (it needs target: and mappings:)")
    return document


def job_document(spec: dict[str, Any], *, tenant_url: str, token: str, source: dict[str, Any] | None = None,
                 edits: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """The job file (as data) that ``spec`` and later ``edits`` describe, pointed at ``tenant_url``.

    The base is a preset, or with ``file:`` a user's own job file: its mappings, scoping,
    settings and dialect (``?aadOptscim062020`` in its Tenant URL included) are kept, its
    target and source are the scenario's.
    """
    if spec.get("file"):
        document = _job_file(spec["file"])
        target = document["target"]
        url = str(target.get("tenantUrl", ""))
        flagged = "?" in url and "aadOptscim062020" in url.split("?", 1)[1]
        document["target"] = {"dialect": "aadOptscim062020" if flagged else target.get("dialect", "default")}
        document.pop("source", None)
    else:
        document = copy.deepcopy(_preset(spec.get("preset", "customappsso")))
        document["target"]["dialect"] = "default"
    document["target"]["tenantUrl"] = tenant_url
    document["target"]["secretToken"] = token
    document["source"] = source or {"type": "tenant"}
    document.setdefault("settings", {})["requestRate"] = None  # scenarios measure behaviour, not pacing
    for change in (spec, *edits):
        apply_change(document, change)
    return document


def build_job(spec: dict[str, Any], *, tenant_url: str = PLACEHOLDER_URL, token: str = "placeholder-token",
              source: dict[str, Any] | None = None, edits: list[dict[str, Any]] = ()) -> Job:
    """Parse the job ``spec`` (and ``edits``) describe; ``JobFileError`` lists what is wrong, with paths inside the job."""
    document = job_document(spec, tenant_url=tenant_url, token=token, source=source, edits=edits)
    text = yaml.dump(document, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)
    return parse_job(text, filename="job")
