"""The Graph-pull LMS (the 2LRN4 document's LMS): accounts, departments, connections, imports, schedules.

Plain Python, no HTTP: the admin API (``app.py``) and scenarios call this
object. It imports users one way from Microsoft Graph (our mock or any Graph
endpoint) with an app registration, and follows the document's rules:

- a user needs a unique email address; users in conflict are not imported and
  are reported ("These users cannot be imported: ...");
- only members of the synchronized group are imported; disabled status is
  synced only for those users;
- an import never removes accounts: users who left the group stay as they are;
- department precedence (``departments.may_set_department``): Azure import <
  CSV import < administrator; departments an import creates are reported as not
  yet enrolled in categories and courses;
- a group import's role applies to its members: importing the admin group with
  the user role demotes the admins, who then get 403 "Action unauthorized" on
  admin actions (the lockout). Scheduled imports with the admin group last put
  them back.

Admin actions take ``actor``: the login of the account performing them. The
HTTP API always passes the authenticated account; scenario code may pass None
to act as the LMS itself (set-up, the scheduler).
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from ...clock import Clock, iso
from .connections import PUBLIC_AUTHORITY, PUBLIC_GRAPH, Connection, check_connection_fields
from .csv_import import parse_csv
from .departments import ADMIN, AZURE, CSV, NOT_ENROLLED_NOTICE, Department, may_set_department
from .errors import CANNOT_IMPORT, ActionUnauthorized, BadRequest, Conflict, NotFound, Unauthenticated
from .import_log import ImportLog, LogEntry
from .importer import GraphCallFailed, GraphImporter, ImporterSettings
from .schedules import Schedule, admin_last_warnings, next_occurrence, parse_time_of_day

ROLES = ("admin", "manager", "user")
STATUSES = ("enabled", "disabled")

#: Rejection reasons, as the import result and the admin screen show them.
NO_EMAIL = "no email address"
EMAIL_NOT_UNIQUE = "email address is not unique"
NO_LOGIN = "no login"
LOGIN_NOT_UNIQUE = "login is already used by another account"

#: The longest single move of the clock (what a scenario or a tester could want, far from datetime limits).
MAX_CLOCK_STEP = timedelta(days=3650)


@dataclass(slots=True)
class Account:
    login: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    department: str | None = None
    #: who last set the department: azure, csv or admin (decides who may change it).
    department_source: str | None = None
    manager: str | None = None  # the manager's login
    status: str = "enabled"
    preferred_language: str | None = None
    country: str | None = None
    role: str = "user"
    #: how the account came to exist: azure, csv or admin.
    source: str = ADMIN
    external_id: str | None = None  # the Entra object id, for Azure-imported accounts
    connection_id: str | None = None
    created_at: str = ""
    updated_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: what an import compares to tell "updated" from "unchanged".
_snapshot = attrgetter("login", "email", "first_name", "last_name", "department", "department_source", "manager",
                       "status", "preferred_language", "country", "role", "external_id", "connection_id")


@dataclass
class Rejection:
    login: str | None
    email: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ImportResult:
    """What one import did: the counts and lists the admin sees, and the error with its link into the log."""

    id: str
    kind: str  # "azure" or "csv"
    trigger: str  # "manual", "schedule:<id>" or "csv"
    started_at: str
    connection_id: str | None = None
    group_id: str | None = None
    role: str | None = None
    finished_at: str = ""
    status: str = "running"  # succeeded, completed_with_rejections, failed
    members_seen: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    new_departments: list[str] = field(default_factory=list)
    #: the text the LMS admin sees when the import failed (the document's error table), else None.
    error: str | None = None
    #: the failed response behind ``error``: log_seq, call, url, status, error_code, aadsts, request_id, correlation_id.
    error_detail: dict[str, Any] | None = None
    #: every line the admin sees about this import, error or notices.
    messages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["rejected"] = [r.to_dict() for r in self.rejected]
        return body


class GraphPullLms:
    """One LMS instance. Thread-safe; imports run one at a time (as the LMS's import queue does)."""

    def __init__(self, clock: Clock | None = None, settings: ImporterSettings | None = None, name: str = "2LRN4"):
        self.name = name
        self.clock = clock or Clock()
        self.settings = settings or ImporterSettings()
        self.lock = threading.RLock()
        self._import_lock = threading.Lock()
        self.accounts: dict[str, Account] = {}  # by lowercased login
        self.departments: dict[str, Department] = {}
        self.connections: dict[str, Connection] = {}
        self.schedules: dict[str, Schedule] = {}
        self.imports: list[ImportResult] = []
        self.log = ImportLog()
        self._tokens: dict[str, str] = {}  # bearer token -> lowercased login
        self._importers: dict[str, GraphImporter] = {}
        self._counters: Counter[str] = Counter()
        #: one scheduler run at a time (the clock listener, the CLI's ticker and the API may all ask).
        self._scheduler_lock = threading.RLock()
        self._closed = False
        self.clock.on_change(self._on_clock)

    # ------------------------------------------------------------------------------------------ helpers
    def _now(self) -> str:
        return iso(self.clock.now())

    def _next_id(self, prefix: str) -> str:
        self._counters[prefix] += 1
        return f"{prefix}-{self._counters[prefix]}"

    def check_admin(self, actor: str | Account | None) -> Account | None:
        """Raise ActionUnauthorized unless ``actor`` is an enabled admin account (None: the LMS itself)."""
        if actor is None:
            return None
        login = actor.login if isinstance(actor, Account) else actor
        with self.lock:
            account = self.accounts.get(str(login).lower())
            if account is None or account.role != "admin" or account.status != "enabled":
                raise ActionUnauthorized()
            return account

    # -------------------------------------------------------------------------------------- accounts
    def add_account(self, login: str, email: str, *, first_name: str | None = None, last_name: str | None = None,
                    role: str = "user", department: str | None = None, status: str = "enabled",
                    preferred_language: str | None = None, country: str | None = None, manager: str | None = None,
                    actor: str | Account | None = None) -> Account:
        """Create an account by hand (an administrator's action: its department counts as admin-assigned)."""
        self.check_admin(actor)
        for key, value in (("login", login), ("email", email)):
            if not isinstance(value, str) or not value.strip():
                raise BadRequest(f"'{key}' is required and must be a non-empty string")
        _check_choice("role", role, ROLES)
        _check_choice("status", status, STATUSES)
        for key, value in (("first_name", first_name), ("last_name", last_name), ("department", department),
                           ("preferred_language", preferred_language), ("country", country), ("manager", manager)):
            if value is not None and not isinstance(value, str):
                raise BadRequest(f"'{key}' must be a string or null")
        with self.lock:
            if login.lower() in self.accounts:
                raise Conflict(f"an account with login '{login}' already exists")
            holder = self._email_holder(email)
            if holder is not None:
                raise Conflict(f"email address '{email}' is already used by account '{holder.login}'")
            now = self._now()
            account = Account(login=login, email=email, first_name=first_name, last_name=last_name, role=role,
                              status=status, preferred_language=preferred_language, country=country, manager=manager,
                              source=ADMIN, created_at=now, updated_at=now)
            if department:
                self._ensure_department(department, ADMIN, enrolled=True)
                account.department, account.department_source = department, ADMIN
            self.accounts[login.lower()] = account
            return account

    def seed_admin(self, login: str = "admin@lms.example", email: str | None = None, token: str | None = None,
                   **attrs: Any) -> tuple[Account, str]:
        """Create an admin account and a bearer token for it (how a fresh LMS is bootstrapped)."""
        if token is not None:
            _check_token(token)  # before the account exists: a refused call changes nothing
        account = self.add_account(login, email or login, role="admin", **attrs)
        return account, self.issue_token(account.login, token)

    def issue_token(self, login: str, token: str | None = None) -> str:
        """A bearer token for ``login``: ``token`` when given (16+ characters), else a new random one.

        Tokens live in memory only; they are never exported or logged.
        """
        if token is not None:
            _check_token(token)
        with self.lock:
            account = self.get_account(login)
            if token is not None and self._tokens.get(token) not in (None, account.login.lower()):
                raise Conflict("that token already belongs to another account")
            token = token or secrets.token_urlsafe(32)
            self._tokens[token] = account.login.lower()
            return token

    def authenticate(self, token: str | None) -> Account:
        """The account holding ``token``; Unauthenticated when none does."""
        with self.lock:
            key = self._tokens.get(token or "")
            account = self.accounts.get(key) if key else None
            if account is None:
                raise Unauthenticated("Invalid or missing account token")
            return account

    def get_account(self, login: str) -> Account:
        with self.lock:
            account = self.accounts.get(str(login).lower())
            if account is None:
                raise NotFound("account", login)
            return account

    def list_accounts(self) -> list[Account]:
        with self.lock:
            return sorted(self.accounts.values(), key=lambda a: a.login.lower())

    def update_account(self, login: str, *, actor: str | Account | None = None, **changes: Any) -> Account:
        """An administrator edits an account: role, status, department (admin-assigned), names, language, country."""
        self.check_admin(actor)
        allowed = {"role", "status", "department", "first_name", "last_name", "preferred_language", "country", "manager"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise BadRequest(f"'{unknown[0]}' cannot be changed; changeable: {', '.join(sorted(allowed))}")
        if "role" in changes:
            _check_choice("role", changes["role"], ROLES)
        if "status" in changes:
            _check_choice("status", changes["status"], STATUSES)
        for key, value in changes.items():
            if key not in ("role", "status") and value is not None and not isinstance(value, str):
                raise BadRequest(f"'{key}' must be a string or null")
        with self.lock:
            account = self.get_account(login)
            if actor is not None and self._would_leave_no_admin(account, changes):
                raise Conflict(f"'{account.login}' is the last enabled administrator: make another account an "
                               f"enabled admin first (only an import can take the last admin's role away)")
            if "department" in changes:
                department = changes.pop("department")
                if department:
                    self._ensure_department(department, ADMIN, enrolled=True)
                account.department, account.department_source = department or None, ADMIN
            for key, value in changes.items():
                setattr(account, key, value)
            account.updated_at = self._now()
            return account

    def _would_leave_no_admin(self, account: Account, changes: dict[str, Any]) -> bool:
        """True when an administrator's edit of ``account`` would leave the LMS without an enabled admin.

        By hand, the LMS refuses that (nobody could undo it from the admin API).
        An import still can: that is the document's lockout, reproduced on purpose.
        """
        role, status = changes.get("role", account.role), changes.get("status", account.status)
        if account.role != "admin" or account.status != "enabled" or (role == "admin" and status == "enabled"):
            return False
        return not any(a is not account and a.role == "admin" and a.status == "enabled"
                       for a in self.accounts.values())

    def assign_department(self, login: str, department: str | None, actor: str | Account | None = None) -> Account:
        """An administrator assigns a department: no import can change it afterwards."""
        return self.update_account(login, department=department, actor=actor)

    # ------------------------------------------------------------------------------------ departments
    def _ensure_department(self, name: str, source: str, enrolled: bool = False) -> bool:
        """Create the department when missing; True when it was created."""
        if name in self.departments:
            return False
        self.departments[name] = Department(name=name, created_by=source, created_at=self._now(), enrolled=enrolled)
        return True

    def list_departments(self) -> list[Department]:
        with self.lock:
            return sorted(self.departments.values(), key=lambda d: d.name.lower())

    def enroll_department(self, name: str, actor: str | Account | None = None) -> Department:
        """The admin enrolls a department in its categories and courses."""
        self.check_admin(actor)
        with self.lock:
            department = self.departments.get(name)
            if department is None:
                raise NotFound("department", name)
            department.enrolled = True
            return department

    # ------------------------------------------------------------------------------------ connections
    def add_connection(self, *, tenant_id: str, client_id: str, client_secret: str, name: str = "Azure AD",
                       authority_host: str = PUBLIC_AUTHORITY, graph_url: str = PUBLIC_GRAPH,
                       ca_bundle: str | None = None, actor: str | Account | None = None) -> Connection:
        """An Azure Graph configuration (several may exist); the secret is never shown again."""
        self.check_admin(actor)
        check_connection_fields(name=name, tenant_id=tenant_id, client_id=client_id, client_secret=client_secret,
                                authority_host=authority_host, graph_url=graph_url, ca_bundle=ca_bundle)
        with self.lock:
            connection = Connection(id=self._next_id("conn"), name=name, tenant_id=tenant_id.strip(),
                                    client_id=client_id.strip(), client_secret=client_secret,
                                    authority_host=authority_host.rstrip("/"), graph_url=graph_url.rstrip("/"),
                                    ca_bundle=ca_bundle, created_at=self._now())
            self.connections[connection.id] = connection
            return connection

    def add_connection_from_info(self, info: dict[str, Any], *, name: str = "Azure AD",
                                 actor: str | Account | None = None) -> Connection:
        """A connection from the keys `entrasim serve graph --info-file` writes (and ``GraphServer.info`` holds):
        tenant_id, client_id, client_secret, authority_host, graph_url, ca_bundle."""
        if not isinstance(info, dict):
            raise BadRequest("the Graph info must be a JSON object")
        fields_ = {key: info.get(key) for key in ("tenant_id", "client_id", "client_secret", "authority_host",
                                                  "graph_url", "ca_bundle")}
        fields_ = {key: value for key, value in fields_.items() if value is not None}
        return self.add_connection(name=name, actor=actor, **fields_)

    def get_connection(self, connection_id: str) -> Connection:
        with self.lock:
            connection = self.connections.get(connection_id)
            if connection is None:
                raise NotFound("connection", connection_id)
            return connection

    def update_connection(self, connection_id: str, *, actor: str | Account | None = None, **changes: Any) -> Connection:
        """Change a connection (a new client secret, another tenant...); its cached token is dropped."""
        self.check_admin(actor)
        allowed = {"name", "tenant_id", "client_id", "client_secret", "authority_host", "graph_url", "ca_bundle"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise BadRequest(f"'{unknown[0]}' is not a connection field; fields: {', '.join(sorted(allowed))}")
        with self._import_lock, self.lock:  # a running import finishes with the connection it started with
            current = self.get_connection(connection_id)
            merged = {f.name: getattr(current, f.name) for f in fields(current) if f.name in allowed}
            merged.update(changes)
            check_connection_fields(**merged)
            for key, value in merged.items():
                setattr(current, key, value.rstrip("/") if key in ("authority_host", "graph_url") else value)
            importer = self._importers.pop(connection_id, None)
        if importer is not None:
            importer.close()
        return current

    def remove_connection(self, connection_id: str, actor: str | Account | None = None) -> None:
        self.check_admin(actor)
        with self._import_lock, self.lock:
            self.get_connection(connection_id)
            if any(s.connection_id == connection_id for s in self.schedules.values()):
                raise Conflict(f"connection '{connection_id}' has schedules; remove them first")
            del self.connections[connection_id]
            importer = self._importers.pop(connection_id, None)
        if importer is not None:
            importer.close()

    def _importer(self, connection: Connection) -> GraphImporter:
        importer = self._importers.get(connection.id)
        if importer is None:
            importer = self._importers[connection.id] = GraphImporter(connection, self.log, self.clock, self.settings)
        return importer

    # ------------------------------------------------------------------------------------------ imports
    def import_group(self, connection_id: str, group_id: str, role: str = "user", *,
                     actor: str | Account | None = None, trigger: str = "manual") -> ImportResult:
        """"Import from Azure AD": the members of one group, with one role. Returns the result (also kept)."""
        self.check_admin(actor)
        connection = self.get_connection(connection_id)
        if not isinstance(group_id, str) or not group_id.strip():
            raise BadRequest("'group_id' is required and must be a non-empty string")
        _check_choice("role", role, ROLES)
        with self._import_lock:
            with self.lock:
                result = ImportResult(id=self._next_id("import"), kind=AZURE, trigger=trigger, started_at=self._now(),
                                      connection_id=connection_id, group_id=group_id.strip(), role=role)
                importer = self._importer(connection)
            try:
                users = importer.fetch_group_users(result.group_id, import_id=result.id)
            except GraphCallFailed as failed:
                result.status = "failed"
                result.error = failed.admin_text
                result.error_detail = failed.detail()
                result.messages.append(failed.admin_text)
            else:
                with self.lock:
                    rows = [_row_from_graph(u, connection_id) for u in users]
                    result.members_seen = len(rows)
                    self._apply(rows, result, source=AZURE, role=role)
            result.finished_at = self._now()
            with self.lock:
                self.imports.append(result)
            return result

    def import_csv(self, text: str, actor: str | Account | None = None) -> ImportResult:
        """The LMS's CSV import (a bad file is refused whole with BadRequest and changes nothing)."""
        self.check_admin(actor)
        rows = parse_csv(text)
        with self._import_lock, self.lock:
            result = ImportResult(id=self._next_id("import"), kind=CSV, trigger="csv", started_at=self._now())
            result.members_seen = len(rows)
            self._apply(rows, result, source=CSV, role=None)
            result.finished_at = self._now()
            self.imports.append(result)
            return result

    def get_import(self, import_id: str) -> ImportResult:
        with self.lock:
            for result in self.imports:
                if result.id == import_id:
                    return result
        raise NotFound("import", import_id)

    def import_log(self, import_id: str | None = None, since: int = 0) -> list[LogEntry]:
        """Every call imports made (redacted), optionally only one import's."""
        return self.log.entries(import_id=import_id, since=since)

    def get_log_entry(self, seq: int) -> LogEntry:
        """One import-log entry by its ``seq``: where a failed import's ``error_detail.log_seq`` leads."""
        try:
            return self.log.get(seq)
        except KeyError:
            raise NotFound("import log entry", str(seq)) from None

    def _email_holder(self, email: str, exclude: Account | None = None) -> Account | None:
        key = email.strip().lower()
        for account in self.accounts.values():
            if account is not exclude and account.email.lower() == key:
                return account
        return None

    def _apply(self, rows: list[dict[str, Any]], result: ImportResult, source: str, role: str | None) -> None:
        """Create or update accounts from normalized rows, following the document's rules (caller holds the lock)."""
        accounts, departments = self.accounts, self.departments
        by_external = {a.external_id: a for a in accounts.values() if a.external_id}
        by_email: dict[str, Account] = {a.email.lower(): a for a in accounts.values()}
        email_counts = Counter((r["email"] or "").strip().lower() for r in rows if r["email"])
        from_azure = source == AZURE
        now = self._now()
        for row in rows:
            login, email = row["login"], (row["email"] or "").strip() or None
            if not login:
                result.rejected.append(Rejection(login, email, NO_LOGIN))
                continue
            if email is None:
                result.rejected.append(Rejection(login, None, NO_EMAIL))
                continue
            login_key, email_key = login.lower(), email.lower()
            external_id = row.get("external_id")
            account = (by_external.get(external_id) if external_id else None) or accounts.get(login_key)
            holder = by_email.get(email_key)
            if email_counts[email_key] > 1 or (holder is not None and holder is not account):
                result.rejected.append(Rejection(login, email, EMAIL_NOT_UNIQUE))
                continue
            login_holder = accounts.get(login_key)
            if account is not None and login_holder is not None and login_holder is not account:
                # a renamed UPN that another account already uses as its login: never overwrite that account
                result.rejected.append(Rejection(login, email, LOGIN_NOT_UNIQUE))
                continue
            if account is None:
                before = None
                account = Account(login=login, email=email, source=source, created_at=now, updated_at=now)
                if role is None:
                    account.role = row.get("role") or "user"
            else:
                before = _snapshot(account)
                if account.login.lower() != login_key:  # the UPN changed in Entra: re-key the account
                    del accounts[account.login.lower()]
                by_email.pop(account.email.lower(), None)
            account.login, account.email = login, email
            for key in ("first_name", "last_name", "manager", "preferred_language", "country"):
                value = row.get(key)
                if value is not None or from_azure:
                    setattr(account, key, value)
            if row.get("status") is not None:
                account.status = row["status"]
            if role is not None:
                account.role = role  # the group import's role applies to its members, admins included
            elif row.get("role") is not None:
                account.role = row["role"]
            if from_azure:
                account.external_id, account.connection_id = external_id, row["connection_id"]
                by_external[external_id] = account
            department = row.get("department")
            if department and may_set_department(account.department_source, source):
                if department not in departments:
                    self._ensure_department(department, source)
                    result.new_departments.append(department)
                account.department, account.department_source = department, source
            accounts[login_key] = account
            by_email[email_key] = account
            if before is None:
                result.created.append(login)
            elif before != _snapshot(account):
                account.updated_at = now
                result.updated.append(login)
            else:
                result.unchanged.append(login)
        result.status = "completed_with_rejections" if result.rejected else "succeeded"
        if result.rejected:
            listed = ", ".join(f"{r.login or r.email or '(no login)'} ({r.reason})" for r in result.rejected)
            result.messages.append(f"{CANNOT_IMPORT}: {listed}")
        if result.new_departments:
            result.messages.append(f"{NOT_ENROLLED_NOTICE}: {', '.join(result.new_departments)}")

    # ---------------------------------------------------------------------------------------- schedules
    def add_schedule(self, connection_id: str, group_id: str, role: str, time: str,
                     actor: str | Account | None = None) -> Schedule:
        """A daily import at ``time`` (HH:MM UTC); it first runs at the next occurrence of that time."""
        self.check_admin(actor)
        self.get_connection(connection_id)
        if not isinstance(group_id, str) or not group_id.strip():
            raise BadRequest("'group_id' is required and must be a non-empty string")
        _check_choice("role", role, ROLES)
        parse_time_of_day(time)
        with self.lock:
            now = self.clock.now()
            schedule = Schedule(id=self._next_id("schedule"), connection_id=connection_id, group_id=group_id.strip(),
                                role=role, time=time, changed_at=now, next_run=next_occurrence(now, time))
            self.schedules[schedule.id] = schedule
            return schedule

    def get_schedule(self, schedule_id: str) -> Schedule:
        with self.lock:
            schedule = self.schedules.get(schedule_id)
            if schedule is None:
                raise NotFound("schedule", schedule_id)
            return schedule

    def update_schedule(self, schedule_id: str, *, actor: str | Account | None = None, **changes: Any) -> Schedule:
        """Change a schedule's time, role, group or connection; like a new one, it first runs at its next time."""
        self.check_admin(actor)
        allowed = {"time", "role", "group_id", "connection_id"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise BadRequest(f"'{unknown[0]}' is not a schedule field; fields: {', '.join(sorted(allowed))}")
        if "time" in changes:
            parse_time_of_day(changes["time"])
        if "role" in changes:
            _check_choice("role", changes["role"], ROLES)
        if "group_id" in changes and (not isinstance(changes["group_id"], str) or not changes["group_id"].strip()):
            raise BadRequest("'group_id' must be a non-empty string")
        if "connection_id" in changes:
            self.get_connection(changes["connection_id"])
        with self.lock:
            schedule = self.get_schedule(schedule_id)
            for key, value in changes.items():
                setattr(schedule, key, value.strip() if key == "group_id" else value)
            schedule.reschedule(self.clock.now())
            return schedule

    def remove_schedule(self, schedule_id: str, actor: str | Account | None = None) -> None:
        self.check_admin(actor)
        with self.lock:
            self.get_schedule(schedule_id)
            del self.schedules[schedule_id]

    def list_schedules(self) -> list[Schedule]:
        with self.lock:
            return list(self.schedules.values())

    def schedule_checks(self, schedule_id: str | None = None) -> list[dict[str, Any]]:
        """The document's advice as a check: the admin group's import 30 minutes after all the others.

        ``schedule_id``: only the warnings that involve that schedule (what
        creating or changing it should tell the admin at once).
        """
        with self.lock:
            warnings = admin_last_warnings(list(self.schedules.values()))
        if schedule_id is None:
            return warnings
        return [w for w in warnings if schedule_id in (w["schedule_id"], w["other_schedule_id"])]

    def run_due_schedules(self, now: datetime | None = None) -> list[ImportResult]:
        """Run every schedule that is due, in the order of their due times (called on every clock move)."""
        now = now or self.clock.now()
        results = []
        with self._scheduler_lock:
            with self.lock:
                due = [(s.latest_due(now), s) for s in self.schedules.values()]
                due = sorted(((at, s) for at, s in due if at is not None), key=lambda pair: (pair[0], pair[1].id))
            for occurrence, schedule in due:
                if schedule.latest_due(now) != occurrence:  # changed or run meanwhile
                    continue
                result = self.import_group(schedule.connection_id, schedule.group_id, schedule.role,
                                           trigger=f"schedule:{schedule.id}")
                with self.lock:
                    schedule.mark_run(occurrence, result.id)
                results.append(result)
        return results

    def advance_clock(self, delta: timedelta, actor: str | Account | None = None) -> list[ImportResult]:
        """Move the LMS clock forward by ``delta``; returns the imports of the schedules that came due meanwhile."""
        self.check_admin(actor)
        if not isinstance(delta, timedelta):
            raise BadRequest(f"the clock moves by a timedelta, got {delta!r}")
        if delta < timedelta(0) or delta > MAX_CLOCK_STEP:
            raise BadRequest(f"the clock moves forward by 0 to {MAX_CLOCK_STEP.days} days at a time, got "
                             f"{delta.total_seconds() / 86400:g} days")
        with self.lock:
            before = len(self.imports)
        self.clock.advance(delta)
        with self.lock:
            return self.imports[before:]

    def _on_clock(self, now: datetime) -> None:
        if not self._closed:
            self.run_due_schedules(now)

    # ---------------------------------------------------------------------------------------- export
    def export_state(self, caller: Account | None = None) -> dict[str, Any]:
        """The LMS's state as JSON-able data (no secrets, no tokens); the import log is counted, not copied.

        ``caller``: the account asking (the admin API passes it), exported as
        ``caller`` with its login, role and whether it may take admin actions.
        """
        with self.lock:
            who = None
            if caller is not None:
                who = {"login": caller.login, "email": caller.email, "role": caller.role, "status": caller.status,
                       "is_admin": caller.role == "admin" and caller.status == "enabled"}
            return {
                "name": self.name,
                "clock": self._now(),
                "caller": who,
                "accounts": [a.to_dict() for a in self.list_accounts()],
                "departments": [d.to_dict() for d in self.list_departments()],
                "connections": [c.public() for c in self.connections.values()],
                "schedules": [s.to_dict() for s in self.schedules.values()],
                "schedule_checks": self.schedule_checks(),
                "imports": [r.to_dict() for r in self.imports],
                "import_log_entries": len(self.log),
            }

    def close(self) -> None:
        """Close the importers' HTTP sessions and stop following the clock (schedules no longer fire)."""
        self._closed = True
        with self.lock:
            importers, self._importers = list(self._importers.values()), {}
        for importer in importers:
            importer.close()


def _check_token(token: Any) -> None:
    if not isinstance(token, str) or len(token) < 16 or any(c.isspace() for c in token):
        raise BadRequest("a token must be at least 16 characters without spaces")


def _check_choice(key: str, value: Any, choices: Iterable[str]) -> None:
    choices = tuple(choices)
    if value not in choices:
        raise BadRequest(f"'{key}' must be one of {', '.join(choices)}, got {value!r}")


def _row_from_graph(user: dict[str, Any], connection_id: str) -> dict[str, Any]:
    """A Graph user (as $select'ed) in the LMS's terms."""
    manager = user.get("manager") if isinstance(user.get("manager"), dict) else None
    enabled = user.get("accountEnabled")
    return {
        "external_id": user.get("id"),
        "connection_id": connection_id,
        "login": user.get("userPrincipalName"),
        "email": user.get("mail"),
        "first_name": user.get("givenName"),
        "last_name": user.get("surname"),
        "department": user.get("department"),
        "manager": manager.get("userPrincipalName") if manager else None,
        "status": None if enabled is None else ("enabled" if enabled else "disabled"),
        "preferred_language": user.get("preferredLanguage"),
        "country": user.get("country"),
    }
