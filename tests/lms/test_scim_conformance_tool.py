"""scim2-tester (PyPI), the reference third-party SCIM checker, against our server in the rfc profile.

It discovers our /Schemas and /ResourceTypes, then creates, reads, replaces,
patches and deletes Users and Groups with every attribute the schemas
declare. Every check must succeed: no known exception is needed today.
"""

from __future__ import annotations

from collections import Counter

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from .conftest import TOKEN


def test_scim2_tester_reports_no_failure(lms):
    with httpx2.Client(base_url=lms.base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as http:
        results = check_server(SyncSCIMClient(http))
    failures = [(r.status.name, r.title, r.reason) for r in results if r.status != Status.SUCCESS]
    assert failures == []
    by_status = Counter(r.status for r in results)
    assert by_status[Status.SUCCESS] >= 130  # discovery, CRUD, attributes and PATCH checks for User and Group
