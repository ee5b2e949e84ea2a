"""The provisioning job file: YAML, checked by a JSON Schema and by Entra's own rules, errors with line numbers.

A job is what Entra's Provisioning blade holds for one enterprise app: the SCIM
Tenant URL and Secret Token, the source directory, the scope, the settings
(SkipOutOfScopeDeletions, accidental-deletion threshold...), and the user and
group mappings with their scoping filters. ``entrasim provision init`` writes
one from a preset; ``load_job`` reads one.

Every problem is reported at once, each with the line of the key at fault and
its path in the document (``mappings.users.attributes[2].expression``): the
document is composed with ``yaml.compose`` so that every node keeps its line.
The structure is checked with ``job.schema.json`` (jsonschema); what a schema
cannot say (expressions, target paths, source attributes, matching precedence,
scoping clauses, the dialect flag in the Tenant URL) is checked by ``mappings``
and ``scoping``, as Entra checks a configuration when it is saved.

Secrets need not be in the file: ``secretToken`` and ``clientSecret`` may be
``${ENV_VAR}`` references, resolved only when the job runs. A ``Secret`` never
shows its value in a repr, a log or an error.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Mapping
from urllib.parse import parse_qsl, urlsplit

from ..yaml_document import Problem, YamlDocument
from .attributes import GROUP, USER
from .mappings import MappingErrors, ObjectMapping, build_object_mapping
from .scoping import (
    ScopePolicy,
    ScopingClause,
    ScopingError,
    ScopingFilter,
    ScopingFilters,
)

SCHEMA_PATH = Path(__file__).with_name("job.schema.json")
PRESETS_DIR = Path(__file__).with_name("presets")
PRESETS = ("customappsso", "email-keyed")
DIALECTS = ("default", "aadOptscim062020")
DIALECT_FLAG = "aadOptscim062020"

DEFAULT_TIMEOUTS = {"connect": 10.0, "read": 30.0}
DEFAULT_REQUEST_RATE = 25.0

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


# ------------------------------------------------------------------ problems


class JobFileError(Exception):
    """The job file cannot be used; ``problems`` lists everything wrong with it."""

    def __init__(self, problems: list[Problem], filename: str | None = None):
        self.problems = problems
        self.filename = filename
        super().__init__("\n".join(p.format(filename) for p in problems))


class SecretUnavailable(Exception):
    """A ``${ENV_VAR}`` secret whose variable is not set."""


# ------------------------------------------------------------------ secrets


@dataclass(frozen=True)
class Secret:
    """A token or client secret: a literal value, or the name of the environment variable that holds it."""

    value: str | None = field(default=None, repr=False)
    env: str | None = None

    @classmethod
    def from_config(cls, text: str) -> "Secret":
        match = _ENV_REF.match(text)
        return cls(env=match.group(1)) if match else cls(value=text)

    def reveal(self, environ: Mapping[str, str] | None = None) -> str:
        """The secret's value; ``SecretUnavailable`` if its environment variable is not set."""
        if self.env is None:
            return self.value or ""
        environ = os.environ if environ is None else environ
        if self.env not in environ:
            raise SecretUnavailable(f"environment variable {self.env} is not set")
        return environ[self.env]

    def __repr__(self) -> str:
        return f"Secret(${{{self.env}}})" if self.env else "Secret(<literal>)"

    __str__ = __repr__


# ------------------------------------------------------------------ the job


@dataclass(frozen=True)
class GraphSource:
    """A Graph endpoint read through client credentials: our mock, or a real tenant (read-only)."""

    tenant_id: str
    client_id: str
    client_secret: Secret
    authority: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"
    ca_bundle: Path | None = None
    #: the enterprise application whose assignments decide who is assigned; None: everyone counts as assigned.
    service_principal_id: str | None = None


@dataclass(frozen=True)
class SourceConfig:
    """Where users and groups come from: ``tenant`` (the in-process model), ``snapshot`` (a file) or ``graph``."""

    kind: str
    snapshot: Path | None = None
    graph: GraphSource | None = None


