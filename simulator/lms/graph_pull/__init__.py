"""The Graph-pull mock LMS (the 2LRN4 document's LMS): imports users from Microsoft Graph with an app registration.

Public Python API (stable; see docs/lms-graph-pull.md)::

    from simulator.lms.graph_pull import GraphPullLms, ImporterSettings, create_app
"""

from .errors import ActionUnauthorized, BadRequest, Conflict, LmsError, NotFound, Unauthenticated
from .import_log import LogEntry
from .importer import GraphImporter, ImporterSettings
from .model import Account, GraphPullLms, ImportResult, Rejection
from .schedules import Schedule


def create_app(*args, **kwargs):
    """Build the admin API's Flask app (imported lazily so that the model stays free of Flask)."""
    from .app import create_app as _create_app

    return _create_app(*args, **kwargs)


__all__ = ["Account", "ActionUnauthorized", "BadRequest", "Conflict", "GraphImporter", "GraphPullLms", "ImportResult",
           "ImporterSettings", "LmsError", "LogEntry", "NotFound", "Rejection", "Schedule", "Unauthenticated",
           "create_app"]
