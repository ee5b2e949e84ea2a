"""JSON Schemas (draft 2020-12) of the RFC 7643 resources and RFC 7644 messages, and ``validate``.

They describe what a *response* must look like (a returned User has an id and
never a password, a ListResponse with results has ``Resources``, an Error's
``status`` is a string), and they allow extension attributes, since RFC 7643
lets servers add them. ``PatchOp`` describes a strictly RFC-shaped request;
the suite checks its own RFC-profile requests against it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

NAMES = ("User", "Group", "EnterpriseUser", "ListResponse", "Error", "ServiceProviderConfig", "ResourceType",
         "Schema", "PatchOp", "BulkResponse")
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@cache
def validator(name: str) -> Draft202012Validator:
    if name not in NAMES:
        raise KeyError(f"no JSON Schema named {name}; known: {', '.join(NAMES)}")
    text = resources.files(__package__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate(name: str, document: Any) -> list[str]:
    """Problems with ``document`` against the named schema (empty when it is valid), each with its JSON path."""
    problems = []
    for error in sorted(validator(name).iter_errors(document), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        problems.append(f"{where}: {error.message}")
    if name == "User" and isinstance(document, dict) and isinstance(document.get(ENTERPRISE), dict):
        problems += [f"{ENTERPRISE}/{p}" for p in validate("EnterpriseUser", document[ENTERPRISE])]
    return problems
