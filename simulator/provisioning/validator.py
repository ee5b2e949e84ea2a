"""Validator mode: the Microsoft SCIM Validator's test list, replayed against a job's SCIM target.

Microsoft's SCIM Validator (https://scimvalidator.microsoft.com/) is what app
vendors run before listing in the gallery; its requests are not the production
client's (shared/reference/entra-provisioning-client.md section 8): lowercase
ops, path-less replaces with dotted and URN keys, ``manager`` as
``{"value": ...}``, a duplicate POST that must answer 409, filters repeated with
another letter case, ``excludedAttributes=members`` on group reads, and it
aborts on answers that are not ``application/scim+json``. This module sends
those requests in the validator's order (users, then groups when the job
provisions groups) and checks the answers the way the validator does: each
test passes or fails with a one-line reason and the exchanges behind it.

What it creates it deletes at the end (when the server lets it), so it can run
against a target that holds real data; values are random, as the validator's
``{%generateRandomString%}`` ones are.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .engine import client_for
from .job import Job
from .mappings import ENTERPRISE_USER
from .resources import CORE_GROUP, CORE_USER, PATCH_OP
from .scim_client import Exchange, ScimClient, ScimHttpError, ScimResponse, ScimTransportError

SCIM_CONTENT_TYPE = "application/scim+json"
MANAGER = f"{ENTERPRISE_USER}:manager"


@dataclass
class ValidatorTest:
    """One test of the list: its name, whether it passed, why not, and the requests it sent."""

    name: str
    passed: bool = True
    reason: str = ""
    exchanges: list[Exchange] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "reason": self.reason or None,
                "requests": [e.as_dict() for e in self.exchanges]}


@dataclass
class ValidatorReport:
    target: str
    tests: list[ValidatorTest]

    @property
    def passed(self) -> int:
        return sum(1 for t in self.tests if t.passed)

    @property
    def failed(self) -> int:
        return len(self.tests) - self.passed

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "passed": self.passed, "failed": self.failed,
                "tests": [t.as_dict() for t in self.tests]}


class _Failed(Exception):
    """A check did not hold: the test fails with this reason."""


def _random(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def _header(response: ScimResponse, name: str) -> str:
    for key, value in response.headers.items():
        if key.lower() == name.lower():
            return value
    return ""


class _Run:
    """One validator run: the client, what was created, the content types seen."""

    def __init__(self, client: ScimClient):
        self.client = client
        self.tests: list[ValidatorTest] = []
        self.current: ValidatorTest | None = None
        self.created: list[tuple[str, str]] = []  # (resource, id), deleted at the end
        self.wrong_types: list[tuple[str, str]] = []  # (request, content type) of answers that are not SCIM JSON
        self.type_exchanges: list[Exchange] = []

    # -- sending
    def send(self, method: str, path: str, body: Any = None,
             params: list[tuple[str, str]] | None = None) -> ScimResponse:
        """One request; any HTTP answer is returned (the test judges it), no answer fails the test."""
        try:
            response = self.client.request(method, path, params=params, body=body)
        except ScimHttpError as exc:
            response = exc.response
        except ScimTransportError as exc:
            self.current.exchanges += exc.exchanges
            raise _Failed(f"{method} {path}: no answer ({exc.kind})") from None
        self.current.exchanges += response.exchanges
        if response.text:
            content_type = _header(response, "Content-Type")
            if not content_type.lower().startswith(SCIM_CONTENT_TYPE):
                self.wrong_types.append((f"{method} {path}", content_type or "(none)"))
                self.type_exchanges += response.exchanges[-1:]
        return response

    @staticmethod
    def expect(response: ScimResponse, *statuses: int) -> dict[str, Any]:
        if response.status not in statuses:
            wanted = " or ".join(str(s) for s in statuses)
            detail = response.body.get("detail") if isinstance(response.body, dict) else None
            raise _Failed(f"expected HTTP {wanted}, got {response.status}" + (f": {detail}" if detail else ""))
        return response.body if isinstance(response.body, dict) else {}

    def patch(self, resource: str, rid: str, operations: list[dict[str, Any]]) -> None:
        response = self.send("PATCH", f"/{resource}/{rid}", {"schemas": [PATCH_OP], "Operations": operations})
        self.expect(response, 200, 204)

    def read(self, resource: str, rid: str, params: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        return self.expect(self.send("GET", f"/{resource}/{rid}", params=params), 200)

    def find(self, resource: str, attribute: str, value: str, *, exclude_members: bool = False) -> list[dict]:
        params = [("excludedAttributes", "members")] if exclude_members else []
        params.append(("filter", ScimClient.equality_filter(attribute, value)))
        body = self.expect(self.send("GET", f"/{resource}", params=params), 200)
        resources = body.get("Resources")
        if not isinstance(resources, list):
            raise _Failed("the answer is not a SCIM ListResponse with Resources")
        return resources

    def create(self, resource: str, body: dict[str, Any]) -> dict[str, Any]:
        created = self.expect(self.send("POST", f"/{resource}", body), 201)
        if not created.get("id"):
            raise _Failed(f"POST /{resource} answered 201 without an id")
        self.created.append((resource, str(created["id"])))
        return created

    # -- tests
    def test(self, name: str, body: Callable[[], None]) -> None:
        self.current = ValidatorTest(name)
        self.tests.append(self.current)
        try:
            body()
        except _Failed as failure:
            self.current.passed = False
            self.current.reason = str(failure)
        except (AttributeError, KeyError, TypeError, ValueError) as failure:  # an answer of an unexpected shape
            self.current.passed = False
            self.current.reason = f"the answer had an unexpected shape ({type(failure).__name__}: {failure})"

    def cleanup(self) -> None:
        self.current = ValidatorTest("cleanup")
        for resource, rid in reversed(self.created):
            try:
                self.client.request("DELETE", f"/{resource}/{rid}")
            except (ScimHttpError, ScimTransportError):
                pass


def _check(condition: bool, reason: str) -> None:
    if not condition:
        raise _Failed(reason)


def _user_body(user_name: str) -> dict[str, Any]:
    return {"schemas": [CORE_USER, ENTERPRISE_USER], "userName": user_name, "active": True,
            "displayName": _random("Validator "), "externalId": _random("ext"),
            "emails": [{"type": "work", "value": user_name, "primary": True}],
            "name": {"givenName": _random("Given"), "familyName": _random("Family")},
            ENTERPRISE_USER: {"employeeNumber": _random(""), "department": _random("Dept")}}


def _user_tests(run: _Run) -> None:
    user_name = f"{_random('validator.')}@contoso.com"
    state: dict[str, str] = {}

    def create_user() -> None:
        created = run.create("Users", _user_body(user_name))
        state["id"] = str(created["id"])
        _check(created.get("userName") == user_name, f"the created user's userName is {created.get('userName')!r}")

    def needs_user() -> str:
        if "id" not in state:
            raise _Failed("skipped: the user could not be created")
        return state["id"]

    def filter_user() -> None:
        rid = needs_user()
        found = run.find("Users", "userName", user_name)
        _check(len(found) == 1 and found[0].get("id") == rid, f"the filter found {len(found)} users, expected the one created")

    def filter_user_case() -> None:
        rid = needs_user()
        found = run.find("Users", "userName", user_name.upper())
        _check(len(found) == 1 and found[0].get("id") == rid,
               f"userName is case-insensitive (RFC 7643): the upper-case filter found {len(found)} users, expected 1")

    def get_user() -> None:
        rid = needs_user()
        _check(run.read("Users", rid).get("id") == rid, "GET by id did not answer the user")

    def patch_add() -> None:
        rid = needs_user()
        title, language = _random("Title "), "en-US"
        run.patch("Users", rid, [{"op": "add", "path": "title", "value": title},
                                 {"op": "add", "path": "preferredLanguage", "value": language}])
        user = run.read("Users", rid)
        _check(user.get("title") == title and user.get("preferredLanguage") == language,
               "the added title and preferredLanguage are not on the user")

    def patch_replace() -> None:
        rid = needs_user()
        mail, family, department = f"{_random('mail.')}@contoso.com", _random("Family"), _random("Dept")
        run.patch("Users", rid, [
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": mail},
            {"op": "replace", "value": {"name.familyName": family, f"{ENTERPRISE_USER}:department": department}}])
        user = run.read("Users", rid)
        emails = [e.get("value") for e in user.get("emails") or [] if isinstance(e, dict) and e.get("type") == "work"]
        _check(emails == [mail], f"the work email is {emails}, expected [{mail!r}]")
        _check((user.get("name") or {}).get("familyName") == family, "name.familyName was not replaced (dotted key)")
        _check((user.get(ENTERPRISE_USER) or {}).get("department") == department,
               "the enterprise department was not replaced (URN key)")

    def update_user_name() -> None:
        nonlocal user_name
        rid = needs_user()
        new_name = f"{_random('renamed.')}@contoso.com"
        run.patch("Users", rid, [{"op": "replace", "value": {"userName": new_name}}])
        _check(run.read("Users", rid).get("userName") == new_name, "userName was not replaced (path-less replace)")
        user_name = new_name

    def disable_user() -> None:
        rid = needs_user()
        run.patch("Users", rid, [{"op": "replace", "path": "active", "value": False}])
        active = run.read("Users", rid).get("active")
        _check(active is False, f"active reads {active!r} after the disable, expected the JSON boolean false")

    def managers(count: int) -> list[str]:
        return [str(run.create("Users", _user_body(f"{_random('manager.')}@contoso.com"))["id"]) for _ in range(count)]

    def manager_of(rid: str) -> Any:
        manager = (run.read("Users", rid).get(ENTERPRISE_USER) or {}).get("manager")
        return manager.get("value") if isinstance(manager, dict) else manager

    def manager_add() -> None:
        rid = needs_user()
        (first,) = managers(1)
        state["manager"] = first
        run.patch("Users", rid, [{"op": "add", "path": MANAGER, "value": {"value": first}}])
        _check(manager_of(rid) == first, "the manager set with {\"value\": id} is not on the user")

    def manager_replace() -> None:
        rid = needs_user()
        (second,) = managers(1)
        run.patch("Users", rid, [{"op": "replace", "path": MANAGER, "value": {"value": second}}])
        _check(manager_of(rid) == second, "the manager was not replaced")

    def manager_remove() -> None:
        rid = needs_user()
        run.patch("Users", rid, [{"op": "remove", "path": MANAGER}])
        _check(manager_of(rid) is None, "the manager is still on the user after remove")

    def duplicate_user() -> None:
        needs_user()
        response = run.send("POST", "/Users", _user_body(user_name))
        if response.status == 201 and isinstance(response.body, dict) and response.body.get("id"):
            run.created.append(("Users", str(response.body["id"])))
        run.expect(response, 409)

    def delete_user() -> None:
        rid = needs_user()
        run.expect(run.send("DELETE", f"/Users/{rid}"), 204)
        run.created.remove(("Users", rid))
        run.expect(run.send("GET", f"/Users/{rid}"), 404)

    run.test("Create User", create_user)
    run.test("Filter for existing user", filter_user)
    run.test("Filter for existing user with different case", filter_user_case)
    run.test("Get User by id", get_user)
    run.test("Patch User - Add Attributes", patch_add)
    run.test("Patch User - Replace Attributes", patch_replace)
    run.test("Update User userName", update_user_name)
    run.test("Patch User - Disable User", disable_user)
    run.test("Patch User - Add Manager", manager_add)
    run.test("Patch User - Replace Manager", manager_replace)
    run.test("Patch User - Remove Manager", manager_remove)
    run.test("Create duplicate User", duplicate_user)
    run.test("Delete User", delete_user)


def _group_tests(run: _Run) -> None:
    display_name = _random("Validator group ")
    state: dict[str, str] = {}

    def needs_group() -> str:
        if "id" not in state:
            raise _Failed("skipped: the group could not be created")
        return state["id"]

    def create_group() -> None:
        created = run.create("Groups", {"schemas": [CORE_GROUP], "displayName": display_name,
                                        "externalId": _random("ext"), "members": []})
        state["id"] = str(created["id"])
        _check(created.get("displayName") == display_name, "the created group's displayName differs")

    def filter_group() -> None:
        gid = needs_group()
        found = run.find("Groups", "displayName", display_name)
        _check(len(found) == 1 and found[0].get("id") == gid, f"the filter found {len(found)} groups, expected 1")

    def filter_group_excluding_members() -> None:
        gid = needs_group()
        found = run.find("Groups", "displayName", display_name, exclude_members=True)
        _check(len(found) == 1 and found[0].get("id") == gid, f"the filter found {len(found)} groups, expected 1")
        _check("members" not in found[0], "members are listed despite excludedAttributes=members")

    def filter_group_case() -> None:
        gid = needs_group()
        found = run.find("Groups", "displayName", display_name.upper(), exclude_members=True)
        _check(len(found) == 1 and found[0].get("id") == gid,
               f"the upper-case displayName filter found {len(found)} groups, expected 1")

    def get_group() -> None:
        gid = needs_group()
        _check(run.read("Groups", gid).get("id") == gid, "GET by id did not answer the group")

    def get_group_excluding_members() -> None:
        gid = needs_group()
        group = run.read("Groups", gid, [("excludedAttributes", "members")])
        _check(group.get("id") == gid and "members" not in group, "members are listed despite excludedAttributes=members")

    def duplicate_group() -> None:
        needs_group()
        response = run.send("POST", "/Groups", {"schemas": [CORE_GROUP], "displayName": display_name, "members": []})
        if response.status == 201 and isinstance(response.body, dict) and response.body.get("id"):
            run.created.append(("Groups", str(response.body["id"])))
        run.expect(response, 409)

    def replace_attributes() -> None:
        gid = needs_group()
        external = _random("ext")
        run.patch("Groups", gid, [{"op": "replace", "value": {"externalId": external}}])
        _check(run.read("Groups", gid).get("externalId") == external, "externalId was not replaced (path-less replace)")

    def update_display_name() -> None:
        nonlocal display_name
        gid = needs_group()
        new_name = _random("Renamed group ")
        run.patch("Groups", gid, [{"op": "replace", "path": "displayName", "value": new_name}])
        _check(run.read("Groups", gid).get("displayName") == new_name, "displayName was not replaced")
        display_name = new_name

    def member_ids(gid: str) -> set[str]:
        return {m.get("value") for m in run.read("Groups", gid).get("members") or [] if isinstance(m, dict)}

    def add_member() -> None:
        gid = needs_group()
        member = str(run.create("Users", _user_body(f"{_random('member.')}@contoso.com"))["id"])
        state["member"] = member
        run.patch("Groups", gid, [{"op": "add", "path": "members", "value": [{"value": member}]}])
        _check(member in member_ids(gid), "the added member is not in the group")

    def remove_member() -> None:
        gid = needs_group()
        member = state.get("member")
        if member is None:
            raise _Failed("skipped: no member was added")
        run.patch("Groups", gid, [{"op": "remove", "path": f'members[value eq "{member}"]'}])
        _check(member not in member_ids(gid), "the member is still in the group after remove")

    def delete_group() -> None:
        gid = needs_group()
        run.expect(run.send("DELETE", f"/Groups/{gid}"), 204)
        run.created.remove(("Groups", gid))
        run.expect(run.send("GET", f"/Groups/{gid}"), 404)

    run.test("Create Group", create_group)
    run.test("Filter for existing group", filter_group)
    run.test("Filter for existing group excluding members", filter_group_excluding_members)
    run.test("Filter for existing group with different case", filter_group_case)
    run.test("Get Group by id", get_group)
    run.test("Get Group by id excluding members", get_group_excluding_members)
    run.test("Create duplicate Group", duplicate_group)
    run.test("Patch Group - Replace Attributes", replace_attributes)
    run.test("Update Group displayName", update_display_name)
    run.test("Patch Group - Add Member", add_member)
    run.test("Patch Group - Remove Member", remove_member)
    run.test("Delete Group", delete_group)


def run_validator(job: Job, *, groups: bool | None = None) -> ValidatorReport:
    """Replay the validator's tests against ``job``'s target; ``groups`` defaults to whether the job provisions groups.

    Raises ``engine.EngineError`` when the job's secret cannot be read.
    """
    with client_for(job) as client:
        run = _Run(client)
        try:
            _user_tests(run)
            if job.groups.enabled if groups is None else groups:
                _group_tests(run)
        finally:  # also on Ctrl-C: what the validator created on a real target is deleted
            run.cleanup()
        content = ValidatorTest("Responses are application/scim+json", exchanges=run.type_exchanges)
        if run.wrong_types:
            request, content_type = run.wrong_types[0]
            content.passed = False
            content.reason = (f"{len(run.wrong_types)} answers carried another Content-Type (first: {request} "
                              f"answered {content_type}); the validator aborts on them")
        run.tests.append(content)
        return ValidatorReport(client.base_url, run.tests)
