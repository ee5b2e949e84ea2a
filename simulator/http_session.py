"""A requests session whose explicit CA bundle wins over the environment's.

requests lets ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` replace a session's
``verify`` on every request (psf/requests#3829). Corporate machines set those
variables, and then every client that was told to trust entrasim's generated CA
(the provisioning Graph source, msal's token calls through it, the control
client, replay) fails with an SSL error. Proxies and the rest of the
environment still apply; only an explicit ``verify`` is kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests


class PinnedVerifySession(requests.Session):
    """``requests.Session`` where ``session.verify``, when set to a path or False, is never overridden by the environment."""

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify in (None, True) and self.verify is not True:
            settings["verify"] = self.verify
        return settings


def pinned_session(verify: bool | str | Path = True) -> requests.Session:
    """A keep-alive session that trusts exactly ``verify`` (True: the system's or environment's CAs)."""
    session = PinnedVerifySession()
    session.verify = str(verify) if isinstance(verify, Path) else verify
    return session
