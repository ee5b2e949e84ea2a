"""The simulated tenant: model, change journal, seeding and snapshots."""

from .errors import InvalidValue, ObjectConflict, ObjectNotFound, TenantError
from .model import (
    DEFAULT_PERMISSIONS,
    GRAPH_APP_ID,
    PERMISSIONS,
    AppAssignment,
    Application,
    Group,
    KeyCredential,
    PasswordCredential,
    ServicePrincipal,
    Tenant,
    User,
    guest_upn,
)

__all__ = [
    "AppAssignment", "Application", "DEFAULT_PERMISSIONS", "GRAPH_APP_ID", "Group", "InvalidValue", "KeyCredential",
    "ObjectConflict", "ObjectNotFound", "PERMISSIONS", "PasswordCredential", "ServicePrincipal", "Tenant", "TenantError",
    "User", "guest_upn",
]
