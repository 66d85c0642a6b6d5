"""Smoke test of the HTTP benchmark: ``bench/server.py --quick`` runs and prints its table.

It asserts nothing about speed, ever: timings belong to the benchmark's
output, not to the test suite.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "server.py"
HEADER = "operation | server | req/s | p50 ms | p99 ms | raw req/s | ratio | target | met?"


def test_quick_run_prints_the_table() -> None:
    servers = "uvicorn,granian" if importlib.util.find_spec("granian") else "uvicorn"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--servers", servers],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    header = " | ".join(cell.strip() for cell in done.stdout.splitlines()[0].split("|"))
    assert header == HEADER, done.stdout[:2000]
