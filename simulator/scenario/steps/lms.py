"""LMS-side steps: what the LMS's own administrator does outside SCIM (tokens, the admin UI).

These act on the embedded LMS directly, the way its admin screens would; an
external target has no such hooks, so scenarios using them are skipped there.
"""

from __future__ import annotations

import copy
from typing import Any

from ...lms.scim.profiles import work_email
from ..errors import StepError


def _lms(env: Any, kind: str):
    if env.lms is None:
        raise StepError(f"{kind} needs the embedded SCIM LMS (not an external target)")
    return env.lms


def revoke_lms_token(env: Any, which: str) -> None:
    """The LMS admin revokes the API token the provisioning job uses."""
    _lms(env, "revoke_lms_token").tokens.revoke("job")


def add_lms_token(env: Any, token: str) -> None:
    """The LMS admin issues a new API token (paste it into the job with ``restart_job: {secret_token: ...}``)."""
    lms = _lms(env, "add_lms_token")
    env.redactor.add(str(token))
    lms.tokens.add(str(token), label=f"issued-{len(lms.tokens)}")


def lms_admin_change_email(env: Any, args: dict[str, Any]) -> None:
    """The LMS admin edits an account's work email in the LMS's own screens: the same account, a new key."""
    lms = _lms(env, "lms_admin_change_email")
    store = lms.store
    with store.lock:
        found = [rid for rid, record in store.records("User")
                 if (work_email(record) or "").casefold() == str(args["from"]).casefold()]
        if len(found) != 1:
            raise StepError(f"the LMS has {len(found)} account(s) with the email '{args['from']}'")
        working = copy.deepcopy(store.get("User", found[0]))
        for email in working.get("emails") or ():
            if str(email.get("value", "")).casefold() == str(args["from"]).casefold():
                email["value"] = args["to"]
        store.commit("User", found[0], working)


STEPS = {"revoke_lms_token": revoke_lms_token, "add_lms_token": add_lms_token,
         "lms_admin_change_email": lms_admin_change_email}
