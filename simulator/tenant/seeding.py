"""Deterministic tenant seeding: a realistic directory from a seed, fast enough for a million users.

What a seeded tenant looks like (all of it reproducible from ``SeedSpec``):

- members in five locales (en-US, nl-NL, fr-FR, de-DE, es-ES) whose
  ``preferredLanguage``, ``country``, ``usageLocation``, ``companyName`` (the
  national subsidiary) and ``officeLocation`` agree with each other;
- a manager tree: one CEO, a head per department reporting to the CEO, and inside
  each department every manager has at most ``manager_span`` direct reports; job
  titles follow the position (head, director, manager, individual contributor);
- optional B2B guests (``#EXT#`` userPrincipalNames, ``userType`` Guest, the
  partner company as ``companyName``), a share of disabled accounts, duplicate
  emails and duplicate group display names on demand;
- groups: one "All <department>" group per department (when there are enough
  groups), then course, project and community groups whose sizes follow a Zipf
  law (a few very large groups, many small ones), some nested in larger ones
  (always from a bigger, earlier group to a later one, so nesting has no cycles);
- one app registration, "entrasim LMS connector", with admin consent and a
  secret, and a few groups assigned to its enterprise application so that
  provisioning has a scope.

The seeded state is the *baseline*: the change journal starts empty, so delta
queries and incremental provisioning cycles see only what happens afterwards.

Why it is built the way it is: calling Faker for each of a million users takes
minutes. Faker runs once per locale to fill pools of names and partner companies
(cached per seed); users are then drawn from the pools with ``random.Random``,
and the strings every user shares (departments, countries, titles, offices) are
the same objects, so a million users cost about one kilobyte each. Users and
groups go into the tenant through ``Tenant.bulk_load_users`` / ``bulk_load_groups``,
which skip the journal and the per-call checks ``create_user`` needs for
arbitrary input.

Determinism: the same spec gives the same snapshot byte for byte on the same
Python and Faker versions (ids come from the tenant's seeded generator, times
from a frozen clock). A different Faker release may change the name pools.
"""

from __future__ import annotations

import functools
import gc
import math
import random
import re
import unicodedata
from array import array
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

from ..clock import Clock, parse_iso
from .journal import ChangeJournal
from .model import DEFAULT_PERMISSIONS, Group, Tenant, User, _nickname, guest_upn

CONNECTOR_APP_NAME = "entrasim LMS connector"


@dataclass(frozen=True, slots=True)
class LocaleProfile:
    """One country the company operates in: language, Faker locale, subsidiary and offices."""

    tag: str  # preferredLanguage
    faker: str
    country: str  # Graph's free-text country
    usage_location: str  # ISO 3166 two-letter code
    company_pattern: str  # national subsidiary, "{name}" is the tenant's display name
    weight: int
    offices: tuple[str, ...]
    free_mail: tuple[str, ...]
    tld: str


LOCALES: tuple[LocaleProfile, ...] = (
    LocaleProfile("en-US", "en_US", "United States", "US", "{name}, Inc.", 45,
                  ("Seattle", "New York", "Chicago", "Austin"), ("gmail.com", "outlook.com", "yahoo.com"), "com"),
    LocaleProfile("nl-NL", "nl_NL", "Netherlands", "NL", "{name} Nederland B.V.", 12,
                  ("Amsterdam", "Utrecht", "Eindhoven"), ("gmail.com", "hotmail.nl", "ziggo.nl"), "nl"),
    LocaleProfile("fr-FR", "fr_FR", "France", "FR", "{name} France SAS", 14,
                  ("Paris", "Lyon", "Toulouse"), ("gmail.com", "orange.fr", "free.fr"), "fr"),
    LocaleProfile("de-DE", "de_DE", "Germany", "DE", "{name} Deutschland GmbH", 17,
                  ("Berlin", "München", "Hamburg", "Frankfurt am Main"), ("gmail.com", "web.de", "gmx.de"), "de"),
    LocaleProfile("es-ES", "es_ES", "Spain", "ES", "{name} España S.L.", 12,
                  ("Madrid", "Barcelona", "Valencia"), ("gmail.com", "hotmail.es", "yahoo.es"), "es"),
)

