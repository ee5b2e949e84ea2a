"""Provisioning steps: run cycles, restart the job (reset state, paste a new Secret Token)."""

from __future__ import annotations

from typing import Any

from ...provisioning.sources import SourceError
from ..errors import StepError


def _engine(env: Any):
    if env.engine is None:
        raise StepError("this scenario has no provisioning job (add a job: section)")
    return env.engine


def cycle(env: Any, args: dict[str, Any] | None) -> None:
    """Run ``count`` provisioning cycles (``mode``: auto, initial, incremental), as Entra's schedule would."""
    args = args or {}
    engine = _engine(env)
    for number in range(args.get("count", 1)):
        try:
            summary = engine.run_cycle(args.get("mode", "auto") if number == 0 else "auto")
        except SourceError as exc:
            summary = env.log.summaries[-1] if env.log.summaries else None
            if summary is not None:
                env.outcomes.cycles.append(summary)
                env.outcomes.step_cycles.append(summary)
            raise StepError(f"cannot read the source: {exc}") from None
        env.outcomes.cycles.append(summary)
        env.outcomes.step_cycles.append(summary)


def restart_job(env: Any, args: dict[str, Any]) -> None:
    """Graph's restart with criteria, and/or new credentials in the Provisioning blade."""
    engine = _engine(env)
    for scope in args.get("reset") or ():
        engine.state.reset(scope)
    if args.get("secret_token"):
        _reconfigure(env, token=str(args["secret_token"]))


def _reconfigure(env: Any, **kwargs: Any) -> None:
    from ...provisioning.job import JobFileError

    try:
        env.reconfigure_job(**kwargs)
    except JobFileError as exc:
        raise StepError(f"the job cannot be saved: {exc}") from None


def edit_job(env: Any, change: dict[str, Any]) -> None:
    """Change the job's dialect, scope, settings or mapping rows, or the client secret a Graph source
    reads with, as an admin does in the Provisioning blade."""
    _engine(env)
    change = dict(change)
    secret = change.pop("client_secret", None)
    _reconfigure(env, edit=change or None, client_secret=None if secret is None else str(secret))


STEPS = {"cycle": cycle, "restart_job": restart_job, "edit_job": edit_job}
