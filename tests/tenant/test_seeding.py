"""Seeding: a realistic tenant, the same one for the same seed, with what each option asks for."""

from __future__ import annotations

import dataclasses
import re
import statistics
from collections import Counter
from datetime import datetime, timezone

import pytest

from simulator.tenant import guest_upn, snapshot
from simulator.tenant.seeding import CONNECTOR_APP_NAME, DEPARTMENTS, LOCALES, SeedSpec, guid_batch, seed_tenant, slug
from simulator.tenant.model import Tenant

SPEC = SeedSpec(users=2000, groups=50, seed=7, guests=40, duplicate_emails=6, duplicate_group_names=4)


@pytest.fixture(scope="module")
def seeded():
    return seed_tenant(SPEC)


def members(tenant):
    return [u for u in tenant.users.values() if u.userType == "Member"]


def test_same_spec_same_snapshot_bytes_and_other_seed_differs(tmp_path, seeded):
    again = seed_tenant(dataclasses.replace(SPEC))
    snapshot.save(seeded, tmp_path / "one.json")
    snapshot.save(again, tmp_path / "two.json")
    assert (tmp_path / "one.json").read_bytes() == (tmp_path / "two.json").read_bytes()

    other = seed_tenant(SeedSpec(users=2000, groups=50, seed=8, guests=40))
    assert other.id != seeded.id
    assert {u.userPrincipalName for u in other.users.values()} != {u.userPrincipalName for u in seeded.users.values()}


def test_counts_and_baseline_state(seeded):
    counts = seeded.counts()
    assert (counts["users"], counts["groups"], counts["deletedUsers"]) == (2000, 50, 0)
    assert len(seeded.journal) == 0  # seeding is the baseline, not a history of changes
    assert seeded.clock.is_frozen and seeded.clock.now() == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert all(u.createdDateTime < seeded.clock.now() for u in seeded.users.values())
    assert all(g.createdDateTime < seeded.clock.now() for g in seeded.groups.values())
    created = [u.createdDateTime for u in seeded.users.values()]
    assert created == sorted(created) and created[-1] - created[0] > (created[-1] - created[0]) / 2
    assert seeded.primary_domain == "contoso.onmicrosoft.com" and seeded.displayName == "Contoso"


def test_upns_are_unique_ascii_and_in_the_tenant_domain(seeded):
    upns = [u.userPrincipalName for u in seeded.users.values()]
    assert len({upn.lower() for upn in upns}) == len(upns)
    for user in members(seeded):
        assert re.fullmatch(r"[a-z0-9]+\.[a-z0-9]+@contoso\.onmicrosoft\.com", user.userPrincipalName)
        assert user.mailNickname == user.userPrincipalName.split("@")[0]
        assert seeded.get_user(user.userPrincipalName.upper()) is user
    # common names collide at this size: the seeder numbers them instead of failing
    assert any(re.search(r"\d@", upn) for upn in upns)


def test_guests_have_ext_upns_and_partner_details(seeded):
    guests = [u for u in seeded.users.values() if u.userType == "Guest"]
    assert len(guests) == SPEC.guests
    for guest in guests:
        assert guest.is_guest and guest.otherMails
        assert guest.userPrincipalName == guest_upn(guest.otherMails[0], seeded.primary_domain)
        assert guest.companyName and not guest.companyName.startswith("Contoso")
        assert guest.managerId is None and guest.employeeId is None


def test_locale_country_and_subsidiary_agree(seeded):
    by_tag = {p.tag: p for p in LOCALES}
    seen = Counter()
    for user in members(seeded):
        profile = by_tag[user.preferredLanguage]
        seen[user.preferredLanguage] += 1
        assert (user.country, user.usageLocation) == (profile.country, profile.usage_location)
        assert user.companyName == profile.company_pattern.format(name="Contoso")
        assert user.officeLocation.split(",")[0] in profile.offices
        assert user.givenName and user.surname and user.displayName == f"{user.givenName} {user.surname}"
        assert user.employeeId and user.jobTitle and user.department
    assert set(seen) == set(by_tag)
    assert seen["en-US"] == max(seen.values())


