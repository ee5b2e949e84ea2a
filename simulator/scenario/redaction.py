"""Keep tokens and secrets out of scenario reports.

Server request logs are redacted when written (``simulator.requestlog``); a
report also holds error messages, response bodies and URLs that came from
elsewhere, and a server may echo a credential back. The redactor knows every
secret the scenario handed out and removes each wherever it appears.
"""

from __future__ import annotations

from ..requestlog import REDACTED, redact


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, *secrets: str | None) -> None:
        for secret in secrets:
            if secret and len(secret) >= 6:
                self._secrets.add(secret)

    def clean(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        return redact(text)

    def clean_value(self, value):
        """``clean`` through lists and mappings (JSON-like values)."""
        if isinstance(value, str):
            return self.clean(value)
        if isinstance(value, list):
            return [self.clean_value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.clean_value(v) for k, v in value.items()}
        return value
