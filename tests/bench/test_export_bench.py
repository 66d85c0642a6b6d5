"""Smoke test of the export benchmark: ``bench/export.py --quick`` runs and prints both
tables. It asserts nothing about speed: the figures belong to the benchmark's output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "export.py"


def test_quick_run_prints_throughput_and_memory() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--size", "8", "--rss-size", "72"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "throughput, 8 MiB to moto S3, median of 1", done.stdout
    assert [line.split()[0] for line in lines[2:4]] == ["boto3", "export"]
    assert "memory: occi-server's RSS, one export per fresh server" in lines
    assert [line.split()[0] for line in lines[-3:-1]] == ["64", "72"]
    assert lines[-1].startswith("peak at 72 MiB minus peak at 64 MiB:")
