"""The tenant-model and snapshot sources: whole reads, change reads from the journal, and their watermarks."""

from __future__ import annotations

import pytest

from simulator.clock import Clock
from simulator.provisioning.sources import (
    SnapshotSource,
    SourceError,
    TenantSource,
    WatermarkInvalid,
)
from simulator.tenant import Tenant, snapshot

from .conftest import add_people, new_tenant


def test_a_whole_read_holds_every_user_and_group_with_assignment_and_deletion():
    tenant = new_tenant()
    boss, ann, bob = add_people(tenant, 3)
    loner = tenant.create_user(userPrincipalName="loner@contoso.com", givenName="Lo", surname="Ner")
    tenant.soft_delete_user(bob.id)

    read = TenantSource(tenant).read_all()

    assert read.full and read.watermark == f"journal:{tenant.id}:{tenant.journal.last_seq}"
    assert set(read.users) == {boss.id, ann.id, bob.id, loner.id}
    assert read.users[bob.id].deleted and not read.users[ann.id].deleted
    assert read.users[ann.id].assigned and not read.users[loner.id].assigned
    (group,) = read.groups.values()
    assert group.assigned and group.members == (boss.id, ann.id)  # the soft-deleted member is hidden


def test_a_change_read_holds_only_what_changed_since_the_watermark():
    tenant = new_tenant()
    boss, ann, bob = add_people(tenant, 3)
    source = TenantSource(tenant)
    watermark = source.read_all().watermark

    tenant.update_user(ann.id, jobTitle="Coach")
    tenant.soft_delete_user(bob.id)
    changes = source.read_changes(watermark)

    assert set(changes.users) == {ann.id, bob.id}
    assert set(changes.groups) == set(tenant.groups)  # bob left the group's visible members
    assert not changes.full and changes.watermark != watermark


def test_assigning_a_group_brings_its_members_in():
    tenant = new_tenant()
    people = add_people(tenant, 2, assign_group=False)
    group_id = next(iter(tenant.groups))
    source = TenantSource(tenant)
    watermark = source.read_all().watermark

    tenant.assign(group_id)
    changes = source.read_changes(watermark)

    assert set(changes.users) == {p.id for p in people} and all(u.assigned for u in changes.users.values())
    assert set(changes.groups) == {group_id}


def test_purged_users_and_deleted_groups_are_reported_gone():
    tenant = new_tenant()
    boss, ann = add_people(tenant, 2, manager=False)
    group_id = next(iter(tenant.groups))
    source = TenantSource(tenant)
    watermark = source.read_all().watermark

    tenant.purge_user(ann.id)
    tenant.delete_group(group_id)
    changes = source.read_changes(watermark)

    assert changes.purged_users == {ann.id} and changes.deleted_groups == {group_id}


def test_a_watermark_from_another_tenant_or_the_future_is_refused():
    tenant = new_tenant()
    source = TenantSource(tenant)
    with pytest.raises(WatermarkInvalid, match="belongs to tenant"):
        source.read_changes("journal:someone-else:1")
    with pytest.raises(WatermarkInvalid, match="ahead of the source's journal"):
        source.read_changes(f"journal:{tenant.id}:999")
    with pytest.raises(WatermarkInvalid, match="not a change-journal position"):
        source.read_changes("users-delta-link")


def test_a_snapshot_source_follows_a_regenerated_snapshot(tmp_path, scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    boss, ann = add_people(tenant, 2)
    path = tmp_path / "tenant.json"
    snapshot.save(tenant, path)
    h = harness(tenant, target)
    h.engine.source = SnapshotSource(path)

    first = h.cycle()
    assert first.kind == "initial" and set(target.users()) == {"user0@contoso.com", "user1@contoso.com"}

    tenant.update_user(ann.id, jobTitle="Coach")
    snapshot.save(tenant, path)
    second = h.cycle()

    assert second.kind == "incremental"
    assert [r["sourceIdentity"]["displayName"] for r in h.records(second)] == ["user1@contoso.com"]
    assert target.users()["user1@contoso.com"]["title"] == "Coach"


def test_a_snapshot_of_another_tenant_starts_an_initial_cycle(tmp_path, scim_targets, harness):
    target = scim_targets("lms", "entra-tolerant")
    tenant = new_tenant()
    add_people(tenant, 1)
    path = tmp_path / "tenant.json"
    snapshot.save(tenant, path)
    h = harness(tenant, target)
    h.engine.source = SnapshotSource(path)
    h.cycle()

    other = Tenant(seed=99, clock=Clock.frozen_at("2026-01-15T09:00:00Z"))
    add_people(other, 1)
    snapshot.save(other, path)
    summary = h.cycle()

    assert summary.kind == "initial"
    assert any("belongs to tenant" in note for note in summary.notes)


def test_a_missing_snapshot_is_a_one_line_error(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        SnapshotSource(tmp_path / "nope.json")
