"""Errors raised by the tenant model.

They carry no HTTP: each surface (Graph, SCIM, the control API) maps them to its
own error format. ``code`` is a stable machine name, ``message`` a sentence a
user can act on.
"""


class TenantError(Exception):
    code = "invalidRequest"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ObjectNotFound(TenantError):
    """No user, group, application or credential with that identifier."""

    code = "notFound"

    def __init__(self, kind: str, ident: str):
        super().__init__(f"{kind} '{ident}' does not exist")
        self.kind = kind
        self.ident = ident


class ObjectConflict(TenantError):
    """A value that must be unique in the directory is already taken."""

    code = "conflict"


class InvalidValue(TenantError):
    """A value the directory would refuse (wrong type, bad reference, cycle...)."""

    code = "invalidValue"
