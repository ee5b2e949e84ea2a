"""The checks, one module per area; importing this package registers them all (see ``registry.check``).

The order below is the order checks run and are listed in: discovery first
(everything else relies on it), then CRUD, then the finer points, then the
client profiles, and last the grading of every response received against its JSON Schema.
"""

from importlib import import_module

AREAS = ("discovery", "auth", "users", "groups", "put", "patch", "filters", "pagination", "sorting", "attributes",
         "search", "etag", "uniqueness", "errors", "content_type", "readonly", "bulk", "entra", "responses")

for _area in AREAS:
    import_module(f"{__name__}.{_area}")
