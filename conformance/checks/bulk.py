"""Bulk (RFC 7644 §3.7), when bulk.supported is advertised."""

from __future__ import annotations

from ..context import BULK_REQUEST, BULK_RESPONSE, GROUP, CheckContext
from ..registry import check

B = ("bulk",)


def _track_locations(ctx: CheckContext, body: dict) -> None:
    for op in body.get("Operations") or []:
        location = str(op.get("location") or "")
        if op.get("method") == "POST" and location:
            endpoint = "Groups" if "/Groups/" in location else "Users"
            ctx.track(endpoint, location.rstrip("/").rsplit("/", 1)[-1])


@check("bulk.create", "POST /Bulk runs operations and answers a BulkResponse", "RFC 7644 §3.7", "MUST", writes=True,
       requires=B)
def create(ctx: CheckContext) -> None:
    """A BulkRequest's operations are performed and answered with a BulkResponse giving each operation's status and location."""
    a, b = ctx.user_body("bk"), ctx.user_body("bk")
    body = {"schemas": [BULK_REQUEST], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "one", "data": a},
        {"method": "POST", "path": "/Users", "bulkId": "two", "data": b}]}
    r = ctx.post("Bulk", body)
    _track_locations(ctx, r.body)
    ctx.expect_status(r, 200, doing="POST /Bulk")
    ctx.validate("BulkResponse", r.json, "the BulkResponse")
    ctx.expect(BULK_RESPONSE in (r.body.get("schemas") or []), "schemas lacks the BulkResponse URN")
    statuses = [str(op.get("status")) for op in r.body.get("Operations") or []]
    ctx.expect(statuses == ["201", "201"], f"operation statuses are {statuses}")


@check("bulk.bulk-id", "bulkId references resolve to created resources", "RFC 7644 §3.7.2", "MUST", writes=True,
       requires=("bulk", "Group"))
def bulk_id(ctx: CheckContext) -> None:
    """'bulkId:<id>' in a later operation's data refers to the resource an earlier operation created."""
    user = ctx.user_body("bk")
    group = ctx.group_body("bkg")
    group["members"] = [{"value": "bulkId:member"}]
    body = {"schemas": [BULK_REQUEST], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "member", "data": user},
        {"method": "POST", "path": "/Groups", "bulkId": "team", "data": group}]}
    r = ctx.post("Bulk", body)
    _track_locations(ctx, r.body)
    ctx.expect_status(r, 200, doing="POST /Bulk with a bulkId reference")
    ops = r.body.get("Operations") or []
    ctx.require(len(ops) == 2 and all(op.get("location") for op in ops), f"operations: {ops}")
    user_id = str(ops[0]["location"]).rstrip("/").rsplit("/", 1)[-1]
    group_id = str(ops[1]["location"]).rstrip("/").rsplit("/", 1)[-1]
    got = ctx.fetch("Groups", group_id)
    values = [m.get("value") for m in got.get("members") or []]
    ctx.expect(values == [user_id], f"the group's members are {values}, expected [{user_id}]")


@check("bulk.errors", "A failing operation is reported in its own status", "RFC 7644 §3.7.3", "MUST", writes=True,
       requires=B)
def errors(ctx: CheckContext) -> None:
    """Each operation answers its own status; a failed one carries a SCIM Error in 'response', the others still run."""
    good = ctx.user_body("bk")
    body = {"schemas": [BULK_REQUEST], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"schemas": good["schemas"]}},
        {"method": "POST", "path": "/Users", "bulkId": "good", "data": good}]}
    r = ctx.post("Bulk", body)
    _track_locations(ctx, r.body)
    ctx.expect_status(r, 200, doing="POST /Bulk with one invalid operation")
    ops = r.body.get("Operations") or []
    statuses = [str(op.get("status")) for op in ops]
    ctx.expect(len(ops) == 2 and statuses[0].startswith("4") and statuses[1] == "201", f"statuses are {statuses}")


@check("bulk.fail-on-errors", "failOnErrors stops after that many errors", "RFC 7644 §3.7.3", "MUST", writes=True,
       requires=B)
def fail_on_errors(ctx: CheckContext) -> None:
    """'failOnErrors: An integer specifying the number of errors that the service provider will accept before the operation is terminated.'"""
    good = ctx.user_body("bk")
    body = {"schemas": [BULK_REQUEST], "failOnErrors": 1, "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"schemas": good["schemas"]}},
        {"method": "POST", "path": "/Users", "bulkId": "good", "data": good}]}
    r = ctx.post("Bulk", body)
    _track_locations(ctx, r.body)
    ctx.expect_status(r, 200, doing="POST /Bulk with failOnErrors=1")
    ops = r.body.get("Operations") or []
    ctx.expect(len(ops) == 1, f"{len(ops)} operations answered; processing should stop after the first error")
    found = ctx.get("Users", {"filter": f'userName eq "{good["userName"]}"'})
    ctx.expect(not found.resources(), "the operation after the failure was performed")


@check("bulk.limits-advertised", "bulk advertises maxOperations and maxPayloadSize", "RFC 7643 §5 (bulk)", "MUST",
       requires=B)
def limits(ctx: CheckContext) -> None:
    """bulk.maxOperations and bulk.maxPayloadSize are REQUIRED integers."""
    bulk = (ctx.discovery.spc or {}).get("bulk") or {}
    ctx.expect(isinstance(bulk.get("maxOperations"), int) and isinstance(bulk.get("maxPayloadSize"), int),
               f"bulk is {bulk!r}")


@check("bulk.group-schema", "Bulk accepts a Group body", "RFC 7644 §3.7", "SHOULD", writes=True,
       requires=("bulk", "Group"))
def group_schema(ctx: CheckContext) -> None:
    """Bulk carries any resource type's operations."""
    group = ctx.group_body("bkg")
    group["schemas"] = [GROUP]
    r = ctx.post("Bulk", {"schemas": [BULK_REQUEST], "Operations": [
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": group}]})
    _track_locations(ctx, r.body)
    statuses = [str(op.get("status")) for op in r.body.get("Operations") or []]
    ctx.expect(r.status == 200 and statuses == ["201"], f"answered {r.status} with statuses {statuses}")
