"""The engine's concurrency: export workers as gevent greenlets in the thread that runs the cycle.

Why greenlets, not threads: an initial cycle is a chain of round trips (per
user a filtered GET, then a POST) and the engine's own work between them is a
few hundred microseconds of Python. With one thread per worker, every answer
woke a thread that then waited for the GIL, and every outcome was handed to
the cycle's thread through a queue: measured on the project's 2-core machine
(issue 4), the workers sat in ``recv`` while neither process was busy, and an
initial sync of 100,000 users ran at 890-1,060 users/s. Greenlets take turns
in ONE thread, switching only where a socket would block, so an answer is
handled as soon as the thread is free, with no lock, no wake-up of another
thread and no GIL hand-off (benchmarks/README.md, "Initial sync").

What changes for the code that runs in a worker: nothing, as long as it waits
through this module. Sockets are gevent's (``create_connection`` and
``tls_context`` below: the transport's), which yield to the other workers
instead of blocking the thread; waits (backoff, Retry-After, the request-rate
limit) go through ``sleep``. The standard library is never monkey-patched: a
program that embeds the engine keeps its threads, and each thread that runs a
cycle gets its own gevent hub. Code that blocks the thread otherwise (SQLite,
the log file, a Graph source read with ``requests``) still works; it only
holds the other workers back while it runs, as it held the GIL before.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

import gevent
import gevent.queue
import gevent.socket
import gevent.ssl

# A forked child inherits the hub of the thread that forked, whose event loop still shares the parent's epoll
# descriptor: without a reinit, the child's first wait never wakes (the scenario runner forks its workers).
os.register_at_fork(after_in_child=gevent.reinit)

T = TypeVar("T")
R = TypeVar("R")

#: ``socket.create_connection`` whose connect, reads and writes yield to the other workers
create_connection = gevent.socket.create_connection


def sleep(seconds: float) -> None:
    """Wait without holding the other workers back (``time.sleep`` would stop every greenlet of the thread)."""
    gevent.sleep(seconds)


def tls_context(verify_mode: int | None = None, cafile: str | None = None) -> ssl.SSLContext:
    """A client TLS context whose sockets yield like ``create_connection``'s; ``ssl.CERT_NONE`` verifies nothing."""
    if verify_mode == ssl.CERT_NONE:
        context = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return gevent.ssl.create_default_context(cafile=cafile)


@dataclass
class _Failure:
    """An exception a worker raised, carried to the caller."""

    error: BaseException


class Workers(Generic[T, R]):
    """``count`` greenlets taking items from one queue and putting results on another, for one phase.

    The caller keeps the window of items in flight and reads results in the
    order they finish. Leaving the block lets the workers finish the items
    already handed over (a request is never cut off half-sent), then stops and
    joins them; results nobody read are dropped, so an interrupted cycle
    leaves those objects to be matched by the next one. An exception a worker
    raised is raised again by ``next_result`` in the caller.
    """

    def __init__(self, count: int, work: Callable[[T], R]):
        self._items: gevent.queue.SimpleQueue = gevent.queue.SimpleQueue()
        self._results: gevent.queue.SimpleQueue = gevent.queue.SimpleQueue()
        self._work = work
        self._greenlets = [gevent.spawn(self._run) for _ in range(count)]

    def _run(self) -> None:
        items, results, work = self._items, self._results, self._work
        while (item := items.get()) is not None:
            try:
                results.put(work(item))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, who raises it
                results.put(_Failure(exc))

    def submit(self, item: T) -> None:
        self._items.put(item)

    def next_result(self) -> R:
        result = self._results.get()
        if isinstance(result, _Failure):
            raise result.error
        return result

    def __enter__(self) -> Workers[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        for _ in self._greenlets:
            self._items.put(None)
        gevent.joinall(self._greenlets)
