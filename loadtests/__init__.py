"""Locust load tests for entrasim: Entra's initial-sync and incremental SCIM traffic, and an LMS importer's Graph reads.

The locustfiles (``initial_sync.py``, ``incremental.py``, ``graph_read.py``) run
with plain ``locust -f`` (web UI or ``--headless``, one process or distributed)
and through ``entrasim load``. Only the locustfiles and the modules they import
import Locust (which monkey-patches the standard library with gevent);
``loadtests.cli`` and ``loadtests.directory``/``builders`` do not.
"""
