"""Every response the run received, validated against the JSON Schema of what it should be (RFC 7643, RFC 7644).

The validation itself happens as responses arrive (``response_schemas``); this
check runs last and grades what was found, so a malformed response is one
finding with its exchange, not a side effect hidden in whichever check met it.
"""

from __future__ import annotations

from ..context import CheckContext
from ..registry import check


@check("responses.json-schemas", "Every response matches the JSON Schema of its resource or message",
       "RFC 7643 §3, §4, §5, §6, §7; RFC 7644 §3.4.2, §3.7, §3.12", "MUST", profiles=("rfc", "entra"))
def every_response(ctx: CheckContext) -> None:
    """Each body the suite received is what its request calls for: a User or Group with 'schemas' and 'id', a ListResponse with 'totalResults' (and 'Resources' when it is not 0) of valid resources, an Error whose 'status' is a string, a BulkResponse, the discovery resources; validated with jsonschema against conformance/schemas/. It covers the responses of the checks that ran before it in this run (in pytest with -n, those of its worker)."""
    run = ctx.run
    findings = run.schema_findings
    ctx.note(f"{run.responses_validated} responses validated")
    if not findings:
        ctx.require(run.responses_validated, "no response could be validated (nothing ran before this check)")
        ctx.note("one valid example of each kind is shown: " + ", ".join(run.schema_examples))
        ctx.recorder.exchanges.extend(run.schema_examples.values())
        return
    ctx.recorder.exchanges.extend(f.exchange for f in findings[:10])
    ctx.expect(False, f"{len(findings)} response(s) do not match their schema: "
               + " | ".join(f.describe() for f in findings[:5]) + (" | ..." if len(findings) > 5 else ""))
