"""Vendor-behaviour profiles: YAML files a user can copy and edit, plus small Python hooks.

A profile decides how strictly the server reads requests (``values`` and
``patch`` switches), what PATCH answers, which attributes are unique, the
limits it advertises, extra User extensions, and optional hooks for
behaviours data cannot express. Three ship with entrasim, in ``profiles/``:

- ``rfc``: strict RFC 7643/7644;
- ``entra-tolerant``: accepts everything documented that Entra sends;
- ``email-keyed``: an LMS keyed by work email (the 360Learning behaviour).

``load_profile("entra-tolerant")`` loads a shipped profile by name;
``load_profile("path/to/mine.yaml")`` loads a user's file. A file may start
from another with ``extends: <name or path>``; its sections override the base
key by key. Unknown keys are errors, so a typo never silently turns a switch off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .errors import InvalidValue, Uniqueness
from .filters import FilterOptions
from .patch import PatchOptions
from .schemas import Attribute, Schema
from .validation import ValueOptions

if TYPE_CHECKING:
    from .service import ScimService

PROFILE_DIR = Path(__file__).with_name("profiles")
PATCH_RESPONSES = ("resource", "no_content")


class ProfileError(ValueError):
    """A profile that cannot be loaded as written (one line, for the CLI)."""


@dataclass
class Limits:
    max_body_bytes: int = 1 << 20
    bulk_max_operations: int = 1000
    bulk_max_payload_bytes: int = 1 << 20
    max_results: int = 1000
    too_many_results: int | None = None


# ------------------------------------------------------------------ hooks


class ProfileHooks:
    """Behaviour a profile adds in Python. The defaults do nothing; every method may raise a ScimError."""

    def prepare(self, service: "ScimService", rtype: str, record: dict[str, Any], creating: bool) -> None:
        """Check or complete a record about to be stored (after POST, PUT or PATCH was applied to a copy)."""

    def match_on_create(self, service: "ScimService", rtype: str, record: dict[str, Any]) -> str | None:
        """The id of an existing resource a POST should answer with instead of creating one."""
        return None

    def fork_on_update(self, service: "ScimService", rtype: str, current: dict[str, Any],
                       updated: dict[str, Any]) -> bool:
        """True when an update must create a new resource and leave ``current`` as it was."""
        return False


def work_email(record: dict[str, Any]) -> str | None:
    """The address an email-keyed LMS uses as the account key: type work, else primary, else the first."""
    emails = [e for e in record.get("emails") or [] if isinstance(e, dict) and isinstance(e.get("value"), str)]
    for choose in (lambda e: str(e.get("type", "")).lower() == "work", lambda e: e.get("primary") is True,
                   lambda e: True):
        for email in emails:
            if choose(email):
                return email["value"]
    return None


_LANGUAGE = re.compile(r"^[A-Za-z]{2}$")


class EmailKeyedHooks(ProfileHooks):
    """An LMS keyed by work email (360Learning, as described in the seed documents)."""

    def __init__(self, forbidden_user_attributes: list[str] | None = None,
                 required_user_attributes: list[str] | None = None, language_attribute: str = "preferredLanguage",
                 default_language: str = "en"):
        self.forbidden = list(forbidden_user_attributes or ["displayName"])
        self.required = list(required_user_attributes or ["name.givenName", "name.familyName"])
        self.language_attribute = language_attribute
        self.default_language = default_language

    def prepare(self, service: "ScimService", rtype: str, record: dict[str, Any], creating: bool) -> None:
        if rtype != "User":
            return
        for name in self.forbidden:
            if record.get(name) is not None:
                raise InvalidValue(f"Invalid or forbidden key found: {name}")
        for dotted in self.required:
            attr, _, sub = dotted.partition(".")
            value = record.get(attr)
            if sub:
                value = value.get(sub) if isinstance(value, dict) else None
            if value in (None, ""):
                raise InvalidValue(f"'{dotted}' is required by this LMS")
        if work_email(record) is None:
            raise InvalidValue("a work email is required: emails[type eq \"work\"].value is the account's key in this LMS")
        language = record.get(self.language_attribute)
        if language is None and creating:
            record[self.language_attribute] = self.default_language
        elif language is not None and not _LANGUAGE.match(language):
            raise InvalidValue(f"'{self.language_attribute}' must be a two-letter language code such as "
                               f"\"{self.default_language}\", got \"{language}\"")
        key = work_email(record)
        if key is not None:
            taken = service.find_work_email(key, exclude=None if creating else record.get("id"))
            if creating and taken:
                raise Uniqueness(f"an account with the email '{key}' already exists (id {sorted(taken)[0]}); "
                                 "the work email is the account's key")

    def match_on_create(self, service: "ScimService", rtype: str, record: dict[str, Any]) -> str | None:
        if rtype != "Group" or not isinstance(record.get("displayName"), str):
            return None
        found = service.store.lookup("Group", "displayName", record["displayName"])
        return service.store_order(found)[0] if found else None

    def fork_on_update(self, service: "ScimService", rtype: str, current: dict[str, Any],
                       updated: dict[str, Any]) -> bool:
        if rtype != "User":
            return False
        old, new = work_email(current), work_email(updated)
        if old is None or new is None or old.casefold() == new.casefold():
            return False
        taken = service.find_work_email(new, exclude=current.get("id"))
        if taken:
            raise Uniqueness(f"an account with the email '{new}' already exists (id {sorted(taken)[0]}); "
                             "the work email is the account's key")
        return True


HOOKS: dict[str, type[ProfileHooks]] = {"email-keyed": EmailKeyedHooks}


# ------------------------------------------------------------------ profile


@dataclass
class Profile:
    name: str
    description: str = ""
    values: ValueOptions = field(default_factory=ValueOptions)
    patch: PatchOptions = field(default_factory=PatchOptions)
    patch_response: dict[str, str] = field(default_factory=lambda: {"User": "resource", "Group": "no_content"})
    unique: dict[str, list[str]] = field(default_factory=lambda: {"Group": []})
    check_member_references: bool = True
    limits: Limits = field(default_factory=Limits)
    extensions: list[Schema] = field(default_factory=list)
    hooks: ProfileHooks = field(default_factory=ProfileHooks)
    source: str = ""

    @property
    def filter_options(self) -> FilterOptions:
        return FilterOptions(string_booleans=self.values.string_booleans,
                             subattribute_after_value_filter=self.values.subattribute_after_value_filter)


_TOP_KEYS = {"name", "extends", "description", "values", "patch", "patch_response", "unique",
             "check_member_references", "limits", "extensions", "hooks"}


def shipped_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def _locate(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.is_file():
            raise ProfileError(f"profile file {name_or_path} does not exist")
        return candidate
    shipped = PROFILE_DIR / f"{name_or_path}.yaml"
    if not shipped.is_file():
        raise ProfileError(f"unknown profile '{name_or_path}'; known: {', '.join(shipped_profiles())} "
                           "(or give a path to a .yaml file)")
    return shipped


def _read(path: Path, seen: tuple[str, ...]) -> dict[str, Any]:
    """The merged data of a profile file and the chain of files it extends."""
    key = str(path.resolve())
    if key in seen:
        raise ProfileError(f"profile {path} extends itself (through {' -> '.join(seen)})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"cannot read profile {path}: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict):
        raise ProfileError(f"profile {path} must be a YAML mapping")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ProfileError(f"profile {path}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(_TOP_KEYS))}")
    base_name = data.get("extends")
    if not base_name:
        return data
    base_path = _locate(str(base_name)) if not (path.parent / str(base_name)).is_file() else path.parent / str(base_name)
    merged = _read(base_path, seen + (key,))
    for section, value in data.items():
        if section == "extends":
            continue
        if isinstance(value, dict) and isinstance(merged.get(section), dict) and section != "hooks":
            merged[section] = {**merged[section], **value}
        else:
            merged[section] = value
    return merged


def _switches(cls: type, section: str, data: Any, source: str) -> Any:
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ProfileError(f"profile {source}: '{section}' must be a mapping")
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ProfileError(f"profile {source}: unknown {section} switch(es) {', '.join(sorted(unknown))}; "
                           f"known: {', '.join(sorted(known))}")
    for key, value in data.items():
        if not isinstance(value, bool):
            raise ProfileError(f"profile {source}: {section}.{key} must be true or false, got {value!r}")
    return cls(**data)


def _limits(data: Any, source: str) -> Limits:
    if data is None:
        return Limits()
    if not isinstance(data, dict):
        raise ProfileError(f"profile {source}: 'limits' must be a mapping")
    known = {f.name for f in fields(Limits)}
    unknown = set(data) - known
    if unknown:
        raise ProfileError(f"profile {source}: unknown limit(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    for key, value in data.items():
        if value is None and key == "too_many_results":
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ProfileError(f"profile {source}: limits.{key} must be a whole number of at least 1, got {value!r}")
    return Limits(**data)


def _extensions(data: Any, source: str) -> list[Schema]:
    if not data:
        return []
    if not isinstance(data, list):
        raise ProfileError(f"profile {source}: 'extensions' must be a list of schemas")
    out = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not str(item.get("id", "")).startswith("urn:") or not isinstance(item.get("attributes"), list):
            raise ProfileError(f"profile {source}: extensions[{i}] needs an 'id' (a urn:) and a list of 'attributes'")
        try:
            attributes = tuple(Attribute.from_scim(a) for a in item["attributes"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ProfileError(f"profile {source}: extensions[{i}]: invalid attribute definition ({exc})") from None
        out.append(Schema(item["id"], item.get("name", item["id"].rsplit(":", 1)[-1]), item.get("description", ""), attributes))
    return out


def _hooks(data: Any, source: str) -> ProfileHooks:
    if data is None:
        return ProfileHooks()
    if isinstance(data, str):
        data = {"name": data}
    if not isinstance(data, dict) or "name" not in data:
        raise ProfileError(f"profile {source}: 'hooks' must name a hook set ({', '.join(HOOKS)})")
    settings = dict(data)
    name = settings.pop("name")
    cls = HOOKS.get(name)
    if cls is None:
        raise ProfileError(f"profile {source}: unknown hooks '{name}'; known: {', '.join(HOOKS)}")
    try:
        return cls(**settings)
    except TypeError as exc:
        raise ProfileError(f"profile {source}: hooks '{name}': {exc}") from None


def load_profile(name_or_path: str | Profile = "rfc") -> Profile:
    """Load a shipped profile by name, or a profile file by path; raise ProfileError saying what is wrong."""
    if isinstance(name_or_path, Profile):
        return name_or_path
    path = _locate(str(name_or_path))
    data = _read(path, ())
    source = str(path)
    patch_response = {"User": "resource", "Group": "no_content", **(data.get("patch_response") or {})}
    for rtype, answer in patch_response.items():
        if rtype not in ("User", "Group") or answer not in PATCH_RESPONSES:
            raise ProfileError(f"profile {source}: patch_response.{rtype} must be one of {', '.join(PATCH_RESPONSES)}")
    unique = {"Group": [], **(data.get("unique") or {})}
    for rtype, names in unique.items():
        if rtype not in ("User", "Group") or not isinstance(names, list):
            raise ProfileError(f"profile {source}: unique.{rtype} must be a list of attribute names")
        allowed = {"Group": {"displayName", "externalId"}, "User": {"externalId", "displayName"}}[rtype]
        bad = [n for n in names if n not in allowed]
        if bad:
            raise ProfileError(f"profile {source}: unique.{rtype} may list {', '.join(sorted(allowed))}, not {', '.join(bad)}")
    check_refs = data.get("check_member_references", True)
    if not isinstance(check_refs, bool):
        raise ProfileError(f"profile {source}: check_member_references must be true or false")
    return Profile(
        name=str(data.get("name") or path.stem), description=str(data.get("description") or ""),
        values=_switches(ValueOptions, "values", data.get("values"), source),
        patch=_switches(PatchOptions, "patch", data.get("patch"), source),
        patch_response=patch_response, unique=unique, check_member_references=check_refs,
        limits=_limits(data.get("limits"), source), extensions=_extensions(data.get("extensions"), source),
        hooks=_hooks(data.get("hooks"), source), source=source,
    )
