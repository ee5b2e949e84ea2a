"""The 2LRN4 document's import rules, one test each, against the real Graph mock over https."""

from __future__ import annotations

import pytest

from simulator.lms.graph_pull import BadRequest
from simulator.tenant import Tenant

from .conftest import upn


def test_import_brings_every_documented_field(pull_world):
    world = pull_world()
    boss = world.user("boss", department="Board")
    ann = world.user("ann", givenName="Ann", surname="de Vries", department="Sales", preferredLanguage="nl-NL",
                     country="Netherlands", managerId=boss.id)
    gid = world.group("Staff", boss, ann)

    result = world.import_group(gid)

    assert result.status == "succeeded" and result.error is None
    assert sorted(result.created) == [upn("ann"), upn("boss")]
    account = world.lms.get_account(upn("ann"))
    assert (account.login, account.email, account.first_name, account.last_name) == \
        (upn("ann"), "ann@contoso.com", "Ann", "de Vries")
    assert (account.department, account.manager, account.status) == ("Sales", upn("boss"), "enabled")
    assert (account.preferred_language, account.country, account.role) == ("nl-NL", "Netherlands", "user")
    assert account.external_id == ann.id


def test_users_with_the_same_email_are_not_imported_and_are_reported(pull_world):
    world = pull_world()
    one = world.user("one", mail="shared@contoso.com")
    two = world.user("two", mail="Shared@contoso.com")
    ok = world.user("ok")
    gid = world.group("Staff", one, two, ok)

    result = world.import_group(gid)

    assert result.created == [upn("ok")]
    assert {(r.login, r.reason) for r in result.rejected} == {(upn("one"), "email address is not unique"),
                                                              (upn("two"), "email address is not unique")}
    assert result.status == "completed_with_rejections"
    assert any(m.startswith("These users cannot be imported: ") and upn("one") in m for m in result.messages)
    assert [a.login for a in world.lms.list_accounts()] == ["admin@lms.example", upn("ok")]


def test_a_user_whose_email_another_account_holds_is_not_imported(pull_world):
    world = pull_world()
    world.lms.add_account("local.ann", "ann@contoso.com")
    ann = world.user("ann")
    result = world.import_group(world.group("Staff", ann))
    assert result.created == [] and result.rejected[0].reason == "email address is not unique"
    assert world.lms.get_account("local.ann").email == "ann@contoso.com"


def test_a_user_without_email_is_not_imported(pull_world):
    world = pull_world()
    result = world.import_group(world.group("Staff", world.user("nomail", mail=None)))
    assert [(r.login, r.reason) for r in result.rejected] == [(upn("nomail"), "no email address")]


def test_only_members_of_the_synchronized_group_are_imported(pull_world):
    world = pull_world()
    member = world.user("member")
    world.user("outsider")
    nested = world.tenant.create_group(displayName="Nested", members=[world.user("nested").id])
    gid = world.group("Staff", member)
    world.tenant.add_member(gid, nested.id)

    result = world.import_group(gid)

    assert result.created == [upn("member")] and result.members_seen == 1
    logins = {a.login for a in world.lms.list_accounts()}
    assert upn("outsider") not in logins and upn("nested") not in logins


def test_disabled_status_is_synced_only_for_users_that_meet_the_rules(pull_world):
    world = pull_world()
    gone = world.user("gone", accountEnabled=False)
    clash_a = world.user("clasha", mail="clash@contoso.com", accountEnabled=False)
    clash_b = world.user("clashb", mail="clash@contoso.com")
    outsider = world.user("outsider", accountEnabled=False)
    world.lms.add_account(upn("outsider"), "outsider@contoso.com")  # an LMS account, not in the group
    gid = world.group("Staff", gone, clash_a, clash_b)

    world.import_group(gid)

    assert world.lms.get_account(upn("gone")).status == "disabled"
    assert world.lms.get_account(upn("outsider")).status == "enabled"
    logins = {a.login for a in world.lms.list_accounts()}
    assert upn("clasha") not in logins and upn("clashb") not in logins
    assert outsider.accountEnabled is False  # Graph still says disabled: the LMS did not follow


