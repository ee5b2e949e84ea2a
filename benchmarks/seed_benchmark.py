"""Seeding benchmark: users per second and peak memory for a large seeded tenant.

Seeds N users (default 1,000,000) with N/100 groups through the real
``seed_tenant`` (Faker pools built cold, as ``entrasim seed`` does), then, in the
same process, times the floor of that work: constructing N ``User`` objects with
constant field values and keeping them in a list. The ratio says how much of
the seeder's time is spent beyond merely creating the objects it must create.

Targets (issue 2): at least 50,000 users/s and under 1.5 GiB peak RSS for
1,000,000 users with 10,000 groups.

    python benchmarks/seed_benchmark.py [--users N] [--groups M] [--seed S] [--json]

Not a test: the numbers depend on the machine and on what else runs on it, so
they are printed, never asserted. CPU time is printed beside wall time because a
shared machine stretches wall time.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulator.tenant.model import User  # noqa: E402
from simulator.tenant.seeding import SeedSpec, seed_tenant  # noqa: E402

USERS_PER_SECOND_TARGET = 50_000
PEAK_RSS_TARGET_GIB = 1.5


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def construct_plain_users(n: int) -> tuple[float, float]:
    """Wall and CPU seconds to build ``n`` Users with constant fields, kept alive like a directory keeps them."""
    created = datetime(2024, 1, 1, tzinfo=timezone.utc)
    collecting = gc.isenabled()
    gc.disable()  # the seeder runs with the collector off too
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        users = [User("00000000-0000-4000-8000-000000000000", "first.last@contoso.onmicrosoft.com", "First Last",
                      "first.last@contoso.onmicrosoft.com", [], "First", "Last", "Software Engineer", "Engineering",
                      "Contoso, Inc.", "100000", "Seattle, Building 1", "en-US", "United States", "US", "first.last",
                      None, [], "Member", True, None, created) for _ in range(n)]
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        del users
    finally:
        if collecting:
            gc.enable()
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, help="default: users / 100")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args()
    groups = args.groups if args.groups is not None else args.users // 100
    spec = SeedSpec(users=args.users, groups=groups, seed=args.seed)
    try:
        spec.validate()
    except ValueError as exc:
        parser.error(str(exc))

    wall, cpu = time.perf_counter(), time.process_time()
    tenant = seed_tenant(spec)
    seed_wall, seed_cpu = time.perf_counter() - wall, time.process_time() - cpu
    seed_peak = peak_rss_bytes()
    counts = tenant.counts()
    del tenant
    gc.collect()

    base_wall, base_cpu = construct_plain_users(args.users)
    n = max(args.users, 1)
    result = {
        "python": platform.python_version(),
        "users": counts["users"], "groups": counts["groups"], "memberships": counts["memberships"],
        "seed_seconds": round(seed_wall, 2), "seed_cpu_seconds": round(seed_cpu, 2),
        "users_per_second": round(n / seed_wall), "users_per_cpu_second": round(n / seed_cpu),
        "peak_rss_mib": round(seed_peak / 2**20),
        "baseline_seconds": round(base_wall, 2), "baseline_users_per_second": round(n / base_wall),
        "seed_vs_baseline": round(base_wall / seed_wall, 3),
        "seed_vs_baseline_cpu": round(base_cpu / seed_cpu, 3),
    }
    if args.json:
        print(json.dumps(result))
        return
    gib = seed_peak / 2**30
    print(f"seeded {result['users']:,} users, {result['groups']:,} groups, {result['memberships']:,} memberships "
          f"(Python {result['python']})")
    print(f"  seeding             {seed_wall:8.2f} s wall  {seed_cpu:8.2f} s CPU   "
          f"{result['users_per_second']:>9,} users/s  ({result['users_per_cpu_second']:,} per CPU second)")
    print(f"  baseline: N Users   {base_wall:8.2f} s wall  {base_cpu:8.2f} s CPU   "
          f"{result['baseline_users_per_second']:>9,} users/s  (constant fields, same process)")
    print(f"  seeding / baseline  {result['seed_vs_baseline']:.3f} of the bare construction rate "
          f"({result['seed_vs_baseline_cpu']:.3f} by CPU time)")
    print(f"  peak RSS            {result['peak_rss_mib']:,} MiB ({gib:.2f} GiB)")
    print(f"  targets             >= {USERS_PER_SECOND_TARGET:,} users/s: "
          f"{'met' if result['users_per_second'] >= USERS_PER_SECOND_TARGET else 'NOT met'};  "
          f"< {PEAK_RSS_TARGET_GIB} GiB: {'met' if gib < PEAK_RSS_TARGET_GIB else 'NOT met'}")


if __name__ == "__main__":
    main()