#: (department, relative size, titles of its individual contributors)
DEPARTMENTS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("Engineering", 20, ("Software Engineer", "Senior Software Engineer", "Principal Engineer", "QA Engineer",
                         "DevOps Engineer", "Data Engineer", "Site Reliability Engineer")),
    ("Sales", 14, ("Account Executive", "Senior Account Executive", "Sales Representative",
                   "Sales Development Representative", "Key Account Manager")),
    ("Customer Support", 12, ("Support Specialist", "Technical Support Engineer", "Customer Success Manager", "Support Agent")),
    ("Operations", 9, ("Operations Analyst", "Operations Specialist", "Logistics Coordinator", "Supply Chain Planner")),
    ("Marketing", 7, ("Marketing Specialist", "Content Strategist", "Digital Marketing Analyst", "Brand Manager",
                      "Product Marketing Manager")),
    ("Research and Development", 6, ("Research Scientist", "Research Engineer", "Data Scientist", "Lab Technician")),
    ("Information Technology", 6, ("IT Support Technician", "Systems Administrator", "Network Engineer",
                                   "Identity Engineer", "Security Analyst")),
    ("Finance", 5, ("Financial Analyst", "Accountant", "Controller", "Payroll Specialist", "Accounts Payable Clerk")),
    ("Product Management", 4, ("Product Manager", "Senior Product Manager", "Product Owner", "UX Designer")),
    ("Human Resources", 4, ("HR Business Partner", "Recruiter", "HR Generalist", "Compensation Analyst")),
    ("Learning and Development", 3, ("Instructional Designer", "Learning Specialist", "Training Coordinator",
                                     "LMS Administrator")),
    ("Facilities", 3, ("Facilities Coordinator", "Office Manager", "Maintenance Technician")),
    ("Procurement", 2, ("Buyer", "Procurement Specialist", "Vendor Manager")),
    ("Legal", 2, ("Legal Counsel", "Paralegal", "Compliance Officer")),
    ("Communications", 2, ("Communications Specialist", "Internal Communications Manager", "Public Relations Officer")),
)
CEO_TITLE = "Chief Executive Officer"
CEO_DEPARTMENT = "Executive Office"

COURSE_TOPICS = (
    "Information Security Awareness", "Data Privacy Essentials", "Code of Conduct", "Anti-Bribery and Corruption",
    "Workplace Safety", "Diversity and Inclusion", "Leadership Foundations", "Coaching for Managers",
    "Effective Feedback", "Project Management Basics", "Agile Fundamentals", "Scrum in Practice",
    "Python for Analysts", "SQL Fundamentals", "Cloud Foundations", "Kubernetes Essentials", "Secure Coding",
    "Negotiation Skills", "Presentation Skills", "Time Management", "Customer Empathy", "Financial Literacy",
    "Excel for Finance", "GDPR for Practitioners", "Accessibility Basics", "Design Thinking", "Business Writing",
    "Conflict Resolution", "Onboarding", "First-Line Support", "Sales Methodology", "Product Discovery",
    "Data Visualization", "Machine Learning Primer", "Incident Response", "Export Control", "First Aid",
    "Sustainability at Work", "Remote Collaboration", "Mentoring Program",
)
COURSE_VARIANTS = ("", " (Advanced)", " (Refresher)", " - Cohort {year}A", " - Cohort {year}B", " - Self-Paced")
CODENAME_ADJECTIVES = (
    "Amber", "Arctic", "Blue", "Bold", "Bright", "Cobalt", "Copper", "Crimson", "Golden", "Granite", "Green",
    "Hidden", "Iron", "Jade", "Lunar", "Mighty", "Nimble", "Northern", "Quiet", "Rapid", "Red", "Silent",
    "Silver", "Solar", "Steady", "Swift", "Velvet", "Wild", "Winter", "Young",
)
CODENAME_NOUNS = (
    "Falcon", "Phoenix", "Atlas", "Orion", "Harbor", "Summit", "Beacon", "Comet", "Delta", "Ember", "Forge",
    "Glacier", "Horizon", "Lantern", "Maple", "Meadow", "Nova", "Otter", "Pioneer", "Quartz", "Raven",
    "Sparrow", "Tiger", "Voyager", "Willow", "Zephyr", "Canyon", "Badger", "Heron", "Lynx",
)
COMMUNITIES = (
    "Python Guild", "Women in Tech", "Green Office", "Running Club", "Toastmasters", "Pride Network",
    "Young Professionals", "Accessibility Champions", "Security Champions", "Data Community", "Book Club",
    "Photography Club", "Volunteering Network", "Parents Network", "Cycling Club", "Chess Club",
    "Innovation Lab", "Mentors Circle", "Wellbeing Ambassadors", "Architecture Forum",
)
#: words that say nothing about a company's name, left out of a partner's mail domain.
_LEGAL_WORDS = frozenset({
    "and", "und", "et", "y", "en", "of", "the", "de", "van", "der", "den", "la", "le", "les", "del", "e",
    "inc", "llc", "ltd", "plc", "group", "groep", "gmbh", "ag", "kg", "kgaa", "ohg", "ev", "mbh", "co",
    "bv", "nv", "vof", "sa", "sas", "sarl", "sl", "slne", "sll", "scp", "sc", "sau", "sca", "snc", "sa",
    "asociados", "hermanos", "fils", "cie", "partner", "partners", "holding",
})

