"""Smoke test of the OpenStack benchmark: ``bench/openstack.py`` runs on a few servers.

It asserts the number of Nova calls per OCCI page (the benchmark's target),
never a time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from novaserver import SKIP_VARIABLE

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "openstack.py"
HEADER = "client | page size | servers | pages | Nova calls | calls per page | median s"


def test_a_small_run_lists_every_server_with_one_nova_call_per_page(
    request: pytest.FixtureRequest,
) -> None:
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1: tests against Nova skipped")
    env = dict(os.environ)
    env["PYOCCI_BENCH_CACHE"] = str(request.config.cache.mkdir("pyocci-nova"))
    done = subprocess.run(
        [sys.executable, str(BENCH), "--servers", "7", "--page-sizes", "3,5", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    lines = done.stdout.splitlines()
    assert lines[0] == HEADER, done.stdout[:2000]
    rows = [[cell.strip() for cell in line.split("|")] for line in lines[1:]]
    assert [(row[0], row[1], row[2]) for row in rows] == [
        ("occi", "3", "7"),
        ("openstacksdk", "3", "7"),
        ("occi", "5", "7"),
        ("openstacksdk", "5", "7"),
    ]
    # 7 servers: 3 pages of 3 (the last short), 2 pages of 5; one Nova call each.
    assert [(row[3], row[4]) for row in rows if row[0] == "occi"] == [("3", "3"), ("2", "2")]
