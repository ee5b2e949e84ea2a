"""Directories of any size generated on the fly, deterministically, one object at a time.

``simulator.tenant.seeding`` builds a whole tenant in memory (about a kilobyte a
user, so a gigabyte for a million): right for a mock, wrong for a load generator
whose workers each need only their own shard. Here every user and group is a
pure function of ``(seed, index)``: any process can produce object 734,211
without producing the others, and two processes given the same seed agree on
every attribute, id and membership. Different seeds give disjoint directories
(user names carry the seed in their domain, group names end with it), so runs
with different seeds can share one target.

The directory is cut into **blocks** of ``block_size`` consecutive users. Group
``g`` belongs to block ``g % blocks`` and draws its members from that block's
users only (department-sized groups: the first group of a block holds every user
of the block, the next half of them, then a third...). A block is therefore
self-contained: whoever provisions it creates its users, then its groups, then
the memberships, knowing every target id it needs. Blocks are the unit of
sharding (``coordination.py``): no user or group is ever sent by two Locust users.

Each block is also a reporting line: its first user heads it, and user ``k`` of
the block (``k`` > 0) reports to user ``(k - 1) // 10`` of the same block, a tree
of fan-out ten. Managers therefore never cross blocks either, and whoever
provisions a block can send Entra's manager references (a PATCH once both users
exist) without waiting for anyone else.

Objects carry Graph's property names (``userPrincipalName``, ``jobTitle``,
``officeLocation``, ``businessPhones``...), so the provisioning client's own
mappings read them exactly as they read the tenant model's users.
"""

from __future__ import annotations

import hashlib
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

GIVEN_NAMES = ("Ava", "Noah", "Emma", "Liam", "Mila", "Lucas", "Sophie", "Daan", "Julia", "Sem", "Louise", "Hugo",
               "Chloe", "Jules", "Lena", "Felix", "Marie", "Paul", "Lucia", "Mateo", "Sofia", "Hugo", "Olivia",
               "Ethan", "Zoe", "Finn", "Anna", "Leon", "Clara", "Jonas", "Elena", "Pablo")
SURNAMES = ("Smith", "Johnson", "de Vries", "Jansen", "Martin", "Bernard", "Muller", "Schmidt", "Garcia", "Lopez",
            "Brown", "Davis", "Bakker", "Visser", "Dubois", "Moreau", "Weber", "Fischer", "Martinez", "Sanchez",
            "Wilson", "Taylor", "Mulder", "Smit", "Laurent", "Simon", "Wagner", "Becker", "Gomez", "Diaz",
            "Clark", "Lewis")
DEPARTMENTS = ("Sales", "Engineering", "Finance", "Marketing", "Support", "Operations", "Legal", "People",
               "Research", "Procurement")
TITLES = ("Account Executive", "Software Engineer", "Analyst", "Designer", "Support Specialist", "Consultant",
          "Project Manager", "Accountant", "Researcher", "Coordinator", "Team Lead", "Architect")
GROUP_KINDS = ("All", "Course", "Project", "Community", "Onboarding", "Certification")
#: (preferredLanguage, country, usageLocation, offices)
LOCALES = (("en-US", "United States", "US", ("Seattle", "New York", "Austin")),
           ("nl-NL", "Netherlands", "NL", ("Amsterdam", "Utrecht")),
           ("fr-FR", "France", "FR", ("Paris", "Lyon")),
           ("de-DE", "Germany", "DE", ("Berlin", "Munich")),
           ("es-ES", "Spain", "ES", ("Madrid", "Barcelona")))

MAX_USERS = 10_000_000
#: direct reports of a manager in a block's reporting tree
MANAGER_FAN_OUT = 10


def _digest(seed: int, kind: str, index: int) -> bytes:
    return hashlib.blake2b(f"{seed}:{kind}:{index}".encode(), digest_size=16).digest()


def _guid(digest: bytes) -> str:
    return str(uuid.UUID(bytes=digest, version=4))