@dataclass(frozen=True)
class Settings:
    """The job's behaviour switches, with Entra's defaults."""

    skip_out_of_scope_deletions: bool = False
    accidental_deletion_threshold: int | None = None  # None: accidental-deletion prevention off
    members_per_patch: int = 1
    concurrency: int = 1
    request_rate: float | None = DEFAULT_REQUEST_RATE  # requests per second; None: no limit
    connect_timeout: float = DEFAULT_TIMEOUTS["connect"]
    read_timeout: float = DEFAULT_TIMEOUTS["read"]
    #: settings.quirks.switchNullsUnchangedSource: Microsoft's documented Switch caution, off by default. In an
    #: incremental cycle, a Switch whose source attribute did not change (while another attribute did) evaluates
    #: to null and the target attribute is nulled.
    switch_nulls_unchanged_source: bool = False


@dataclass(frozen=True)
class Job:
    """A validated provisioning job."""

    tenant_url: str
    secret_token: Secret | None
    dialect: str
    source: SourceConfig
    scope: str
    settings: Settings
    users: ObjectMapping
    groups: ObjectMapping
    target_ca_bundle: Path | None = None
    description: str | None = None
    path: Path | None = None

    @property
    def object_mappings(self) -> tuple[ObjectMapping, ObjectMapping]:
        return self.users, self.groups

    @property
    def scope_policy(self) -> ScopePolicy:
        return ScopePolicy(self.scope, self.users.scoping, self.groups.scoping)


# ------------------------------------------------------------------ reading


@lru_cache(maxsize=1)
def job_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def preset_path(name: str) -> Path:
    if name not in PRESETS:
        raise ValueError(f"unknown preset '{name}'; presets: {', '.join(PRESETS)}")
    return PRESETS_DIR / f"{name}.yaml"


def preset_text(name: str) -> str:
    """The YAML of a preset job, comments included, as ``entrasim provision init`` writes it."""
    return preset_path(name).read_text(encoding="utf-8")


def load_job(path: str | os.PathLike) -> Job:
    """Read and validate a job file; raise ``JobFileError`` listing every problem with its line."""
    job_path = Path(path)
    try:
        text = job_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JobFileError([Problem(None, "", f"cannot read the job file: {exc.strerror or exc}")], str(path)) from None
    except UnicodeDecodeError:
        raise JobFileError([Problem(None, "", "the job file is not UTF-8 text")], str(path)) from None
    return parse_job(text, filename=str(path), base_dir=job_path.parent, path=job_path)


def validate_job_file(path: str | os.PathLike) -> list[Problem]:
    """Every problem of a job file (empty when it is valid)."""
    try:
        load_job(path)
    except JobFileError as exc:
        return exc.problems
    return []


def parse_job(text: str, *, filename: str | None = None, base_dir: Path | None = None, path: Path | None = None) -> Job:
    """Validate job YAML ``text`` and build the ``Job``; relative file paths are resolved against ``base_dir``."""
    document = YamlDocument(text, what="job file", mapping_hint="target, source, mappings...")
    problems = document.problems
    if not problems:
        problems = document.schema_problems(job_schema())
    if not problems:
        job, problems = _build(document, base_dir or Path.cwd(), path)
        if not problems:
            return job
    raise JobFileError(sorted(problems, key=lambda p: (p.line or 0, p.path)), filename)


# ------------------------------------------------------------------ Entra's rules, and the Job


def _secret(document: YamlDocument, path: tuple, text: str | None, problems: list[Problem]) -> Secret | None:
    if text is None or text == "":
        return None
    if "${" in text and not _ENV_REF.match(text):
        problems.append(document.problem(path, "an environment variable reference is written ${NAME} "
                                               "(letters, digits and underscores) and stands alone"))
        return None
    return Secret.from_config(text)


def _dialect(document: YamlDocument, target: dict, problems: list[Problem]) -> str:
    query = dict((k.lower(), v) for k, v in parse_qsl(urlsplit(target["tenantUrl"]).query, keep_blank_values=True))
    flagged = DIALECT_FLAG.lower() in query
    dialect = target.get("dialect")
    if dialect is None:
        return DIALECT_FLAG if flagged else "default"
    if flagged and dialect != DIALECT_FLAG:
        problems.append(document.problem(("target", "dialect"),
                                         f"tenantUrl carries ?{DIALECT_FLAG}, which turns that dialect on in Entra; "
                                         f"set dialect: {DIALECT_FLAG} or remove the flag from the URL"))
    return dialect


