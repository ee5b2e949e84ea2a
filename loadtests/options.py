"""Custom Locust arguments shared by the locustfiles (``locust -f loadtests/initial_sync.py --help`` lists them).

Locust forwards custom arguments from the master to its workers, so they are
given once, to the master (or to the one process). The SCIM token can come from
the environment (``ENTRASIM_SCIM_TOKEN``), which keeps it out of process lists;
``entrasim load`` passes it that way. It is masked in the web UI.
"""

from __future__ import annotations

from typing import Any

from .builders import DIALECTS, PRESETS

TOKEN_ENV = "ENTRASIM_SCIM_TOKEN"


def add_scim_arguments(parser: Any) -> None:
    group = parser  # locust's own add_argument (env_var, is_secret) is not on argument groups
    group.add_argument("--scim-url", default="", env_var="ENTRASIM_SCIM_URL",
                       help="SCIM base URL (Entra's Tenant URL); default: --host")
    group.add_argument("--scim-token", default="", env_var=TOKEN_ENV, is_secret=True,
                       help=f"Bearer token of the SCIM server (or the {TOKEN_ENV} environment variable)")
    group.add_argument("--scim-ca-bundle", default="", help="CA file to trust for an https target")
    group.add_argument("--scim-insecure", action="store_true", default=False,
                       help="Do not verify the target's certificate")
    group.add_argument("--preset", default="customappsso", choices=PRESETS,
                       help="Provisioning job preset whose mappings build the requests")
    group.add_argument("--dialect", default="default", choices=DIALECTS, help="Entra's PATCH dialect")


def add_directory_arguments(parser: Any, users: int = 10_000, groups: int = 1_000) -> None:
    group = parser  # locust's own add_argument (env_var, is_secret) is not on argument groups
    group.add_argument("--users-total", type=int, default=users, help="Users in the generated directory")
    group.add_argument("--groups-total", type=int, default=groups, help="Groups in the generated directory")
    group.add_argument("--seed", type=int, default=0, help="Seed: the same seed gives the same directory")
    group.add_argument("--block-size", type=int, default=100,
                       help="Users per block (the unit of sharding; a block's groups draw members from it)")


def add_report_arguments(parser: Any) -> None:
    group = parser  # locust's own add_argument (env_var, is_secret) is not on argument groups
    group.add_argument("--summary-json", default="", help="Write entrasim's summary (and the verdict) to this JSON file")
    group.add_argument("--check-sample", type=int, default=20,
                       help="Objects compared field by field in the final check")


def add_ceiling_arguments(parser: Any) -> None:
    group = parser  # locust's own add_argument (env_var, is_secret) is not on argument groups
    group.add_argument("--ceiling-seconds", type=float, default=2.0,
                       help="Seconds of keep-alive probe replay before the test to measure the target's ceiling (0: skip)")
    group.add_argument("--ceiling-concurrency", type=int, default=8, help="Connections of the ceiling probe")
    group.add_argument("--target-ceiling", type=float, default=0.0,
                       help="The target's ceiling in requests/s, measured elsewhere (e.g. with wrk); skips the probe")
