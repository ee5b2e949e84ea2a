"""How one SCIM LMS app is set up: profile, tokens, base path, control API, logging."""

from __future__ import annotations

from dataclasses import dataclass, field

from .auth import TokenRegistry
from .profiles import Profile, load_profile

DEFAULT_BASE_PATH = "/scim/v2"


@dataclass
class LmsConfig:
    #: A shipped profile name, a path to a profile file, or a loaded Profile.
    profile: Profile | str = "rfc"
    #: Accepted bearer tokens; None serves without authentication (in-process tests of other parts only).
    tokens: TokenRegistry | None = None
    #: Where the SCIM endpoints live (the "Tenant URL" an admin pastes into Entra is the server URL plus this).
    base_path: str = DEFAULT_BASE_PATH
    #: Realm named in WWW-Authenticate challenges.
    realm: str = "entrasim-lms"
    #: Serve the control API under /_entrasim/.
    control: bool = False
    #: Required (X-Entrasim-Admin-Key) on the control API when set.
    admin_key: str | None = None
    #: Keep request and response bodies (redacted) in the request log.
    log_bodies: bool = True
    #: Serve the hot resource requests (list, get, create, replace, patch, delete of Users and Groups) on a
    #: raw-WSGI path that skips Flask's per-request machinery; same answers, same log. Off: Flask serves all.
    fast_path: bool = True
    _loaded: Profile | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        path = self.base_path.strip()
        if path and not path.startswith("/"):
            path = "/" + path
        self.base_path = path.rstrip("/")

    @property
    def loaded_profile(self) -> Profile:
        if self._loaded is None:
            self._loaded = load_profile(self.profile)
        return self._loaded
