"""The tenant model's mutations, as scenarios and the control API use them, and the journal entries each writes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from simulator.clock import Clock
from simulator.tenant import Group, InvalidValue, ObjectConflict, ObjectNotFound, Tenant, User, guest_upn

START = datetime(2026, 1, 15, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def tenant() -> Tenant:
    return Tenant(seed=3, clock=Clock.frozen_at(START))


def entries(tenant: Tenant, since: int = 0) -> list[tuple[str, str, str]]:
    return [(c.kind, c.object_id, c.action) for c in tenant.journal.since(since)]


def make_user(tenant: Tenant, alias: str, **attrs) -> User:
    return tenant.create_user(userPrincipalName=f"{alias}@contoso.onmicrosoft.com", givenName=alias.title(),
                              surname="Tester", **attrs)


# ------------------------------------------------------------------ users
def test_create_user_fills_defaults_and_journals_the_new_values(tenant):
    user = make_user(tenant, "adele", mail="adele@contoso.com", department="Sales")
    assert user.displayName == "Adele Tester"
    assert user.createdDateTime == START
    assert user.userType == "Member" and user.accountEnabled is True
    assert tenant.get_user("ADELE@contoso.onmicrosoft.com") is user
    [change] = tenant.journal.since(0)
    assert (change.kind, change.object_id, change.action) == ("user", user.id, "created")
    assert change.changes["mail"] == [None, "adele@contoso.com"]
    assert change.changes["department"] == [None, "Sales"]
    assert change.at == START


def test_create_user_without_journal_for_baseline_state(tenant):
    make_user(tenant, "quiet", record=False)
    assert len(tenant.journal) == 0


def test_guest_user_gets_ext_upn_and_guest_type(tenant):
    upn = guest_upn("jane@fabrikam.com", tenant.primary_domain)
    assert upn == "jane_fabrikam.com#EXT#@contoso.onmicrosoft.com"
    guest = tenant.create_user(userPrincipalName=upn, mail="jane@fabrikam.com")
    assert guest.userType == "Guest" and guest.is_guest


@pytest.mark.parametrize("upn, attrs, error", [
    ("ADELE@contoso.onmicrosoft.com", {}, ObjectConflict),
    ("no-at-sign", {}, InvalidValue),
    ("new@contoso.onmicrosoft.com", {"favouriteColour": "blue"}, InvalidValue),
    ("new@contoso.onmicrosoft.com", {"managerId": "00000000-0000-0000-0000-000000000000"}, InvalidValue),
    ("new@contoso.onmicrosoft.com", {"accountEnabled": "maybe"}, InvalidValue),
])
def test_refused_create_leaves_the_directory_unchanged(tenant, upn, attrs, error):
    make_user(tenant, "adele")
    before = (dict(tenant.users), len(tenant.journal))
    with pytest.raises(error):
        tenant.create_user(userPrincipalName=upn, **attrs)
    assert (dict(tenant.users), len(tenant.journal)) == before


def test_update_journals_old_and_new_values_and_skips_no_ops(tenant):
    user = make_user(tenant, "alex", jobTitle="Engineer")
    seq = tenant.journal.last_seq
    tenant.update_user(user.id, jobTitle="Senior Engineer", officeLocation="Seattle")
    [change] = tenant.journal.since(seq)
    assert change.action == "updated"
    assert change.changes == {"jobTitle": ["Engineer", "Senior Engineer"], "officeLocation": [None, "Seattle"]}
    tenant.update_user(user.id, jobTitle="Senior Engineer")
    assert tenant.journal.last_seq == seq + 1
    with pytest.raises(InvalidValue):
        tenant.update_user(user.id, shoeSize=44)
    with pytest.raises(InvalidValue, match="accountEnabled must be true or false"):
        tenant.update_user(user.id, accountEnabled="false")  # text would read as enabled
    assert user.accountEnabled is True and tenant.journal.last_seq == seq + 1


def test_disable_and_enable(tenant):
    user = make_user(tenant, "dan")
    seq = tenant.journal.last_seq
    tenant.disable_user(user.userPrincipalName)
    assert user.accountEnabled is False
    tenant.enable_user(user.id)
    assert user.accountEnabled is True
    assert [c.changes["accountEnabled"] for c in tenant.journal.since(seq)] == [[True, False], [False, True]]


def test_change_mail_allows_duplicates_as_entra_does(tenant):
    first = make_user(tenant, "first", mail="shared@contoso.com")
    second = make_user(tenant, "second")
    tenant.change_mail(second.id, "shared@contoso.com")
    assert first.mail == second.mail == "shared@contoso.com"
    assert tenant.journal.since(0)[-1].changes == {"mail": [None, "shared@contoso.com"]}


def test_change_upn_moves_the_lookup_and_journals_it(tenant):
    user = make_user(tenant, "old")
    tenant.change_upn(user.id, "New.Name@contoso.onmicrosoft.com")
    assert tenant.get_user("new.name@CONTOSO.onmicrosoft.com") is user
    with pytest.raises(ObjectNotFound):
        tenant.get_user("old@contoso.onmicrosoft.com")
    assert tenant.journal.since(0)[-1].changes == {
        "userPrincipalName": ["old@contoso.onmicrosoft.com", "New.Name@contoso.onmicrosoft.com"]}
    make_user(tenant, "old")  # the old name is free again


def test_change_upn_to_a_taken_name_is_a_conflict_and_changes_nothing(tenant):
    make_user(tenant, "taken")
    user = make_user(tenant, "mover")
    seq = tenant.journal.last_seq
    with pytest.raises(ObjectConflict):
        tenant.change_upn(user.id, "TAKEN@contoso.onmicrosoft.com")
    with pytest.raises(InvalidValue):
        tenant.change_upn(user.id, "not-a-upn")
    assert user.userPrincipalName == "mover@contoso.onmicrosoft.com"
    assert tenant.get_user("mover@contoso.onmicrosoft.com") is user
    assert tenant.journal.last_seq == seq


def test_soft_delete_hides_the_user_but_keeps_the_upn_reserved(tenant):
    user = make_user(tenant, "gone")
    tenant.soft_delete_user(user.id)
    assert user.id not in tenant.users and user.deletedDateTime == START
    with pytest.raises(ObjectNotFound):
        tenant.get_user(user.id)
    assert tenant.get_user("gone@contoso.onmicrosoft.com", include_deleted=True) is user
    with pytest.raises(ObjectConflict):
        make_user(tenant, "gone")
    assert entries(tenant)[-1] == ("user", user.id, "softDeleted")


def test_restore_within_retention_brings_back_memberships(tenant):
    user = make_user(tenant, "back")
    group = tenant.create_group(displayName="Course: Python", members=[user.id])
    tenant.soft_delete_user(user.id)
    assert tenant.member_ids(group.id) == []  # hidden while deleted...
    tenant.advance_clock(timedelta(days=29))
    tenant.restore_user("back@contoso.onmicrosoft.com")
    assert tenant.get_user(user.id) is user and user.deletedDateTime is None
    assert tenant.member_ids(group.id) == [user.id]  # ...but remembered
    assert entries(tenant)[-1] == ("user", user.id, "restored")
    with pytest.raises(ObjectNotFound):
        tenant.restore_user(user.id)


def test_purge_after_thirty_days_removes_every_reference(tenant):
    boss = make_user(tenant, "boss")
    report = make_user(tenant, "report", managerId=boss.id)
    group = tenant.create_group(displayName="Sales", members=[boss.id, report.id])
    tenant.register_application("LMS", secret=False)
    tenant.assign(boss.id)
    tenant.soft_delete_user(boss.id)
    seq = tenant.journal.last_seq

    tenant.advance_clock(timedelta(days=29, hours=23))
    assert boss.id in tenant.deleted_users
    tenant.advance_clock(timedelta(hours=1))

    assert boss.id not in tenant.deleted_users and boss.id not in tenant.users
    assert list(group.members) == [report.id]
    assert report.managerId is None
    assert boss.id not in tenant.assignments
    assert entries(tenant, seq) == [
        ("group", group.id, "memberRemoved"),
        ("user", report.id, "updated"),
        ("assignment", boss.id, "unassigned"),
        ("user", boss.id, "purged"),
    ]
    make_user(tenant, "boss")  # the UPN is free after the purge


def test_purge_now_and_unknown_user(tenant):
    user = make_user(tenant, "now")
    tenant.purge_user(user.id)
    assert entries(tenant)[-1] == ("user", user.id, "purged")
    with pytest.raises(ObjectNotFound):
        tenant.purge_user(user.id)


# --------------------------------------------------------------- managers
def test_manager_chain_refuses_cycles_and_self(tenant):
    a, b, c = (make_user(tenant, n) for n in ("a", "b", "c"))
    tenant.set_manager(b.id, a.userPrincipalName)
    tenant.set_manager(c.id, b.id)
    assert c.managerId == b.id and b.managerId == a.id
    with pytest.raises(InvalidValue, match="cycle"):
        tenant.set_manager(a.id, c.id)
    with pytest.raises(InvalidValue, match="own manager"):
        tenant.set_manager(a.id, a.id)
    assert a.managerId is None
    tenant.set_manager(c.id, None)
    assert c.managerId is None
    assert tenant.journal.since(0)[-1].changes == {"managerId": [b.id, None]}


# ----------------------------------------------------------------- groups
def test_group_names_need_not_be_unique_and_rename_is_journaled(tenant):
    first = tenant.create_group(displayName="Project Atlas")
    second = tenant.create_group(displayName="Project Atlas")
    assert first.id != second.id and first.mailNickname == "ProjectAtlas"
    seq = tenant.journal.last_seq
    tenant.rename_group(second.id, "Project Atlas (old)")
    assert second.displayName == "Project Atlas (old)"
    [change] = tenant.journal.since(seq)
    assert (change.object_id, change.action, change.changes) == (
        second.id, "updated", {"displayName": ["Project Atlas", "Project Atlas (old)"]})


def test_add_and_remove_members(tenant):
    user = make_user(tenant, "member")
    group = tenant.create_group(displayName="Cohort A")
    seq = tenant.journal.last_seq
    tenant.add_member(group.id, user.userPrincipalName)
    with pytest.raises(ObjectConflict):
        tenant.add_member(group.id, user.id)
    with pytest.raises(InvalidValue):
        tenant.add_member(group.id, group.id)
    with pytest.raises(ObjectNotFound):
        tenant.add_member(group.id, "nobody@contoso.onmicrosoft.com")
    assert tenant.member_ids(group.id) == [user.id]
    tenant.remove_member(group.id, user.id)
    with pytest.raises(ObjectNotFound):
        tenant.remove_member(group.id, user.id)
    assert [(c.action, c.member_id) for c in tenant.journal.since(seq)] == [
        ("memberAdded", user.id), ("memberRemoved", user.id)]


def test_nesting_and_transitive_members_survive_cycles(tenant):
    u1, u2, u3 = (make_user(tenant, n) for n in ("u1", "u2", "u3"))
    outer = tenant.create_group(displayName="Outer", members=[u1.id])
    middle = tenant.create_group(displayName="Middle", members=[u2.id])
    inner = tenant.create_group(displayName="Inner", members=[u3.id, u1.id])
    tenant.add_member(outer.id, middle.id)
    tenant.add_member(middle.id, inner.id)
    tenant.add_member(inner.id, outer.id)  # Entra allows this cycle; readers must not loop

    assert tenant.member_ids(outer.id) == [u1.id, middle.id]
    transitive = tenant.transitive_member_ids(outer.id)
    assert sorted(transitive) == sorted([u1.id, middle.id, u2.id, inner.id, u3.id, outer.id])
    assert len(transitive) == len(set(transitive))
    assert {g.id for g in tenant.member_of(u3.id)} == {inner.id}
    assert {g.id for g in tenant.member_of(u3.id, transitive=True)} == {inner.id, middle.id, outer.id}


def test_deleting_a_group_removes_it_from_parents(tenant):
    parent = tenant.create_group(displayName="Parent")
    child = tenant.create_group(displayName="Child")
    tenant.add_member(parent.id, child.id)
    tenant.delete_group(child.id)
    assert parent.members == {}
    with pytest.raises(ObjectNotFound):
        tenant.get_group(child.id)
    assert entries(tenant)[-2:] == [("group", parent.id, "memberRemoved"), ("group", child.id, "deleted")]


# ------------------------------------------------------------ assignments
def test_assignment_through_a_group_counts_direct_members_only(tenant):
    direct, member, nested = (make_user(tenant, n) for n in ("direct", "member", "nested"))
    outsider = make_user(tenant, "outsider")
    child = tenant.create_group(displayName="Child", members=[nested.id])
    group = tenant.create_group(displayName="Assigned", members=[member.id, child.id])
    seq = tenant.journal.last_seq
    tenant.assign(direct.userPrincipalName, app_role="Teacher")
    tenant.assign(group.id)
    assert tenant.assignments[direct.id].principalType == "User"
    assert tenant.assignments[group.id].principalType == "Group"
    assert tenant.is_assigned(direct.id) and tenant.is_assigned(member.id)
    assert not tenant.is_assigned(nested.id)  # Entra does not follow nested groups for app assignment
    assert not tenant.is_assigned(outsider.id)
    tenant.unassign(group.id)
    assert not tenant.is_assigned(member.id)
    with pytest.raises(ObjectNotFound):
        tenant.unassign(group.id)
    changes = tenant.journal.since(seq)
    assert [(c.object_id, c.action) for c in changes] == [
        (direct.id, "assigned"), (group.id, "assigned"), (group.id, "unassigned")]
    assert changes[0].changes == {"appRole": [None, "Teacher"]}


# ----------------------------------------------------- apps and secrets
def test_register_application_consents_and_adds_a_secret(tenant):
    app = tenant.register_application("LMS connector")
    sp = tenant.service_principal(app.appId)
    assert sp.grantedPermissions == app.requiredPermissions
    [secret] = app.passwordCredentials
    assert secret.endDateTime - secret.startDateTime == timedelta(days=180)
    assert secret.hint == secret.secretText[:3] and len(secret.secretText) == 40
    assert [c.action for c in tenant.journal.since(0)] == ["created", "consentGranted", "secretAdded"]
    with pytest.raises(InvalidValue):
        tenant.register_application("bad", permissions=["Mail.Send"])


def test_secrets_expire_with_the_clock_or_on_demand_and_can_be_deleted(tenant):
    app = tenant.register_application("LMS", secret=False)
    short = tenant.add_secret(app.appId, lifetime=timedelta(days=1), display_name="short")
    other = tenant.add_secret(app.appId)
    assert short.secretText != other.secretText
    assert not short.is_expired(tenant.clock.now())
    tenant.advance_clock(timedelta(days=1))
    assert short.is_expired(tenant.clock.now())
    seq = tenant.journal.last_seq
    tenant.expire_secret(app.appId, other.keyId)
    assert other.is_expired(tenant.clock.now())
    tenant.delete_secret(app.appId, short.keyId)
    assert app.passwordCredentials == [other]
    with pytest.raises(ObjectNotFound):
        tenant.delete_secret(app.appId, short.keyId)
    assert [(c.action, c.changes) for c in tenant.journal.since(seq)] == [
        ("secretExpired", {"keyId": [other.keyId, other.keyId]}),
        ("secretDeleted", {"keyId": [short.keyId, None]}),
    ]


def test_grant_and_revoke_consent(tenant):
    app = tenant.register_application("LMS", consent=False, secret=False)
    sp = tenant.service_principal(app.appId)
    assert sp.grantedPermissions == []
    tenant.grant_consent(app.appId, ["User.Read.All"])
    assert sp.grantedPermissions == ["User.Read.All"]
    tenant.revoke_consent(app.appId)
    assert sp.grantedPermissions == []
    assert [(c.action, c.changes) for c in tenant.journal.since(0)][-2:] == [
        ("consentGranted", {"grantedPermissions": [None, ["User.Read.All"]]}),
        ("consentRevoked", {"grantedPermissions": [["User.Read.All"], []]}),
    ]
    with pytest.raises(InvalidValue):
        tenant.grant_consent(app.appId, ["Sites.FullControl.All"])


def test_ids_and_secrets_follow_the_seed():
    one, two = (Tenant(seed=11, clock=Clock.frozen_at(START)) for _ in range(2))
    assert one.id == two.id
    assert [one.new_id() for _ in range(3)] == [two.new_id() for _ in range(3)]
    assert one.new_secret_value() == two.new_secret_value()
    assert Tenant(seed=12, clock=Clock.frozen_at(START)).id != one.id


# ------------------------------------------------------------ bulk loading
def test_bulk_load_users_writes_no_journal_and_routes_deleted_users(tenant):
    active = User(id="11111111-1111-4111-8111-111111111111", userPrincipalName="bulk@contoso.onmicrosoft.com",
                  displayName="Bulk")
    gone = User(id="22222222-2222-4222-8222-222222222222", userPrincipalName="Gone@contoso.onmicrosoft.com",
                displayName="Gone", deletedDateTime=START)
    assert tenant.bulk_load_users([active, gone]) == 2
    assert tenant.get_user("BULK@contoso.onmicrosoft.com") is active
    assert tenant.get_user("gone@contoso.onmicrosoft.com", include_deleted=True) is gone
    assert gone.id in tenant.deleted_users and len(tenant.journal) == 0


@pytest.mark.parametrize("clash", ["upn", "id"])
def test_bulk_load_users_keeps_nothing_of_a_conflicting_batch(tenant, clash):
    existing = make_user(tenant, "existing")
    fresh = User(id="33333333-3333-4333-8333-333333333333", userPrincipalName="fresh@contoso.onmicrosoft.com",
                 displayName="Fresh")
    bad = User(id=existing.id if clash == "id" else "44444444-4444-4444-8444-444444444444",
               userPrincipalName="EXISTING@contoso.onmicrosoft.com" if clash == "upn" else "other@contoso.onmicrosoft.com",
               displayName="Bad")
    before = (list(tenant.users), dict(tenant._upn_index))
    with pytest.raises(ObjectConflict):
        tenant.bulk_load_users([fresh, bad])
    assert (list(tenant.users), dict(tenant._upn_index)) == before


def test_bulk_load_groups_keeps_nothing_of_a_conflicting_batch(tenant):
    user = make_user(tenant, "someone")
    ok = Group(id="55555555-5555-4555-8555-555555555555", displayName="Loaded", members={user.id: None})
    assert tenant.bulk_load_groups([ok]) == 1
    assert tenant.member_ids(ok.id) == [user.id]
    new = Group(id="66666666-6666-4666-8666-666666666666", displayName="New")
    clash = Group(id=user.id, displayName="Clash")
    with pytest.raises(ObjectConflict):
        tenant.bulk_load_groups([new, clash])
    assert list(tenant.groups) == [ok.id]
    assert len(tenant.journal) == 1  # only the user's creation
