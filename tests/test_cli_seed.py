"""`entrasim seed`, run as a user runs it: a separate process, its files, its exit status and its stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from simulator.tenant import snapshot
from simulator.tenant.seeding import SeedSpec, seed_tenant


def entrasim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_seed_writes_a_snapshot_that_loads_back_identically(tmp_path):
    result = entrasim("seed", "--users", "2000", "--groups", "50", "--seed", "7", "-o", "t.json", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote t.json: 2000 users, 50 groups, ")
    assert result.stderr == ""
    loaded = snapshot.load(tmp_path / "t.json")
    assert snapshot.to_dict(loaded) == snapshot.to_dict(seed_tenant(SeedSpec(users=2000, groups=50, seed=7)))


def test_same_seed_same_bytes_other_seed_other_tenant(tmp_path):
    for name, seed in (("a.json.gz", "7"), ("b.json.gz", "7"), ("c.json.gz", "8")):
        result = entrasim("seed", "--users", "2000", "--groups", "50", "--seed", seed, "--guests", "20",
                          "--duplicate-emails", "3", "--duplicate-group-names", "2", "-o", name, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "seeding users" in result.stderr  # progress goes to stderr, never into stdout
    assert (tmp_path / "a.json.gz").read_bytes() == (tmp_path / "b.json.gz").read_bytes()
    assert (tmp_path / "a.json.gz").read_bytes() != (tmp_path / "c.json.gz").read_bytes()
    assert snapshot.load(tmp_path / "a.json.gz").id != snapshot.load(tmp_path / "c.json.gz").id


def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    cases = [
        (["--users", "-1", "-o", "t.json"], "--users must be at least 0, got -1"),
        (["--users", "10", "--guests", "10", "-o", "t.json"], "--guests must be fewer than users"),
        (["--disabled-share", "1.5", "-o", "t.json"], "--disabled-share must be between 0 and 1"),
        (["-o", "a-file/t.json"], "cannot write a-file/t.json"),
        (["-o", "no-such-dir/t.json"], "does not exist"),
        (["-o", "."], "it is a directory"),
    ]
    for args, message in cases:
        result = entrasim("seed", *args, cwd=tmp_path)
        assert result.returncode != 0, args
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("entrasim: error: ") and message in lines[0], result.stderr
        assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
