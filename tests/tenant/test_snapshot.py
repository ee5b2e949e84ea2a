"""Snapshots: everything round-trips, the same state gives the same bytes, bad files fail clearly."""

from __future__ import annotations

import gzip
import json
import os
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from simulator.clock import Clock
from simulator.tenant import Tenant, snapshot
from simulator.tenant.seeding import SeedSpec, seed_tenant


def certificate_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "entrasim test client")])
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=365)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def lived_in() -> Tenant:
    """A seeded tenant after a few weeks of changes: every kind of state a snapshot must carry."""
    tenant = seed_tenant(SeedSpec(users=300, groups=40, seed=21, guests=5))
    users = list(tenant.users.values())
    app = next(iter(tenant.applications.values()))
    tenant.domains.append("contoso.com")
    tenant.update_user(users[10].id, jobTitle="Learning Lead", otherMails=["lead@example.org"])
    tenant.soft_delete_user(users[11].id)
    tenant.change_upn(users[12].id, "Renamed.Person@contoso.onmicrosoft.com")
    group = tenant.create_group(displayName="Course: Snapshot Testing", members=[users[13].id, users[14].id])
    tenant.add_member(group.id, next(iter(tenant.groups)))
    tenant.assign(users[15].id, app_role="Teacher")
    tenant.advance_clock(timedelta(days=3, seconds=17))
    expiring = tenant.add_secret(app.appId, display_name="rotation", lifetime=timedelta(days=30))
    tenant.expire_secret(app.appId, expiring.keyId)
    tenant.add_certificate(app.appId, certificate_pem(), display_name="client cert")
    second = tenant.register_application("second app", consent=False, sign_in_audience="AzureADMultipleOrgs")
    tenant.set_app_enabled(second.appId, False)
    return tenant


def test_everything_round_trips(tmp_path, lived_in):
    path = tmp_path / "tenant.json"
    snapshot.save(lived_in, path)
    loaded = snapshot.load(path)
    assert snapshot.to_dict(loaded) == snapshot.to_dict(lived_in)

    deleted = next(iter(lived_in.deleted_users))
    assert loaded.get_user(deleted, include_deleted=True).deletedDateTime == lived_in.deleted_users[deleted].deletedDateTime
    assert loaded.get_user("renamed.person@contoso.onmicrosoft.com").id == lived_in.get_user("Renamed.Person@contoso.onmicrosoft.com").id
    assert loaded.matches("contoso.com") and loaded.clock.is_frozen and loaded.clock.now() == lived_in.clock.now()
    assert [c.action for c in loaded.journal.since(0)] == [c.action for c in lived_in.journal.since(0)]
    created = next(c for c in loaded.journal.since(0) if c.action == "created" and c.kind == "group")
    assert isinstance(created.changes["createdDateTime"][1], datetime)  # journal values keep their types
    second = next(a for a in loaded.applications.values() if a.displayName == "second app")
    assert loaded.service_principal(second.appId).accountEnabled is False
    assert loaded.applications[second.appId].signInAudience == "AzureADMultipleOrgs"
    connector = next(iter(loaded.applications.values()))
    original = next(iter(lived_in.applications.values()))
    assert [c.secretText for c in connector.passwordCredentials] == [c.secretText for c in original.passwordCredentials]
    assert connector.keyCredentials[0].thumbprint_sha1 == original.keyCredentials[0].thumbprint_sha1


def test_ids_and_secrets_continue_deterministically_after_load(tmp_path, lived_in):
    snapshot.save(lived_in, tmp_path / "t.json")
    loaded = snapshot.load(tmp_path / "t.json")
    assert loaded.new_id() == lived_in.new_id()
    app_id = next(iter(lived_in.applications))
    assert loaded.add_secret(app_id).secretText == lived_in.add_secret(app_id).secretText
    assert loaded.create_user(userPrincipalName="next@contoso.onmicrosoft.com").id == \
        lived_in.create_user(userPrincipalName="next@contoso.onmicrosoft.com").id