def test_attributes_shared_by_many_users_are_one_string_each(seeded):
    departments = {id(u.department) for u in members(seeded)}
    assert len(departments) <= len(DEPARTMENTS) + 1


def test_manager_tree_has_one_ceo_and_bounded_spans(seeded):
    people = {u.id: u for u in members(seeded)}
    roots = [u for u in people.values() if u.managerId is None]
    assert [r.jobTitle for r in roots] == ["Chief Executive Officer"]
    reports = Counter(u.managerId for u in people.values() if u.managerId)
    ceo = roots[0]
    assert reports[ceo.id] == len(DEPARTMENTS)  # one head per department
    assert max(n for m, n in reports.items() if m != ceo.id) <= SPEC.manager_span
    for user in people.values():
        chain, cursor = set(), user
        while cursor.managerId is not None:  # every chain ends at the CEO, without cycles
            assert cursor.id not in chain
            chain.add(cursor.id)
            cursor = people[cursor.managerId]
        assert cursor is ceo
        if user.managerId and user.managerId != ceo.id:
            assert people[user.managerId].department == user.department
    for manager_id in reports:
        manager = people[manager_id]
        assert manager is ceo or manager.jobTitle.startswith(("Vice President", "Director")) or manager.jobTitle.endswith("Manager")


def test_disabled_share_is_roughly_what_was_asked(seeded):
    disabled = sum(not u.accountEnabled for u in seeded.users.values())
    assert 0.03 * 2000 <= disabled <= 0.07 * 2000
    nobody = seed_tenant(SeedSpec(users=300, groups=0, disabled_share=0.0))
    assert all(u.accountEnabled for u in nobody.users.values())


def test_duplicate_emails_on_demand(seeded):
    mails = Counter(u.mail.lower() for u in seeded.users.values())
    assert sum(n - 1 for n in mails.values()) == SPEC.duplicate_emails
    without = seed_tenant(SeedSpec(users=500, groups=0, guests=10))
    assert len({u.mail.lower() for u in without.users.values()}) == 500


def test_duplicate_group_names_on_demand(seeded):
    names = Counter(g.displayName for g in seeded.groups.values())
    assert sum(n - 1 for n in names.values()) == SPEC.duplicate_group_names
    without = seed_tenant(SeedSpec(users=100, groups=120))
    assert len({g.displayName for g in without.groups.values()}) == 120


def test_department_groups_hold_exactly_their_department(seeded):
    department_groups = list(seeded.groups.values())[:len(DEPARTMENTS)]  # created first; a duplicate may reuse a name
    for (name, _weight, _titles), group in zip(DEPARTMENTS, department_groups):
        assert group.displayName == f"All {name}"
        expected = {u.id for u in members(seeded) if u.department == name}
        assert set(group.members) == expected


def test_membership_is_skewed_and_close_to_the_requested_mean(seeded):
    memberships = sum(1 for g in seeded.groups.values() for m in g.members if m in seeded.users)
    assert abs(memberships / 2000 - SPEC.groups_per_user) < 0.1
    sizes = sorted((len(g.members) for g in list(seeded.groups.values())[len(DEPARTMENTS):]), reverse=True)
    assert sizes[0] >= 5 * statistics.median(sizes)  # a few big groups, many small ones


def test_some_groups_are_nested_without_cycles(seeded):
    edges = {g.id: [m for m in g.members if m in seeded.groups] for g in seeded.groups.values()}
    nested = sum(len(children) for children in edges.values())
    assert nested == round(SPEC.nesting_share * (SPEC.groups - len(DEPARTMENTS)))
    state: dict[str, str] = {}

    def visit(gid: str) -> None:
        state[gid] = "open"
        for child in edges[gid]:
            assert state.get(child) != "open", "nesting cycle"
            if child not in state:
                visit(child)
        state[gid] = "done"

    for gid in edges:
        if gid not in state:
            visit(gid)


