"""Directory steps: what an Entra admin does to users, groups, assignments and app registrations.

Each is one call on the in-process tenant model, so each lands in its change
journal: the next incremental cycle (or Graph delta query) sees it, exactly as
it would see a change made in the Entra admin center.
"""

from __future__ import annotations

from typing import Any

from ...tenant.errors import TenantError
from ..environment import parse_duration
from ..errors import StepError


def _call(action, *args: Any, **kwargs: Any) -> Any:
    try:
        return action(*args, **kwargs)
    except (TenantError, LookupError, ValueError) as exc:
        raise StepError(str(exc)) from None


def create_user(env: Any, spec: dict[str, Any]) -> None:
    _call(env.create_user, env.tenant, spec)


def update_user(env: Any, args: dict[str, Any]) -> None:
    changes = dict(args["set"])
    if "manager" in changes:
        manager = changes.pop("manager")
        changes["managerId"] = _call(env.tenant.get_user, manager).id if manager else None
    if "enabled" in changes:
        changes["accountEnabled"] = changes.pop("enabled")
    _call(env.tenant.update_user, args["user"], **changes)


def disable_user(env: Any, user: str) -> None:
    _call(env.tenant.disable_user, user)


def enable_user(env: Any, user: str) -> None:
    _call(env.tenant.enable_user, user)


def soft_delete_user(env: Any, user: str) -> None:
    _call(env.tenant.soft_delete_user, user)


def restore_user(env: Any, user: str) -> None:
    _call(env.tenant.restore_user, user)


def purge_user(env: Any, user: str) -> None:
    _call(env.tenant.purge_user, user)


def set_manager(env: Any, args: dict[str, Any]) -> None:
    manager = _call(env.tenant.get_user, args["manager"]).id if args["manager"] else None
    _call(env.tenant.set_manager, args["user"], manager)


def _principal(env: Any, ident: str) -> str:
    return _call(env.resolve_principal, env.tenant, ident)


def assign(env: Any, principal: str) -> None:
    _call(env.tenant.assign, _principal(env, principal))


def unassign(env: Any, principal: str) -> None:
    _call(env.tenant.unassign, _principal(env, principal))


def create_group(env: Any, spec: dict[str, Any]) -> None:
    _call(env.create_group, env.tenant, spec)


def rename_group(env: Any, args: dict[str, Any]) -> None:
    _call(env.tenant.rename_group, _call(env.group_id, args["group"]), args["to"])


def delete_group(env: Any, group: str) -> None:
    _call(env.tenant.delete_group, _call(env.group_id, group))


def add_member(env: Any, args: dict[str, Any]) -> None:
    _call(env.tenant.add_member, _call(env.group_id, args["group"]), _principal(env, args["member"]))


def remove_member(env: Any, args: dict[str, Any]) -> None:
    _call(env.tenant.remove_member, _call(env.group_id, args["group"]), _principal(env, args["member"]))


def add_secret(env: Any, args: dict[str, Any]) -> None:
    """A new client secret for an app; ``save`` keeps its value in a variable (never shown in reports)."""
    kwargs = {"lifetime": parse_duration(args["lifetime"])} if "lifetime" in args else {}
    credential = _call(env.tenant.add_secret, _call(env.app_id, args["app"]), **kwargs)
    env.redactor.add(credential.secretText)
    if args.get("save"):
        env.values[args["save"]] = credential.secretText
        env.values[args["save"] + "_id"] = credential.keyId


def expire_secret(env: Any, args: dict[str, Any]) -> None:
    app_id = _call(env.app_id, args["app"])
    credentials = env.tenant.get_application(app_id).passwordCredentials
    index = args.get("secret", 0)
    if index >= len(credentials):
        raise StepError(f"app '{args['app']}' has {len(credentials)} secret(s); there is no secret {index}")
    _call(env.tenant.expire_secret, app_id, credentials[index].keyId)


def revoke_consent(env: Any, app: str) -> None:
    _call(env.tenant.revoke_consent, _call(env.app_id, app))


def grant_consent(env: Any, args: dict[str, Any]) -> None:
    _call(env.tenant.grant_consent, _call(env.app_id, args["app"]), args.get("permissions"))


STEPS = {
    "create_user": create_user, "update_user": update_user, "disable_user": disable_user,
    "enable_user": enable_user, "soft_delete_user": soft_delete_user, "restore_user": restore_user,
    "purge_user": purge_user, "set_manager": set_manager, "assign": assign, "unassign": unassign,
    "create_group": create_group, "rename_group": rename_group, "delete_group": delete_group,
    "add_member": add_member, "remove_member": remove_member, "add_secret": add_secret,
    "expire_secret": expire_secret, "revoke_consent": revoke_consent, "grant_consent": grant_consent,
}
