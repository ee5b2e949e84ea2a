"""Run the conformance suite as pytest items, so vendors get it in their own CI (JUnit, -k, -n auto for free).

    pytest -p conformance.pytest_plugin --scim-target https://staging/scim/v2 --scim-token "$TOKEN" -n auto

Each check is one item named ``scim[<check id>]``. A broken MUST fails the
item, an unmet SHOULD/MAY passes with a ``ScimWarning`` (visible in the
warnings summary), a feature the server does not advertise is a skip, and a
check that could not reach a verdict is an error. Each worker process reads
discovery once, uses its own namespace prefix, and sweeps what it created
when the session ends. Without ``--scim-target`` the plugin adds nothing, so it
is harmless when installed through the entry point.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from .registry import Check, select
from .runner import RunOptions, prepare, run_check
from .verdicts import Verdict

_STATE = pytest.StashKey[dict]()


class ScimWarning(UserWarning):
    """A SHOULD or MAY the server does not meet."""


class ScimCheckFailed(Exception):
    """A MUST the server breaks."""


class ScimCheckError(Exception):
    """The check could not reach a verdict."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("scim", "SCIM conformance (entrasim)")
    group.addoption("--scim-target", metavar="URL", help="SCIM base URL to grade; enables the conformance items.")
    group.addoption("--scim-token", metavar="T", help="Bearer token for the target (or set SCIM_TOKEN).")
    group.addoption("--scim-header", action="append", default=[], metavar="'NAME: VALUE'",
                    help="Extra request header (repeatable).")
    group.addoption("--scim-profile", default="rfc", help="Comma-separated profiles: rfc, entra (default rfc).")
    group.addoption("--scim-read-only", action="store_true", help="Discovery and reads only; create nothing.")
    group.addoption("--scim-ca-bundle", metavar="FILE", help="CA certificate(s) to trust for an https target.")


def _options(config: pytest.Config) -> RunOptions:
    import os

    headers: dict[str, str] = {}
    token = config.getoption("--scim-token") or os.environ.get("SCIM_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    for item in config.getoption("--scim-header"):
        name, sep, value = item.partition(":")
        if not sep:
            raise pytest.UsageError("--scim-header must look like 'Name: value' (the value you gave is not shown: it may be a credential)")
        headers[name.strip()] = value.strip()
    profiles = tuple(p.strip() for p in config.getoption("--scim-profile").split(",") if p.strip())
    return RunOptions(base_url=config.getoption("--scim-target"), headers=headers, profiles=profiles,
                      read_only=config.getoption("--scim-read-only"),
                      verify=config.getoption("--scim-ca-bundle") or True)


class ScimCheckItem(pytest.Item):
    """One conformance check."""

    def __init__(self, *, check: Check, **kw: Any):
        super().__init__(**kw)
        self.check = check
        self.add_marker(pytest.mark.scim)
        self.user_properties += [("level", check.level.value), ("section", check.section)]

    def _state(self):
        holder = self.config.stash.setdefault(_STATE, {})
        if "state" not in holder:
            holder["state"] = prepare(_options(self.config))
        return holder["state"]

    def runtest(self) -> None:
        state = self._state()
        if state.fatal:
            raise ScimCheckError(state.fatal)
        result = run_check(self.check, state)
        self.result = result
        exchanges = "\n\n".join(
            f"> {e.method} {e.url}\n> {e.request_body or ''}\n< {e.status}\n< {(e.response_body or '')[:3000]}"
            for e in result.exchanges)
        self.add_report_section("call", "exchanges", exchanges)
        self.user_properties.append(("verdict", result.verdict.value))
        message = f"[{self.check.level.value}] {self.check.section}: {result.reason}"
        if result.verdict == Verdict.FAIL:
            raise ScimCheckFailed(message)
        if result.verdict == Verdict.ERROR:
            raise ScimCheckError(message)
        if result.verdict == Verdict.SKIPPED:
            pytest.skip(result.reason)
        if result.verdict == Verdict.WARNING:
            warnings.warn(ScimWarning(f"{self.check.id}: {message}"), stacklevel=1)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, (ScimCheckFailed, ScimCheckError)):
            return f"{self.check.id} — {self.check.title}\n{excinfo.value}\nrequirement: {self.check.requirement}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.check.area, None, f"scim[{self.check.id}]"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scim: a SCIM conformance check (entrasim conformance)")


@pytest.hookimpl(tryfirst=True)  # before pytest's own -k / -m deselection, which then applies to these items
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--scim-target", default=None):
        return
    options = _options(config)
    try:
        checks = select(options.profiles)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    added = [ScimCheckItem.from_parent(session, name=f"scim[{c.id}]", check=c) for c in checks]
    items.extend(added)


def pytest_sessionfinish(session: pytest.Session) -> None:
    holder = session.config.stash.get(_STATE, {})
    state = holder.get("state")
    if state is not None and not state.read_only:
        state.sweep()
