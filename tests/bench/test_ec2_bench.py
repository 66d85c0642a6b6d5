"""Smoke test of the EC2 benchmark: ``bench/ec2.py --quick`` runs and prints its table.

It asserts nothing about speed: timings belong to the benchmark's output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ec2.py"
HEADER = (
    "operation | calls | occi p50 ms | occi p90 ms | boto3 p50 ms | boto3 p90 ms | ratio "
    "| target | met?"
)


def test_quick_run_prints_every_operation() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    lines = [" | ".join(c.strip() for c in line.split("|")) for line in done.stdout.splitlines()]
    assert lines[0] == HEADER, done.stdout[:2000]
    assert [line.split(" | ")[0] for line in lines[1:]] == [
        "create",
        "get",
        "list 100",
        "get, backend only",
        "list 100, backend only",
        "stop",
    ]
