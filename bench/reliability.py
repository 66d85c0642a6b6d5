"""The reliability figures of ``occi-server``: fuzzing, kill -9, floods, faults, turns.

Run: ``python bench/reliability.py [--quick] [--only NAME,...]``.

Each part is a module of the reliability suite (``tests/reliability``) whose
``figures(scale)`` starts what it needs (real ``occi-server`` processes,
PostgreSQL, moto), measures, stops everything and returns its rows. The CI
runs the same tools at a bounded scale as tests; this runs them in full
(``--quick``: the CI scale, for a smoke run):

- ``fuzzer``: seeded HTTP fuzzing over raw sockets, per database (full: at
  least 100,000 requests each); 5xx and resets seen.
- ``crashes``: kill -9 during concurrent creates, then every acknowledged
  create looked up (SQLite and PostgreSQL, one and several workers).
- ``soak``: a mixed workload for minutes; RSS and open files at start and end.
- ``floods``: header floods and thousands of slow connections; the server's
  RSS, and normal requests answered meanwhile.
- ``listings``: ``GET /-/`` latency idle (the baseline) and while 50 big
  listings stream.
- ``cloudfaults``: time to 503 with a hung EC2 (moto stopped), and answers
  to refused, killed and invalid clouds.
- ``storefaults``: a full disk and an unwritable database; migrations with
  several workers on a fresh database.

The machine may be shared and noisy: figures with a baseline are shown as a
ratio to it as well.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
PARTS = ("fuzzer", "crashes", "soak", "floods", "listings", "cloudfaults", "storefaults")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the CI scale: a smoke run")
    parser.add_argument("--only", help="comma-separated parts: " + ", ".join(PARTS))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(TESTS))
    from reliability.figures import Figure, table

    scale = "quick" if args.quick else "full"
    parts = args.only.split(",") if args.only else list(PARTS)
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown parts: {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    rows: list[Figure] = []
    failed = []
    for part in parts:
        started = time.monotonic()
        print(f"[{part}] running ({scale})...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"reliability.{part}")
            found = module.figures(scale)
        except Exception:  # one part failing still prints the others' figures
            traceback.print_exc()
            failed.append(part)
            rows.append(Figure(part, "failed to run (see the traceback above)", "-", False))
            continue
        rows.extend(found)
        print(f"[{part}] done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    print(table(rows))
    return 1 if failed or not all(f.met for f in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
