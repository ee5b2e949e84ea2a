"""Who does what, in one process or many: shards per worker process, counters, the end of the run, verdicts.

Locust runs a locustfile in one process (``LocalRunner``) or as a master with
workers (``--processes N``, or ``--master`` and ``--worker`` on several machines).
This module gives the three locustfiles the same behaviour in both:

- **Shards.** A worker learns its index from the master's ``ack`` (Locust's
  ``runner.worker_index``) and the number of workers from ``--expect-workers``
  (set by ``--processes``; give it yourself with ``--master``). Worker ``i`` of
  ``n`` owns the directory blocks ``i, i+n, i+2n...``; its Locust users take blocks
  from one shared queue, so no block is ever sent by two users. A lone process
  owns every block.
- **Counters.** Each process counts what it did (objects created, memberships
  added, requests, changes...). Workers send theirs to the master in a
  ``entrasim_report`` message when their shard is done and again when they stop;
  the master adds them up.
- **The end.** A finite job (the initial sync) ends when every shard is done:
  the process (or the master, once every worker reported) stops the test, and
  quits in ``--headless`` mode, without waiting for ``--run-time``.
- **Client cost.** Each process measures the CPU time it spent (user and
  system, ``time.process_time``) from the start of its work to the end of its
  shard or of the test, and reports it as the ``client_cpu_ms`` counter, so the
  summary can show the load generator's CPU per request next to the target's
  ceiling: which of the two bounds the run is visible in every summary.
- **Verdicts.** Checks that need a process's own memory (what it changed) run
  where the users ran, at ``test_stop``, and travel to the master with the
  counters; checks that only need the target run on the master.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import LocalRunner, MasterRunner, WorkerRunner

REPORT = "entrasim_report"
REQUEST_REPORT = "entrasim_request_report"
#: how long the master waits for the workers' final reports once the test stops
REPORT_TIMEOUT = 60.0
logger = logging.getLogger("entrasim.load")


@dataclass
class Check:
    """One line of the final verdict."""

    ok: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "message": self.message}


@dataclass
class ProcessReport:
    """What one process did: counters, when it started and finished its shard, its own checks."""

    index: int
    counters: Counter = field(default_factory=Counter)
    started: float | None = None
    finished: float | None = None
    done: bool = False
    #: sent at test_stop: the counters are complete and the checks have run
    final: bool = False
    checks: list[Check] = field(default_factory=list)

    def as_message(self) -> dict[str, Any]:
        return {"index": self.index, "counters": dict(self.counters), "started": self.started,
                "finished": self.finished, "done": self.done, "final": self.final,
                "checks": [c.as_dict() for c in self.checks]}

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> ProcessReport:
        return cls(index=data["index"], counters=Counter(data["counters"]), started=data["started"],
                   finished=data["finished"], done=data["done"], final=data["final"],
                   checks=[Check(c["ok"], c["message"]) for c in data["checks"]])


class Coordinator:
    """One per locustfile: the shard of this process, its block queue and counters, and the merged reports."""

    def __init__(self, finite: bool):
        #: True: the run ends when every shard is done (initial sync); False: it runs until stopped.
        self.finite = finite
        self.environment: Environment | None = None
        self.total_blocks = 0
        self.local = ProcessReport(index=0)
        self.reports: dict[int, ProcessReport] = {}
        self._queue: Iterator[int] = iter(())
        self._remaining = 0
        self._ending = False
        #: called at test_stop in every process that ran users; returns that process's checks
        self.local_checks: Callable[[], list[Check]] | None = None
        #: called at test_stop on the master (or the lone process), once every report is in: verdict and summary
        self.final: Callable[[], None] | None = None
        self.started_at: float | None = None
        self._cpu_start = time.process_time()

    # -- wiring
    def install(self, environment: Environment) -> None:
        self.environment = environment
        if isinstance(environment.runner, MasterRunner):
            environment.runner.register_message(REPORT, self._on_report)
        elif isinstance(environment.runner, WorkerRunner):
            environment.runner.register_message(REQUEST_REPORT, self._on_report_requested)
        events.test_start.add_listener(self._on_test_start)
        events.test_stop.add_listener(self._on_test_stop)

    @property
    def runner(self):
        return self.environment.runner

    @property
    def is_master(self) -> bool:
        return isinstance(self.runner, MasterRunner)

    @property
    def is_worker(self) -> bool:
        return isinstance(self.runner, WorkerRunner)

    def shard(self) -> tuple[int, int]:
        """``(index, count)`` of this process among the processes that run users."""
        if self.is_worker:
            count = int(getattr(self.environment.parsed_options, "expect_workers", 1) or 1)
            index = self.runner.worker_index
            if not 0 <= index < count:
                raise RuntimeError(f"worker index {index} is outside 0..{count - 1}: start the master with "
                                   "--expect-workers equal to the number of workers")
            return index, count
        return 0, 1

    def begin_process(self) -> None:
        """Called at test_start in a process that runs users: a fresh report under this process's index."""
        self.local = ProcessReport(index=self.shard()[0])
        self._cpu_start = time.process_time()

    def _record_cpu(self) -> None:
        """This process's CPU time since ``begin_process`` (replaces, never adds: reports are sent more than once)."""
        self.local.counters["client_cpu_ms"] = int((time.process_time() - self._cpu_start) * 1000)

    def set_blocks(self, total_blocks: int) -> None:
        """Called at test_start by the locustfile: this process's blocks become its users' queue."""
        self.total_blocks = total_blocks
        index, count = self.shard()
        mine = range(index, total_blocks, count)
        self._queue = iter(mine)
        self._remaining = len(mine)
        self.begin_process()
        if not mine and self.finite:
            self._shard_done()

    # -- work
    def claim(self) -> int | None:
        """The next block of this process's shard for a Locust user; None when none is left."""
        block = next(self._queue, None)
        if block is not None and self.local.started is None:
            self.local.started = time.time()
        return block

    def count(self, key: str, amount: int = 1) -> None:
        self.local.counters[key] += amount

    def block_done(self) -> None:
        self._remaining -= 1
        if self._remaining == 0 and self.finite:
            self._shard_done()

    def _shard_done(self) -> None:
        self._record_cpu()
        self.local.finished = time.time()
        self.local.done = True
        logger.info("shard %d done: %s", self.local.index, dict(self.local.counters))
        if self.is_worker:
            self.runner.send_message(REPORT, self.local.as_message())
        else:
            self.reports[self.local.index] = self.local
            self.end()

    def end(self) -> None:
        """Stop the test (and quit when headless) from outside the greenlet that asks."""
        if self._ending:
            return
        self._ending = True
        headless = bool(getattr(self.environment.parsed_options, "headless", False))
        gevent.spawn(self.runner.quit if headless else self.runner.stop)

    # -- events
    def _on_test_start(self, environment: Environment, **_kw: Any) -> None:
        self.reports = {}
        self._ending = False
        self.started_at = time.time()

    def _on_report(self, environment: Environment, msg: Any, **_kw: Any) -> None:
        report = ProcessReport.from_message(msg.data)
        self.reports[report.index] = report
        expected = int(getattr(environment.parsed_options, "expect_workers", 1) or 1)
        if self.finite and sum(1 for r in self.reports.values() if r.done) >= expected:
            self.end()

    def _on_report_requested(self, environment: Environment, msg: Any, **_kw: Any) -> None:
        """The master quit without stopping us first (headless ``--run-time``): stop, which sends the final report."""
        if self.local.final:
            self.runner.send_message(REPORT, self.local.as_message())
        else:
            gevent.spawn(self.runner.stop)

    def _await_final_reports(self) -> None:
        """On the master: ask workers that have not sent their final report for it, and wait (bounded)."""
        expected = self.expected_processes()
        missing = [c.id for c in self.runner.clients.all
                   if self.runner.get_worker_index(c.id) not in self.reports
                   or not self.reports[self.runner.get_worker_index(c.id)].final]
        for client_id in missing:
            self.runner.send_message(REQUEST_REPORT, None, client_id)
        deadline = time.monotonic() + REPORT_TIMEOUT
        while sum(1 for r in self.reports.values() if r.final) < expected and time.monotonic() < deadline:
            gevent.sleep(0.1)

    def _on_test_stop(self, environment: Environment, **_kw: Any) -> None:
        if self.is_master:
            self._await_final_reports()
            if self.final is not None:
                self.final()
            return
        if not self.local.done:  # a finished shard keeps the CPU of its work, not of the idle wait after it
            self._record_cpu()
        if self.local_checks is not None:
            try:
                self.local.checks = self.local_checks()
            except Exception as exc:  # noqa: BLE001 - a check that cannot run is a failed check, not a crash
                self.local.checks = [Check(False, f"the check could not run: {type(exc).__name__}: {exc}")]
        self.local.final = True
        if self.is_worker:
            self.runner.send_message(REPORT, self.local.as_message())
        else:
            self.reports[self.local.index] = self.local
            if self.final is not None:
                self.final()

    # -- results
    def totals(self) -> Counter:
        total: Counter = Counter()
        for report in self.reports.values():
            total.update(report.counters)
        return total

    def window(self) -> tuple[float | None, float | None]:
        """First start and last finish over every process (wall clock)."""
        starts = [r.started for r in self.reports.values() if r.started is not None]
        ends = [r.finished for r in self.reports.values() if r.finished is not None]
        return (min(starts) if starts else None), (max(ends) if ends else None)

    def all_done(self, expected: int) -> bool:
        return sum(1 for r in self.reports.values() if r.done) >= expected

    def checks(self) -> list[Check]:
        """Every process's own checks, and a failed one when a process never sent its final report."""
        merged: list[Check] = []
        expected = self.expected_processes()
        final = sum(1 for report in self.reports.values() if report.final)
        if final < expected:
            merged.append(Check(False, f"only {final} of {expected} processes sent their final report"))
        for index in sorted(self.reports):
            merged.extend(self.reports[index].checks)
        return merged

    def expected_processes(self) -> int:
        if isinstance(self.runner, LocalRunner):
            return 1
        return int(getattr(self.environment.parsed_options, "expect_workers", 1) or 1)
