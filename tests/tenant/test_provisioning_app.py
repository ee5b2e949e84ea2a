"""The provisioning enterprise app's identity: seeded, stable, and kept by snapshots (old ones included)."""

from __future__ import annotations

import json

from simulator.tenant import Tenant, snapshot


def test_identity_is_stable_per_seed_and_shifts_no_other_id():
    first, second = Tenant(seed=5), Tenant(seed=5)
    assert (first.provisioning_app.id, first.provisioning_app.appId) == (second.provisioning_app.id, second.provisioning_app.appId)
    assert first.provisioning_app.id != Tenant(seed=6).provisioning_app.id
    assert first.provisioning_app.displayName == "entrasim LMS (provisioning)"
    # second asks for the app only after creating a user: the user ids still agree.
    fresh = Tenant(seed=5)
    assert first.create_user(userPrincipalName="a@x.test").id == fresh.create_user(userPrincipalName="a@x.test").id


def test_snapshot_round_trips_identity_and_assignments(tmp_path):
    tenant = Tenant(seed=9)
    user = tenant.create_user(userPrincipalName="ann@x.test")
    tenant.assign(user.id, app_role="Teacher")
    path = tmp_path / "tenant.json"
    snapshot.save(tenant, path)
    loaded = snapshot.load(path)
    assert loaded.provisioning_app.id == tenant.provisioning_app.id
    assert loaded.provisioning_app.appId == tenant.provisioning_app.appId
    assert loaded.assignments[user.id] == tenant.assignments[user.id]


def test_snapshot_without_assignment_dates_still_loads(tmp_path):
    tenant = Tenant(seed=9)
    user = tenant.create_user(userPrincipalName="ann@x.test")
    tenant.assign(user.id)
    data = snapshot.to_dict(tenant)
    data["assignments"] = [{"principalId": user.id, "principalType": "User", "appRole": "User"}]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data, default=str))
    loaded = snapshot.load(path)
    assert loaded.is_assigned(user.id)
    assert loaded.assignments[user.id].createdDateTime is None
    assert loaded.provisioning_app.id == tenant.provisioning_app.id
