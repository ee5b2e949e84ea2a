"""Concurrent PATCHes on one group lose no member; readers never see a broken group."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from .conftest import PATCH_OP, TOKEN

THREADS = 8
PER_THREAD = 20


def test_threads_adding_and_removing_distinct_members_leave_exact_membership(lms):
    users = [lms.user(f"user{i:03d}@example.com")["id"] for i in range(THREADS * PER_THREAD + PER_THREAD)]
    to_add, to_remove = users[:THREADS * PER_THREAD], users[THREADS * PER_THREAD:]
    group = lms.group("Everyone", members=to_remove)
    url = f"{lms.base}/Groups/{group['id']}"
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}
    statuses: list[int] = []
    read_errors: list[str] = []
    stop = threading.Event()

    def patch_each(member_ids: list[str], op: str) -> None:
        with requests.Session() as session:
            for member in member_ids:
                if op == "add":
                    body = {"op": "add", "path": "members", "value": [{"value": member}]}
                else:
                    body = {"op": "remove", "path": f'members[value eq "{member}"]'}
                resp = session.patch(url, json={"schemas": [PATCH_OP], "Operations": [body]}, headers=headers, timeout=30)
                statuses.append(resp.status_code)

    def read_until_stopped() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                resp = session.get(url, headers=headers, timeout=30)
                if resp.status_code != 200 or len({m["value"] for m in resp.json()["members"]}) != len(resp.json()["members"]):
                    read_errors.append(resp.text[:200])

    reader = threading.Thread(target=read_until_stopped)
    reader.start()
    try:
        with ThreadPoolExecutor(max_workers=THREADS + 1) as pool:
            jobs = [pool.submit(patch_each, to_add[i::THREADS], "add") for i in range(THREADS)]
            jobs.append(pool.submit(patch_each, to_remove, "remove"))
            for job in jobs:
                job.result()
    finally:
        stop.set()
        reader.join()
    assert statuses == [204] * len(users)
    assert read_errors == []
    final = lms.fetch("Groups", group["id"])["members"]
    assert sorted(m["value"] for m in final) == sorted(to_add)
    sample = lms.fetch("Users", to_add[0])
    assert [g["value"] for g in sample["groups"]] == [group["id"]]
    assert "groups" not in lms.fetch("Users", to_remove[0])
