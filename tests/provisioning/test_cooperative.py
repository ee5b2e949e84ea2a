"""The engine's workers are greenlets: cycles in several threads, in forked children, and waits that hold no one back."""

from __future__ import annotations

import multiprocessing
import threading

from simulator.provisioning.engine import EngineOptions
from simulator.provisioning.scim_client import RetryPolicy, ScimClient

from .conftest import TOKEN, add_people, new_tenant

ONE_TRY = RetryPolicy(max_attempts=1)


def _user(name: str) -> dict:
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name}


def _create_in_child(base: str) -> int:
    with ScimClient(base, TOKEN, retry=ONE_TRY) as scim:
        return scim.create("Users", _user("child@contoso.com")).status


def test_a_forked_child_sends_after_its_parent_did(scim_targets):
    """A fork inherits the hub of the thread that forked; the child must still be able to wait on its sockets."""
    target = scim_targets("lms")
    with ScimClient(target.base, TOKEN, retry=ONE_TRY) as scim:
        assert scim.create("Users", _user("parent@contoso.com")).status == 201
    with multiprocessing.get_context("fork").Pool(1) as pool:
        status = pool.apply_async(_create_in_child, (target.base,)).get(timeout=30)
    assert status == 201
    assert {u["userName"] for u in target.users().values()} == {"parent@contoso.com", "child@contoso.com"}


def test_one_client_used_from_several_threads(scim_targets):
    """Idle connections are kept per thread: a gevent socket waits on the hub of the thread that opened it."""
    target = scim_targets("lms")
    target.faults.add(surface="lms", latency_ms=50)  # every answer makes the reader wait on its hub
    statuses: list[int] = []
    errors: list[BaseException] = []

    def create(name: str) -> None:
        try:
            statuses.append(scim.create("Users", _user(name)).status)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    with ScimClient(target.base, TOKEN, retry=ONE_TRY) as scim:
        create("main@contoso.com")  # leaves an idle connection opened by this thread
        threads = [threading.Thread(target=create, args=(f"t{i}@contoso.com",)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        create("main-again@contoso.com")
    assert errors == [] and statuses == [201] * 5
    assert len(target.users()) == 5


def test_cycles_in_two_threads_at_once(scim_targets, harness):
    """Two jobs run side by side in two threads, each with its own workers (and its own hub)."""
    runs = []
    for index in range(2):
        tenant = new_tenant()
        add_people(tenant, 6, group=f"Learners{index}")
        runs.append(harness(tenant, scim_targets("lms"), settings={"concurrency": 4}))
    summaries: dict[int, object] = {}
    threads = [threading.Thread(target=lambda i=i: summaries.__setitem__(i, runs[i].cycle())) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, run in enumerate(runs):
        assert summaries[index].state == "Succeeded"
        assert len(run.target.users()) == 6
        assert {g["displayName"] for g in run.target.groups().values()} == {f"Learners{index}"}


def test_a_worker_backing_off_does_not_hold_the_others(scim_targets, harness):
    """A 503 to one user's query makes that worker wait out its backoff; the other workers go on meanwhile."""
    tenant = new_tenant()
    for user in add_people(tenant, 8, group=None, manager=False):
        tenant.assign(user.id)
    target = scim_targets("lms")
    # the first query is the test-connection probe; the second is a user's
    target.faults.add(surface="lms", method="GET", path="/scim/v2/Users", status=503, nth=2)
    run = harness(tenant, target, settings={"concurrency": 4},
                  options=EngineOptions(retry=RetryPolicy(max_attempts=2, backoff_base=2.0)))
    summary = run.cycle()
    assert summary.state == "Succeeded" and len(target.users()) == 8
    sent = target.sent()
    refused = next(s for s in sent if s.status == 503)
    waited = refused.filter.split('"')[1]
    assert waited.endswith("@contoso.com")
    posts = [s.body["userName"] for s in sent if s.method == "POST" and s.path == "/Users"]
    assert posts[-1] == waited  # sent after its 2 s backoff...
    durations = {r["sourceIdentity"]["displayName"]: r["durationInMilliseconds"] for r in run.records(summary)}
    assert durations[waited] >= 2000
    # ...while every other user was exported without waiting for it
    assert max(ms for name, ms in durations.items() if name != waited) < 1000, durations
