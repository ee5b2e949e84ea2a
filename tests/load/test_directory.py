"""The generated directory: deterministic, block-structured, and built into Entra's requests by the provisioning code."""

from __future__ import annotations

import pytest

from loadtests.builders import EntraRequests
from loadtests.directory import Directory, DirectorySpec


def test_the_same_seed_gives_the_same_objects_and_another_seed_other_ones():
    first, again = Directory(DirectorySpec(1000, 40, seed=3)), Directory(DirectorySpec(1000, 40, seed=3))
    other = Directory(DirectorySpec(1000, 40, seed=4))
    assert first.user(731) == again.user(731)
    assert first.group(17) == again.group(17)
    assert first.user(731).id != other.user(731).id
    assert first.user(731).userPrincipalName != other.user(731).userPrincipalName


def test_blocks_cover_every_object_once_and_groups_draw_members_from_their_own_block():
    directory = Directory(DirectorySpec(1050, 23, seed=1, block_size=100))
    users = [index for block in range(directory.spec.blocks) for index in directory.block_user_range(block)]
    groups = [index for block in range(directory.spec.blocks) for index in directory.block_group_range(block)]
    assert sorted(users) == list(range(1050)) and sorted(groups) == list(range(23))
    for index in range(23):
        group = directory.group(index)
        block_users = directory.block_user_range(directory.block_of_group(index))
        assert all(member in block_users for member in group.member_indexes)
        assert len(group.members) == len(set(group.members)) == directory.group_size(index)
    assert directory.memberships() == sum(len(directory.group(index).members) for index in range(23))


def test_a_million_user_directory_is_generated_on_demand():
    directory = Directory(DirectorySpec(1_000_000, 100_000, seed=0))
    last = directory.user(999_999)
    assert last.userPrincipalName.endswith(".999999@load0.example.com")
    assert directory.spec.blocks == 10_000
    assert directory.group(99_999).member_indexes[0] >= 9_999 * 100


@pytest.mark.parametrize("spec", [{"users": 0, "groups": 1}, {"users": 10, "groups": -1},
                                  {"users": 10, "groups": 1, "block_size": 0}])
def test_impossible_directories_are_refused(spec):
    with pytest.raises(ValueError):
        DirectorySpec(**spec)


def test_requests_are_the_provisioning_clients_in_both_dialects():
    user = Directory(DirectorySpec(10, 1, seed=2)).user(4)
    default = EntraRequests("customappsso", "default")
    assert default.match_query(user) == ("/Users?filter=userName+eq+%22" +
                                         user.userPrincipalName.replace("@", "%40") + "%22")
    body = default.create_body(user)
    assert body["userName"] == user.userPrincipalName and body["active"] is True
    assert body["emails"] == [{"primary": True, "type": "work", "value": user.mail}]
    disabled = Directory(DirectorySpec(10, 1, seed=2)).user(4, enabled=False)
    assert default.update_body(disabled, body)["Operations"] == [{"op": "Replace", "path": "active", "value": "False"}]
    flagged = EntraRequests("customappsso", "aadOptscim062020")
    assert flagged.update_body(disabled, body)["Operations"] == [{"op": "replace", "path": "active", "value": False}]
    assert flagged.members_add_bodies(["a"])[0]["Operations"] == [{"op": "add", "path": "members", "value": [{"value": "a"}]}]


def test_the_one_pass_builder_sends_the_same_match_and_create_as_the_separate_ones():
    directory = Directory(DirectorySpec(300, 30, seed=9))
    for builders in (EntraRequests("customappsso"), EntraRequests("email-keyed", "aadOptscim062020")):
        for index in (0, 150, 299):
            user = directory.user(index)
            assert builders.match_and_create(user) == (builders.match_query(user), builders.create_body(user))
        group = directory.group(29)
        assert builders.match_and_create(group) == (builders.match_query(group), builders.create_body(group))


def test_each_block_is_a_reporting_tree_of_fan_out_ten():
    directory = Directory(DirectorySpec(250, 5, seed=1, block_size=100))
    assert directory.manager_index(0) is None and directory.manager_index(100) is None  # heads of blocks
    assert [directory.manager_index(i) for i in (1, 10, 11, 20, 21, 99)] == [0, 0, 1, 1, 2, 9]
    assert directory.manager_index(249) == 200 + (49 - 1) // 10  # the last, partial block has its own tree
    managers = [directory.manager_index(i) for i in range(250)]
    assert all(m is None or directory.block_of_user(m) == directory.block_of_user(i) for i, m in enumerate(managers))
    assert directory.managers() == sum(m is not None for m in managers) == 250 - 3
    # the user object carries its manager's object id, as Graph's manager relationship would
    assert directory.user(21).managerId == directory.user(2).id and directory.user(100).managerId is None


def test_different_seeds_give_disjoint_directories_that_can_share_a_target():
    first, second = Directory(DirectorySpec(100, 4, seed=1)), Directory(DirectorySpec(100, 4, seed=2))
    assert {first.group(i).displayName for i in range(4)}.isdisjoint(second.group(i).displayName for i in range(4))
    assert {first.user(i).userPrincipalName for i in range(100)}.isdisjoint(
        second.user(i).userPrincipalName for i in range(100))


def test_the_manager_reference_patch_is_the_provisioning_clients_in_both_dialects():
    path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
    default, flagged = EntraRequests("customappsso"), EntraRequests("email-keyed", "aadOptscim062020")
    assert default.manager_body("m1", had_manager=False)["Operations"] == [{"op": "Add", "path": path, "value": "m1"}]
    assert flagged.manager_body("m1", had_manager=True)["Operations"] == [
        {"op": "replace", "path": path, "value": {"value": "m1"}}]
    held = {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m1"}}}
    assert default.manager_of(held) == "m1" and default.manager_of({"userName": "x"}) is None
    # the manager is a reference: never part of the create body, whatever the user's managerId
    user = Directory(DirectorySpec(30, 1)).user(12)
    assert user.managerId and "manager" not in str(default.create_body(user))