def test_group_kinds_look_like_entra_groups(seeded):
    for group in seeded.groups.values():
        assert group.mailNickname and group.description
        if group.groupTypes == ["Unified"]:
            assert group.mailEnabled and not group.securityEnabled
            assert group.mail == f"{group.mailNickname}@contoso.onmicrosoft.com"
        else:
            assert group.securityEnabled and not group.mailEnabled and group.mail is None
    assert any(g.groupTypes == ["Unified"] for g in seeded.groups.values())


def test_connector_app_is_consented_with_a_live_secret_and_a_scope(seeded):
    [app] = seeded.applications.values()
    assert app.displayName == CONNECTOR_APP_NAME
    assert seeded.service_principal(app.appId).grantedPermissions == app.requiredPermissions
    [secret] = app.passwordCredentials
    assert not secret.is_expired(seeded.clock.now())
    assert len(seeded.assignments) == SPEC.assigned_groups
    department_groups = list(seeded.groups)[:len(DEPARTMENTS)]
    for assignment in seeded.assignments.values():
        assert assignment.principalType == "Group" and assignment.principalId in seeded.groups
        assert assignment.principalId not in department_groups  # course, project or community groups
    assigned_member = next(m for a in seeded.assignments.values() for m in seeded.groups[a.principalId].members
                           if m in seeded.users)
    assert seeded.is_assigned(assigned_member)


def test_ids_after_seeding_continue_from_the_seed(seeded):
    again = seed_tenant(SPEC)
    assert again.new_id() == seed_tenant(SPEC).new_id()
    assert again.new_id() not in again.users


def test_fast_guids_are_the_ones_new_id_would_give():
    one, two = Tenant(seed=5), Tenant(seed=5)
    assert guid_batch(one._rng.getrandbits, 50) == [two.new_id() for _ in range(50)]
    assert guid_batch(one._rng.getrandbits, 0) == []


def test_empty_and_tiny_tenants():
    empty = seed_tenant(SeedSpec(users=0, groups=0))
    assert empty.counts()["users"] == 0 and len(empty.applications) == 1 and not empty.assignments
    tiny = seed_tenant(SeedSpec(users=1, groups=3))
    [ceo] = tiny.users.values()
    assert ceo.jobTitle == "Chief Executive Officer"
    assert all(list(g.members) == [ceo.id] for g in tiny.groups.values())


def test_progress_bar_on_stderr(capsys):
    seed_tenant(SeedSpec(users=50, groups=5), progress=True)
    err = capsys.readouterr().err
    assert "seeding users" in err and "seeding groups" in err and "seeding memberships" in err


def test_slug_makes_ascii_local_parts():
    assert slug("van 't Wel") == "vantwel"
    assert slug("Jürgen") == "jurgen"
    assert slug("Groß-Œuvre") == "grossoeuvre"
    assert slug("Ñúñez") == "nunez"


@pytest.mark.parametrize("changes, message", [
    ({"users": -1}, "users must be at least 0, got -1"),
    ({"users": "10"}, "users must be a whole number"),
    ({"groups": 2.5}, "groups must be a whole number"),
    ({"disabled_share": 1.5}, "disabled_share must be between 0 and 1"),
    ({"users": 5, "guests": 5}, "guests must be fewer than users"),
    ({"users": 5, "duplicate_emails": 5}, "duplicate_emails must be fewer than users"),
    ({"groups": 2, "duplicate_group_names": 2}, "duplicate_group_names must be fewer than groups"),
    ({"manager_span": 0}, "manager_span must be at least 1"),
    ({"domain": "not a domain"}, "domain must be a DNS name"),
    ({"start": "yesterday"}, "start must be an ISO 8601 time"),
    ({"groups_per_user": float("nan")}, "groups_per_user must be a number"),
])
def test_invalid_specs_are_refused_in_one_line(changes, message):
    spec = SeedSpec(**changes)
    with pytest.raises(ValueError) as caught:
        spec.validate()
    assert message in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(ValueError):
        seed_tenant(spec)
