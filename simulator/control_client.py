"""A Python client for the control API (``/_entrasim/``) of any entrasim server.

Tests, scenarios and users' own test suites drive a running server with it::

    control = ControlClient("https://localhost:8443", admin_key=key, verify="ca.pem")
    control.add_fault(path="/v1.0/users", kind="throttled", retry_after=2, first=3)
    control.disable_user("adele@contoso.onmicrosoft.com")
    control.advance_clock(days=31)
    assert [r["status"] for r in control.requests(surface="graph")][:3] == [429, 429, 429]

Each method is one HTTP call and returns the decoded JSON answer. A refused
call raises ``ControlAPIError`` carrying the status, the error code and the
server's message, which names the key or value at fault.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from .control import ADMIN_KEY_HEADER, URL_PREFIX
from .http_session import pinned_session


class ControlAPIError(Exception):
    """The control API refused a call (4xx) or the server failed (5xx)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def _segment(value: str) -> str:
    """One path segment: ids and userPrincipalNames (``#EXT#`` included) travel percent-encoded."""
    return quote(str(value), safe="@")


class ControlClient:
    """Talks to ``<base_url>/_entrasim``; ``base_url`` may be the server's URL or the control URL itself.

    ``verify`` is what requests takes: True, False, or the path of the CA bundle
    that signed the server's certificate (``entrasim certs`` prints it).
    """

    def __init__(self, base_url: str, *, admin_key: str | None = None, verify: bool | str = True,
                 timeout: float = 30.0, session: requests.Session | None = None):
        base = base_url.rstrip("/")
        self.url = base if base.endswith(URL_PREFIX) else base + URL_PREFIX
        self.timeout = timeout
        self.session = session or pinned_session(verify)
        if session is not None:
            self.session.verify = verify
        if admin_key is not None:
            self.session.headers[ADMIN_KEY_HEADER] = admin_key

    # ------------------------------------------------------------ plumbing
    def call(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        """One request to the control API; returns the decoded JSON body."""
        response = self.session.request(method, self.url + path, json=json, params=params, timeout=self.timeout)
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 400:
            error = data.get("error", {}) if isinstance(data, dict) else {}
            raise ControlAPIError(response.status_code, error.get("code", "httpError"),
                                  error.get("message", response.text[:200]))
        return data

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "ControlClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ server
    def health(self) -> dict[str, Any]:
        return self.call("GET", "/health")

    # ------------------------------------------------------------ faults
    def faults(self) -> list[dict[str, Any]]:
        """The rules, each with its ``matched`` and ``fired`` counters."""
        return self.call("GET", "/faults")["value"]

    def fault(self, rule_id: str) -> dict[str, Any]:
        return self.call("GET", f"/faults/{_segment(rule_id)}")

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        """Add one rule (keys as in ``simulator.faults.FaultRule``); returns it with its id."""
        return self.call("POST", "/faults", json=rule)

    def add_faults(self, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add several rules at once: all of them, or none when one is refused."""
        return self.call("POST", "/faults", json=list(rules))["value"]

    def remove_fault(self, rule_id: str) -> None:
        self.call("DELETE", f"/faults/{_segment(rule_id)}")

    def clear_faults(self) -> int:
        """Remove every rule; returns how many there were."""
        return self.call("DELETE", "/faults")["cleared"]

    # ------------------------------------------------------------ clock
    def clock(self) -> dict[str, Any]:
        """``{"now": ISO time, "frozen": bool}``."""
        return self.call("GET", "/clock")

    def advance_clock(self, seconds: float = 0, *, days: float = 0, hours: float = 0, minutes: float = 0) -> dict[str, Any]:
        """Move simulated time forward; returns the new clock."""
        parts = {"days": days, "hours": hours, "minutes": minutes, "seconds": seconds}
        body = {k: v for k, v in parts.items() if v} or {"seconds": 0}
        return self.call("POST", "/clock/advance", json=body)

    # ------------------------------------------------------------ request log
    def requests(self, since: int = 0, surface: str | None = None) -> list[dict[str, Any]]:
        """Logged requests with a sequence number above ``since`` (secrets already redacted)."""
        return self.request_log(since, surface)["value"]

    def request_log(self, since: int = 0, surface: str | None = None) -> dict[str, Any]:
        """``{"value": [...], "lastSeq": n}``: pass ``lastSeq`` as ``since`` to read only newer requests."""
        params: dict[str, Any] = {"since": since}
        if surface is not None:
            params["surface"] = surface
        return self.call("GET", "/requests", params=params)

    def clear_requests(self) -> None:
        self.call("DELETE", "/requests")

    # ------------------------------------------------------------ tenant
    def tenant(self) -> dict[str, Any]:
        """Id, domains, counts, journal position and app registrations (no secret values)."""
        return self.call("GET", "/tenant")

    def journal(self, since: int = 0, kind: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"since": since}
        if kind is not None:
            params["kind"] = kind
        return self.call("GET", "/journal", params=params)["value"]

    # users
    def create_user(self, userPrincipalName: str, **attributes: Any) -> dict[str, Any]:  # noqa: N803 - Graph's name
        return self.call("POST", "/users", json={"userPrincipalName": userPrincipalName, **attributes})

    def get_user(self, ident: str) -> dict[str, Any]:
        """A user by id or userPrincipalName, soft-deleted ones included."""
        return self.call("GET", f"/users/{_segment(ident)}")

    def update_user(self, ident: str, **changes: Any) -> dict[str, Any]:
        """Change attributes; ``manager="<upn>"`` sets the manager by name, ``manager=None`` clears it."""
        return self.call("PATCH", f"/users/{_segment(ident)}", json=changes)

    def _user_action(self, ident: str, action: str) -> dict[str, Any]:
        return self.call("POST", f"/users/{_segment(ident)}/{action}")

    def disable_user(self, ident: str) -> dict[str, Any]:
        return self._user_action(ident, "disable")

    def enable_user(self, ident: str) -> dict[str, Any]:
        return self._user_action(ident, "enable")

    def soft_delete_user(self, ident: str) -> dict[str, Any]:
        return self._user_action(ident, "soft-delete")

    def restore_user(self, ident: str) -> dict[str, Any]:
        return self._user_action(ident, "restore")

    def purge_user(self, ident: str) -> dict[str, Any]:
        return self._user_action(ident, "purge")

    # groups
    def create_group(self, displayName: str, members: list[str] | tuple[str, ...] = (), **attributes: Any) -> dict[str, Any]:  # noqa: N803
        return self.call("POST", "/groups", json={"displayName": displayName, "members": list(members), **attributes})

    def get_group(self, group_id: str) -> dict[str, Any]:
        return self.call("GET", f"/groups/{_segment(group_id)}")

    def update_group(self, group_id: str, **changes: Any) -> dict[str, Any]:
        return self.call("PATCH", f"/groups/{_segment(group_id)}", json=changes)

    def rename_group(self, group_id: str, display_name: str) -> dict[str, Any]:
        return self.update_group(group_id, displayName=display_name)

    def delete_group(self, group_id: str) -> None:
        self.call("DELETE", f"/groups/{_segment(group_id)}")

    def add_member(self, group_id: str, member: str) -> dict[str, Any]:
        """Add a user (id or userPrincipalName) or a group (id)."""
        return self.call("POST", f"/groups/{_segment(group_id)}/members/{_segment(member)}")

    def remove_member(self, group_id: str, member: str) -> dict[str, Any]:
        return self.call("DELETE", f"/groups/{_segment(group_id)}/members/{_segment(member)}")

    # assignments to the enterprise application
    def assignments(self) -> list[dict[str, Any]]:
        return self.call("GET", "/assignments")["value"]

    def assign(self, principal: str, app_role: str = "User") -> dict[str, Any]:
        return self.call("POST", f"/assignments/{_segment(principal)}", json={"appRole": app_role})

    def unassign(self, principal: str) -> None:
        self.call("DELETE", f"/assignments/{_segment(principal)}")

    # app registrations
    def get_app(self, app_id: str) -> dict[str, Any]:
        return self.call("GET", f"/apps/{_segment(app_id)}")

    def add_secret(self, app_id: str, display_name: str | None = None, *, days: float = 0, hours: float = 0,
                   minutes: float = 0, seconds: float = 0) -> dict[str, Any]:
        """Create a client secret (default lifetime 180 days); the answer is the only place its value appears."""
        body: dict[str, Any] = {k: v for k, v in {"days": days, "hours": hours, "minutes": minutes, "seconds": seconds}.items() if v}
        if display_name is not None:
            body["displayName"] = display_name
        return self.call("POST", f"/apps/{_segment(app_id)}/secrets", json=body)

    def expire_secret(self, app_id: str, key_id: str) -> dict[str, Any]:
        return self.call("POST", f"/apps/{_segment(app_id)}/secrets/{_segment(key_id)}/expire")

    def delete_secret(self, app_id: str, key_id: str) -> None:
        self.call("DELETE", f"/apps/{_segment(app_id)}/secrets/{_segment(key_id)}")

    def grant_consent(self, app_id: str, permissions: list[str] | None = None) -> dict[str, Any]:
        """Admin consent for the app's requested permissions, or for ``permissions``."""
        body = {"permissions": list(permissions)} if permissions is not None else {}
        return self.call("POST", f"/apps/{_segment(app_id)}/consent", json=body)

    def revoke_consent(self, app_id: str) -> dict[str, Any]:
        return self.call("DELETE", f"/apps/{_segment(app_id)}/consent")

    def disable_app(self, app_id: str) -> dict[str, Any]:
        return self.call("POST", f"/apps/{_segment(app_id)}/disable")

    def enable_app(self, app_id: str) -> dict[str, Any]:
        return self.call("POST", f"/apps/{_segment(app_id)}/enable")