def test_an_import_never_removes_accounts(pull_world):
    world = pull_world()
    stays, leaves = world.user("stays"), world.user("leaves")
    gid = world.group("Staff", stays, leaves)
    world.import_group(gid)
    world.tenant.remove_member(gid, leaves.id)
    world.tenant.soft_delete_user(stays.id)

    result = world.import_group(gid)

    assert result.members_seen == 0 and result.created == [] and result.updated == []
    assert world.lms.get_account(upn("leaves")).status == "enabled"
    assert world.lms.get_account(upn("stays")).status == "enabled"


def test_a_second_import_updates_in_place_without_duplicates(pull_world):
    world = pull_world()
    ann = world.user("ann", department="Sales")
    gid = world.group("Staff", ann)
    world.import_group(gid)
    world.tenant.update_user(ann.id, surname="Jansen")
    world.tenant.change_upn(ann.id, upn("ann.jansen"))

    result = world.import_group(gid)

    assert result.updated == [upn("ann.jansen")] and result.created == []
    assert [a.login for a in world.lms.list_accounts() if a.external_id == ann.id] == [upn("ann.jansen")]
    assert world.lms.get_account(upn("ann.jansen")).last_name == "Jansen"
    assert world.import_group(gid).unchanged == [upn("ann.jansen")]


def test_department_set_by_azure_import_can_be_changed_by_any_later_source(pull_world):
    world = pull_world()
    ann = world.user("ann", department="Sales")
    gid = world.group("Staff", ann)
    world.import_group(gid)
    world.tenant.update_user(ann.id, department="Marketing")
    world.import_group(gid)
    assert world.lms.get_account(upn("ann")).department == "Marketing"

    world.lms.import_csv(f"login,email,department\n{upn('ann')},ann@contoso.com,Support\n")
    account = world.lms.get_account(upn("ann"))
    assert (account.department, account.department_source) == ("Support", "csv")


def test_department_set_by_csv_import_cannot_be_changed_by_azure_import(pull_world):
    world = pull_world()
    world.lms.import_csv(f"login,email,department\n{upn('ann')},ann@contoso.com,Support\n")
    ann = world.user("ann", department="Sales")
    result = world.import_group(world.group("Staff", ann))
    assert result.updated == [upn("ann")]  # the other fields still come from Azure
    account = world.lms.get_account(upn("ann"))
    assert (account.department, account.department_source, account.first_name) == ("Support", "csv", "Ann")
    world.lms.import_csv(f"login,email,department\n{upn('ann')},ann@contoso.com,Finance\n")
    assert world.lms.get_account(upn("ann")).department == "Finance"  # a later CSV import may


def test_department_assigned_by_an_administrator_is_changed_by_no_import(pull_world):
    world = pull_world()
    ann = world.user("ann", department="Sales")
    gid = world.group("Staff", ann)
    world.import_group(gid)
    world.lms.assign_department(upn("ann"), "Legal", actor="admin@lms.example")

    world.tenant.update_user(ann.id, department="Marketing")
    world.import_group(gid)
    world.lms.import_csv(f"login,email,department\n{upn('ann')},ann@contoso.com,Support\n")

    account = world.lms.get_account(upn("ann"))
    assert (account.department, account.department_source) == ("Legal", "admin")


def test_departments_created_by_an_import_are_reported_as_not_enrolled(pull_world):
    world = pull_world()
    world.lms.add_account("local", "local@contoso.com", department="Sales")  # an admin's department exists
    gid = world.group("Staff", world.user("ann", department="Sales"), world.user("bob", department="Research"),
                      world.user("cy", department="Research"))

    result = world.import_group(gid)

    assert result.new_departments == ["Research"]
    assert "Departments created by this import are not yet enrolled in categories and courses: Research" \
        in result.messages
    departments = {d.name: d for d in world.lms.list_departments()}
    assert departments["Research"].enrolled is False and departments["Research"].created_by == "azure"
    assert departments["Sales"].enrolled is True
    world.lms.enroll_department("Research", actor="admin@lms.example")
    assert world.lms.departments["Research"].enrolled is True


def test_the_import_is_one_way_nothing_is_written_to_graph(pull_world):
    world = pull_world()
    world.import_group(world.group("Staff", world.user("ann")))
    methods = {(entry.method, entry.surface) for entry in world.graph.log.entries()}
    assert methods == {("POST", "identity"), ("GET", "graph")}


