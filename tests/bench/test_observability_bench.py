"""Smoke test of the observability benchmark: ``bench/observability.py --quick`` runs in
both of prometheus-client's modes and prints a row per operation.

It asserts nothing about speed: timings belong to the benchmark's output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "observability.py"


def test_quick_run_prints_every_operation_in_both_modes() -> None:
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
    lines = done.stdout.splitlines()
    assert lines[1].startswith("mode | operation | off us | ids us (x off)")
    rows = [line.split(" | ") for line in lines[3:]]
    assert {row[0] for row in rows} == {"memory", "multiprocess"}
    assert len(rows) == 10
    # Every cell a time, and every configuration but "off" its ratio to it.
    for row in rows:
        assert float(row[2]) > 0
        assert all(cell.endswith(")") and " (" in cell for cell in row[3:])
