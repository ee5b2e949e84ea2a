"""/Bulk (RFC 7644 §3.7): many operations in one request, with bulkId cross-references.

Each operation runs through the same service method a single request would
(so it is validated, atomic and profiled the same way); the bulk request as a
whole is not atomic, as the RFC says. ``failOnErrors`` stops processing after
that many errors. ``bulkId:<id>`` references in paths and data are replaced by
the id the referenced POST created; when an operation refers to a bulkId that
a later POST creates, that POST runs first, and a reference that can never be
resolved (missing or circular) answers 409 (RFC 7644 §3.7.1).

The limits advertised in /ServiceProviderConfig are enforced: more operations
than ``maxOperations`` or a body over ``maxPayloadSize`` is refused whole with 413.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import InvalidSyntax, InvalidValue, NotFound, PayloadTooLarge, ScimError
from .projection import Projection
from .schemas import BULK_REQUEST_URN, BULK_RESPONSE_URN
from .service import ScimService

_BULK_REF = re.compile(r"bulkId:([A-Za-z0-9._~-]+)")
METHODS = ("POST", "PUT", "PATCH", "DELETE")


class _Unresolved(Exception):
    def __init__(self, bulk_id: str):
        super().__init__(bulk_id)
        self.bulk_id = bulk_id


def _substitute(value: Any, created: dict[str, str]) -> Any:
    """Replace every bulkId:x by the id x created; raise _Unresolved for one not created yet."""
    if isinstance(value, str):
        def repl(m: re.Match[str]) -> str:
            if m.group(1) not in created:
                raise _Unresolved(m.group(1))
            return created[m.group(1)]
        return _BULK_REF.sub(repl, value)
    if isinstance(value, list):
        return [_substitute(v, created) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, created) for k, v in value.items()}
    return value


def _endpoint_types(service: ScimService) -> dict[str, str]:
    return {rt.endpoint.strip("/").lower(): rt.name for rt in service.registry.resource_types.values()}


def run_bulk(service: ScimService, body: Any, base_url: str, body_size: int) -> dict[str, Any]:
    limits = service.profile.limits
    if body_size > limits.bulk_max_payload_bytes:
        raise PayloadTooLarge(f"The size of the bulk operation exceeds the maxPayloadSize ({limits.bulk_max_payload_bytes}).")
    if not isinstance(body, dict):
        raise InvalidSyntax("a bulk body must be a JSON object with \"schemas\": [\"" + BULK_REQUEST_URN + "\"]")
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or BULK_REQUEST_URN.lower() not in [str(s).lower() for s in schemas]:
        raise InvalidSyntax(f"'schemas' must be [\"{BULK_REQUEST_URN}\"] in a bulk request (RFC 7644 §3.7)")
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("'Operations' must be a non-empty array of bulk operations")
    if len(operations) > limits.bulk_max_operations:
        raise PayloadTooLarge(f"The bulk request has {len(operations)} operations, more than maxOperations "
                              f"({limits.bulk_max_operations}).")
    fail_on_errors = body.get("failOnErrors")
    if fail_on_errors is not None and (not isinstance(fail_on_errors, int) or isinstance(fail_on_errors, bool)
                                       or fail_on_errors < 1):
        raise InvalidValue("'failOnErrors' must be a whole number of at least 1")
    for i, op in enumerate(operations):
        if not isinstance(op, dict):
            raise InvalidSyntax(f"Operations[{i}] must be a JSON object with method, path and data")

    types = _endpoint_types(service)
    created: dict[str, str] = {}
    results: dict[int, dict[str, Any]] = {}
    defined = {op.get("bulkId"): i for i, op in enumerate(operations)
               if str(op.get("method", "")).upper() == "POST" and isinstance(op.get("bulkId"), str)}

    def run(i: int, visiting: set[int]) -> None:
        """Run operation i, first running the later POST that creates a bulkId it references."""
        visiting.add(i)
        while i not in results:
            try:
                results[i] = _run_one(service, operations[i], types, created, base_url)
            except _Unresolved as exc:
                j = defined.get(exc.bulk_id)
                if j is None or j in visiting or j in results:
                    results[i] = _error_result(operations[i], ScimError(
                        f"bulkId '{exc.bulk_id}' is not created by any operation of this request, or the references "
                        "are circular (RFC 7644 §3.7.1)", status=409))
                else:
                    run(j, visiting)
        visiting.discard(i)

    for i in range(len(operations)):
        errors = sum(1 for r in results.values() if int(r["status"]) >= 400)
        if fail_on_errors is not None and errors >= fail_on_errors:
            break
        if i not in results:
            run(i, set())
    return {"schemas": [BULK_RESPONSE_URN], "Operations": [results[i] for i in sorted(results)]}


def _error_result(op: dict[str, Any], error: ScimError) -> dict[str, Any]:
    result: dict[str, Any] = {"method": str(op.get("method", "")).upper(), "status": str(error.status),
                              "response": error.body()}
    if op.get("bulkId") is not None:
        result["bulkId"] = op["bulkId"]
    return result


def _run_one(service: ScimService, op: dict[str, Any], types: dict[str, str], created: dict[str, str],
             base_url: str) -> dict[str, Any]:
    method = str(op.get("method", "")).upper()
    try:
        if method not in METHODS:
            raise InvalidSyntax(f"bulk operation method must be one of {', '.join(METHODS)}, got {op.get('method')!r}")
        path = op.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise InvalidSyntax("bulk operation 'path' must be a resource path such as \"/Users\" or \"/Groups/<id>\"")
        path = _substitute(path, created)
        data = _substitute(op.get("data"), created)
        parts = [p for p in path.split("/") if p]
        rtype = types.get(parts[0].lower()) if parts else None
        if rtype is None or len(parts) > 2:
            raise NotFound(f"bulk operation path '{path}' names no resource endpoint")
        version = op.get("version")
        if method == "POST":
            if len(parts) != 1:
                raise InvalidSyntax(f"a bulk POST targets a collection such as \"/{parts[0]}\", not '{path}'")
            bulk_id = op.get("bulkId")
            if not isinstance(bulk_id, str) or not bulk_id:
                raise InvalidSyntax("a bulk POST needs a 'bulkId' (RFC 7644 §3.7)")
            outcome = service.create(rtype, data, base_url, Projection())
            if outcome.body is not None:
                created[bulk_id] = outcome.body["id"]
        else:
            if len(parts) != 2:
                raise InvalidSyntax(f"a bulk {method} targets one resource such as \"/{parts[0]}/<id>\"")
            rid = parts[1]
            if method == "DELETE":
                service.delete(rtype, rid, if_match=version)
                result = {"method": method, "location": f"{base_url}/{parts[0]}/{rid}", "status": "204"}
                if op.get("bulkId") is not None:
                    result["bulkId"] = op["bulkId"]
                return result
            if method == "PUT":
                outcome = service.replace(rtype, rid, data, base_url, Projection(), if_match=version)
            else:
                outcome = service.patch(rtype, rid, data, base_url, Projection(), if_match=version)
    except _Unresolved:
        raise
    except ScimError as exc:
        return _error_result(op, exc)
    result = {"method": method, "location": outcome.location, "version": outcome.version, "status": str(outcome.status)}
    if op.get("bulkId") is not None:
        result["bulkId"] = op["bulkId"]
    return result