def test_a_connection_from_the_graph_info_file_keys_imports(pull_world):
    world = pull_world()
    conn = world.lms.add_connection_from_info(world.graph.info, name="From info")
    result = world.lms.import_group(conn.id, world.group("Staff", world.user("ann")), "manager")
    assert result.created == [upn("ann")] and world.lms.get_account(upn("ann")).role == "manager"


def test_csv_import_follows_the_unique_email_rule_and_sets_the_given_fields(pull_world):
    world = pull_world()
    csv_text = ("login,email,first_name,status,role,country\n"
                "a@lms,same@contoso.com,A,,user,\n"
                "b@lms,SAME@contoso.com,B,,user,\n"
                "c@lms,c@contoso.com,Cy,disabled,manager,Belgium\n")
    result = world.lms.import_csv(csv_text)
    assert result.created == ["c@lms"] and [r.login for r in result.rejected] == ["a@lms", "b@lms"]
    account = world.lms.get_account("c@lms")
    assert (account.first_name, account.status, account.role, account.country, account.source) == \
        ("Cy", "disabled", "manager", "Belgium", "csv")


def test_a_renamed_upn_that_another_account_uses_is_refused_and_that_account_stays(pull_world):
    world = pull_world()
    ann = world.user("ann")
    gid = world.group("Staff", ann)
    world.import_group(gid)
    world.lms.import_csv(f"login,email,first_name\n{upn('bob')},bob@lms.example,Bob\n")
    world.tenant.change_upn(ann.id, upn("bob"))

    result = world.import_group(gid)

    assert result.status == "completed_with_rejections" and result.created == result.updated == []
    assert [(r.login, r.reason) for r in result.rejected] == [(upn("bob"), "login is already used by another account")]
    assert world.lms.get_account(upn("bob")).first_name == "Bob"  # the CSV account is untouched
    assert world.lms.get_account(upn("ann")).external_id == ann.id  # and so is ann's


def test_a_renamed_upn_updates_the_account_in_place(pull_world):
    world = pull_world()
    ann = world.user("ann")
    gid = world.group("Staff", ann)
    world.import_group(gid)
    world.tenant.change_upn(ann.id, upn("ann.smith"))

    result = world.import_group(gid)

    assert result.updated == [upn("ann.smith")]
    assert [a.login for a in world.lms.list_accounts() if a.external_id] == [upn("ann.smith")]


def test_a_csv_file_naming_a_login_twice_is_refused_whole(pull_world):
    world = pull_world()
    with pytest.raises(BadRequest, match="CSV line 3: login 'A@lms' is already on line 2"):
        world.lms.import_csv("login,email\na@lms,a@contoso.com\nA@lms,other@contoso.com\n")
    assert [a.login for a in world.lms.list_accounts()] == ["admin@lms.example"] and world.lms.imports == []


def test_several_connections_import_from_their_own_tenants(pull_world, graph_server):
    world = pull_world()
    other = Tenant(seed=11, clock=world.tenant.clock)
    other.register_application("2LRN4 connector")
    other_graph = graph_server(other)
    second = world.lms.add_connection_from_info(other_graph.info, name="Subsidiary")
    local = world.group("Staff", world.user("ann"))
    remote_user = other.create_user(userPrincipalName="zoe@fabrikam.example", mail="zoe@fabrikam.example")
    remote = other.create_group(displayName="Staff", members=[remote_user.id]).id

    first_result = world.import_group(local)
    second_result = world.lms.import_group(second.id, remote, "manager")

    assert first_result.created == [upn("ann")] and second_result.created == ["zoe@fabrikam.example"]
    assert world.lms.get_account(upn("ann")).connection_id == world.connection_id
    zoe = world.lms.get_account("zoe@fabrikam.example")
    assert (zoe.connection_id, zoe.role, zoe.external_id) == (second.id, "manager", remote_user.id)
    # each connection has its own token: the log shows one token call per tenant
    token_urls = {e.url for e in world.lms.import_log() if e.call == "token"}
    assert token_urls == {f"{world.graph.url}/{world.tenant.id}/oauth2/v2.0/token",
                          f"{other_graph.url}/{other.id}/oauth2/v2.0/token"}