_SEED_NAMESPACE = "entrasim-seeding"
_OTHER_MAILS_SHARE = 0.08
_CHUNK = 8192


@dataclass(slots=True)
class SeedSpec:
    """What to seed. Every field has a realistic default; ``validate`` explains a bad value in one line."""

    users: int = 100
    groups: int = 10
    seed: int = 7
    disabled_share: float = 0.05
    duplicate_group_names: int = 0
    duplicate_emails: int = 0
    #: B2B guests, counted in ``users`` (the last ones created).
    guests: int = 0
    domain: str = "contoso.onmicrosoft.com"
    display_name: str = "Contoso"
    #: mean number of groups a user is a direct member of (the department group included).
    groups_per_user: float = 3.0
    #: skew of group sizes: the k-th largest group gets a share proportional to 1 / k**zipf_exponent.
    zipf_exponent: float = 1.0
    #: share of course/project/community groups nested in a larger group.
    nesting_share: float = 0.05
    #: most direct reports a manager has.
    manager_span: int = 7
    #: groups assigned to the connector's enterprise application.
    assigned_groups: int = 3
    #: the simulated "now" once seeding is done (the clock stays frozen there).
    start: str = "2026-01-01T00:00:00Z"
    #: users and groups were created over this many days before ``start``.
    history_days: int = 1825

    def validate(self) -> None:
        """Raise ValueError with a one-line message naming the first bad field."""
        for name in ("users", "groups", "duplicate_group_names", "duplicate_emails", "guests", "assigned_groups"):
            _check_int(name, getattr(self, name), minimum=0)
        _check_int("seed", self.seed)
        _check_int("manager_span", self.manager_span, minimum=1)
        _check_int("history_days", self.history_days, minimum=1)
        for name in ("disabled_share", "nesting_share"):
            _check_share(name, getattr(self, name))
        _check_number("groups_per_user", self.groups_per_user, minimum=0.0)
        _check_number("zipf_exponent", self.zipf_exponent, minimum=0.0)
        if self.guests and self.guests >= self.users:
            raise ValueError(f"guests must be fewer than users (the tenant needs at least one member): "
                             f"got {self.guests} guests for {self.users} users")
        if self.duplicate_emails and self.duplicate_emails >= self.users:
            raise ValueError(f"duplicate_emails must be fewer than users (each copies another user's mail): "
                             f"got {self.duplicate_emails} for {self.users} users")
        if self.duplicate_group_names and self.duplicate_group_names >= self.groups:
            raise ValueError(f"duplicate_group_names must be fewer than groups (each reuses another group's name): "
                             f"got {self.duplicate_group_names} for {self.groups} groups")
        if not isinstance(self.domain, str) or not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", self.domain):
            raise ValueError(f"domain must be a DNS name such as contoso.onmicrosoft.com, got {self.domain!r}")
        if not isinstance(self.display_name, str) or not self.display_name.strip():
            raise ValueError("display_name must be a non-empty string")
        try:
            parse_iso(self.start)
        except (TypeError, ValueError, AttributeError):
            raise ValueError(f"start must be an ISO 8601 time such as 2026-01-01T00:00:00Z, got {self.start!r}") from None