def test_loaded_tenant_keeps_behaving_like_the_original(tmp_path, lived_in):
    snapshot.save(lived_in, tmp_path / "t.json")
    loaded = snapshot.load(tmp_path / "t.json")
    deleted = next(iter(loaded.deleted_users))
    loaded.advance_clock(timedelta(days=30))  # retention counts from the saved deletedDateTime
    assert deleted not in loaded.deleted_users
    assert loaded.journal.since(0)[-1].seq == len(loaded.journal)
    assigned = next(a.principalId for a in loaded.assignments.values() if a.principalType == "Group")
    assert all(loaded.is_assigned(m) for m in loaded.member_ids(assigned) if m in loaded.users)


def test_same_state_gives_the_same_bytes_plain_and_gzip(tmp_path, lived_in):
    for name in ("a.json", "b.json", "a.json.gz", "b.json.gz"):
        snapshot.save(lived_in, tmp_path / name)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert (tmp_path / "a.json.gz").read_bytes() == (tmp_path / "b.json.gz").read_bytes()
    assert gzip.decompress((tmp_path / "a.json.gz").read_bytes()) == (tmp_path / "a.json").read_bytes()
    assert snapshot.to_dict(snapshot.load(tmp_path / "a.json.gz")) == snapshot.to_dict(lived_in)


def test_file_is_the_json_of_to_dict_with_its_header(tmp_path, lived_in):
    snapshot.save(lived_in, tmp_path / "t.json")
    data = json.loads((tmp_path / "t.json").read_text())
    assert (data["format"], data["version"]) == ("entrasim-tenant", 1)
    assert data == snapshot.to_dict(lived_in)


def test_save_is_private_atomic_and_leaves_no_temporary_files(tmp_path, lived_in):
    path = tmp_path / "t.json"
    snapshot.save(lived_in, path)
    assert os.stat(path).st_mode & 0o077 == 0  # secrets inside: owner only
    assert os.listdir(tmp_path) == ["t.json"]
    with pytest.raises(OSError):
        snapshot.save(lived_in, tmp_path / "missing" / "t.json")
    with pytest.raises(OSError):
        snapshot.save(lived_in, tmp_path)  # a directory
    assert os.listdir(tmp_path) == ["t.json"]


def test_from_dict_leaves_its_input_alone(lived_in):
    data = snapshot.to_dict(lived_in)
    copy = json.loads(json.dumps(data))
    snapshot.from_dict(data)
    assert data == copy


def test_running_clock_mode_round_trips(tmp_path):
    tenant = Tenant(seed=4, clock=Clock(start=datetime(2030, 6, 1, tzinfo=timezone.utc)))
    snapshot.save(tenant, tmp_path / "t.json")
    loaded = snapshot.load(tmp_path / "t.json")
    assert not loaded.clock.is_frozen
    assert datetime(2030, 6, 1, tzinfo=timezone.utc) <= loaded.clock.now() < datetime(2030, 6, 2, tzinfo=timezone.utc)


