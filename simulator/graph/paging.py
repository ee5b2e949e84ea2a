"""Server-driven paging for Graph directory collections: ``$top``, ``$skiptoken``, ``@odata.nextLink``.

Graph pages directory collections with an opaque ``$skiptoken`` and an absolute
``@odata.nextLink`` that keeps the original query; clients follow it verbatim.
``$skip`` is refused, ``$top`` must lie within 1..999.

Why a cursor store: a directory can hold a million users. Re-running the query
(filter, search, order) for every page would make paging through it quadratic.
The matching objects are therefore computed once, at the first page, and kept
under a random key; each following page is a slice of that list, so it costs
O(page size). The store is a thread-safe LRU bounded both by the number of
cursors and by the total number of objects they hold, so abandoned scans cannot
grow memory without limit; a token whose cursor was evicted gets Graph's
"expired page token" error, which is also what the real service answers when a
token is too old. Objects deleted between two pages are skipped; objects changed
between two pages are served in their current state (Graph is eventually
consistent too).
"""

from __future__ import annotations

import base64
import secrets
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence
from urllib.parse import quote, unquote_plus

from flask import current_app, g, request

from .errors import ExpiredPageToken, InvalidPageSize, SkipNotSupported

EXTENSION_KEY = "entrasim.graph.cursors"
_KEY_BYTES = 12


@dataclass
class Cursor:
    """The result of one query, computed once; ``scope`` ties it to the path that created it."""

    scope: str
    items: Sequence[object]


@dataclass
class Page:
    items: Sequence[object]
    #: the ``$skiptoken`` of the next page, or None on the last page.
    next_token: str | None
    #: the number of matching objects, known on the first page only.
    total: int | None


class CursorStore:
    """Bounded, thread-safe LRU of query results addressed by opaque skiptokens."""

    def __init__(self, max_cursors: int = 1024, max_items: int = 10_000_000):
        self.max_cursors = max_cursors
        self.max_items = max_items
        self._cursors: OrderedDict[bytes, Cursor] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._cursors)

    def open(self, scope: str, items: Sequence[object]) -> bytes:
        """Keep ``items`` for later pages; returns the cursor key."""
        key = secrets.token_bytes(_KEY_BYTES)
        with self._lock:
            self._cursors[key] = Cursor(scope, items)
            self._held += len(items)
            while self._cursors and (len(self._cursors) > self.max_cursors or self._held > self.max_items):
                if next(iter(self._cursors)) == key and len(self._cursors) == 1:
                    break  # a single scan larger than the bound is still served
                _old_key, old = self._cursors.popitem(last=False)
                self._held -= len(old.items)
        return key

    def get(self, key: bytes, scope: str) -> Cursor:
        with self._lock:
            cursor = self._cursors.get(key)
            if cursor is None or cursor.scope != scope:
                raise ExpiredPageToken()
            self._cursors.move_to_end(key)
            return cursor

    @staticmethod
    def token(key: bytes, offset: int) -> str:
        """Opaque to clients: the cursor key and the offset of the page, base64url."""
        return base64.urlsafe_b64encode(key + struct.pack(">Q", offset)).decode().rstrip("=")

    @staticmethod
    def parse_token(token: str) -> tuple[bytes, int]:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            raise ExpiredPageToken() from None
        if len(raw) != _KEY_BYTES + 8:
            raise ExpiredPageToken()
        return raw[:_KEY_BYTES], struct.unpack(">Q", raw[_KEY_BYTES:])[0]


def install(state) -> None:
    """Blueprint ``record_once`` hook: one cursor store per app."""
    state.app.extensions.setdefault(EXTENSION_KEY, CursorStore())


def store() -> CursorStore:
    return current_app.extensions[EXTENSION_KEY]


def query_options() -> dict[str, str]:
    """The request's query options by lower-cased name: Graph matches ``$Top`` as ``$top``.

    Read once per request (several steps of one request ask for them).
    """
    options = g.get("graph_query_options")
    if options is None:
        options = {}
        for key in request.args:
            options.setdefault(key.lower(), request.args[key])
        g.graph_query_options = options
    return dict(options)


def page_size(options: Mapping[str, str], default: int, maximum: int) -> int:
    """``$top`` as Graph validates it; also refuses ``$skip``, which directory collections do not support.

    ``options`` are keyed by lower-cased name (see :func:`query_options`).
    """
    if "$skip" in options:
        raise SkipNotSupported()
    raw = options.get("$top")
    if raw is None:
        return default
    text = raw.strip()
    if not (text.isdigit() and text.isascii()) or not 1 <= int(text) <= maximum:
        raise InvalidPageSize(raw, maximum)
    return int(text)


def paginate(scope: str, compute: Callable[[], Sequence[object]], top: int, *, count: bool,
             alive: Callable[[object], bool] | None = None) -> Page:
    """The page the current request asks for.

    Without ``$skiptoken``: run ``compute`` (the whole query), keep the rest in a
    cursor when it does not fit in one page. With one: slice the stored result.
    ``alive`` drops objects that left the directory since the first page.
    """
    token = query_options().get("$skiptoken")
    cursors = store()
    if token is None:
        items = compute()
        total = len(items) if count else None
        if len(items) <= top:
            return Page(items, None, total)
        key = cursors.open(scope, items)
        return Page(items[:top], CursorStore.token(key, top), total)
    key, offset = CursorStore.parse_token(token)
    cursor = cursors.get(key, scope)
    if offset > len(cursor.items):
        raise ExpiredPageToken()
    end = offset + top
    items = cursor.items[offset:end]
    if alive is not None:
        items = [item for item in items if alive(item)]
    next_token = CursorStore.token(key, end) if end < len(cursor.items) else None
    return Page(items, next_token, None)


def next_link(token: str) -> str:
    """Absolute URL of the next page: this request's URL and query, with ``$skiptoken`` replaced."""
    raw = request.query_string.decode("latin-1")
    kept = [part for part in raw.split("&") if part and unquote_plus(part.split("=", 1)[0]).lower() != "$skiptoken"]
    kept.append(f"$skiptoken={token}")
    path = quote(request.script_root + request.path, safe="/$@!'()*,;=:+~")
    return f"{request.host_url.rstrip('/')}{path}?{'&'.join(kept)}"
