"""Smoke test of the HTTP benchmark: ``bench/server.py --quick`` runs and prints its table.

It asserts nothing about speed, ever: timings belong to the benchmark's
output, not to the test suite.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def _raw_app_module() -> object:
    spec = importlib.util.spec_from_file_location("raw_app", BENCH.parent / "raw_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_raw_app_replays_the_captured_header_fields(tmp_path: Path) -> None:
    captured = tmp_path / "responses.json"
    captured.write_text(
        json.dumps(
            {
                "GET /-/ text/plain": {
                    "status": 200,
                    "content_type": "text/plain; charset=utf-8",
                    "headers": [
                        ["content-type", "text/plain; charset=utf-8"],
                        ["server", "pyocci/0 OCCI/1.2"],
                        ["x-request-id", "0123456789abcdef0123456789abcdef"],
                        ["date", "Mon, 07 Dec 2026 19:00:00 GMT"],
                        ["content-length", "999"],
                    ],
                    "body": base64.b64encode(b"Category: x\n").decode(),
                }
            }
        )
    )
    raw_app: Any = _raw_app_module()
    [(status, headers, body)] = raw_app._load(str(captured)).values()
    assert (status, body) == (200, b"Category: x\n")
    # Every field the OCCI server sent, but the date (the HTTP server writes its own) and
    # the framing, which fits the body replayed.
    assert headers == [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"server", b"pyocci/0 OCCI/1.2"),
        (b"x-request-id", b"0123456789abcdef0123456789abcdef"),
        (b"content-length", b"12"),
    ]