def _ascii(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


@dataclass(slots=True)
class GeneratedUser:
    """A directory user with Graph's property names (what ``SourceObject.for_user`` reads)."""

    index: int
    id: str
    userPrincipalName: str
    displayName: str
    givenName: str
    surname: str
    mail: str
    mailNickname: str
    jobTitle: str
    department: str
    companyName: str
    employeeId: str
    preferredLanguage: str
    country: str
    usageLocation: str
    city: str
    officeLocation: str
    businessPhones: list[str]
    mobilePhone: str
    accountEnabled: bool = True
    managerId: str | None = None
    userType: str = "Member"

    def graph(self) -> dict[str, Any]:
        """The user as Graph v1.0 returns it (the default-ish property set)."""
        return {name: getattr(self, name) for name in (
            "id", "userPrincipalName", "displayName", "givenName", "surname", "mail", "jobTitle", "department",
            "companyName", "employeeId", "preferredLanguage", "country", "usageLocation", "city",
            "officeLocation", "businessPhones", "mobilePhone", "accountEnabled")}


@dataclass(slots=True)
class GeneratedGroup:
    """A security group with Graph's property names; ``members`` holds member object ids (users of its block)."""

    index: int
    id: str
    displayName: str
    description: str
    mailNickname: str
    member_indexes: tuple[int, ...]
    members: list[str] = field(default_factory=list)
    mailEnabled: bool = False
    securityEnabled: bool = True
    mail: str | None = None


@dataclass(frozen=True)
class DirectorySpec:
    """How big the directory is and how it is generated: the same spec gives the same directory everywhere."""

    users: int
    groups: int
    seed: int = 0
    block_size: int = 100

    def __post_init__(self) -> None:
        if not 1 <= self.users <= MAX_USERS:
            raise ValueError(f"users must be between 1 and {MAX_USERS:,}, got {self.users}")
        if self.groups < 0:
            raise ValueError(f"groups must be 0 or more, got {self.groups}")
        if self.block_size < 1:
            raise ValueError(f"block size must be at least 1, got {self.block_size}")

    @property
    def blocks(self) -> int:
        return math.ceil(self.users / self.block_size)

    @property
    def domain(self) -> str:
        return f"load{self.seed}.example.com"


class Directory:
    """The objects of a ``DirectorySpec``, produced on demand (nothing is kept but the spec)."""

    def __init__(self, spec: DirectorySpec):
        self.spec = spec

    # -- blocks
    def block_user_range(self, block: int) -> range:
        size = self.spec.block_size
        return range(block * size, min((block + 1) * size, self.spec.users))

    def block_group_range(self, block: int) -> range:
        return range(block, self.spec.groups, self.spec.blocks)

    def block_of_user(self, index: int) -> int:
        return index // self.spec.block_size

    def block_of_group(self, index: int) -> int:
        return index % self.spec.blocks

    # -- reporting lines
    def manager_index(self, index: int) -> int | None:
        """The index of user ``index``'s manager (same block), None for the head of a block."""
        start = self.block_of_user(index) * self.spec.block_size
        offset = index - start
        return None if offset == 0 else start + (offset - 1) // MANAGER_FAN_OUT

    def managers(self) -> int:
        """Manager references in the directory: every user but the head of each block has one."""
        return self.spec.users - self.spec.blocks

    # -- users
    def user(self, index: int, version: int = 0, enabled: bool = True) -> GeneratedUser:
        """User ``index``; ``version`` > 0 is the same person after ``version`` HR changes (title, office, phone)."""
        if not 0 <= index < self.spec.users:
            raise IndexError(f"user {index} is outside 0..{self.spec.users - 1}")
        d = _digest(self.spec.seed, "user", index)
        given = GIVEN_NAMES[d[0] % len(GIVEN_NAMES)]
        surname = SURNAMES[d[1] % len(SURNAMES)]
        language, country, usage, offices = LOCALES[d[2] % len(LOCALES)]
        nickname = f"{_ascii(given)}.{_ascii(surname)}.{index}"
        upn = f"{nickname}@{self.spec.domain}"
        department = DEPARTMENTS[self.block_of_user(index) % len(DEPARTMENTS)]
        manager = self.manager_index(index)
        return GeneratedUser(
            index=index, id=_guid(d), userPrincipalName=upn, displayName=f"{given} {surname}", givenName=given,
            surname=surname, mail=upn, mailNickname=nickname,
            jobTitle=TITLES[(d[3] + version) % len(TITLES)], department=department,
            companyName=f"Load Test {country}", employeeId=f"E{index:08d}", preferredLanguage=language,
            country=country, usageLocation=usage, city=offices[(d[4] + version) % len(offices)],
            officeLocation=f"{offices[(d[4] + version) % len(offices)]} {1 + (d[5] + version) % 9}",
            businessPhones=[f"+1 425 555 {(index + version) % 10000:04d}"],
            mobilePhone=f"+1 206 555 {(d[6] * 37 + index + version) % 10000:04d}", accountEnabled=enabled,
            managerId=None if manager is None else _guid(_digest(self.spec.seed, "user", manager)))

    def users_of_block(self, block: int) -> Iterator[GeneratedUser]:
        for index in self.block_user_range(block):
            yield self.user(index)

    # -- groups
    def group_size(self, index: int) -> int:
        """Members of group ``index``: the block's users divided by the group's rank in its block (Zipf-like)."""
        block = self.block_of_group(index)
        rank = index // self.spec.blocks
        return max(1, math.ceil(len(self.block_user_range(block)) / (rank + 1)))

    def group(self, index: int) -> GeneratedGroup:
        if not 0 <= index < self.spec.groups:
            raise IndexError(f"group {index} is outside 0..{self.spec.groups - 1}")
        d = _digest(self.spec.seed, "group", index)
        block = self.block_of_group(index)
        rank = index // self.spec.blocks
        department = DEPARTMENTS[block % len(DEPARTMENTS)]
        kind = GROUP_KINDS[rank % len(GROUP_KINDS)] if rank else "All"
        users = self.block_user_range(block)
        size = self.group_size(index)
        if size == len(users):
            picked = tuple(users)
        else:
            rng = random.Random(f"{self.spec.seed}:members:{index}")
            picked = tuple(sorted(users.start + offset for offset in rng.sample(range(len(users)), size)))
        group = GeneratedGroup(index=index, id=_guid(d), displayName=f"{department} {kind} {index:07d}-{self.spec.seed}",
                               description=f"{kind} group of block {block}", mailNickname=f"grp{index:07d}s{self.spec.seed}",
                               member_indexes=picked)
        group.members = [_guid(_digest(self.spec.seed, "user", member)) for member in picked]
        return group

    def groups_of_block(self, block: int) -> Iterator[GeneratedGroup]:
        for index in self.block_group_range(block):
            yield self.group(index)

    def memberships(self) -> int:
        """Total (group, member) pairs, computed from the sizes alone."""
        return sum(self.group_size(index) for index in range(self.spec.groups))

    def sample_users(self, count: int) -> list[int]:
        """``count`` user indexes spread over the directory, the same for a given seed."""
        count = min(count, self.spec.users)
        return sorted(random.Random(f"{self.spec.seed}:sample:users").sample(range(self.spec.users), count))

    def sample_groups(self, count: int) -> list[int]:
        count = min(count, self.spec.groups)
        return sorted(random.Random(f"{self.spec.seed}:sample:groups").sample(range(self.spec.groups), count))