def _write(path, text: str | bytes) -> str:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not valid JSON"),
    ("", "is not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"version": 1}', 'the "format" field is missing'),
    ('{"format": "something-else", "version": 1}', "format is 'something-else'"),
    ('{"format": "entrasim-tenant", "version": 2}', "unsupported entrasim tenant snapshot version 2"),
    ('{"format": "entrasim-tenant", "version": 1}', "malformed entrasim tenant snapshot: missing field 'tenant'"),
])
def test_bad_files_raise_value_error_saying_what_is_wrong(tmp_path, content, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        snapshot.load(_write(tmp_path / "bad.json", content))


def test_malformed_content_is_a_value_error(tmp_path, lived_in):
    good = snapshot.to_dict(lived_in)
    cases = {
        "unknown property": ("users", 0, {"shoeSize": 44}),
        "bad time": ("users", 0, {"createdDateTime": "last tuesday"}),
        "members not ids": ("groups", 0, {"members": [1, 2]}),
    }
    for what, (section, index, patch) in cases.items():
        data = json.loads(json.dumps(good))
        data[section][index].update(patch)
        with pytest.raises(ValueError, match="malformed entrasim tenant snapshot"):
            snapshot.from_dict(data)
    duplicated = json.loads(json.dumps(good))
    duplicated["users"].append(duplicated["users"][0])
    with pytest.raises(ValueError, match="already exists"):
        snapshot.from_dict(duplicated)
    renumbered = json.loads(json.dumps(good))
    renumbered["journal"][0]["seq"] = 99
    with pytest.raises(ValueError, match="numbered"):
        snapshot.from_dict(renumbered)


def test_broken_gzip_and_missing_file(tmp_path, lived_in):
    snapshot.save(lived_in, tmp_path / "t.json.gz")
    truncated = (tmp_path / "t.json.gz").read_bytes()[:200]
    with pytest.raises(ValueError, match="not a valid gzip file"):
        snapshot.load(_write(tmp_path / "cut.json.gz", truncated))
    with pytest.raises(OSError):
        snapshot.load(tmp_path / "nothing-here.json")


def test_other_layouts_of_the_same_json_load_too(tmp_path, lived_in):
    """Streaming needs save's own layout; a pretty-printed or reordered document is parsed whole instead."""
    data = snapshot.to_dict(lived_in)
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(data, indent=2))
    reordered = tmp_path / "reordered.json"
    reordered.write_text(json.dumps(dict(reversed(list(data.items())))))
    for path in (pretty, reordered):
        assert snapshot.to_dict(snapshot.load(path)) == data


def test_one_entry_per_line_layout(tmp_path, lived_in):
    snapshot.save(lived_in, tmp_path / "t.json")
    lines = (tmp_path / "t.json").read_text().splitlines()
    user_lines = [line for line in lines if line.startswith('{"id":') and '"userPrincipalName"' in line]
    assert len(user_lines) == len(lived_in.users) + len(lived_in.deleted_users)
    assert lines[0] == "{" and lines[-1] == "}"


def test_hand_written_sparse_fixture_takes_defaults(tmp_path):
    fixture = {
        "format": "entrasim-tenant", "version": 1,
        "tenant": {"id": "11111111-1111-4111-8111-111111111111", "displayName": "Fabrikam",
                   "domains": ["fabrikam.onmicrosoft.com"], "createdDateTime": "2025-01-01T00:00:00Z", "seed": 1},
        "clock": {"now": "2026-02-01T00:00:00Z", "frozen": True},
        "rng": list(json.loads(json.dumps(Tenant(seed=1)._rng.getstate()))),
        "users": [{"id": "22222222-2222-4222-8222-222222222222", "userPrincipalName": "ana@fabrikam.onmicrosoft.com",
                   "displayName": "Ana"}],
        "deletedUsers": [], "applications": [], "servicePrincipals": [], "assignments": [], "journal": [],
        "groups": [{"id": "33333333-3333-4333-8333-333333333333", "displayName": "Course: Chemistry",
                    "members": ["22222222-2222-4222-8222-222222222222"]}],
    }
    path = tmp_path / "fixture.json"
    path.write_text(json.dumps(fixture))
    tenant = snapshot.load(path)
    ana = tenant.get_user("ana@fabrikam.onmicrosoft.com")
    assert (ana.accountEnabled, ana.userType, ana.otherMails, ana.mail) == (True, "Member", [], None)
    assert tenant.member_ids("33333333-3333-4333-8333-333333333333") == [ana.id]
    assert tenant.matches("fabrikam.onmicrosoft.com")


def test_damage_inside_a_streamed_file(tmp_path, lived_in):
    snapshot.save(lived_in, tmp_path / "t.json")
    content = (tmp_path / "t.json").read_text()
    cut = tmp_path / "cut.json"
    cut.write_text(content[: len(content) // 2])
    with pytest.raises(ValueError, match="is not valid JSON"):
        snapshot.load(cut)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(content.replace('"jobTitle":', '"favouriteColour":', 1))
    with pytest.raises(ValueError, match="unknown User property 'favouriteColour'"):
        snapshot.load(unknown)
    trailing = tmp_path / "trailing.json"
    trailing.write_text(content + "{}\n")
    with pytest.raises(ValueError, match="is not valid JSON"):
        snapshot.load(trailing)