def _source(document: YamlDocument, config: dict, base_dir: Path, problems: list[Problem]) -> SourceConfig:
    kind = config["type"]
    graph_keys = ("tenantId", "clientId", "clientSecret", "authority", "graphUrl", "caBundle", "servicePrincipalId")
    allowed = {"tenant": (), "snapshot": ("path",), "graph": graph_keys}[kind]
    for key in ("path",) + graph_keys:
        if key in config and key not in allowed:
            problems.append(document.problem(("source", key), f"'{key}' does not apply to a source of type {kind}"))
    if kind == "snapshot":
        return SourceConfig(kind, snapshot=base_dir / config["path"])
    if kind == "graph":
        secret = _secret(document, ("source", "clientSecret"), config["clientSecret"], problems)
        extra = {}
        if "authority" in config:
            extra["authority"] = config["authority"]
        if "graphUrl" in config:
            extra["graph_url"] = config["graphUrl"]
        if "caBundle" in config:
            extra["ca_bundle"] = base_dir / config["caBundle"]
        if "servicePrincipalId" in config:
            extra["service_principal_id"] = config["servicePrincipalId"]
        return SourceConfig(kind, graph=GraphSource(config["tenantId"], config["clientId"], secret or Secret(value=""), **extra))
    return SourceConfig(kind)


def _scoping(document: YamlDocument, name: str, config: dict, problems: list[Problem]) -> ScopingFilters:
    object_type = USER if name == "users" else GROUP
    filters = []
    for f_index, entry in enumerate(config.get("scopingFilters", [])):
        clauses = []
        for c_index, clause in enumerate(entry["clauses"]):
            try:
                clauses.append(ScopingClause.build(object_type, clause["attribute"], clause["operator"], clause.get("value")))
            except ScopingError as exc:
                path = ("mappings", name, "scopingFilters", f_index, "clauses", c_index, exc.field)
                problems.append(document.problem(path, str(exc)))
        filters.append(ScopingFilter(entry.get("title", f"filter {f_index + 1}"), tuple(clauses)))
    return ScopingFilters(tuple(filters))


def _object_mapping(document: YamlDocument, name: str, config: dict | None, problems: list[Problem]) -> ObjectMapping:
    if config is None:
        return ObjectMapping(name=name, object_type=GROUP, enabled=False)
    scoping = _scoping(document, name, config, problems)
    try:
        return build_object_mapping(name, config, scoping)
    except MappingErrors as exc:
        for error in exc.errors:
            problems.append(document.problem(("mappings", name) + error.path, error.message))
        return ObjectMapping(name=name, object_type=USER if name == "users" else GROUP, enabled=False)


def _rate(value: int | float | None) -> float | None:
    return None if value is None else float(value)


def _build(document: YamlDocument, base_dir: Path, path: Path | None) -> tuple[Job | None, list[Problem]]:
    data = document.data
    problems: list[Problem] = []
    target = data["target"]
    dialect = _dialect(document, target, problems)
    token = _secret(document, ("target", "secretToken"), target.get("secretToken"), problems)
    source = _source(document, data["source"], base_dir, problems)
    settings_config = data.get("settings", {})
    timeouts = {**DEFAULT_TIMEOUTS, **settings_config.get("timeouts", {})}
    settings = Settings(
        skip_out_of_scope_deletions=settings_config.get("skipOutOfScopeDeletions", False),
        accidental_deletion_threshold=settings_config.get("accidentalDeletionThreshold"),
        members_per_patch=settings_config.get("membersPerPatch", 1),
        concurrency=settings_config.get("concurrency", 1),
        request_rate=_rate(settings_config.get("requestRate", DEFAULT_REQUEST_RATE)),
        connect_timeout=float(timeouts["connect"]),
        read_timeout=float(timeouts["read"]),
        switch_nulls_unchanged_source=settings_config.get("quirks", {}).get("switchNullsUnchangedSource", False),
    )
    mappings = data["mappings"]
    users = _object_mapping(document, "users", mappings["users"], problems)
    groups = _object_mapping(document, "groups", mappings.get("groups"), problems)
    if problems:
        return None, problems
    job = Job(tenant_url=target["tenantUrl"], secret_token=token, dialect=dialect, source=source,
              scope=data.get("scope", "assigned"), settings=settings, users=users, groups=groups,
              target_ca_bundle=base_dir / target["caBundle"] if target.get("caBundle") else None,
              description=data.get("description"), path=path)
    return job, []