def _check_int(name: str, value: object, minimum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


def _check_number(name: str, value: object, minimum: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


def _check_share(name: str, value: object) -> None:
    _check_number(name, value, minimum=0.0)
    if value > 1:  # type: ignore[operator]
        raise ValueError(f"{name} must be between 0 and 1, got {value}")


# ----------------------------------------------------------------------- pools
@dataclass(frozen=True, slots=True)
class _Pools:
    """Names drawn once from Faker. Each pool entry is (name as written, index of its ASCII slug)."""

    given: tuple[tuple[tuple[str, int], ...], ...]  # per locale
    family: tuple[tuple[tuple[str, int], ...], ...]
    given_slugs: tuple[str, ...]
    family_slugs: tuple[str, ...]
    partners: tuple[tuple[tuple[str, str], ...], ...]  # per locale: (company, mail domain)


_TRANSLITERATE = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "œ": "oe", "Œ": "oe",
                                "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ı": "i", "þ": "th"})


def slug(text: str) -> str:
    """Lowercase ASCII letters and digits only: ``"van 't Wel"`` -> ``"vantwel"``, ``"Jürgen"`` -> ``"jurgen"``."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE)).lower()
    return "".join(ch for ch in decomposed if "a" <= ch <= "z" or "0" <= ch <= "9")


@functools.lru_cache(maxsize=8)
def _pools(seed: int) -> _Pools:
    """Fill the name pools with Faker, once per seed and process.

    Draws keep Faker's own frequencies (common names appear several times in a
    pool), and names that would give the same ASCII slug share one slug index, so
    userPrincipalName collisions are found by slug.
    """
    from faker import Faker

    given_index: dict[str, int] = {}
    family_index: dict[str, int] = {}
    given_pools, family_pools, partner_pools = [], [], []

    def entries(names: list[str], index: dict[str, int]) -> tuple[tuple[str, int], ...]:
        out = []
        for name in names:
            key = slug(name)
            if key:
                out.append((name, index.setdefault(key, len(index))))
        return tuple(out)

    for profile in LOCALES:
        fake = Faker(profile.faker)
        fake.seed_instance(f"{_SEED_NAMESPACE}:{seed}:{profile.faker}")
        given_pools.append(entries([fake.first_name() for _ in range(1200)], given_index))
        family_pools.append(entries([fake.last_name() for _ in range(1200)], family_index))
        partners: dict[str, str] = {}
        for _ in range(60):
            company = fake.company()
            words = [w for w in (slug(part) for part in re.split(r"[\s,&.\-']+", company)) if w and w not in _LEGAL_WORDS]
            if words:
                partners.setdefault(f"{'-'.join(words[:2])}.{profile.tld}", company)
        partner_pools.append(tuple((company, domain) for domain, company in partners.items()))
    return _Pools(tuple(given_pools), tuple(family_pools), tuple(given_index), tuple(family_index), tuple(partner_pools))


# -------------------------------------------------------------------- helpers
_VARIANT = "89ab" * 4  # the RFC 4122 variant bits forced into the 17th hex digit


def guid_batch(getrandbits: Callable[[int], int], count: int) -> list[str]:
    """``count`` GUIDs, the very ones ``count`` calls of ``Tenant.new_id`` would return, without uuid.UUID's per-id cost.

    ``getrandbits(128 * count)`` consumes the generator exactly like ``count`` calls
    of ``getrandbits(128)`` (CPython fills the result from the least significant
    32-bit word up), so the i-th 128-bit slice from the right is the i-th id's bits;
    the version-4 and variant digits are then set as ``uuid.UUID(version=4)`` does.
    """
    if count <= 0:
        return []
    digits = 32 * count
    text = format(getrandbits(128 * count), f"0{digits}x")
    variant = _VARIANT
    out = []
    append = out.append
    for end in range(digits, 0, -32):
        h = text[end - 32:end]
        append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant[int(h[16], 16)]}{h[17:20]}-{h[20:]}")
    return out


#: User's fields in declaration order, up to the last one the seeder sets. Users are built with positional
#: arguments because keyword matching over twenty-odd parameters costs about two microseconds per user.
_USER_POSITIONAL = ("id", "userPrincipalName", "displayName", "mail", "otherMails", "givenName", "surname", "jobTitle",
                    "department", "companyName", "employeeId", "officeLocation", "preferredLanguage", "country",
                    "usageLocation", "mailNickname", "mobilePhone", "businessPhones", "userType", "accountEnabled",
                    "managerId", "createdDateTime")
if tuple(f.name for f in fields(User))[:len(_USER_POSITIONAL)] != _USER_POSITIONAL:  # pragma: no cover - guards edits
    raise ImportError("simulator.tenant.model.User's fields changed order; update seeding._USER_POSITIONAL "
                      "and the positional User(...) calls in seeding.py")


class _Progress:
    """A rich progress bar on stderr (users, groups, memberships), or nothing when disabled."""

    def __init__(self, enabled: bool, totals: dict[str, int]):
        self._bar = None
        self._tasks: dict[str, int] = {}
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("seeding {task.description:<11}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(stderr=True))
            self._tasks = {name: self._bar.add_task(name, total=total) for name, total in totals.items()}

    def __enter__(self) -> "_Progress":
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, name: str, amount: int) -> None:
        if self._bar is not None and amount:
            self._bar.advance(self._tasks[name], amount)


# -------------------------------------------------------------------- seeding
def seed_tenant(spec: SeedSpec | None = None, progress: bool = False) -> Tenant:
    """Build the tenant ``spec`` describes. Raises ValueError when the spec is invalid."""
    spec = spec or SeedSpec()
    spec.validate()
    # A million new container objects would trigger many full garbage collections that find nothing to free.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _seed(spec, progress)
    finally:
        if collecting:
            gc.enable()


def _seed(spec: SeedSpec, progress: bool) -> Tenant:
    start = parse_iso(spec.start)
    epoch = start - timedelta(days=spec.history_days)
    tenant = Tenant(display_name=spec.display_name, domain=spec.domain, clock=Clock.frozen_at(epoch), seed=spec.seed)
    rng = random.Random(f"{_SEED_NAMESPACE}:{spec.seed}")
    plan = _GroupPlan(spec, rng)
    with _Progress(progress, {"users": spec.users, "groups": spec.groups, "memberships": plan.total_memberships}) as bar:
        ids, department_members = _seed_users(spec, tenant, rng, epoch, bar.advance)
        group_ids = _seed_groups(spec, tenant, rng, plan, ids, department_members, epoch, bar.advance)
    _register_connector(spec, tenant, rng, group_ids[plan.department_groups:] or group_ids, start)
    tenant.journal = ChangeJournal()  # the seeded directory is the baseline, not a history of changes
    return tenant


def _seed_users(spec: SeedSpec, tenant: Tenant, rng: random.Random, epoch: datetime,
                advance: Callable[[str, int], None]) -> tuple[list[str], list[array]]:
    """Create every user; return their ids in creation order and each department's member indices."""
    pools = _pools(spec.seed)
    n_users, n_members = spec.users, spec.users - spec.guests
    span = spec.manager_span
    rnd, getbits = rng.random, tenant._rng.getrandbits
    at_domain = "@" + spec.domain
    given_slugs, family_slugs = pools.given_slugs, pools.family_slugs
    n_family = len(family_slugs)
    taken = array("I", bytes(4 * len(given_slugs) * n_family))  # uses of each (given, family) slug pair
    from_ts, utc = datetime.fromtimestamp, timezone.utc
    t0 = epoch.timestamp()
    step = spec.history_days * 86400 / max(n_users, 1)

    locale_of = _draws(rng, [p.weight for p in LOCALES], n_users)
    # Per locale, built once: every user of the locale shares these objects. Lengths are stored beside
    # their sequences because this loop runs a million times.
    locales = []
    for i, profile in enumerate(LOCALES):
        offices = tuple(f"{city}, Building {b}" for city in profile.offices for b in (1, 2, 3))
        partners = pools.partners[i] or ((f"{spec.display_name} Partner", "partner.example"),)
        locales.append((pools.given[i], len(pools.given[i]), pools.family[i], len(pools.family[i]),
                        profile.tag, profile.country, profile.usage_location,
                        profile.company_pattern.format(name=spec.display_name), offices, len(offices),
                        profile.free_mail, partners))
    department_of = _draws(rng, [d[1] for d in DEPARTMENTS], max(n_members - 1, 0))
    sizes = [0] * len(DEPARTMENTS)
    for d in department_of:
        sizes[d] += 1
    names = [d[0] for d in DEPARTMENTS]
    heads = [f"Vice President, {d}" for d in names]
    directors = [f"Director, {d}" for d in names]
    managers = [f"{d} Manager" for d in names]
    titles = [(d[2], len(d[2])) for d in DEPARTMENTS]
    position = [0] * len(DEPARTMENTS)
    department_members = [array("l") for _ in DEPARTMENTS]
    duplicate_of = _duplicate_email_sources(spec, rng)

    ids: list[str] = []
    users_by_id = tenant.users
    ceo_id: str | None = None
    disabled_share = spec.disabled_share
    domain = spec.domain
    for chunk_start in range(0, n_users, _CHUNK):
        chunk_ids = guid_batch(getbits, min(_CHUNK, n_users - chunk_start))
        chunk: list[User] = []
        for i, uid in enumerate(chunk_ids, chunk_start):
            (given, n_given, family, n_family_pool, tag, country, usage_location, company, offices, n_offices,
             free_mail, partners) = locales[locale_of[i]]
            first, fi = given[int(rnd() * n_given)]
            last, li = family[int(rnd() * n_family_pool)]
            pair = fi * n_family + li
            count = taken[pair]
            taken[pair] = count + 1
            local = f"{given_slugs[fi]}.{family_slugs[li]}{count + 1}" if count else f"{given_slugs[fi]}.{family_slugs[li]}"
            enabled = rnd() >= disabled_share or i == 0
            created = from_ts(t0 + int((i + rnd()) * step), utc)
            if i < n_members:
                upn = local + at_domain
                if i:
                    d = department_of[i - 1]
                    k = position[d]
                    position[d] = k + 1
                    members = department_members[d]
                    members.append(i)
                    department = names[d]
                    if k:
                        manager_id = ids[members[(k - 1) // span]]  # a department is a heap: k reports to (k-1)//span
                        if span * k + 1 < sizes[d]:
                            title = directors[d] if k <= span else managers[d]
                        else:
                            options, n_options = titles[d]
                            title = options[int(rnd() * n_options)]
                    else:
                        title, manager_id = heads[d], ceo_id
                else:
                    department, title, manager_id = CEO_DEPARTMENT, CEO_TITLE, None
                    ceo_id = uid
                if rnd() < _OTHER_MAILS_SHARE:
                    other = [f"{local}{int(rnd() * 90) + 10}@{free_mail[int(rnd() * len(free_mail))]}"]
                else:
                    other = []
                user = User(uid, upn, f"{first} {last}", upn, other, first, last, title, department, company,
                            str(100000 + i), offices[int(rnd() * n_offices)], tag, country, usage_location, local,
                            None, [], "Member", enabled, manager_id, created)
            else:
                partner, partner_domain = partners[int(rnd() * len(partners))]
                email = f"{local}@{partner_domain}"
                user = User(uid, guest_upn(email, domain), f"{first} {last}", email, [email], first, last, None, None,
                            partner, None, None, None, None, None, email.replace("@", "_") + "#EXT#", None, [],
                            "Guest", enabled, None, created)
            if duplicate_of:
                source = duplicate_of.get(i)
                if source is not None:
                    user.mail = _mail_of(source, ids, chunk, users_by_id)
            ids.append(uid)
            chunk.append(user)
        tenant.bulk_load_users(chunk)
        advance("users", len(chunk))
    return ids, department_members


def _mail_of(index: int, ids: list[str], chunk: list[User], users_by_id: dict[str, User]) -> str | None:
    """The mail of the user created ``index``-th, whether already loaded or still in the current chunk."""
    loaded = len(ids) - len(chunk)
    user = chunk[index - loaded] if index >= loaded else users_by_id[ids[index]]
    return user.mail


def _duplicate_email_sources(spec: SeedSpec, rng: random.Random) -> dict[int, int]:
    """user index -> index of an earlier user whose mail it repeats."""
    if not spec.duplicate_emails:
        return {}
    targets = sorted(rng.sample(range(1, spec.users), spec.duplicate_emails))
    return {t: rng.randrange(t) for t in targets}


def _draws(rng: random.Random, weights: list[int], count: int) -> list[int]:
    """``count`` indices drawn with integer ``weights``: a lookup table is four times cheaper than ``rng.choices``."""
    table = [index for index, weight in enumerate(weights) for _ in range(weight)]
    size, rnd = len(table), rng.random
    return [table[int(rnd() * size)] for _ in range(count)]


class _GroupPlan:
    """How many groups of which kind, and how many members each gets (known before users exist)."""

    def __init__(self, spec: SeedSpec, rng: random.Random):
        members = spec.users - spec.guests
        self.department_groups = len(DEPARTMENTS) if spec.groups >= 2 * len(DEPARTMENTS) and members > 1 else 0
        self.other_groups = spec.groups - self.department_groups
        department_memberships = max(members - 1, 0) if self.department_groups else 0
        budget = max(0, round(spec.groups_per_user * spec.users) - department_memberships)
        weights = [1.0 / (k + 1) ** spec.zipf_exponent for k in range(self.other_groups)]
        total_weight = sum(weights) or 1.0
        self.sizes = [min(spec.users, max(1, round(budget * w / total_weight))) if spec.users else 0 for w in weights]
        self.nested = round(spec.nesting_share * self.other_groups) if self.other_groups > 1 else 0
        self.nested = min(self.nested, self.other_groups - 1) if self.nested else 0
        self.total_memberships = department_memberships + sum(self.sizes) + self.nested


def _seed_groups(spec: SeedSpec, tenant: Tenant, rng: random.Random, plan: _GroupPlan, ids: list[str],
                 department_members: list[array], epoch: datetime, advance: Callable[[str, int], None]) -> list[str]:
    """Create department, course, project and community groups with their members; return group ids in order."""
    new_id = tenant.new_id
    step = spec.history_days * 86400 / max(spec.groups, 1)
    t0 = epoch.timestamp()
    used_names: set[str] = set()
    groups: list[Group] = []
    year = parse_iso(spec.start).year % 100

    def created(index: int) -> datetime:
        return datetime.fromtimestamp(t0 + int(index * step + rng.random() * step), timezone.utc)

    for d in range(plan.department_groups):
        name = f"All {DEPARTMENTS[d][0]}"
        used_names.add(name)
        members = dict.fromkeys(ids[i] for i in department_members[d])
        groups.append(Group(id=new_id(), displayName=name,
                            description=f"Everyone in the {DEPARTMENTS[d][0]} department",
                            mailNickname=_nickname(name), createdDateTime=created(len(groups)), members=members))
        advance("memberships", len(members))
        advance("groups", 1)

    n_users = spec.users
    for k in range(plan.other_groups):
        kind = rng.random()
        if kind < 0.5:
            topic = COURSE_TOPICS[rng.randrange(len(COURSE_TOPICS))]
            variant = COURSE_VARIANTS[rng.randrange(len(COURSE_VARIANTS))].format(year=year)
            name, description, unified = f"Course: {topic}{variant}", f"Learners enrolled in {topic}{variant}", False
        elif kind < 0.8:
            codename = f"{CODENAME_ADJECTIVES[rng.randrange(len(CODENAME_ADJECTIVES))]} " \
                       f"{CODENAME_NOUNS[rng.randrange(len(CODENAME_NOUNS))]}"
            name, description, unified = f"Project {codename}", f"Project team for {codename}", True
        else:
            community = COMMUNITIES[rng.randrange(len(COMMUNITIES))]
            name, description, unified = community, f"Members of the {community}", False
        name = _unique(name, used_names)
        nickname = _nickname(name)
        size = plan.sizes[k]
        members = dict.fromkeys(map(ids.__getitem__, _sample_indices(rng, n_users, size))) if size else {}
        groups.append(Group(
            id=new_id(), displayName=name, description=description, mailNickname=nickname,
            mail=f"{nickname}@{spec.domain}" if unified else None, securityEnabled=not unified, mailEnabled=unified,
            groupTypes=["Unified"] if unified else [], createdDateTime=created(len(groups)), members=members,
        ))
        advance("memberships", size)
        advance("groups", 1)

    first_other = plan.department_groups
    if plan.nested:
        for child in sorted(rng.sample(range(first_other + 1, len(groups)), plan.nested)):
            parent = rng.randrange(first_other, child)  # an earlier, larger group: nesting never forms a cycle
            groups[parent].members[groups[child].id] = None
        advance("memberships", plan.nested)

    n_duplicates = spec.duplicate_group_names
    for index in range(len(groups) - n_duplicates, len(groups)):
        original = groups[rng.randrange(len(groups) - n_duplicates)]
        group = groups[index]
        group.displayName, group.description, group.mailNickname = original.displayName, original.description, original.mailNickname
        group.mail, group.mailEnabled, group.securityEnabled, group.groupTypes = None, False, True, []

    tenant.bulk_load_groups(groups)
    return [g.id for g in groups]


def _sample_indices(rng: random.Random, n: int, k: int) -> Iterable[int]:
    """``k`` distinct indices below ``n`` in random order; twice as fast as ``rng.sample`` for sparse draws.

    Draws with replacement and tops up until ``k`` are distinct: for k <= n / 2 that
    needs at most about 1.4 k draws, each a single C call.
    """
    if 2 * k > n:
        return rng.sample(range(n), k)
    rnd = rng.random
    chosen = dict.fromkeys([int(rnd() * n) for _ in range(k)])
    while len(chosen) < k:
        for index in [int(rnd() * n) for _ in range(k - len(chosen))]:
            chosen[index] = None
    return chosen


def _unique(name: str, used: set[str]) -> str:
    """``name``, or ``name 2``, ``name 3``... when it is taken (duplicates come only on demand)."""
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name} {n}"
    used.add(candidate)
    return candidate


def _register_connector(spec: SeedSpec, tenant: Tenant, rng: random.Random, candidates: list[str], start: datetime) -> None:
    """Register the LMS connector app a month before ``start`` and assign a few of ``candidates`` to it."""
    tenant.clock.set(start - timedelta(days=30))
    # Application.Read.All lets the same app read which users and groups are assigned to the
    # provisioning app (GET /servicePrincipals/{id}/appRoleAssignedTo), as a Graph-sourced job needs.
    tenant.register_application(CONNECTOR_APP_NAME, consent=True, secret=True,
                                permissions=(*DEFAULT_PERMISSIONS, "Application.Read.All"))
    chosen = sorted(rng.sample(range(len(candidates)), min(spec.assigned_groups, len(candidates))))
    for index in chosen:
        tenant.assign(candidates[index], app_role="User")
    tenant.clock.set(start)
